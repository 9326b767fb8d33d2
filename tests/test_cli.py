"""The real ``policyscan`` command in a subprocess: exit codes and reports (SPEC §2-3, §7)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from scanner.output import report_schema_errors
from tests.conftest import PLUGIN_SITE, run_cli

POLICY = """\
apiVersion: policyscan/v1
kind: Policy
metadata: {id: lines, title: Line limits, version: 2026.1}
inputs: {limit: 3}
rules:
  - id: L-001
    title: short files
    severity: high
    check: {line_count: {max: "${inputs.limit}"}}
    remediation: {en: "Trim ${file} to ${expected} lines (found ${actual})", es: "Recorte ${file}"}
  - id: L-002
    title: not empty
    severity: low
    check: {not: {line_count: {max: 0}}}
"""


@pytest.fixture
def fleet(tmp_path: Path) -> Path:
    (tmp_path / "policy.yaml").write_text(POLICY)
    (tmp_path / "ok.txt").write_text("a\nb\n")
    (tmp_path / "long.txt").write_text("a\n" * 9)
    (tmp_path / "inventory.yaml").write_text(
        "apiVersion: policyscan/v1\nkind: Inventory\ntargets:\n"
        "  - {name: web.01, labels: {role: web}, textfile: ok.txt}\n"
        "  - {name: db01, textfile: long.txt}\n"
    )
    return tmp_path


def scan(fleet: Path, *extra: str):
    return run_cli(
        "scan",
        "--policy",
        str(fleet / "policy.yaml"),
        "--inventory",
        str(fleet / "inventory.yaml"),
        "--now",
        "2026-11-26T10:00:00Z",
        *extra,
        pythonpath=PLUGIN_SITE,
    )


def test_version_is_fast_and_plain():
    out = run_cli("--version")
    assert out.returncode == 0 and re.fullmatch(r"policyscan \d+\.\d+\.\d+\n", out.stdout)


def test_scan_writes_every_report_and_exits_1_on_failure(fleet):
    out = scan(
        fleet, "--report", f"json={fleet / 'r.json'}", "--report", f"junit={fleet / 'r.xml'}", "--report", "console"
    )
    assert out.returncode == 1, out.stderr
    assert "Trim" in out.stdout and "db01" in out.stdout
    report = json.loads((fleet / "r.json").read_text())
    assert report_schema_errors(report) == []
    assert report["now"] == "2026-11-26T10:00:00Z"
    assert report["policies"][0]["version"] == "2026.1"
    assert len(report["policies"][0]["sha256"]) == 64
    assert report["inputs"] == {"limit": 3}
    assert report["summary"] == {"total": 4, "pass": 3, "fail": 1, "error": 0, "skip": 0, "waived": 0}
    failed = [r for r in report["results"] if r["status"] == "fail"]
    assert [(r["target"], r["rule"], r["actual"], r["expected"]) for r in failed] == [("db01", "L-001", 9, 3)]
    assert failed[0]["remediation"] == f"Trim {fleet / 'long.txt'} to 3 lines (found 9)"
    assert [(r["target"], r["rule"]) for r in report["results"]] == [
        ("db01", "L-001"),
        ("db01", "L-002"),
        ("web.01", "L-001"),
        ("web.01", "L-002"),
    ]
    root = ET.parse(fleet / "r.xml").getroot()
    classnames = {tc.get("classname") for tc in root.iter("testcase")}
    assert classnames == {"lines.db01", "lines.web_01"}
    assert len(root.findall(".//failure")) == 1


def test_lang_input_override_and_fail_on(fleet):
    out = scan(fleet, "--input", "limit=20", "--report", f"json={fleet / 'r.json'}")
    assert out.returncode == 0, out.stderr
    assert json.loads((fleet / "r.json").read_text())["inputs"] == {"limit": 20}
    out = scan(fleet, "--fail-on", "critical", "--lang", "es", "--report", f"json={fleet / 'r.json'}")
    assert out.returncode == 0
    failed = [r for r in json.loads((fleet / "r.json").read_text())["results"] if r["status"] == "fail"]
    assert failed[0]["remediation"] == f"Recorte {fleet / 'long.txt'}"


def test_error_results_exit_3_and_never_pass(fleet):
    (fleet / "long.txt").unlink()
    out = scan(fleet, "--report", f"json={fleet / 'r.json'}")
    assert out.returncode == 3, out.stdout + out.stderr
    results = json.loads((fleet / "r.json").read_text())["results"]
    assert {r["status"] for r in results if r["target"] == "db01"} == {"error"}


def test_a_run_that_checks_nothing_exits_3(fleet):
    (fleet / "inventory.yaml").write_text("apiVersion: policyscan/v1\nkind: Inventory\ntargets: [{name: bare}]\n")
    out = scan(fleet, "--report", f"json={fleet / 'r.json'}")
    assert out.returncode == 3
    assert json.loads((fleet / "r.json").read_text())["summary"]["skip"] == 2


def test_a_run_of_only_errors_exits_3_even_when_fail_on_is_above_them(fleet):
    """--fail-on critical over high and low errors: nothing failed the gate, but nothing was proven."""
    (fleet / "ok.txt").unlink()
    (fleet / "long.txt").unlink()
    out = scan(fleet, "--fail-on", "critical", "--report", f"json={fleet / 'r.json'}")
    assert out.returncode == 3, out.stdout + out.stderr
    assert json.loads((fleet / "r.json").read_text())["summary"]["error"] == 4


def test_a_report_whose_reader_leaves_early_never_exits_0(fleet):
    """A FIFO reader that closes after a few bytes loses the report: exit 3, the run is
    incomplete (a broken pipe there is not the harmless `| head` on stdout), never a green 0."""
    import os
    import threading

    fifo = fleet / "report.fifo"
    os.mkfifo(fifo)

    def read_a_little() -> None:
        with open(fifo, "rb") as f:
            f.read(1)

    reader = threading.Thread(target=read_a_little, daemon=True)
    reader.start()
    (fleet / "inventory.yaml").write_text(
        "apiVersion: policyscan/v1\nkind: Inventory\ntargets:\n"
        + "".join(f"  - {{name: web{i:04d}, textfile: ok.txt}}\n" for i in range(3000))
    )
    out = scan(fleet, "--report", f"json={fifo}", "--jobs", "1")
    reader.join(30)
    assert out.returncode == 3, out.stderr
    assert "a report was not delivered" in out.stderr and "Traceback" not in out.stderr


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--report", "yaml"], "unknown report format 'yaml'"),
        (["--report", "json", "--report", "console"], "stdout"),
        (["--input", "nope=1"], "--input nope: no loaded policy declares this input"),
        (["--now", "yesterday"], "--now 'yesterday' is not an ISO 8601 time"),
        (["--reg", "missing.reg"], "--inventory cannot be combined"),
        (["--target", ""], "--inventory cannot be combined"),
    ],
)
def test_usage_errors_exit_2(fleet, args, words):
    out = scan(fleet, *args)
    assert out.returncode == 2
    assert words in out.stderr


def test_a_report_path_that_cannot_be_written_is_a_usage_error_before_the_scan(fleet):
    """A report under a regular file (or one naming a folder) stops the run at once, exit 2,
    with the report named; the streamed and the gathered paths alike."""
    for extra in ([], ["--report", "console"]):
        out = scan(fleet, "--report", f"json={fleet / 'ok.txt' / 'r.json'}", *extra)
        assert out.returncode == 2, out.stderr
        assert f"--report json={fleet / 'ok.txt' / 'r.json'}: cannot write in {fleet / 'ok.txt'}" in out.stderr
        assert "Traceback" not in out.stderr and out.stdout == ""
    out = scan(fleet, "--report", f"junit={fleet}")
    assert out.returncode == 2 and f"--report junit={fleet}: is a directory" in out.stderr


def test_missing_reg_file_is_a_usage_error(tmp_path):
    out = run_cli("scan", "--policy", "policies", "--reg", str(tmp_path / "nope.reg"))
    assert out.returncode == 2
    assert f"--reg {tmp_path / 'nope.reg'}: no such file" in out.stderr


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--smtp", ""], "--smtp '': "),
        (["--logs", ""], "--logs '': "),
        (["--target", "two words", "--smtp", "mail.example:25"], "--target 'two words': "),
        (["--target", "", "--smtp", "mail.example:25"], "--target '': "),
    ],
)
def test_command_line_sources_are_checked_like_inventory_sources(tmp_path, args, words):
    """The target built from --target/--reg/--smtp/--logs meets the inventory schema (every check type's
    source_schema): a value it refuses is exit 2 with one line naming the option, before any scan."""
    out = run_cli("scan", "--policy", "policies", *args, "--report", f"json={tmp_path / 'r.json'}")
    assert out.returncode == 2, out.stderr
    lines = out.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"policyscan: error: {words}"), out.stderr
    assert not (tmp_path / "r.json").exists()


def test_a_log_kind_typo_on_the_command_line_is_a_usage_error(tmp_path):
    """``smtpsend=`` is no kind: the logs plugin's source schema refuses it (listing the kinds)."""
    out = run_cli("scan", "--policy", "policies", "--logs", f"smtpsend={tmp_path / 'x.log'}")
    assert out.returncode == 2, out.stderr
    assert out.stderr.startswith(f"policyscan: error: --logs 'smtpsend={tmp_path / 'x.log'}': ")
    assert "smtp_send" in out.stderr and len(out.stderr.splitlines()) == 1


