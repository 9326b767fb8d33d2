"""Reading a target's text files: regular files only, bounded in size, UTF-8 or UTF-16, each read once.

Shared by the collector (facts for a scan) and the ``file-contains`` command.
"""

from __future__ import annotations

import glob
import hashlib
import os
import stat
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

MAX_BYTES = 16 * 1024 * 1024
"""A file larger than this is not read (16 MiB): the check is ``error`` for it, never a guess."""

_BOMS = (
    (b"\xef\xbb\xbf", "utf-8"),
    (b"\xff\xfe", "utf-16-le"),
    (b"\xfe\xff", "utf-16-be"),
)

SNIFF = 1024
"""Bytes of a file's head whose NUL pattern tells UTF-16 without a byte order mark (as the logs check does)."""

_KINDS = (
    (stat.S_ISDIR, "is a directory"),
    (stat.S_ISFIFO, "not a regular file (a FIFO)"),
    (stat.S_ISCHR, "not a regular file (a character device)"),
    (stat.S_ISBLK, "not a regular file (a block device)"),
    (stat.S_ISSOCK, "not a regular file (a socket)"),
)


class NotReadable(Exception):
    """A file that exists but cannot be judged: not a regular file, too large, or not UTF-8/UTF-16 text."""


@dataclass(frozen=True)
class TextFile:
    """One file read whole: its decoded text, and what proves it was read."""

    text: str
    size: int
    sha256: str
    encoding: str


def sniff(data: bytes) -> str | None:
    """``utf-16-le`` or ``utf-16-be`` for UTF-16 without a byte order mark, told by its NUL bytes in the
    first :data:`SNIFF` bytes: at least 30% of the odd (LE) or even (BE) bytes are NUL, at most 5% of the
    others (the high half of ASCII characters is NUL; UTF-8 text has no NUL at all). Else ``None``."""
    sample = data[:SNIFF]
    pairs = len(sample) // 2
    if not pairs:
        return None
    even, odd = sample[0:2 * pairs:2].count(0), sample[1:2 * pairs:2].count(0)
    if odd * 10 >= pairs * 3 and even * 20 <= pairs:
        return "utf-16-le"
    if even * 10 >= pairs * 3 and odd * 20 <= pairs:
        return "utf-16-be"
    return None


def decode(data: bytes) -> tuple[str, str]:
    """``(text, encoding)``: a BOM decides UTF-8 or UTF-16 (LE/BE); without one, UTF-16 is told by the
    pattern of its NUL bytes (:func:`sniff`) and anything else must be UTF-8. Text holding a NUL
    character (U+0000) is not text: :class:`NotReadable`, never judged."""
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            try:
                text = data[len(bom):].decode(encoding)
            except UnicodeDecodeError as exc:
                at = exc.start + len(bom)
                raise NotReadable(f"not valid {encoding} after its byte order mark (byte {at})") from None
            return _no_nul(text, encoding, data, len(bom)), encoding
    encoding = sniff(data)
    if encoding is not None:
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError as exc:
            raise NotReadable(f"not valid {encoding} (no byte order mark; byte {exc.start})") from None
        return _no_nul(text, encoding, data, 0), encoding
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise NotReadable(f"not UTF-8 text, nor UTF-16 (no byte order mark, no UTF-16 NUL pattern; "
                          f"byte {exc.start})") from None
    return _no_nul(text, "utf-8", data, 0), "utf-8"


def _no_nul(text: str, encoding: str, data: bytes, bom: int) -> str:
    at = text.find("\x00")
    if at < 0:
        return text
    where = bom + len(text[:at].encode(encoding))
    raise NotReadable(f"not text: a NUL character at byte {where} ({encoding})")


def _refuse(mode: int) -> None:
    """:class:`NotReadable` naming what a file is, unless it is a regular file."""
    if stat.S_ISREG(mode):
        return
    for test, what in _KINDS:
        if test(mode):
            raise NotReadable(what)
    raise NotReadable("not a regular file")


def read_text(path: Path, max_bytes: int = MAX_BYTES) -> TextFile:
    """Read and decode one regular file. Raises :class:`OSError` (missing, unreadable) or :class:`NotReadable`
    (not a regular file, too large, not text).

    A FIFO, device, socket or directory is refused before it is opened (reading a FIFO would block
    forever, ``/dev/zero`` never ends); it is opened non-blocking and checked again once open, so a
    file swapped for a FIFO in between cannot block either."""
    _refuse(os.stat(path).st_mode)
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    with open(fd, "rb") as f:
        _refuse(os.fstat(fd).st_mode)
        data = f.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise NotReadable(f"larger than {max_bytes} bytes: not read")
    text, encoding = decode(data)
    return TextFile(text, len(data), hashlib.sha256(data).hexdigest(), encoding)


def expand(patterns: Iterable[str], base_dir: Path) -> Iterator[tuple[str, Path | None]]:
    """``(shown path, real path)`` for every file the inventory names, globs expanded in sorted order.

    A pattern with no file behind it is yielded once with ``None``: nothing was there to read.
    The shown path keeps the form the inventory used (relative stays relative to ``base_dir``).
    """
    for pattern in patterns:
        p = Path(pattern).expanduser()
        absolute = p if p.is_absolute() else base_dir / p
        if not glob.has_magic(pattern):
            yield pattern, absolute
            continue
        found = sorted(m for m in glob.glob(str(absolute), recursive=True) if os.path.isfile(m))
        if not found:
            yield pattern, None
        for match in found:
            shown = match if p.is_absolute() else Path(os.path.relpath(match, base_dir)).as_posix()
            yield shown, Path(match)


def line_of(text: str, index: int) -> int:
    """The 1-based line number of character ``index``."""
    return text.count("\n", 0, index) + 1


def positions(text: str, needle: str) -> list[int]:
    """Where ``needle`` starts in ``text``, every non-overlapping occurrence (as ``str.count`` counts)."""
    found: list[int] = []
    i = text.find(needle)
    while i >= 0:
        found.append(i)
        i = text.find(needle, i + len(needle))
    return found


def as_list(value: Any) -> Sequence[str]:
    """The inventory's ``files`` setting as a list of strings (one string is a list of one)."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [v for v in value if isinstance(v, str)]
    return []
