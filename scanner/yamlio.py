"""Reading YAML input safely, in YAML 1.2 style, with a position for every node.

One loader serves every input file (policies, inventories, waivers):

- only ``true``/``false`` are booleans; ``yes``, ``no``, ``on``, ``off``, dates
  and version numbers such as ``1.0.0`` stay strings (the YAML 1.2 core schema);
- no tags beyond the core ones: ``!!python/...`` and friends are refused, so a
  policy can never build objects — policies are data;
- duplicate mapping keys are an error (YAML says keys are unique; PyYAML
  silently keeps the last one);
- aliases are bounded: expanding them may not create more than
  :data:`MAX_NODES` nodes, so a "billion laughs" document is refused at once;
- every node's position is kept, so errors can say ``file:line:col``.

:func:`load_yaml` returns the plain data and a :class:`Marks` table that maps
a path inside the document (a tuple of keys and list indices) to its position.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from scanner.errors import Problem
from scanner.yamlerrors import explain

MAX_NODES = 200_000
"""How many nodes one document may expand to, aliases included."""

MAX_BYTES = 16 * 1024 * 1024

MAX_DEPTH = 100
"""How deeply collections may nest; our files need about 20 levels, and deeper
input would exhaust Python's recursion limit on the way (an internal error)."""

_Base: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when built with it

Path_ = tuple[str | int, ...]


_PLAIN = "tag:policyscan,2026:plain"


class _Loader(_Base):
    """A loader that tags every plain scalar as "plain": :func:`_scalar` resolves
    those itself, by the YAML 1.2 core schema. Explicit tags are kept as written."""

    def resolve(self, kind: Any, value: Any, implicit: Any) -> str:
        if kind is yaml.ScalarNode:
            return _PLAIN if implicit[0] else _STR
        if kind is yaml.SequenceNode:
            return "tag:yaml.org,2002:seq"
        return "tag:yaml.org,2002:map"


_INT = re.compile(r"[-+]?[0-9]+\Z")
_OCT = re.compile(r"0o[0-7]+\Z")
_HEX = re.compile(r"0x[0-9a-fA-F]+\Z")
_FLOAT = re.compile(r"[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?\Z")
_INF = re.compile(r"[-+]?\.(inf|Inf|INF)\Z")
_NAN = re.compile(r"\.(nan|NaN|NAN)\Z")
# '.nan', '.inf', and numbers too large for a float (1e400, 400 digits) that become inf
_MAYBE_NON_FINITE = re.compile(r"\.(?:inf|Inf|INF|nan|NaN|NAN)|[eE][-+]?[0-9]{3}|[0-9.]{300}")
_NULLS = {"", "~", "null", "Null", "NULL"}
_TRUE = {"true", "True", "TRUE"}
_FALSE = {"false", "False", "FALSE"}

_STR = "tag:yaml.org,2002:str"
_KNOWN_SCALAR_TAGS = {
    _STR,
    "tag:yaml.org,2002:int",
    "tag:yaml.org,2002:float",
    "tag:yaml.org,2002:bool",
    "tag:yaml.org,2002:null",
}


@dataclass
class Marks:
    """Where the nodes of one document are: 1-based (line, column) for any path.

    Positions are looked up lazily in the composed node tree, so reading a
    large inventory costs nothing for them until an error must be located.
    A path element ``"<key:NAME>"`` means the key node of ``NAME`` itself.
    """

    file: str
    root: yaml.Node | None = None
    non_finite: bool = True
    """The text may hold ``.nan``, ``.inf`` or a number too large for a float:
    validation then looks for them (False only when the loader saw that it cannot)."""

    def _walk(self, path: Path_) -> tuple[yaml.Node | None, bool]:
        """The deepest node along ``path`` and whether the whole path was found."""
        node = self.root
        if node is None:
            return None, False
        for part in path:
            nxt: yaml.Node | None = None
            if isinstance(node, yaml.MappingNode):
                want = part[5:-1] if isinstance(part, str) and part.startswith("<key:") else part
                for k, v in node.value:
                    if isinstance(k, yaml.ScalarNode) and _key_text(k) == want:
                        nxt = k if want is not part else v
                        break
            elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and 0 <= part < len(node.value):
                nxt = node.value[part]
            if nxt is None:
                return node, False
            node = nxt
        return node, True

    def has(self, path: Path_) -> bool:
        return self._walk(path)[1]

    def at(self, path: Path_) -> tuple[int, int]:
        """Position of ``path``, or of its nearest ancestor that exists."""
        node, _ = self._walk(path)
        if node is None:
            return (1, 1)
        return (node.start_mark.line + 1, node.start_mark.column + 1)

    def raw(self, path: Path_) -> str | None:
        """The source text of a plain scalar read as a number or boolean (``1.10``, ``25``)."""
        node, found = self._walk(path)
        if found and isinstance(node, yaml.ScalarNode) and node.tag == _PLAIN:
            try:
                value = _scalar(node)
            except ValueError:
                return None
            if value is not None and not isinstance(value, str):
                return str(node.value)
        return None

    def problem(self, path: Path_, message: str) -> Problem:
        line, col = self.at(path)
        return Problem(self.file, line, col, message)


