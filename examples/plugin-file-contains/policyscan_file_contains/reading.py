"""Reading a target's text files: bounded in size, UTF-8 or UTF-16 (with a BOM), each read once.

Shared by the collector (facts for a scan) and the ``file-contains`` command.
"""

from __future__ import annotations

import glob
import hashlib
import os
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


class NotReadable(Exception):
    """A file that exists but cannot be judged: too large, or not UTF-8/UTF-16 text."""


@dataclass(frozen=True)
class TextFile:
    """One file read whole: its decoded text, and what proves it was read."""

    text: str
    size: int
    sha256: str
    encoding: str


def decode(data: bytes) -> tuple[str, str]:
    """``(text, encoding)``: a BOM decides UTF-8 or UTF-16 (LE/BE); without one, the bytes must be UTF-8."""
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            try:
                return data[len(bom):].decode(encoding), encoding
            except UnicodeDecodeError as exc:
                at = exc.start + len(bom)
                raise NotReadable(f"not valid {encoding} after its byte order mark (byte {at})") from None
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError as exc:
        raise NotReadable(f"not UTF-8 text, and no UTF-16 byte order mark (byte {exc.start})") from None


def read_text(path: Path, max_bytes: int = MAX_BYTES) -> TextFile:
    """Read and decode one file. Raises :class:`OSError` (missing, unreadable) or :class:`NotReadable`."""
    with open(path, "rb") as f:
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
