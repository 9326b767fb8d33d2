"""The ``html`` reporter: one self-contained page to read a scan in a browser.

What the page holds, top-down: the run's provenance (tool version, started,
finished, ``--now``, every policy with its version and SHA-256, inputs, the
waiver file and baseline), the results by status as tiles and a bar (static
markup: readable before any script runs), then, drawn by a small inline
script from the data: results by severity, failing rules ranked by the
number of targets affected, a target × rule matrix coloured by status, and
the results table with filters (status, severity, policy, rule, target), a
search box and each result's details (message, expected/actual, evidence,
remediation, waiver, the rule's description, rationale and references).

Self-contained and offline: no external script, style, font or image; a
``Content-Security-Policy`` meta forbids every network load (``default-src
'none'``) and allows only this module's own script and style, by hash, so
even text that escaped its escaping could not run. Text from policies and
evidence reaches the page only as escaped HTML (static part) or as JSON in
``<script type="application/json">`` blocks with ``<``, ``>``, ``&``, U+2028
and U+2029 written as ``\\uXXXX`` (so ``</script>`` cannot close the block);
the script puts it into the page with ``textContent``, never as markup.

How it scales. ``bench/registry.py``'s 10,000 targets (410,000 results) make
a 119 MB page that headless chromium shows interactive about 4-5 s after it
is opened on the 2-core development machine (3.5 s of that is the browser
reading the file), with a JS heap of about 270 MB; a search over all of it
answers in under half a second:

* summary first: the provenance and status tiles are plain HTML at the top
  of the file, shown while the rest is still being read;
* the results are one compact JSON array per line in a data block (target
  and rule as indexes into tables in the head, so names, titles and
  severities are not repeated). The script does not ``JSON.parse`` them all:
  it indexes the lines (offsets, target, rule, status into typed arrays) in
  slices of about 40 ms, yielding to the browser in between with a progress
  line, and parses a line only when its row is shown;
* charts and filters run over the typed arrays; the search runs ``indexOf``
  over the lower-cased data text once per query and maps hits to lines;
* the table shows 50 rows a page, the matrix a whole-fleet strip (each rule's
  share of targets by status) and 40 targets a page (worst first), the
  ranking its top 15 rules: the DOM stays small whatever the fleet.

The page's parts: :mod:`~scanner.reporters.html_summary` (static provenance
and status markup), :mod:`~scanner.reporters.html_script` and
:mod:`~scanner.reporters.html_style` (constant text, allowed by the CSP's
hashes), :mod:`~scanner.reporters.html_labels` (every human-facing string).

Streaming (:data:`STREAM`): ``head`` is everything up to the opening of the
results block (it reads the summary, known when the report is assembled),
``write_results`` writes one line per result joined by ``\\n`` (the
separator, so runs cut between targets join to the same bytes), and ``tail``
closes the block and carries the script. ``head + "\\n".join(runs) + tail``
is exactly what :func:`write` gives.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
from collections.abc import Mapping, Sequence
from typing import IO, Any

from scanner.api import JSON, Reporter, ReportOptions, ResultStream, Severity, Status, hookimpl
from scanner.gcpause import paused_gc
from scanner.report import Report, Result
from scanner.reporters.html_labels import labels
from scanner.reporters.html_script import SCRIPT
from scanner.reporters.html_style import CSS
from scanner.reporters.html_summary import STATUSES, provenance, status_tiles, text, verdict

try:  # optional accelerator, as in json_report; the bytes are the same either way
    import orjson as _orjson
except ImportError:  # pragma: no cover - depends on the environment
    _orjson = None  # type: ignore[assignment]

SEVERITIES = tuple(s.value for s in Severity)
_STATUS_CODE = {Status(s): i for i, s in enumerate(STATUSES)}
_SEPARATOR = b"\n"
_ROWS_PER_WRITE = 2000


def _sha256_source(source: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(source.encode("utf-8")).digest()).decode("ascii") + "'"


CSP = (
    "default-src 'none'; "
    f"script-src {_sha256_source(SCRIPT)}; "
    f"style-src {_sha256_source(CSS)}; "
    "base-uri 'none'; form-action 'none'"
)
"""Nothing from the network; only this module's script and style run (by hash)."""

