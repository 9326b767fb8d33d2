"""The html reporter without a browser: streamed pieces equal the page, text stays text, the data round-trips.

(The page in a real browser: ``test_html_browser.py``.)
"""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import pytest
from sample_reports import CONTROL_LINE, PLAIN, POLICY, SPANISH, TRICKY_TITLE, result, sample_report

from scanner.api import ReportOptions, RunContext, Severity, Status
from scanner.engine import Engine
from scanner.report import PolicyInfo, RuleInfo
from scanner.reporters import html_labels, html_report, html_script
from scanner.streaming import scan_streamed
from scanner.waivers import apply_waivers
from tests.test_streaming import fleet  # noqa: F401  (the 700-target fleet fixture)

HOSTILE = [
    "<script>window.__pwned=1</script>",
    '"><img src=x onerror="window.__pwned=1">',
    "a\u2028b\u2029c & </SCRIPT>",
]


def render(report=None) -> str:
    stream = io.StringIO()
    html_report.write(report or sample_report(), stream, ReportOptions())
    return stream.getvalue()


def with_rules(report):
    """The sample report with RuleInfo for some of its rules (the others take the fallback rows)."""
    rules = (RuleInfo("EXO-001", "Title of EXO-001", Severity.HIGH, "registry", "desc <b>", "why",
                      {"en": "fix ${key}"}, ({"title": "ref", "url": "https://example.invalid/x"},), ("tls",), 7),
             RuleInfo("EXO-004", "Title of EXO-004", Severity.LOW, "registry"))
    report.policies = [PolicyInfo(POLICY, "Exchange <TLS>", "1.0.0", "a" * 64, "p.yaml", rules), *report.policies[1:]]
    return report


def hostile_results():
    return [
        result(PLAIN, POLICY, "EXO-001", Status.FAIL, message=HOSTILE[0],
               evidence=[{"source": "x.reg:1", "text": HOSTILE[1], "more": HOSTILE[2]}], remediation=HOSTILE[1]),
        result(PLAIN, POLICY, "EXO-002", Status.WAIVED, title=TRICKY_TITLE, waiver={"reason": HOSTILE[0],
                                                                                    "expires": "2026-12-31"}),
    ]


def data_rows(page: str) -> list[list]:
    block = re.search(r'<script type="application/json" id="ps-results">\n(.*?)\n</script>', page, re.S)
    assert block is not None
    return [json.loads(line) for line in block.group(1).split("\n") if line]


def test_streamed_pieces_join_to_the_page_for_every_cut() -> None:
    for report in (with_rules(sample_report()), sample_report(), with_rules(sample_report(hostile_results()))):
        whole = render(report).encode("utf-8")
        results = report.results
        for cut in range(len(results) + 1):
            runs = []
            for run in (results[:cut], results[cut:]):
                out = io.BytesIO()
                html_report.STREAM.write_results(report, run, out)
                if out.getvalue():
                    runs.append(out.getvalue())
            assembled = html_report.head(report) + html_report.STREAM.separator.join(runs) + html_report.tail(report)
            assert assembled == whole
    empty = sample_report([])
    assert html_report.head(empty) + html_report.tail(empty) == render(empty).encode("utf-8")


def test_small_write_blocks_give_the_same_bytes(monkeypatch) -> None:
    report = with_rules(sample_report())
    whole = render(report)
    monkeypatch.setattr(html_report, "_ROWS_PER_WRITE", 1)
    assert render(report) == whole


def test_rows_round_trip_with_indexes_or_fallback() -> None:
    report = with_rules(sample_report())
    rows = data_rows(render(report))
    assert len(rows) == len(report.results)
    targets = [t.name for t in report.targets]
    for row, r in zip(rows, report.results, strict=True):
        assert html_report.STATUSES[row[2]] == r.status and html_report.STATUSES[row[3]] == r.outcome
        assert row[4:10] == [r.message, r.expected, r.actual, [dict(e) for e in r.evidence], r.remediation,
                             r.waiver]
        if row[0] >= 0:  # indexed: the head's tables say the same
            assert targets[row[0]] == r.target and r.rule in ("EXO-001", "EXO-004")
        else:
            assert row[10] == [r.target, r.policy, r.rule, r.title, str(r.severity), r.check_type]
    assert any(row[0] >= 0 for row in rows) and any(row[0] < 0 for row in rows)
    assert any(e.get("line") == CONTROL_LINE for row in rows for e in row[7])  # control characters kept
    assert any(SPANISH.split("\n")[0] in str(row[4]) for row in rows)