def _key_text(node: yaml.ScalarNode) -> str:
    """A mapping key as :func:`_build` makes it: a string, or the text of any other scalar."""
    try:
        key = _scalar(node)
    except ValueError:
        return str(node.value)
    return key if isinstance(key, str) else str(node.value)


class YamlError(Exception):
    """The text is not YAML we accept; ``problem`` says where and why."""

    def __init__(self, problem: Problem) -> None:
        self.problem = problem
        super().__init__(str(problem))


def _scalar(node: yaml.ScalarNode) -> Any:
    """Resolve a scalar by the YAML 1.2 core schema; quoted and ``!!str`` stay strings."""
    value: str = node.value
    tag = node.tag
    if tag == _STR:
        return value
    if tag not in (_PLAIN, *_KNOWN_SCALAR_TAGS):
        raise ValueError(f"unsupported tag {tag!r}: policies are data, tags that build objects are refused")
    if value in _NULLS:
        if tag in (_PLAIN, "tag:yaml.org,2002:null"):
            return None
    elif value in _TRUE or value in _FALSE:
        if tag in (_PLAIN, "tag:yaml.org,2002:bool"):
            return value in _TRUE
    elif _INT.match(value) or _OCT.match(value) or _HEX.match(value):
        if tag in (_PLAIN, "tag:yaml.org,2002:int"):
            base = 16 if _HEX.match(value) else 8 if _OCT.match(value) else 10
            return int(value[2:] if base != 10 else value, base)
    elif (_FLOAT.match(value) or _INF.match(value) or _NAN.match(value)) and tag in (
        _PLAIN,
        "tag:yaml.org,2002:float",
    ):
        if _NAN.match(value):
            return math.nan
        if _INF.match(value):
            return -math.inf if value.startswith("-") else math.inf
        return float(value)
    if tag != _PLAIN:
        raise ValueError(f"{value!r} is not a valid {tag.rsplit(':', 1)[-1]}")
    return value


def plain_scalar(text: str) -> Any:
    """What ``text`` means written as a plain YAML scalar (``true``, ``25``, ``1.5``, ``on``...)."""
    return _scalar(yaml.ScalarNode(_PLAIN, text))


def _expanded_size(root: yaml.Node, limit: int, file: str) -> int:
    """How many nodes ``root`` expands to with every alias copied out, stopping past ``limit``.

    Aliased nodes are shared objects in the composed graph, so sizes are
    memoised by identity: this is linear in the text, however many times the
    aliases would multiply.
    """
    sizes: dict[int, int] = {}

    def size(node: yaml.Node, depth: int = 0) -> int:
        known = sizes.get(id(node))
        if known is not None:
            return known
        if depth > MAX_DEPTH:
            raise _problem(file, node, f"nested more than {MAX_DEPTH} levels deep; refused")
        total = 1
        if isinstance(node, yaml.SequenceNode):
            for child in node.value:
                total += size(child, depth + 1)
                if total > limit:
                    break
        elif isinstance(node, yaml.MappingNode):
            for k, v in node.value:
                total += size(k, depth + 1) + size(v, depth + 1)
                if total > limit:
                    break
        sizes[id(node)] = total
        return total

    return size(root)


_SEQ = "tag:yaml.org,2002:seq"
_MAP = "tag:yaml.org,2002:map"
_MERGE = "tag:yaml.org,2002:merge"


def _problem(file: str, node: yaml.Node, message: str) -> YamlError:
    return YamlError(Problem(file, node.start_mark.line + 1, node.start_mark.column + 1, message))


# First characters of plain scalars that may resolve to null, bool, int or float.
_MAYBE_NOT_STRING = frozenset("0123456789+-.~nNtTfF")


