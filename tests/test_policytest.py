"""``policyscan test``: policy unit tests (``*.test.yaml``, kind PolicyTest).

The shipped policies' own tests run here through the real command (so CI runs
them), every shipped rule must have a pass, a fail and an error case, and a test
file from elsewhere runs no code: a python tag is refused, and a ``conftest.py``
or any ``.py`` beside the file is never imported.
"""

from __future__ import annotations

import json
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from scanner.errors import Problem
from scanner.plugin_host import load_plugins
from scanner.policytest_cmd import load_test_file, policytest_schema
from tests.conftest import ROOT, run_cli

POLICIES = ROOT / "policies"
SHIPPED_CASES = 24
"""Cases in policies/*.test.yaml: 11 for exchange-m365-tls12, 13 for exchange-tls-hardening."""

POLICY = "exchange-m365-tls12.yaml"
HEAD = f"apiVersion: policyscan/v1\nkind: PolicyTest\npolicy: {POLICY}\nnow: 2026-11-30T00:00:00Z\ncases:\n"
ENABLED = """\
  - name: client enabled
    reg: |
      Windows Registry Editor Version 5.00

      [HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Control\\SecurityProviders\\SCHANNEL\\Protocols\\TLS 1.2\\Client]
      "Enabled"=dword:00000001
      "DisabledByDefault"=dword:00000000
    expect:
"""


@pytest.fixture
def suite(tmp_path: Path) -> Path:
    """A folder holding a copy of the m365 policy, where test files are written."""
    shutil.copy(POLICIES / POLICY, tmp_path / POLICY)
    return tmp_path


def test_the_shipped_policy_tests_pass():
    out = run_cli("test", "policies")
    assert out.returncode == 0, out.stdout + out.stderr
    lines = out.stdout.splitlines()
    assert sum(line.startswith("PASS ") for line in lines) == SHIPPED_CASES
    assert not any(line.startswith("FAIL ") for line in lines)
    assert lines[-1].startswith(f"{SHIPPED_CASES} case(s) in 2 file(s): {SHIPPED_CASES} passed, 0 failed")


def test_every_shipped_rule_has_a_pass_a_fail_and_an_error_case():
    host = load_plugins()
    seen: dict[tuple[str, str], set[str]] = {}
    rules: set[tuple[str, str]] = set()
    tests = sorted(POLICIES.glob("*.test.yaml"))
    assert {t.name for t in tests} == {p.name.replace(".yaml", ".test.yaml") for p in POLICIES.glob("*.yaml")
                                       if not p.name.endswith(".test.yaml")}
    for path in tests:
        problems: list[Problem] = []
        test = load_test_file(path, host, problems)
        assert test is not None and not problems, problems
        for policy in test.policies.values():
            rules |= {(policy.id, r.id) for r in policy.rules}
        for case in test.cases:
            for e in case.expectations:
                seen.setdefault((test.policy_id, e.rule), set()).add(e.status)
    missing = {rule: sorted({"pass", "fail", "error"} - seen.get(rule, set())) for rule in sorted(rules)}
    assert {rule: gap for rule, gap in missing.items() if gap} == {}
    assert len(rules) == 41


def test_an_unmet_expectation_exits_1_naming_file_line_expected_and_actual(suite):
    test = suite / "m.test.yaml"
    test.write_text(HEAD + ENABLED + "      EXO-TLS12-001: fail\n      EXO-TLS12-002: {status: pass, message: nope}\n"
                    "      EXO-TLS12-003: error\n")
    out = run_cli("test", str(test))
    assert out.returncode == 1, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0] == f"FAIL  {test}:6: client enabled (1/3 expectations met)"
    assert lines[1] == (f"  {test}:14: case client enabled: rule EXO-TLS12-001: expected fail, got pass "
                        "(message: Enabled is 1 (required: one of [1, 4294967295]))")
    assert lines[2] == (f"  {test}:15: case client enabled: rule EXO-TLS12-002: expected pass with message "
                        "containing 'nope', got pass (message: DisabledByDefault is 0 (required: 0))")
    assert lines[-1] == "1 case(s) in 1 file(s): 0 passed, 1 failed; 1/3 expectations met"


