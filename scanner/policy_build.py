"""Building :class:`~scanner.policy.Policy` objects from validated policy documents.

The second step of loading a policy (the first is the envelope schema, in
:mod:`scanner.loader`): each check's parameters against its check type's
schema, combinators, ``${inputs.NAME}`` substitution, placeholders in
``remediation`` and ``message``, duplicate rule and policy ids.

Every problem of a file is found in one pass: an envelope problem in one rule
(a misspelt severity, an unknown key) does not stop the parameters of that or
any other rule from being checked. Only what cannot be judged is left out —
the parameters of a ``check`` that is not a one-key mapping, placeholders of a
rule whose check types are not all known. A :class:`Policy` is built only from
a file without a single problem.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from scanner import placeholders, schemas
from scanner.api import Severity
from scanner.errors import Problem
from scanner.plugin_host import PluginHost
from scanner.policy import CheckNode, Policy, Rule
from scanner.validation import non_finite, schema_problems
from scanner.yamlio import Marks, Path_, plain_scalar


class PolicyDoc(Protocol):
    """What the builder needs of a read policy file (the loader's document)."""

    display: str
    data: Any
    marks: Marks
    sha256: str


def _lang_map(value: Any) -> dict[str, str]:
    if value is None:
        return {}
    if isinstance(value, str):
        return {"en": value}
    return dict(value)


def override_error(default: Any, text: str) -> tuple[Any, str | None]:
    """An ``--input`` value read as the type of the policy's default: (value, why it cannot be)."""
    if isinstance(default, str):
        return text, None
    try:
        value = plain_scalar(text) if text.strip() == text else text
    except ValueError:  # an integer too long for Python to read
        value = text
    if isinstance(default, bool):
        return (value, None) if isinstance(value, bool) else (None, "expected true or false")
    if isinstance(default, int):
        if isinstance(value, int) and not isinstance(value, bool):
            return value, None
        return None, "expected an integer"
    if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
        return float(value), None
    return None, "expected a finite number"


def _under(path: Path_, bad: set[Path_]) -> bool:
    """Whether an envelope problem sits at ``path`` or inside it."""
    return any(b[: len(path)] == path for b in bad)


def _unknown_input_left(params: Any, path: Path_) -> bool:
    """Whether the value at ``path`` still holds an ``${inputs.NAME}`` (so NAME is not an input)."""
    value = params
    for part in path:
        try:
            value = value[part]
        except (KeyError, IndexError, TypeError):
            return False
    return isinstance(value, str) and "${inputs." in value


class _PolicyBuilder:
    def __init__(self, host: PluginHost, doc: PolicyDoc, overrides: Mapping[str, str], bad: set[Path_]) -> None:
        self.host = host
        self.doc = doc
        self.marks = doc.marks
        self.bad = bad
        """Paths with an envelope problem (already reported): not judged again."""
        self.problems: list[Problem] = []
        self.complete = True
        """Whether every check type of the rule being built is known (so are its placeholders)."""
        raw_inputs = doc.data.get("inputs")
        self.inputs_known = raw_inputs is None or isinstance(raw_inputs, dict)
        self.inputs: dict[str, Any] = {}
        for name, default in (raw_inputs if isinstance(raw_inputs, dict) else {}).items():
            if name not in overrides:
                self.inputs[name] = default
                continue
            value, why = override_error(default, overrides[name])
            if why is not None:
                text = overrides[name]
                why = f"{why}, like this input's default ({default!r})"
                self.problem(("inputs", name), f"--input {name}={text!r}: {why}")
            self.inputs[name] = value if why is None else default

    def problem(self, path: Path_, message: str) -> None:
        self.problems.append(self.marks.problem(path, message))

    def build(self) -> Policy | None:
        data = self.doc.data
        raw_rules = data.get("rules")
        rules: list[Rule | None] = []
        seen: dict[str, int] = {}
        for i, raw in enumerate(raw_rules if isinstance(raw_rules, list) else []):
            if not isinstance(raw, dict):
                continue
            rid = raw.get("id")
            if isinstance(rid, str):
                if rid in seen:
                    self.problem(("rules", i, "id"), f"duplicate rule id {rid!r} (first at rules[{seen[rid]}])")
                seen.setdefault(rid, i)
            rules.append(self._rule(raw, ("rules", i)))
        if self.problems or self.bad:
            return None
        meta = data["metadata"]
        return Policy(
            id=meta["id"],
            title=_lang_map(meta["title"])["en"],
            titles=_lang_map(meta["title"]),
            version=str(meta["version"]),
            sha256=self.doc.sha256,
            path=self.doc.display,
            rules=tuple(sorted((r for r in rules if r is not None), key=lambda r: r.id)),
            inputs=self.inputs,
            description=meta.get("description", ""),
            references=tuple(meta.get("references", ())),
        )

    def _rule(self, raw: Mapping[str, Any], path: Path_) -> Rule | None:
        raw_check = raw.get("check")
        check = None
        self.complete = False
        if isinstance(raw_check, dict) and len(raw_check) == 1 and not _under((*path, "check"), self.bad):
            self.complete = True
            check = self._check(raw_check, (*path, "check"), "check")
        allowed: set[str] | None = None  # None: the check types are not all known, only syntax is judged
        if check is not None and self.complete:
            allowed = set(placeholders.COMMON)
            for leaf in check.leaves():
                allowed.update(self.host.check_types[leaf.type_name].placeholders)
            allowed.update(f"inputs.{name}" for name in self.inputs)
        for field in ("remediation", "message"):
            if _under((*path, field), self.bad):
                continue
            texts = _lang_map(raw.get(field))
            for lang, text in texts.items():
                where = (*path, field) if isinstance(raw.get(field), str) else (*path, field, lang)
                used, syntax = placeholders.names(text)
                for s in syntax:
                    self.problem(where, f"{field}: {s}")
                for name in used:
                    if allowed is not None and name not in allowed:
                        known = ", ".join(sorted(allowed))
                        self.problem(where, f"{field}: unknown placeholder ${{{name}}} (known: {known})")
        if self.problems or self.bad or check is None:
            return None
        applies = raw.get("applies_to") or {}
        return Rule(
            id=raw["id"],
            title=_lang_map(raw["title"])["en"],
            titles=_lang_map(raw["title"]),
            severity=Severity(raw["severity"]),
            check=check,
            remediation=_lang_map(raw.get("remediation")),
            message=_lang_map(raw.get("message")),
            labels=dict(applies.get("labels") or {}),
            description=raw.get("description", ""),
            references=tuple(raw.get("references", ())),
            tags=tuple(raw.get("tags", ())),
            rationale=raw.get("rationale", ""),
            line=self.doc.marks.at(path)[0],
        )

    def _check(self, raw: Any, path: Path_, where: str) -> CheckNode | None:
        ((key, value),) = raw.items()
        if key in ("all", "any"):
            if not isinstance(value, list) or not value:
                self.problem((*path, key), f"{where}.{key} must be a non-empty list of checks")
                self.complete = False
                return None
            children = []
            for i, child in enumerate(value):
                cpath = (*path, key, i)
                if not isinstance(child, dict) or len(child) != 1:
                    self.problem(cpath, f"{where}.{key}[{i}] must be a mapping with exactly one key")
                    self.complete = False
                    continue
                node = self._check(child, cpath, f"{where}.{key}[{i}]")
                if node is not None:
                    children.append(node)
            return CheckNode(key, where, children=tuple(children))
        if key == "not":
            if not isinstance(value, dict) or len(value) != 1:
                self.problem((*path, key), f"{where}.not must be a mapping with exactly one key")
                self.complete = False
                return None
            node = self._check(value, (*path, key), f"{where}.not")
            return CheckNode("not", where, children=(node,)) if node is not None else None
        ct = self.host.check_types.get(key)
        if ct is None:
            known = ", ".join(sorted(self.host.check_types)) or "none loaded"
            self.problem(
                (*path, f"<key:{key}>"),
                f"unknown check type {key!r} (known check types: {known}; combinators: all, any, not)",
            )
            self.complete = False
            return None
        for name in placeholders.input_names(value):
            if name not in self.inputs and self.inputs_known:
                self.problem(
                    (*path, key),
                    f"unknown input ${{inputs.{name}}} (policy inputs: {', '.join(sorted(self.inputs)) or 'none'})",
                )
        params = placeholders.substitute_inputs(value, self.inputs)
        if not isinstance(params, dict):
            self.problem((*path, key), f"{where}.{key}: parameters must be a mapping")
            self.complete = False
            return None
        base = (*path, key)
        for where_, problem in schema_problems(params, ct.schema, self.marks, base):
            # NaN and infinities were reported for the whole file, inputs included; a value
            # still holding '${inputs.' names an unknown input, reported above
            if not _unknown_input_left(params, where_[len(base) :]):
                self.problems.append(problem)
        return CheckNode("check", where, type_name=key, params=params)


def load_policy_docs(
    docs: Sequence[PolicyDoc], host: PluginHost, overrides: Mapping[str, str], problems: list[Problem]
) -> list[Policy]:
    """Validate and build every policy document; append every problem found to ``problems``."""
    envelope = schemas.policy_envelope_schema(host.check_types)
    policies: list[Policy] = []
    seen: dict[str, str] = {}
    for doc in docs:
        found = schema_problems(doc.data, envelope, doc.marks)
        problems.extend(problem for _, problem in found)
        problems.extend(non_finite(doc.data, doc.marks))
        if not isinstance(doc.data, dict):
            continue
        bad = {path for path, _ in found}
        meta = doc.data.get("metadata")
        pid = meta.get("id") if isinstance(meta, dict) and not _under(("metadata", "id"), bad) else None
        duplicate = isinstance(pid, str) and pid in seen
        if isinstance(pid, str) and duplicate:
            problems.append(doc.marks.problem(("metadata", "id"), f"duplicate policy id {pid!r} (also in {seen[pid]})"))
        elif isinstance(pid, str):
            seen[pid] = doc.display
        builder = _PolicyBuilder(host, doc, overrides, bad)
        policy = builder.build()
        problems.extend(builder.problems)
        if policy is not None and not duplicate:
            policies.append(policy)
    return policies