_SCRIPT_ESCAPES = (
    (b"&", b"\\u0026"),
    (b"<", b"\\u003c"),
    (b">", b"\\u003e"),
    ("\u2028".encode(), b"\\u2028"),
    ("\u2029".encode(), b"\\u2029"),
)


def script_safe(data: bytes) -> bytes:
    """JSON text made safe inside ``<script type="application/json">``: ``<``, ``>``, ``&``,
    U+2028 and U+2029 as ``\\uXXXX`` escapes (they can only occur inside JSON strings, where
    the escape means the same character), so no ``</script>`` or ``<!--`` can appear."""
    for raw, escaped in _SCRIPT_ESCAPES:
        if raw in data:
            data = data.replace(raw, escaped)
    return data


def _plain(value: Any) -> Any:
    if isinstance(value, Mapping):
        return dict(value)
    if isinstance(value, tuple):
        return list(value)
    raise TypeError(f"not JSON: {type(value).__name__}")


def to_json(value: Any) -> bytes:
    """Compact JSON as UTF-8 (orjson when it can; the standard library for what it refuses)."""
    if _orjson is not None:
        try:
            return _orjson.dumps(value, default=_plain)
        except (TypeError, _orjson.JSONEncodeError):
            pass  # an int beyond 64 bits, a lone surrogate: the standard library copes
    try:
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=_plain).encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate (an undecodable file name): \udcXX
        return json.dumps(value, ensure_ascii=True, separators=(",", ":"), default=_plain).encode("ascii")


def _utf8(text: str) -> bytes:
    return text.encode("utf-8", "backslashreplace")  # a lone surrogate shows as \udcff


# --- the head: provenance and summary, static --------------------------------------------


def _remediation_template(templates: Mapping[str, str], lang: str) -> str:
    for code in (lang, "en"):
        if code in templates:
            return templates[code]
    return next(iter(templates.values()), "")


def _meta(report: Report) -> dict[str, Any]:
    """What the script needs besides the results: labels, tables the rows index into, summary."""
    rules = []
    for pi, p in enumerate(report.policies):
        for r in p.rules:
            rules.append([
                pi, r.id, r.title, str(r.severity), r.check_type, r.description, r.rationale,
                _remediation_template(r.remediation, report.lang), list(r.references), list(r.tags),
            ])
    return {
        "labels": dict(labels(report.lang)),
        "statuses": STATUSES,
        "severities": SEVERITIES,
        "policies": [[p.id, p.title, p.version] for p in report.policies],
        "rules": rules,
        "targets": [[t.name, dict(t.labels)] for t in report.targets],
        "summary": report.summary(),
    }


def head(report: Report) -> bytes:
    """The page up to the opening of the results data block: provenance, summary, the tables."""
    lab = labels(report.lang)
    summary = report.summary()
    verdict_class, verdict_text = verdict(summary, lab)
    page_title = f"{lab['title']} · {report.started_at.strftime('%Y-%m-%d %H:%M UTC')}"
    subtitle = lab["subtitle"].format(targets=f"{len(report.targets):,}", policies=len(report.policies))
    meta = script_safe(to_json(_meta(report))).decode("utf-8")
    page = (
        "<!DOCTYPE html>\n"
        f'<html lang="{text(report.lang)}">\n<head>\n<meta charset="utf-8">\n'
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">\n'
        '<meta name="referrer" content="no-referrer">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{text(page_title)}</title>\n<style>{CSS}</style>\n</head>\n<body>\n"
        f'<header><h1>{text(lab["title"])}</h1><p class="sub">{text(subtitle)}</p>'
        f'<p class="verdict v-{verdict_class}">{text(verdict_text)}</p></header>\n<main>\n'
        f'<div class="two">{provenance(report, lab)}</div>\n'
        f'<section class="card"><h2>{text(lab["by_status"])}</h2>{status_tiles(summary, lab)}</section>\n'
        f'<noscript><p class="card">{text(lab["noscript"])}</p></noscript>\n'
        f'<p id="ps-progress" class="progress" aria-live="polite"></p>\n'
        '<div class="two">'
        f'<section class="card"><h2>{text(lab["by_severity"])}</h2><div id="ps-severity"></div></section>'
        f'<section class="card"><h2>{text(lab["failing_rules"])}</h2><div id="ps-ranking"></div></section>'
        "</div>\n"
        f'<section class="card"><h2>{text(lab["matrix"])}</h2><p class="help">{text(lab["matrix_help"])}</p>'
        '<div id="ps-matrix"></div></section>\n'
        f'<section class="card" id="ps-results-card"><h2>{text(lab["results"])}</h2>'
        '<div id="ps-filters" class="filters"></div><div id="ps-table"></div></section>\n'
        "</main>\n"
        f'<script type="application/json" id="ps-meta">{meta}</script>\n'
        '<script type="application/json" id="ps-results">\n'
    )
    return _utf8(page)


