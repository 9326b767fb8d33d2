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


# --- text that is not what it seems, and files that are not files (a black-box review's findings) ---

SSL3 = '<add key="SslProtocols" value="Ssl3, Tls12" />\r\n'
TLS12 = '<add key="SslProtocols" value="Tls12" />\r\n'

ODD_INVENTORY = """\
apiVersion: policyscan/v1
kind: Inventory
targets:
  - name: le-ssl3
    files: [odd/le-ssl3.config]
  - name: be-ssl3
    files: [odd/be-ssl3.config]
  - name: le-clean
    files: [odd/le-clean.config]
  - name: nul
    files: [odd/nul.config]
  - name: fifo
    files: [odd/fifo.config]
  - name: folder
    files: [odd/folder.config]
"""


@pytest.fixture
def odd(tmp_path: Path) -> Path:
    """UTF-16 without a byte order mark, a stray NUL, a FIFO and a directory, each a target's file."""
    d = tmp_path / "odd"
    d.mkdir()
    (d / "le-ssl3.config").write_bytes((GOOD + SSL3).encode("utf-16-le"))  # no BOM: the zero bytes are valid UTF-8
    (d / "be-ssl3.config").write_bytes((GOOD + SSL3).encode("utf-16-be"))
    (d / "le-clean.config").write_bytes((GOOD + TLS12).encode("utf-16-le"))
    (d / "nul.config").write_bytes((GOOD + TLS12).encode() + b"\x00")  # UTF-8, but a NUL: not text
    os.mkfifo(d / "fifo.config")  # reading it would block forever
    (d / "folder.config").mkdir()
    inventory = tmp_path / "inventory.yaml"
    inventory.write_text(ODD_INVENTORY, encoding="utf-8")
    (tmp_path / "no-fifo.yaml").write_text(ODD_INVENTORY.replace("  - name: fifo\n    files: [odd/fifo.config]\n", ""),
                                           encoding="utf-8")
    return inventory


ODD_STATUSES = {
    ("le-ssl3", "FCD-001"): "pass", ("le-ssl3", "FCD-002"): "fail",
    ("be-ssl3", "FCD-001"): "pass", ("be-ssl3", "FCD-002"): "fail",
    ("le-clean", "FCD-001"): "pass", ("le-clean", "FCD-002"): "pass",
    ("nul", "FCD-001"): "error", ("nul", "FCD-002"): "error",
    ("fifo", "FCD-001"): "error", ("fifo", "FCD-002"): "error",
    ("folder", "FCD-001"): "error", ("folder", "FCD-002"): "error",
}


def _odd_messages(report: dict[str, Any]) -> dict[str, str]:
    return {r["target"]: r["message"] for r in report["results"] if r["rule"] == "FCD-002"}


def _check_odd_messages(messages: dict[str, str]) -> None:
    assert messages["nul"].startswith("odd/nul.config: not text: a NUL character at byte "), messages["nul"]
    assert messages["fifo"] == "odd/fifo.config: not a regular file (a FIFO)"
    assert messages["folder"] == "odd/folder.config: is a directory"


@pytest.mark.timeout(30)
@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs on this platform")
def test_a_scan_reads_utf16_without_a_bom_and_refuses_nul_fifos_and_folders(odd: Path, tmp_path: Path) -> None:
    out = run_cli("scan", "--policy", PACK, "--inventory", str(odd), "--report", "json=" + str(tmp_path / "r.json"),
                  timeout=20)
    assert out.returncode == 1, out.stdout + out.stderr
    report = json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))
    assert _statuses(report) == ODD_STATUSES
    messages = _odd_messages(report)
    assert messages["le-ssl3"] == "not expected to hold: 'Ssl3' found 1 time, first at odd/le-ssl3.config:6"
    _check_odd_messages(messages)


