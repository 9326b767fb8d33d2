"""Judging one ``registry`` check against a target's facts (see :mod:`plugins.registry.facts`).

Order of judgement: facts that could not be collected -> ``error``; a key
outside every exported branch -> ``error`` ("not covered by the export"); a
missing key or value -> ``exists`` decides, else ``when_missing``
(``fail``/``pass``/``skip``); a value of another type than ``type`` -> ``fail``;
then the operator. Comparisons follow the data representation of
:mod:`plugins.registry.values`: integers for DWORD/QWORD (an operand written
as text such as ``"1"`` or ``"0x1"`` counts as that number), strings for
SZ/EXPAND_SZ (compared exactly), lists for MULTI_SZ, lower-case hex for the
rest (an operand may use upper case, commas or spaces). ``matches`` searches
with RE2; for a MULTI_SZ it passes when any string matches.

Evidence is one object with exactly: ``source``, ``key`` (the rule's key with
the hive spelled long), ``value``, ``type`` (found; null when missing),
``operator``, ``required_type``, ``expected``, ``combinator``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from plugins.registry.checkspec import CheckSpec, spec
from scanner.api import EvalContext, Outcome, Status

_NO = object()
_regexes: dict[str, Any] = {}


def show(data: Any) -> str:
    """How a value's data is written in messages: numbers bare, the rest as JSON."""
    if isinstance(data, int) and not isinstance(data, bool):
        return str(data)
    return json.dumps(data, ensure_ascii=False)


def evaluate(params: Mapping[str, Any], facts: Any, ctx: EvalContext) -> Outcome:
    """The outcome of one ``registry`` check on one target's facts."""
    c = spec(params)
    status, message, actual, source, found = _judge(c, facts)
    evidence = {
        "source": source, "key": c.long_key, "value": c.value, "type": found, "operator": c.operator,
        "required_type": c.required_type, "expected": c.operand, "combinator": ctx.combinator,
    }
    fields = c.fields.get(found)
    if fields is None:  # the same few mappings serve every target (outcomes are read-only)
        fields = c.fields[found] = {
            "key": c.long_key, "value": c.value, "type": c.required_type or found, "operator": c.operator,
        }
    return Outcome(status, message, c.operand, actual, (evidence,), fields, {"source": source})


#: What :func:`_judge` decides: status, message, actual, evidence source, type found.
_Verdict = tuple[Status, str, Any, "str | None", "str | None"]


def _judge(c: CheckSpec, facts: Any) -> _Verdict:
    key, value, operand = c.key, c.value, c.operand
    if (type(facts) is not dict and not isinstance(facts, Mapping)) or facts.get("error"):
        if not isinstance(facts, Mapping):
            return Status.ERROR, "no registry facts", None, None, None
        return Status.ERROR, str(facts["error"]), None, facts.get("error_source"), None
    if c.norm is None:
        return Status.ERROR, f"unknown hive in key {key}", None, None, None
    entry = facts["keys"].get(c.norm)
    if entry is None:
        return Status.ERROR, f"no facts were collected for {key} (collect again with this policy)", None, None, None
    source = entry["source"]
    if entry.get("error"):
        return Status.ERROR, entry["error"], None, source, None
    if not entry["covered"] and (value is not None or not entry["exists"]):
        files = ", ".join(facts.get("files") or ()) or "the export"
        return Status.ERROR, f"{key} is not covered by the export ({files})", None, source, None

    if value is None:
        exists = entry["exists"]
        if c.operator == "exists":
            state = "exists" if exists else "is missing"
            if exists is operand:
                return Status.PASS, f"key {key} {state}", exists or None, source, None
            want = "exist" if operand else "be absent"
            return Status.FAIL, f"key {key} {state}, expected it to {want}", exists or None, source, None
        if exists:
            return Status.PASS, f"key {key} exists", True, source, None
        return (*_missing(c.when_missing, f"key {key} is missing"), None, source, None)

    item = entry["values"].get(c.vid)
    if item is None:
        what = f"value {value} is missing under {key}" if entry["exists"] else f"key {key} is missing"
        if c.operator == "exists":
            if operand is False:
                return Status.PASS, f"{what}, as required", None, source, None
            return Status.FAIL, what, None, source, None
        return (*_missing(c.when_missing, what), None, source, None)

    source, found, actual = item["source"], item["type"], item["data"]
    kind = type(actual)
    if kind is int or kind is str:  # a fleet has few distinct values per check: judge each once
        memo = (found, actual)
        verdict = c.verdicts.get(memo)
        if verdict is None:
            verdict = _judge_value(c, found, actual)
            if len(c.verdicts) < _MAX_VERDICTS:
                c.verdicts[memo] = verdict
        return verdict[0], verdict[1], actual, source, found
    status, message = _judge_value(c, found, actual)
    return status, message, actual, source, found


