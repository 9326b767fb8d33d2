"""Where a report file goes, and how it is written there without destroying anything.

A report path names one of three things (:func:`destination` tells which):

* **a regular file, or a path that does not exist yet**: it is *replaced*
  atomically (a temporary file beside it, then :func:`os.replace`), so a CI
  job never reads half a report. A symlink is followed to the file it points
  to: the temporary file is made beside that *target* and renamed over it, so
  the link stays a link and the file it names gets the report. A dangling
  symlink gets its target created (missing folders included), as ``echo >``
  through that link would.
* **one of our own file descriptors** (``/dev/stdout``, ``/dev/stderr``,
  ``/dev/fd/N``, ``/proc/self/fd/N``, or a symlink to one of them): the
  report is written to that descriptor as it stands (a duplicate of it, at
  its current offset), as if the report had gone to stdout.
* **anything else that exists** (a character device such as ``/dev/null``, a
  FIFO, a Unix socket): it is written *straight through*, opened for writing
  and never renamed over. Renaming a temporary file over ``/dev/null`` or
  ``/dev/stdout`` as root would replace the device node with a regular file
  for every later process and lose the report.

Nothing is written into a descriptor or device until the whole report has
been rendered (callers render into a private temporary file first), so a
reporter that raises sends nothing down the pipe.
"""

from __future__ import annotations

import contextlib
import os
import re
import stat
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, cast

_STD = {"/dev/stdin": 0, "/dev/stdout": 1, "/dev/stderr": 2}
_FD_PATH = re.compile(r"/(?:dev/fd|proc/(?:self|thread-self|(\d+))/fd)/(\d+)\Z")
_MAX_LINKS = 40  # as the kernel's own limit on a chain of symlinks


@dataclass(frozen=True, slots=True)
class Destination:
    """What a report path names: exactly one of ``target`` and ``fd`` is set, or neither
    (a device, FIFO or socket written straight through at ``path``)."""

    path: str
    """The path as given."""
    target: Path | None = None
    """The regular file (existing or not) to replace atomically: the end of the symlink chain."""
    fd: int | None = None
    """Our own file descriptor that the path names."""

    @property
    def replaced(self) -> bool:
        """True when the report replaces a regular file by rename (temporary file beside ``target``)."""
        return self.target is not None


def _own_fd(path: str) -> int | None:
    if path in _STD:
        return _STD[path]
    m = _FD_PATH.match(path)
    if m is None or (m.group(1) is not None and int(m.group(1)) != os.getpid()):
        return None
    return int(m.group(2))


def destination(path: str | os.PathLike[str]) -> Destination:
    """Tell what ``path`` names (see the module docstring); ``OSError`` for a symlink loop
    or a path that cannot be looked at."""
    text = os.fspath(path)
    hop = os.path.abspath(text)
    for _ in range(_MAX_LINKS):  # follow the links one at a time: a descriptor may hide behind one
        fd = _own_fd(hop)
        if fd is not None:
            return Destination(text, fd=fd)
        try:
            link = os.readlink(hop)
        except OSError:  # not a link, or nothing there
            break
        hop = os.path.normpath(os.path.join(os.path.dirname(hop), link))
    try:
        mode = os.stat(text).st_mode
    except (FileNotFoundError, NotADirectoryError):  # a new file, a dangling link (its target is created)
        mode = None
    if mode is not None and not stat.S_ISREG(mode):
        return Destination(text)
    return Destination(text, target=Path(os.path.realpath(text)))


def same_file_key(path: str) -> str | None:
    """What two report paths share when they write the same file; None for a character
    device (two reports into ``/dev/null`` or a terminal harm nothing)."""
    try:
        dest = destination(path)
        if dest.fd is not None:
            return f"fd:{dest.fd}"
        if dest.target is None:
            if stat.S_ISCHR(os.stat(path).st_mode):
                return None
            return os.path.normcase(os.path.realpath(path))
        return os.path.normcase(str(dest.target))
    except OSError:  # a symlink loop...: scanner.output.check_report_paths says what is wrong
        return os.path.normcase(os.path.abspath(path))


def check_writable(dest: Destination) -> str | None:
    """Why ``dest`` cannot take a report (without writing to it), or None.

    A replaced file's folder is created and a file is made in it and removed
    again; a descriptor must be open for writing; a device or FIFO must be
    writable by us (it is not opened: a FIFO without a reader would block).
    """
    if dest.fd is not None:
        try:
            os.fstat(dest.fd)  # EBADF when the descriptor is not open
            flags = _access_mode(dest.fd)
        except OSError:
            return f"file descriptor {dest.fd} is not open"
        if flags is not None and flags == os.O_RDONLY:
            return f"file descriptor {dest.fd} is open for reading only"
        return None
    if dest.target is None:
        if os.path.isdir(dest.path):
            return "is a directory"
        if not os.access(dest.path, os.W_OK):
            return "permission denied"
        return None
    import tempfile

    if dest.target.is_dir():
        return "is a directory"
    folder = dest.target.parent
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(prefix=f".{dest.target.name}.", suffix=".probe", dir=folder)
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        return f"cannot write in {folder}: {exc.strerror or exc}"
    return None


def _access_mode(fd: int) -> int | None:
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows: no way to ask, let the write tell
        return None
    return fcntl.fcntl(fd, fcntl.F_GETFL) & os.O_ACCMODE


@contextlib.contextmanager
def open_through(dest: Destination) -> Iterator[BinaryIO]:
    """``dest`` (not a replaced file) opened for writing: a duplicate of the descriptor, the
    device or FIFO itself, or a connection to the Unix socket. Python's own buffered
    stdout and stderr are flushed first, so what was printed before stays before."""
    assert dest.target is None, "a regular file is replaced, not written through"
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    if dest.fd is not None:
        with open(os.dup(dest.fd), "wb") as f:
            yield f
        return
    if stat.S_ISSOCK(os.stat(dest.path).st_mode):
        import socket

        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.connect(dest.path)
            with sock.makefile("wb") as f:
                yield cast(BinaryIO, f)
        return
    with open(dest.path, "wb", buffering=1 << 16) as f:  # "wb" on a device or FIFO truncates nothing
        yield f
