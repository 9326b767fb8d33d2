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
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from typing import Any, Protocol

from scanner import placeholders, schemas
from scanner.api import Severity
from scanner.errors import Problem
from scanner.plugin_host import PluginHost
from scanner.policy import BaseRef, CheckNode, Policy, Rule
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


def _english(texts: Mapping[str, str]) -> str:
    """The English text of a language map, else its first language's ("" when empty)."""
    return texts.get("en") or next(iter(texts.values()), "")


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
    def __init__(
        self,
        host: PluginHost,
        doc: PolicyDoc,
        overrides: Mapping[str, str],
        bad: set[Path_],
        inputs: Mapping[str, Any] | None = None,
    ) -> None:
        """``inputs``, when given, are the effective inputs already worked out (a policy in an
        overlay chain, :func:`_build_chain`); else the file's defaults with ``overrides`` applied."""
        self.host = host
        self.doc = doc
        self.marks = doc.marks
        self.bad = bad
        """Paths with an envelope problem (already reported): not judged again."""
        self.problems: list[Problem] = []
        self.complete = True
        """Whether every check type of the rule being built is known (so are its placeholders)."""
        meta = doc.data.get("metadata")
        pid = meta.get("id") if isinstance(meta, dict) else None
        self.pid = pid if isinstance(pid, str) else ""
        raw_inputs = doc.data.get("inputs")
        self.inputs_known = raw_inputs is None or isinstance(raw_inputs, dict)
        self.inputs: dict[str, Any] = {}
        if inputs is not None:
            self.inputs = dict(inputs)
            raw_inputs = None
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
            description=_english(_lang_map(meta.get("description"))),
            descriptions=_lang_map(meta.get("description")),
            references=tuple(meta.get("references", ())),
        )

    def _rule(self, raw: Mapping[str, Any], path: Path_) -> Rule | None:
        raw_check = raw.get("check")
        check = None
        self.complete = False
        if isinstance(raw_check, dict) and len(raw_check) == 1 and not _under((*path, "check"), self.bad):
            self.complete = True
            check = self._check(raw_check, (*path, "check"), "check")
        self.texts(raw, path, check if self.complete else None)
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
            description=_english(_lang_map(raw.get("description"))),
            descriptions=_lang_map(raw.get("description")),
            references=tuple(raw.get("references", ())),
            tags=tuple(raw.get("tags", ())),
            rationale=_english(_lang_map(raw.get("rationale"))),
            rationales=_lang_map(raw.get("rationale")),
            line=self.doc.marks.at(path)[0],
            source=self.doc.display,
            source_policy=self.pid,
        )

    def texts(self, raw: Mapping[str, Any], path: Path_, check: CheckNode | None) -> None:
        """The placeholders of ``raw``'s ``remediation`` and ``message`` (``check``: the rule's
        check, None when its check types are not all known and only syntax is judged)."""
        allowed: set[str] | None = None  # None: the check types are not all known, only syntax is judged
        if check is not None:
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


Resolve = Callable[[Any, str], tuple[Any, str | None]]
"""How an overlay's ``extends`` is found: ``(overlay document, extends as written)`` ->
``(base document, None)``, or ``(None, why not)``, or ``(None, None)`` when the base could not
be read (its problem is already recorded). The same file always gives the same document object."""

_OVERRIDABLE = schemas.OVERRIDABLE


def _type_problem(default: Any, value: Any) -> str | None:
    """Why an overlay's value for an input does not fit the type of the input's default, or None."""
    if isinstance(default, bool):
        return None if isinstance(value, bool) else "expected true or false"
    if isinstance(default, int):
        return None if isinstance(value, int) and not isinstance(value, bool) else "expected an integer"
    if isinstance(default, float):
        return None if isinstance(value, (int, float)) and not isinstance(value, bool) else "expected a number"
    return None if isinstance(value, str) else "expected a string"


