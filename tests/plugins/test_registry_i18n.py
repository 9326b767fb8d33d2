"""The ``registry`` check type speaks the run's language (``--lang``).

Its messages are in the ``policyscan-registry`` domain (plugins/registry/locale);
tests/test_i18n_coverage.py checks each has Spanish. Here: a real Spanish scan
reads Spanish, the collector's problems (a malformed export) are translated when
judged, and the verdict memo never hands one language's text to another.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from plugins.registry import live, register_check_types
from plugins.registry.judge import evaluate
from plugins.registry.messages import render, translations
from scanner.api import CollectRequest, EvalContext, Outcome, RunContext, Status, Target
from tests.conftest import POLICIES, ROOT, run_cli

CT = register_check_types()[0]
NOW = datetime(2026, 11, 30, tzinfo=UTC)
EN = RunContext(now=NOW)
ES = RunContext(now=NOW, lang="es")
APP = r"HKEY_LOCAL_MACHINE\SOFTWARE\Contoso\App"
#: Pieces of the English messages: none may show in a Spanish one.
ENGLISH = (" is missing", "expected", "not covered by the export", " is ", "exists", "required", "export it",
           "bad dword", "cannot read", "no facts", "values of several types")


def utf16(text: str) -> bytes:
    return b"\xff\xfe" + text.replace("\n", "\r\n").encode("utf-16-le")


def _registry_results(report: Path) -> list[dict[str, Any]]:
    doc = json.loads(report.read_text(encoding="utf-8"))
    return [r for r in doc["results"] if r["check_type"] == "registry"]


def _english_in(message: str) -> list[str]:
    return [piece for piece in ENGLISH if piece in message]


def _judge(tmp_path: Path, files: dict[str, bytes], checks: list[dict[str, Any]],
           *runs: RunContext) -> list[list[Outcome]]:
    """Collect once (facts round-tripped through JSON), then judge every check in each run's language, in order."""
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
    target = Target("t", sources={"registry": {"files": list(files)}}, base_dir=tmp_path)
    [(_, facts)] = CT.collector.collect([CollectRequest(target, checks)], EN)
    facts = json.loads(json.dumps(facts))
    return [[evaluate(params, facts, EvalContext(run=run, target=target)) for params in checks] for run in runs]


def test_a_spanish_scan_of_the_example_fleet_reads_spanish(tmp_path: Path) -> None:
    report = tmp_path / "es.json"
    proc = run_cli("scan", "--policy", str(POLICIES), "--inventory", str(ROOT / "examples" / "inventory.yaml"),
                   "--lang", "es", "--now", "2026-11-30T00:00:00Z", "--report", f"json={report}")
    assert proc.returncode in (1, 3), proc.stderr  # the fleet has failures (and errors)
    results = _registry_results(report)
    failed = [r for r in results if r["status"] == "fail"]
    errors = [r for r in results if r["status"] == "error"]
    assert failed and errors
    for r in results:
        assert not _english_in(r["message"]), (r["target"], r["rule"], r["message"])
    assert any("se esperaba" in r["message"] for r in failed)
    assert any("está ausente" in r["message"] for r in failed)
    assert all("no está cubierta por la exportación" in r["message"] for r in errors)
    assert any("vale" in r["message"] and "se exige" in r["message"] for r in results if r["status"] == "pass")
    # placeholders are filled with the data, untranslated
    cut = next(r for r in errors if r["target"] == "edge01")
    assert "exports/edge01-schannel.reg" in cut["message"] and 'reg export "HKLM\\SOFTWARE' in cut["message"]


def test_a_malformed_export_is_reported_in_spanish(tmp_path: Path) -> None:
    tls12 = r"HKEY_LOCAL_MACHINE\SYSTEM\CurrentControlSet\Control\SecurityProviders\SCHANNEL\Protocols\TLS 1.2"
    (tmp_path / "bad.reg").write_bytes(utf16(
        f'Windows Registry Editor Version 5.00\n\n[{tls12}\\Server]\n"Enabled"=dword:zz\n\n'))
    report = tmp_path / "r.json"
    proc = run_cli("scan", "--policy", str(POLICIES), "--reg", "bad.reg", "--lang", "es",
                   "--now", "2026-11-30T00:00:00Z", "--report", f"json={report}", cwd=tmp_path)
    assert proc.returncode == 3, proc.stderr
    results = _registry_results(report)
    assert results and {r["status"] for r in results} == {"error"}
    for r in results:
        assert r["message"] == ("bad.reg:4: dword incorrecto (se esperaban de 1 a 8 dígitos hexadecimales): "
                                "'\"Enabled\"=dword:zz'"), r["message"]


