"""The example third-party plugin ``examples/plugin-file-contains``, installed as a user installs it
(``pip install ./examples/plugin-file-contains``; CI does it in ``.ci/run``), is treated like a
built-in: listed, validated, run, unit-tested with the conformance kit, its pack and command found."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from scanner.api import Status, Target
from scanner.testing import Sample, assert_conforms
from tests.conftest import ROOT, run_cli

try:
    import policyscan_file_contains as plugin
except ImportError:  # pragma: no cover - depends on the environment
    if os.environ.get("CI"):
        raise AssertionError(
            "the example plugin is not installed: .ci/run must `pip install ./examples/plugin-file-contains`"
        ) from None
    pytest.skip("the example plugin is not installed: pip install ./examples/plugin-file-contains",
                allow_module_level=True)

PACK = "pack:file-contains-demo"
EXAMPLE = ROOT / "examples" / "plugin-file-contains"

GOOD = '<configuration>\r\n  <runtime>\r\n    <add key="SchUseStrongCrypto" value="true" />\r\n' \
       '  </runtime>\r\n</configuration>\r\n'
WEAK = "<configuration>\n  <protocols>Ssl3, Tls12</protocols>\n</configuration>\n"

INVENTORY = """\
apiVersion: policyscan/v1
kind: Inventory
targets:
  - name: good
    files: [cfg/good.config]
  - name: weak
    files: cfg/weak.config
  - name: gone
    files: [cfg/missing.config]
  - name: wide
    files: ['wide/*.config']
