"""scanner.output: --report specs, atomic report files, stdout rules, colour decisions."""

from __future__ import annotations

import io
import json
import os
import select
from importlib.metadata import entry_points
from pathlib import Path
from typing import IO

import pytest
from sample_reports import sample_report

from scanner.api import Reporter, ReportOptions
from scanner.output import (
    ReportSpecError,
    check_report_specs,
    color_wanted,
    load_report_schema,
    parse_report_spec,
    write_reports,
)
from scanner.report import Report
from scanner.reporters import console, json_report, junit

BUILTIN = {r.name: r for mod in (console, json_report, junit) for r in mod.register_reporters()}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("json", ("json", None)),
        ("json=-", ("json", None)),
        ("junit=out/junit.xml", ("junit", "out/junit.xml")),
        ("JSON=a=b.json", ("json", "a=b.json")),
        ("console=C:\\reports\\scan.txt", ("console", "C:\\reports\\scan.txt")),
    ],
)
def test_parse_report_spec(text: str, expected: tuple[str, str | None]) -> None:
    assert parse_report_spec(text) == expected


@pytest.mark.parametrize("text", ["", "=out.json", "json=", " =x", "js on=x"])
def test_parse_report_spec_rejects_malformed(text: str) -> None:
    with pytest.raises(ReportSpecError, match="--report"):
        parse_report_spec(text)


def test_unknown_format_lists_known_ones_and_nothing_is_written(tmp_path: Path) -> None:
    out = tmp_path / "r.json"
    with pytest.raises(ReportSpecError, match=r"unknown report format 'sarif'; known formats: console, json, junit"):
        write_reports(sample_report(), [("json", str(out)), ("sarif", None)], BUILTIN, io.StringIO())
    assert not out.exists()  # specs are all checked before any report is written


def test_only_one_report_may_go_to_stdout() -> None:
    stdout = io.StringIO()
    with pytest.raises(ReportSpecError, match=r"only one report may go to stdout, got 2 \(console, json\)"):
        write_reports(sample_report(), [("console", None), ("json", None)], BUILTIN, stdout)
    assert stdout.getvalue() == ""
    assert issubclass(ReportSpecError, ValueError)


def test_specs_can_be_checked_before_scanning() -> None:
    check_report_specs([("console", None), ("json", "r.json"), ("junit", "-x.xml")], BUILTIN)
    with pytest.raises(ReportSpecError, match="only one report may go to stdout"):
        check_report_specs([parse_report_spec("json"), parse_report_spec("junit=-")], BUILTIN)


def test_two_reports_into_one_file_rejected(tmp_path: Path) -> None:
    with pytest.raises(ReportSpecError, match="same file"):
        write_reports(sample_report(), [("json", str(tmp_path / "r")), ("junit", str(tmp_path / "." / "r"))],
                      BUILTIN, io.StringIO())


def test_files_and_stdout_written(tmp_path: Path) -> None:
    stdout = io.StringIO()
    report = sample_report()
    json_path = tmp_path / "deep" / "dir" / "report.json"  # parent folders are created
    xml_path = tmp_path / "junit.xml"
    write_reports(report, [("console", None), ("json", str(json_path)), ("junit", str(xml_path))], BUILTIN, stdout)
    assert stdout.getvalue().startswith("9 results:")
    assert "\x1b" not in stdout.getvalue()  # a StringIO is no terminal
    assert json.loads(json_path.read_text(encoding="utf-8")) == report.to_json()
    assert xml_path.read_text(encoding="utf-8").startswith('<?xml version="1.0" encoding="utf-8"?>')
    assert sorted(p.name for p in tmp_path.iterdir()) == ["deep", "junit.xml"]  # no temp files left
    assert os.listdir(json_path.parent) == ["report.json"]


def _half_then_boom(report: Report, stream: IO[str], options: ReportOptions) -> None:
    stream.write('{"half": ')
    stream.flush()
    raise RuntimeError("reporter crashed mid-way")


BOOM = Reporter(name="boom", write=_half_then_boom)


def test_a_crashing_reporter_leaves_no_file_and_no_temp(tmp_path: Path) -> None:
    out = tmp_path / "report.json"
    with pytest.raises(RuntimeError, match="mid-way") as info:
        write_reports(sample_report(), [("boom", str(out))], {**BUILTIN, "boom": BOOM}, io.StringIO())
    assert list(tmp_path.iterdir()) == []
    assert any("boom report" in note for note in info.value.__notes__)


def test_a_crashing_reporter_leaves_the_existing_file_untouched(tmp_path: Path) -> None:
    out = tmp_path / "report.json"
    out.write_text("previous report\n", encoding="utf-8")
    with pytest.raises(RuntimeError):
        write_reports(sample_report(), [("boom", str(out))], {**BUILTIN, "boom": BOOM}, io.StringIO())
    assert out.read_text(encoding="utf-8") == "previous report\n"
    assert list(tmp_path.iterdir()) == [out]


