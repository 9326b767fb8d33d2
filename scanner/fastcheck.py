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


class _Checker:
    def __init__(self, root: Mapping[str, Any], formats: Mapping[str, Callable[[Any], bool]]) -> None:
        self.root = root
        self.formats = formats
        self.patterns: dict[str, re.Pattern[str]] = {}

    def ok(self, schema: Any, value: Any) -> bool:
        if schema is True or schema == {}:
            return True
        if schema is False:
            return False
        if not isinstance(schema, Mapping):
            raise _Unsupported("schema")
        for key, arg in schema.items():
            if key in _ANNOTATIONS or key == "$defs":
                continue
            check = getattr(self, "k_" + key.lstrip("$"), None)
            if check is None:
                raise _Unsupported(key)
            if not check(arg, value, schema):
                return False
        return True

    # ---- keywords
    def k_ref(self, ref: str, value: Any, _: Any) -> bool:
        if not ref.startswith("#/"):
            raise _Unsupported(ref)
        node: Any = self.root
        for part in ref[2:].split("/"):
            node = node[part.replace("~1", "/").replace("~0", "~")]
        return self.ok(node, value)

    def k_type(self, arg: Any, value: Any, _: Any) -> bool:
        return any(_is_type(value, t) for t in ([arg] if isinstance(arg, str) else arg))

    def k_enum(self, arg: Any, value: Any, _: Any) -> bool:
        return any(_equal(value, x) for x in arg)

    def k_const(self, arg: Any, value: Any, _: Any) -> bool:
        return _equal(value, arg)

    def k_properties(self, arg: Any, value: Any, _: Any) -> bool:
        return not isinstance(value, dict) or all(self.ok(s, value[k]) for k, s in arg.items() if k in value)

    def k_required(self, arg: Any, value: Any, _: Any) -> bool:
        return not isinstance(value, dict) or all(k in value for k in arg)

    def k_additionalProperties(self, arg: Any, value: Any, schema: Any) -> bool:
        if not isinstance(value, dict):
            return True
        if "patternProperties" in schema:
            raise _Unsupported("patternProperties")
        known = schema.get("properties", {})
        return all(self.ok(arg, v) for k, v in value.items() if k not in known)

    def k_dependentRequired(self, arg: Any, value: Any, _: Any) -> bool:
        return not isinstance(value, dict) or all(
            all(d in value for d in deps) for k, deps in arg.items() if k in value
        )

    def k_dependentSchemas(self, arg: Any, value: Any, _: Any) -> bool:
        return not isinstance(value, dict) or all(self.ok(s, value) for k, s in arg.items() if k in value)

    def k_propertyNames(self, arg: Any, value: Any, _: Any) -> bool:
        return not isinstance(value, dict) or all(self.ok(arg, k) for k in value)

    def k_minProperties(self, arg: Any, value: Any, _: Any) -> bool:
        return not isinstance(value, dict) or len(value) >= arg

    def k_maxProperties(self, arg: Any, value: Any, _: Any) -> bool:
        return not isinstance(value, dict) or len(value) <= arg

    def k_items(self, arg: Any, value: Any, schema: Any) -> bool:
        if "prefixItems" in schema:
            raise _Unsupported("prefixItems")
        return not isinstance(value, list) or all(self.ok(arg, v) for v in value)

    def k_minItems(self, arg: Any, value: Any, _: Any) -> bool:
        return not isinstance(value, list) or len(value) >= arg

    def k_maxItems(self, arg: Any, value: Any, _: Any) -> bool:
        return not isinstance(value, list) or len(value) <= arg

    def k_uniqueItems(self, arg: Any, value: Any, _: Any) -> bool:
        if not arg or not isinstance(value, list):
            return True
        return all(not _equal(a, b) for i, a in enumerate(value) for b in value[i + 1 :])

    def k_minLength(self, arg: Any, value: Any, _: Any) -> bool:
        return not isinstance(value, str) or len(value) >= arg

    def k_maxLength(self, arg: Any, value: Any, _: Any) -> bool:
        return not isinstance(value, str) or len(value) <= arg

    def k_pattern(self, arg: str, value: Any, _: Any) -> bool:
        if not isinstance(value, str):
            return True
        compiled = self.patterns.get(arg)
        if compiled is None:
            compiled = self.patterns[arg] = re.compile(arg)
        return compiled.search(value) is not None

    def k_format(self, arg: str, value: Any, _: Any) -> bool:
        check = self.formats.get(arg)
        if check is None:
            raise _Unsupported(arg)
        return check(value)

    def _num(self, value: Any) -> bool:
        return isinstance(value, (int, float)) and not isinstance(value, bool)

    def k_minimum(self, arg: Any, value: Any, _: Any) -> bool:
        return not self._num(value) or value >= arg

    def k_maximum(self, arg: Any, value: Any, _: Any) -> bool:
        return not self._num(value) or value <= arg

    def k_exclusiveMinimum(self, arg: Any, value: Any, _: Any) -> bool:
        return not self._num(value) or value > arg

    def k_exclusiveMaximum(self, arg: Any, value: Any, _: Any) -> bool:
        return not self._num(value) or value < arg

    def k_allOf(self, arg: Any, value: Any, _: Any) -> bool:
        return all(self.ok(s, value) for s in arg)

    def k_anyOf(self, arg: Any, value: Any, _: Any) -> bool:
        return any(self.ok(s, value) for s in arg)

    def k_oneOf(self, arg: Any, value: Any, _: Any) -> bool:
        return sum(1 for s in arg if self.ok(s, value)) == 1

    def k_not(self, arg: Any, value: Any, _: Any) -> bool:
        return not self.ok(arg, value)


def fast_valid(
    schema: Mapping[str, Any], value: Any, formats: Mapping[str, Callable[[Any], bool]] | None = None
) -> bool | None:
    """True when ``value`` is certainly valid; False when certainly not; None when unsure."""
    try:
        return _Checker(schema, formats or {}).ok(schema, value)
    except _Unsupported:
        return None
    except (KeyError, TypeError, re.error):
        return None
