"""``policyscan validate`` and ``scan`` on hostile and odd input: every problem, on its own line.

Each test runs the real command in a subprocess and pins exact ``file:line:col``
positions: a check that cannot be carried out must stop the run (exit 2) before
anything is scanned, never turn into a pass.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from scanner.plugin_host import load_plugins
from tests.conftest import PLUGIN_SITE, run_cli

HEAD = """\
apiVersion: policyscan/v1
kind: Policy
metadata: {id: odd, title: Odd input, version: '1'}
"""


def validate(*paths: Path):
    return run_cli("validate", *map(str, paths), pythonpath=PLUGIN_SITE)


def problem_lines(stderr: str, path: Path) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith(f"{path}:")]


def test_regexes_that_are_not_re2_are_located_and_re2_prints_nothing(tmp_path):
    policy = tmp_path / "re.yaml"
    policy.write_text(
        HEAD + "rules:\n"
        "  - {id: R1, title: t, severity: low, check: {line_count: {max: 1, matches: '(\\w)\\1'}}}\n"
        "  - {id: R2, title: t, severity: low, check: {line_count: {max: 1, matches: '(?<=x)y'}}}\n"
        "  - {id: R3, title: t, severity: low, check: {line_count: {max: 1, matches: 'SP_PROT_(SSL3'}}}\n"
        "  - {id: R4, title: t, severity: low, check: {line_count: {max: 1, matches: 'TLS1_[0-2]'}}}\n"
    )
    out = validate(policy)
    assert out.returncode == 2
    assert problem_lines(out.stderr, policy) == [
        f"{policy}:5:77: rules[0].check.line_count.matches: not a valid RE2 regex: invalid escape sequence: \\1",
        f"{policy}:6:77: rules[1].check.line_count.matches: not a valid RE2 regex: invalid perl operator: (?<=",
        f"{policy}:7:77: rules[2].check.line_count.matches: not a valid RE2 regex: missing ): SP_PROT_(SSL3",
    ]
    # nothing but our lines: no re2.cc / absl log lines, no b'...' messages
    assert out.stderr.splitlines()[3:] == ["3 problem(s) in 1 file(s)"]
    assert "re2.cc" not in out.stderr and "b'" not in out.stderr and "absl" not in out.stderr


NOT_FINITE = "is not a finite number (write it in quotes if it is text)"


def test_nan_and_infinities_are_refused_wherever_a_number_stands(tmp_path):
    policy = tmp_path / "nan.yaml"
    policy.write_text(
        HEAD + "inputs:\n"
        "  wait: .inf\n"
        "rules:\n"
        "  - id: R1\n"
        "    title: t\n"
        "    severity: low\n"
        "    check: {smtp_tls: {accept: [TLSv1.2], timeout: .nan}}\n"
        "  - id: R2\n"
        "    title: t\n"
        "    severity: low\n"
        "    check: {registry: {key: 'HKLM\\X', value: V, min: -.inf}}\n"
        "  - id: R3\n"
        "    title: t\n"
        "    severity: low\n"
        "    check: {registry: {key: 'HKLM\\X', value: V, max: 1e400}}\n"
        "  - id: R4\n"
        "    title: t\n"
        "    severity: low\n"
        "    check: {registry: {key: 'HKLM\\X', value: V, equals: '.nan'}}\n"
    )
    out = validate(policy)
    assert out.returncode == 2, out.stderr
    assert problem_lines(out.stderr, policy) == [
        f"{policy}:5:9: inputs.wait: .inf {NOT_FINITE}",
        f"{policy}:10:52: rules[0].check.smtp_tls.timeout: .nan {NOT_FINITE}",
        f"{policy}:14:54: rules[1].check.registry.min: -.inf {NOT_FINITE}",
        f"{policy}:18:54: rules[2].check.registry.max: 1e400 {NOT_FINITE}",
    ]


def test_an_input_override_must_be_a_finite_value_of_the_defaults_type(tmp_path):
    policy = tmp_path / "p.yaml"
    policy.write_text(
        HEAD + "inputs:\n"
        "  wait: 2.5\n"
        "rules:\n"
        "  - {id: R1, title: t, severity: low, check: {smtp_tls: {accept: [TLSv1.2], timeout: '${inputs.wait}'}}}\n"
    )
    for value, why in (
        ("inf", "expected a finite number"),
        ("nan", "expected a finite number"),
        ("soon", "expected a finite number"),
    ):
        out = run_cli(
            "scan", "--policy", str(policy), "--smtp", "127.0.0.1:9", "--input", f"wait={value}", pythonpath=PLUGIN_SITE
        )
        assert out.returncode == 2, (value, out.stdout, out.stderr)
        assert f"{policy}:5:9: --input wait='{value}': {why}, like this input's default (2.5)" in out.stderr
        assert "nothing was scanned" in out.stderr
    ok = run_cli(
        "scan", "--policy", str(policy), "--smtp", "127.0.0.1:9", "--input", "wait=0.2", pythonpath=PLUGIN_SITE
    )
    assert ok.returncode == 3, ok.stderr  # the port is closed: error, but it was scanned


BROKEN = """\
apiVersion: policyscan/v1
kind: Policy
metadata:
  id: demo
  title: Demo policy
  version: 1.0.0
