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

Speed (a scan may read ten thousand exports): exports of similar hosts share
most of their lines, so each distinct line is parsed once per process and
remembered (:func:`_parse_line`, a bounded memo); a file then costs a decode, a
split and one dictionary lookup per line. Value data stays raw until a check
asks for it (:meth:`Tree.convert`).

Coverage: each file covers the branches it exported, i.e. its top-most keys
(keys with no ancestor key in the same file; a ``[-KEY]`` line counts too).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from plugins.registry import keys as regkeys
from plugins.registry import values as regvalues

# Possessive quantifiers (*+) everywhere a run is followed by a different token: a
# malformed line fails in linear time instead of backtracking through its spaces.
_STR = r'[^"\\]*+(?:\\.[^"\\]*+)*+'
_BYTES = r"[ \t]*+(?:[0-9a-fA-F]{1,2}+[ \t]*+,[ \t]*+)*+(?:[0-9a-fA-F]{1,2}+[ \t]*+)?+"
_COMMENT = r"(?:;.*)?"
_VALUE_LINE = re.compile(
    rf'(?:"({_STR})"|(@))[ \t]*+=[ \t]*+'
    rf'(?:"({_STR})"[ \t]*+|dword:([0-9a-fA-F]{{1,8}}+)[ \t]*+'
    rf"|hex(?:\(([0-9a-fA-F]{{1,8}}+)\))?+:({_BYTES})(\\)?+[ \t]*+|(-)[ \t]*+){_COMMENT}"
)
_MORE_HEX = re.compile(rf"({_BYTES})(\\)?+[ \t]*+{_COMMENT}")
_HEADERS = {"Windows Registry Editor Version 5.00": True, "REGEDIT4": False}

# Parsed line kinds (first item of a parsed line).
_BLANK, _KEY, _VALUE, _DELETE, _HEX_START, _BAD = range(6)
# Value data kinds.
SZ, DWORD, HEX = range(3)

_memo: dict[str, tuple[Any, ...]] = {}
_MEMO_LIMIT = 100_000
_MEMO_LINE = 300


class RegFileError(Exception):
    """A ``.reg`` file that cannot be parsed; ``str()`` is ``file:line: what was wrong``."""

    def __init__(self, where: str, what: str) -> None:
        super().__init__(f"{where}: {what}")
        self.where = where
        """``file:line`` of the bad line."""


@dataclass(slots=True)
class LoadedFile:
    name: str
    unicode: bool
    """True for a 5.00 file (hex strings are UTF-16LE), False for REGEDIT4 (ANSI)."""
    branches: dict[str, int] = field(default_factory=dict)
    """Normalised top-most key -> line of its first key line."""


@dataclass(slots=True)
class Key:
    """A key of the merged tree: where it was last written, and its values by value id.

    A value is ``(parsed line, file index, line number)``; see :meth:`Tree.convert`.
    """

    display: str
    file: int
    line: int
    values: dict[str, tuple[tuple[Any, ...], int, int]] = field(default_factory=dict)


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
    return text


