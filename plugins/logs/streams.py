"""Reading a log file as UTF-8 bytes in line-aligned chunks, with bounded memory.

Plain UTF-8 files are memory-mapped and scanned in place. ``.gz`` rotations
(all members, with a bound on the output) and UTF-16 files, with or without a BOM (decoded
first, incrementally) come as chunks of about :data:`CHUNK` bytes that end at a line
end; a line longer than :data:`LINE_CAP` is cut there so memory stays bounded.
Whatever stops a read part-way is kept in :attr:`Chunks.error` with the path.
"""

from __future__ import annotations

import codecs
import mmap
import re
import zlib
from collections.abc import Iterator
from pathlib import Path

from plugins.logs.messages import Text
from scanner.i18n import N_

CHUNK = 8 << 20
LINE_CAP = 64 << 20
GZ_BOUND = 1 << 30
"""At most this many decompressed bytes are read from one ``.gz`` file (a bomb guard)."""
_READ = 1 << 20
_GZ_PIECE = 4 << 20
"""At most this many decompressed bytes come out of one call (memory stays flat for a bomb)."""
_TEXT_BYTES = [0x09, 0x0A, 0x0D, *range(0x20, 0x7F)]
_ASCII_PAIRS = re.compile(
    "[" + "".join(f"\\u{h << 8 | 0x20:04x}-\\u{h << 8 | 0x7e:04x}\\u{h << 8 | 9:04x}\\u{h << 8 | 10:04x}"
                  f"\\u{h << 8 | 13:04x}" for h in _TEXT_BYTES if h >= 0x09 and (h << 8) > 0x7F) + "]{16,}"
)
"""Sixteen or more UTF-16 code units in a row whose two bytes are both printable ASCII: 8-bit
text read as UTF-16 (real CJK text rarely strings sixteen such characters together)."""


def head_bytes(path: Path, size: int = 16 << 10) -> bytes:
    """The first bytes of a file's content (decompressed when gzip), encoding and BOM untouched."""
    got = bytearray()
    stream = Chunks(path)
    for buf, lo, hi in stream.raw_blocks(size):
        got += buf[lo:hi]
        if len(got) >= size:
            break
    return bytes(got[:size])


