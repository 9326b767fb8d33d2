"""Comparing two JSON reports: what a change made worse, what it fixed (``policyscan diff``, ``scan --baseline``).

Results are matched by (target, policy, rule). A result is *bad* when its
status is ``fail`` or ``error``. Between BEFORE and AFTER a key is:

- **new failure** (worse): bad after, and not bad before, or absent before;
- **fixed**: bad before, and ``pass`` (or ``waived``) after;
- **still failing**: bad before and after (also ``fail`` → ``error``: known, not new);
- **changed**: any other change of status (``pass`` → ``skip``, ``fail`` → ``skip``...);
- **gone**: in BEFORE only (a rule or target removed; listed, never worse).

``diff`` exits 1 when anything got worse (SPEC §3); else 3 when AFTER checked
nothing (no result, or only ``skip``), a result judged before is ``error``
after (``fail`` → ``error`` is not *worse*, but the gate cannot be green on
it), or a result failing before is gone from AFTER (not shown fixed); else 0. Reports made by another
tool version, or with another version or hash of a policy, are still compared,
with a warning naming what differs: never silently.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from gettext import NullTranslations
from pathlib import Path
from typing import Any

from scanner.api import Status
from scanner.errors import UsageError
from scanner.i18n import N_, translator

REPORT_SCHEMA_ID = "policyscan/report/v1"
BAD = frozenset({"fail", "error"})
STATUSES = tuple(s.value for s in Status)
MARKDOWN_LIMIT = 60_000
"""At most this many characters of Markdown, as the scan's markdown report (GitHub comments take 65,536)."""
Key = tuple[str, str, str]
# what a person reads in the text and Markdown renderings, marked for the ``policyscan`` catalog
_SECTIONS = (
    ("new_failures", N_("New failures")),
    ("fixed", N_("Fixed")),
    ("still_failing", N_("Still failing")),
    ("changed", N_("Changed")),
    ("gone", N_("Gone")),
)
_WORDS = {
    "pass": N_("pass"), "fail": N_("fail"), "error": N_("error"), "skip": N_("skip"), "waived": N_("waived"),
    "critical": N_("critical"), "high": N_("high"), "medium": N_("medium"), "low": N_("low"), "info": N_("info"),
}


@dataclass(frozen=True, slots=True)
class LoadedReport:
    """A JSON report read from a file, with its results indexed by (target, policy, rule)."""

    path: str
    sha256: str
    doc: Mapping[str, Any]
    results: Mapping[Key, Mapping[str, Any]]

    @property
    def tool_version(self) -> str:
        return str((self.doc.get("tool") or {}).get("version", "?"))

    def policy_versions(self) -> dict[str, tuple[str, str]]:
        return {str(p.get("id")): (str(p.get("version")), str(p.get("sha256"))) for p in self.doc.get("policies", [])}

    def bad_keys(self) -> frozenset[Key]:
        """The (target, policy, rule) keys that are ``fail`` or ``error`` (a baseline's known failures)."""
        return frozenset(k for k, r in self.results.items() if r.get("status") in BAD)


def read_report(path: str, what: str = "report") -> LoadedReport:
    """Read a policyscan JSON report; a file that is not one is a :class:`UsageError` naming it."""
    import orjson

    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        raise UsageError(f"{what} {path}: {exc.strerror or exc}") from None
    try:
        doc = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise UsageError(f"{what} {path}: not JSON ({exc})") from None
    twice = _key_twice(raw, doc)
    if twice is not None:
        raise UsageError(f"{what} {path}: not a valid policyscan report: key {twice!r} appears twice in one object "
                         "(a reader may take either value)")
    if not isinstance(doc, dict) or doc.get("schema") != REPORT_SCHEMA_ID or not isinstance(doc.get("results"), list):
        raise UsageError(f"{what} {path}: not a policyscan JSON report (expected \"schema\": \"{REPORT_SCHEMA_ID}\")")
    results: dict[Key, Mapping[str, Any]] = {}
    for i, r in enumerate(doc["results"]):
        try:
            key = (str(r["target"]), str(r["policy"]), str(r["rule"]))
            status = r["status"]
        except (KeyError, TypeError):
            raise UsageError(f"{what} {path}: results[{i}] lacks target, policy, rule or status") from None
        if status not in STATUSES:
            raise UsageError(f"{what} {path}: results[{i}] has status {status!r}, not one of {', '.join(STATUSES)}")
        if key in results:
            raise UsageError(f"{what} {path}: results[{i}] repeats {'/'.join(key)}: a report has one result per "
                             "(target, policy, rule)")
        results[key] = r
    problem = _envelope_problem(doc) or next(filter(None, (_result_problem(i, r) for i, r in enumerate(
        doc["results"]))), None)
    if problem:
        raise UsageError(f"{what} {path}: not a valid policyscan report: {problem}")
    summary = doc["summary"]
    if summary.get("total") != len(results):
        raise UsageError(f"{what} {path}: its summary counts {summary.get('total')} results but it holds "
                         f"{len(results)} (cut or edited?)")
    counted = Counter(str(r["status"]) for r in results.values())
    for status in STATUSES:
        if summary.get(status) != counted[status]:
            raise UsageError(f"{what} {path}: its summary counts {summary.get(status)} {status} results but it "
                             f"holds {counted[status]} (edited?)")
    return LoadedReport(path, hashlib.sha256(raw).hexdigest(), doc, results)


