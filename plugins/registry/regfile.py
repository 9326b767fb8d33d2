r"""Reading ``.reg`` exports (as regedit writes them) into a merged key tree.

:class:`Tree` imports one file after another exactly as ``regedit /s`` would:
``[KEY]`` creates a key and every missing parent, ``[-KEY]`` deletes it with
its whole subtree, ``"name"=-`` / ``@=-`` delete a value, later files win.
Accepted input: ``Windows Registry Editor Version 5.00`` in UTF-16LE with a
BOM (what regedit writes), or in UTF-8 (with or without BOM); ``REGEDIT4`` in
the ANSI code page (cp1252); CRLF, LF or CR line ends; the line grammar is
:mod:`plugins.registry.regsyntax`.

Speed: everything is linear (or n log n) in the size of the input, whatever
its shape; ``bench/regparse.py`` measures it on 100 MB exports. Each distinct
line is parsed once per process (a memo), so a file costs a decode, a split
and a dictionary lookup per line; how keys are kept so that deletions and
look-ups stay cheap is :mod:`plugins.registry.keytree`. Value data stays raw
until a check asks for it (:meth:`Tree.convert`).

A file cut short never reads as a complete one. regedit ends every line
with CRLF (and the file with a blank line), so a file whose last line has no
line break was cut inside that line (disk full, an interrupted copy) and is
refused whatever that line holds: ``"Enabled"=dword:0000000`` would read as 0,
``[...\TLS 1.0]`` as the wrong key. A hex value whose last line ends with
``\`` at the end of the file is refused the same way. In a complete line a
``dword:`` of 1 to 8 hex digits is accepted and read as the number it spells,
as regedit imports it (hand-written files use ``dword:1``); more digits are
refused. ``hex(4)``/``hex(5)`` (DWORD) and ``hex(b)`` (QWORD) must hold
exactly 4 / 8 bytes, or none (a value stored empty, which is no number):
another count is a malformed value (``file:line``), never a number. What
cannot be seen: a cut exactly at a line end leaves a shorter, well-formed
export whose lost values read as missing (the oracle test states both).

Coverage: each file covers the branches it exported, i.e. its top-most keys
(keys with no ancestor key in the same file; a ``[-KEY]`` line counts too).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from plugins.registry import regsyntax as syn
from plugins.registry import values as regvalues
from plugins.registry.keytree import Key, KeyTree
from plugins.registry.messages import Message, english, message
from plugins.registry.regsyntax import BAD, BLANK, DELETE, DWORD, HEX, HEX_START, KEY, SZ, VALUE
from scanner.i18n import N_


class RegFileError(Exception):
    """A ``.reg`` file that cannot be parsed; ``str()`` is ``file:line: what was wrong`` (in English)."""

    def __init__(self, where: str, what: Message) -> None:
        self.where = where
        """``file:line`` of the bad line."""
        self.message: Message = message(N_("{where}: {what}"), where=where, what=what)
        """The same, for translation (:mod:`plugins.registry.messages`)."""
        super().__init__(english(self.message))


@dataclass(slots=True)
class LoadedFile:
    name: str
    unicode: bool
    """True for a 5.00 file (hex strings are UTF-16LE), False for REGEDIT4 (ANSI)."""
    branches: dict[str, int] = field(default_factory=dict)
    """Normalised top-most key -> line of its first key line."""
    spelled: dict[str, str] = field(default_factory=dict)
    """Normalised top-most key -> the key as that line writes it."""


class Tree(KeyTree):
    """The merged key tree of the files loaded so far, in load order (keys: see :class:`KeyTree`)."""

    def __init__(self) -> None:
        super().__init__()
        self.files: list[LoadedFile] = []

    def load(self, data: bytes, name: str) -> None:
        """Import one file's bytes; ``name`` is how sources name it.

        Raises :class:`RegFileError` at the first malformed line; the tree is
        then partly loaded and must be discarded.
        """
        try:
            lines = syn.decode(data).split("\n")
        except syn.Undecodable as exc:
            raise RegFileError(f"{name}:{exc.line}", exc.message) from None
        unicode = syn.HEADERS.get(lines[0].strip())
        if unicode is None:
            shown = lines[0].strip()[:60]
            raise RegFileError(f"{name}:1", message(
                N_("bad header {header}: expected 'Windows Registry Editor Version 5.00' or 'REGEDIT4'"),
                header=repr(shown)))
        if lines[-1]:
            raise RegFileError(f"{name}:{len(lines)}", message(
                N_("file ends inside a line ({line} has no line break): the export is cut short"),
                line=syn.short(lines[-1])))
        fidx = len(self.files)
        reg = LoadedFile(name, unicode)
        self.files.append(reg)
        keys = self.keys
        seen: dict[str, tuple[int, str]] = {}
        current: Key | None = None
        pending: list[Any] | None = None  # an open hex value: [parsed line, line number, chunks]
        parse_line, memo = syn.parse_line, syn.memo
        for lineno, line in enumerate(lines[1:], 2):
            if pending is not None:
                stripped = line.strip()
                if not stripped or stripped[0] == ";":
                    continue
                more = syn.MORE_HEX.fullmatch(stripped)
                if more is None:
                    raise RegFileError(f"{name}:{lineno}", message(N_("bad hex continuation line: {line}"),
                                                                   line=syn.short(stripped)))
                pending[2].append(more.group(1))
                if more.group(2):
                    continue
                self._finish_hex(current, pending, fidx, name)
                pending = None
                continue
            parsed = memo.get(line)  # most lines were seen in an earlier export: no call at all
            if parsed is None:
                parsed = parse_line(line)
            kind = parsed[0]
            if kind == BLANK:
                continue
            if kind == VALUE:
                if current is not None:
                    current.values[parsed[1]] = (parsed, fidx, lineno)
            elif kind == KEY:
                norm = parsed[2]
                if norm not in seen:
                    seen[norm] = (lineno, parsed[3])
                if parsed[1]:
                    current = None
                    self._delete(norm)
                    continue
                current = keys.get(norm)
                if current is None:
                    current = self.add(norm, fidx, lineno, parsed[3])
                else:
                    current.display, current.file, current.line = parsed[3], fidx, lineno
            elif kind == DELETE:
                if current is not None:
                    current.values.pop(parsed[1], None)
            elif kind == HEX_START:
                pending = [parsed, lineno, [parsed[4]]]
            elif kind == BAD:
                raise RegFileError(f"{name}:{lineno}", parsed[1])
        if pending is not None:
            raise RegFileError(f"{name}:{pending[1]}", message(
                N_("file ends inside the hex value {name} (its last line ends with '\\'): the export is cut short"),
                name=syn.short(pending[0][2])))
        _find_branches(seen, reg)

    @staticmethod
    def _finish_hex(current: Key | None, pending: list[Any], fidx: int, name: str) -> None:
        start, lineno, chunks = pending
        data = ",".join(chunks)
        wrong = syn.wrong_size(start[5], data, start[2])
        if wrong is not None:
            raise RegFileError(f"{name}:{lineno}", wrong)
        if current is not None:
            parsed = (VALUE, start[1], start[2], HEX, data, start[5])
            current.values[start[1]] = (parsed, fidx, lineno)

    # -- questions asked after loading -------------------------------------------------

    def branch_of(self, norm: str) -> str | None:
        """``file:line`` of the last loaded branch that covers ``norm``, or None."""
        found = self.covering(norm)
        return None if found is None else f"{found[0]}:{found[1]}"

    def covering(self, norm: str) -> tuple[str, int, str] | None:
        """``(file, line, branch as written)`` of the last loaded branch covering ``norm``, or None.

        Cost: the number of files times the depth of ``norm``, whatever the size of the exports.
        """
        ancestors = [norm]
        at = norm.rfind("\\")
        while at > 0:
            ancestors.append(norm[:at])
            at = norm.rfind("\\", 0, at)
        for reg in reversed(self.files):
            for branch in ancestors:
                line = reg.branches.get(branch)
                if line is not None:
                    return reg.name, line, reg.spelled[branch]
        return None

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
        return name, *regvalues.from_bytes(number, syn.hex_bytes(payload), self.files[fidx].unicode)

    def walk(self) -> Iterator[tuple[str, str, str, Any]]:
        """Every value of the tree as ``(key as spelled, value name, type, data)``; for tests and tools."""
        for key in self.keys.values():
            for value in key.values.values():
                yield (key.display, *self.convert(value))


def _find_branches(seen: dict[str, tuple[int, str]], reg: LoadedFile) -> None:
    """Record in ``reg`` the top-most of the keys a file named (in n log n).

    An export has one branch or a few: keys by length, each checked against the
    branches found so far. Past a few branches, all keys are sorted with the
    separator below every other character, so a key's descendants follow it
    directly and one pass keeping the last top-most key finds them all.
    """
    tops: tuple[str, ...] = ()
    for norm in sorted(seen, key=len):
        if not norm.startswith(tops):
            if len(tops) == _FEW_BRANCHES:
                break
            tops = (*tops, norm + "\\")
    else:
        for branch in tops:
            reg.branches[branch[:-1]], reg.spelled[branch[:-1]] = seen[branch[:-1]]
        return
    sep = "\x00"
    if any(sep in norm for norm in seen):  # a NUL in a name would sort like a separator
        order = sorted(seen, key=lambda k: k.split("\\"))
    else:
        order = sorted(seen, key=lambda k: k.replace("\\", sep))
    top = None
    for norm in order:
        if top is not None and norm.startswith(top):
            continue
        reg.branches[norm], reg.spelled[norm] = seen[norm]
        top = norm + "\\"


_FEW_BRANCHES = 16