def test_other_reports_still_written_when_one_crashes(tmp_path: Path) -> None:
    good = tmp_path / "good.json"
    with pytest.raises(RuntimeError):
        write_reports(sample_report(), [("boom", str(tmp_path / "bad.json")), ("json", str(good))],
                      {**BUILTIN, "boom": BOOM}, io.StringIO())
    assert json.loads(good.read_text(encoding="utf-8"))["summary"]["total"] == 9
    assert sorted(p.name for p in tmp_path.iterdir()) == ["good.json"]


def test_replacing_an_existing_report_is_complete(tmp_path: Path) -> None:
    out = tmp_path / "report.json"
    out.write_text("x" * 100_000, encoding="utf-8")  # longer than the new report: no tail may survive
    write_reports(sample_report(), [("json", str(out))], BUILTIN, io.StringIO())
    assert json.loads(out.read_text(encoding="utf-8"))["schema"] == "policyscan/report/v1"


class Recorder:
    def __init__(self) -> None:
        self.options: list[tuple[str, ReportOptions]] = []

    def reporter(self, name: str) -> Reporter:
        def write(report: Report, stream: IO[str], options: ReportOptions) -> None:
            self.options.append((name, options))
            stream.write(f"{name}\n")
        return Reporter(name=name, write=write)


def _tty() -> tuple[IO[str], int]:
    master, slave = os.openpty()
    return os.fdopen(slave, "w", encoding="utf-8"), master


def _drain(master: int) -> str:
    """Everything written to the terminal so far (a pty hands it over in pieces)."""
    data = b""
    while select.select([master], [], [], 0.2)[0]:
        chunk = os.read(master, 65536)
        if not chunk:
            break
        data += chunk
    return data.decode("utf-8")


def test_colour_only_for_console_on_a_terminal_without_no_color(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rec = Recorder()
    reporters = {"console": rec.reporter("console"), "json": rec.reporter("json")}
    tty, master = _tty()
    try:
        monkeypatch.delenv("NO_COLOR", raising=False)
        assert color_wanted(tty) and not color_wanted(io.StringIO())
        write_reports(sample_report(), [("console", None), ("json", str(tmp_path / "r.json"))], reporters, tty)
        write_reports(sample_report(), [("json", None)], reporters, tty)
        monkeypatch.setenv("NO_COLOR", "1")
        write_reports(sample_report(), [("console", None)], reporters, tty)
        monkeypatch.setenv("NO_COLOR", "")  # empty means unset (no-color.org)
        write_reports(sample_report(), [("console", None)], reporters, tty)
        assert _drain(master).split() == ["console", "json", "console", "console"]
    finally:
        tty.close()
        os.close(master)
    assert [(n, o.color) for n, o in rec.options] == [
        ("console", True), ("json", False), ("json", False), ("console", False), ("console", True)]
    assert (tmp_path / "r.json").read_text(encoding="utf-8") == "json\n"


def test_real_console_on_a_terminal_is_coloured(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NO_COLOR", raising=False)
    tty, master = _tty()
    try:
        write_reports(sample_report(), [("console", None)], BUILTIN, tty)
        assert "\x1b[" in _drain(master)
    finally:
        tty.close()
        os.close(master)


def test_schema_is_package_data_and_reporters_are_entry_points() -> None:
    schema = load_report_schema()
    assert schema["properties"]["schema"]["const"] == "policyscan/report/v1"
    found = {ep.name: ep.value for ep in entry_points(group="policyscan")}
    assert {found.get(n) for n in ("console", "json", "junit")} == {
        "scanner.reporters.console", "scanner.reporters.json_report", "scanner.reporters.junit"}


def _pid_writer(report: Report, stream: IO[str], options: ReportOptions) -> None:
    stream.write(str(os.getpid()))


def test_extra_report_files_are_written_by_forked_children(tmp_path: Path) -> None:
    """With two or more report files, all but the first are written in parallel by child processes."""
    pid = Reporter(name="pid", write=_pid_writer)
    reporters = {**BUILTIN, "pid": pid, "pid2": Reporter(name="pid2", write=_pid_writer)}
    write_reports(sample_report(), [("pid", str(tmp_path / "a")), ("pid2", str(tmp_path / "b"))],
                  reporters, io.StringIO())
    assert (tmp_path / "a").read_text() == str(os.getpid())
    assert (tmp_path / "b").read_text() not in ("", str(os.getpid()))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a", "b"]


def test_a_crash_in_a_forked_writer_is_raised_with_its_traceback(tmp_path: Path) -> None:
    good = tmp_path / "good.json"
    with pytest.raises(RuntimeError, match=r"the boom report to .*bad\.json failed") as info:
        write_reports(sample_report(), [("json", str(good)), ("boom", str(tmp_path / "bad.json"))],
                      {**BUILTIN, "boom": BOOM}, io.StringIO())
    assert "RuntimeError: reporter crashed mid-way" in str(info.value)
    assert json.loads(good.read_text(encoding="utf-8"))["summary"]["total"] == 9
    assert sorted(p.name for p in tmp_path.iterdir()) == ["good.json"]
