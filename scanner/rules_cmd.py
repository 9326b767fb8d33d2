"""``policyscan rules``: the rules of policies, as a table or one rule in full.

``rules --policy P`` lists every rule (policy, id, severity, check types,
title; an overlay's rules also say where they come from). ``rules --policy P
RULE...`` prints each named rule in full: title and description in every
language the policy gives, the check itself, what it applies to, rationale,
references, tags, the message template, the remediation in each language, and
where it was written (with every overlay change). A rule is named by its id,
or ``POLICY/RULE`` when two loaded policies share an id; an unknown name is a
usage error (exit 2) suggesting the closest ids.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Mapping, Sequence
from typing import IO, Any

from scanner.errors import UsageError
from scanner.policy import CheckNode, Policy, Rule


def table(policies: Sequence[Policy], stdout: IO[str]) -> None:
    """Every rule, one line each, under a header."""
    rows = [("POLICY", "RULE", "SEVERITY", "CHECK", "TITLE")]
    for policy in policies:
        if policy.extends:  # an overlay: what it builds on, and where each rule comes from
            chain = " -> ".join(f"{b.id} {b.version} ({b.path})" for b in policy.extends)
            print(f"{policy.id} {policy.version} ({policy.path}) extends {chain}", file=stdout)
        for rule in policy.rules:
            kinds = ",".join(sorted({leaf.type_name for leaf in rule.check.leaves()}))
            title = f"{rule.title}  [from {rule.origin()}]" if policy.extends else rule.title
            rows.append((policy.id, rule.id, str(rule.severity), kinds, title))
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    for r in rows:
        print("  ".join(r[i].ljust(widths[i]) for i in range(4)) + "  " + r[4], file=stdout)


def find(policies: Sequence[Policy], name: str) -> tuple[Policy, Rule]:
    """The rule ``name`` (``RULE`` or ``POLICY/RULE``) names; :class:`UsageError` when none or several."""
    pid, _, rid = name.rpartition("/")
    found = [(p, r) for p in policies for r in p.rules if r.id == rid and (not pid or p.id == pid)]
    if len(found) == 1:
        return found[0]
    if found:
        where = ", ".join(f"{p.id}/{r.id}" for p, r in found)
        raise UsageError(f"rule {name!r} is in several policies ({where}): name it as POLICY/RULE")
    known = [f"{p.id}/{r.id}" for p in policies for r in p.rules] + [r.id for p in policies for r in p.rules]
    close = difflib.get_close_matches(name, known, n=3)
    hint = f" (did you mean {', '.join(close)}?)" if close else ""
    raise UsageError(f"no loaded policy has a rule {name!r}{hint}")


def _texts(value: Any, fallback: str = "") -> dict[str, str]:
    """A text in every language it is given in (a plain string is English)."""
    if isinstance(value, Mapping) and value:
        return {str(k): str(v) for k, v in value.items()}
    return {"en": str(value)} if value else ({"en": fallback} if fallback else {})


def _block(label: str, texts: Mapping[str, str]) -> list[str]:
    if not texts:
        return []
    if list(texts) == ["en"]:
        return [f"{label}:", *(f"  {line}" for line in texts["en"].splitlines())]
    out = [f"{label}:"]
    for lang, text in texts.items():
        lines = text.splitlines() or [""]
        out.append(f"  [{lang}] {lines[0]}")
        out.extend(f"       {line}" for line in lines[1:])
    return out


def _check_lines(node: CheckNode, depth: int = 1) -> list[str]:
    pad = "  " * depth
    if node.kind == "check":
        params = json.dumps(dict(node.params), ensure_ascii=False, sort_keys=True)
        return [f"{pad}{node.type_name}: {params}"]
    out = [f"{pad}{node.kind}:"]
    for child in node.children:
        out.extend(_check_lines(child, depth + 1))
    return out


def detail(policy: Policy, rule: Rule) -> str:
    """One rule in full, for a person (every language the policy gives its texts in)."""
    kinds = ", ".join(sorted({leaf.type_name for leaf in rule.check.leaves()}))
    out = [f"{policy.id}/{rule.id}  (policy {policy.title} {policy.version}, {policy.path})",
           f"severity: {rule.severity}", f"check types: {kinds}"]
    out += _block("title", _texts(rule.titles, rule.title))
    out += _block("description", _texts(getattr(rule, "descriptions", None) or rule.description))
    out += _block("rationale", _texts(getattr(rule, "rationales", None) or rule.rationale))
    out += ["check:", *_check_lines(rule.check)]
    if rule.labels:
        out.append("applies to targets labelled: " + ", ".join(f"{k}={v}" for k, v in rule.labels.items()))
    if rule.references:
        out.append("references:")
        for ref in rule.references:
            out.append("  " + " ".join(str(v) for v in ref.values()))
    if rule.tags:
        out.append("tags: " + ", ".join(rule.tags))
    out += _block("message", _texts(rule.message))
    out += _block("remediation", _texts(rule.remediation))
    out.append(f"defined at: {rule.origin()}")
    if rule.disabled:
        out.append(f"disabled: {rule.disabled}")
    return "\n".join(out) + "\n"


def run_rules(paths: Sequence[str], names: Sequence[str], stdout: IO[str]) -> int:
    """``policyscan rules``: the table, or each named rule in full; exit 0 (2 for an unknown rule)."""
    from scanner.loader import load_policies
    from scanner.plugin_host import load_plugins

    policies = load_policies(paths, load_plugins())
    if not names:
        table(policies, stdout)
        return 0
    chosen = [find(policies, name) for name in names]  # every name checked before anything is printed
    print("\n".join(detail(p, r) for p, r in chosen), end="", file=stdout)
    return 0