# --- the results: one JSON array a line ---------------------------------------------------


class _Index:
    """Where a result's target and rule sit in the head's tables."""

    def __init__(self, report: Report) -> None:
        self.targets = {t.name: i for i, t in enumerate(report.targets)}
        self.rules: dict[tuple[str, str], tuple[int, str, str, str]] = {}
        n = 0
        for p in report.policies:
            for r in p.rules:
                self.rules[(p.id, r.id)] = (n, r.title, str(r.severity), r.check_type)
                n += 1


def _row(r: Result, index: _Index) -> list[JSON]:
    """``[target, rule, status, outcome, message, expected, actual, evidence, remediation, waiver]``;
    target and rule are indexes into the head's tables, or -1 and a last item
    ``[target, policy, rule, title, severity, check_type]`` when the tables do not
    say the same (a rule not in the policies given, a title of another language)."""
    t = index.targets.get(r.target, -1)
    known = index.rules.get((r.policy, r.rule))
    row: list[JSON] = [
        t, -1, _STATUS_CODE.get(r.status, 2), _STATUS_CODE.get(r.outcome, 2), r.message, r.expected, r.actual,
        r.evidence, r.remediation, r.waiver,
    ]
    if (t >= 0 and known is not None and known[1] == r.title and known[2] == r.severity
            and known[3] == r.check_type):
        row[1] = known[0]
    else:
        row[0] = -1
        row.append([r.target, r.policy, r.rule, r.title, str(r.severity), r.check_type])
    return row


def _lines(report: Report, results: Sequence[Result], index: _Index) -> bytes:
    return script_safe(_SEPARATOR.join(to_json(_row(r, index)) for r in results))


def write_results(report: Report, results: Sequence[Result], out: IO[bytes]) -> None:
    """A run of results (:data:`STREAM`): one line each, joined by ``\\n``; nothing for an empty run."""
    if not results:
        return
    index = _Index(report)
    with paused_gc():
        for start in range(0, len(results), _ROWS_PER_WRITE):
            if start:
                out.write(_SEPARATOR)
            out.write(_lines(report, results[start : start + _ROWS_PER_WRITE], index))


def tail(_report: Report) -> bytes:
    """Closes the results block; the script that draws the charts and the table."""
    return _utf8(f"\n</script>\n<script>{SCRIPT}</script>\n</body>\n</html>\n")


STREAM = ResultStream(head=head, write_results=write_results, tail=tail, separator=_SEPARATOR)


class _TextSink:
    """Bytes written to a text stream that has no binary buffer (tests, an embedding program)."""

    def __init__(self, stream: IO[str]) -> None:
        self.stream = stream

    def write(self, data: bytes) -> int:
        return self.stream.write(data.decode("utf-8"))


def write(report: Report, stream: IO[str], options: ReportOptions) -> None:
    """Write the HTML page of ``report`` to ``stream`` (UTF-8 bytes to its buffer when it has one),
    in the pieces a streamed scan assembles (``options`` is not used)."""
    buffer = getattr(stream, "buffer", None)
    out: Any
    if isinstance(buffer, io.BufferedIOBase | io.RawIOBase):
        stream.flush()
        out = buffer
    else:
        out = _TextSink(stream)
    out.write(head(report))
    write_results(report, report.results, out)
    out.write(tail(report))
    if out is buffer:
        buffer.flush()


@hookimpl
def register_reporters() -> list[Reporter]:
    return [
        Reporter(
            name="html",
            write=write,
            description="One self-contained HTML page: provenance, charts, filterable results (works offline)",
            extension=".html",
            stream=STREAM,
        )
    ]
