"""The markdown reporter, read back by a real CommonMark parser with GitHub's tables: hostile
text breaks no table and becomes no markup, failing rules are grouped, and the size is capped."""

from __future__ import annotations

import io
import json
import re
import time
from pathlib import Path

from markdown_it import MarkdownIt
from sample_reports import PLAIN, POLICY, WAIVER, big_report, result, sample_report

from scanner.api import ReportOptions, Severity, Status
from scanner.plugin_host import load_plugins
from scanner.reporters import markdown
from tests.conftest import run_cli

HOSTILE = "a | b `rm -rf` <script>alert(1)</script> <img src=x onerror=alert(1)> @octocat #12 **bold** [x](http://e.vil)"
PARSER = MarkdownIt("commonmark").enable("table")


def render(results=None) -> str:
    stream = io.StringIO()
    markdown.write(sample_report(results), stream, ReportOptions())
    return stream.getvalue()


def html(text: str) -> str:
    return PARSER.render(text)


def rows(page: str) -> list[list[str]]:
    """Every table row of the rendered page, as its cells' inner HTML."""
    table_rows = re.findall(r"<tr>(.*?)</tr>", page, re.DOTALL)
    return [re.findall(r"<t[dh]>(.*?)</t[dh]>", row, re.DOTALL) for row in table_rows]


def test_counts_failing_rules_with_targets_and_remediation_errors_waived_and_passes() -> None:
    text = render()
    page = html(text)
    assert text.startswith("## policyscan: 2 failed, 1 errors\n")
    assert ["9", "3", "2", "1", "2", "1"] in rows(page)  # total, pass, fail, error, skip, waived
    # failing rules, most severe first, each with its targets and remediation
    headings = re.findall(r"<h4>(.*?)</h4>", page)
    assert [h.split(":")[0] for h in headings] == [f"{POLICY}/EXO-003", f"{POLICY}/EXO-002"]
    assert "critical" in headings[0] and "high" in headings[1]
    assert "<strong>Remediation:</strong> Set Enabled to 1 under TLS 1.2\\Client and restart the server." in page
    assert ["exch01.contoso.local", "Enabled is 0, expected 1", "exports/exch01.reg:14, logs/send.LOG:7"] in rows(page)
    assert "<h3>Errors (1)</h3>" in page and "<h3>Waived (1)</h3>" in page
    assert [PLAIN, f"{POLICY}/EXO-002", WAIVER["reason"], WAIVER["expires"]] in rows(page)
    # passes are collapsed; skips only counted
    details = page[page.index("<details>"):]
    assert "<summary>Passed (3)</summary>" in details and "</details>" in details
    assert "target has no smtp source" not in page


def test_hostile_text_breaks_no_table_and_becomes_no_markup_or_mention() -> None:
    evil = [result(PLAIN, POLICY, "EXO-002", Status.FAIL, message=HOSTILE + "\nsecond\x1b[31m line",
                   evidence=[{"source": "a|b.reg:3"}], remediation=HOSTILE),
            result(PLAIN, POLICY, "EXO-003", Status.ERROR, message=HOSTILE),
            result(PLAIN, POLICY, "EXO-004", Status.WAIVED, waiver={"reason": HOSTILE, "expires": "2026-12-31"}),
            result(PLAIN, POLICY, "EXO-005", Status.PASS, title=HOSTILE)]
    text = render(evil)
    page = html(text)
    for row in rows(page):  # every row has its header's number of cells: no | got through
        assert len(row) in (3, 4, 6), row
    for tag in ("<script", "<img", "<code>", "<strong>bold", "<a href", "<em>"):
        assert tag not in page, tag
    assert "@octocat" not in text and "@\u2060octocat" in text  # no mention
    assert not re.search(r"(?<!&)#\d", text) and "#\u206012" in text  # no issue link (&#124; is an entity)
    assert "\x1b" not in text and "\\x1b" in text
    assert "second" in page and "<br>" in page  # the newline kept, inside its cell
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page  # shown as text, whole
    failing = [r for r in rows(page) if r and r[0] == PLAIN and len(r) == 3 and "second" in r[1]]
    assert len(failing) == 1 and failing[0][2] == "a|b.reg:3"


def test_per_target_remediation_when_it_differs() -> None:
    two = [result("t1", POLICY, "EXO-002", Status.FAIL, remediation="Set A to 1."),
           result("t2", POLICY, "EXO-002", Status.FAIL, remediation="Set B to 1.")]
    page = html(render(two))
    assert ["target", "message", "evidence", "Remediation"] in rows(page)
    assert ["t2", "EXO-002 is fail", "", "Set B to 1."] in rows(page)


