"""Policy overlays (``extends``): a policy that builds on another without copying it.

A real overlay of the shipped ``exchange-m365-tls12`` policy, scanned against the
example fleet through the command line: severities, disabled rules, remediation,
inputs and added rules; the base evaluated once when it is loaded too; what
``validate`` rejects; chains; ``rules``; and a base shipped in a plugin's pack.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.conftest import POLICIES, ROOT, run_cli
from tests.test_plugin_hooks import PLUGIN, POLICY, _site

INVENTORY = str(ROOT / "examples" / "inventory.yaml")
BASE = POLICIES / "exchange-m365-tls12.yaml"
BASE_RULES = 10
LINE_002 = next(
    n for n, line in enumerate(BASE.read_text(encoding="utf-8").splitlines(), 1) if "id: EXO-TLS12-002" in line
)

OVERLAY = """\
apiVersion: policyscan/v1
kind: Policy
metadata: {{id: contoso-tls, title: Contoso TLS baseline, version: "1.0"}}
extends: {extends}
overrides:
  EXO-TLS12-002:
    severity: critical
    remediation: "Contoso runbook KB-12: set ${{value}} to 0 on ${{target}}"
disable:
  EXO-TLS12-LOG-005: "Contoso has no such receive connector; waived by CAB-123"
inputs:
  contoso_port: 2525
rules:
  - id: CONTOSO-001
    title: SCHANNEL TLS 1.2 Client Enabled is present
    severity: low
    check:
      registry:
        key: 'HKLM\\SYSTEM\\CurrentControlSet\\Control\\SecurityProviders\\SCHANNEL\\Protocols\\TLS 1.2\\Client'
        value: Enabled
        exists: true
    remediation: "Contoso: port ${{inputs.contoso_port}}"