@pytest.mark.timeout(30)
@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs on this platform")
def test_collect_reads_utf16_without_a_bom_and_its_facts_give_the_same_results(odd: Path, tmp_path: Path) -> None:
    collect = run_cli("collect", "--policy", PACK, "--inventory", str(tmp_path / "no-fifo.yaml"),
                      "--out", str(tmp_path / "run.facts"), timeout=20)
    assert collect.returncode == 0, collect.stdout + collect.stderr
    facts = [json.loads(line) for line in (tmp_path / "run.facts").read_text(encoding="utf-8").splitlines()[1:-1]]
    files = {f["target"]: f["facts"]["files"][0] for f in facts}
    assert {k: files[k].get("encoding") for k in ("le-ssl3", "be-ssl3", "nul")} == \
        {"le-ssl3": "utf-16-le", "be-ssl3": "utf-16-be", "nul": None}, facts
    assert files["folder"] == {"path": "odd/folder.config", "ok": False, "error": "is a directory"}
    offline = run_cli("scan", "--facts", str(tmp_path / "run.facts"), "--policy", PACK,
                      "--report", "json=" + str(tmp_path / "offline.json"), timeout=20)
    assert offline.returncode == 1, offline.stdout + offline.stderr
    report = json.loads((tmp_path / "offline.json").read_text(encoding="utf-8"))
    assert _statuses(report) == {k: v for k, v in ODD_STATUSES.items() if k[0] != "fifo"}
    messages = _odd_messages(report)
    messages["fifo"] = "odd/fifo.config: not a regular file (a FIFO)"
    _check_odd_messages(messages)


@pytest.mark.timeout(30)
@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs on this platform")
def test_collect_does_not_block_on_a_fifo(odd: Path, tmp_path: Path) -> None:
    collect = run_cli("collect", "--policy", PACK, "--inventory", str(odd), "--out", str(tmp_path / "run.facts"),
                      timeout=10)
    assert collect.returncode == 0, collect.stdout + collect.stderr
    facts = [json.loads(line) for line in (tmp_path / "run.facts").read_text(encoding="utf-8").splitlines()[1:-1]]
    fifo = [f["facts"]["files"][0] for f in facts if f["target"] == "fifo"]
    assert fifo == [{"path": "odd/fifo.config", "ok": False, "error": "not a regular file (a FIFO)"}]


@pytest.mark.timeout(30)
def test_the_command_reads_utf16_without_a_bom_and_a_nul_is_not_text(odd: Path) -> None:
    d = odd.parent / "odd"
    for name, want in (("le-ssl3.config", 0), ("be-ssl3.config", 0), ("le-clean.config", 1)):
        out = run_cli("file-contains", str(d / name), "--text", "Ssl3", timeout=20)
        assert out.returncode == want, (name, out.stdout, out.stderr)
    found = run_cli("file-contains", str(d / "le-ssl3.config"), "--text", "Ssl3", timeout=20)
    assert found.stdout.splitlines() == [f"{d / 'le-ssl3.config'}:6: {SSL3.rstrip()}",
                                         f"{d / 'le-ssl3.config'}: 1 match: found"]
    nul = run_cli("file-contains", str(d / "nul.config"), "--text", "Tls12", timeout=20)
    assert nul.returncode == 3, nul.stdout + nul.stderr
    assert f"{d / 'nul.config'}: cannot read: not text: a NUL character at byte " in nul.stdout


@pytest.mark.timeout(30)
@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs on this platform")
def test_the_command_says_what_is_not_a_regular_file_and_exits_3(odd: Path) -> None:
    d = odd.parent / "odd"
    cases = [(d / "fifo.config", "not a regular file (a FIFO)"), (d / "folder.config", "is a directory")]
    if os.path.exists("/dev/zero"):
        cases.append((Path("/dev/zero"), "not a regular file (a character device)"))
    for path, what in cases:
        out = run_cli("file-contains", str(path), "--text", "x", timeout=20)
        assert out.returncode == 3, (path, out.stdout, out.stderr)
        assert out.stdout == f"{path}: cannot read: {what}\n", out.stdout
        assert "no such file" not in out.stdout + out.stderr
    gone = run_cli("file-contains", str(d / "gone.config"), "--text", "x", timeout=20)
    assert gone.returncode == 2 and "gone.config: no such file" in gone.stderr, gone.stdout + gone.stderr
    (d / "dangling.config").symlink_to(d / "gone.config")
    dangling = run_cli("file-contains", str(d / "dangling.config"), "--text", "x", timeout=20)
    assert dangling.returncode == 2 and "no such file" in dangling.stderr, dangling.stdout + dangling.stderr


def test_decoding_utf16_without_a_bom_and_a_nul() -> None:
    from policyscan_file_contains.reading import NotReadable, decode

    assert decode(SSL3.encode("utf-16-le")) == (SSL3, "utf-16-le")
    assert decode(SSL3.encode("utf-16-be")) == (SSL3, "utf-16-be")
    assert decode("é Ssl3".encode()) == ("é Ssl3", "utf-8")
    for data in (b"Ssl3\x00", b"\x00" * 64, b"\xff\xfe" + "a\x00b".encode("utf-16-le"), SSL3.encode("utf-16-le")[:-1]):
        with pytest.raises(NotReadable):
            decode(data)
