"""The json reporter and the report schema: real output validates, broken reports do not."""

from __future__ import annotations

import copy
import io
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator, FormatChecker
from sample_reports import CONTROL_LINE, PLAIN, POLICY, SPANISH, big_report, result, sample_report

from scanner.api import ReportOptions, Status
from scanner.output import load_report_schema, report_schema_errors
from scanner.reporters import json_report


def render(report=None) -> str:
    stream = io.StringIO()
    json_report.write(report or sample_report(), stream, ReportOptions())
    return stream.getvalue()


def test_output_equals_to_json_in_order_with_indent_and_raw_utf8() -> None:
    report = sample_report()
    text = render(report)
    assert json.loads(text) == report.to_json()
    assert list(json.loads(text)) == list(report.to_json())  # key order kept, not sorted
    assert text.startswith('{\n  "schema": "policyscan/report/v1",\n  "tool": {\n    "name": "policyscan",')
    assert text.endswith("}\n")
    assert SPANISH.split("\n")[0].replace("\n", "") in text  # ensure_ascii=False
    assert "\\u00f3" not in text
    assert json.dumps(CONTROL_LINE)[1:-1] in text  # control characters are JSON-escaped, exactly


def test_file_output_is_utf8_and_the_same_text(tmp_path: Path) -> None:
    path = tmp_path / "r.json"
    with open(path, "w", encoding="utf-8", newline="") as stream:  # real buffer: the bytes path
        json_report.write(sample_report(), stream, ReportOptions())
    assert path.read_bytes() == render().encode("utf-8")


def test_stream_with_another_encoding_still_gets_utf8(tmp_path: Path) -> None:
    path = tmp_path / "r.json"
    with open(path, "w", encoding="latin-1") as stream:  # e.g. a console with a legacy code page
        stream.write("")
        json_report.write(sample_report(), stream, ReportOptions())
    assert json.loads(path.read_bytes().decode("utf-8")) == sample_report().to_json()


def test_stdlib_fallback_gives_the_same_document() -> None:
    doc = sample_report().to_json()
    assert json.loads(json_report.render(doc, use_orjson=False)) == doc
    assert json_report.render(doc, use_orjson=False) == json_report.render(doc)


def test_values_orjson_refuses_still_encode() -> None:
    big = result(PLAIN, POLICY, "EXO-002", Status.FAIL, message="m", actual=2**70, expected={"1": 1})
    assert json.loads(render(sample_report([big])))["results"][0]["actual"] == 2**70
    # a lone surrogate (an undecodable file name) becomes an escape, the file stays valid UTF-8
    odd = result(PLAIN, POLICY, "EXO-002", Status.FAIL, message="m", evidence=[{"source": "bad\udcff.reg:1"}])
    data = json_report.render(sample_report([odd]).to_json())
    assert json.loads(data.decode("utf-8"))["results"][0]["evidence"][0]["source"] == "bad\udcff.reg:1"


def test_real_output_validates_against_the_schema() -> None:
    schema = load_report_schema()
    Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    doc = json.loads(render())
    Draft202012Validator(schema, format_checker=FormatChecker()).validate(doc)
    assert report_schema_errors(doc) == []
    assert report_schema_errors(json.loads(render(sample_report([])))) == []
    # a check that could read nothing (registry facts missing) has evidence whose source is null
    unread = result(PLAIN, POLICY, "EXO-002", Status.ERROR, evidence=[{"source": None, "key": "HKLM\\X"}])
    assert report_schema_errors(json.loads(render(sample_report([unread])))) == []


def _set(path: list[Any], value: Any) -> Callable[[dict[str, Any]], None]:
    def mutate(doc: dict[str, Any]) -> None:
        node = doc
        for step in path[:-1]:
            node = node[step]
        node[path[-1]] = value
    return mutate


def _drop(path: list[Any]) -> Callable[[dict[str, Any]], None]:
    def mutate(doc: dict[str, Any]) -> None:
        node = doc
        for step in path[:-1]:
            node = node[step]
        del node[path[-1]]
    return mutate


