"""Loading and validating policies, inventories and waivers: every problem, located."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from scanner.errors import LoadError
from scanner.loader import load_inventory, load_policies, load_waivers, validate_paths
from scanner.plugin_host import load_plugins
from tests.conftest import PLUGIN_SITE, run_cli

GOOD = """\
apiVersion: policyscan/v1
kind: Policy
metadata:
  id: demo
  title: Demo policy
  version: 1.0
inputs:
  limit: 3
rules:
  - id: R-2
    title: second
    severity: low
    check: {line_count: {max: 10}}
  - id: R-1
    title: first
    severity: high
    check:
      all:
        - line_count: {max: "${inputs.limit}"}
        - not: {line_count: {max: 0}}
    remediation:
      en: Trim ${file} to ${inputs.limit} lines (has ${actual}); $$5 fee.
      es: Recorte ${file}.
"""


@pytest.fixture
def host(monkeypatch):
    monkeypatch.syspath_prepend(str(PLUGIN_SITE))
    return load_plugins()


def test_good_policy_loads_with_inputs_and_string_version(write, host):
    (policy,) = load_policies([str(write("p.yaml", GOOD))], host)
    assert policy.version == "1.0"
    assert [r.id for r in policy.rules] == ["R-1", "R-2"]
    leaf = policy.rules[0].check.children[0]
    assert leaf.params == {"max": 3}  # a whole-string input keeps the input's type
    assert policy.rules[0].remediation["es"] == "Recorte ${file}."
    assert len(policy.sha256) == 64


def test_input_override_takes_the_default_type(write, host):
    (policy,) = load_policies([str(write("p.yaml", GOOD))], host, {"limit": "7"})
    assert policy.rules[0].check.children[0].params == {"max": 7}


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
    check: {line_count: {max: 1}}
  - id: R-1
    title: dup
    severity: low
    check: {line_cuont: {max: 1}}
  - id: R-3
    title: three
    severity: low
    colour: red
    check: {line_count: {max: -1, matches: "a(b"}}
  - id: R-4
    title: four
    severity: low
    check: {line_count: {max: "${inputs.nope}"}}
    remediation: Fix ${nonsense} now
"""


def test_broken_policy_reports_every_problem_at_once_with_positions(write, host):
    path = write("broken.yaml", BROKEN)
    with pytest.raises(LoadError) as info:
        load_policies([str(path)], host)
    text = str(info.value)
    lines = text.splitlines()
    assert all(line.startswith(f"{path}:") for line in lines), text
    # envelope problems do not hide the rest: one run shows them all
    assert f"{path}:10:15: rules[0].severity: 'hgih' is not one of" in text
    assert f"{path}:19:5: rules[2]: unknown key 'colour'" in text
    assert "duplicate rule id 'R-1' (first at rules[0])" in text
    assert "unknown check type 'line_cuont' (known check types: " in text and "line_count" in text
    assert "rules[2].check.line_count.max: -1 is less than the minimum of 0" in text
    assert "rules[2].check.line_count.matches: not a valid RE2 regex: missing ): a(b" in text
    assert "unknown input ${inputs.nope}" in text
    assert "is not of type 'integer'" not in text  # the unknown input says it; no echo of it
    assert "unknown placeholder ${nonsense}" in text
    assert len(lines) == 8
    for problem in info.value.problems:
        assert problem.line > 1 and problem.col >= 1


def test_a_duplicate_policy_id_does_not_hide_the_files_other_problems(write, host, tmp_path):
    write("d/a.yaml", GOOD)
    write("d/b.yaml", GOOD.replace("severity: low", "severity: lo"))
    with pytest.raises(LoadError) as info:
        load_policies([str(tmp_path / "d")], host)
    text = str(info.value)
    assert "b.yaml:4:7: duplicate policy id 'demo' (also in " in text
    assert "b.yaml:12:15: rules[0].severity: 'lo' is not one of" in text


