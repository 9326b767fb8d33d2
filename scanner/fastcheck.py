"""A fast "is this valid?" for the common subset of JSON Schema.

jsonschema is thorough but slow (hundreds of microseconds for a small
``oneOf``): validating a 10,000-target inventory took seconds. Valid input is
the normal case, so :func:`fast_valid` answers "certainly valid" for documents
that only need the keywords below, and the caller falls back to jsonschema to
find the errors (with their positions) whenever it says anything else.

It is conservative by construction: any keyword it does not implement makes it
return ``None`` ("don't know"), never ``True``. It must never accept what
jsonschema rejects; ``tests/test_fastcheck.py`` checks that on many schemas and
documents.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

_ANNOTATIONS = frozenset(
    {"$schema", "$id", "$comment", "title", "description", "default", "examples", "deprecated", "readOnly", "writeOnly"}
)


class _Unsupported(Exception):
    pass


def _is_type(value: Any, name: str) -> bool:
    if name == "object":
        return isinstance(value, dict)
    if name == "array":
        return isinstance(value, list)
    if name == "string":
        return isinstance(value, str)
    if name == "boolean":
        return isinstance(value, bool)
    if name == "null":
        return value is None
    if isinstance(value, bool):
        return False
    if name == "integer":
        return isinstance(value, int) or (isinstance(value, float) and value.is_integer())
    if name == "number":
        return isinstance(value, (int, float))
    raise _Unsupported(name)


def _equal(a: Any, b: Any) -> bool:
    """JSON equality: booleans are not numbers, containers compare deeply."""
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_equal(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_equal(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return a == b
    return type(a) is type(b) and a == b


_Check = Callable[[Any], bool]


class _Compiler:
    """Turns a schema into one Python closure per keyword, once; checking a value then
    calls closures instead of walking the schema dictionary again (a 10,000-target
    inventory checks the same target schema ten thousand times)."""

    def __init__(self, root: Mapping[str, Any], formats: Mapping[str, Callable[[Any], bool]]) -> None:
        self.root = root
        self.formats = formats
        self.refs: dict[str, _Check] = {}

    def compile(self, schema: Any) -> _Check:
        if schema is True or (isinstance(schema, Mapping) and not schema):
            return _always
        if schema is False:
            return _never
        if not isinstance(schema, Mapping):
            raise _Unsupported("schema")
        checks: list[_Check] = []
        for key, arg in schema.items():
            if key in _ANNOTATIONS or key == "$defs":
                continue
            make = getattr(self, "k_" + key.lstrip("$"), None)
            if make is None:
                raise _Unsupported(key)
            checks.append(make(arg, schema))
        if len(checks) == 1:
            return checks[0]
        return _every(checks)

    # ---- keywords: each returns a check of one value
    def k_ref(self, ref: str, _: Any) -> _Check:
        if not ref.startswith("#/"):
            raise _Unsupported(ref)
        compiled = self.refs.get(ref)
        if compiled is not None:
            return compiled
        box: list[_Check] = []

        def check(value: Any) -> bool:  # resolved after compiling, so a schema may refer to itself
            return box[0](value)

        self.refs[ref] = check
        node: Any = self.root
        for part in ref[2:].split("/"):
            node = node[part.replace("~1", "/").replace("~0", "~")]
        box.append(self.compile(node))
        return check

    def k_type(self, arg: Any, _: Any) -> _Check:
        names = [arg] if isinstance(arg, str) else list(arg)
        for name in names:
            if name not in _TYPE_CHECKS:
                raise _Unsupported(name)
        checks = [_TYPE_CHECKS[name] for name in names]
        if len(checks) == 1:
            return checks[0]
        return lambda value: any(check(value) for check in checks)

    def k_enum(self, arg: Any, _: Any) -> _Check:
        options = list(arg)
        return lambda value: any(_equal(value, x) for x in options)

    def k_const(self, arg: Any, _: Any) -> _Check:
        return lambda value: _equal(value, arg)

    def k_properties(self, arg: Any, _: Any) -> _Check:
        props = [(k, self.compile(s)) for k, s in arg.items()]

        def check(value: Any) -> bool:
            if not isinstance(value, dict):
                return True
            for k, sub in props:  # noqa: SIM110 - a plain loop: this runs for every node
                if k in value and not sub(value[k]):
                    return False
            return True

        return check

    def k_required(self, arg: Any, _: Any) -> _Check:
        names = list(arg)
        return lambda value: not isinstance(value, dict) or all(k in value for k in names)

    def k_additionalProperties(self, arg: Any, schema: Any) -> _Check:
        if "patternProperties" in schema:
            raise _Unsupported("patternProperties")
        known = frozenset(schema.get("properties", {}))
        if arg is False:
            return lambda value: not isinstance(value, dict) or known.issuperset(value)
        sub = self.compile(arg)
        return lambda value: not isinstance(value, dict) or all(sub(v) for k, v in value.items() if k not in known)

    def k_dependentRequired(self, arg: Any, _: Any) -> _Check:
        deps = list(arg.items())
        return lambda value: (
            not isinstance(value, dict) or all(all(d in value for d in needed) for k, needed in deps if k in value)
        )

    def k_dependentSchemas(self, arg: Any, _: Any) -> _Check:
        deps = [(k, self.compile(s)) for k, s in arg.items()]
        return lambda value: not isinstance(value, dict) or all(sub(value) for k, sub in deps if k in value)

    def k_propertyNames(self, arg: Any, _: Any) -> _Check:
        sub = self.compile(arg)
        return lambda value: not isinstance(value, dict) or all(sub(k) for k in value)

    def k_minProperties(self, arg: Any, _: Any) -> _Check:
        return lambda value: not isinstance(value, dict) or len(value) >= arg

    def k_maxProperties(self, arg: Any, _: Any) -> _Check:
        return lambda value: not isinstance(value, dict) or len(value) <= arg

    def k_items(self, arg: Any, schema: Any) -> _Check:
        if "prefixItems" in schema:
            raise _Unsupported("prefixItems")
        sub = self.compile(arg)
        return lambda value: not isinstance(value, list) or all(sub(v) for v in value)

    def k_minItems(self, arg: Any, _: Any) -> _Check:
        return lambda value: not isinstance(value, list) or len(value) >= arg

    def k_maxItems(self, arg: Any, _: Any) -> _Check:
        return lambda value: not isinstance(value, list) or len(value) <= arg

    def k_uniqueItems(self, arg: Any, _: Any) -> _Check:
        if not arg:
            return _always
        return lambda value: (
            not isinstance(value, list) or all(not _equal(a, b) for i, a in enumerate(value) for b in value[i + 1 :])
        )

    def k_minLength(self, arg: Any, _: Any) -> _Check:
        return lambda value: not isinstance(value, str) or len(value) >= arg

    def k_maxLength(self, arg: Any, _: Any) -> _Check:
        return lambda value: not isinstance(value, str) or len(value) <= arg

    def k_pattern(self, arg: str, _: Any) -> _Check:
        search = re.compile(arg).search
        return lambda value: not isinstance(value, str) or search(value) is not None

    def k_format(self, arg: str, _: Any) -> _Check:
        check = self.formats.get(arg)
        if check is None:
            raise _Unsupported(arg)
        return check

    # Bounds are written as jsonschema writes them ("fails when below"), so NaN, which
    # compares false with everything, is judged alike; validation refuses NaN on its own.
    def k_minimum(self, arg: Any, _: Any) -> _Check:
        return lambda value: not _is_number(value) or not value < arg

    def k_maximum(self, arg: Any, _: Any) -> _Check:
        return lambda value: not _is_number(value) or not value > arg

    def k_exclusiveMinimum(self, arg: Any, _: Any) -> _Check:
        return lambda value: not _is_number(value) or not value <= arg

    def k_exclusiveMaximum(self, arg: Any, _: Any) -> _Check:
        return lambda value: not _is_number(value) or not value >= arg

    def k_allOf(self, arg: Any, _: Any) -> _Check:
        return _every([self.compile(s) for s in arg])

    def k_anyOf(self, arg: Any, _: Any) -> _Check:
        subs = [self.compile(s) for s in arg]
        return lambda value: any(sub(value) for sub in subs)

    def k_oneOf(self, arg: Any, _: Any) -> _Check:
        subs = [self.compile(s) for s in arg]
        return lambda value: sum(1 for sub in subs if sub(value)) == 1

    def k_not(self, arg: Any, _: Any) -> _Check:
        sub = self.compile(arg)
        return lambda value: not sub(value)

    def k_if(self, arg: Any, schema: Any) -> _Check:
        """``if``/``then``/``else``: exact because every compiled check is (True iff valid)."""
        test = self.compile(arg)
        then = self.compile(schema.get("then", True))
        other = self.compile(schema.get("else", True))
        return lambda value: then(value) if test(value) else other(value)

    def k_then(self, _arg: Any, _schema: Any) -> _Check:
        return _always  # judged by k_if; without an ``if`` it has no effect

    def k_else(self, _arg: Any, _schema: Any) -> _Check:
        return _always


def _every(checks: list[_Check]) -> _Check:
    def check(value: Any) -> bool:
        for one in checks:  # noqa: SIM110 - a plain loop: no generator per node checked
            if not one(value):
                return False
        return True

    return check


def _always(_value: Any) -> bool:
    return True


def _never(_value: Any) -> bool:
    return False


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


_TYPE_CHECKS: dict[str, _Check] = {
    "object": lambda value: isinstance(value, dict),
    "array": lambda value: isinstance(value, list),
    "string": lambda value: isinstance(value, str),
    "boolean": lambda value: isinstance(value, bool),
    "null": lambda value: value is None,
    "integer": lambda value: _is_type(value, "integer"),
    "number": _is_number,
}

_compiled: dict[tuple[int, int], tuple[Any, Any, _Check | None]] = {}


def _checker(schema: Mapping[str, Any], formats: Mapping[str, Callable[[Any], bool]]) -> _Check | None:
    """The compiled check of ``schema`` (None: it uses something unsupported), remembered
    while the schema and format objects live (the cache holds them, so ids are not reused)."""
    key = (id(schema), id(formats))
    hit = _compiled.get(key)
    if hit is not None and hit[0] is schema and hit[1] is formats:
        return hit[2]
    try:
        check: _Check | None = _Compiler(schema, formats).compile(schema)
    except (_Unsupported, KeyError, TypeError, re.error):
        check = None
    if len(_compiled) > 256:
        _compiled.clear()
    _compiled[key] = (schema, formats, check)
    return check


def fast_valid(
    schema: Mapping[str, Any], value: Any, formats: Mapping[str, Callable[[Any], bool]] | None = None
) -> bool | None:
    """True when ``value`` is certainly valid; False when certainly not; None when unsure."""
    check = _checker(schema, formats if formats is not None else _NO_FORMATS)
    if check is None:
        return None
    try:
        return check(value)
    except (KeyError, TypeError, re.error):
        return None


_NO_FORMATS: Mapping[str, Callable[[Any], bool]] = {}
