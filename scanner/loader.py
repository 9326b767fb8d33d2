"""Loading policies, inventories and waiver files: every problem at once.

Each file is read with the one safe YAML loader (:mod:`scanner.yamlio`),
then validated in two steps: the envelope (:mod:`scanner.schemas`), then each
check's parameters against the schema its check type registered. On top of
the schemas the loader checks what a schema cannot: duplicate rule ids and
target names, unknown ``${placeholders}``, unknown inputs, regexes that do not
compile, unknown check types. Problems from every file are gathered and raised
together as one :class:`~scanner.errors.LoadError`; nothing is scanned then.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Mapping, Sequence
from datetime import date
from pathlib import Path
from typing import Any

from scanner import placeholders, schemas
from scanner.api import Severity, Target
from scanner.errors import LoadError, Problem
from scanner.plugin_host import PluginHost
from scanner.policy import CheckNode, Policy, Rule, Waiver, WaiverSet
from scanner.validation import validate
from scanner.yamlio import Marks, Path_, YamlError, load_yaml

KINDS = ("Policy", "Inventory", "Waivers")


class _Doc:
    def __init__(self, path: Path, display: str, data: Any, marks: Marks, raw: bytes) -> None:
        self.path = path
        self.display = display
        self.data = data
        self.marks = marks
        self.sha256 = hashlib.sha256(raw).hexdigest()

    @property
    def kind(self) -> str | None:
        if isinstance(self.data, dict) and self.data.get("apiVersion") == schemas.API_VERSION:
            kind = self.data.get("kind")
            return kind if isinstance(kind, str) else None
        return None


def _read(path: Path, problems: list[Problem]) -> _Doc | None:
    display = str(path)
    try:
        docs = load_yaml(path, display)
    except YamlError as exc:
        problems.append(exc.problem)
        return None
    if len(docs) != 1:
        problems.append(Problem(display, 1, 1, f"expected exactly one YAML document, found {len(docs)}"))
        return None
    data, marks = docs[0]
    return _Doc(path, display, data, marks, path.read_bytes())


def policy_files(path: Path) -> list[Path]:
    """``path`` itself, or the policy files in a directory (``*.test.yaml`` never)."""
    if path.is_dir():
        found = [p for p in sorted(path.rglob("*")) if p.suffix in (".yaml", ".yml") and p.is_file()]
        return [p for p in found if not p.name.endswith((".test.yaml", ".test.yml"))]
    return [path]


# --------------------------------------------------------------------------- policies


def _lang_map(value: Any) -> dict[str, str]:
    if value is None:
        return {}
    if isinstance(value, str):
        return {"en": value}
    return dict(value)


class _PolicyBuilder:
    def __init__(self, host: PluginHost, doc: _Doc, overrides: Mapping[str, str]) -> None:
        self.host = host
        self.doc = doc
        self.marks = doc.marks
        self.problems: list[Problem] = []
        raw_inputs = dict(doc.data.get("inputs") or {})
        self.inputs = {k: _override(v, overrides[k]) if k in overrides else v for k, v in raw_inputs.items()}

    def problem(self, path: Path_, message: str) -> None:
        self.problems.append(self.marks.problem(path, message))

    def build(self) -> Policy | None:
        data = self.doc.data
        rules: list[Rule] = []
        seen: dict[str, int] = {}
        for i, raw in enumerate(data["rules"]):
            rid = raw["id"]
            if rid in seen:
                self.problem(("rules", i, "id"), f"duplicate rule id {rid!r} (first at rules[{seen[rid]}])")
            seen.setdefault(rid, i)
            rule = self._rule(raw, ("rules", i))
            if rule is not None:
                rules.append(rule)
        if self.problems:
            return None
        meta = data["metadata"]
        return Policy(
            id=meta["id"],
            title=meta["title"],
            version=str(meta["version"]),
            sha256=self.doc.sha256,
            path=self.doc.display,
            rules=tuple(sorted(rules, key=lambda r: r.id)),
            inputs=self.inputs,
            description=meta.get("description", ""),
            references=tuple(meta.get("references", ())),
        )

    def _rule(self, raw: Mapping[str, Any], path: Path_) -> Rule | None:
        before = len(self.problems)
        check = self._check(raw["check"], (*path, "check"), "check", None)
        if check is None:
            return None
        allowed = set(placeholders.COMMON)
        for leaf in check.leaves():
            allowed.update(self.host.check_types[leaf.type_name].placeholders)
        allowed.update(f"inputs.{name}" for name in self.inputs)
        for field in ("remediation", "message"):
            texts = _lang_map(raw.get(field))
            for lang, text in texts.items():
                where = (*path, field) if isinstance(raw.get(field), str) else (*path, field, lang)
                used, syntax = placeholders.names(text)
                for s in syntax:
                    self.problem(where, f"{field}: {s}")
                for name in used:
                    if name not in allowed:
                        known = ", ".join(sorted(allowed))
                        self.problem(where, f"{field}: unknown placeholder ${{{name}}} (known: {known})")
        if len(self.problems) > before:
            return None
        applies = raw.get("applies_to") or {}
        return Rule(
            id=raw["id"],
            title=raw["title"],
            severity=Severity(raw["severity"]),
            check=check,
            remediation=_lang_map(raw.get("remediation")),
            message=_lang_map(raw.get("message")),
            labels=dict(applies.get("labels") or {}),
            description=raw.get("description", ""),
            references=tuple(raw.get("references", ())),
            tags=tuple(raw.get("tags", ())),
        )

    def _check(self, raw: Any, path: Path_, where: str, parent: str | None) -> CheckNode | None:
        ((key, value),) = raw.items()
        if key in ("all", "any"):
            if not isinstance(value, list) or not value:
                self.problem((*path, key), f"{where}.{key} must be a non-empty list of checks")
                return None
            children = []
            for i, child in enumerate(value):
                cpath = (*path, key, i)
                if not isinstance(child, dict) or len(child) != 1:
                    self.problem(cpath, f"{where}.{key}[{i}] must be a mapping with exactly one key")
                    continue
                node = self._check(child, cpath, f"{where}.{key}[{i}]", key)
                if node is not None:
                    children.append(node)
            return CheckNode(key, where, children=tuple(children))
        if key == "not":
            if not isinstance(value, dict) or len(value) != 1:
                self.problem((*path, key), f"{where}.not must be a mapping with exactly one key")
                return None
            node = self._check(value, (*path, key), f"{where}.not", key)
            return CheckNode("not", where, children=(node,)) if node is not None else None
        ct = self.host.check_types.get(key)
        if ct is None:
            known = ", ".join(sorted(self.host.check_types)) or "none loaded"
            self.problem(
                (*path, f"<key:{key}>"),
                f"unknown check type {key!r} (known check types: {known}; combinators: all, any, not)",
            )
            return None
        for name in placeholders.input_names(value):
            if name not in self.inputs:
                self.problem(
                    (*path, key),
                    f"unknown input ${{inputs.{name}}} (policy inputs: {', '.join(sorted(self.inputs)) or 'none'})",
                )
        params = placeholders.substitute_inputs(value, self.inputs)
        if not isinstance(params, dict):
            self.problem((*path, key), f"{where}.{key}: parameters must be a mapping")
            return None
        self.problems.extend(validate(params, ct.schema, self.marks, (*path, key)))
        return CheckNode("check", where, type_name=key, params=params)


def _override(default: Any, text: str) -> Any:
    """An ``--input`` value takes the type of the policy's default."""
    if isinstance(default, bool):
        return text.lower() in ("true", "1", "yes")
    if isinstance(default, int):
        try:
            return int(text, 0)
        except ValueError:
            return text
    if isinstance(default, float):
        try:
            return float(text)
        except ValueError:
            return text
    return text


