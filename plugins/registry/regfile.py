r"""Reading ``.reg`` exports (as regedit writes them) into a merged key tree.

:class:`Tree` imports one file after another exactly as ``regedit /s`` would:
``[KEY]`` creates a key, ``[-KEY]`` deletes it with its whole subtree,
``"name"=-`` / ``@=-`` delete a value, later files win. Accepted input:

* ``Windows Registry Editor Version 5.00`` in UTF-16LE with a BOM (what
  regedit writes), or in UTF-8 (with or without BOM); ``REGEDIT4`` in the
  ANSI code page (cp1252); CRLF, LF or CR line ends; ``;`` comments;
* ``"name"="text"`` (escapes ``\\``, ``\"``), ``@=`` default values,
  ``dword:``, ``hex:`` and ``hex(0)``..``hex(b)`` with ``\`` continuation
  lines (blank and comment lines inside a run are skipped).

Speed (a scan may read ten thousand exports): a file is checked against the
grammar by one ``fullmatch`` of a compiled regex; only when that fails is it
walked line by line to name the first bad line. Loading then finds the key
lines alone; the value lines of a key are read (and line numbers counted)
only when a check asks about that key, see :meth:`Tree.values`.

Coverage: each file covers the branches it exported, i.e. its top-most keys
(keys with no ancestor key in the same file; a ``[-KEY]`` line counts too).
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterator
from dataclasses import dataclass, field
from typing import Any

from plugins.registry import keys as regkeys
from plugins.registry import values as regvalues

_WS = r"[ \t]*"
_STR = r'[^"\\\n]*(?:\\[^\n][^"\\\n]*)*'
_BYTES = rf"{_WS}(?:[0-9a-fA-F]{{1,2}}{_WS},{_WS})*(?:[0-9a-fA-F]{{1,2}})?{_WS}"
_HEXRUN = rf"{_BYTES}(?:\\{_WS}\n(?:{_WS}(?:;[^\n]*)?\n)*{_BYTES})*"
_NAME = rf'(?:"({_STR})"|(@)){_WS}={_WS}'
_DATA = rf'(?:"({_STR})"|dword:([0-9a-fA-F]{{1,8}})|hex(?:\(([0-9a-fA-F]{{1,8}})\))?:({_HEXRUN})|(-))'
_TAIL = rf"{_WS}(?:;[^\n]*)?"
_ONE_LINE = rf"{_WS}(?:\[-?[^\n]*\]{_TAIL}|{_NAME}{_DATA}{_TAIL}|(?:;[^\n]*)?)\n"

#: One logical line of the body (hex continuation lines included), without groups.
_LINE = re.compile(re.sub(r"(?<!\\)\((?!\?)", "(?:", _ONE_LINE))
#: The whole body after the header line.
_BODY = re.compile(f"(?:{_LINE.pattern})*")
#: A key line; match start is the newline before it.
_KEY = re.compile(rf"\n{_WS}\[(-?)([^\n]*)\]")
#: A value line; match start is the newline before it.
_VALUE = re.compile(rf"\n{_WS}{_NAME}{_DATA}")
_LONG_HIVES = frozenset(h.lower() for h in regkeys.HIVES.values())
_HEADERS = {"Windows Registry Editor Version 5.00": True, "REGEDIT4": False}


class RegFileError(Exception):
    """A ``.reg`` file that cannot be parsed; ``str()`` is ``file:line: what was wrong``."""


@dataclass(slots=True)
class _File:
    name: str
    text: str
    unicode: bool
    branches: dict[str, int] = field(default_factory=dict)
    """Normalised top-most key -> offset of its key line."""

    def lines(self, offsets: Collection[int]) -> dict[int, int]:
        """Line numbers of many offsets, counted in one pass."""
        out: dict[int, int] = {}
        line, last = 1, 0
        for off in sorted(offsets):
            line += self.text.count("\n", last, off)
            last = off
            out[off] = line
        return out

    def where(self, offset: int) -> str:
        return f"{self.name}:{self.lines((offset,))[offset]}"


#: A section of a key in one file: (file index, offset of the key line, offset where the section ends).
Section = tuple[int, int, int]


def decode(data: bytes) -> str:
    """The text of a ``.reg`` file: UTF-16 with BOM, UTF-8, else the ANSI code page; LF line ends."""
    if data[:2] == b"\xff\xfe":
        text = data[2:].decode("utf-16-le", "replace")
    elif data[:2] == b"\xfe\xff":
        text = data[2:].decode("utf-16-be", "replace")
    elif data[:3] == b"\xef\xbb\xbf":
        text = data[3:].decode("utf-8", "replace")
    elif len(data) > 1 and data[1] == 0 and data[0] != 0:
        text = data.decode("utf-16-le", "replace")
    else:
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            text = data.decode("cp1252", "replace")
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    return text if text.endswith("\n") else text + "\n"


class Tree:
    """The merged key tree of the files loaded so far, in load order."""

    def __init__(self) -> None:
        self.files: list[_File] = []
        self.keys: dict[str, list[Section]] = {}
        """Normalised key -> its sections since it was last created."""

    def load(self, data: bytes, name: str) -> None:
        """Import one file's bytes; ``name`` is how sources name it. Raises :class:`RegFileError`."""
        text = decode(data)
        first = text[: text.index("\n")]
        unicode = _HEADERS.get(first.strip())
        if unicode is None:
            shown = first.strip()[:60]
            raise RegFileError(
                f"{name}:1: bad header {shown!r}: expected 'Windows Registry Editor Version 5.00' or 'REGEDIT4'"
            )
        body = len(first) + 1
        if _BODY.fullmatch(text, body) is None:
            raise RegFileError(_first_error(text, body, name))
        fidx = len(self.files)
        reg = _File(name, text, unicode)
        self.files.append(reg)
        tree = self.keys
        seen: dict[str, int] = {}
        previous: list[Section] | None = None
        for m in _KEY.finditer(text, body - 1):
            start = m.start() + 1
            if previous is not None:
                previous[-1] = (fidx, previous[-1][1], start)
            delete, path = m.groups()
            norm = path.lower()
            if norm.partition("\\")[0] not in _LONG_HIVES or norm.endswith("\\"):
                norm = regkeys.normalise(path) or ""
                if not norm:
                    raise RegFileError(f"{reg.where(start)}: unknown hive in key [{path}]")
            seen.setdefault(norm, start)
            if delete:
                previous = None
                self._delete(norm)
                continue
            previous = tree.get(norm)
            if previous is None:
                previous = tree[norm] = []
            previous.append((fidx, start, len(text)))
        tops: tuple[str, ...] = ()
        for norm in sorted(seen, key=len):
            if norm not in reg.branches and not norm.startswith(tops):
                reg.branches[norm] = seen[norm]
                tops = (*tops, norm + "\\")

    def _delete(self, norm: str) -> None:
        tree = self.keys
        tree.pop(norm, None)
        prefix = norm + "\\"
        for k in [k for k in tree if k.startswith(prefix)]:
            del tree[k]

    # -- questions asked after loading -------------------------------------------------

    def branch_of(self, norm: str) -> tuple[int, int] | None:
        """``(file index, key line offset)`` of the last loaded branch that covers ``norm``."""
        for fidx in range(len(self.files) - 1, -1, -1):
            for branch, offset in self.files[fidx].branches.items():
                if regkeys.is_under(norm, branch):
                    return fidx, offset
        return None

    def has_descendant(self, norm: str) -> bool:
        """True when some loaded key lies below ``norm`` (so ``norm`` exists, created on import)."""
        prefix = norm + "\\"
        return any(k.startswith(prefix) for k in self.keys)

    def display(self, section: Section) -> str:
        """The key path as the file spells it on that section's key line."""
        m = _KEY.match(self.files[section[0]].text, section[1] - 1)
        assert m is not None  # sections come from _KEY matches
        return m.group(2).rstrip("\\")

    def values(self, norm: str, wanted: Collection[str] | None = None) -> dict[str, tuple[Any, ...]]:
        """Raw values of a key: value id -> ``(name, sz, dword, hextype, hexdata, file, offset)``.

        ``wanted`` limits the result to those value ids (None: all). Convert
        one with :meth:`convert`.
        """
        found: dict[str, tuple[Any, ...]] = {}
        for fidx, start, end in self.keys.get(norm, ()):
            text = self.files[fidx].text
            for m in _VALUE.finditer(text, start, end):
                name, default, sz, dword, htype, hexdata, delete = m.groups()
                if default:
                    vid, name = "", "@"
                else:
                    if "\\" in name:
                        name = regvalues.unescape(name)
                    vid = name.lower()
                if wanted is not None and vid not in wanted:
                    continue
                if delete:
                    found.pop(vid, None)
                else:
                    found[vid] = (name, sz, dword, htype, hexdata, fidx, m.start() + 1)
        return found

    def convert(self, raw: tuple[Any, ...]) -> tuple[str, str, Any]:
        """``(name, type, data)`` of a raw value from :meth:`values`."""
        name, sz, dword, htype, hexdata, fidx, _ = raw
        if sz is not None:
            return name, "REG_SZ", regvalues.unescape(sz)
        if dword is not None:
            return name, "REG_DWORD", int(dword, 16)
        type_, data = regvalues.from_bytes(int(htype or "3", 16), _hex_bytes(hexdata), self.files[fidx].unicode)
        return name, type_, data

    def walk(self) -> Iterator[tuple[str, str, str, Any]]:
        """Every value of the tree as ``(key as spelled, value name, type, data)``; for tests and tools."""
        for norm, sections in self.keys.items():
            display = self.display(sections[-1])
            for raw in self.values(norm).values():
                yield (display, *self.convert(raw))