def test_junit_and_json_reports(suite, tmp_path):
    test = suite / "m.test.yaml"
    test.write_text(HEAD + ENABLED
                    + "      EXO-TLS12-001: fail\n      EXO-TLS12-002: pass\n      EXO-TLS12-003: error\n"
                    + ENABLED.replace("client enabled", "again") + "      EXO-TLS12-00[12]: pass\n")
    junit, report = tmp_path / "out" / "junit.xml", tmp_path / "out" / "test.json"
    out = run_cli("test", str(test), "--report", f"junit={junit}", "--report", f"json={report}")
    assert out.returncode == 1 and out.stdout == ""
    root = ET.parse(junit).getroot()
    # 5 expectations, and the 7 rules of the policy no case expects anything of, skipped
    assert (root.tag, root.get("tests"), root.get("failures"), root.get("skipped")) == ("testsuites", "12", "1", "7")
    [suite_el] = root
    cases = [c for c in suite_el.findall("testcase") if c.find("skipped") is None]
    assert [c.get("name") for c in cases] == [
        "client enabled: EXO-TLS12-001", "client enabled: EXO-TLS12-002", "client enabled: EXO-TLS12-003",
        "again: EXO-TLS12-001", "again: EXO-TLS12-002",
    ]
    assert {c.get("classname") for c in cases} == {"exchange-m365-tls12"}
    failure = cases[0].find("failure")
    assert failure is not None and failure.get("message", "").startswith("expected fail, got pass")
    assert "expected: fail\nactual: pass" in (failure.text or "")
    assert cases[2].find("failure") is None  # error expected; EXO-TLS12-003's Server key is not in the export
    doc = json.loads(report.read_text())
    assert doc["summary"] == {"files": 1, "cases": 2, "passed": 1, "failed": 1, "expectations": 5, "unmet": 1}


@pytest.mark.parametrize(
    ("body", "where", "words"),
    [
        (ENABLED + "      EXO-TLS12-999: pass\n", ":14:7:", "'EXO-TLS12-999' is not a rule of the policy"),
        (ENABLED + "      EXO-TLS12-001: passed\n", ":14:", "'passed'"),
        (ENABLED + "      NOPE-*: pass\n", ":14:7:", "'NOPE-*' is not a rule"),
        (ENABLED.replace("client enabled", "x") + "      EXO-TLS12-001: pass\n"
         + ENABLED.replace("client enabled", "x") + "      EXO-TLS12-001: pass\n", ":15:", "duplicate case name"),
        (ENABLED.replace("    expect:\n", "    inputs: {nope: 1}\n    expect:\n") + "      EXO-TLS12-001: pass\n",
         ":13:", "input 'nope'"),
        ("  - name: bad probe\n    probe: {schema: policyscan/probe/v1, facts: {}}\n"
         "    expect: {EXO-TLS12-SMTP-001: pass}\n",
         ":7:", "not a recorded probe document"),
    ],
)
def test_an_invalid_test_file_exits_2_with_file_line_and_runs_nothing(suite, body, where, words):
    test = suite / "bad.test.yaml"
    test.write_text(HEAD + body)
    out = run_cli("test", str(suite))
    assert out.returncode == 2, out.stdout + out.stderr
    assert out.stdout == ""
    [line] = [x for x in out.stderr.splitlines() if x.startswith(str(test))]
    assert line.startswith(f"{test}{where}") and words in line, line


def test_an_invalid_policy_named_by_a_test_exits_2(suite):
    (suite / POLICY).write_text((POLICIES / POLICY).read_text().replace("severity: high", "severity: huge", 1))
    (suite / "m.test.yaml").write_text(HEAD + ENABLED + "      EXO-TLS12-001: pass\n")
    out = run_cli("test", str(suite))
    assert out.returncode == 2 and f"{suite / POLICY}:" in out.stderr and "huge" in out.stderr


def test_no_case_found_exits_3(tmp_path):
    (tmp_path / "policy.yaml").write_text("not a test file: true\n")
    out = run_cli("test", str(tmp_path))
    assert out.returncode == 3 and "no test case found" in out.stderr