def _chain(doc: PolicyDoc, resolve: Resolve | None, problems: list[Problem]) -> tuple[list[PolicyDoc], bool]:
    """``doc``, its base, the base's base ...: (the documents, whether the chain is whole)."""
    chain = [doc]
    while True:
        cur = chain[-1]
        given = cur.data.get("extends") if isinstance(cur.data, dict) else None
        if not isinstance(given, str) or not given:
            return chain, given is None  # not a string: the envelope schema says so
        if resolve is None:
            problems.append(cur.marks.problem(("extends",), "extends is not supported here"))
            return chain, False
        base, why = resolve(cur, given)
        if why is not None:
            problems.append(cur.marks.problem(("extends",), why))
        if base is None:
            return chain, False
        if any(base is d for d in chain):
            loop = " -> ".join(d.display for d in [*chain[chain.index(base) :], base])
            problems.append(cur.marks.problem(("extends",), f"extends cycle: {loop}"))
            return chain, False
        chain.append(base)


def _uses_input(data: Any, name: str) -> bool:
    """Whether an overlay's own rules or overrides say ``${inputs.NAME}`` anywhere."""
    want = "${inputs." + name + "}"

    def walk(value: Any) -> bool:
        if isinstance(value, str):
            return want in value
        if isinstance(value, dict):
            return any(walk(v) for v in value.values())
        if isinstance(value, list):
            return any(walk(v) for v in value)
        return False

    return walk(data.get("rules")) or walk(data.get("overrides"))


def _close(name: str, known: Sequence[str]) -> str:
    import difflib

    match = difflib.get_close_matches(name, known, n=1)
    return f"; did you mean {match[0]!r}?" if match else ""


def _apply_overlay(
    builder: _PolicyBuilder, rules: dict[str, Rule], base_id: str
) -> None:
    """Apply ``builder``'s document's ``overrides`` and ``disable`` to ``rules`` (the base's, by id)."""
    doc, bad = builder.doc, builder.bad
    data = doc.data
    known = sorted(rules)
    raw = data.get("overrides")
    for rid, change in (raw.items() if isinstance(raw, dict) and not _under(("overrides",), bad) else ()):
        if rid not in rules:
            builder.problem(("overrides", f"<key:{rid}>"), f"overrides rule {rid!r}, which {base_id} does not have"
                            + _close(rid, known))
            continue
        if not isinstance(change, dict) or _under(("overrides", rid), bad):
            continue
        rule = rules[rid]
        builder.texts(change, ("overrides", rid), rule.check)
        new: dict[str, Any] = {}
        if "severity" in change:
            new["severity"] = Severity(change["severity"])
        if "title" in change:
            new["titles"] = _lang_map(change["title"])
            new["title"] = new["titles"]["en"]
        for field in ("remediation", "message"):
            if field in change:
                new[field] = _lang_map(change[field])
        for field in ("description", "rationale"):
            if field in change:  # a text or a language map: it replaces the base's whole map
                new[f"{field}s"] = _lang_map(change[field])
                new[field] = _english(new[f"{field}s"])
        for field in ("references", "tags"):
            if field in change:
                new[field] = tuple(change[field])
        if "applies_to" in change:
            new["labels"] = dict((change["applies_to"] or {}).get("labels") or {})
        line = doc.marks.at(("overrides", f"<key:{rid}>"))[0]
        record = {"policy": builder.pid, "file": doc.display, "line": line,
                  "set": [f for f in _OVERRIDABLE if f in change]}
        rules[rid] = replace(rule, **new, changes=(*rule.changes, record))
    raw = data.get("disable")
    overridden = data.get("overrides") if isinstance(data.get("overrides"), dict) else {}
    for rid, reason in (raw.items() if isinstance(raw, dict) and not _under(("disable",), bad) else ()):
        if rid not in rules:
            builder.problem(("disable", f"<key:{rid}>"), f"disables rule {rid!r}, which {base_id} does not have"
                            + _close(rid, known))
            continue
        if rid in overridden:  # a contradiction: which one did the author mean?
            at = doc.marks.at(("overrides", f"<key:{rid}>"))[0]
            builder.problem(("disable", f"<key:{rid}>"), f"disables rule {rid!r}, which this overlay also overrides "
                            f"(overrides at line {at}): a disabled rule never runs; keep one of the two")
            continue
        if not isinstance(reason, str) or _under(("disable", rid), bad):
            continue
        if not reason.strip():
            builder.problem(("disable", rid), f"disable {rid}: the reason is blank; say why the rule is disabled "
                            "(a ticket, an approval)")
            continue
        line = doc.marks.at(("disable", f"<key:{rid}>"))[0]
        record = {"policy": builder.pid, "file": doc.display, "line": line, "disabled": reason}
        rule = rules[rid]
        rules[rid] = replace(rule, disabled=f"disabled by {builder.pid}: {reason}", changes=(*rule.changes, record))


