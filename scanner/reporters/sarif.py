"""The ``sarif`` reporter: SARIF 2.1.0 for GitHub code scanning and other SARIF viewers.

``--report sarif=policyscan.sarif`` writes one SARIF log with one run:

* ``tool.driver``: ``name`` ``policyscan``, ``version``, and ``rules``: every
  rule of every loaded policy, id ``POLICY/RULE``, ``name`` the rule id,
  ``shortDescription`` its title, ``fullDescription`` its description, ``help``
  (text and Markdown) its remediation template in the report's language with
  its rationale and references, ``helpUri`` its first reference,
  ``defaultConfiguration.level`` and ``properties.security-severity`` from its
  severity (as GitHub code scanning reads them), ``properties.tags``
  (``security``, ``policyscan``, the policy id and the rule's tags);
* a rule an overlay changed (or disabled) says so: ``properties.origin`` (where the rule
  is written, then each change), ``properties.overriddenBy`` (each change: ``policy``,
  ``file``, ``line`` and the fields ``set``, or ``disabled`` and its reason), and one
  more paragraph in ``fullDescription`` and ``help`` ("severity set by OVERLAY (FILE:LINE)"),
  so an overlay's severity never passes for the base policy's own;
* ``results``: one per ``fail`` (``ruleId``, ``ruleIndex``, ``level``, message
  ``TARGET: message``), and one per ``waived`` result carrying a
  ``suppressions`` entry (kind ``external``, status ``accepted``,
  justification the waiver's reason). Passes and skips are not results;
* every result has a physical location: the first evidence ``source`` that is a
  ``path:line`` (a ``.reg`` export line, a log line), else the rule's line in
  its policy file. Sources that are not files (``smtp://host:port``,
  ``live:HKEY_...``) never become locations. A path inside the working folder
  is a relative URI with ``uriBaseId`` ``%SRCROOT%`` (defined in
  ``originalUriBaseIds`` as that folder), as GitHub wants; one outside it is an
  absolute ``file:`` URI;
* ``partialFingerprints`` ``policyscan/v1``: a hash of target, policy and rule
  only, so an alert is the same alert from run to run whatever its message or
  the time;
* ``error`` results (a check that could not be carried out) are not results but
  ``invocations[0].toolExecutionNotifications`` (level ``error``, message
  ``TARGET: message``, ``associatedRule``, the same location rules), and
  ``executionSuccessful`` is false when there is any;
* ``run.properties.policyscan``: the summary counts and the ``now`` of the run; for
  ``scan --facts``, ``facts``: the facts file judged (``file``, ``sha256``,
  ``collected_at``, ``tool``), so the results are known to come from a snapshot.

GitHub's limits: code scanning refuses a run of more than 25,000 results or
a file over 10 MB gzipped (a fleet of thousands of failing hosts gets there;
scan it in parts, e.g. one upload per site or policy, with its own
``category``), and shows at most 10 tags per rule.

Streaming: the document is rendered in pieces like the JSON report, with one
more section (:class:`~scanner.api.ResultSection`): each batch of a fleet scan
writes its results into one part and its errors into another, and the parent
joins ``head + result parts + lead + notification parts + tail``. Results and
notifications are written one JSON object per item, indented in place, so an
empty array is ``[`` newline ``]`` and no piece depends on another's length;
:func:`write` writes exactly those pieces.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import IO, Any
from urllib.parse import quote

from scanner.api import JSON, Reporter, ReportOptions, ResultSection, ResultStream, Severity, Status, hookimpl
from scanner.i18n import N_, translated
from scanner.report import Report, Result, RuleInfo
from scanner.reporters import origins
from scanner.reporters.json_report import render

SARIF_VERSION = "2.1.0"
SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
SRCROOT = "%SRCROOT%"
FINGERPRINT = "policyscan/v1"

LEVEL = {
    Severity.CRITICAL: "error",
    Severity.HIGH: "error",
    Severity.MEDIUM: "warning",
    Severity.LOW: "warning",
    Severity.INFO: "note",
}
"""SARIF level of a result (and a rule's default) by severity."""

SECURITY_SEVERITY = {
    Severity.CRITICAL: "9.5",
    Severity.HIGH: "8.0",
    Severity.MEDIUM: "5.5",
    Severity.LOW: "3.0",
    Severity.INFO: "0.0",
}
"""GitHub code scanning's ``security-severity`` score by severity (>= 9 critical, >= 7 high, >= 4 medium)."""

# Every sentence a person reads, in one place: marked for the ``policyscan`` catalog and
# translated into the report's language where they are written (:func:`texts`).
TEXT = {
    "result": N_("{target}: {message}"),
    "no_reason": N_("waived without a reason"),
    "remediation": N_("Remediation"),
    "rationale": N_("Rationale"),
    "references": N_("References"),
    "placeholders": N_("(placeholders such as ${actual} are filled in for each target in the JSON report)"),
}


texts = translated(TEXT)
"""The table in a language (English where the catalog has no translation)."""


_RESULTS_SENTINEL = "\x00policyscan-sarif-results\x00"
_NOTES_SENTINEL = "\x00policyscan-sarif-notifications\x00"
_RESULT_INDENT = b"\n        "
_NOTE_INDENT = b"\n            "
_SEPARATOR = b","
# a path:line evidence source; a URI scheme (two letters or more, then ':') is not a file
_FILE_LINE = re.compile(r"(?P<path>.+):(?P<line>[1-9][0-9]{0,8})\Z", re.DOTALL)
# not a file: smtp://host:25, live:HKLM\... (a bare "exch01.reg:14" is a file, though "exch01.reg:" looks like a scheme)
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]+://|live:")


