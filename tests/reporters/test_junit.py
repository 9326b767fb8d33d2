"""The junit reporter, parsed back with xml.etree: suites, class names, children, escaping."""

from __future__ import annotations

import io
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import junit_xml
from hypothesis import given
from hypothesis import strategies as st
from sample_reports import (
    BASELINE,
    CONTROL_LINE_ESCAPED,
    DOTTED,
    PLAIN,
    POLICY,
    REMEDIATION,
    SKIP_REASON,
    SPANISH,
    TRICKY_TITLE,
    WAIVER,
    big_report,
    sample_report,
)

from scanner.api import ReportOptions, Status
from scanner.output import printable
from scanner.report import Report
from scanner.reporters import junit


def render(report: Report | None = None) -> str:
    stream = io.StringIO()
    junit.write(report or sample_report(), stream, ReportOptions())
    return stream.getvalue()


def parse(report: Report | None = None) -> ET.Element:
    return ET.fromstring(render(report).encode("utf-8"))


def cases(root: ET.Element) -> dict[tuple[str, str], ET.Element]:
    return {(c.get("classname", ""), c.get("name", "")): c for c in root.iter("testcase")}


def test_one_suite_per_policy_and_target_with_counts() -> None:
    root = parse()
    assert root.tag == "testsuites"
    assert [s.get("name") for s in root] == [f"{POLICY}.{DOTTED}", f"{BASELINE}.{PLAIN}", f"{POLICY}.{PLAIN}"]
    counts = {s.get("name"): (s.get("tests"), s.get("failures"), s.get("errors"), s.get("skipped")) for s in root}
    assert counts[f"{POLICY}.{DOTTED}"] == ("4", "1", "1", "1")
    assert counts[f"{POLICY}.{PLAIN}"] == ("4", "1", "0", "2")  # waived counts as skipped
    assert (root.get("tests"), root.get("failures"), root.get("errors"), root.get("skipped")) == ("9", "2", "1", "3")
    assert root[0].get("hostname") == DOTTED and root[0].get("timestamp") == "2026-11-26T10:00:00"


def test_classname_replaces_target_dots_only_and_name_is_rule_colon_title() -> None:
    root = parse()
    suite = root[0]
    names = [(c.get("classname"), c.get("name")) for c in suite]
    assert names[0] == ("corp.exchange-tls12.exch01_contoso_local", "EXO-001: Title of EXO-001")
    assert names[1] == ("corp.exchange-tls12.exch01_contoso_local",
                        "EXO-002: SCHANNEL TLS 1.2 is enabled for the client side")
    assert {c.get("classname") for c in root[2]} == {f"{POLICY}.{PLAIN}"}
    assert junit.classname("a.b", "x.y.z") == "a.b.x_y_z"


def test_pass_has_no_child_and_fail_error_skip_waived_have_theirs() -> None:
    by_key = cases(parse())
    cls1 = "corp.exchange-tls12.exch01_contoso_local"
    cls2 = f"{POLICY}.{PLAIN}"
    assert len(by_key[(cls1, "EXO-001: Title of EXO-001")]) == 0

    (failure,) = by_key[(cls1, "EXO-002: SCHANNEL TLS 1.2 is enabled for the client side")]
    assert failure.tag == "failure" and failure.get("message") == "Enabled is 0, expected 1"
    body = (failure.text or "").splitlines()
    assert body[0] == "Enabled is 0, expected 1"
    assert "  source=exports/exch01.reg:14 key=HKLM\\SOFTWARE\\X value=Enabled type=REG_DWORD" in body
    assert f"  source=logs/send.LOG:7 line={CONTROL_LINE_ESCAPED} count=3" in body
    assert "expected: 1" in body and "actual: 0" in body
    assert body[-1] == f"remediation: {REMEDIATION}"

    (error,) = by_key[(cls1, "EXO-003: Title of EXO-003")]
    assert error.tag == "error" and "not covered by the export" in error.get("message", "")
    (skipped,) = by_key[(cls1, "EXO-004: Title of EXO-004")]
    assert skipped.tag == "skipped" and skipped.get("message") == SKIP_REASON

    (waived,) = by_key[(cls2, "EXO-002: Title of EXO-002")]
    assert waived.tag == "skipped"
    assert waived.get("message") == f"waived: {WAIVER['reason']} (expires {WAIVER['expires']})"
    assert "Enabled is 0, expected 1" in (waived.text or "")


def test_special_characters_survive_exactly() -> None:
    by_key = cases(parse())
    (failure,) = by_key[(f"{POLICY}.{PLAIN}", f"EXO-003: {TRICKY_TITLE}")]
    message = f"{SPANISH}\nsecond line\twith tab"
    assert failure.get("message") == message  # newline and tab kept inside the attribute
    assert (failure.text or "").startswith(message + "\n")
    assert 'expected: ["TLSv1.2"]' in (failure.text or "") and 'actual: {"a": 0.5}' in (failure.text or "")


