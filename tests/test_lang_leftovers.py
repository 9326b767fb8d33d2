"""``--lang es`` leaves no English behind in what a person reads: the engine's skip reasons, the
console's severities, an expired waiver's note, scan's warnings on stderr, JUnit's missing values.

Evidence (log lines, server replies, file paths) and the machine fields of JSON and SARIF stay as
they are; these tests look only at the texts a person reads."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import POLICIES, ROOT, run_cli

NOW = "2026-11-21T00:00:00Z"

ENGLISH = (
    "has no logs source",
    "has no smtp source",
    "rule applies to targets labelled",
    "waiver expired on",
    "its applies_to labels match no target",
    "matches no rule of the loaded policies",
    "policyscan: warning:",
)


@pytest.fixture(scope="module")
def spanish_scan(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    tmp = tmp_path_factory.mktemp("es")
    waivers = tmp / "waivers.yaml"
    waivers.write_text(
        "apiVersion: policyscan/v1\nkind: Waivers\nwaivers:\n"
        "  - {rule: EXO-TLS12-001, policy: exchange-m365-tls12, reason: old, expires: 2020-01-01}\n"
        "  - {rule: NO-SUCH-RULE, reason: typo, expires: 2099-01-01}\n",
        encoding="utf-8",
    )
    files = {fmt: tmp / f"r.{fmt}" for fmt in ("json", "junit", "sarif")}
    proc = run_cli("scan", "--inventory", str(ROOT / "examples" / "inventory.yaml"), "--policy", str(POLICIES),
                   "--waivers", str(waivers), "--lang", "es", "--now", NOW, "--report", "console",
                   *[x for fmt, p in files.items() for x in ("--report", f"{fmt}={p}")])
    assert proc.returncode == 1, proc.stderr
    written = {f: p.read_text(encoding="utf-8") for f, p in files.items()}
    return {"console": proc.stdout, "stderr": proc.stderr, **written}


def _messages(doc: dict) -> list[str]:
    return [r["message"] for r in doc["results"]] + [r["remediation"] for r in doc["results"]]


def test_engine_skip_reasons_are_spanish(spanish_scan: dict[str, str]) -> None:
    doc = json.loads(spanish_scan["json"])
    texts = "\n".join(_messages(doc))
    assert "el destino 'edge01' no tiene origen logs" in texts
    assert "el destino 'exch01' no tiene origen smtp" in texts
    assert "la regla se aplica a destinos con las etiquetas smtp_requiretls=true" in texts
    for english in ENGLISH:
        assert english not in texts
    assert "el destino 'edge01' no tiene origen logs" in spanish_scan["console"]


def test_expired_waiver_note_is_spanish(spanish_scan: dict[str, str]) -> None:
    doc = json.loads(spanish_scan["json"])
    [r] = [r for r in doc["results"] if r["target"] == "exch02" and r["rule"] == "EXO-TLS12-001"]
    assert r["status"] == "fail" and r["message"].endswith("(la exención caducó el 2020-01-01: old)")
    assert "waiver expired on" not in spanish_scan["console"] + spanish_scan["junit"] + spanish_scan["sarif"]


def test_warnings_on_stderr_are_spanish(spanish_scan: dict[str, str]) -> None:
    err = spanish_scan["stderr"]
    assert ("policyscan: aviso: exchange-tls-hardening/TLS-HARD-SMTP-003: sus etiquetas applies_to no coinciden "
            "con ningún destino") in err
    assert "la exención de la regla 'NO-SUCH-RULE' no coincide con ninguna regla" in err
    for english in ENGLISH:
        assert english not in err


def test_console_severities_are_spanish(spanish_scan: dict[str, str]) -> None:
    console = spanish_scan["console"]
    assert "  FALLO  alta      " in console and "  FALLO  media     " in console
    for english in ("FALLO  high", "FALLO  medium", "FALLO  low", "ERROR  high", "ERROR  low"):
        assert english not in console


def test_junit_missing_value_is_spanish(spanish_scan: dict[str, str]) -> None:
    junit = spanish_scan["junit"]
    assert "real: ausente" in junit
    assert "real: null" not in junit and "se esperaba: null" not in junit


def test_english_run_reads_absent_in_junit(tmp_path: Path) -> None:
    out = tmp_path / "r.xml"
    proc = run_cli("scan", "--inventory", str(ROOT / "examples" / "inventory.yaml"), "--policy", str(POLICIES),
                   "--now", NOW, "--report", f"junit={out}")
    assert proc.returncode == 1, proc.stderr
    text = out.read_text(encoding="utf-8")
    assert "actual: absent" in text and "actual: null" not in text


# --- smtp_tls: ${actual}/${expected} in remediation, and the probe's table ------------------------

SMTP_POLICY = """\
apiVersion: policyscan/v1
kind: Policy
metadata: {id: mx, title: MX, version: "1"}
rules:
  - id: MX-1
    title: no STARTTLS wanted
    severity: low
    check:
      smtp_tls: {starttls: forbidden, accept: [TLSv1.2], reject: [TLSv1.0], plaintext_mail: refused, timeout: 5}
    remediation:
      en: "found ${actual}; expected ${expected}; saw ${observed}"
      es: "encontrado ${actual}; se esperaba ${expected}; visto ${observed}"