def test_never_over_60000_characters_and_says_what_was_left_out() -> None:
    many = [result(f"exch{i:05d}", POLICY, f"EXO-{r:03d}", status, severity=Severity.HIGH,
                   message="Enabled is 0, expected 1 " * 3, evidence=[{"source": f"exports/exch{i:05d}.reg:{r + 9}"}],
                   remediation="Set Enabled to 1.")
            for i in range(400) for r, status in enumerate([Status.FAIL, Status.PASS, Status.ERROR])]
    text = render(many)
    assert len(text) <= markdown.MAX_CHARS
    whole = "\n".join(markdown.lines(sample_report(many))) + "\n"
    assert len(whole) > 2 * markdown.MAX_CHARS
    notice = text.rstrip("\n").splitlines()[-1]
    m = re.match(r"_(\d+) more lines \((\d+) characters\) left out .* JSON report", notice)
    assert m, notice
    left_lines, left_chars = int(m[1]), int(m[2])
    all_lines = whole.splitlines()
    kept = len(all_lines) - left_lines
    assert text.splitlines()[:kept] == all_lines[:kept]  # whole lines, from the end
    assert left_chars == len(whole) - sum(len(line) + 1 for line in all_lines[:kept])
    assert text.count("<details>") == text.count("</details>")
    assert html(text).count("<table>") >= 1
    small = render()
    assert "left out" not in small


def test_the_cli_writes_it_and_it_is_a_registered_reporter(tmp_path: Path) -> None:
    out, out_json = tmp_path / "summary.md", tmp_path / "r.json"
    proc = run_cli("scan", "--policy", "policies", "--inventory", "examples/inventory.yaml",
                   "--report", f"markdown={out}", "--report", f"json={out_json}")
    assert proc.returncode == 1, proc.stderr
    page = html(out.read_text(encoding="utf-8"))
    summary = json.loads(out_json.read_text(encoding="utf-8"))["summary"]
    assert f"<h2>policyscan: {summary['fail']} failed, {summary['error']} errors</h2>" in page
    assert [str(summary[k]) for k in ("total", "pass", "fail", "error", "skip", "waived")] in rows(page)
    assert "exch02" in page and f"<h3>Errors ({summary['error']})</h3>" in page
    reporter = load_plugins().reporters["markdown"]
    assert reporter.write is markdown.write and reporter.stream is None and reporter.extension == ".md"


def test_the_notice_names_the_other_reports_of_the_run_json_first() -> None:
    reports = (("markdown", "out/summary.md"), ("junit", "out/j_1.xml"), ("json", "out/r.json"), ("sarif", None))
    assert markdown.full_reports(reports) == (
        "out/r.json (json), out/j\\_1.xml (junit), the sarif report on standard output"
    )
    assert markdown.full_reports((("markdown", None),)) == markdown.TEXT["where_unknown"]
    long = [f"line {i} " + "x" * 80 for i in range(2000)]
    huge_where = "w" * 10_000
    text = markdown.capped(long, where=huge_where)
    assert len(text) <= markdown.MAX_CHARS and "w" * 2000 + "…" in text


def test_cut_through_the_cli_names_the_json_file_gathered_or_streamed(tmp_path: Path) -> None:
    """700 failing targets: the summary is cut, and says where the run's JSON report went, whether the
    run gathered its results (markdown alone with console) or streamed them (beside json)."""
    (tmp_path / "exports").mkdir()
    reg = ("Windows Registry Editor Version 5.00\r\n\r\n"
           "[HKEY_LOCAL_MACHINE\\SOFTWARE\\X]\r\n\"Enabled\"=dword:00000000\r\n")
    (tmp_path / "exports" / "a.reg").write_text(reg, encoding="utf-16")
    targets = "".join(f"  - name: host{i:04d}-{'n' * 80}\n    registry: {{file: exports/a.reg}}\n"
                      for i in range(700))
    (tmp_path / "inv.yaml").write_text(f"apiVersion: policyscan/v1\nkind: Inventory\ntargets:\n{targets}")
    (tmp_path / "p.yaml").write_text(
        "apiVersion: policyscan/v1\nkind: Policy\nmetadata: {id: p, title: P, version: 1.0.0}\nrules:\n"
        "  - id: R-1\n    title: Enabled is 1\n    severity: high\n"
        "    check: {registry: {key: 'HKLM\\SOFTWARE\\X', value: Enabled, equals: 1}}\n    remediation: Set it to 1.\n")
    common = ["scan", "--policy", str(tmp_path / "p.yaml"), "--inventory", str(tmp_path / "inv.yaml")]
    for name, extra in (("gathered", []), ("streamed", ["--report", f"json={tmp_path / 'r.json'}"])):
        out = tmp_path / f"{name}.md"
        proc = run_cli(*common, "--report", f"markdown={out}", "--report", f"console={tmp_path / 'c.txt'}", *extra)
        assert proc.returncode == 1, proc.stderr
        text = out.read_text(encoding="utf-8")
        assert len(text) <= markdown.MAX_CHARS
        notice = text.rstrip("\n").splitlines()[-1]
        assert "left out" in notice, notice
        if name == "streamed":
            assert f"{markdown.escape(str(tmp_path / 'r.json'))} (json)" in notice, notice
        else:
            assert notice.endswith(f"{markdown.escape(str(tmp_path / 'c.txt'))} (console)._"), notice


def test_a_large_report_is_fast_and_capped() -> None:
    rep = big_report(2000, 25)  # 50,000 results
    start = time.perf_counter()
    stream = io.StringIO()
    markdown.write(rep, stream, ReportOptions())
    elapsed = time.perf_counter() - start
    assert elapsed < 3.0, f"{elapsed:.2f}s for 50,000 results"
    assert len(stream.getvalue()) <= markdown.MAX_CHARS and "left out" in stream.getvalue()