def _build(node: yaml.Node, file: str, depth: int = 0) -> Any:
    """Turn composed nodes into plain data (aliases were bounded before this runs)."""
    if depth > MAX_DEPTH:
        raise _problem(file, node, f"nested more than {MAX_DEPTH} levels deep; refused")
    if isinstance(node, yaml.ScalarNode):
        value = node.value
        if node.tag == _PLAIN and value and value[0] not in _MAYBE_NOT_STRING:
            return value  # fast path: a plain word can only be a string
        try:
            return _scalar(node)
        except ValueError as exc:
            raise _problem(file, node, str(exc)) from None
    if isinstance(node, yaml.SequenceNode):
        if node.tag != _SEQ:
            raise _problem(file, node, f"unsupported tag {node.tag!r}")
        return [_build(child, file, depth + 1) for child in node.value]
    if isinstance(node, yaml.MappingNode):
        if node.tag != _MAP:
            raise _problem(file, node, f"unsupported tag {node.tag!r}")
        out: dict[str, Any] = {}
        for key_node, value_node in node.value:
            if type(key_node) is not yaml.ScalarNode:
                raise _problem(file, key_node, "mapping keys must be scalars")
            if key_node.tag == _MERGE or (key_node.tag == _PLAIN and key_node.value == "<<"):
                raise _problem(file, key_node, "merge keys ('<<') are not supported")
            key = _build(key_node, file)
            key = key if isinstance(key, str) else key_node.value  # as written: 0x10 is not 16
            if key in out:
                raise _problem(file, key_node, f"duplicate key {key!r}")
            out[key] = _build(value_node, file, depth + 1)
        return out
    raise _problem(file, node, "unsupported YAML node")  # pragma: no cover


def load_yaml_text(text: str, file: str) -> list[tuple[Any, Marks]]:
    """Parse every document of ``text``; raise :class:`YamlError` on the first problem."""
    loader = _Loader(text)
    docs: list[tuple[Any, Marks]] = []
    non_finite = _MAYBE_NON_FINITE.search(text) is not None
    try:
        while loader.check_node():
            node = loader.get_node()
            marks = Marks(file, node, non_finite=non_finite)
            # Without a '*' in the text there is no alias, so nothing can multiply.
            if node is not None and "*" in text and _expanded_size(node, MAX_NODES, file) > MAX_NODES:
                mark = node.start_mark
                raise YamlError(
                    Problem(
                        file,
                        mark.line + 1,
                        mark.column + 1,
                        f"document expands to more than {MAX_NODES} nodes through aliases "
                        "(an alias bomb?); refused: aliases are bounded",
                    )
                )
            data = _build(node, file) if node is not None else None
            docs.append((data, marks))
    except yaml.MarkedYAMLError as exc:
        raise YamlError(explain(exc, text, file)) from None
    except yaml.YAMLError as exc:
        raise YamlError(Problem(file, 1, 1, f"invalid YAML: {exc}")) from None
    finally:
        loader.dispose()
    return docs


def read_bytes(path: Path, display: str | None = None) -> bytes:
    """The bytes of a YAML file; :class:`YamlError` naming the file if it cannot be read or is too large."""
    name = display or str(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise YamlError(Problem(name, 1, 1, f"cannot read file: {exc.strerror or exc}")) from None
    if len(raw) > MAX_BYTES:
        raise YamlError(Problem(name, 1, 1, f"file is larger than {MAX_BYTES} bytes"))
    return raw


def load_yaml_bytes(raw: bytes, name: str) -> list[tuple[Any, Marks]]:
    """Parse the bytes of a YAML file read from ``name``: UTF-8 (with or without a BOM), or
    UTF-16/UTF-32 with a BOM, as YAML allows (Windows PowerShell 5 writes UTF-16 by default)."""
    if raw.startswith((b"\xff\xfe\x00\x00", b"\x00\x00\xfe\xff")):
        encoding = "utf-32"
    elif raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        encoding = "utf-16"
    else:
        encoding = "utf-8-sig"
    try:
        text = raw.decode(encoding)
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].decode(encoding, "replace").count("\n") + 1
        shown = "UTF-8" if encoding == "utf-8-sig" else encoding.upper()
        raise YamlError(Problem(name, line, 1, f"file is not valid {shown}")) from None
    return load_yaml_text(text, name)


def load_yaml(path: Path, display: str | None = None) -> list[tuple[Any, Marks]]:
    """Read a YAML file; raise :class:`YamlError` naming the file on any problem."""
    return load_yaml_bytes(read_bytes(path, display), display or str(path))