"""


@pytest.fixture
def fleet(tmp_path: Path) -> Path:
    (tmp_path / "cfg").mkdir()
    (tmp_path / "cfg" / "good.config").write_bytes(GOOD.encode())
    (tmp_path / "cfg" / "weak.config").write_text(WEAK, encoding="utf-8")
    (tmp_path / "wide").mkdir()  # regedit-style UTF-16LE with a BOM
    (tmp_path / "wide" / "app.config").write_bytes(b"\xff\xfe" + GOOD.encode("utf-16-le"))
    inventory = tmp_path / "inventory.yaml"
    inventory.write_text(INVENTORY, encoding="utf-8")
    return inventory


def _statuses(report: dict[str, Any]) -> dict[tuple[str, str], str]:
    return {(r["target"], r["rule"]): r["status"] for r in report["results"]}


def test_the_installed_plugin_is_the_example_in_the_repository() -> None:
    installed = Path(plugin.__file__).resolve().parent
    assert installed != (EXAMPLE / "policyscan_file_contains").resolve(), "expected a normal, non-editable install"
    assert (installed / "policies" / "file-contains-demo.yaml").read_bytes() == \
        (EXAMPLE / "policyscan_file_contains" / "policies" / "file-contains-demo.yaml").read_bytes()


def test_plugins_lists_its_check_type_pack_and_command() -> None:
    out = run_cli("plugins")
    assert out.returncode == 0, out.stderr
    assert "file_contains  (policyscan_file_contains, policyscan-file-contains 1.0.0)" in out.stdout
    assert "check type  file_contains:" in out.stdout
    assert "pack        pack:file-contains-demo:" in out.stdout
    assert "command     file-contains:" in out.stdout
    assert "file-contains" in run_cli("--help").stdout
    assert "file_contains" in run_cli("scan", "--help", env={"COLUMNS": "200"}).stdout


def test_its_pack_validates_and_lists_its_rules() -> None:
    valid = run_cli("validate", PACK)
    assert valid.returncode == 0, valid.stdout + valid.stderr
    rules = run_cli("rules", "--policy", PACK)
    assert rules.returncode == 0, rules.stderr
    assert "FCD-001" in rules.stdout and "FCD-002" in rules.stdout and "file_contains" in rules.stdout


def test_validate_checks_its_parameters(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "apiVersion: policyscan/v1\nkind: Policy\nmetadata: {id: bad, title: Bad, version: '1'}\nrules:\n"
        "  - id: r1\n    title: R\n    severity: low\n    check:\n      file_contains: {contains: '', min_count: 0}\n"
        "    remediation: Fix ${nosuch}.\n",
        encoding="utf-8",
    )
    out = run_cli("validate", str(bad))
    assert out.returncode == 2
    text = out.stdout + out.stderr
    assert "contains" in text and "min_count" in text and "nosuch" in text


def test_its_schemas_are_in_policyscan_schema() -> None:
    policy = run_cli("schema", "policy")
    assert policy.returncode == 0, policy.stderr
    assert '"file_contains"' in policy.stdout
    for name in ("contains", "min_count", "path"):
        assert f'"{name}"' in policy.stdout
    inventory = run_cli("schema", "inventory")
    assert '"files"' in inventory.stdout
    assert plugin.FILE_CONTAINS_CHECK.facts_schema is not None


def test_a_scan_gives_pass_fail_and_error(fleet: Path, tmp_path: Path) -> None:
    out = run_cli("scan", "--policy", PACK, "--inventory", str(fleet), "--report", "json=" + str(tmp_path / "r.json"))
    assert out.returncode == 1, out.stdout + out.stderr  # a high failure
    report = json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))
    assert _statuses(report) == {
        ("good", "FCD-001"): "pass", ("good", "FCD-002"): "pass",
        ("weak", "FCD-001"): "fail", ("weak", "FCD-002"): "fail",
        ("gone", "FCD-001"): "error", ("gone", "FCD-002"): "error",
        ("wide", "FCD-001"): "pass", ("wide", "FCD-002"): "pass",
    }
    by = {(r["target"], r["rule"]): r for r in report["results"]}
    assert by[("good", "FCD-001")]["message"] == "'SchUseStrongCrypto' found 1 time, first at cfg/good.config:3"
    assert by[("weak", "FCD-002")]["remediation"] == "Remove Ssl3 from cfg/weak.config (occurrences: 1)."
    assert "No such file or directory" in by[("gone", "FCD-001")]["message"]


def test_collect_then_scan_facts_gives_the_live_results(fleet: Path, tmp_path: Path) -> None:
    live = run_cli("scan", "--policy", PACK, "--inventory", str(fleet), "--now", "2026-11-30T12:00:00Z",
                   "--report", "json=" + str(tmp_path / "live.json"))
    collect = run_cli("collect", "--policy", PACK, "--inventory", str(fleet), "--now", "2026-11-30T12:00:00Z",
                      "--out", str(tmp_path / "run.facts"))
    assert collect.returncode == 0, collect.stdout + collect.stderr
    for line in (tmp_path / "run.facts").read_text(encoding="utf-8").splitlines()[1:-1]:
        assert json.loads(line)["type"] == "file_contains"
    (fleet.parent / "cfg" / "good.config").unlink()  # judged offline: the hosts are not read again
    offline = run_cli("scan", "--facts", str(tmp_path / "run.facts"), "--policy", PACK,
                      "--report", "json=" + str(tmp_path / "offline.json"))
    assert (live.returncode, offline.returncode) == (1, 1), offline.stdout + offline.stderr

    def results(name: str) -> list[dict[str, Any]]:
        return json.loads((tmp_path / name).read_text(encoding="utf-8"))["results"]

    assert results("offline.json") == results("live.json")
    assert len(results("live.json")) == 8


@pytest.mark.parametrize("where", ["folder", "pack"])
def test_the_packs_policy_tests_pass(where: str) -> None:
    out = run_cli("test", str(plugin.PACK_DIR) if where == "folder" else "pack:file-contains-demo")
    assert out.returncode == 0, out.stdout + out.stderr
    assert "4 case(s) in 1 file(s): 4 passed, 0 failed; 8/8 expectations met" in out.stdout


def test_an_unknown_pack_of_tests_is_a_usage_error() -> None:
    out = run_cli("test", "pack:no-such-pack")
    assert out.returncode == 2
    assert "pack:no-such-pack:1:1: no installed plugin ships this policy pack (known packs: " in out.stderr


def test_the_command_prints_matches_and_exits_by_verdict(fleet: Path) -> None:
    cfg = fleet.parent / "cfg"
    found = run_cli("file-contains", str(cfg / "good.config"), "--text", "SchUseStrongCrypto")
    assert found.returncode == 0, found.stderr
    assert found.stdout.splitlines() == [
        f'{cfg / "good.config"}:3:     <add key="SchUseStrongCrypto" value="true" />',
        f"{cfg / 'good.config'}: 1 match: found",
    ]
    wide = run_cli("file-contains", str(fleet.parent / "wide" / "app.config"), "--text", "SchUseStrongCrypto",
                   "--quiet")
    assert (wide.returncode, wide.stdout.endswith(": 1 match: found\n")) == (0, True), wide.stdout
    missing = run_cli("file-contains", str(cfg / "good.config"), str(cfg / "weak.config"), "--text", "Strong")
    assert missing.returncode == 1
    assert f"{cfg / 'weak.config'}: 0 matches: not found" in missing.stdout
    too_few = run_cli("file-contains", str(cfg / "good.config"), "--text", "Strong", "--min-count", "2")
    assert too_few.returncode == 1 and "too few" in too_few.stdout
    for bad in (["--text", "x", str(cfg / "nope.config")], ["--text", "", str(cfg / "good.config")],
                [str(cfg / "good.config")], ["--text", "x", "--min-count", "0", str(cfg / "good.config")]):
        usage = run_cli("file-contains", *bad)
        assert usage.returncode == 2, (bad, usage.stdout, usage.stderr)
    (cfg / "binary.config").write_bytes(b"\x80\x81\x82")
    unreadable = run_cli("file-contains", str(cfg / "binary.config"), "--text", "x")
    assert unreadable.returncode == 3 and "not UTF-8" in unreadable.stdout
    helped = run_cli("file-contains", "--help")
    assert helped.returncode == 0
    for option in ("--text", "--min-count", "--quiet", "PATH"):
        assert option in helped.stdout


def test_the_check_type_keeps_the_contract(tmp_path: Path) -> None:
    (tmp_path / "a.config").write_text("one\nSchUseStrongCrypto\nSchUseStrongCrypto\n", encoding="utf-8")
    (tmp_path / "b.txt").write_bytes(b"\xfe\xff" + "Tls12\n".encode("utf-16-be"))
    (tmp_path / "huge.txt").write_bytes(b"x" * (16 * 1024 * 1024 + 1))
    (tmp_path / "latin1.txt").write_bytes("caf\xe9 Tls12".encode("latin-1"))

    def target(files: Any) -> Target:
        return Target("t", sources={"files": files}, base_dir=tmp_path)

    both = target(["a.config", "b.txt"])
    assert_conforms(
        plugin.FILE_CONTAINS_CHECK,
        samples=[
            Sample(both, {"contains": "SchUseStrongCrypto", "path": "*.config"}, Status.PASS),
            Sample(both, {"contains": "SchUseStrongCrypto", "min_count": 2, "path": "a.config"}, Status.PASS),
            Sample(both, {"contains": "SchUseStrongCrypto", "min_count": 3, "path": "a.config"}, Status.FAIL),
            Sample(both, {"contains": "Tls12", "path": "b.txt"}, Status.PASS),
            Sample(both, {"contains": "Tls12"}, Status.FAIL),  # every file must hold it: a.config does not
            Sample(target("*.config"), {"contains": "one"}, Status.PASS),
            Sample(both, {"contains": "Tls12", "in": "any"}, Status.PASS),  # b.txt holds it
            Sample(both, {"contains": "nowhere", "in": "any"}, Status.FAIL),
        ],
        broken=[
            Sample(target("gone.config"), {"contains": "x"}),
            Sample(target(["a.config", "gone.config"]), {"contains": "one"}),  # one read, one missing
            Sample(target("huge.txt"), {"contains": "x"}),
            Sample(target("latin1.txt"), {"contains": "Tls12"}),
            Sample(target(["gone.config", "b.txt"]), {"contains": "nowhere"}, Status.FAIL),  # proven by b.txt
            Sample(target(["gone.config", "b.txt"]), {"contains": "nowhere", "in": "any"}),  # gone.config might
        ],
        empty=[
            Sample(target("*.nothing"), {"contains": "x"}),
            Sample(both, {"contains": "x", "path": "*.yaml"}),  # selects no file
            Sample(Target("t", base_dir=tmp_path), {"contains": "x"}),
        ],
    )