"""


def _overlay(tmp_path: Path, extends: str | None = None, text: str = OVERLAY, name: str = "contoso.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text.format(extends=extends or "exchange-m365-tls12.yaml"), encoding="utf-8")
    return path


@pytest.fixture
def with_base(tmp_path: Path) -> Path:
    """A folder holding the shipped base and an overlay of it (extends by relative path)."""
    shutil.copy(BASE, tmp_path / BASE.name)
    _overlay(tmp_path)
    return tmp_path


def _scan(*policy: str, extra: tuple[str, ...] = ()) -> tuple[int, dict, str]:
    args = [a for p in policy for a in ("--policy", p)]
    out = run_cli("scan", *args, "--inventory", INVENTORY, "--report", "json", *extra)
    assert out.returncode in (0, 1, 3), out.stderr
    return out.returncode, json.loads(out.stdout), out.stderr


def _result(report: dict, target: str, rule: str) -> dict:
    (found,) = [r for r in report["results"] if r["target"] == target and r["rule"] == rule]
    return found


def test_an_overlay_changes_severity_remediation_disables_and_adds(with_base: Path) -> None:
    code, report, _ = _scan(str(with_base / "contoso.yaml"))
    assert code == 1
    assert {r["policy"] for r in report["results"]} == {"contoso-tls"}
    assert len(report["results"]) == 3 * (BASE_RULES + 1)
    changed = _result(report, "exch02", "EXO-TLS12-002")  # exch02's DisabledByDefault is 1
    assert (changed["severity"], changed["status"]) == ("critical", "fail")
    assert changed["remediation"] == "Contoso runbook KB-12: set DisabledByDefault to 0 on exch02"
    untouched = _result(report, "exch02", "EXO-TLS12-001")
    assert untouched["severity"] == "high" and "Contoso" not in untouched["remediation"]
    for target in ("exch01", "exch02", "edge01"):
        off = _result(report, target, "EXO-TLS12-LOG-005")
        assert off["status"] == "skip"
        assert off["message"] == "disabled by contoso-tls: Contoso has no such receive connector; waived by CAB-123"
    added = _result(report, "exch01", "CONTOSO-001")
    assert added["status"] == "pass"
    assert report["inputs"]["contoso_port"] == 2525
    (policy,) = report["policies"]
    assert policy["id"] == "contoso-tls" and policy["version"] == "1.0"
    (base,) = policy["extends"]
    assert base["id"] == "exchange-m365-tls12" and base["version"] == "1.0.0"
    assert base["path"].endswith("exchange-m365-tls12.yaml") and len(base["sha256"]) == 64
    origin = policy["origins"]["EXO-TLS12-002"]
    assert origin["policy"] == "exchange-m365-tls12" and origin["line"] == LINE_002
    assert origin["changes"] == [
        {"policy": "contoso-tls", "file": str(with_base / "contoso.yaml"), "line": 6,
         "set": ["severity", "remediation"]}
    ]
    assert policy["origins"]["EXO-TLS12-LOG-005"]["changes"][0]["disabled"].startswith("Contoso has no such")
    assert policy["origins"]["CONTOSO-001"] == {
        "policy": "contoso-tls", "file": str(with_base / "contoso.yaml"), "line": 14, "changes": []
    }
    schema = json.loads(run_cli("schema", "report").stdout)
    import jsonschema

    jsonschema.Draft202012Validator(schema).validate(report)


def test_the_changed_severity_decides_the_gate(with_base: Path) -> None:
    base = run_cli("scan", "--policy", str(BASE), "--inventory", INVENTORY, "--fail-on", "critical")
    assert base.returncode == 0, base.stdout + base.stderr  # nothing critical in the base
    overlay = run_cli(
        "scan", "--policy", str(with_base / "contoso.yaml"), "--inventory", INVENTORY, "--fail-on", "critical"
    )
    assert overlay.returncode == 1, overlay.stdout + overlay.stderr


def test_a_directory_with_overlay_and_base_evaluates_the_base_once(with_base: Path) -> None:
    _, report, _ = _scan(str(with_base))
    assert [p["id"] for p in report["policies"]] == ["contoso-tls"]
    per_rule: dict[tuple[str, str], int] = {}
    for r in report["results"]:
        per_rule[(r["target"], r["rule"])] = per_rule.get((r["target"], r["rule"]), 0) + 1
    assert set(per_rule.values()) == {1}
    assert len(report["results"]) == 3 * (BASE_RULES + 1)


def test_two_overlays_of_one_base_each_evaluate_it(with_base: Path) -> None:
    other = OVERLAY.replace("contoso-tls", "fabrikam-tls").replace("CONTOSO-001", "FABRIKAM-001")
    _overlay(with_base, text=other, name="fabrikam.yaml")
    _, report, _ = _scan(str(with_base))
    assert sorted(p["id"] for p in report["policies"]) == ["contoso-tls", "fabrikam-tls"]
    assert len(report["results"]) == 2 * 3 * (BASE_RULES + 1)


def test_an_input_set_by_an_overlay_reaches_the_base_checks(tmp_path: Path) -> None:
    shutil.copy(POLICIES / "exchange-tls-hardening.yaml", tmp_path)
    text = OVERLAY.split("overrides:")[0] + "inputs: {{legacy_ssl_when_missing: pass}}\n"
    overlay = _overlay(tmp_path, "exchange-tls-hardening.yaml", text)
    _, strict, _ = _scan(str(POLICIES / "exchange-tls-hardening.yaml"))
    _, lenient, _ = _scan(str(overlay))
    assert lenient["inputs"]["legacy_ssl_when_missing"] == "pass"
    fails = lambda rep: sum(r["status"] == "fail" for r in rep["results"])  # noqa: E731
    assert fails(lenient) < fails(strict)
    wrong = _overlay(tmp_path, "exchange-tls-hardening.yaml", text.replace("pass}", "3}"), "wrong.yaml")
    out = run_cli("validate", str(wrong))
    assert out.returncode == 2
    assert f"{wrong}:5:35: input legacy_ssl_when_missing: expected a string" in out.stdout + out.stderr
    assert "input legacy_ssl_when_missing: expected a string" in out.stdout + out.stderr


def _problems(path: Path) -> str:
    out = run_cli("validate", str(path))
    assert out.returncode == 2, out.stdout + out.stderr
    return out.stdout + out.stderr


def test_validate_rejects_unknown_rules_in_overrides_and_disable(tmp_path: Path) -> None:
    text = OVERLAY.replace("  EXO-TLS12-002:\n", "  EXO-TLS12-02:\n").replace(
        "  EXO-TLS12-LOG-005:", "  EXO-TLS12-LOG-009:"
    )
    overlay = _overlay(tmp_path, str(BASE), text)
    said = _problems(overlay)
    assert (
        f"{overlay}:6:3: overrides rule 'EXO-TLS12-02', which exchange-m365-tls12 does not have; "
        "did you mean 'EXO-TLS12-002'?" in said
    )
    assert f"{overlay}:10:3: disables rule 'EXO-TLS12-LOG-009', which exchange-m365-tls12 does not have" in said
    scan = run_cli("scan", "--policy", str(overlay), "--inventory", INVENTORY)
    assert scan.returncode == 2


def test_validate_rejects_an_added_rule_that_collides_with_the_base(tmp_path: Path) -> None:
    overlay = _overlay(tmp_path, str(BASE), OVERLAY.replace("id: CONTOSO-001", "id: EXO-TLS12-001"))
    assert f"{overlay}:14:9: rule 'EXO-TLS12-001' is already a rule of exchange-m365-tls12" in _problems(overlay)


def test_validate_rejects_a_missing_base_and_a_cycle(tmp_path: Path) -> None:
    missing = _overlay(tmp_path, "nowhere.yaml")
    assert f"{missing}:4:10: extends 'nowhere.yaml': no such policy file" in _problems(missing)
    a = _overlay(tmp_path, "b.yaml", name="a.yaml")
    b = _overlay(tmp_path, "a.yaml", OVERLAY.replace("contoso-tls", "other"), name="b.yaml")
    said = _problems(a)
    assert f"{b}:4:10: extends cycle: {a} -> {b} -> {a}" in said or f"{a}:4:10: extends cycle" in said
    assert "extends cycle" in _problems(tmp_path)  # the folder: both, reported once


def test_unknown_pack_and_overrides_without_extends_are_rejected(tmp_path: Path) -> None:
    pack = _overlay(tmp_path, "pack:nope")
    assert "extends 'pack:nope': no installed plugin ships this policy pack" in _problems(pack)
    text = OVERLAY.replace("extends: {extends}\n", "")
    plain = _overlay(tmp_path, text=text, name="plain.yaml")
    assert "'extends' is a dependency of 'overrides'" in _problems(plain)


def test_a_chained_overlay_builds_on_the_overlay(with_base: Path) -> None:
    chained = """\