def test_a_test_file_from_elsewhere_runs_no_code(suite, tmp_path):
    marker = tmp_path / "MARKER"
    code = f"open({str(marker)!r}, 'w').write('ran')\n"
    for name in ("conftest.py", "exchange_m365_tls12.py", "plugins.py", "yaml.py", "sitecustomize.py"):
        (suite / name).write_text(code)
    (suite / "tagged.test.yaml").write_text(
        HEAD + ENABLED + f"      EXO-TLS12-001: !!python/object/apply:os.system ['touch {marker}']\n"
    )
    out = run_cli("test", str(suite))
    assert out.returncode == 2 and "unsupported tag" in out.stderr
    (suite / "tagged.test.yaml").unlink()
    (suite / "m.test.yaml").write_text(HEAD + ENABLED + "      EXO-TLS12-001: pass\n")
    assert run_cli("test", str(suite)).returncode == 0
    assert run_cli("validate", str(suite)).returncode == 0
    assert not marker.exists()


def test_validate_checks_policy_tests_and_scan_never_loads_them(suite):
    out = run_cli("validate", "policies")
    assert out.returncode == 0 and out.stdout.strip() == "4 file(s) valid", out.stderr
    (suite / "bad.test.yaml").write_text(HEAD + ENABLED + "      EXO-TLS12-999: pass\n")
    out = run_cli("validate", str(suite))
    assert out.returncode == 2 and f"{suite / 'bad.test.yaml'}:14:7:" in out.stderr
    out = run_cli("rules", "--policy", str(suite))
    assert out.returncode == 0 and "EXO-TLS12-001" in out.stdout


def test_the_schema_describes_the_format():
    schema = policytest_schema()
    assert schema["properties"]["kind"]["const"] == "PolicyTest"
    case = schema["properties"]["cases"]["items"]
    assert {"reg", "logs", "probe", "expect", "target", "inputs", "now"} <= set(case["properties"])


def test_a_facts_file_from_policyscan_collect_is_judged_without_collecting(suite, tmp_path):
    facts = suite / "fleet.facts"
    out = run_cli("collect", "--policy", str(POLICIES / POLICY), "--inventory", "examples/inventory.yaml",
                  "--out", str(facts), "--now", "2026-11-26T00:00:00Z")
    assert out.returncode == 0, out.stderr
    test = suite / "f.test.yaml"
    test.write_text(
        f"apiVersion: policyscan/v1\nkind: PolicyTest\npolicy: {POLICY}\ncases:\n"
        "  - name: exch02 as collected\n"
        "    target: {name: exch02}\n"
        "    facts: fleet.facts\n"
        "    expect:\n"
        "      EXO-TLS12-00[12]: fail\n"
        "      EXO-TLS12-LOG-001: {status: fail, message: '421 4.4.2'}\n"
        "      EXO-TLS12-LOG-003: {status: fail, message: 'within 7d'}\n"  # --now defaults to the collection time
        "      EXO-TLS12-SMTP-001: skip\n"
    )
    out = run_cli("test", str(test))
    assert out.returncode == 0, out.stdout + out.stderr
    test.write_text(test.read_text().replace("    target: {name: exch02}\n", ""))
    out = run_cli("test", str(test))
    assert out.returncode == 2 and f"{test}:6:12: facts 'fleet.facts' holds 3 targets" in out.stderr
    facts.write_bytes(facts.read_bytes()[:-20])  # cut short
    test.write_text(test.read_text().replace("    facts:", "    target: {name: exch02}\n    facts:"))
    out = run_cli("test", str(test))
    assert out.returncode == 2 and f"{test}:7:12: facts 'fleet.facts':" in out.stderr


@pytest.mark.parametrize("command", ["test", "validate"])
def test_case_inputs_are_checked_by_name_and_type(tmp_path, command):
    shutil.copy(POLICIES / "exchange-tls-hardening.yaml", tmp_path)
    head = "apiVersion: policyscan/v1\nkind: PolicyTest\npolicy: exchange-tls-hardening.yaml\ncases:\n"
    case = "  - name: c\n    inputs: {INPUTS}\n    expect: {TLS-HARD-001: skip}\n"
    test = tmp_path / "h.test.yaml"
    test.write_text(head + case.replace("{INPUTS}", "{legacy_ssl_when_missing: pass}"))
    assert run_cli(command, str(tmp_path)).returncode == 0
    for inputs, words in [("{legacy_ssl_when_missing: 1}", "legacy_ssl_when_missing"), ("{nope: x}", "'nope'")]:
        test.write_text(head + case.replace("{INPUTS}", inputs))
        out = run_cli(command, str(tmp_path))
        assert out.returncode == 2 and words in out.stderr, out.stderr