BROKEN = {
    "missing status": (_drop(["results", 0, "status"]), "results/0: 'status' is a required property"),
    "unknown status passed": (_set(["results", 0, "status"], "passed"), "results/0/status"),
    "unknown outcome": (_set(["results", 0, "outcome"], "ok"), "results/0/outcome"),
    "missing summary": (_drop(["summary"]), "(report): 'summary' is a required property"),
    "negative count": (_set(["summary", "fail"], -1), "summary/fail"),
    "count not integer": (_set(["summary", "total"], 9.5), "summary/total"),
    "unknown severity": (_set(["results", 1, "severity"], "severe"), "results/1/severity"),
    "evidence without source": (_set(["results", 1, "evidence", 0], {"key": "k"}), "results/1/evidence/0"),
    "evidence not an object": (_set(["results", 1, "evidence", 0], "a.reg:1"), "results/1/evidence/0"),
    "evidence source not a string": (_set(["results", 1, "evidence", 0, "source"], 3), "evidence/0/source"),
    "evidence source missing": (_drop(["results", 1, "evidence", 0, "source"]), "evidence/0"),
    "wrong schema tag": (_set(["schema"], "policyscan/report/v2"), "schema"),
    "bad timestamp": (_set(["now"], "yesterday"), "now"),
    "waived without a waiver": (
        lambda d: [r.update(waiver=None) for r in d["results"] if r["status"] == "waived"],
        "waiver",
    ),
}


@pytest.mark.parametrize("name", sorted(BROKEN))
def test_broken_reports_are_rejected(name: str) -> None:
    mutate, where = BROKEN[name]
    doc = copy.deepcopy(json.loads(render()))
    mutate(doc)
    errors = report_schema_errors(doc)
    assert errors, f"{name} was accepted"
    assert any(where in e for e in errors), errors


def test_registered_as_json_reporter() -> None:
    (reporter,) = json_report.register_reporters()
    assert (reporter.name, reporter.extension, reporter.write) == ("json", ".json", json_report.write)


def test_large_report_is_fast(tmp_path: Path) -> None:
    report = big_report(2000, 10)  # 20,000 results: about 1/12 of the benchmark
    start = time.perf_counter()
    with open(tmp_path / "big.json", "w", encoding="utf-8", newline="") as stream:
        json_report.write(report, stream, ReportOptions())
    elapsed = time.perf_counter() - start
    assert elapsed < 2.0, f"{elapsed:.2f}s for 20,000 results"
    assert len(json.loads((tmp_path / "big.json").read_text(encoding="utf-8"))["results"]) == 20_000


@pytest.mark.parametrize("per_chunk", [1, 2, 5000])
def test_streamed_output_is_byte_identical_to_the_whole_document(monkeypatch, per_chunk) -> None:
    """Results are written a few thousand at a time; the bytes must not change."""
    monkeypatch.setattr(json_report, "_RESULTS_PER_BLOCK", per_chunk)
    report = sample_report()
    assert len(report.results) > 2
    assert b"".join(json_report.chunks(report)) == json_report.render(report.to_json())
    empty = sample_report([])
    assert b"".join(json_report.chunks(empty)) == json_report.render(empty.to_json())
    # the streamed-scan pieces: runs joined with the separator make the same document
    results = report.results
    for cut in range(len(results) + 1):
        runs = []
        for run in (results[:cut], results[cut:]):
            out = io.BytesIO()
            json_report.STREAM.write_results(report, run, out)
            if out.getvalue():
                runs.append(out.getvalue())
        document = json_report.head(report) + json_report.STREAM.separator.join(runs) + json_report.tail(report)
        assert document == json_report.render(report.to_json())


def test_results_parts_with_odd_values_equal_the_standard_library_rendering() -> None:
    """The orjson path takes enums, tuples and other mappings as they are: same bytes as to_json()."""
    from types import MappingProxyType

    odd = [
        result(PLAIN, POLICY, "A-1", Status.FAIL, evidence=(MappingProxyType({"source": "a.reg:3", "x": [1]}),),
               expected=(1, 4294967295), actual={"k": (1, 2)}),
        result(PLAIN, POLICY, "A-2", Status.WAIVED, waiver=MappingProxyType({"reason": "r", "expires": None})),
        result(PLAIN, POLICY, "A-3", Status.ERROR, actual=2**70),  # orjson refuses; the fallback copes
        result(PLAIN, POLICY, "A-4", Status.ERROR, message="bad \udcff byte"),  # a lone surrogate
    ]
    for results in ([*sample_report().results, *odd[:2]], odd[2:3], odd[3:], odd):
        report = sample_report(results)
        expected = json_report.render(report.to_json(), use_orjson=False)
        assert b"".join(json_report.chunks(report)) == expected, results
