"""The ``markdown`` reporter: a summary for a pull-request comment or a GitHub job summary.

``--report markdown=summary.md`` (e.g. ``>> "$GITHUB_STEP_SUMMARY"`` or a
comment body) writes GitHub-flavoured Markdown::

    ## policyscan: 24 failed, 12 errors
    | total | pass | fail | error | skip | waived |      <- the counts
    3 targets, 2 policies, now 2026-11-26T10:00:00Z

    ### Failing rules (9)
    - contoso-tls 1.0 extends exchange-m365-tls12 1.0.0   <- each overlay, if any
    #### exchange-m365-tls12/EXO-TLS12-001: SCHANNEL TLS 1.2 ... (high; targets: 2)
                      ... - severity set by contoso-tls (contoso.yaml:6)   <- an overlay's change
    | target | message | evidence |                   <- each affected target
    **Remediation:** ...                              <- once, or per target when it differs

    ### Errors (12)          | target | rule | message |
    ### Waived (1)           | target | rule | reason | expires |
    <details><summary>Passed (57)</summary> | target | rule | title | </details>

Failing rules come most severe first (then by policy and rule id), targets in
report order. Skips are only counted.

Text from hosts, logs and policies is escaped, so it can neither break a table
nor act as Markdown or HTML: ``&``, ``<``, ``>``, ``|`` and backticks become
entities, ``\\ * _ [ ] ~`` are backslash-escaped, newlines become ``<br>``,
control characters are spelled as ``\\x1b``-style escapes, and ``@`` and ``#``
are followed by an invisible word joiner (U+2060) so ``@team`` or ``#123`` in a
log line pings nobody and links nothing.

The document never exceeds :data:`MAX_CHARS` (60,000) characters, under GitHub's
65,536 for a comment: past that, whole lines are left out from the end (passes
first, as they come last) and a line says how many lines and characters were
left out and where the full results are: the run's other ``--report`` files
(``ReportOptions.reports``), JSON first, or else the JSON report. The reporter has no
``stream``: a scan gathers the results for it.

Every heading, table header and notice is in the report's language
(``report.lang``, the ``policyscan`` gettext catalog of :mod:`scanner.i18n`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import IO

from scanner.api import Reporter, ReportOptions, Severity, Status, hookimpl
from scanner.i18n import N_, translated
from scanner.output import printable
from scanner.report import Report, Result
from scanner.reporters import origins

MAX_CHARS = 60_000
"""The longest document written (GitHub refuses comments over 65,536 characters)."""
MAX_EVIDENCE = 3
"""Evidence sources shown per affected target."""

# Every sentence and label a person reads, in one place: marked for the ``policyscan``
# catalog and translated into the report's language (``report.lang``) by :func:`texts`.
TEXT = {
    "title_fail": N_("policyscan: {fail} failed, {error} errors"),
    "title_error": N_("policyscan: no failures, {error} errors"),
    "title_ok": N_("policyscan: no failures"),
    "title_nothing": N_("policyscan: nothing was checked"),
    "scope": N_("{targets} targets, {policies} policies, now {now}"),
    "facts": N_("judged from facts {file} collected at {time}"),
    "failing": N_("Failing rules ({n})"),
    "rule": N_("{rule}: {title} ({severity}; targets: {n})"),
    "remediation": N_("Remediation"),
    "errors": N_("Errors ({n})"),
    "waived": N_("Waived ({n})"),
    "passed": N_("Passed ({n})"),
    "target": N_("target"),
    "rule_col": N_("rule"),
    "title": N_("title"),
    "message": N_("message"),
    "evidence": N_("evidence"),
    "reason": N_("reason"),
    "expires": N_("expires"),
    "no_reason": N_("no reason given"),
    "truncated": N_("_{lines} more lines ({chars} characters) left out to stay under {limit} characters: "
                    "the full results are in {where}._"),
    "where_unknown": N_("the JSON report (`--report json=FILE`)"),
    "where_file": N_("{path} ({format})"),
    "where_stdout": N_("the {format} report on standard output"),
    "where_join": ", ",
    # the counts table's header: the statuses and their total
    "total": N_("total"),
    "pass": N_("pass"),
    "fail": N_("fail"),
    "error": N_("error"),
    "skip": N_("skip"),
    "waived_col": N_("waived"),
    # severities, as a failing rule's heading names them
    "critical": N_("critical"),
    "high": N_("high"),
    "medium": N_("medium"),
    "low": N_("low"),
    "info": N_("info"),
}
_COUNTS = ("total", "pass", "fail", "error", "skip", "waived")
_COUNT_LABELS = ("total", "pass", "fail", "error", "skip", "waived_col")


texts = translated(TEXT)
"""The table in a language (English where the catalog has no translation)."""


_SPECIAL = re.compile(r"[\\*_\[\]~&<>|`@#\r\n]")
_REPLACE = {
    "\\": "\\\\", "*": "\\*", "_": "\\_", "[": "\\[", "]": "\\]", "~": "\\~",
    "&": "&amp;", "<": "&lt;", ">": "&gt;", "|": "&#124;", "`": "&#96;",
    "@": "@\u2060", "#": "#\u2060", "\r": "", "\n": "<br>",
}  # fmt: skip


_memo: dict[str, str] = {}


def escape(text: object) -> str:
    """Any text as inert Markdown for a table cell or a line: see the module docstring.
    (Remembered: target names, rule ids and titles repeat on every row of a fleet.)"""
    key = str(text)
    hit = _memo.get(key)
    if hit is None:
        if len(_memo) > 100_000:
            _memo.clear()
        hit = _memo[key] = _SPECIAL.sub(lambda m: _REPLACE[m.group()], printable(key))
    return hit


def _row(*cells: object) -> str:
    return "| " + " | ".join(escape(c) for c in cells) + " |"


def _header(*labels: str) -> list[str]:
    return [_row(*labels), "|" + "---|" * len(labels)]


def _title(summary: dict[str, int], t: Mapping[str, str]) -> str:
    if summary["fail"]:
        return t["title_fail"].format(**summary)
    if summary["error"]:
        return t["title_error"].format(**summary)
    if summary["pass"] or summary["waived"]:
        return t["title_ok"]
    return t["title_nothing"]


def _sources(r: Result) -> str:
    sources = [str(e["source"]) for e in r.evidence if e.get("source")]
    more = len(sources) - MAX_EVIDENCE
    return ", ".join(sources[:MAX_EVIDENCE]) + (f" (+{more})" if more > 0 else "")


def _failing(
    results: Sequence[Result], t: Mapping[str, str], changed: Mapping[tuple[str, str], str] | None = None
) -> Iterator[str]:
    """The failing rules; ``changed``: (policy, rule) -> what overlays changed of it, in words."""
    groups: dict[tuple[str, str], list[Result]] = {}
    for r in results:
        if r.status is Status.FAIL:
            groups.setdefault((r.policy, r.rule), []).append(r)
    if not groups:
        return
    yield f"### {t['failing'].format(n=len(groups))}"
    order = sorted(groups.items(), key=lambda kv: (-Severity(kv[1][0].severity).rank, kv[0]))
    for (policy, rule), group in order:
        first = group[0]
        remedies = {r.remediation for r in group}
        yield ""
        severity = t.get(str(first.severity), str(first.severity))
        heading = t["rule"].format(rule=f"{policy}/{rule}", title=first.title, severity=severity, n=len(group))
        said = (changed or {}).get((policy, rule))
        yield "#### " + escape(f"{heading} - {said}" if said else heading)
        yield ""
        per_target = len(remedies) > 1
        labels = [t["target"], t["message"], t["evidence"]]
        yield from _header(*labels, *([t["remediation"]] if per_target else []))
        for r in group:
            yield _row(r.target, r.message, _sources(r), *([r.remediation] if per_target else []))
        if not per_target and first.remediation:
            yield ""
            yield f"**{escape(t['remediation'])}:** {escape(first.remediation)}"


def _errors(results: Sequence[Result], t: Mapping[str, str]) -> Iterator[str]:
    errors = [r for r in results if r.status is Status.ERROR]
    if errors:
        yield f"### {t['errors'].format(n=len(errors))}"
        yield ""
        yield from _header(t["target"], t["rule_col"], t["message"])
        yield from (_row(r.target, f"{r.policy}/{r.rule}", r.message) for r in errors)


def _waived(results: Sequence[Result], t: Mapping[str, str]) -> Iterator[str]:
    waived = [r for r in results if r.status is Status.WAIVED]
    if waived:
        yield f"### {t['waived'].format(n=len(waived))}"
        yield ""
        yield from _header(t["target"], t["rule_col"], t["reason"], t["expires"])
        for r in waived:
            w = r.waiver or {}
            yield _row(r.target, f"{r.policy}/{r.rule}", w.get("reason") or t["no_reason"], w.get("expires") or "")


def _passed(results: Sequence[Result], t: Mapping[str, str]) -> Iterator[str]:
    passed = [r for r in results if r.status is Status.PASS]
    if passed:
        yield f"<details><summary>{escape(t['passed'].format(n=len(passed)))}</summary>"
        yield ""
        yield from _header(t["target"], t["rule_col"], t["title"])
        yield from (_row(r.target, f"{r.policy}/{r.rule}", r.title) for r in passed)
        yield ""
        yield "</details>"


def lines(report: Report) -> Iterator[str]:
    """The whole document, line by line, before any cut."""
    summary = report.summary()
    t = texts(report.lang)
    yield f"## {escape(_title(summary, t))}"
    yield ""
    if report.facts is not None:  # results from a snapshot, not from the hosts: say so under the title
        yield escape(t["facts"].format(file=report.facts.get("file"), time=report.facts.get("collected_at")))
        yield ""
    yield from _header(*(t[k] for k in _COUNT_LABELS))
    yield "| " + " | ".join(str(summary[k]) for k in _COUNTS) + " |"
    yield ""
    yield escape(t["scope"].format(targets=len(report.targets), policies=len(report.policies),
                                      now=report.now.strftime("%Y-%m-%dT%H:%M:%SZ")))
    overlays = [origins.extends_line(p, report.lang) for p in report.policies if p.extends]
    if overlays:  # an overlay's changes must not pass for the base policy's own
        yield ""
        yield from (f"- {escape(line)}" for line in overlays)
    changed = origins.by_rule(report)
    for section in (_failing, _errors, _waived, _passed):
        first = True
        for line in (_failing(report.results, t, changed) if section is _failing else section(report.results, t)):
            if first:
                yield ""
                first = False
            yield line


def full_reports(reports: Sequence[tuple[str, str | None]], lang: str = "en") -> str:
    """Where the full results are: the run's other reports (JSON first), else a hint (in ``lang``)."""
    t = texts(lang)
    others = sorted((spec for spec in reports if spec[0] != "markdown"), key=lambda spec: spec[0] != "json")
    where = [
        t["where_file"].format(path=escape(path), format=escape(fmt)) if path not in (None, "-")
        else t["where_stdout"].format(format=escape(fmt))
        for fmt, path in others
    ]
    return t["where_join"].join(where) if where else t["where_unknown"]