_MAX_VERDICTS = 4096


def _judge_value(c: CheckSpec, found: str, actual: Any) -> tuple[Status, str]:
    """Status and message for a value that exists, from its type and data alone."""
    value, operand = c.value, c.operand
    shown = show(actual)
    if c.operator == "exists" and operand is False:
        return Status.FAIL, f"{value} exists ({found} {shown}), expected it to be absent"
    if c.required_type is not None and found != c.required_type:
        return Status.FAIL, f"{value}: type is {found}, expected {c.required_type}"
    if c.operator == "exists":
        return Status.PASS, f"{value} exists ({found} {shown})"
    if c.operator is None:
        return Status.PASS, f"{value} is {shown}"
    verdict, wanted = _compare(c.operator, actual, operand, found)
    if verdict is None:
        return Status.ERROR, f"{value}: {wanted}"
    if verdict:
        return Status.PASS, f"{value} is {shown} (required: {wanted})"
    return Status.FAIL, f"{value} is {shown}, expected {wanted}"


def _missing(mode: str, what: str) -> tuple[Status, str]:
    if mode == "pass":
        return Status.PASS, f"{what} (when_missing: pass)"
    if mode == "skip":
        return Status.SKIP, f"{what} (when_missing: skip)"
    return Status.FAIL, what


def _coerce(actual: Any, operand: Any, type_: str) -> Any:
    """``operand`` in the domain of ``actual``, or ``_NO`` when it cannot be compared."""
    if isinstance(operand, bool):
        return _NO
    if isinstance(actual, int):
        if isinstance(operand, int):
            return operand
        if isinstance(operand, str):
            text = operand.strip().lower()
            try:
                return int(text, 16) if text.startswith("0x") else int(text, 10)
            except ValueError:
                return _NO
        return _NO
    if isinstance(actual, list):
        return operand if isinstance(operand, list) else _NO
    if isinstance(operand, int):
        return str(operand)
    if not isinstance(operand, str):
        return _NO
    if type_ in ("REG_SZ", "REG_EXPAND_SZ"):
        return operand
    return operand.lower().replace(",", "").replace(" ", "")


def _equals(actual: Any, operand: Any, type_: str) -> bool:
    other = _coerce(actual, operand, type_)
    return other is not _NO and actual == other


def _compare(op: str, actual: Any, operand: Any, type_: str) -> tuple[bool | None, str]:
    """``(verdict, what was required)``; verdict None when the check cannot be carried out."""
    if op == "equals":
        return _equals(actual, operand, type_), show(operand)
    if op == "not_equals":
        return not _equals(actual, operand, type_), f"anything but {show(operand)}"
    if op in ("in", "not_in"):
        hit = any(_equals(actual, o, type_) for o in operand)
        return hit == (op == "in"), f"{'one' if op == 'in' else 'none'} of {show(operand)}"
    if op in ("min", "max"):
        bound = _coerce(0, operand, "REG_DWORD")
        want = f"at {'least' if op == 'min' else 'most'} {show(operand)}"
        if bound is _NO:
            return None, f"{op} {show(operand)} is not a number"
        if not isinstance(actual, int):
            return False, f"a number {want}"
        return (actual >= bound if op == "min" else actual <= bound), want
    if op == "matches":
        want = f"a match for {show(operand)}"
        regex = _regex(operand)
        if regex is None:
            return None, f"invalid regex {show(operand)}"
        texts = actual if isinstance(actual, list) else [show(actual) if isinstance(actual, int) else actual]
        return any(regex.search(t) is not None for t in texts), want
    return None, f"unknown operator {op}"


def _regex(pattern: str) -> Any:
    regex = _regexes.get(pattern)
    if regex is None:
        import re2

        try:
            regex = re2.compile(pattern)
        except Exception:  # re2 raises its own error type; the policy loader reports it first
            return None
        _regexes[pattern] = regex
    return regex