def load_policy_docs(
    docs: Sequence[_Doc], host: PluginHost, overrides: Mapping[str, str], problems: list[Problem]
) -> list[Policy]:
    envelope = schemas.policy_envelope_schema(host.check_types)
    policies: list[Policy] = []
    seen: dict[str, str] = {}
    for doc in docs:
        found = validate(doc.data, envelope, doc.marks)
        if found:
            problems.extend(found)
            continue
        pid = doc.data["metadata"]["id"]
        if pid in seen:
            problems.append(doc.marks.problem(("metadata", "id"), f"duplicate policy id {pid!r} (also in {seen[pid]})"))
            continue
        seen[pid] = doc.display
        builder = _PolicyBuilder(host, doc, overrides)
        policy = builder.build()
        problems.extend(builder.problems)
        if policy is not None:
            policies.append(policy)
    return policies


def _documents(paths: Sequence[str], problems: list[Problem]) -> Iterator[tuple[bool, _Doc | None]]:
    """Every YAML file named, or found under a named directory, read once.

    Yields ``(found_in_a_directory, document)``; the document is None when the
    file could not be read as YAML (the problem is already recorded).
    """
    for given in paths:
        p = Path(given)
        if not p.exists():
            problems.append(Problem(given, 1, 1, "no such file or directory"))
            continue
        for f in policy_files(p):
            yield p.is_dir(), _read(f, problems)