apiVersion: policyscan/v1
kind: Policy
metadata: {id: contoso-madrid, title: Contoso Madrid, version: "2"}
extends: contoso.yaml
overrides:
  CONTOSO-001: {severity: high}
  EXO-TLS12-001: {title: Client TLS 1.2 on}
disable:
  EXO-TLS12-SMTP-001: no SMTP probing from this network
inputs: {contoso_port: 587}
"""
    (with_base / "madrid.yaml").write_text(chained, encoding="utf-8")
    _, report, _ = _scan(str(with_base))
    assert [p["id"] for p in report["policies"]] == ["contoso-madrid"]
    assert [b["id"] for b in report["policies"][0]["extends"]] == ["contoso-tls", "exchange-m365-tls12"]
    assert len(report["results"]) == 3 * (BASE_RULES + 1)
    assert _result(report, "exch01", "CONTOSO-001")["severity"] == "high"
    assert _result(report, "exch01", "EXO-TLS12-001")["title"] == "Client TLS 1.2 on"
    assert _result(report, "exch02", "EXO-TLS12-002")["severity"] == "critical"  # from the middle overlay
    assert _result(report, "exch01", "EXO-TLS12-SMTP-001")["status"] == "skip"
    assert _result(report, "exch01", "EXO-TLS12-LOG-005")["status"] == "skip"
    assert report["inputs"]["contoso_port"] == 587


def test_rules_shows_where_each_rule_comes_from(with_base: Path) -> None:
    out = run_cli("rules", "--policy", str(with_base))
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0].startswith("contoso-tls 1.0 (") and " extends exchange-m365-tls12 1.0.0 (" in lines[0]
    (changed,) = [line for line in lines if "EXO-TLS12-002" in line]
    assert "critical" in changed
    base_at = f"{with_base / BASE.name}:{LINE_002}"
    assert f"[from exchange-m365-tls12 ({base_at}); severity, remediation set by contoso-tls" in changed
    (off,) = [line for line in lines if "EXO-TLS12-LOG-005" in line]
    assert "disabled by contoso-tls" in off and "CAB-123" in off
    (added,) = [line for line in lines if "CONTOSO-001" in line]
    assert f"[from contoso-tls ({with_base / 'contoso.yaml'}:14)]" in added


def test_an_overlay_extends_a_plugins_pack(tmp_path: Path) -> None:
    site = _site(tmp_path, PLUGIN)
    (site / "packed").mkdir()
    (site / "packed" / "packed.yaml").write_text(POLICY.format(id="packed"), encoding="utf-8")
    overlay = (tmp_path / "mine.yaml")
    overlay.write_text(
        """\
apiVersion: policyscan/v1
kind: Policy
metadata: {id: mine, title: Mine, version: "1"}
extends: pack:packed
overrides:
  value-set: {severity: critical}
""",
        encoding="utf-8",
    )
    export = tmp_path / "x.reg"
    export.write_text('Windows Registry Editor Version 5.00\r\n\r\n[HKEY_LOCAL_MACHINE\\SOFTWARE\\Pack]\r\n'
                      '"On"=dword:00000000\r\n', encoding="utf-16")
    valid = run_cli("validate", str(overlay), pythonpath=site)
    assert valid.returncode == 0, valid.stdout + valid.stderr
    scan = run_cli("scan", "--policy", str(overlay), "--reg", str(export), "--target", "t", "--report", "json",
                   pythonpath=site)
    assert scan.returncode == 1, scan.stderr
    report = json.loads(scan.stdout)
    (result,) = report["results"]
    assert (result["policy"], result["rule"], result["severity"]) == ("mine", "value-set", "critical")
    assert report["policies"][0]["extends"][0]["id"] == "packed"
    also = run_cli("validate", str(overlay).replace("mine.yaml", ""), pythonpath=site)
    assert also.returncode == 0, also.stdout + also.stderr
    named = overlay.read_text(encoding="utf-8").replace("pack:packed", "pack:packed/packed.yaml")
    overlay.write_text(named, encoding="utf-8")
    assert run_cli("validate", str(overlay), pythonpath=site).returncode == 0


def test_the_console_report_says_what_an_overlay_extends(with_base: Path) -> None:
    out = run_cli("scan", "--policy", str(with_base), "--inventory", INVENTORY)
    assert out.returncode == 1, out.stderr
    assert out.stdout.splitlines()[1] == "contoso-tls 1.0 extends exchange-m365-tls12 1.0.0"
    assert "disabled by contoso-tls: Contoso has no such receive connector; waived by CAB-123" in out.stdout