@pytest.mark.parametrize(
    ("default", "given", "value"),
    [("3", "0x10", 16), ("3", "7", 7), ("true", "false", False), ("1.5", "3", 3.0), ("'a'", "yes", "yes")],
)
def test_input_overrides_are_read_as_yaml_12_in_the_defaults_type(write, host, default, given, value):
    path = write("p.yaml", GOOD.replace("limit: 3", f"limit: {default}").replace('max: "${inputs.limit}"', "max: 1"))
    (policy,) = load_policies([str(path)], host, {"limit": given})
    assert policy.inputs["limit"] == value and type(policy.inputs["limit"]) is type(value)


@pytest.mark.parametrize(
    ("default", "given", "why"),
    [
        ("3", "1.5", "expected an integer"),
        ("3", "", "expected an integer"),
        ("True", "yes", "expected true or false"),
        ("True", "1", "expected true or false"),
        ("1.5", ".inf", "expected a finite number"),
        ("1.5", "1e400", "expected a finite number"),
    ],
)
def test_input_overrides_of_the_wrong_type_are_refused(write, host, default, given, why):
    path = write("p.yaml", GOOD.replace("limit: 3", f"limit: {default}").replace('max: "${inputs.limit}"', "max: 1"))
    with pytest.raises(LoadError) as info:
        load_policies([str(path)], host, {"limit": given})
    assert str(info.value) == f"{path}:8:10: --input limit={given!r}: {why}, like this input's default ({default})"


def test_a_directory_passes_over_other_tools_yaml_but_reports_broken_policyscan_files(write, host, tmp_path):
    write("d/good.yaml", GOOD)
    write("d/kyverno.yaml", "apiVersion: kyverno.io/v1\nkind: Policy\nspec: {}\n")
    write("d/inv.yaml", "apiVersion: policyscan/v1\nkind: Inventory\ntargets: [{name: a}]\n")
    (policy,) = load_policies([str(tmp_path / "d")], host)
    assert policy.id == "demo"
    no_api = write("d/noapi.yaml", GOOD.replace("apiVersion: policyscan/v1\n", "").replace("id: demo", "id: d2"))
    bad_kind = write("d/kind.yaml", GOOD.replace("kind: Policy", "kind: Polciy").replace("id: demo", "id: d3"))
    with pytest.raises(LoadError) as info:
        load_policies([str(tmp_path / "d")], host)
    assert str(info.value).splitlines() == [
        f"{bad_kind}:2:7: not a policy (kind 'Polciy'): expected apiVersion policyscan/v1 and kind Policy",
        f"{no_api}:1:1: not a policy (no apiVersion): expected apiVersion policyscan/v1 and kind Policy",
    ]


def test_unknown_kind_and_missing_file(write, host, tmp_path):
    other = write("inv.yaml", "apiVersion: policyscan/v1\nkind: Inventory\ntargets: [{name: a}]\n")
    with pytest.raises(LoadError) as info:
        load_policies([str(other), str(tmp_path / "nope.yaml")], host)
    assert "not a policy" in str(info.value)
    assert "nope.yaml:1:1: no such file or directory" in str(info.value)


def test_directory_loads_only_policies_and_never_test_files(write, host, tmp_path):
    write("pols/a.yaml", GOOD)
    write("pols/a.test.yaml", "this: is not a policy")
    write("pols/notes.yml", "just: yaml\n")
    (policy,) = load_policies([str(tmp_path / "pols")], host)
    assert policy.id == "demo"


def test_inventory_duplicates_and_unknown_sources(write, host):
    inv = write(
        "inv.yaml",
        "apiVersion: policyscan/v1\nkind: Inventory\ntargets:\n"
        "  - {name: a, textfile: a.txt}\n  - {name: a, textfile: b.txt}\n  - {name: c, textfiel: x}\n",
    )
    with pytest.raises(LoadError) as info:
        load_inventory(str(inv), host)
    text = str(info.value)
    assert "unknown key 'textfiel'" in text