rules:
  - id: R-1
    title: one
    severity: hgih
    check: {line_count: {max: -1}}
  - id: R-1
    title: dup
    severity: low
    check: {line_cuont: {max: 1}}
  - id: R-3
    title: three
    severity: low
    colour: red
    check: {line_count: {max: 1, matches: "a(b"}}
  - id: R-4
    title: four
    severity: low
    check: {line_count: {max: "${inputs.nope}"}}
    remediation: Fix ${nonsense} now
  - title: no id
    severity: low
    check: {all: [{line_count: {max: 1, mx: 2}}]}
    message: ${file} has ${actual} lines ${
"""


def _known_check_types() -> str:
    """The built-ins', the test plugin's and any installed plugin's (CI installs examples/plugin-file-contains)."""
    known = {"line_count", "log_signatures", "registry", "smtp_tls"} | set(load_plugins().check_types)
    return ", ".join(sorted(known))


def test_validate_reports_every_problem_of_a_file_at_once(tmp_path):
    policy = tmp_path / "broken.yaml"
    policy.write_text(BROKEN)
    out = validate(policy)
    assert out.returncode == 2
    assert problem_lines(out.stderr, policy) == [
        f"{policy}:10:15: rules[0].severity: 'hgih' is not one of ['info', 'low', 'medium', 'high', 'critical']",
        f"{policy}:11:31: rules[0].check.line_count.max: -1 is less than the minimum of 0",
        f"{policy}:12:9: duplicate rule id 'R-1' (first at rules[0])",
        f"{policy}:15:13: unknown check type 'line_cuont' (known check types: {_known_check_types()}; "
        "combinators: all, any, not)",
        f"{policy}:19:5: rules[2]: unknown key 'colour' (allowed: applies_to, check, description, id, message, "
        "rationale, references, remediation, severity, tags, title)",
        f"{policy}:20:43: rules[2].check.line_count.matches: not a valid RE2 regex: missing ): a(b",
        f"{policy}:24:25: unknown input ${{inputs.nope}} (policy inputs: none)",
        f"{policy}:25:18: remediation: unknown placeholder ${{nonsense}} (known: actual, expected, file, message, "
        "policy, rule, severity, status, target, title)",
        f"{policy}:26:5: rules[4]: 'id' is a required property",
        f"{policy}:28:41: rules[4].check.all[0].line_count: unknown key 'mx' (allowed: matches, max)",
        f"{policy}:29:14: message: unterminated placeholder '${{' (write '$$' for a literal '$')",
    ]


def _rule_lines(n: int) -> str:
    """Rule i takes lines 5+4i (``- id``), 6+4i (title), 7+4i (severity) and 8+4i (check)."""
    return "".join(
        f"  - id: R{i}\n    title: t\n    severity: low\n    check: {{line_count: {{max: 1}}}}\n" for i in range(n)
    )


MISSING_COLON = "invalid YAML: this line is not 'key: value' (is the ':' after the key missing?)"
TAB = "a tab character indents this line; YAML allows only spaces"


@pytest.mark.parametrize(
    ("edits", "where", "message"),
    [
        ({22: "    title: 't"}, "22:12", "invalid YAML: the ' opened here is never closed"),
        ({22: '    title: "t'}, "22:12", 'invalid YAML: the " opened here is never closed'),
        (
            {10: "    title: 'it''s", 14: "    title: 'R2'"},
            "10:12",
            "invalid YAML: the ' opened here is not closed on its line; the text runs on to line 14, where the "
            "parse fails (while parsing a block mapping did not find expected key). Is the closing ' missing?",
        ),
        ({11: "    severity high"}, "11:5", MISSING_COLON),
        ({13: "  - id R2"}, "13:5", MISSING_COLON + "; its text runs on into line 14, where the parse fails"),
        ({7: "\tseverity: low"}, "7:1", TAB),
        ({5: "\t- id: R0"}, "5:1", TAB),
        ({15: "  \tseverity: low"}, "15:3", TAB),
    ],
)
def test_yaml_errors_point_at_the_line_to_fix(tmp_path, edits, where, message):
    lines = (HEAD + "rules:\n" + _rule_lines(6)).splitlines()
    for number, text in edits.items():
        lines[number - 1] = text
    policy = tmp_path / "bad.yaml"
    policy.write_text("\n".join(lines) + "\n")
    out = validate(policy)
    assert out.returncode == 2
    assert problem_lines(out.stderr, policy) == [f"{policy}:{where}: {message}"]


def test_a_waiver_with_an_empty_target_list_is_refused(tmp_path):
    waivers = tmp_path / "w.yaml"
    waivers.write_text(
        "apiVersion: policyscan/v1\nkind: Waivers\nwaivers:\n"
        "  - rule: L-1\n    targets: []\n    reason: gone soon\n    expires: 2026-12-31\n"
    )
    out = validate(waivers)
    assert out.returncode == 2
    assert problem_lines(out.stderr, waivers) == [f"{waivers}:5:14: waivers[0].targets: [] should be non-empty"]
    policy = tmp_path / "p.yaml"
    policy.write_text(HEAD + "rules:\n" + _rule_lines(1))
    (tmp_path / "a.txt").write_text("x\n")
    scan = run_cli(
        "scan", "--policy", str(policy), "--waivers", str(waivers), "--smtp", "127.0.0.1:9", pythonpath=PLUGIN_SITE
    )
    assert scan.returncode == 2 and "nothing was scanned" in scan.stderr
    assert f"{waivers}:5:14: waivers[0].targets: [] should be non-empty" in scan.stderr


def test_a_path_that_holds_nothing_to_check_is_not_a_pass(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "notes.yaml").write_text("just: yaml\n")
    out = validate(empty)
    assert out.returncode == 2
    assert f"{empty}:1:1: no policyscan files found here" in out.stderr
    good = tmp_path / "good"
    good.mkdir()
    (good / "p.yaml").write_text(HEAD + "rules:\n" + _rule_lines(1))
    scan = run_cli(
        "scan", "--policy", str(good), "--policy", str(empty), "--smtp", "127.0.0.1:9", pythonpath=PLUGIN_SITE
    )
    assert scan.returncode == 2 and f"{empty}:1:1: no policy files found here" in scan.stderr


def test_a_policy_in_a_directory_with_a_wrong_api_version_is_reported_not_skipped(tmp_path):
    (tmp_path / "good.yaml").write_text(HEAD + "rules:\n" + _rule_lines(1))
    typo = tmp_path / "typo.yaml"
    typo.write_text(
        (HEAD + "rules:\n" + _rule_lines(1)).replace("odd", "odd2").replace("policyscan/v1", "policyscan/V1")
    )
    out = run_cli("scan", "--policy", str(tmp_path), "--smtp", "127.0.0.1:9", pythonpath=PLUGIN_SITE)
    assert out.returncode == 2
    assert (
        f"{typo}:1:13: not a policy (apiVersion 'policyscan/V1'): expected apiVersion policyscan/v1 and kind Policy"
        in out.stderr
    )