"""


@pytest.fixture
def smtp_454():
    from tests.plugins.smtp_servers import hostile_server

    server = hostile_server("454")
    yield server
    server.stop()


def _smtp_scan(tmp_path: Path, endpoint: str, lang: str) -> dict:
    policy = tmp_path / "mx.yaml"
    policy.write_text(SMTP_POLICY, encoding="utf-8")
    out = tmp_path / f"{lang}.json"
    proc = run_cli("scan", "--target", "mx1", "--smtp", endpoint, "--policy", str(policy), "--lang", lang,
                   "--report", f"json={out}")
    assert proc.returncode == 1, proc.stderr
    [result] = json.loads(out.read_text(encoding="utf-8"))["results"]
    return result


RAW_VALUES = ("not_offered", "plaintext_mail", "starttls offered", "accept: ", "reject: ", "starttls: ")


@pytest.mark.timeout(60)
def test_smtp_remediation_reads_actual_and_expected_naturally(smtp_454, tmp_path: Path) -> None:
    es = _smtp_scan(tmp_path, smtp_454.endpoint, "es")
    en = _smtp_scan(tmp_path, smtp_454.endpoint, "en")
    ep = smtp_454.endpoint
    assert es["status"] == en["status"] == "fail"
    assert es["remediation"] == (
        f"encontrado {ep}: STARTTLS ofrecido, TLSv1.2 error, TLSv1.0 error, MAIL sin TLS aceptado; "
        "se esperaba STARTTLS prohibido; aceptar TLSv1.2; rechazar TLSv1.0; MAIL sin TLS rechazado; "
        "visto ofrecido")
    assert en["remediation"] == (
        f"found {ep}: STARTTLS offered, TLSv1.2 error, TLSv1.0 error, plain MAIL accepted; "
        "expected STARTTLS forbidden; accept TLSv1.2; reject TLSv1.0; plain MAIL refused; saw offered")
    for raw in RAW_VALUES:
        assert raw not in es["remediation"] and raw not in en["remediation"]
    # the machine values of the report do not change
    assert es["actual"] == en["actual"] == {ep: {"starttls": "offered", "TLSv1.2": "error", "TLSv1.0": "error",
                                                 "plaintext_mail": "accepted"}}
    assert es["expected"] == {"accept": ["TLSv1.2"], "reject": ["TLSv1.0"], "plaintext_mail": "refused",
                              "starttls": "forbidden"}


@pytest.mark.timeout(60)
def test_probe_table_translates_every_verdict_word(smtp_454) -> None:
    from tests.plugins.smtp_servers import aiosmtpd_server

    es = run_cli("probe", smtp_454.endpoint, "--lang", "es", "--timeout", "5").stdout
    assert "  STARTTLS     temporal: 454 " in es and "STARTTLS     temporary" not in es
    plain = aiosmtpd_server(None)  # no STARTTLS at all
    try:
        es = run_cli("probe", plain.endpoint, "--lang", "es", "--timeout", "5").stdout
        en = run_cli("probe", plain.endpoint, "--timeout", "5").stdout
    finally:
        plain.stop()
    assert "  STARTTLS     no ofrecido" in es and "not_offered" not in es
    assert "  STARTTLS     not offered" in en and "not_offered" not in en


# --- policy description and rationale: a text or a language map -----------------------------------

ES_DESCRIPTION = "El lado cliente (correo saliente) de TLS 1.2 de SCHANNEL está activado"
EN_DESCRIPTION = "SCHANNEL's TLS 1.2 client (outgoing mail) side is enabled"
ES_RATIONALE = "Microsoft 365 solo acepta TLS 1.2 o posterior"
EN_RATIONALE = "Microsoft 365 accepts only TLS 1.2 or later"


def test_sarif_reads_the_packs_descriptions_in_the_runs_language(spanish_scan: dict[str, str]) -> None:
    sarif = json.loads(spanish_scan["sarif"])
    rules = {r["id"]: r for run in sarif["runs"] for r in run["tool"]["driver"]["rules"]}
    rule = next(r for rid, r in rules.items() if rid.endswith("EXO-TLS12-001"))
    assert rule["fullDescription"]["text"].startswith(ES_DESCRIPTION)
    assert ES_RATIONALE in rule["help"]["text"] and EN_RATIONALE not in rule["help"]["text"]
    assert EN_DESCRIPTION not in spanish_scan["sarif"]


def test_every_pack_rule_has_spanish_description_and_rationale() -> None:
    from scanner.loader import load_policies
    from scanner.plugin_host import load_plugins

    for policy in load_policies([str(POLICIES)], load_plugins()):
        assert policy.descriptions.get("es"), policy.id
        for rule in policy.rules:
            if rule.description:
                assert rule.descriptions.get("es"), rule.id
            if rule.rationale:
                assert rule.rationales.get("es"), rule.id


def test_html_and_rules_read_descriptions_in_the_chosen_language(tmp_path: Path) -> None:
    html = tmp_path / "r.html"
    proc = run_cli("scan", "--inventory", str(ROOT / "examples" / "inventory.yaml"), "--policy", str(POLICIES),
                   "--lang", "es", "--now", NOW, "--report", f"html={html}")
    assert proc.returncode == 1, proc.stderr
    text = html.read_text(encoding="utf-8")
    assert ES_DESCRIPTION in text and EN_DESCRIPTION not in text
    # `rules RULE` prints a rule in full, its description and rationale in every language it has
    full = run_cli("rules", "--policy", str(POLICIES / "exchange-m365-tls12.yaml"), "EXO-TLS12-001").stdout
    for text in (ES_DESCRIPTION, ES_RATIONALE, EN_DESCRIPTION, EN_RATIONALE):
        assert text in full


def test_a_plain_string_description_still_reads_in_every_language(tmp_path: Path) -> None:
    policy = tmp_path / "p.yaml"
    policy.write_text(
        "apiVersion: policyscan/v1\nkind: Policy\n"
        "metadata: {id: p, title: P, version: '1', description: {en: Only English, es: Solo español}}\n"
        "rules:\n"
        "  - id: R1\n    title: R\n    severity: low\n    description: written once\n"
        "    rationale: {es: solo en español}\n"
        "    check: {registry: {key: 'HKLM\\X', value: V, equals: 1}}\n",
        encoding="utf-8",
    )
    assert run_cli("validate", str(policy)).returncode == 0
    out = run_cli("rules", "--policy", str(policy), "R1").stdout
    assert "written once" in out and "solo en español" in out
    sarif = tmp_path / "r.sarif"
    for lang in ("en", "es"):  # the one text there is reads in every language
        run_cli("scan", "--target", "t", "--reg", str(ROOT / "examples" / "exports" / "exch01-schannel.reg"),
                "--policy", str(policy), "--lang", lang, "--report", f"sarif={sarif}")
        [rule] = json.loads(sarif.read_text(encoding="utf-8"))["runs"][0]["tool"]["driver"]["rules"]
        assert rule["fullDescription"]["text"] == "written once"
        assert "solo en español" in rule["help"]["text"]


def test_overlay_line_diff_warnings_and_facts_warnings_are_spanish(tmp_path: Path) -> None:
    """Found by the second black-box pass: three stderr/console texts still in English under --lang es."""
    overlay = tmp_path / "overlay.yaml"
    overlay.write_text(
        "apiVersion: policyscan/v1\nkind: Policy\nmetadata: {id: contoso, title: Contoso, version: '2.0'}\n"
        f"extends: {POLICIES / 'exchange-m365-tls12.yaml'}\n"
        "overrides: {EXO-TLS12-001: {severity: critical}}\n", encoding="utf-8")
    target = ["--target", "exch02", "--reg", str(ROOT / "examples" / "exports" / "exch02-schannel.reg")]
    scan = run_cli("scan", "--policy", str(overlay), *target, "--lang", "es")
    assert "contoso 2.0 extiende exchange-m365-tls12" in scan.stdout and " extends " not in scan.stdout

    facts = tmp_path / "run.facts"
    assert run_cli("collect", "--policy", str(POLICIES / "exchange-m365-tls12.yaml"), *target,
                   "--out", str(facts)).returncode == 0
    judged = run_cli("scan", "--facts", str(facts), "--policy", str(overlay), "--lang", "es")
    assert "la política contoso no estaba entre las políticas" in judged.stderr, judged.stderr
    assert "was not among" not in judged.stderr

    before = tmp_path / "before.json"
    run_cli("scan", "--policy", str(POLICIES / "exchange-m365-tls12.yaml"), *target, "--report", f"json={before}")
    doc = json.loads(before.read_text())
    doc["tool"]["version"] = "0.0.1"
    older = tmp_path / "older.json"
    older.write_text(json.dumps(doc))
    diff = run_cli("diff", str(older), str(before), "--lang", "es")
    assert "policyscan: aviso: " in diff.stderr and "warning:" not in diff.stderr, diff.stderr


def test_junit_says_an_error_read_nothing_not_that_the_value_is_absent(spanish_scan: dict[str, str]) -> None:
    """Second black-box pass: a key the export does not cover read 'real: ausente', as if seen missing."""
    import xml.etree.ElementTree as ET

    root = ET.fromstring(spanish_scan["junit"])
    errors = [e.text or "" for e in root.iter("error")]
    assert errors and all("real: ausente" not in body for body in errors)
    assert any("real: (no leído: no se pudo realizar la comprobación)" in body for body in errors)