def _hex_bytes(raw: str) -> bytes:
    digits: list[str] = []
    for line in raw.split("\n"):
        line = line.strip().rstrip("\\")
        if line and not line.startswith(";"):
            digits.extend(p for p in line.replace(" ", "").replace("\t", "").split(",") if p)
    return bytes(int(p, 16) for p in digits)


def _first_error(text: str, pos: int, name: str) -> str:
    """``file:line: what`` for the first line of the body the grammar does not accept."""
    line = text.count("\n", 0, pos) + 1
    while pos < len(text) and (m := _LINE.match(text, pos)) is not None:
        line += text.count("\n", pos, m.end())
        pos = m.end()
    return f"{name}:{line}: {_diagnose(text[pos:].partition(chr(10))[0])}"


def _diagnose(line: str) -> str:
    """Say what is wrong with a line the grammar did not accept."""
    shown = line.strip()
    short = shown if len(shown) <= 70 else shown[:67] + "..."
    if shown.startswith("["):
        return f"key line without closing ']': {short!r}" if "]" not in shown else f"text after ']': {short!r}"
    if shown.startswith(('"', "@")):
        rest = shown.partition("=")[2].strip()
        if not rest:
            return f"value line without '=' and data: {short!r}"
        if rest.startswith("dword:"):
            return f"bad dword (1 to 8 hex digits expected): {short!r}"
        if rest.startswith("hex"):
            return f"bad hex data (comma-separated bytes, '\\' to continue): {short!r}"
        return f"unparsable value line: {short!r}"
    return f"unexpected line (not a key, a value or a comment): {short!r}"
