"""No pass without proof: every registry ``pass``/``fail`` says what it saw; nothing unseen passes.

A value's proof is its line and type; an absence's proof is the key line it is
missing from, or the exported branch (or ``[-KEY]`` line) that covers the
missing key. A key no loaded file covers is ``error`` whatever ``when_missing``,
``exists: false`` or ``not:`` would make of it, and the message names the
``reg export`` command that would cover it.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from test_registry_check import APP, APP_REG, GOLDEN, SHORT, TLS, scan, utf16

from scanner.api import RunContext, Status, Target
from scanner.engine import Engine
from scanner.loader import load_policies
from scanner.plugin_host import load_plugins

OTHER = r"HKLM\SOFTWARE\Other"


def test_a_value_seen_is_proved_by_its_line_and_type(tmp_path: Path) -> None:
    ok, bad = scan(tmp_path, {"app.reg": APP_REG}, [
        {"key": APP, "value": "Enabled", "equals": 1}, {"key": APP, "value": "Enabled", "equals": 0}])
    assert (ok.status, dict(ok.examined or {})) == (Status.PASS, {"source": "app.reg:4", "type": "REG_DWORD"})
    assert (bad.status, dict(bad.examined or {})) == (Status.FAIL, {"source": "app.reg:4", "type": "REG_DWORD"})


def test_an_absence_is_proved_by_the_key_line_or_the_covering_branch(tmp_path: Path) -> None:
    value, key, below, exists = scan(tmp_path, {"app.reg": APP_REG}, [
        {"key": APP, "value": "Gone", "when_missing": "pass"},
        {"key": APP + r"\Nope", "exists": False},
        {"key": APP + r"\Nope\Deeper", "value": "x"},
        {"key": APP + r"\Empty"},
    ])
    assert (value.status, dict(value.examined or {})) == (Status.PASS, {"source": "app.reg:3"})
    assert (key.status, dict(key.examined or {})) == (Status.PASS, {"source": "app.reg:3", "branch": APP})
    assert (below.status, dict(below.examined or {})) == (Status.FAIL, {"source": "app.reg:3", "branch": APP})
    assert (exists.status, dict(exists.examined or {})) == (Status.PASS, {"source": "app.reg:12"})


@pytest.mark.parametrize(
    "params",
    [
        {"key": OTHER, "value": "Enabled", "equals": 1, "when_missing": "pass"},
        {"key": OTHER, "value": "Enabled", "not_equals": 1, "when_missing": "pass"},
        {"key": OTHER, "value": "Enabled", "exists": False},
        {"key": OTHER, "exists": False},
        {"key": OTHER, "when_missing": "pass"},
        {"key": OTHER + r"\Sub", "when_missing": "skip"},
        {"key": r"HKLM\SOFTWARE\Contoso", "value": "Enabled", "exists": False},  # exists (has App), values unknown
    ],
)
def test_nothing_outside_every_loaded_branch_passes(tmp_path: Path, params: dict[str, Any]) -> None:
    files = {"a.reg": APP_REG, "b.reg": utf16(f"Windows Registry Editor Version 5.00\n\n[{TLS}]\n")}
    (outcome,) = scan(tmp_path, files, [params], source={"files": ["a.reg", "b.reg"]})
    assert outcome.status is Status.ERROR, outcome.message
    assert "is not covered by the export (a.reg, b.reg)" in outcome.message
    assert outcome.examined is None


def test_not_covered_names_the_reg_export_that_would_cover_it(tmp_path: Path) -> None:
    dotnet = (GOLDEN / "dotnet-v4.reg").read_bytes()
    (outcome,) = scan(tmp_path, {"exports/exch01-dotnet.reg": dotnet}, [
        {"key": SHORT + r"\TLS 1.2\Client", "value": "Enabled", "type": "REG_DWORD", "equals": 1}])
    assert outcome.status is Status.ERROR
    assert outcome.message == (
        rf"{SHORT}\TLS 1.2\Client is not covered by the export (exports/exch01-dotnet.reg); export it on the "
        rf'host with: reg export "{SHORT}\TLS 1.2\Client" tls12-client.reg /y (or the same for its parent, '
        "if the key does not exist) and add that file to the target's registry files"
    )


def test_reg_export_command_uses_the_short_hive_reg_exe_accepts() -> None:
    from plugins.registry.judge import reg_export_command

    assert reg_export_command(TLS + r"\TLS 1.2") == rf'reg export "{SHORT}\TLS 1.2" protocols-tls12.reg /y'
    assert reg_export_command(r"HKEY_CURRENT_USER\Software") == r'reg export "HKCU\Software" hkcu-software.reg /y'
    assert reg_export_command(r"hku\S-1-5-18\x") == r'reg export "HKU\S-1-5-18\x" s1518-x.reg /y'


def test_deletions_in_a_later_file_prove_absence_there(tmp_path: Path) -> None:
    base = (GOLDEN / "schannel-seed-failure.reg").read_bytes()
    fix = utf16(
        "Windows Registry Editor Version 5.00\n\n"
        f"[-{TLS}\\TLS 1.0]\n\n"
        f"[{TLS}\\TLS 1.1\\Client]\n"
        '"Enabled"=-\n'
    )
    gone_key, gone_value, kept = scan(tmp_path, {"base.reg": base, "fix.reg": fix}, [
        {"key": SHORT + r"\TLS 1.0\Server", "value": "Enabled", "when_missing": "pass"},
        {"key": SHORT + r"\TLS 1.1\Client", "value": "Enabled", "equals": 1},
        {"key": SHORT + r"\TLS 1.1\Client", "value": "DisabledByDefault", "equals": 0},
    ], source={"files": ["base.reg", "fix.reg"]})
    assert gone_key.status is Status.PASS
    assert dict(gone_key.examined or {}) == {"source": "fix.reg:3", "branch": TLS + r"\TLS 1.0"}
    assert gone_value.status is Status.FAIL
    assert gone_value.message == rf"value Enabled is missing under {SHORT}\TLS 1.1\Client"
    assert dict(gone_value.examined or {}) == {"source": "fix.reg:5"}
    assert (kept.status, dict(kept.examined or {})) == (Status.PASS, {"source": "base.reg:18", "type": "REG_DWORD"})


def test_hand_made_facts_without_a_source_are_not_a_verdict(tmp_path: Path, write_policy: Any) -> None:
    """The engine turns a pass with no proof into error: facts that name no line prove nothing."""
    (tmp_path / "app.reg").write_bytes(APP_REG)
    host = load_plugins()
    policies = load_policies([str(write_policy(
        "  - {id: R1, title: t, severity: high, check: {registry: {key: 'HKLM\\SOFTWARE\\Contoso\\App', "
        "value: Enabled, equals: 1}}}\n"
        "  - {id: R2, title: t, severity: high, check: {not: {registry: {key: 'HKLM\\SOFTWARE\\Contoso\\App', "
        "value: Gone, exists: true}}}}\n"))], host)
    engine = Engine(policies, host.check_types, RunContext(now=datetime(2026, 11, 26, tzinfo=UTC)))
    target = Target("t", sources={"registry": {"file": "app.reg"}}, base_dir=tmp_path)
    assert [r.status for r in engine.scan([target])] == [Status.PASS, Status.PASS]
    norm = APP.lower()
    facts = {"source": "files", "files": ["app.reg"], "error": None, "keys": {norm: {
        "covered": True, "exists": True, "source": "", "values": {
            "enabled": {"name": "Enabled", "type": "REG_DWORD", "data": 1, "source": ""}}}}}
    judged = [engine._judge(rule.check, target, {("registry", "t"): facts}, None, {})[0]
              for rule in policies[0].rules]
    assert [o.status for o in judged] == [Status.ERROR, Status.ERROR]
    assert all("without proof" in o.message for o in judged)


@pytest.fixture
def write_policy(tmp_path: Path) -> Any:
    def write(rules: str) -> Path:
        path = tmp_path / "p.yaml"
        path.write_text("apiVersion: policyscan/v1\nkind: Policy\n"
                        "metadata: {id: proof, title: Proof, version: '1'}\nrules:\n" + rules)
        return path
    return write


def test_a_damaged_export_is_an_error_not_a_missing_value(tmp_path: Path) -> None:
    """A lone surrogate where "Enabled" was: read leniently it became another name, so Enabled was
    "missing" and ``exists: false`` passed. A file that is not valid UTF-16 proves nothing."""
    damaged = (utf16(f'Windows Registry Editor Version 5.00\n\n[{APP}]\n"Enab')
               + b"\x00\xd8" + utf16('led"=dword:00000001\n')[2:])
    (outcome,) = scan(tmp_path, {"d.reg": damaged}, [{"key": APP, "value": "Enabled", "exists": False}])
    assert outcome.status is Status.ERROR
    assert outcome.message.startswith("d.reg:4: bytes that are not UTF-16-LE")
    (cut,) = scan(tmp_path, {"c.reg": APP_REG[:-1]}, [{"key": APP, "value": "Gone", "when_missing": "pass"}])
    assert cut.status is Status.ERROR and "cut short" in cut.message


def test_a_key_with_an_empty_name_is_refused_not_missing(tmp_path: Path) -> None:
    """'HKLM\\SOFTWARE\\\\Other' cannot exist; it lay inside the exported SOFTWARE branch, so it read as a
    missing key and ``exists: false`` passed. The schema refuses it; unvalidated, it is an error."""
    from test_registry_check import VALIDATOR

    params = {"key": "HKLM\\SOFTWARE\\\\Contoso\\App", "exists": False}
    assert any("does not match" in e.message for e in VALIDATOR.iter_errors(params))
    (tmp_path / "s.reg").write_bytes(utf16("Windows Registry Editor Version 5.00\n\n[HKEY_LOCAL_MACHINE\\SOFTWARE]\n"))
    from test_registry_check import CT, RUN

    from scanner.api import CollectRequest, EvalContext

    target = Target("t", sources={"registry": {"file": "s.reg"}}, base_dir=tmp_path)
    [(_, facts)] = CT.collector.collect([CollectRequest(target, [params])], RUN)
    outcome = CT.collector.evaluate(params, facts, EvalContext(RUN, target))
    assert outcome.status is Status.ERROR
    assert outcome.message == "invalid key HKLM\\SOFTWARE\\\\Contoso\\App: unknown hive, or an empty key name"
