"""The ``console`` reporter: what a person reads after ``policyscan scan``.

Layout::

    12 results: 6 pass, 2 fail, 1 error, 2 skip, 1 waived (3 targets, 1 policy)

    exch01.contoso.local
      FAIL   high      EXO-TLS12-001  SCHANNEL TLS 1.2 is enabled for the client side
             Enabled is 0, expected 1
             evidence: exports/exch01.reg:14
             remediation: Set ... to 1 and restart the server.

    Waived (1):
      exch02  EXO-TLS12-004  waived: Replaced by exch05 (expires 2026-12-31)
    Skipped (2):
      2 x target has no smtp source

Failures and errors are listed per target in result order (sorted by target,
policy, rule), so two runs diff cleanly. Rule ids carry their policy id when
the report has results from more than one policy. ANSI colour only when
``options.color`` is set (the CLI sets it for a terminal without NO_COLOR).
Text from hosts and logs is printed with control characters escaped, so a
hostile log line cannot drive the terminal. Every label and status word is
translated into the report's language (``report.lang``, :mod:`scanner.i18n`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from gettext import NullTranslations
from typing import IO

from scanner.api import Reporter, ReportOptions, Severity, Status, hookimpl
from scanner.i18n import N_, translator
from scanner.output import printable
from scanner.report import Report, Result

_RESET = "\x1b[0m"
_STYLE = {
    "pass": "\x1b[32m",
    "fail": "\x1b[1;31m",
    "error": "\x1b[1;35m",
    "skip": "\x1b[2m",
    "waived": "\x1b[33m",
    "target": "\x1b[1m",
    "dim": "\x1b[2m",
    Severity.CRITICAL.value: "\x1b[1;31m",
    Severity.HIGH.value: "\x1b[31m",
    Severity.MEDIUM.value: "\x1b[33m",
    Severity.LOW.value: "\x1b[36m",
    Severity.INFO.value: "\x1b[2m",
}
_ORDER = (Status.PASS, Status.FAIL, Status.ERROR, Status.SKIP, Status.WAIVED)
_EVIDENCE_SHOWN = 3
_SKIP_REASONS_SHOWN = 5
_INDENT = " " * 9
# the status words, marked for the catalog (translated where they are printed)
_STATUS_WORDS = {"pass": N_("pass"), "fail": N_("fail"), "error": N_("error"), "skip": N_("skip"),
                 "waived": N_("waived")}
_SEVERITY_WORDS = {"critical": N_("critical"), "high": N_("high"), "medium": N_("medium"), "low": N_("low"),
                   "info": N_("info")}

Paint = Callable[[str, str], str]


def _painter(color: bool) -> Paint:
    if not color:
        return lambda _style, text: text
    return lambda style, text: f"{_STYLE[style]}{text}{_RESET}" if text else text


def _clean(text: str) -> str:
    """One-line-safe text: control characters escaped, CR made visible (it could overwrite a line)."""
    return printable(text).replace("\r", "\\r")


def _status(tr: NullTranslations, status: str) -> str:
    return tr.gettext(_STATUS_WORDS[status])


def summary_line(report: Report, paint: Paint) -> str:
    """``N results: a pass, b fail, ... (T targets, P policies)``, in the report's language."""
    tr = translator(report.lang)
    counts = report.summary()
    parts = [
        paint(s.value, f"{counts[s.value]} {_status(tr, s.value)}") if counts[s.value] else f"0 {_status(tr, s.value)}"
        for s in _ORDER
    ]
    targets = len(report.targets) or len({r.target for r in report.results})
    policies = len(report.policies) or len({r.policy for r in report.results})
    total = counts["total"]
    return tr.gettext("{results}: {counts} ({targets}, {policies})").format(
        results=tr.ngettext("{n} result", "{n} results", total).format(n=total),
        counts=", ".join(parts),
        targets=tr.ngettext("{n} target", "{n} targets", targets).format(n=targets),
        policies=tr.ngettext("{n} policy", "{n} policies", policies).format(n=policies),
    )


def _rule_id(result: Result, multi_policy: bool) -> str:
    return f"{result.policy}/{result.rule}" if multi_policy else result.rule


def _block(label: str, text: str) -> list[str]:
    """``label: text`` with continuation lines of multi-line text indented under it."""
    lines = _clean(text).split("\n")
    head = f"{_INDENT}{label}{lines[0]}" if label else f"{_INDENT}{lines[0]}"
    pad = _INDENT + " " * len(label)
    return [head, *(pad + line for line in lines[1:])]


