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
and a dictionary lookup per line. Keys are kept twice over the same
:class:`Key` objects: a flat dictionary by normalised path (a key line or a
check finds its key in one lookup) and a tree of children (a ``[-KEY]`` line
removes its subtree in time proportional to that subtree, and a key that only
exists because a subkey was created is found by walking down). Value data
stays raw until a check asks for it (:meth:`Tree.convert`).

Coverage: each file covers the branches it exported, i.e. its top-most keys
(keys with no ancestor key in the same file; a ``[-KEY]`` line counts too).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from plugins.registry import regsyntax as syn
from plugins.registry import values as regvalues
from plugins.registry.regsyntax import BAD, BLANK, DELETE, DWORD, HEX, HEX_START, KEY, SZ, VALUE


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
    spelled: dict[str, str] = field(default_factory=dict)
    """Normalised top-most key -> the key as that line writes it."""


@dataclass(slots=True, eq=False)
class Key:
    """A key of the merged tree: where it was last written, and its values by value id.

    A value is ``(parsed line, file index, line number)``; see :meth:`Tree.convert`.
    A key created only because a subkey was (no key line of its own) has
    ``norm`` None, is not in :attr:`Tree.keys`, and the ``file`` and ``line`` of
    the key line that created it.
    """

    display: str
    file: int
    line: int
    values: dict[str, tuple[tuple[Any, ...], int, int]] = field(default_factory=dict)
    parent: Key | None = None
    name: str = ""
    """Normalised last component of the path (the hive for a hive)."""
    kids: dict[str, Key] | None = None
    norm: str | None = None


class Tree:
    """The merged key tree of the files loaded so far, in load order."""

    def __init__(self) -> None:
        self.files: list[LoadedFile] = []
        self.keys: dict[str, Key] = {}
        """Every key some key line wrote, by normalised path."""
        self._hives: dict[str, Key] = {}

    def load(self, data: bytes, name: str) -> None:
        """Import one file's bytes; ``name`` is how sources name it.

        Raises :class:`RegFileError` at the first malformed line; the tree is
        then partly loaded and must be discarded.
        """
        lines = syn.decode(data).split("\n")
        unicode = syn.HEADERS.get(lines[0].strip())
        if unicode is None:
            shown = lines[0].strip()[:60]
            raise RegFileError(
                f"{name}:1", f"bad header {shown!r}: expected 'Windows Registry Editor Version 5.00' or 'REGEDIT4'"
            )
        fidx = len(self.files)
        reg = LoadedFile(name, unicode)
        self.files.append(reg)
        keys = self.keys
        seen: dict[str, tuple[int, str]] = {}
        current: Key | None = None
        pending: list[Any] | None = None  # an open hex value: [parsed line, line number, chunks]
        parse_line = syn.parse_line
        for lineno, line in enumerate(lines[1:], 2):
            if pending is not None:
                stripped = line.strip()
                if not stripped or stripped[0] == ";":
                    continue
                more = syn.MORE_HEX.fullmatch(stripped)
                if more is None:
                    raise RegFileError(f"{name}:{lineno}", f"bad hex continuation line: {syn.short(stripped)}")
                pending[2].append(more.group(1))
                if more.group(2):
                    continue
                self._finish_hex(current, pending, fidx)
                pending = None
                continue
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
                    current = self._create(norm, fidx, lineno)
                current.display, current.file, current.line = parsed[3], fidx, lineno
            elif kind == DELETE:
                if current is not None:
                    current.values.pop(parsed[1], None)
            elif kind == HEX_START:
                pending = [parsed, lineno, [parsed[4]]]
            elif kind == BAD:
                raise RegFileError(f"{name}:{lineno}", parsed[1])
        if pending is not None:
            self._finish_hex(current, pending, fidx)
        _find_branches(seen, reg)

    @staticmethod
    def _finish_hex(current: Key | None, pending: list[Any], fidx: int) -> None:
        if current is not None:
            start, lineno, chunks = pending
            parsed = (VALUE, start[1], start[2], HEX, ",".join(chunks), start[5])
            current.values[start[1]] = (parsed, fidx, lineno)

    def _create(self, norm: str, fidx: int, line: int) -> Key:
        """The key ``norm``, now in :attr:`keys`, with every missing parent created (cost: its depth).

        A parent created here remembers ``fidx`` and ``line``: the key line that made it exist.
        """
        parent_norm, sep, name = norm.rpartition("\\")
        if not sep:
            node = self._hives.get(norm)
            if node is None:
                node = self._hives[norm] = Key(norm, fidx, line, name=norm)
        else:
            parent = self.keys.get(parent_norm) or self._node(parent_norm, (fidx, line))
            assert parent is not None
            kids = parent.kids
            if kids is None:
                kids = parent.kids = {}
            node = kids.get(name)
            if node is None:
                node = kids[name] = Key(norm, fidx, line, parent=parent, name=name)
        node.norm = norm
        self.keys[norm] = node
        return node

    def _node(self, norm: str, create: tuple[int, int] | None = None) -> Key | None:
        """The key ``norm`` found by walking down from its hive; None when it does not exist.

        With ``create`` = ``(file index, line)``, missing keys on the way are created, made by that line.
        """
        hive, *names = norm.split("\\")
        node = self._hives.get(hive)
        if node is None:
            if create is None:
                return None
            node = self._hives[hive] = Key(hive, *create, name=hive)
        for name in names:
            kids = node.kids
            nxt = kids.get(name) if kids is not None else None
            if nxt is None:
                if create is None:
                    return None
                if kids is None:
                    kids = node.kids = {}
                nxt = kids[name] = Key(name, *create, parent=node, name=name)
            node = nxt
        return node

    def _delete(self, norm: str) -> None:
        """Remove ``norm`` and its subtree (cost: the size of that subtree)."""
        node = self.keys.get(norm) or self._node(norm)
        if node is None:
            return
        if node.parent is None:
            del self._hives[node.name]
        else:
            del node.parent.kids[node.name]  # type: ignore[union-attr]  # a parent has kids
        stack = [node]
        keys = self.keys
        while stack:
            node = stack.pop()
            if node.norm is not None:
                del keys[node.norm]
            if node.kids:
                stack.extend(node.kids.values())

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

    def implied(self, norm: str) -> bool:
        """True when ``norm`` exists: a key line wrote it, or one wrote a key below it (import creates parents)."""
        return self.find(norm) is not None

    def find(self, norm: str) -> Key | None:
        """The key ``norm`` if it exists; one without a key line of its own has ``norm`` None and the
        ``file``/``line`` of the key line below it that created it."""
        return self.keys.get(norm) or self._node(norm)

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

    Sorted with the separator below every other character, a key's descendants
    follow it directly, so one pass keeping the last top-most key finds them all.
    """
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
