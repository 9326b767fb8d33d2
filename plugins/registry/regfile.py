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


class Key:
    """A key of the merged tree: where it was last written, and its values by value id.

    A value is ``(parsed line, file index, line number)``; see :meth:`Tree.convert`.
    ``name`` is the normalised last part of the path (the hive for a hive), ``kids``
    the keys below by name (None: none yet). A key created only because a subkey
    was (no key line of its own) has ``norm`` None, is not in :attr:`Tree.keys`,
    and the ``file`` and ``line`` of the key line that created it.
    """

    __slots__ = ("display", "file", "kids", "line", "name", "norm", "parent", "values")

    def __init__(self, display: str, file: int, line: int, parent: Key | None, name: str, norm: str | None) -> None:
        self.display = display
        self.file = file
        self.line = line
        self.values: dict[str, tuple[tuple[Any, ...], int, int]] = {}
        self.parent = parent
        self.name = name
        self.kids: dict[str, Key] | None = None
        self.norm = norm


class Tree:
    """The merged key tree of the files loaded so far, in load order."""

    def __init__(self) -> None:
        self.files: list[LoadedFile] = []
        self.keys: dict[str, Key] = {}
        """Every key some key line wrote, by normalised path."""
        self._hives: dict[str, Key] = {}
        self._linked = False
        """True once the keys also form the tree of children (see :meth:`_link_all`)."""

    def load(self, data: bytes, name: str) -> None:
        """Import one file's bytes; ``name`` is how sources name it.

        Raises :class:`RegFileError` at the first malformed line; the tree is
        then partly loaded and must be discarded.
        """
        try:
            lines = syn.decode(data).split("\n")
        except syn.Undecodable as exc:
            raise RegFileError(f"{name}:{exc.line}", str(exc)) from None
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
        parse_line, memo = syn.parse_line, syn.memo
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
                    if self._linked:
                        current = self._create(norm, fidx, lineno, parsed[3])
                    else:  # the common case: no [-KEY] line yet, no tree of children to keep
                        current = keys[norm] = Key(parsed[3], fidx, lineno, None, "", norm)
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
            self._finish_hex(current, pending, fidx)
        _find_branches(seen, reg)

    @staticmethod
    def _finish_hex(current: Key | None, pending: list[Any], fidx: int) -> None:
        if current is not None:
            start, lineno, chunks = pending
            parsed = (VALUE, start[1], start[2], HEX, ",".join(chunks), start[5])
            current.values[start[1]] = (parsed, fidx, lineno)

    def _link_all(self) -> None:
        """Link the keys into the tree of children (once: later keys are linked as they come).

        Most exports never delete a key, and most checks find their key in :attr:`keys`:
        the tree is built only when a ``[-KEY]`` line or a key without a key line needs it.
        Parents before children (by length), so a parent written by a key line is linked
        before anything below it; a parent without one is created by the first key below it.
        """
        if self._linked:
            return
        self._linked = True
        for key in sorted(self.keys.values(), key=lambda k: len(k.norm or "")):
            self._attach(key)

    def _attach(self, key: Key) -> None:
        norm = key.norm or ""
        parent_norm, sep, name = norm.rpartition("\\")
        key.name = name if sep else norm
        if not sep:
            self._hives[norm] = key
            return
        parent = self.keys.get(parent_norm) or self._node(parent_norm, (key.file, key.line))
        assert parent is not None
        key.parent = parent
        if parent.kids is None:
            parent.kids = {}
        parent.kids[name] = key

    def _create(self, norm: str, fidx: int, line: int, display: str) -> Key:
        """The key ``norm``, now in :attr:`keys`, with every missing parent created (cost: its depth).

        A parent created here remembers ``fidx`` and ``line``: the key line that made it exist.
        """
        parent_norm, sep, name = norm.rpartition("\\")
        if not sep:
            node = self._hives.get(norm)
            if node is None:
                node = self._hives[norm] = Key(display, fidx, line, None, norm, norm)
        else:
            parent = self.keys.get(parent_norm) or self._node(parent_norm, (fidx, line))
            assert parent is not None
            kids = parent.kids
            if kids is None:
                node = Key(display, fidx, line, parent, name, norm)
                parent.kids = {name: node}
                self.keys[norm] = node
                return node
            node = kids.get(name)
            if node is None:
                node = kids[name] = Key(display, fidx, line, parent, name, norm)
                self.keys[norm] = node
                return node
        node.display, node.file, node.line, node.norm = display, fidx, line, norm
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
            node = self._hives[hive] = Key(hive, *create, None, hive, None)
        for name in names:
            kids = node.kids
            nxt = kids.get(name) if kids is not None else None
            if nxt is None:
                if create is None:
                    return None
                if kids is None:
                    kids = node.kids = {}
                nxt = kids[name] = Key(name, *create, node, name, None)
            node = nxt
        return node

    def _delete(self, norm: str) -> None:
        """Remove ``norm`` and its subtree (cost: the size of that subtree)."""
        self._link_all()
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
        """The key ``norm`` if it exists. One without a key line of its own (created by a key line
        below it) has ``norm`` None and, as ``file``/``line``, the first key line below it that
        is still loaded (else the line that created it). Cost: the subtree below ``norm``."""
        key = self.keys.get(norm)
        if key is not None:
            return key
        if not self._linked and len(self.keys) <= _SCAN_LIMIT:  # a small tree: a scan costs less than linking
            prefix = norm + "\\"
            below = [k for n, k in self.keys.items() if n.startswith(prefix)]
            node = None
        else:
            self._link_all()
            node = self._node(norm)
            if node is None:
                return None
            below = _written_below(node)
        if not below:
            return node
        first = min(below, key=lambda k: (k.file, k.line))
        return Key(norm, first.file, first.line, None, "", None)

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


def _written_below(node: Key) -> list[Key]:
    """The keys below ``node`` that a key line wrote."""
    found = []
    stack = list(node.kids.values()) if node.kids else []
    while stack:
        key = stack.pop()
        if key.norm is not None:
            found.append(key)
        if key.kids:
            stack.extend(key.kids.values())
    return found


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
_SCAN_LIMIT = 256