class Chunks:
    """The decoded content of one file, as ``(buffer, lo, hi)`` regions of UTF-8 bytes."""

    def __init__(self, path: Path, gz_bound: int = GZ_BOUND, encoding: str = "utf-8", bom: int = 0) -> None:
        """``encoding`` and ``bom`` (its length) are decided once per file, from its head
        (:func:`plugins.logs.formats.sniff_encoding`)."""
        self.path = path
        self.gz_bound = gz_bound
        self.encoding = encoding
        self.bom = bom
        self.error: Text | None = None
        """What stopped the read part-way (English, keeping its template: :class:`Text`)."""
        self.mapped: mmap.mmap | None = None
        self.consumed = 0
        self.bad: tuple[int, Text] | None = None
        """The first stretch of the content that does not decode: ``(byte offset, reason)``."""
        """Bytes of the file (compressed, for gzip) read so far: the proof that all of it was read."""

    def raw_blocks(self, block: int = _READ) -> Iterator[tuple[bytes, int, int]]:
        """Blocks of the file's bytes (decompressed when gzip), BOM and encoding untouched."""
        try:
            f = self.path.open("rb")
        except OSError as exc:
            self.error = Text(N_("{path}: cannot be read: {reason}"), path=str(self.path),
                              reason=str(exc.strerror or exc))
            return
        with f:
            try:
                magic = f.read(2)
                f.seek(0)
                if magic != b"\x1f\x8b":
                    while data := f.read(block):
                        self.consumed += len(data)
                        yield data, 0, len(data)
                    return
                yield from self._gunzip(f, block)
            except OSError as exc:
                self.error = Text(N_("{path}: read failed part-way: {reason}"), path=str(self.path),
                                  reason=str(exc.strerror or exc))

    def _gunzip(self, f: object, block: int) -> Iterator[tuple[bytes, int, int]]:
        """Every member in turn; a member cut short is an error, zero padding after the last is not."""
        out = 0
        d = zlib.decompressobj(wbits=47)
        in_member = False  # the current decompressor has been given bytes of a member it has not finished
        read = f.read  # type: ignore[attr-defined]
        while True:
            data = read(block)
            self.consumed += len(data)
            if not data:
                while in_member and not d.eof:  # output still held back by the bounded calls below
                    piece = d.decompress(b"", _GZ_PIECE)
                    if not piece:
                        break
                    out += len(piece)
                    if out > self.gz_bound:
                        self.error = self._bound()
                        return
                    yield piece, 0, len(piece)
                if in_member and not d.eof:
                    self.error = Text(N_("{path}: truncated gzip member (read {size} bytes of content)"),
                                      path=str(self.path), size=out)
                return
            while data:
                if not in_member and not data.strip(b"\x00"):
                    break  # zero padding between or after members
                in_member = True
                try:
                    # bounded pieces: a bomb's gigabyte never sits in memory at once
                    piece = d.decompress(data, min(_GZ_PIECE, self.gz_bound - out + 1))
                except zlib.error as exc:
                    self.error = Text(N_("{path}: corrupt gzip data after {size} bytes: {reason}"),
                                      path=str(self.path), size=out, reason=str(exc))
                    return
                out += len(piece)
                if out > self.gz_bound:
                    self.error = self._bound()
                    return
                if piece:
                    yield piece, 0, len(piece)
                if d.eof:
                    data = d.unused_data
                    d = zlib.decompressobj(wbits=47)
                    in_member = False
                else:
                    data = d.unconsumed_tail

    def _bound(self) -> Text:
        return Text(N_("{path}: stopped at the decompression bound of {bound} bytes"), path=str(self.path),
                    bound=self.gz_bound)

    def mapped_region(self) -> tuple[mmap.mmap, int, int] | None:
        """A plain UTF-8 file mapped whole, from after its BOM (None for gzip, UTF-16 or empty files)."""
        if self.encoding != "utf-8":
            return None
        try:
            with self.path.open("rb") as f:
                if f.read(2) == b"\x1f\x8b":
                    return None
                size = f.seek(0, 2)
                if size == 0:
                    return None
                # MAP_POPULATE was measured slower than faulting pages in during the first find
                self.mapped = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
                return self.mapped, min(self.bom, size), len(self.mapped)
        except (OSError, ValueError):
            return None

    def chunks(self) -> Iterator[tuple[bytes | bytearray, int, int]]:
        """Line-aligned UTF-8 chunks of the whole (decoded) content, BOM removed.

        UTF-16 is decoded strictly: the first undecodable stretch (a lone surrogate, an odd byte
        count, a misaligned or foreign tail such as UTF-8 appended to a UTF-16 file) is kept in
        :attr:`bad` as ``(byte offset in the file, reason)`` and the rest is read with replacement
        characters, so signatures found elsewhere still count."""
        pending = bytearray()
        decoder: codecs.IncrementalDecoder | None = None
        if self.encoding != "utf-8":
            decoder = codecs.getincrementaldecoder(self.encoding)("strict")
        skip = self.bom
        at = 0  # bytes of content (after the BOM) given to the decoder so far
        for buf, lo, hi in self.raw_blocks():
            data = buf[lo:hi]
            if skip:
                cut = min(skip, len(data))
                data, skip = data[cut:], skip - cut
            if decoder is not None:
                text = self._decode(decoder, data, at, False)
                at += len(data)
                data = text.encode("utf-8", "surrogatepass")
            pending += data
            if len(pending) >= CHUNK:
                cut = pending.rfind(b"\n") + 1
                if cut == 0 and len(pending) < LINE_CAP:
                    continue
                cut = cut or len(pending)
                yield bytes(pending[:cut]), 0, cut
                del pending[:cut]
        if decoder is not None:
            pending += self._decode(decoder, b"", at, True).encode("utf-8", "surrogatepass")
        if pending:
            yield bytes(pending), 0, len(pending)

    def _decode(self, decoder: codecs.IncrementalDecoder, data: bytes, at: int, final: bool) -> str:
        try:
            text = decoder.decode(data, final)
        except UnicodeDecodeError as exc:
            if self.bad is None:
                pos = self.bom + at + max(0, exc.start - len(decoder.getstate()[0]))
                self.bad = (pos, Text(N_("is not valid {encoding} text ({reason})"), encoding=self.encoding.upper(),
                                      reason=str(exc.reason)))
            decoder.errors = "replace"  # the rest is read, undecodable bytes as U+FFFD
            text = decoder.decode(data, final)
        if self.bad is None and (m := _ASCII_PAIRS.search(text)):
            self.bad = (self.bom + at, Text(N_("is not valid {encoding} text: a stretch of 8-bit text inside it "
                                               "({sample} decodes from pairs of ASCII bytes: UTF-8 or ANSI lines "
                                               "appended to a UTF-16 file?)"),
                                            encoding=self.encoding.upper(), sample=repr(m.group()[:20])))
        return text

    def close(self) -> None:
        if self.mapped is not None:
            self.mapped.close()
            self.mapped = None