def test_invalid_policy_exits_2_and_writes_nothing(fleet):
    (fleet / "policy.yaml").write_text(POLICY.replace("severity: high", "severity: urgent"))
    out = scan(fleet, "--report", f"json={fleet / 'r.json'}")
    assert out.returncode == 2
    assert f"{fleet / 'policy.yaml'}:8:15: rules[0].severity: 'urgent' is not one of" in out.stderr
    assert "nothing was scanned" in out.stderr
    assert not (fleet / "r.json").exists()


def test_internal_error_writes_a_traceback_and_exits_4(fleet):
    out = scan(fleet, "--report", "explode")
    assert out.returncode == 4
    m = re.search(r"traceback written to (\S+)", out.stderr)
    assert m, out.stderr
    text = Path(m.group(1)).read_text()
    assert "RuntimeError: the explode reporter always fails" in text
    Path(m.group(1)).unlink()


def test_validate_reports_problems_of_all_files_at_once(fleet):
    (fleet / "bad1.yaml").write_text(POLICY.replace("title: short files", "titel: short files"))
    (fleet / "bad2.yaml").write_text("apiVersion: policyscan/v1\nkind: Inventory\ntargets: [{name: a}, {name: a}]\n")
    out = run_cli("validate", str(fleet), pythonpath=PLUGIN_SITE)
    assert out.returncode == 2
    lines = [line for line in out.stderr.splitlines() if line.startswith(str(fleet))]
    assert any(line.startswith(f"{fleet / 'bad1.yaml'}:7:5: ") and "unknown key 'titel'" in line for line in lines)
    assert any(line.startswith(f"{fleet / 'bad2.yaml'}:3:29: ") and "duplicate target name" in line for line in lines)
    (fleet / "bad1.yaml").unlink()
    (fleet / "bad2.yaml").unlink()
    ok = run_cli("validate", str(fleet), pythonpath=PLUGIN_SITE)
    assert ok.returncode == 0 and "2 file(s) valid" in ok.stdout