class Tree:
    """The merged key tree of the files loaded so far, in load order."""

    def __init__(self) -> None:
        self.files: list[LoadedFile] = []
        self.keys: dict[str, Key] = {}

    def load(self, data: bytes, name: str) -> None:
        """Import one file's bytes; ``name`` is how sources name it.

        Raises :class:`RegFileError` at the first malformed line; the tree is
        then partly loaded and must be discarded.
        """
        lines = decode(data).split("\n")
        unicode = _HEADERS.get(lines[0].strip())
        if unicode is None:
            shown = lines[0].strip()[:60]
            raise RegFileError(
                f"{name}:1", f"bad header {shown!r}: expected 'Windows Registry Editor Version 5.00' or 'REGEDIT4'"
            )
        fidx = len(self.files)
        reg = LoadedFile(name, unicode)
        self.files.append(reg)
        tree = self.keys
        seen: dict[str, int] = {}
        current: Key | None = None
        pending: list[Any] | None = None  # an open hex value: [parsed line, line number, chunks]
        memo = _memo
        for lineno, line in enumerate(lines[1:], 2):
            if pending is not None:
                stripped = line.strip()
                if not stripped or stripped[0] == ";":
                    continue
                more = _MORE_HEX.fullmatch(stripped)
                if more is None:
                    raise RegFileError(f"{name}:{lineno}", f"bad hex continuation line: {_short(stripped)}")
                pending[2].append(more.group(1))
                if more.group(2):
                    continue
                self._finish_hex(current, pending, fidx)
                pending = None
                continue
            parsed = memo.get(line)
            if parsed is None:
                parsed = _parse_line(line)
                if len(line) <= _MEMO_LINE:  # long lines rarely repeat: do not keep them
                    if len(memo) >= _MEMO_LIMIT:
                        memo.clear()
                    memo[line] = parsed
            kind = parsed[0]
            if kind == _BLANK:
                continue
            if kind == _VALUE:
                if current is not None:
                    current.values[parsed[1]] = (parsed, fidx, lineno)
            elif kind == _KEY:
                norm = parsed[2]
                if norm not in seen:
                    seen[norm] = lineno
                if parsed[1]:
                    current = None
                    self._delete(norm)
                    continue
                current = tree.get(norm)
                if current is None:
                    current = tree[norm] = Key(parsed[3], fidx, lineno)
                else:
                    current.display, current.file, current.line = parsed[3], fidx, lineno
            elif kind == _DELETE:
                if current is not None:
                    current.values.pop(parsed[1], None)
            elif kind == _HEX_START:
                pending = [parsed, lineno, [parsed[4]]]
            elif kind == _BAD:
                raise RegFileError(f"{name}:{lineno}", parsed[1])
        if pending is not None:
            self._finish_hex(current, pending, fidx)
        tops: tuple[str, ...] = ()
        for norm in sorted(seen, key=len):
            if not norm.startswith(tops):
                reg.branches[norm] = seen[norm]
                tops = (*tops, norm + "\\")

    @staticmethod
    def _finish_hex(current: Key | None, pending: list[Any], fidx: int) -> None:
        if current is not None:
            start, lineno, chunks = pending
            parsed = (_VALUE, start[1], start[2], HEX, ",".join(chunks), start[5])
            current.values[start[1]] = (parsed, fidx, lineno)

    def _delete(self, norm: str) -> None:
        tree = self.keys
        tree.pop(norm, None)
        prefix = norm + "\\"
        for k in [k for k in tree if k.startswith(prefix)]:
            del tree[k]

    # -- questions asked after loading -------------------------------------------------

    def branch_of(self, norm: str) -> str | None:
        """``file:line`` of the last loaded branch that covers ``norm``, or None."""
        for reg in reversed(self.files):
            for branch, line in reg.branches.items():
                if regkeys.is_under(norm, branch):
                    return f"{reg.name}:{line}"
        return None

    def has_descendant(self, norm: str) -> bool:
        """True when some loaded key lies below ``norm`` (so ``norm`` exists, created on import)."""
        prefix = norm + "\\"
        return any(k.startswith(prefix) for k in self.keys)

    def where(self, fidx: int, line: int) -> str:
        return f"{self.files[fidx].name}:{line}"

    def convert(self, value: tuple[tuple[Any, ...], int, int]) -> tuple[str, str, Any]:
        """``(name, type, data)`` of a value of :attr:`Key.values`."""
        (_, _, name, kind, payload, htype), fidx, _ = value
        if kind == SZ:
            return name, "REG_SZ", regvalues.unescape(payload)
        if kind == DWORD:
            return name, "REG_DWORD", int(payload, 16)
        number = int(htype, 16) if htype else 3
        return name, *regvalues.from_bytes(number, _hex_bytes(payload), self.files[fidx].unicode)

    def walk(self) -> Iterator[tuple[str, str, str, Any]]:
        """Every value of the tree as ``(key as spelled, value name, type, data)``; for tests and tools."""
        for key in self.keys.values():
            for value in key.values.values():
                yield (key.display, *self.convert(value))


def _parse_line(line: str) -> tuple[Any, ...]:
    """One line on its own: ``(kind, ...)``; see the ``_BLANK`` .. ``_BAD`` kinds."""
    text = line.strip()
    if not text or text[0] == ";":
        return (_BLANK,)
    if text[0] == "[":
        close = text.rfind("]")  # as regedit: the last ']' ends the path; a comment may follow
        rest = text[close + 1 :].lstrip(" \t")
        if close < 0 or (rest and rest[0] != ";"):
            return (_BAD, _diagnose(text))
        deletes = text[1:2] == "-"
        path = text[2 if deletes else 1 : close]
        norm = regkeys.normalise(path)
        if norm is None or not path.strip("\\"):
            return (_BAD, f"unknown hive in key [{path}]")
        return (_KEY, deletes, norm, path.rstrip("\\"))
    m = _VALUE_LINE.fullmatch(text) if text[0] in "\"@" else None
    if m is None:
        return (_BAD, _diagnose(text))
    name, default, sz, dword, htype, hexdata, more, delete = m.groups()
    if default:
        name, vid = "@", ""
    else:
        if "\\" in name:
            name = regvalues.unescape(name)
        vid = name.lower()  # a value literally named "@" stays "@"; only @= is the default value
    if delete:
        return (_DELETE, vid)
    if sz is not None:
        return (_VALUE, vid, name, SZ, sz, None)
    if dword is not None:
        return (_VALUE, vid, name, DWORD, dword, None)
    return (_HEX_START if more else _VALUE, vid, name, HEX, hexdata, htype)


def _hex_bytes(raw: str) -> bytes:
    return bytes(int(p, 16) for p in raw.replace(" ", "").replace("\t", "").split(",") if p)


def _short(text: str) -> str:
    return repr(text if len(text) <= 70 else text[:67] + "...")


def _diagnose(text: str) -> str:
    """Say what is wrong with a line the grammar did not accept."""
    if text.startswith("["):
        return f"key line without closing ']': {_short(text)}" if "]" not in text else f"text after ']': {_short(text)}"
    if text.startswith(('"', "@")):
        rest = text.partition("=")[2].strip()
        if not rest:
            return f"value line without '=' and data: {_short(text)}"
        if rest.startswith("dword:"):
            return f"bad dword (1 to 8 hex digits expected): {_short(text)}"
        if rest.startswith("hex"):
            return f"bad hex data (comma-separated bytes, '\\' to continue): {_short(text)}"
        return f"unparsable value line: {_short(text)}"
    return f"unexpected line (not a key, a value or a comment): {_short(text)}"