def test_collector_problems_are_kept_as_templates_and_translated_when_judged(tmp_path: Path) -> None:
    check = {"key": APP, "value": "Enabled", "equals": 1}
    cut = utf16(f'Windows Registry Editor Version 5.00\n\n[{APP}]\n"Enabled"=hex(4):01,00\n\n')
    [en], [es] = _judge(tmp_path, {"cut.reg": cut}, [check], EN, ES)
    assert en.status is es.status is Status.ERROR
    assert en.message == ("cut.reg:4: hex(4) (REG_DWORD) with 2 byte(s), expected 4: the value is malformed: "
                          "'\"Enabled\"=hex(4):01,00'")
    assert es.message == ("cut.reg:4: hex(4) (REG_DWORD) con 2 byte(s), se esperaban 4: el valor está mal formado: "
                          "'\"Enabled\"=hex(4):01,00'")
    target = Target("t", sources={"registry": {"file": "gone.reg"}}, base_dir=tmp_path)
    [(_, facts)] = CT.collector.collect([CollectRequest(target, [check])], EN)
    outcome = evaluate(check, json.loads(json.dumps(facts)), EvalContext(run=ES, target=target))
    assert outcome.message.startswith("no se puede leer gone.reg: ") and facts["error"].startswith("cannot read")


def test_facts_with_only_an_english_error_still_judge() -> None:
    """Facts saved before messages were kept as templates: the English text is what there is."""
    facts = {"source": "files", "files": ["a.reg"], "error": "a.reg:3: something", "error_source": "a.reg:3",
             "keys": {}}
    outcome = evaluate({"key": APP}, facts, EvalContext(run=ES, target=Target("t")))
    assert (outcome.status, outcome.message) == (Status.ERROR, "a.reg:3: something")


def test_live_errors_are_translated() -> None:
    facts = live.read({}, None) if live._winreg() is None else None
    if facts is None:  # on Windows: a problem made up in the same shape
        facts = {"source": "live", "files": [], "error": "x", "keys": {},
                 "error_message": {"template": live.NEEDS_WINDOWS, "fields": {}}}
    outcome = evaluate({"key": APP}, facts, EvalContext(run=ES, target=Target("t")))
    assert outcome.message == "leer el registro en vivo requiere Windows"
    assert render(facts["error_message"]) == "live registry needs Windows"


def test_the_verdict_memo_keeps_each_language_apart(tmp_path: Path) -> None:
    """The same check object judges the same data in es, en, es: each reads in its own language
    (the verdict memo would hand back the first language's text if it ignored the language)."""
    reg = utf16(f'Windows Registry Editor Version 5.00\n\n[{APP}]\n"Enabled"=dword:00000000\n"Name"="x"\n\n')
    checks = [
        {"key": APP, "value": "Enabled", "in": [1, 2]},
        {"key": APP, "value": "Name", "min": 1},
        {"key": APP, "value": "Enabled", "type": "REG_DWORD", "equals": 0},
        {"key": APP, "value": "Gone", "when_missing": "skip"},
        {"key": APP + "\\Nope", "exists": True},
    ]
    es1, en, es2 = _judge(tmp_path, {"app.reg": reg}, checks, ES, EN, ES)
    assert [o.message for o in en] == [
        "Enabled is 0, expected one of [1, 2]",
        'Name is "x" (REG_SZ), expected at least 1 (REG_DWORD)',
        "Enabled is 0 (required: 0)",
        rf"value Gone is missing under {APP} (when_missing: skip)",
        rf"key {APP}\Nope is missing, expected it to exist",
    ]
    assert [o.message for o in es1] == [o.message for o in es2] == [
        "Enabled vale 0, se esperaba uno de [1, 2]",
        'Name vale "x" (REG_SZ), se esperaba como mínimo 1 (REG_DWORD)',
        "Enabled vale 0 (se exige: 0)",
        rf"el valor Gone está ausente en la clave {APP} (when_missing: skip)",
        rf"la clave {APP}\Nope está ausente, se esperaba que existiera",
    ]
    assert [o.status for o in en] == [o.status for o in es1] == [o.status for o in es2]


def test_english_needs_no_catalog_and_an_unknown_language_reads_english() -> None:
    assert translations("en").gettext("key {key} exists") == "key {key} exists"
    assert translations("xx").gettext("key {key} exists") == "key {key} exists"
    assert translations("es").gettext("key {key} exists") == "la clave {key} existe"
