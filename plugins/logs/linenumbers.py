"""Line numbers of byte offsets, counted lazily and only as far as asked.

Samples of a memory-mapped file carry only their byte offset; the collector
counts lines for the few samples it keeps (:func:`count_lines`), so a file
whose hits are never shown is never counted.
"""

from __future__ import annotations

import mmap
from typing import Any


class Lines:
    """Line numbers of positions in one region, counted lazily and only as far as asked."""

    def __init__(self, buf: Any, lo: int, first_line: int) -> None:
        self.buf, self.pos, self.line = buf, lo, first_line

    def at(self, pos: int) -> int:
        if pos > self.pos:
            self.line += _count_nl(self.buf, self.pos, pos)
            self.pos = pos
        return self.line


def _count_nl(buf: Any, lo: int, hi: int) -> int:
    if isinstance(buf, bytes | bytearray):
        return buf.count(b"\n", lo, hi)
    n, step = 0, 16 << 20
    for a in range(lo, hi, step):
        n += buf[a : min(hi, a + step)].count(b"\n")
    return n


def count_lines(job: tuple[str, list[int]]) -> list[list[int]]:
    """``[offset, line]`` (1-based) for byte offsets in a plain file, counted once up to the last one."""
    path, offsets = job
    with open(path, "rb") as f:
        mm = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
        try:
            lines = Lines(mm, 0, 1)
            return [[p, lines.at(p)] for p in sorted(offsets)]
        finally:
            mm.close()
