"""What ``policyscan fix`` can set: the failed ``registry`` results of a JSON report, turned into values.

A result is *fixable* when its status is ``fail``, its check type is
``registry``, and every evidence item names a value and an operator with
exactly one value that satisfies it: ``equals``, or ``in`` with a single
operand. Under a combinator only ``all`` qualifies (setting every child
makes the ``all`` pass); a rule whose evidence sits under ``any`` or ``not``
is refused, because which child to change is a choice the policy did not
make. (Evidence names only the innermost combinator: for ``not: {all: [...]}``
the children already hold their values when the rule fails, so writing them
again changes nothing; the rule stays listed as failed in the next scan.)

Refused, with the reason (each is listed by ``fix``, which then exits 1):
``not_equals``, ``not_in``, ``min``, ``max``, ``matches``, ``exists``, ``in``
with several operands, a key check (no value), ``error`` results, other check
types, an operand of no registry kind, a type the operand cannot have, and two
rules that want different data or types for one value, and a value whose new
data would make a rule that passes now fail (its evidence is judged again with
:func:`plugins.registry.compare.compare`). ``waived`` results are
never fixed (the waiver accepts them as they are) and are mentioned, not counted.

The type written (:func:`choose_type`): the rule's ``type`` when it gives one;
else the type found on the host, when the operand can be written as that
type (a DWORD found and an integer operand: DWORD again); else the operand's
own kind: an integer is REG_DWORD (REG_QWORD above 2**32-1), a string REG_SZ,
a list of strings REG_MULTI_SZ. Writable types: REG_DWORD, REG_QWORD, REG_SZ,
REG_EXPAND_SZ, REG_MULTI_SZ, REG_BINARY (a hex-digit operand).

Everything comes from the report, which may have been edited by anyone:
field shapes are checked and a result that does not look like registry
evidence is refused, never guessed at.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from plugins.registry import keys as regkeys
from plugins.registry.compare import compare, show

#: Types ``fix`` can write, by the operand kind each accepts.
WRITABLE = {
    "REG_DWORD": "number", "REG_QWORD": "number",
    "REG_SZ": "text", "REG_EXPAND_SZ": "text", "REG_BINARY": "text",
    "REG_MULTI_SZ": "strings",
}
_HEXDIGITS = frozenset("0123456789abcdefABCDEF")

Data = int | str | tuple[str, ...] | bytes


@dataclass(frozen=True, slots=True)
class Change:
    """One value to set on one target."""

    target: str
    hive: str
    """The hive, spelled long (``HKEY_LOCAL_MACHINE``)."""
    path: str
    """The key below the hive, as the rule writes it (``SYSTEM\\...\\Client``)."""
    name: str
    """The value name; ``""`` is the key's default value (a rule's ``@``)."""
    type: str
    data: Data
    """int for DWORD/QWORD, str for SZ/EXPAND_SZ, tuple of str for MULTI_SZ, bytes for BINARY."""
    rules: tuple[str, ...]
    """``policy/rule`` of every rule this change serves."""

    @property
    def key(self) -> str:
        return f"{self.hive}\\{self.path}"

    def shown(self) -> str:
        """The data as a person reads it (numbers bare, the rest as JSON, bytes as hex)."""
        if isinstance(self.data, bytes):
            return self.data.hex()
        return show(list(self.data) if isinstance(self.data, tuple) else self.data)


@dataclass(frozen=True, slots=True)
class Unfixed:
    """A failed result ``fix`` does not turn into a change (or not entirely), and why."""

    target: str
    rule: str
    """``policy/rule``."""
    reason: str
    remediation: str = ""


@dataclass(slots=True)
class Plan:
    """Changes by target (targets and changes sorted), what could not be fixed, what was waived."""

    changes: dict[str, list[Change]] = field(default_factory=dict)
    unfixed: list[Unfixed] = field(default_factory=list)
    waived: list[Unfixed] = field(default_factory=list)

    def refuse(self, change: Change, reason: str, remediations: Mapping[str, str]) -> None:
        """Move ``change`` from the plan to the refused list (a format cannot write it)."""
        self.changes[change.target] = [c for c in self.changes[change.target] if c is not change]
        for rule in change.rules:
            self.unfixed.append(Unfixed(change.target, rule, reason, remediations.get(f"{change.target}\0{rule}", "")))


class _Refused(Exception):
    pass


def plan_fixes(results: list[Mapping[str, Any]]) -> tuple[Plan, dict[str, str]]:
    """The plan for a report's results, and each result's remediation text by ``target\\0policy/rule``."""
    plan = Plan()
    wanted: dict[tuple[str, str, str], list[Change]] = {}  # (target, normalised key, value id) -> changes
    passing: dict[tuple[str, str, str], list[tuple[str, Mapping[str, Any]]]] = {}  # same slots -> (rule, evidence)
    absent: dict[tuple[str, str], list[str]] = {}  # (target, key) a passing rule wants absent -> rules
    remediations: dict[str, str] = {}
    for r in results:
        status = r.get("status")
        target, rule = str(r.get("target")), f"{r.get('policy')}/{r.get('rule')}"
        given = r.get("remediation")
        remediation = given if isinstance(given, str) else ""
        remediations[f"{target}\0{rule}"] = remediation
        if status == "waived":
            plan.waived.append(Unfixed(target, rule, "waived: not fixed", remediation))
            continue
        if status == "pass":
            _keep_passing(r, target, rule, passing, absent)
            continue
        if status not in ("fail", "error"):
            continue
        try:
            if status == "error":
                raise _Refused(f"error, not fail ({_one_line(r.get('message'))}): collect the facts again first")
            if r.get("check_type", "registry") != "registry":
                raise _Refused(f"a {r.get('check_type')} rule: only registry values can be set")
            evidence = r.get("evidence")
            if not isinstance(evidence, list) or not evidence:
                raise _Refused("no registry evidence in the report")
            made = [_change(target, rule, e, len(evidence) > 1) for e in evidence]
        except _Refused as exc:
            plan.unfixed.append(Unfixed(target, rule, str(exc), remediation))
            continue
        for change in made:
            wanted.setdefault((target, *_identity(change)), []).append(change)
    for group in wanted.values():
        first = group[0]
        rules = tuple(dict.fromkeys(rule for c in group for rule in c.rules))
        if all((c.type, c.data) == (first.type, first.data) for c in group):
            broken = [rule for rule, e in passing.get((first.target, *_identity(first)), []) if not _holds(first, e)]
            broken += _creates_what_must_be_absent(first, absent)
            if not broken:
                plan.changes.setdefault(first.target, []).append(Change(**{**_fields(first), "rules": rules}))
                continue
            for rule in rules:
                plan.unfixed.append(Unfixed(first.target, rule, f"{first.key}\\{first.name or '@'} = {first.type} "
                                            f"{first.shown()} would make {', '.join(broken)} fail, which passes now",
                                            remediations.get(f"{first.target}\0{rule}", "")))
            continue
        wants = "; ".join(f"{c.rules[0]} wants {c.type} {c.shown()}" for c in group)
        for rule in rules:
            plan.unfixed.append(Unfixed(first.target, rule, f"{first.key}\\{first.name or '@'}: rules disagree "
                                        f"({wants})", remediations.get(f"{first.target}\0{rule}", "")))
    for target in plan.changes:
        plan.changes[target].sort(key=lambda c: (c.key.lower(), c.name.lower()))
    plan.changes = dict(sorted(plan.changes.items()))
    plan.unfixed.sort(key=lambda u: (u.target, u.rule))
    plan.waived.sort(key=lambda u: (u.target, u.rule))
    return plan, remediations


def _keep_passing(r: Mapping[str, Any], target: str, rule: str,
                  passing: dict[tuple[str, str, str], list[tuple[str, Mapping[str, Any]]]],
                  absent: dict[tuple[str, str], list[str]]) -> None:
    """Remember what a passing registry rule reads, so that no fix makes it fail.

    A plain value check is judged again against the change (:func:`_holds`). A check
    under a combinator, or one of several in a rule, cannot be judged alone (``not``
    and ``any`` turn its meaning around), so any change to the value it reads counts
    as breaking it. A key that must not exist must not be created, nor anything under it.
    """
    evidence = r.get("evidence")
    if r.get("check_type", "registry") != "registry" or not isinstance(evidence, list):
        return
    for e in evidence:
        if not isinstance(e, Mapping) or not isinstance(e.get("key"), str):
            continue
        norm = regkeys.normalise(e["key"])
        if norm is None:
            continue
        if e.get("value") is None:
            if (e.get("operator") == "exists" and e.get("expected") is False) or e.get("combinator") is not None:
                absent.setdefault((target, norm), []).append(rule)
            continue
        if not isinstance(e.get("value"), str):
            continue
        combined = e.get("combinator") is not None or len(evidence) > 1
        passing.setdefault((target, norm, regkeys.value_id(e["value"])), []).append(
            (rule, {**e, "operator": _NEVER} if combined else e))


_NEVER = "\0combined"
"""Marks a passing check that cannot be judged alone: any change to what it reads breaks it."""


def _creates_what_must_be_absent(c: Change, absent: Mapping[tuple[str, str], list[str]]) -> list[str]:
    key = regkeys.normalise(c.key) or c.key.lower()
    return [rule for (target, gone), rules in absent.items() if target == c.target
            and (key == gone or key.startswith(gone + "\\")) for rule in rules]


def _holds(c: Change, e: Mapping[str, Any]) -> bool:
    """Whether the check of evidence ``e`` still passes once ``c`` is written."""
    op, required = e.get("operator"), e.get("required_type")
    if op == _NEVER:
        return False
    if required is not None and required != c.type:
        return False
    if op is None:
        return True
    if op == "exists":
        return e.get("expected") is True
    data: Any = c.data.hex() if isinstance(c.data, bytes) else list(c.data) if isinstance(c.data, tuple) else c.data
    return compare(str(op), c.type, data, e.get("expected"), required if isinstance(required, str) else None)[0] is True


def _fields(c: Change) -> dict[str, Any]:
    return {"target": c.target, "hive": c.hive, "path": c.path, "name": c.name, "type": c.type, "data": c.data,
            "rules": c.rules}


def _identity(c: Change) -> tuple[str, str]:
    return (regkeys.normalise(c.key) or c.key.lower(), c.name.lower())


def _one_line(text: Any) -> str:
    return " ".join(str(text).split())


def _change(target: str, rule: str, e: Any, several: bool) -> Change:
    """The change one evidence item asks for (:class:`_Refused` when it asks for none that can be made)."""
    if not isinstance(e, Mapping) or not isinstance(e.get("key"), str) or "operator" not in e:
        raise _Refused("evidence that is not registry evidence (a combinator over other check types?)")
    combinator = e.get("combinator")
    if combinator not in (None, "all") or (several and combinator is None):
        raise _Refused(f"a check under {combinator!r}: which of its checks to change is the policy's choice")
    key, name, op, operand = e["key"], e.get("value"), e.get("operator"), e.get("expected")
    norm = regkeys.normalise(key)
    if norm is None:
        raise _Refused(f"{_one_line(key)!r} is not a registry key")
    if not isinstance(name, str):
        raise _Refused(f"a check of the key {key} itself ({op}): only values can be set")
    if op == "in" and isinstance(operand, list) and len(operand) == 1:
        operand = operand[0]
    elif op == "in":
        raise _Refused(f"in {show(operand)}: several values would do, which one is the policy's choice")
    elif op != "equals":
        raise _Refused(f"{op} {show(operand)}: no single value to set" if op else "no operator: no value to set")
    for text in (key, name):
        if any(ord(ch) < 32 or ord(ch) == 127 for ch in text):
            raise _Refused(f"control characters in the key or value name {text!r}")
    required, found = e.get("required_type"), e.get("type")
    type_, data = choose_type(operand, required if isinstance(required, str) else None,
                              found if isinstance(found, str) else None)
    hive, _, path = regkeys.long_form(key).partition("\\")
    return Change(target, hive, path.rstrip("\\"), "" if name == "@" else name, type_, data, (rule,))


def choose_type(operand: Any, required: str | None, found: str | None) -> tuple[str, Data]:
    """The type to write and the data in it (see the module docstring); :class:`_Refused` when none."""
    if required is not None:
        if required not in WRITABLE:
            raise _Refused(f"type {required} cannot be written by fix")
        data = encode(required, operand)
        if data is None:
            raise _Refused(f"{show(operand)} cannot be a {required} value: the rule cannot pass as written")
        return required, data
    if found in WRITABLE:
        data = encode(found, operand)
        if data is not None:
            return found, data
    kind = type(operand)
    default = {int: "REG_DWORD", str: "REG_SZ", list: "REG_MULTI_SZ"}.get(kind)
    if kind is int and isinstance(operand, int) and operand > 0xFFFFFFFF:
        default = "REG_QWORD"
    data = None if default is None else encode(default, operand)
    if default is None or data is None:
        raise _Refused(f"{show(operand)} is not a value a registry type can hold exactly")
    return default, data


def encode(type_: str, operand: Any) -> Data | None:
    """``operand`` as data of ``type_``, or None when the value read back would not equal it."""
    if type_ in ("REG_DWORD", "REG_QWORD"):
        top = 0xFFFFFFFF if type_ == "REG_DWORD" else 0xFFFFFFFFFFFFFFFF
        return operand if type(operand) is int and 0 <= operand <= top else None
    if type_ in ("REG_SZ", "REG_EXPAND_SZ"):
        return operand if type(operand) is str and "\0" not in operand else None
    if type_ == "REG_BINARY":
        if type(operand) is not str:
            return None
        digits = operand.replace(",", "").replace(" ", "").replace("\t", "")
        if len(digits) % 2 or not set(digits) <= _HEXDIGITS:
            return None
        return bytes.fromhex(digits)
    if type_ == "REG_MULTI_SZ":
        if type(operand) is not list or not all(type(s) is str and "\0" not in s for s in operand):
            return None
        if operand and operand[-1] == "":  # a trailing empty string does not survive the double NUL
            return None
        return tuple(operand)
    return None
