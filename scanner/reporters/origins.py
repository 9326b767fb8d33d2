"""What overlays changed, in words every reporter shares (the report's language).

An overlay (a policy with ``extends``) may change a base rule's fields (``overrides``) or
disable it (``disable``); the JSON report says so in ``policies[].extends`` and
``policies[].origins``. The other reports say it too, with these sentences: a rule's
changes (``severity set by contoso-tls (contoso.yaml:6)``) and what an overlay extends
(``contoso-tls 1.0 extends exchange-m365-tls12 1.0.0``). Field names are the policy
file's own keys and are kept as written; the rest is translated (:mod:`scanner.i18n`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from scanner.api import JSON
from scanner.i18n import N_, translated
from scanner.report import PolicyInfo, Report

TEXT = {
    "set_by": N_("{fields} set by {policy} ({file}:{line})"),
    "disabled_by": N_("disabled by {policy} ({file}:{line}): {reason}"),
    "extends": N_("{policy} {version} extends {chain}"),
    "changed": N_("changed by an overlay:"),
}


texts = translated(TEXT)
"""The table in a language (English where the catalog has no translation)."""


def changes(policy: PolicyInfo, rule: str) -> list[Mapping[str, JSON]]:
    """What overlays changed of ``rule``, in order (empty for a rule no overlay touched)."""
    origin = policy.origins.get(rule) or {}
    found = origin.get("changes") if isinstance(origin, Mapping) else None
    return [c for c in found if isinstance(c, Mapping)] if isinstance(found, list) else []


def fields(policy: PolicyInfo, rule: str) -> list[str]:
    """The fields overlays set on ``rule`` (``disabled`` when one disabled it), each once."""
    out: list[str] = []
    for c in changes(policy, rule):
        got = ["disabled"] if "disabled" in c else [str(f) for f in c.get("set") or []]
        out.extend(f for f in got if f not in out)
    return out


def sentences(found: Sequence[Mapping[str, JSON]], lang: str = "en") -> list[str]:
    """Each change in words: ``severity, remediation set by POLICY (FILE:LINE)``."""
    t = texts(lang)
    out = []
    for c in found:
        where = {"policy": c.get("policy"), "file": c.get("file"), "line": c.get("line")}
        if "disabled" in c:
            out.append(t["disabled_by"].format(reason=c["disabled"], **where))
        else:
            out.append(t["set_by"].format(fields=", ".join(str(f) for f in c.get("set") or []), **where))
    return out


def rule_origin(policy: PolicyInfo, rule: str, lang: str = "en") -> str:
    """Every change overlays made to ``rule``, in words, ``; ``-separated ("" for none)."""
    return "; ".join(sentences(changes(policy, rule), lang))


def extends_line(policy: PolicyInfo, lang: str = "en") -> str:
    """``OVERLAY VERSION extends BASE VERSION -> ...`` ("" for a policy that is no overlay)."""
    if not policy.extends:
        return ""
    chain = " -> ".join(f"{b.get('id')} {b.get('version')}" for b in policy.extends)
    return texts(lang)["extends"].format(policy=policy.id, version=policy.version, chain=chain)


def by_rule(report: Report) -> dict[tuple[str, str], str]:
    """(policy, rule) -> its changes in words, for every rule an overlay changed."""
    out: dict[tuple[str, str], str] = {}
    for p in report.policies:
        for rule in p.origins:
            said = rule_origin(p, rule, report.lang)
            if said:
                out[(p.id, rule)] = said
    return out