class _Twice(Exception):
    pass


def _unique(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise _Twice(key)
        out[key] = value
    return out


def _key_twice(raw: bytes, doc: Any) -> str | None:
    """A key that appears twice in one object of ``raw`` (the last one wins in ``doc``: a person or another
    reader may see the first), or None. A report as policyscan wrote it re-encodes to the same bytes, which
    rules duplicates out in a fraction of a second; anything else is parsed again, keeping every key."""
    import json

    from scanner.reporters.json_report import render

    if render(doc) == raw:
        return None
    try:
        json.loads(raw, object_pairs_hook=_unique)
    except _Twice as twice:
        return str(twice)
    except ValueError:
        return None  # not JSON the standard library reads; orjson's reading decides
    return None


_SEVERITIES = ("info", "low", "medium", "high", "critical")
_TEXT_FIELDS = ("target", "policy", "rule", "title", "message", "remediation")


def _envelope_problem(doc: Mapping[str, Any]) -> str | None:
    """The first way the report without its results breaks the report schema (jsonschema; small and fast)."""
    from scanner.output import report_schema_errors

    errors = report_schema_errors({**doc, "results": []})
    return errors[0] if errors else None


def _result_problem(i: int, r: Any) -> str | None:
    """The first way result ``i`` breaks the report schema's rules that a diff relies on. Checked by hand:
    jsonschema takes minutes for a 10,000-target report."""
    where = f"results/{i}"
    if not isinstance(r, dict):
        return f"{where}: not an object"
    for name in _TEXT_FIELDS:
        if not isinstance(r.get(name), str):
            return f"{where}/{name}: missing, or not a string"
    if r.get("severity") not in _SEVERITIES:
        return f"{where}/severity: {r.get('severity')!r} is not one of {', '.join(_SEVERITIES)}"
    status, outcome, waiver = r.get("status"), r.get("outcome"), r.get("waiver")
    if outcome not in STATUSES:
        return f"{where}/outcome: {outcome!r} is not one of {', '.join(STATUSES)}"
    if not isinstance(r.get("evidence"), list):
        return f"{where}/evidence: missing, or not a list"
    if waiver is not None and not (isinstance(waiver, dict) and isinstance(waiver.get("reason"), str)):
        return f"{where}/waiver: neither null nor a waiver with a reason"
    if status == "waived" and (outcome != "fail" or waiver is None):
        return f"{where}: a waived result must keep outcome fail and name its waiver"
    if status != "waived" and outcome != status:
        return f"{where}: outcome {outcome!r} differs from status {status!r} (only a waived result may differ)"
    return None


@dataclass(frozen=True, slots=True)
class Change:
    key: Key
    before: str | None
    """Status before; None when the key was not in BEFORE."""
    after: str | None
    """Status after; None when the key is not in AFTER."""
    title: str = ""
    severity: str = ""
    message: str = ""


@dataclass(slots=True)
class Diff:
    new_failures: list[Change] = field(default_factory=list)
    fixed: list[Change] = field(default_factory=list)
    still_failing: list[Change] = field(default_factory=list)
    changed: list[Change] = field(default_factory=list)
    gone: list[Change] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    unchanged: int = 0
    newly_unjudged: list[Change] = field(default_factory=list)
    """Judged before (``pass``/``fail``), ``error`` after: the change left them unchecked (also among
    new failures or still failing)."""
    judged_after: int = 0
    """AFTER's results that were judged or at least tried: ``pass``, ``fail``, ``error`` or ``waived``."""
    failing_gone: int = 0
    """BEFORE's ``fail``/``error`` results whose (target, policy, rule) AFTER does not have: not shown fixed
    (a host left out of AFTER's inventory must not read as a fix)."""

    @property
    def worse(self) -> bool:
        return bool(self.new_failures)

    @property
    def unchecked(self) -> bool:
        """AFTER checked nothing (no result, or every one ``skip``), or left something unchecked that was
        judged before: never a green diff (exit 3, SPEC §3), even when nothing got worse."""
        return self.judged_after == 0 or bool(self.newly_unjudged) or self.failing_gone > 0

    def exit_code(self) -> int:
        """1 when anything got worse, else 3 when AFTER checked nothing or lost a judgement, else 0."""
        return 1 if self.worse else 3 if self.unchecked else 0

    def to_json(self, before: LoadedReport, after: LoadedReport) -> dict[str, Any]:
        def items(changes: Sequence[Change]) -> list[dict[str, Any]]:
            return [{"target": c.key[0], "policy": c.key[1], "rule": c.key[2], "before": c.before,
                     "after": c.after, "title": c.title, "severity": c.severity, "message": c.message}
                    for c in changes]

        return {
            "schema": "policyscan/diff/v1",
            "before": {"file": before.path, "sha256": before.sha256, "tool_version": before.tool_version},
            "after": {"file": after.path, "sha256": after.sha256, "tool_version": after.tool_version},
            "worse": self.worse,
            "unchecked": self.unchecked,
            "newly_unjudged": len(self.newly_unjudged),
            "failing_gone": self.failing_gone,
            "warnings": list(self.warnings),
            "summary": {"new_failures": len(self.new_failures), "fixed": len(self.fixed),
                        "still_failing": len(self.still_failing), "changed": len(self.changed),
                        "gone": len(self.gone), "unchanged": self.unchanged},
            "new_failures": items(self.new_failures),
            "fixed": items(self.fixed),
            "still_failing": items(self.still_failing),
            "changed": items(self.changed),
            "gone": items(self.gone),
        }


def version_warnings(before: LoadedReport, after: LoadedReport, lang: str = "en") -> list[str]:
    """What differs between the runs that could explain a difference other than the change itself (in ``lang``)."""
    _ = translator(lang).gettext
    out: list[str] = []
    if before.tool_version != after.tool_version:
        out.append(_("the reports were made by different policyscan versions ({before} and {after})").format(
            before=before.tool_version, after=after.tool_version))
    b, a = before.policy_versions(), after.policy_versions()
    for pid in sorted(set(b) | set(a)):
        if pid not in a:
            out.append(_("policy {policy} is only in the before report").format(policy=pid))
        elif pid not in b:
            out.append(_("policy {policy} is only in the after report").format(policy=pid))
        elif b[pid][0] != a[pid][0]:
            out.append(_("policy {policy} changed version ({before} -> {after})").format(
                policy=pid, before=b[pid][0], after=a[pid][0]))
        elif b[pid][1] != a[pid][1]:
            out.append(_("policy {policy} changed content under the same version {version} (SHA-256 differs)")
                       .format(policy=pid, version=a[pid][0]))
    return out


def compare(before: LoadedReport, after: LoadedReport, lang: str = "en") -> Diff:
    """The changes from BEFORE to AFTER; its warnings are in ``lang``."""
    diff = Diff(warnings=version_warnings(before, after, lang))
    for key in sorted(set(before.results) | set(after.results)):
        b, a = before.results.get(key), after.results.get(key)
        bs = str(b["status"]) if b is not None else None
        as_ = str(a["status"]) if a is not None else None
        shown = a if a is not None else b
        assert shown is not None
        change = Change(key, bs, as_, str(shown.get("title", "")), str(shown.get("severity", "")),
                        str(shown.get("message", "")))
        if as_ is not None and as_ != "skip":
            diff.judged_after += 1
        if as_ == "error" and bs in ("pass", "fail"):
            diff.newly_unjudged.append(change)
        if as_ is None:
            diff.gone.append(change)
            diff.failing_gone += bs in BAD
        elif as_ in BAD and bs not in BAD:
            diff.new_failures.append(change)
        elif as_ in BAD:
            diff.still_failing.append(change)
        elif bs in BAD and as_ in ("pass", "waived"):
            diff.fixed.append(change)
        elif bs != as_:
            diff.changed.append(change)
        else:
            diff.unchanged += 1
    return diff


def _word(tr: NullTranslations, value: str | None) -> str:
    """A status or severity in the reader's language; ``absent`` for none."""
    if value is None:
        return tr.gettext("absent")
    return tr.gettext(_WORDS[value]) if value in _WORDS else value


def _line(c: Change, tr: NullTranslations) -> str:
    target, policy, rule = c.key
    arrow = f"{_word(tr, c.before)} -> {_word(tr, c.after)}"
    sev = f" [{_word(tr, c.severity)}]" if c.severity else ""
    return f"{target}  {policy}/{rule}{sev}: {arrow}" + (f"  {c.title}" if c.title else "")


def render_text(diff: Diff, lang: str = "en") -> str:
    """The diff as console text, its headings and labels in ``lang``."""
    tr = translator(lang)
    _ = tr.gettext
    parts = [_("warning: {warning}").format(warning=w) for w in diff.warnings]
    for name, title in _SECTIONS:
        changes: list[Change] = getattr(diff, name)
        if changes:
            parts.append(_("{section} ({n}):").format(section=_(title), n=len(changes)))
            parts.extend(f"  {_line(c, tr)}" for c in changes)
    counts = _("{new} new failure(s), {fixed} fixed, {still} still failing, {changed} changed, {gone} gone, "
               "{unchanged} unchanged").format(
        new=len(diff.new_failures), fixed=len(diff.fixed), still=len(diff.still_failing),
        changed=len(diff.changed), gone=len(diff.gone), unchanged=diff.unchanged)
    parts.append(counts + (_(": WORSE") if diff.worse else ""))
    parts.extend(_unchecked_lines(diff, _))
    return "\n".join(parts) + "\n"


def _unchecked_lines(diff: Diff, _: Any) -> list[str]:
    """Why a diff that is not worse is still not green (exit 3)."""
    out = []
    if diff.judged_after == 0:
        out.append(_("AFTER checked nothing (no result, or every result skip): not a pass"))
    if diff.newly_unjudged:
        out.append(_("{n} result(s) judged before could not be checked after (now error): not a pass").format(
            n=len(diff.newly_unjudged)))
    if diff.failing_gone:
        out.append(_("{n} result(s) failing before are not in AFTER (a target, policy or rule left out): "
                     "not shown fixed, not a pass").format(n=diff.failing_gone))
    return out


def _md_rows(changes: Iterable[Change], tr: NullTranslations) -> list[str]:
    from scanner.reporters.markdown import escape

    _ = tr.gettext
    header = [_("target"), _("policy/rule"), _("severity"), _("before"), _("after"), _("title")]
    rows = ["| " + " | ".join(escape(h) for h in header) + " |", "|---|---|---|---|---|---|"]
    for c in changes:
        cells = [c.key[0], f"{c.key[1]}/{c.key[2]}", _word(tr, c.severity) if c.severity else "",
                 _word(tr, c.before), _word(tr, c.after), c.title]
        rows.append("| " + " | ".join(escape(x) for x in cells) + " |")
    return rows


def render_markdown(diff: Diff, lang: str = "en") -> str:
    """The diff as Markdown (at most :data:`MARKDOWN_LIMIT` characters), its headings and labels in ``lang``."""
    from scanner.reporters.markdown import escape

    tr = translator(lang)
    _ = tr.gettext
    head = "## " + (_("policyscan diff: worse") if diff.worse else _("policyscan diff: unchecked")
                    if diff.unchecked else _("policyscan diff: not worse"))
    out = [head, ""]
    out += ["> " + escape(line) for line in _unchecked_lines(diff, _)]
    out += ["> " + escape(_("warning: {warning}").format(warning=w)) for w in diff.warnings]
    if diff.warnings:
        out.append("")
    out.append(_("**{new}** new failure(s), **{fixed}** fixed, {still} still failing, {changed} changed, "
                 "{gone} gone.").format(new=len(diff.new_failures), fixed=len(diff.fixed),
                                        still=len(diff.still_failing), changed=len(diff.changed),
                                        gone=len(diff.gone)))
    for name, title in _SECTIONS:
        changes = getattr(diff, name)
        if changes:
            out += ["", f"### {_(title)}", "", *_md_rows(changes, tr)]
    return _capped(out, tr)


def _capped(lines: list[str], tr: NullTranslations) -> str:
    """The lines, cut at whole lines so the text stays under :data:`MARKDOWN_LIMIT` with a note."""
    text = "\n".join(lines) + "\n"
    if len(text) <= MARKDOWN_LIMIT:
        return text
    kept: list[str] = []
    size = 0
    for line in lines:
        if size + len(line) + 1 > MARKDOWN_LIMIT - 200:
            break
        kept.append(line)
        size += len(line) + 1
    left = len(lines) - len(kept)
    kept.append("\n" + tr.gettext("_… {n} more line(s) left out; `policyscan diff --report json=FILE` writes the "
                                   "whole diff._").format(n=left))
    return "\n".join(kept) + "\n"