def test_null_evidence_fields_left_out_and_long_values_cut() -> None:
    lines = junit.evidence_lines([{"source": "smtp://mx:25", "sni": None, "transcript": "x" * 5000, "ok": True}])
    assert lines == [f"source=smtp://mx:25 transcript={'x' * junit.MAX_VALUE_CHARS}... "
                     f"({5000 - junit.MAX_VALUE_CHARS} more characters in the JSON report) ok=true"]


def test_control_characters_are_escaped_not_dropped_and_xml_stays_valid() -> None:
    text = render()
    for char in ("\x00", "\x1b", "\x0c"):
        assert char not in text
    assert CONTROL_LINE_ESCAPED in text
    raw = "a\x00b\x1b\x0c\t\n\r\x85ñ😀\U0001fffe\ud800"
    assert printable(raw) == "a\\x00b\\x1b\\x0c\t\n\r\x85ñ😀\\U0001fffe\\ud800"


def test_same_elements_attributes_and_texts_as_the_junit_xml_library() -> None:
    """junit-xml is the reference for the document; ours only streams it faster."""
    report = sample_report()
    suites = []
    for (policy, target) in dict.fromkeys((r.policy, r.target) for r in report.results):
        tcs = []
        for r in (r for r in report.results if (r.policy, r.target) == (policy, target)):
            tc = junit_xml.TestCase(f"{r.rule}: {r.title}", classname=junit.classname(policy, target))
            if r.status is Status.FAIL:
                tc.add_failure_info(r.message, printable(junit._body(r, True)))
            elif r.status is Status.ERROR:
                tc.add_error_info(r.message, printable(junit._body(r, False)))
            elif r.status is Status.SKIP:
                tc.add_skipped_info(r.message)
            elif r.status is Status.WAIVED:
                tc.add_skipped_info(junit.waiver_text(r), printable(junit._body(r, True)))
            tcs.append(tc)
        suites.append(junit_xml.TestSuite(f"{policy}.{target}", tcs))
    theirs = ET.fromstring(junit_xml.to_xml_report_string(suites, prettyprint=False).encode("utf-8"))
    ours = parse(report)

    def shape(root: ET.Element) -> list[tuple[object, ...]]:
        out: list[tuple[object, ...]] = []
        for suite in root:
            out.append((suite.get("name"), suite.get("tests"), suite.get("failures"), suite.get("errors"),
                        suite.get("skipped")))
            for case in suite.iter("testcase"):
                out.append((case.get("classname"), case.get("name"),
                            [(c.tag, c.get("type"), c.get("message"), c.text) for c in case]))
        return out

    assert shape(ours) == shape(theirs)
    assert (ours.get("tests"), ours.get("failures"), ours.get("errors")) == (
        theirs.get("tests"), theirs.get("failures"), theirs.get("errors"))


def test_registered_as_junit_reporter() -> None:
    (reporter,) = junit.register_reporters()
    assert (reporter.name, reporter.extension, reporter.write) == ("junit", ".xml", junit.write)


def test_large_report_is_fast(tmp_path: Path) -> None:
    report = big_report(2000, 10)  # 20,000 test cases; junit-xml's own path takes several seconds
    start = time.perf_counter()
    with open(tmp_path / "big.xml", "w", encoding="utf-8", newline="") as stream:
        junit.write(report, stream, ReportOptions())
    elapsed = time.perf_counter() - start
    assert elapsed < 1.5, f"{elapsed:.2f}s for 20,000 test cases"
    root = ET.parse(tmp_path / "big.xml").getroot()
    assert len(root) == 2000 and root.get("tests") == "20000"


def test_streamed_pieces_make_the_same_document_as_write() -> None:
    """head + suites of consecutive runs + tail is what write() gives (a streamed scan relies on it)."""
    report = sample_report()
    results = list(report.results)
    whole = render(report)
    for cut in range(len(results) + 1):
        if 0 < cut < len(results) and results[cut].target == results[cut - 1].target:
            continue  # a streamed scan cuts runs between targets only
        out = io.BytesIO()
        out.write(junit.head(report))
        junit.write_suites(report, results[:cut], out)
        junit.write_suites(report, results[cut:], out)
        out.write(junit.tail(report))
        assert out.getvalue().decode() == whole
    empty = sample_report([])
    assert (junit.head(empty) + junit.tail(empty)).decode() == render(empty)


def _reference_escape(text: str, attribute: bool) -> str:
    """Escaping spelled out the slow, obvious way: printable(), then XML's own characters."""
    text = printable(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\r", "&#13;")
    if attribute:
        text = text.replace('"', "&quot;").replace("\n", "&#10;").replace("\t", "&#9;")
    return text


@given(st.text(alphabet=st.characters(codec=None, exclude_categories=()), max_size=40)
       | st.text(alphabet='ab &<>"\r\n\t\x00\x1b\x7f\x85\x9fé\ud800\ufffe😀', max_size=40))
def test_escaping_takes_its_shortcut_only_when_nothing_needs_escaping(text: str) -> None:
    assert junit._escape_text(text) == _reference_escape(text, attribute=False)
    assert junit._escape_attr(text) == _reference_escape(text, attribute=True)