def fingerprint(target: str, policy: str, rule: str) -> str:
    """The stable identity of a (target, policy, rule): the same from run to run."""
    return hashlib.sha256(f"{target}\x00{policy}\x00{rule}".encode("utf-8", "surrogatepass")).hexdigest()


def _rule_id(policy: str, rule: str) -> str:
    return f"{policy}/{rule}"


def _pick(texts: Mapping[str, str], lang: str) -> str:
    """The remediation template in ``lang``, else English, else the first there is."""
    for key in (lang, "en"):
        if texts.get(key):
            return texts[key]
    return next((t for t in texts.values() if t), "")


def _md(text: str) -> str:
    """Text from a policy, safe as Markdown: no HTML, no emphasis or links of its own."""
    return re.sub(r"([\\`*_\[\]<>|~])", r"\\\1", text)


def _rule(policy: str, info: RuleInfo, lang: str, changes: Sequence[Mapping[str, JSON]] = ()) -> dict[str, JSON]:
    """The SARIF rule of ``info``; ``changes``: what overlays changed of it (:mod:`.origins`)."""
    words = texts(lang)
    remediation = _pick(info.remediation, lang)
    text = [f"{words['remediation']}: {remediation} {words['placeholders']}"] if remediation else []
    markdown = [f"**{words['remediation']}**\n\n{_md(remediation)}"] if remediation else []
    if info.rationale:
        text.append(f"{words['rationale']}: {info.rationale}")
        markdown.append(f"**{words['rationale']}**\n\n{_md(info.rationale)}")
    # only web links: a policy from elsewhere may carry javascript: or data: URLs
    links = [(str(r.get("title") or r.get("url")), str(r["url"])) for r in info.references
             if str(r.get("url") or "").lower().startswith(("https://", "http://"))]
    if links:
        text.append(f"{words['references']}: " + ", ".join(url for _, url in links))
        markdown.append(f"**{words['references']}**\n\n" + "\n".join(f"- <{url}> {_md(title)}" for title, url in links))
    rule: dict[str, JSON] = {
        "id": _rule_id(policy, info.id),
        "name": info.id,
        "shortDescription": {"text": info.title or info.id},
    }
    # GitHub wants both, whatever the policy wrote: the title stands in for what is missing
    rule["fullDescription"] = {"text": info.description or info.title or info.id}
    if not text:
        text, markdown = [info.title or info.id], [_md(info.title or info.id)]
    changed = origins.sentences(changes, lang)
    if changed:  # an overlay's severity (or text) must not pass for the base policy's own
        said = "; ".join(changed)
        rule["fullDescription"] = {"text": f"{rule['fullDescription']['text']}\n\n{said}"}
        text.append(said)
        markdown.append("\n".join(f"- {_md(c)}" for c in changed))
    rule["help"] = {"text": "\n\n".join(text), "markdown": "\n\n".join(markdown)}
    if links:
        rule["helpUri"] = links[0][1]
    rule["defaultConfiguration"] = {"level": LEVEL[info.severity]}
    rule["properties"] = {
        "security-severity": SECURITY_SEVERITY[info.severity],
        "precision": "very-high",
        "problem.severity": "error" if LEVEL[info.severity] == "error" else "warning",
        # GitHub takes at most 20 tags per rule
        "tags": ["security", "policyscan", policy, *(t for t in info.tags if t not in ("security", policy))][:20],
        "policy": policy,
        "severity": str(info.severity),
        "checkType": info.check_type,
    }
    if info.origin:  # a rule of an overlay: where it is written, and what overlays changed
        rule["properties"]["origin"] = info.origin
    if changes:
        rule["properties"]["overriddenBy"] = [dict(c) for c in changes]
    return rule