def load_policies(paths: Sequence[str], host: PluginHost, overrides: Mapping[str, str] | None = None) -> list[Policy]:
    """Load ``--policy`` files and directories; raise :class:`LoadError` with every problem."""
    problems: list[Problem] = []
    docs: list[_Doc] = []
    for in_dir, doc in _documents(paths, problems):
        if doc is None or (in_dir and doc.kind != "Policy"):
            continue  # a directory holds other files too; only its policies count
        if doc.kind != "Policy":
            problems.append(
                doc.marks.problem(("kind",), f"not a policy: expected apiVersion {schemas.API_VERSION} and kind Policy")
            )
            continue
        docs.append(doc)
    policies = load_policy_docs(docs, host, overrides or {}, problems)
    if not docs and not problems:
        problems.extend(Problem(g, 1, 1, "no policy files found") for g in paths)
    if problems:
        raise LoadError(problems)
    return sorted(policies, key=lambda p: p.id)


# --------------------------------------------------------------------------- inventories and waivers


def load_inventory_doc(doc: _Doc, host: PluginHost, problems: list[Problem]) -> list[Target]:
    found = validate(doc.data, schemas.inventory_schema(host.check_types), doc.marks)
    if found:
        problems.extend(found)
        return []
    targets: list[Target] = []
    seen: dict[str, int] = {}
    base = doc.path.resolve().parent
    for i, raw in enumerate(doc.data["targets"]):
        name = raw["name"]
        if name in seen:
            problems.append(
                doc.marks.problem(
                    ("targets", i, "name"), f"duplicate target name {name!r} (first at targets[{seen[name]}])"
                )
            )
            continue
        seen[name] = i
        sources = {k: v for k, v in raw.items() if k not in ("name", "labels")}
        targets.append(Target(name=name, labels=dict(raw.get("labels") or {}), sources=sources, base_dir=base))
    return targets


def load_inventory(path: str, host: PluginHost) -> list[Target]:
    problems: list[Problem] = []
    doc = _read(Path(path), problems)
    if doc is not None and doc.kind != "Inventory":
        problems.append(doc.marks.problem(("kind",), "not an inventory: expected kind Inventory"))
    targets = load_inventory_doc(doc, host, problems) if doc is not None and not problems else []
    if problems:
        raise LoadError(problems)
    return targets


def load_waivers_doc(doc: _Doc, problems: list[Problem]) -> WaiverSet | None:
    found = validate(doc.data, schemas.waivers_schema(), doc.marks)
    if found:
        problems.extend(found)
        return None
    waivers = []
    for i, raw in enumerate(doc.data["waivers"]):
        try:
            date.fromisoformat(raw["expires"])
        except ValueError:
            problems.append(doc.marks.problem(("waivers", i, "expires"), f"expires {raw['expires']!r} is not a date"))
            continue
        waivers.append(
            Waiver(
                rule=raw["rule"],
                reason=raw["reason"],
                expires=raw["expires"],
                policy=raw.get("policy"),
                targets=tuple(raw.get("targets") or ()),
                line=doc.marks.at(("waivers", i))[0],
            )
        )
    return WaiverSet(doc.display, doc.sha256, tuple(waivers))


def load_waivers(path: str) -> WaiverSet:
    problems: list[Problem] = []
    doc = _read(Path(path), problems)
    ws = None
    if doc is not None and doc.kind != "Waivers":
        problems.append(doc.marks.problem(("kind",), "not a waiver file: expected kind Waivers"))
    elif doc is not None:
        ws = load_waivers_doc(doc, problems)
    if problems or ws is None:
        raise LoadError(problems)
    return ws


def validate_paths(paths: Sequence[str], host: PluginHost) -> tuple[int, list[Problem]]:
    """``policyscan validate``: check every file given or found; return (files checked, problems)."""
    problems: list[Problem] = []
    policies: list[_Doc] = []
    count = 0
    for in_dir, doc in _documents(paths, problems):
        kind = doc.kind if doc is not None else None
        if doc is not None and kind is None and in_dir:
            continue  # not one of ours: directories hold other YAML too
        count += 1
        if doc is None:
            continue
        if kind == "Policy":
            policies.append(doc)
        elif kind == "Inventory":
            load_inventory_doc(doc, host, problems)
        elif kind == "Waivers":
            load_waivers_doc(doc, problems)
        else:
            expected = f"expected apiVersion {schemas.API_VERSION} and kind one of {', '.join(KINDS)}"
            problems.append(doc.marks.problem(("kind",), f"unknown document: {expected}"))
    load_policy_docs(policies, host, {}, problems)
    return count, sorted(problems, key=lambda p: (p.file, p.line, p.col))