def test_inventory_duplicates_are_reported_with_schema_problems(write, host):
    inv = write(
        "inv.yaml",
        "apiVersion: policyscan/v1\nkind: Inventory\ntargets:\n"
        "  - {name: a, textfiel: a.txt}\n  - {name: a, textfile: b.txt}\n",
    )
    with pytest.raises(LoadError) as info:
        load_inventory(str(inv), host)
    assert [p.message.split(" (")[0] for p in info.value.problems] == [
        "targets[0]: unknown key 'textfiel'",
        "duplicate target name 'a'",
    ]


def test_a_directory_reads_yaml_suffixes_in_any_case(write, host, tmp_path):
    write("d/P.YAML", GOOD)
    write("d/P.TEST.YML", "not: a policy\n")
    (policy,) = load_policies([str(tmp_path / "d")], host)
    assert policy.id == "demo"


def test_inventory_targets_and_duplicate_names(write, host):
    inv = write(
        "inv.yaml",
        "apiVersion: policyscan/v1\nkind: Inventory\ntargets:\n"
        "  - {name: a, labels: {role: exchange}, textfile: a.txt}\n  - {name: a, textfile: b.txt}\n",
    )
    with pytest.raises(LoadError) as info:
        load_inventory(str(inv), host)
    assert f"{inv}:5:12: duplicate target name 'a' (first at targets[0])" in str(info.value)
    inv.write_text(inv.read_text().replace("{name: a, textfile: b", "{name: b, textfile: b"))
    a, b = load_inventory(str(inv), host)
    assert a.labels == {"role": "exchange"} and a.path("a.txt") == inv.parent.resolve() / "a.txt"
    assert b.sources == {"textfile": "b.txt"}


def test_waivers_are_validated(write):
    good = write(
        "w.yaml",
        "apiVersion: policyscan/v1\nkind: Waivers\nwaivers:\n"
        "  - {rule: 'EXO-*', reason: replaced soon, expires: 2026-12-31, targets: [exch02]}\n",
    )
    ws = load_waivers(str(good))
    assert ws.waivers[0].expires == "2026-12-31" and ws.waivers[0].targets == ("exch02",)
    bad = write(
        "bad.yaml",
        "apiVersion: policyscan/v1\nkind: Waivers\nwaivers:\n"
        "  - {rule: X, reason: r}\n"
        "  - {rule: Y, reason: r, expires: someday}\n"
        "  - {rule: Z, reason: r, expires: 2026-02-30}\n",
    )
    with pytest.raises(LoadError) as info:
        load_waivers(str(bad))
    text = str(info.value)
    assert f"{bad}:4:5: waivers[0]: 'expires' is a required property" in text
    assert "'someday' is not a 'date'" in text
    assert "'2026-02-30' is not a 'date'" in text


def test_validate_walks_directories_and_reports_all_files(write, host, tmp_path):
    write("d/good.yaml", GOOD)
    write("d/inv.yaml", "apiVersion: policyscan/v1\nkind: Inventory\ntargets: [{name: a}, {name: a}]\n")
    write("d/sub/w.yaml", "apiVersion: policyscan/v1\nkind: Waivers\nwaivers: [{rule: x}]\n")
    write("d/other.yaml", "unrelated: file\n")
    count, problems = validate_paths([str(tmp_path / "d")], host)
    assert count == 3
    files = {p.file.rsplit("/", 1)[-1] for p in problems}
    assert files == {"inv.yaml", "w.yaml"}


def test_forbidden_combinations_say_why(write):
    """A `not` schema's description becomes the message (registry: at most one operator)."""
    policy = write(
        "two.yaml",
        "apiVersion: policyscan/v1\nkind: Policy\nmetadata: {id: t, title: t, version: '1'}\nrules:\n"
        "  - {id: R, title: t, severity: low, check: {registry: {key: 'HKLM\\\\X', value: V, equals: 1, min: 0}}}\n",
    )
    with pytest.raises(LoadError) as info:
        load_policies([str(policy)], load_plugins())
    text = str(info.value)
    assert "rules[0].check.registry.min: at most one operator: equals is already given" in text
    assert "should not be valid under" not in text


