"""What a path names when it is not a regular file, and reading one that must be.

Opening a FIFO blocks until a writer comes and reading a device may never end, so
a file that is read whole (a ``--reg`` export, a ``policyscan test`` fixture) is
checked with ``stat`` before it is opened, opened non-blocking, and checked again
on the open descriptor (a FIFO swapped in meanwhile is refused, not waited on).
"""

from __future__ import annotations

import os
import stat


def kind(mode: int) -> str:
    """``a FIFO``, ``a directory``... for a mode that is not a regular file's."""
    for test, name in ((stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a FIFO"), (stat.S_ISCHR, "a device"),
                       (stat.S_ISBLK, "a device"), (stat.S_ISSOCK, "a socket")):
        if test(mode):
            return name
    return "a special file"


class NotRegularFile(OSError):
    """The path names something that is not a regular file; ``kind`` says what (``a FIFO``), ``mode`` its mode."""

    def __init__(self, path: str | os.PathLike[str], mode: int) -> None:
        self.mode = mode
        self.kind = kind(mode)
        super().__init__(f"not a regular file ({self.kind})")
        self.strerror = f"not a regular file ({self.kind})"
        self.filename = os.fspath(path)

    def __str__(self) -> str:
        return f"not a regular file ({self.kind})"


def not_regular(path: str | os.PathLike[str]) -> str | None:
    """What ``path`` is when it exists and is not a regular file (``a FIFO``); None otherwise
    (a regular file, or nothing there: the caller says what a missing file means)."""
    try:
        mode = os.stat(path).st_mode
    except (OSError, ValueError):
        return None
    return None if stat.S_ISREG(mode) else kind(mode)


def read_regular(path: str | os.PathLike[str]) -> bytes:
    """The bytes of a regular file; :class:`NotRegularFile` for anything else (never opened
    blocking), :class:`OSError` when it cannot be read."""
    mode = os.stat(path).st_mode
    if not stat.S_ISREG(mode):
        raise NotRegularFile(path, mode)
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    with os.fdopen(fd, "rb") as f:
        mode = os.fstat(f.fileno()).st_mode
        if not stat.S_ISREG(mode):
            raise NotRegularFile(path, mode)
        return f.read()


__all__ = ["NotRegularFile", "kind", "not_regular", "read_regular"]