def _problem(result: Result, multi_policy: bool, paint: Paint, tr: NullTranslations) -> list[str]:
    _ = tr.gettext
    status = result.status.value
    severity = result.severity.value
    head = (
        f"  {paint(status, _status(tr, status).upper().ljust(6))} "
        f"{paint(severity, tr.gettext(_SEVERITY_WORDS[severity]).ljust(9))} "
        f"{_clean(_rule_id(result, multi_policy))}  {_clean(result.title)}"
    )
    lines = [head, *_block("", result.message or _("(no message)"))]
    sources = [str(e.get("source", "")) for e in result.evidence if e.get("source")]
    if sources:
        shown = "; ".join(sources[:_EVIDENCE_SHOWN])
        more = len(sources) - _EVIDENCE_SHOWN
        more_text = " " + _("(+{n} more)").format(n=more) if more > 0 else ""
        lines.extend(_block(_("evidence:") + " ", shown + more_text))
    if result.remediation and result.status is Status.FAIL:
        lines.extend(_block(_("remediation:") + " ", result.remediation))
    return lines


def _problems(results: Sequence[Result], multi_policy: bool, paint: Paint, tr: NullTranslations) -> list[str]:
    lines: list[str] = []
    current: str | None = None
    for r in results:
        if r.status not in (Status.FAIL, Status.ERROR):
            continue
        if r.target != current:
            current = r.target
            lines.extend(["", paint("target", _clean(r.target))])
        lines.extend(_problem(r, multi_policy, paint, tr))
    return lines


def _waived(results: Sequence[Result], multi_policy: bool, paint: Paint, tr: NullTranslations) -> list[str]:
    _ = tr.gettext
    waived = [r for r in results if r.status is Status.WAIVED]
    if not waived:
        return []
    lines = ["", paint("waived", _("Waived ({n}):").format(n=len(waived)))]
    for r in waived:
        waiver = r.waiver or {}
        reason = waiver.get("reason") or _("no reason given")
        expires = " " + _("(expires {date})").format(date=waiver["expires"]) if waiver.get("expires") else ""
        lines.append(
            f"  {_clean(r.target)}  {_clean(_rule_id(r, multi_policy))}  {_clean(str(reason) + expires)}"
        )
    return lines


def _skipped(results: Sequence[Result], paint: Paint, tr: NullTranslations) -> list[str]:
    _ = tr.gettext
    reasons = Counter(r.message or _("(no reason)") for r in results if r.status is Status.SKIP)
    if not reasons:
        return []
    lines = ["", paint("skip", _("Skipped ({n}):").format(n=sum(reasons.values())))]
    ranked = sorted(reasons.items(), key=lambda item: (-item[1], item[0]))
    lines.extend(f"  {n} x {_clean(reason)}" for reason, n in ranked[:_SKIP_REASONS_SHOWN])
    if len(ranked) > _SKIP_REASONS_SHOWN:
        lines.append("  " + _("... and {n} more reasons").format(n=len(ranked) - _SKIP_REASONS_SHOWN))
    return lines


def render(report: Report, color: bool = False) -> str:
    """The console text of ``report``, ending with a newline."""
    paint = _painter(color)
    tr = translator(report.lang)
    multi_policy = len({r.policy for r in report.results}) > 1
    lines = [summary_line(report, paint)]
    if report.facts is not None:  # results from a snapshot, not from the hosts: say so
        lines.append(_clean(tr.gettext("judged from facts {file} collected at {time}").format(
            file=report.facts.get("file"), time=report.facts.get("collected_at"))))
    for p in report.policies:  # an overlay says what it builds on, in the report's language
        if p.extends:
            chain = " -> ".join(f"{b['id']} {b['version']}" for b in p.extends)
            lines.append(_clean(tr.gettext("{policy} {version} extends {chain}").format(
                policy=p.id, version=p.version, chain=chain)))
    if not report.results:
        lines.append(tr.gettext("Nothing was checked: no rule produced a result."))
    lines += _problems(report.results, multi_policy, paint, tr)
    lines += _waived(report.results, multi_policy, paint, tr)
    lines += _skipped(report.results, paint, tr)
    return "\n".join(lines) + "\n"


def write(report: Report, stream: IO[str], options: ReportOptions) -> None:
    """Write the console report; colour only when ``options.color`` is True."""
    stream.write(render(report, color=options.color))


@hookimpl
def register_reporters() -> list[Reporter]:
    return [
        Reporter(
            name="console",
            write=write,
            description="Human-readable summary, failures and errors by target (default)",
            extension=".txt",
        )
    ]