def _policy_id(doc: PolicyDoc) -> str | None:
    meta = doc.data.get("metadata") if isinstance(doc.data, dict) else None
    pid = meta.get("id") if isinstance(meta, dict) else None
    return pid if isinstance(pid, str) else None


def _build_chain(
    chain: Sequence[PolicyDoc],
    host: PluginHost,
    overrides: Mapping[str, str],
    bad_of: Callable[[PolicyDoc], set[Path_]],
    problems: list[Problem],
) -> Policy | None:
    """The effective policy of an overlay: ``chain`` is the overlay, its base, ..., the root policy."""
    docs = list(reversed(chain))  # the root first
    ok = True
    for i, doc in enumerate(chain[:-1]):  # an overlay posing as a policy it builds on: reports would mix them
        pid = _policy_id(doc)
        bases = [b for b in chain[i + 1 :] if _policy_id(b) == pid]
        if pid is not None and bases:
            ok = False
            problems.append(doc.marks.problem(
                ("metadata", "id"), f"overlay id {pid!r} is the id of the policy it extends ({bases[0].display}): "
                "give the overlay an id of its own, so reports, waivers and diffs never take one for the other"))
    declared: dict[str, tuple[Any, PolicyDoc]] = {}  # input -> (its default, the file declaring it)
    values: dict[str, Any] = {}
    visible: list[list[str]] = []
    for doc in docs:
        raw = doc.data.get("inputs")
        if isinstance(raw, dict) and not _under(("inputs",), bad_of(doc)):
            for name, value in raw.items():
                if name not in declared:
                    if doc is not docs[0] and not _uses_input(doc.data, name):
                        ok = False
                        known = ", ".join(sorted(declared)) or "none"
                        problems.append(doc.marks.problem(
                            ("inputs", f"<key:{name}>"),
                            f"input {name!r} is not an input of the policies this one extends (their inputs: "
                            f"{known}), and no rule of this overlay uses it" + _close(name, sorted(declared))))
                    declared[name] = (value, doc)
                    values[name] = value
                    continue
                default, where = declared[name]
                why = _type_problem(default, value)
                if why is None:
                    values[name] = value
                else:
                    ok = False
                    problems.append(doc.marks.problem(
                        ("inputs", name), f"input {name}: {why}, like its default ({default!r}) in {where.display}"))
        visible.append(list(declared))
    for name, text in overrides.items():
        if name in declared:
            default, where = declared[name]
            value, why = override_error(default, text)
            if why is None:
                values[name] = value
            else:
                ok = False
                problems.append(where.marks.problem(
                    ("inputs", name), f"--input {name}={text!r}: {why}, like this input's default ({default!r})"))
    rules: dict[str, Rule] = {}
    base_id = ""
    for level, doc in enumerate(docs):
        builder = _PolicyBuilder(host, doc, {}, bad_of(doc), {n: values[n] for n in visible[level]})
        built = builder.build()
        if level:
            _apply_overlay(builder, rules, base_id)
            raw_rules = doc.data.get("rules")
            for i, raw in enumerate(raw_rules if isinstance(raw_rules, list) else []):
                rid = raw.get("id") if isinstance(raw, dict) else None
                if isinstance(rid, str) and rid in rules:
                    builder.problem(("rules", i, "id"), f"rule {rid!r} is already a rule of {base_id} "
                                    "(change it under overrides, or disable it and add a rule with a new id)")
        problems.extend(builder.problems)
        if built is None or builder.problems:
            ok = False
        else:
            rules.update((r.id, r) for r in built.rules)
        base_id = builder.pid
    if not ok:
        return None
    top = docs[-1]
    meta = top.data["metadata"]
    return Policy(
        id=meta["id"],
        title=_lang_map(meta["title"])["en"],
        titles=_lang_map(meta["title"]),
        version=str(meta["version"]),
        sha256=top.sha256,
        path=top.display,
        rules=tuple(sorted(rules.values(), key=lambda r: r.id)),
        inputs=values,
        description=_english(_lang_map(meta.get("description"))),
        descriptions=_lang_map(meta.get("description")),
        references=tuple(meta.get("references", ())),
        extends=tuple(
            BaseRef(d.data["metadata"]["id"], str(d.data["metadata"]["version"]), d.sha256, d.display)
            for d in chain[1:]
        ),
    )


