"""Reading a log file as UTF-8 bytes in line-aligned chunks, with bounded memory.

Plain UTF-8 files are memory-mapped and scanned in place. ``.gz`` rotations
(all members, with a bound on the output) and UTF-16 files (decoded first,
incrementally) come as chunks of about :data:`CHUNK` bytes that end at a line
end; a line longer than :data:`LINE_CAP` is cut there so memory stays bounded.
Whatever stops a read part-way is kept in :attr:`Chunks.error` with the path.
"""

from __future__ import annotations

import codecs
import mmap
import zlib
from collections.abc import Iterator
from pathlib import Path

from plugins.logs.formats import sniff_encoding

CHUNK = 8 << 20
LINE_CAP = 64 << 20
GZ_BOUND = 1 << 30
"""At most this many decompressed bytes are read from one ``.gz`` file (a bomb guard)."""
_READ = 1 << 20


def head_text(path: Path, size: int = 16 << 10) -> str:
    """The first bytes of a file (gz or not), decoded, for kind detection."""
    got = bytearray()
    stream = Chunks(path)
    for buf, lo, hi in stream.raw_blocks(size):
        got += buf[lo:hi]
        if len(got) >= size:
            break
    enc, bom = sniff_encoding(bytes(got[:4]))
    return bytes(got[bom:]).decode(enc, "replace")


class Chunks:
    """The decoded content of one file, as ``(buffer, lo, hi)`` regions of UTF-8 bytes."""

    def __init__(self, path: Path, gz_bound: int = GZ_BOUND) -> None:
        self.path = path
        self.gz_bound = gz_bound
        self.error: str | None = None
        self.mapped: mmap.mmap | None = None

    def raw_blocks(self, block: int = _READ) -> Iterator[tuple[bytes, int, int]]:
        """Blocks of the file's bytes (decompressed when gzip), BOM and encoding untouched."""
        try:
            f = self.path.open("rb")
        except OSError as exc:
            self.error = f"{self.path}: cannot be read: {exc.strerror or exc}"
            return
        with f:
            try:
                magic = f.read(2)
                f.seek(0)
                if magic != b"\x1f\x8b":
                    while data := f.read(block):
                        yield data, 0, len(data)
                    return
                yield from self._gunzip(f, block)
            except OSError as exc:
                self.error = f"{self.path}: read failed part-way: {exc.strerror or exc}"

    def _gunzip(self, f: object, block: int) -> Iterator[tuple[bytes, int, int]]:
        out = 0
        d = zlib.decompressobj(wbits=47)
        read = f.read  # type: ignore[attr-defined]
        while True:
            data = read(block)
            if not data:
                if not d.eof:
                    self.error = f"{self.path}: truncated gzip member (read {out} bytes of content)"
                return
            while data:
                try:
                    piece = d.decompress(data, self.gz_bound - out + 1)
                except zlib.error as exc:
                    self.error = f"{self.path}: corrupt gzip data after {out} bytes: {exc}"
                    return
                out += len(piece)
                if out > self.gz_bound:
                    self.error = f"{self.path}: stopped at the decompression bound of {self.gz_bound} bytes"
                    return
                if piece:
                    yield piece, 0, len(piece)
                if d.eof:
                    data = d.unused_data
                    d = zlib.decompressobj(wbits=47)
                    if data.lstrip(b"\x00") == b"":
                        data = b""  # zero padding after the last member
                else:
                    data = d.unconsumed_tail

    def mapped_region(self) -> tuple[mmap.mmap, int, int] | None:
        """A plain UTF-8 file mapped whole (None for gzip, UTF-16 or empty files)."""
        try:
            with self.path.open("rb") as f:
                head = f.read(4)
                if head[:2] == b"\x1f\x8b" or sniff_encoding(head)[0] != "utf-8":
                    return None
                size = f.seek(0, 2)
                if size == 0:
                    return None
                # MAP_POPULATE was measured slower than faulting pages in during the first find
                self.mapped = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
                return self.mapped, sniff_encoding(head)[1], size
        except (OSError, ValueError):
            return None

    def chunks(self) -> Iterator[tuple[bytes | bytearray, int, int]]:
        """Line-aligned UTF-8 chunks of the whole (decoded) content."""
        pending = bytearray()
        decoder: codecs.IncrementalDecoder | None = None
        first = True
        for buf, lo, hi in self.raw_blocks():
            data = buf[lo:hi]
            if first:
                enc, bom = sniff_encoding(data[:4])
                data = data[bom:]
                if enc != "utf-8":
                    decoder = codecs.getincrementaldecoder(enc)("replace")
                first = False
            if decoder is not None:
                data = decoder.decode(data).encode("utf-8", "surrogatepass")
            pending += data
            if len(pending) >= CHUNK:
                cut = pending.rfind(b"\n") + 1
                if cut == 0 and len(pending) < LINE_CAP:
                    continue
                cut = cut or len(pending)
                yield bytes(pending[:cut]), 0, cut
                del pending[:cut]
        if decoder is not None:
            pending += decoder.decode(b"", True).encode("utf-8", "surrogatepass")
        if pending:
            yield bytes(pending), 0, len(pending)

    def close(self) -> None:
        if self.mapped is not None:
            self.mapped.close()
            self.mapped = None


def tail_bytes(path: Path, size: int = 64 << 10) -> bytes:
    """The last bytes of a plain file (for the last timestamp of a W3C log)."""
    with path.open("rb") as f:
        end = f.seek(0, 2)
        f.seek(max(0, end - size))
        return f.read()
