"""One ``registry`` check's parameters, read once and reused for every target.

A scan evaluates the same rule on thousands of targets; :func:`spec` turns
the (already schema-validated) parameters into a :class:`CheckSpec` once and
remembers it by the identity of the parameters mapping.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NamedTuple

from plugins.registry import keys as regkeys
from plugins.registry.rule_schema import OPERATORS


class CheckSpec(NamedTuple):
    key: str
    """The key as the rule writes it (used in messages)."""
    norm: str | None
    """Normalised key (None: unknown hive or an empty key name)."""
    long_key: str
    """The key with its hive spelled long (evidence, placeholders, fixes)."""
    value: str | None
    vid: str | None
    """Normalised value name (None: the check is about the key)."""
    required_type: str | None
    operator: str | None
    operand: Any
    when_missing: str
    fields: dict[str | None, Mapping[str, Any]]
    """Placeholder fields by the type found (memo; see :func:`plugins.registry.judge.evaluate`)."""
    verdicts: dict[tuple[str, str, Any], tuple[Any, str]]
    """``(language, type found, data) -> (status, message)`` for data seen before (memo; the message
    is in that language)."""


_cache: dict[int, tuple[Mapping[str, Any], CheckSpec]] = {}


def spec(params: Mapping[str, Any]) -> CheckSpec:
    """The :class:`CheckSpec` of ``params`` (cached while the mapping lives)."""
    hit = _cache.get(id(params))
    if hit is not None and hit[0] is params:
        return hit[1]
    key = str(params["key"])
    value = params.get("value")
    op = next((o for o in OPERATORS if o in params), None)
    made = CheckSpec(
        key=key,
        norm=regkeys.normalise(key),
        long_key=regkeys.long_form(key),
        value=value,
        vid=None if value is None else regkeys.value_id(value),
        required_type=params.get("type"),
        operator=op,
        operand=params[op] if op else None,
        when_missing=params.get("when_missing", "fail"),
        fields={},
        verdicts={},
    )
    if len(_cache) > 4096:
        _cache.clear()
    _cache[id(params)] = (params, made)
    return made