def capped(all_lines: Iterable[str], limit: int = MAX_CHARS, where: str | None = None, lang: str = "en") -> str:
    """The lines joined, cut at a line so the text with its notice (in ``lang``) stays within
    ``limit`` (``where`` says where the full results are; by default, the JSON report)."""
    t = texts(lang)
    where = t["where_unknown"] if where is None else where
    where = where if len(where) <= 2000 else where[:2000] + "…"
    # room for the notice (its numbers at most 20 digits each) and the </details> it may close
    budget = limit - len(t["truncated"]) - len(where) - 100
    kept: list[str] = []
    size = 0
    left_lines = left_chars = 0
    for line in all_lines:
        if left_lines or size + len(line) + 1 > budget:
            left_lines += 1
            left_chars += len(line) + 1
            continue
        kept.append(line)
        size += len(line) + 1
    if left_lines:
        opened = sum(line.startswith("<details>") for line in kept) > kept.count("</details>")
        notice = t["truncated"].format(lines=left_lines, chars=left_chars, limit=f"{limit:,}", where=where)
        kept += [""] + ["</details>"] * opened + ["", notice]
    return "\n".join(kept) + "\n"


def write(report: Report, stream: IO[str], options: ReportOptions) -> None:
    """Write the Markdown summary of ``report``; ``options.reports`` names where the full results are."""
    stream.write(capped(lines(report), where=full_reports(options.reports, report.lang), lang=report.lang))


@hookimpl
def register_reporters() -> list[Reporter]:
    return [
        Reporter(
            name="markdown",
            write=write,
            description="A Markdown summary for pull-request comments and GitHub job summaries (<= 60,000 characters)",
            extension=".md",
        )
    ]