def test_hostile_text_cannot_close_the_data_block_or_make_markup() -> None:
    page = render(with_rules(sample_report(hostile_results())))
    # only our own three script elements open, and every one closes once
    assert page.count("<script") == 3 and page.count("</script>") == 3
    assert "__pwned" in page and "<img" not in page and "</SCRIPT>" not in page
    assert "\u2028" not in page and "\u2029" not in page
    rows = data_rows(page)
    assert rows[0][4] == HOSTILE[0] and rows[0][7][0]["text"] == HOSTILE[1] and rows[0][7][0]["more"] == HOSTILE[2]
    assert rows[1][9]["reason"] == HOSTILE[0]
    # policy text in the static part is HTML-escaped
    assert "Exchange &lt;TLS&gt;" in page and "Exchange <TLS>" not in page


def test_head_has_provenance_summary_and_a_csp_that_allows_only_our_script_and_style() -> None:
    report = with_rules(sample_report())
    page = render(report)
    for text in ("policyscan 1.0.0", "2026-11-26 10:00:00 UTC", "2026-11-26 10:00:02 UTC", "a" * 64, "c" * 64,
                 "waivers.yaml", "smtp_port=25", "corp.exchange-tls12"):
        assert text in page, text
    csp = re.search(r'http-equiv="Content-Security-Policy" content="([^"]+)"', page)
    assert csp is not None
    assert "default-src 'none'" in csp.group(1) and "unsafe-inline" not in csp.group(1)
    script = re.search(r"<script>(.*?)</script>", page, re.S)
    style = re.search(r"<style>(.*?)</style>", page, re.S)
    assert script is not None and style is not None
    assert html_report._sha256_source(script.group(1)) in csp.group(1)
    assert html_report._sha256_source(style.group(1)) in csp.group(1)
    assert re.search(r"\b(src|href)=\"(https?:)?//", page) is None  # nothing loaded from anywhere
    summary = report.summary()
    assert f'<span class="tile-n">{summary["fail"]}</span>' in page


def test_every_label_the_script_and_page_use_is_in_the_one_dict() -> None:
    used = set(re.findall(r'\bL\.(\w+)', html_script.SCRIPT)) | set(re.findall(r'L\["(\w+)"\]', html_script.SCRIPT))
    used |= set(re.findall(r'lab\["(\w+)"\]', Path(html_report.__file__).read_text()))
    assert used <= set(html_labels.LABELS), used - set(html_labels.LABELS)
    for prefix, names in (("status_", html_report.STATUSES), ("severity_", html_report.SEVERITIES)):
        assert {prefix + n for n in names} <= set(html_labels.LABELS)


def test_file_output_through_a_real_buffer_is_the_same_utf8(tmp_path: Path) -> None:
    report = with_rules(sample_report())
    with open(tmp_path / "r.html", "w", encoding="utf-8", newline="") as stream:
        html_report.write(report, stream, ReportOptions())
    assert (tmp_path / "r.html").read_bytes() == render(report).encode("utf-8")


def test_values_orjson_refuses_still_encode() -> None:
    odd = [result(PLAIN, POLICY, "A-1", Status.FAIL, actual=2**70, message="bad \udcff byte")]
    page = render(sample_report(odd))
    assert data_rows(page)[0][6] == 2**70


def test_registered_as_html_reporter() -> None:
    (reporter,) = html_report.register_reporters()
    assert (reporter.name, reporter.extension, reporter.write) == ("html", ".html", html_report.write)
    assert reporter.stream is html_report.STREAM


@pytest.mark.parametrize("lang", ["en", "es"])
def test_lang_is_the_page_language(lang: str) -> None:
    report = sample_report()
    report.lang = lang
    assert f'<html lang="{lang}">' in render(report)


def test_a_streamed_scan_writes_the_page_a_gathered_one_writes(fleet: Path, tmp_path: Path) -> None:  # noqa: F811
    """700 real targets in three batches over two workers, waivers applied in the workers."""
    from dataclasses import replace

    from tests.test_streaming import NOW, _loaded

    host, targets, policies, waivers, skeleton = _loaded(fleet)
    engine = Engine(policies, host.check_types, RunContext(now=NOW, jobs=2))
    path = tmp_path / "r.html"
    finished, _ = scan_streamed(engine, targets, skeleton, [("html", str(path))], host.reporters, io.StringIO(),
                                waivers)
    gathered = apply_waivers(Engine(policies, host.check_types, RunContext(now=NOW)).scan(targets), waivers, NOW)
    assert path.read_text(encoding="utf-8") == render(replace(finished, results=gathered, counts=None))
    statuses = {row[2] for row in data_rows(path.read_text(encoding="utf-8"))}
    assert statuses == {0, 1, 2, 3, 4}  # every status took part
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.html"]
