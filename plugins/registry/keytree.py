r"""The keys of a merged registry, kept so that every question costs what it must and no more.

Keys are kept twice over the same :class:`Key` objects: a flat dictionary by
normalised path (:attr:`KeyTree.keys`: a key line or a check finds its key in
one lookup) and, once something needs it, a tree of children (a ``[-KEY]``
line removes its subtree in time proportional to that subtree; a key that only
exists because a key below it was written is found by walking down). Most
exports never delete a key and most checks find their key in the dictionary,
so the tree is built only when a deletion, or a look-up in a big tree, needs it.
:class:`plugins.registry.regfile.Tree` fills it while reading exports.
"""

from __future__ import annotations

from typing import Any

_SCAN_LIMIT = 256
"""Up to this many keys, a key without a key line of its own is looked for by a scan, not the tree."""


class Key:
    """A key of the merged tree: where it was last written, and its values by value id.

    A value is ``(parsed line, file index, line number)``; see :meth:`plugins.registry.regfile.Tree.convert`.
    ``name`` is the normalised last part of the path (the hive for a hive), ``kids``
    the keys below by name (None: none yet). A key created only because a subkey
    was (no key line of its own) has ``norm`` None, is not in :attr:`KeyTree.keys`,
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


class KeyTree:
    """The keys written so far (by key lines) and, when needed, the tree of children linking them."""

    def __init__(self) -> None:
        self.keys: dict[str, Key] = {}
        """Every key some key line wrote, by normalised path."""
        self._hives: dict[str, Key] = {}
        self._linked = False
        """True once the keys also form the tree of children (see :meth:`_link_all`)."""

    def add(self, norm: str, fidx: int, line: int, display: str) -> Key:
        """The key ``norm`` written by a key line (it is not in :attr:`keys` yet)."""
        if self._linked:
            return self._create(norm, fidx, line, display)
        key = self.keys[norm] = Key(display, fidx, line, None, "", norm)  # the common case: nothing to link
        return key

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
