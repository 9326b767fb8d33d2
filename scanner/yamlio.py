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
from collections.abc import Hashable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import yaml

from scanner.errors import Problem

MAX_NODES = 200_000
"""How many nodes one document may expand to, aliases included."""

MAX_BYTES = 16 * 1024 * 1024

_Base: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when built with it

Path_ = tuple[str | int, ...]


_PLAIN = "tag:policyscan,2026:plain"


class _Loader(_Base):
    """A loader that tags every plain scalar as "plain": :func:`_scalar` resolves
    those itself, by the YAML 1.2 core schema."""

    yaml_implicit_resolvers: ClassVar[dict[Any, list[Any]]] = {}


_Loader.add_implicit_resolver(_PLAIN, re.compile(r".*", re.S), None)
_Loader.add_implicit_resolver(_PLAIN, re.compile(r"\Z"), [""])


_INT = re.compile(r"[-+]?[0-9]+\Z")
_OCT = re.compile(r"0o[0-7]+\Z")
_HEX = re.compile(r"0x[0-9a-fA-F]+\Z")
_FLOAT = re.compile(r"[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?\Z")
_INF = re.compile(r"[-+]?\.(inf|Inf|INF)\Z")
_NAN = re.compile(r"\.(nan|NaN|NAN)\Z")
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
    """Positions (1-based line and column) of the nodes of one document."""

    file: str
    positions: dict[Path_, tuple[int, int]] = field(default_factory=dict)
    raw: dict[Path_, str] = field(default_factory=dict)
    """The source text of plain scalars that were read as numbers or booleans."""

    def at(self, path: Path_) -> tuple[int, int]:
        """Position of ``path``, or of its nearest ancestor that has one."""
        p = tuple(path)
        while p:
            if p in self.positions:
                return self.positions[p]
            p = p[:-1]
        return self.positions.get((), (1, 1))

    def problem(self, path: Path_, message: str) -> Problem:
        line, col = self.at(path)
        return Problem(self.file, line, col, message)


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


def _expanded_size(root: yaml.Node, limit: int) -> int:
    """How many nodes ``root`` expands to with every alias copied out, stopping past ``limit``.

    Aliased nodes are shared objects in the composed graph, so sizes are
    memoised by identity: this is linear in the text, however many times the
    aliases would multiply.
    """
    sizes: dict[int, int] = {}

    def size(node: yaml.Node) -> int:
        known = sizes.get(id(node))
        if known is not None:
            return known
        total = 1
        if isinstance(node, yaml.SequenceNode):
            for child in node.value:
                total += size(child)
                if total > limit:
                    break
        elif isinstance(node, yaml.MappingNode):
            for k, v in node.value:
                total += size(k) + size(v)
                if total > limit:
                    break
        sizes[id(node)] = total
        return total

    return size(root)


class _Builder:
    def __init__(self, marks: Marks) -> None:
        self.marks = marks
        self.count = 0

    def build(self, node: yaml.Node, path: Path_) -> Any:
        self.count += 1
        if self.count > MAX_NODES:
            raise YamlError(
                self._problem(
                    node,
                    f"document expands to more than {MAX_NODES} nodes through aliases "
                    "(an alias bomb?); aliases are bounded",
                )
            )
        if path not in self.marks.positions:
            self.marks.positions[path] = (node.start_mark.line + 1, node.start_mark.column + 1)
        if isinstance(node, yaml.ScalarNode):
            try:
                value = _scalar(node)
            except ValueError as exc:
                raise YamlError(self._problem(node, str(exc))) from None
            if not isinstance(value, str) and node.tag == _PLAIN and value is not None:
                self.marks.raw[path] = node.value
            return value
        if isinstance(node, yaml.SequenceNode):
            self._check_tag(node, "tag:yaml.org,2002:seq")
            return [self.build(child, (*path, i)) for i, child in enumerate(node.value)]
        if isinstance(node, yaml.MappingNode):
            self._check_tag(node, "tag:yaml.org,2002:map")
            out: dict[Hashable, Any] = {}
            for key_node, value_node in node.value:
                if key_node.tag == "tag:yaml.org,2002:merge" or (key_node.tag == _PLAIN and key_node.value == "<<"):
                    raise YamlError(self._problem(key_node, "merge keys ('<<') are not supported"))
                key = self.build(key_node, (*path, "<key>"))
                key_pos = self.marks.positions.pop((*path, "<key>"))
                self.marks.positions.setdefault((*path, f"<key:{key}>"), key_pos)
                if isinstance(key, (list, dict)):
                    raise YamlError(self._problem(key_node, "mapping keys must be scalars"))
                key = key if isinstance(key, str) else str(key)
                if key in out:
                    raise YamlError(self._problem(key_node, f"duplicate key {key!r}"))
                out[key] = self.build(value_node, (*path, key))
            return out
        raise YamlError(self._problem(node, "unsupported YAML node"))  # pragma: no cover

    def _check_tag(self, node: yaml.Node, expected: str) -> None:
        if node.tag != expected:
            raise YamlError(self._problem(node, f"unsupported tag {node.tag!r}"))

    def _problem(self, node: yaml.Node, message: str) -> Problem:
        return Problem(self.marks.file, node.start_mark.line + 1, node.start_mark.column + 1, message)


def load_yaml_text(text: str, file: str) -> list[tuple[Any, Marks]]:
    """Parse every document of ``text``; raise :class:`YamlError` on the first problem."""
    loader = _Loader(text)
    docs: list[tuple[Any, Marks]] = []
    try:
        while loader.check_node():
            node = loader.get_node()
            marks = Marks(file)
            if node is not None and _expanded_size(node, MAX_NODES) > MAX_NODES:
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
            data = _Builder(marks).build(node, ()) if node is not None else None
            docs.append((data, marks))
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        what = " ".join(str(x) for x in (exc.context, exc.problem) if x)
        raise YamlError(Problem(file, line, col, f"invalid YAML: {what}")) from None
    except yaml.YAMLError as exc:
        raise YamlError(Problem(file, 1, 1, f"invalid YAML: {exc}")) from None
    finally:
        loader.dispose()
    return docs


def load_yaml(path: Path, display: str | None = None) -> list[tuple[Any, Marks]]:
    """Read a YAML file; raise :class:`YamlError` naming the file on any problem."""
    name = display or str(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise YamlError(Problem(name, 1, 1, f"cannot read file: {exc.strerror or exc}")) from None
    if len(raw) > MAX_BYTES:
        raise YamlError(Problem(name, 1, 1, f"file is larger than {MAX_BYTES} bytes"))
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise YamlError(Problem(name, line, 1, "file is not valid UTF-8")) from None
    return load_yaml_text(text, name)