def load_policy_docs(
    docs: Sequence[PolicyDoc],
    host: PluginHost,
    overrides: Mapping[str, str],
    problems: list[Problem],
    resolve: Resolve | None = None,
) -> list[Policy]:
    """Validate and build every policy document; append every problem found to ``problems``.

    An overlay (a policy with ``extends``) is built on its base, found with ``resolve``. A
    document that is the base of another one given is not built on its own: it is evaluated
    once, through the overlay (each overlay of a base evaluates it through itself).
    """
    envelope = schemas.policy_envelope_schema(host.check_types)
    start = len(problems)
    checked: dict[int, set[Path_]] = {}

    def bad_of(doc: PolicyDoc) -> set[Path_]:
        if id(doc) not in checked:
            found = schema_problems(doc.data, envelope, doc.marks)
            problems.extend(problem for _, problem in found)
            problems.extend(non_finite(doc.data, doc.marks))
            checked[id(doc)] = {path for path, _ in found}
        return checked[id(doc)]

    chains: list[tuple[PolicyDoc, list[PolicyDoc], bool]] = []
    consumed: set[int] = set()
    for doc in docs:
        bad_of(doc)
        if not isinstance(doc.data, dict):
            continue
        chain, whole = _chain(doc, resolve, problems)
        for base in chain[1:]:
            bad_of(base)
            consumed.add(id(base))
        chains.append((doc, chain, whole))
    policies: list[Policy] = []
    seen: dict[str, str] = {}
    for doc, chain, whole in chains:
        if id(doc) in consumed:
            continue  # evaluated through its overlay
        bad = bad_of(doc)
        meta = doc.data.get("metadata")
        pid = meta.get("id") if isinstance(meta, dict) and not _under(("metadata", "id"), bad) else None
        duplicate = isinstance(pid, str) and pid in seen
        if isinstance(pid, str) and duplicate:
            problems.append(doc.marks.problem(("metadata", "id"), f"duplicate policy id {pid!r} (also in {seen[pid]})"))
        elif isinstance(pid, str):
            seen[pid] = doc.display
        if len(chain) > 1 or not whole:
            policy = _build_chain(chain, host, overrides, bad_of, problems) if whole else None
        else:
            builder = _PolicyBuilder(host, doc, overrides, bad)
            policy = builder.build()
            problems.extend(builder.problems)
        if policy is not None and not duplicate:
            policies.append(policy)
    unique = list(dict.fromkeys(problems[start:]))  # a base shared by two overlays is judged twice
    problems[start:] = unique
    return policies