class _Places:
    """Where a result points: paths resolved once per report (rules, targets' folders, the
    working folder), evidence paths remembered as they are met."""

    def __init__(self, report: Report) -> None:
        self.cwd = Path.cwd()
        self._cwd = str(self.cwd)
        self._inside = os.path.join(self._cwd, "")  # the folder with its final separator
        self.index: dict[tuple[str, str], int] = {}
        self.rule_line: dict[tuple[str, str], tuple[str, int]] = {}
        for policy in report.policies:
            for info in policy.rules:
                self.index.setdefault((policy.id, info.id), len(self.index))
                if policy.path:
                    # an overlay's inherited rule is written in its base's file
                    self.rule_line[(policy.id, info.id)] = (info.file or policy.path, info.line or 1)
        self.policy_path = {p.id: p.path for p in report.policies if p.path}
        self.base = {t.name: t.base_dir for t in report.targets if t.base_dir}
        self._artifacts: dict[tuple[str, str], dict[str, str]] = {}
        self.text = texts(report.lang)

    def artifact(self, path: str, base: str = "") -> dict[str, str]:
        """``{"uri", "uriBaseId"}`` of a file: relative to the working folder when inside it."""
        key = (base, path)
        hit = self._artifacts.get(key)
        if hit is None:  # os.path on strings: a fleet has a path per target, pathlib is 5x slower
            full = os.path.normpath(os.path.join(base or self._cwd, path))
            if full.startswith(self._inside):
                rel = full[len(self._inside) :]
                hit = {"uri": quote(rel.replace(os.sep, "/"), safe="/"), "uriBaseId": SRCROOT}
            else:
                hit = {"uri": Path(full).as_uri()}
            if len(self._artifacts) > 100_000:
                self._artifacts.clear()
            self._artifacts[key] = hit
        return hit

    def location(self, r: Result) -> dict[str, JSON] | None:
        for item in r.evidence:
            source = item.get("source")
            if type(source) is not str:
                continue
            m = _FILE_LINE.match(source)
            if m is None or _SCHEME.match(source) or "\n" in source:
                continue
            artifact = self.artifact(m["path"], self.base.get(r.target, ""))
            return _physical(artifact, int(m["line"]))
        where = self.rule_line.get((r.policy, r.rule))
        if where is None and r.policy in self.policy_path:
            where = (self.policy_path[r.policy], 1)
        if where is None:
            return None
        return _physical(self.artifact(where[0]), where[1])


def _physical(artifact: dict[str, str], line: int) -> dict[str, JSON]:
    return {"physicalLocation": {"artifactLocation": artifact, "region": {"startLine": line}}}


def _result(r: Result, places: _Places) -> dict[str, JSON]:
    item: dict[str, JSON] = {"ruleId": _rule_id(r.policy, r.rule)}
    index = places.index.get((r.policy, r.rule))
    if index is not None:
        item["ruleIndex"] = index
    item["level"] = LEVEL[r.severity]
    item["message"] = {"text": places.text["result"].format(target=r.target, message=r.message)}
    location = places.location(r)
    if location is not None:
        item["locations"] = [location]
    item["partialFingerprints"] = {FINGERPRINT: fingerprint(r.target, r.policy, r.rule)}
    if r.status is Status.WAIVED:
        waiver = r.waiver or {}
        suppression: dict[str, JSON] = {
            "kind": "external",
            "status": "accepted",
            "justification": str(waiver.get("reason") or places.text["no_reason"]),
        }
        if waiver.get("expires"):
            suppression["properties"] = {"expires": str(waiver["expires"])}
        item["suppressions"] = [suppression]
    item["properties"] = {"target": r.target, "policy": r.policy, "rule": r.rule, "severity": str(r.severity),
                          "status": str(r.status)}
    return item


def _notification(r: Result, places: _Places) -> dict[str, JSON]:
    item: dict[str, JSON] = {
        "level": "error",
        "message": {"text": places.text["result"].format(target=r.target, message=r.message)},
    }
    location = places.location(r)
    if location is not None:
        item["locations"] = [location]
    rule: dict[str, JSON] = {"id": _rule_id(r.policy, r.rule)}
    index = places.index.get((r.policy, r.rule))
    if index is not None:
        rule["index"] = index
    item["associatedRule"] = rule
    item["properties"] = {"target": r.target, "policy": r.policy, "rule": r.rule, "severity": str(r.severity)}
    return item


def _items(
    results: Sequence[Result],
    keep: Callable[[Result], bool],
    make: Callable[[Result, _Places], dict[str, JSON]],
    report: Report,
    indent: bytes,
    out: IO[bytes],
) -> None:
    """Each kept result as an indented JSON object on its own lines, joined by ``,``."""
    places: _Places | None = None
    first = True
    for r in results:
        if not keep(r):
            continue
        if places is None:
            places = _Places(report)
        data = render(make(r, places))[:-1].replace(b"\n", indent)
        out.write((b"" if first else _SEPARATOR) + indent + data)
        first = False


