"""``policyscan test`` after a black-box review.

* every fixture path (``{file}``, ``{glob}``, ``probe: FILE``, ``facts``) stays in the test file's folder once
  symlinks are resolved: anything else is an invalid test file (exit 2, ``file:line`` at the key), and nothing
  outside is read into any report;
* the rules of the policy no case expects anything of are named per test file ("not tested") in the console,
  JUnit and JSON reports, and the exit code does not change;
* ``test --help`` lists the formats ``test`` writes, not the scan reporters;
* the PolicyTest schema refuses what the tool refuses: ``facts`` with ``reg``, and a ``now`` that is not a time.
"""

from __future__ import annotations

import json
import re
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator

from scanner.policytest_cmd import NOW_PATTERN, _parse_now
from tests.conftest import PLUGIN_SITE, POLICIES, ROOT, run_cli

POLICY = "exchange-m365-tls12.yaml"
RULES = 10
"""Rules of exchange-m365-tls12."""
HEAD = f"apiVersion: policyscan/v1\nkind: PolicyTest\npolicy: {POLICY}\nnow: 2026-11-30T00:00:00Z\ncases:\n"
SECRET = "SECRET-FIRST-LINE-4f1c"
REG = ("Windows Registry Editor Version 5.00\n\n[HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Control\\"
       "SecurityProviders\\SCHANNEL\\Protocols\\TLS 1.2\\Client]\n\"Enabled\"=dword:00000001\n")


@pytest.fixture
def pack(tmp_path: Path) -> Path:
    """``tmp_path/pack`` holds the m365 policy; ``tmp_path`` (outside the pack) holds secrets and a facts file."""
    folder = tmp_path / "pack"
    folder.mkdir()
    shutil.copy(POLICIES / POLICY, folder / POLICY)
    for name in ("secret.reg", "secret.log", "secret.json", "secret.facts"):
        (tmp_path / name).write_text(f"{SECRET}\n")
    (tmp_path / "logs").mkdir()
    (tmp_path / "logs" / "x.log").write_text(f"{SECRET}\n")
    return folder


def _case(body: str) -> str:
    return HEAD + "  - name: c\n" + body + "    expect: {EXO-TLS12-001: pass}\n"


OUTSIDE = [
    # (case body, line of the key, key)
    ("    reg: {file: /etc/passwd}\n", 7, "file '/etc/passwd'"),
    ("    reg: {file: ../secret.reg}\n", 7, "file '../secret.reg'"),
    ("    reg:\n      - {file: inside.reg}\n      - {file: sub/../../secret.reg}\n", 9, "file 'sub/../../secret.reg'"),
    ("    reg: {file: link.reg}\n", 7, "file 'link.reg'"),  # a symlink out of the folder
    ("    logs: {text: {file: ../secret.log}}\n", 7, "file '../secret.log'"),
    ("    logs: {text: [{file: /etc/hostname}]}\n", 7, "file '/etc/hostname'"),
    ("    logs: {text: {glob: ../*.log}}\n", 7, "glob '../*.log'"),
    ("    logs: {text: {glob: /etc/pass*}}\n", 7, "glob '/etc/pass*'"),
    ("    logs: {text: {glob: linkdir/*.log}}\n", 7, "glob 'linkdir/*.log'"),  # a symlinked folder out
    ("    logs: {text: {glob: '**/*.log'}}\n", 7, "glob '**/*.log'"),  # matches through the symlinked folder
    ("    probe: ../secret.json\n", 7, "probe '../secret.json'"),
    ("    probe: [/etc/passwd]\n", 7, "probe '/etc/passwd'"),
    ("    facts: ../secret.facts\n", 7, "facts '../secret.facts'"),
    ("    facts: /etc/passwd\n", 7, "facts '/etc/passwd'"),
]


@pytest.mark.parametrize(("body", "line", "key"), OUTSIDE, ids=[k for _, _, k in OUTSIDE])
@pytest.mark.parametrize("command", ["test", "validate"])
def test_a_fixture_path_out_of_the_test_files_folder_is_an_invalid_test_file(pack, body, line, key, command):
    (pack / "inside.reg").write_text(REG)
    (pack / "link.reg").symlink_to(pack.parent / "secret.reg")
    (pack / "linkdir").symlink_to(pack.parent / "logs")
    test = pack / "t.test.yaml"
    test.write_text(_case(body))
    out_dir = pack.parent / "out"
    reports = ["--report", f"json={out_dir / 't.json'}", "--report", f"junit={out_dir / 't.xml'}", "--report",
               "console"] if command == "test" else []
    out = run_cli(command, str(test), *reports)
    assert out.returncode == 2, out.stdout + out.stderr
    assert out.stdout == "" and not list(out_dir.glob("t.*"))  # nothing ran, no report was written
    [problem] = [x for x in out.stderr.splitlines() if x.startswith(str(test))]
    assert re.match(rf"{re.escape(str(test))}:{line}:\d+: {re.escape(key)}: outside the test file's folder", problem)
    assert SECRET not in out.stderr and "root:" not in out.stderr