def test_each_rule_knows_its_line_and_reports_carry_rule_details() -> None:
    """SARIF locations and the HTML report point at the rule in its policy file."""
    from datetime import UTC, datetime

    from scanner.plugin_host import load_plugins
    from scanner.report import Report
    from tests.conftest import POLICIES

    policies = load_policies([str(POLICIES)], load_plugins())
    for policy in policies:
        lines = (POLICIES / policy.path.rsplit("/", 1)[-1]).read_text(encoding="utf-8").splitlines()
        for rule in policy.rules:
            line = lines[rule.line - 1].strip()
            assert line.startswith("- ") and rule.id in line, (rule.id, rule.line, line)
    now = datetime(2026, 11, 26, tzinfo=UTC)
    info = Report.begin("1", now, now, policies, []).policies[0]
    first = info.rules[0]
    assert (first.id, first.line, first.check_type) == (policies[0].rules[0].id, policies[0].rules[0].line, "registry")
    assert first.remediation["en"] and first.remediation["es"]


LINKED_FAIL = GOOD.replace("id: demo", "id: linked").replace("max: 10", "max: 0")


def _linked_layout(write, tmp_path):
    """pols/good.yaml; pols/more -> ../avail (a shared pack); avail/back -> ../pols (a loop)."""
    write("pols/good.yaml", GOOD)
    write("avail/linked.yaml", LINKED_FAIL)
    (tmp_path / "pols" / "more").symlink_to(Path("..") / "avail", target_is_directory=True)
    (tmp_path / "pols" / "again").symlink_to(tmp_path / "avail", target_is_directory=True)
    (tmp_path / "avail" / "back").symlink_to(Path("..") / "pols", target_is_directory=True)
    return tmp_path / "pols"


def test_a_symlinked_policy_directory_is_followed_once_and_a_loop_ends(write, host, tmp_path):
    pols = _linked_layout(write, tmp_path)
    policies = load_policies([str(pols)], host)
    assert sorted(p.id for p in policies) == ["demo", "linked"]  # avail read once, though linked twice and looped
    count, problems = validate_paths([str(pols)], host)
    assert (count, problems) == (2, [])


def test_scan_and_validate_read_a_symlinked_policy_directory(write, tmp_path):
    pols = _linked_layout(write, tmp_path)
    log = write("f.txt", "one line\n")
    inv = write("inv.yaml", f"apiVersion: policyscan/v1\nkind: Inventory\ntargets: [{{name: t, textfile: '{log}'}}]\n")
    out = run_cli("validate", str(pols), pythonpath=PLUGIN_SITE)
    assert out.returncode == 0, out.stderr
    assert out.stdout == "2 file(s) valid\n"
    report = tmp_path / "r.json"
    out = run_cli("scan", "--policy", str(pols), "--inventory", str(inv), "--report", f"json={report}",
                  pythonpath=PLUGIN_SITE)
    results = json.loads(report.read_text())["results"]
    got = sorted((r["policy"], r["rule"], r["status"]) for r in results)
    assert got == [
        ("demo", "R-1", "pass"), ("demo", "R-2", "pass"), ("linked", "R-1", "pass"), ("linked", "R-2", "fail")
    ]
    assert out.returncode == 1


def test_titles_may_be_a_map_of_language_to_text_with_english(write, host):
    text = GOOD.replace("  title: Demo policy", "  title: {en: Demo policy, es: Política de prueba}").replace(
        "    title: first", "    title:\n      en: first\n      es: primera"
    )
    (policy,) = load_policies([str(write("p.yaml", text))], host)
    assert (policy.title, policy.titles) == ("Demo policy", {"en": "Demo policy", "es": "Política de prueba"})
    first = next(r for r in policy.rules if r.id == "R-1")
    assert (first.title, first.titles) == ("first", {"en": "first", "es": "primera"})
    second = next(r for r in policy.rules if r.id == "R-2")
    assert (second.title, second.titles) == ("second", {"en": "second"})  # a plain string is English


def test_a_title_map_without_english_is_invalid(write, host):
    path = write("p.yaml", GOOD.replace("    title: second", "    title: {es: segunda}"))
    with pytest.raises(LoadError) as info:
        load_policies([str(path)], host)
    assert "rules[0].title" in str(info.value)