def _is_result(r: Result) -> bool:
    return r.status is Status.FAIL or r.status is Status.WAIVED


def _is_error(r: Result) -> bool:
    return r.status is Status.ERROR


def write_results(report: Report, results: Sequence[Result], out: IO[bytes]) -> None:
    """The ``fail`` and ``waived`` results of a run, as SARIF results (nothing for none)."""
    _items(results, _is_result, _result, report, _RESULT_INDENT, out)


def write_notifications(report: Report, results: Sequence[Result], out: IO[bytes]) -> None:
    """The ``error`` results of a run, as tool execution notifications (nothing for none)."""
    _items(results, _is_error, _notification, report, _NOTE_INDENT, out)


def _facts(facts: Mapping[str, Any]) -> dict[str, Any]:
    """``scan --facts``: the facts file the run judged (file, SHA-256, collection time, collecting tool);
    the SHA-256 of each source file is in the JSON report."""
    return {k: (dict(v) if isinstance(v, Mapping) else v) for k, v in facts.items() if k != "sources"}


def _iso(ts: Any) -> str:
    return str(ts.strftime("%Y-%m-%dT%H:%M:%SZ"))


def envelope(report: Report) -> dict[str, JSON]:
    """The SARIF log without its results and notifications (sentinels stand in their place)."""
    summary = report.summary()
    places = _Places(report)
    rules: list[JSON] = []
    for policy in report.policies:
        for info in policy.rules:
            if places.index.get((policy.id, info.id)) == len(rules):
                rules.append(_rule(policy.id, info, report.lang, origins.changes(policy, info.id)))
    return {
        "$schema": SARIF_SCHEMA,
        "version": SARIF_VERSION,
        "runs": [
            {
                "tool": {"driver": {"name": "policyscan", "version": report.tool_version, "rules": rules}},
                "originalUriBaseIds": {SRCROOT: {"uri": places.cwd.as_uri().rstrip("/") + "/"}},
                "results": _RESULTS_SENTINEL,
                "invocations": [
                    {
                        "executionSuccessful": summary["error"] == 0,
                        "startTimeUtc": _iso(report.started_at),
                        "endTimeUtc": _iso(report.finished_at),
                        "toolExecutionNotifications": _NOTES_SENTINEL,
                    }
                ],
                "properties": {"policyscan": {"summary": summary, "now": _iso(report.now)}
                               | ({"facts": _facts(report.facts)} if report.facts is not None else {})},
            }
        ],
    }


def _pieces(report: Report) -> tuple[bytes, bytes, bytes]:
    """(head, lead, tail): the envelope cut where the two arrays go."""
    doc = render(envelope(report))
    results_at = doc.rindex(render(_RESULTS_SENTINEL)[:-1])
    notes_at = doc.rindex(render(_NOTES_SENTINEL)[:-1])
    after_results = results_at + len(render(_RESULTS_SENTINEL)) - 1
    after_notes = notes_at + len(render(_NOTES_SENTINEL)) - 1
    return (
        doc[:results_at] + b"[",
        _RESULT_INDENT[:-2] + b"]" + doc[after_results:notes_at] + b"[",
        _NOTE_INDENT[:-2] + b"]" + doc[after_notes:],
    )


def head(report: Report) -> bytes:
    """The log up to the ``[`` that opens ``results``."""
    return _pieces(report)[0]


def lead(report: Report) -> bytes:
    """From the ``]`` that closes ``results`` to the ``[`` that opens the notifications."""
    return _pieces(report)[1]


def tail(report: Report) -> bytes:
    """From the ``]`` that closes the notifications to the end."""
    return _pieces(report)[2]


STREAM = ResultStream(
    head=head,
    write_results=write_results,
    tail=tail,
    separator=_SEPARATOR,
    sections=(ResultSection(lead=lead, write_results=write_notifications, separator=_SEPARATOR),),
)


def document(report: Report) -> bytes:
    """The whole SARIF log of a finished report, as the streamed pieces make it."""
    import io

    first, middle, last = _pieces(report)
    results, notes = io.BytesIO(), io.BytesIO()
    write_results(report, report.results, results)
    write_notifications(report, report.results, notes)
    return first + results.getvalue() + middle + notes.getvalue() + last


def write(report: Report, stream: IO[str], options: ReportOptions) -> None:
    """Write the SARIF log of ``report`` to ``stream`` (``options`` unused: the language is the report's)."""
    stream.write(document(report).decode("utf-8"))


@hookimpl
def register_reporters() -> list[Reporter]:
    return [
        Reporter(
            name="sarif",
            write=write,
            description="SARIF 2.1.0 for GitHub code scanning: a result per failed rule, errors as notifications",
            extension=".sarif",
            stream=STREAM,
        )
    ]