def test_fixture_paths_inside_the_folder_are_read_through_subfolders_and_symlinks_that_stay_in(pack):
    (pack / "fixtures").mkdir()
    (pack / "fixtures" / "client.reg").write_text(REG, encoding="utf-16")
    (pack / "same.reg").symlink_to(pack / "fixtures" / "client.reg")
    (pack / "logs").mkdir()
    (pack / "logs" / "a.log").write_text("nothing here\n")
    test = pack / "t.test.yaml"
    test.write_text(HEAD + "  - name: c\n    reg: [{file: fixtures/client.reg}, {file: ./same.reg}]\n"
                    "    logs: {text: {glob: 'logs/**/*.log'}}\n    expect: {EXO-TLS12-001: pass}\n")
    out = run_cli("test", str(test))
    assert out.returncode == 0, out.stdout + out.stderr


def test_the_shipped_tests_and_the_example_plugins_pack_tests_still_pass_and_test_every_rule():
    for given in ("policies", "pack:file-contains-demo",
                  str(ROOT / "examples" / "plugin-file-contains" / "policyscan_file_contains" / "policies")):
        out = run_cli("test", given)
        assert out.returncode == 0, given + out.stdout + out.stderr
        assert "not tested" not in out.stdout, out.stdout


def test_rules_no_case_expects_anything_of_are_named_in_every_report_and_the_exit_code_stays(pack):
    test = pack / "t.test.yaml"
    test.write_text(HEAD + f"  - name: c\n    reg: {json.dumps(REG)}\n    expect:\n      EXO-TLS12-001: pass\n"
                    "      EXO-TLS12-LOG-*: skip\n")
    junit, report = pack.parent / "out" / "t.xml", pack.parent / "out" / "t.json"
    out = run_cli("test", str(test), "--report", "console", "--report", f"junit={junit}", "--report",
                  f"json={report}")
    assert out.returncode == 0, out.stdout + out.stderr
    lines = out.stdout.splitlines()
    untested = ["EXO-TLS12-002", "EXO-TLS12-003", "EXO-TLS12-004", "EXO-TLS12-SMTP-001"]
    assert lines[1] == (f"NOTE  {test}: not tested: {', '.join(untested)} (no case expects anything of these "
                        "rules; the exit code does not change)")
    assert lines[-1].startswith("1 case(s) in 1 file(s): 1 passed, 0 failed")
    [suite] = ET.parse(junit).getroot()
    props = {p.get("name"): p.get("value") for p in suite.iter("property")}
    assert props == {"untested": " ".join(untested)}
    skipped = [c.get("name") for c in suite.findall("testcase") if c.find("skipped") is not None]
    assert skipped == [f"not tested: {r}" for r in untested]
    assert (suite.get("tests"), suite.get("skipped"), suite.get("failures")) == (str(RULES), "4", "0")
    doc = json.loads(report.read_text())
    assert doc["test_files"] == [{"file": str(test), "policy": "exchange-m365-tls12", "untested": untested}]


def test_test_help_lists_the_formats_test_writes():
    out = run_cli("test", "--help", pythonpath=PLUGIN_SITE)  # the test plugin adds a scan reporter, explode
    assert out.returncode == 0, out.stderr
    text = " ".join(out.stdout.split())
    assert "formats: console, json, junit" in text
    assert not any(word in text for word in ("html", "sarif", "markdown", "explode"))
    scan = " ".join(run_cli("scan", "--help", pythonpath=PLUGIN_SITE).stdout.split())
    assert "formats: console, explode, html, json, junit, markdown, sarif" in scan  # unchanged


LOOSE = {
    "facts-with-reg": (HEAD + "  - name: c\n    facts: run.facts\n    reg: {file: x.reg}\n"
                       "    expect: {EXO-TLS12-001: pass}\n", ["cases", 0, "reg"], ":8:", "not with reg"),
    "now-yesterday": (HEAD.replace("2026-11-30T00:00:00Z", "yesterday") + "  - name: c\n    reg: x\n"
                      "    expect: {EXO-TLS12-001: pass}\n", ["now"], ":4:", "now"),
}


@pytest.mark.parametrize("name", sorted(LOOSE))
def test_the_schema_refuses_what_the_tool_refuses(pack, name):
    from scanner.yamlio import load_yaml

    text, where, line, words = LOOSE[name]
    test = pack / f"{name}.test.yaml"
    test.write_text(text)
    schema = json.loads((ROOT / "schemas" / "test.json").read_text(encoding="utf-8"))
    errors = list(Draft202012Validator(schema).iter_errors(load_yaml(test)[0][0]))
    assert [list(e.absolute_path) for e in errors] == [where], [e.message for e in errors]
    for command in ("test", "validate"):
        out = run_cli(command, str(test))
        assert out.returncode == 2, out.stdout + out.stderr
        [problem] = [x for x in out.stderr.splitlines() if x.startswith(str(test))]
        assert problem.startswith(f"{test}{line}") and words in problem, problem


@pytest.mark.parametrize("text", [
    "2026-11-30T00:00:00Z", "2026-11-30T00:00:00+01:00", "2026-11-30T00:00:00.5-0230", "2026-11-30 12:00",
    "2026-11-30", "2026-11-30T07", "2026-02-28T23:59:59+01",
])
def test_every_now_the_schema_accepts_the_tool_reads(text):
    assert re.match(NOW_PATTERN, text) and _parse_now(text) is not None


@pytest.mark.parametrize("text", ["yesterday", "2026-11-30T24:00:00Z", "2026-13-01", "2026-11-30T00:00:00z",
                                  "30/11/2026", "2026-11-30T00:00:00 UTC", ""])
def test_the_schema_refuses_a_now_that_is_not_a_time(text):
    assert not re.match(NOW_PATTERN, text)