def test_validate_refuses_an_alias_bomb_inside_a_valid_policy_quickly(tmp_path):
    text = (Path(__file__).parent.parent / "policies" / "exchange-m365-tls12.yaml").read_text()
    bomb = ["lol0: &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    for i in range(1, 12):
        bomb.append(f"lol{i}: &l{i} [" + ", ".join([f"*l{i - 1}"] * 10) + "]")
    assert "    tags: [tls, tls12, schannel, exchange, m365]\n" in text
    nested = "    tags:\n" + "".join(f"      - {{{b}}}\n" for b in bomb)
    (tmp_path / "bomb.yaml").write_text(text.replace("    tags: [tls, tls12, schannel, exchange, m365]\n", nested, 1))
    start = time.perf_counter()
    out = run_cli("validate", str(tmp_path / "bomb.yaml"), timeout=20)
    elapsed = time.perf_counter() - start
    assert out.returncode == 2
    assert "aliases are bounded" in out.stderr and "bomb.yaml:" in out.stderr
    assert elapsed < 5


@pytest.mark.parametrize("gathered", [False, True], ids=["streamed", "gathered"])
def test_a_pipe_closed_early_does_not_turn_a_failing_scan_green(tmp_path, gathered):
    """``policyscan scan --report json | head -c 100``: the reader leaves after 100 bytes of a
    105 KB report; the exit code is still the scan's verdict (1: the examples have failures)."""
    import os
    import subprocess
    import sys

    from tests.conftest import ROOT

    args = [sys.executable, "-m", "scanner", "scan", "--policy", "policies", "--inventory",
            "examples/inventory.yaml", "--now", "2026-11-26T10:00:00Z", "--report", "json"]
    if gathered:  # a console report into a file cannot stream: the gathered path writes json to stdout
        args += ["--report", f"console={tmp_path / 'console.txt'}"]
    env = {k: v for k, v in os.environ.items() if k != "NO_COLOR"}
    proc = subprocess.Popen(args, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    assert proc.stdout is not None and proc.stderr is not None
    first = proc.stdout.read(100)
    proc.stdout.close()  # the reader goes away with most of the report unread
    code = proc.wait(timeout=60)
    stderr = proc.stderr.read().decode()
    assert first.startswith(b'{\n  "schema": "policyscan/report/v1"')
    assert code == 1, stderr
    assert "Traceback" not in stderr and "internal error" not in stderr


def test_an_invalid_policy_creates_no_report_folder(fleet):
    (fleet / "policy.yaml").write_text(POLICY.replace("severity: high", "severity: urgent"))
    out = scan(fleet, "--report", f"json={fleet / 'out' / 'r.json'}")
    assert out.returncode == 2
    assert not (fleet / "out").exists()


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")
@pytest.mark.parametrize("where", ["report", "stdout"])
def test_a_full_disk_is_an_incomplete_run_not_a_crash(fleet, where):
    """ENOSPC (a full disk, /dev/full) is the machine's fault: one line, exit 3, no traceback file."""
    if where == "report":
        out = scan(fleet, "--report", "json=/dev/full")
    else:
        with open("/dev/full", "w") as full:
            out = subprocess.run([sys.executable, "-m", "scanner", "scan", "--policy", str(fleet / "policy.yaml"),
                                  "--inventory", str(fleet / "inventory.yaml")], stdout=full,
                                 stderr=subprocess.PIPE, text=True, timeout=60, check=False, env=_plugin_env())
    assert out.returncode == 3, out.stderr
    assert "No space left on device" in out.stderr and "traceback" not in out.stderr.lower()


def test_a_closed_stdout_is_not_a_crash(fleet):
    """Started with stdout closed (`>&-`): the console report has no reader; the verdict decides."""
    out = subprocess.run([sys.executable, "-m", "scanner", "scan", "--policy", str(fleet / "policy.yaml"),
                          "--inventory", str(fleet / "inventory.yaml")], stdout=subprocess.DEVNULL,
                         stderr=subprocess.PIPE, text=True, timeout=60, check=False, env=_plugin_env(),
                         preexec_fn=lambda: os.close(1))
    assert out.returncode == 1, out.stderr
    assert "internal error" not in out.stderr


@pytest.mark.parametrize("now", ["0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00"])
def test_now_outside_the_representable_range_is_a_usage_error(fleet, now):
    out = scan(fleet, "--now", now)
    assert out.returncode == 2, out.stderr
    assert "outside the years 1 to 9999" in out.stderr


def test_a_rule_whose_labels_match_no_target_is_warned_about(fleet):
    typo = "severity: high\n    applies_to: {labels: {rol: web}}"
    (fleet / "policy.yaml").write_text(POLICY.replace("severity: high", typo, 1))
    out = scan(fleet)
    assert "its applies_to labels match no target, so it is skipped everywhere" in out.stderr, out.stderr


def _plugin_env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(PLUGIN_SITE), os.environ.get("PYTHONPATH")]))}


def test_an_unknown_language_is_refused_before_any_report_folder_is_made(fleet):
    out = scan(fleet, "--lang", "xx", "--report", f"json={fleet / 'new' / 'r.json'}")
    assert out.returncode == 2 and "available: en, es" in out.stderr, out.stderr
    assert not (fleet / "new").exists()
