"""The shipped policy packs: they validate, and they judge real exports as they should."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import DATA, POLICIES, ROOT, run_cli

GOLDEN = DATA / "reg" / "golden"
NOW = "2026-11-26T10:00:00Z"  # the example logs are from 2026-11-20


def scan_json(tmp_path: Path, *args: str) -> tuple[int, dict]:
    out = run_cli(
        "scan",
        "--policy",
        str(POLICIES),
        *args,
        "--now",
        NOW,
        "--report",
        f"json={tmp_path / 'r.json'}",
        "--report",
        f"junit={tmp_path / 'r.xml'}",
    )
    assert out.returncode in (0, 1, 3), out.stderr
    return out.returncode, json.loads((tmp_path / "r.json").read_text())


def statuses(report: dict) -> dict[str, str]:
    return {r["rule"]: r["status"] for r in report["results"]}


def test_every_shipped_policy_validates():
    files = sorted(POLICIES.glob("*.yaml"))
    assert len(files) >= 2
    out = run_cli("validate", *map(str, files))
    assert out.returncode == 0, out.stderr
    assert f"{len(files)} file(s) valid" in out.stdout


def test_rules_lists_both_packs():
    out = run_cli("rules", "--policy", str(POLICIES))
    assert out.returncode == 0
    assert "EXO-TLS12-001" in out.stdout and "TLS-HARD-001" in out.stdout
    assert "registry" in out.stdout


def test_seed_failure_export_fails_exactly_the_rules_it_should(tmp_path):
    code, report = scan_json(tmp_path, "--reg", str(GOLDEN / "schannel-seed-failure.reg"), "--target", "exch02")
    assert code == 1
    st = statuses(report)
    registry_rules = {r["rule"] for r in report["results"] if r["check_type"] == "registry"}
    dotnet = {r["rule"] for r in report["results"] if ".NETFramework" in json.dumps(r["evidence"])}
    assert len(dotnet) == 8
    expected_fail = registry_rules - dotnet
    assert {rule for rule in registry_rules if st[rule] == "fail"} == expected_fail
    # .NET keys lie outside the exported branch: not "missing" but unknown
    assert {st[rule] for rule in dotnet} == {"error"}
    by_rule = {r["rule"]: r for r in report["results"]}
    client = by_rule["EXO-TLS12-002"]
    assert (client["actual"], client["expected"]) == (1, 0)
    assert client["evidence"][0]["source"] == f"{GOLDEN / 'schannel-seed-failure.reg'}:28"
    server = by_rule["EXO-TLS12-003"]
    assert server["actual"] is None and server["status"] == "fail"
    assert "Back up the registry" in server["remediation"] and "restart the server" in server["remediation"]
    assert "not covered" in by_rule["TLS-HARD-017"]["message"]


def test_hardened_exports_pass_and_coverage_is_per_branch(tmp_path):
    code, report = scan_json(
        tmp_path, "--reg", str(GOLDEN / "schannel-hardened.reg"), "--reg", str(GOLDEN / "dotnet-v4.reg")
    )
    st = statuses(report)
    assert all(st[f"EXO-TLS12-00{i}"] == "pass" for i in range(1, 5))
    assert all(st[f"TLS-HARD-{i:03d}"] == "pass" for i in range(1, 17))
    # dotnet-v4.reg exports HKLM\SOFTWARE\Microsoft\.NETFramework only:
    # v4.0.30319 has both values, v2.0.50727 lacks SchUseStrongCrypto,
    # and the Wow6432Node view is outside every exported branch.
    assert [st[f"TLS-HARD-{i:03d}"] for i in range(17, 25)] == [
        "pass",
        "pass",
        "error",
        "error",
        "pass",
        "fail",
        "error",
        "error",
    ]
    by_rule = {r["rule"]: r for r in report["results"]}
    assert by_rule["TLS-HARD-022"]["actual"] is None
    assert "dotnet-v4.reg:" in by_rule["TLS-HARD-022"]["evidence"][0]["source"]
    assert code == 1


@pytest.mark.parametrize("lang,words", [("en", "restart the server"), ("es", "reinicie el servidor")])
def test_remediation_languages(tmp_path, lang, words):
    out = run_cli(
        "scan",
        "--policy",
        str(POLICIES / "exchange-m365-tls12.yaml"),
        "--reg",
        str(GOLDEN / "schannel-seed-failure.reg"),
        "--lang",
        lang,
        "--report",
        f"json={tmp_path / 'r.json'}",
    )
    assert out.returncode == 1
    results = json.loads((tmp_path / "r.json").read_text())["results"]
    assert all(words in r["remediation"] for r in results if r["status"] == "fail")
    assert any("found 0" in r["remediation"] or "encontrado: 0" in r["remediation"] for r in results)


def test_examples_scan_from_the_readme(tmp_path):
    out = run_cli("scan", "--policy", "policies", "--inventory", "examples/inventory.yaml", cwd=ROOT)
    assert out.returncode == 1, out.stderr
    assert "exch02" in out.stdout and "EXO-TLS12-003" in out.stdout
    # the example logs carry the seed symptoms on exch02 only (as of a fixed clock)
    _, report = scan_json(tmp_path, "--inventory", str(ROOT / "examples" / "inventory.yaml"))
    logs = {(r["target"], r["rule"]): r for r in report["results"] if r["check_type"] == "log_signatures"}
    assert {k[1] for k, r in logs.items() if r["status"] == "fail"} == {
        "EXO-TLS12-LOG-001", "EXO-TLS12-LOG-003", "EXO-TLS12-LOG-004"}
    assert {k[0] for k, r in logs.items() if r["status"] == "fail"} == {"exch02"}
    assert logs[("exch02", "EXO-TLS12-LOG-003")]["actual"] == 2
    assert logs[("exch01", "EXO-TLS12-LOG-003")]["status"] == "pass"
    assert logs[("edge01", "EXO-TLS12-LOG-003")]["status"] == "skip"
    assert "restart the server" in logs[("exch02", "EXO-TLS12-LOG-001")]["remediation"]


def test_smtp_rules_of_the_shipped_packs_against_real_servers(tmp_path):
    from tests.plugins.smtp_servers import aiosmtpd_server, make_cert, tls_context

    good = make_cert(tmp_path, "good", ["localhost"], ips=("127.0.0.1",))
    weak = make_cert(tmp_path, "weak", ["localhost"], key="rsa1024", days=(-30, 10), ips=("127.0.0.1",))
    modern = aiosmtpd_server(tls_context(good, ["TLSv1.2", "TLSv1.3"]))
    legacy = aiosmtpd_server(tls_context(weak, ["TLSv1.0", "TLSv1.1", "TLSv1.2"]))
    old = aiosmtpd_server(tls_context(good, ["TLSv1.0"]))
    try:
        results = {}
        for name, server in (("modern", modern), ("legacy", legacy), ("old", old)):
            out = run_cli("scan", "--policy", str(POLICIES), "--smtp", server.endpoint, "--target", name,
                          "--report", f"json={tmp_path / name}.json", "--lang", "en")
            assert out.returncode in (0, 1), out.stderr
            report = json.loads((tmp_path / f"{name}.json").read_text())
            results[name] = {r["rule"]: r for r in report["results"] if r["check_type"] == "smtp_tls"}
    finally:
        for server in (modern, legacy, old):
            server.stop()
    st = {name: {rule: r["status"] for rule, r in rs.items()} for name, rs in results.items()}
    assert st["modern"] == {"EXO-TLS12-SMTP-001": "pass", "TLS-HARD-SMTP-001": "pass",
                            "TLS-HARD-SMTP-002": "pass", "TLS-HARD-SMTP-003": "skip"}
    assert st["legacy"]["EXO-TLS12-SMTP-001"] == "pass"
    assert st["legacy"]["TLS-HARD-SMTP-001"] == "fail"
    assert st["legacy"]["TLS-HARD-SMTP-002"] == "fail"
    assert st["old"]["EXO-TLS12-SMTP-001"] == "fail"
    assert "Microsoft 365 requires TLS 1.2" in results["old"]["EXO-TLS12-SMTP-001"]["remediation"]


def _pack_titles() -> dict[str, dict]:
    """Every title of the shipped packs (metadata and rules) by id, as the file says it."""
    from scanner.yamlio import load_yaml

    titles = {}
    for pack in sorted(POLICIES.glob("*.yaml")):
        if pack.name.endswith(".test.yaml"):  # the packs' PolicyTest files
            continue
        ((doc, _marks),) = load_yaml(pack)
        titles[doc["metadata"]["id"]] = doc["metadata"]["title"]
        titles.update({rule["id"]: rule["title"] for rule in doc["rules"]})
    return titles


def test_every_shipped_title_has_spanish():
    for rid, title in _pack_titles().items():
        assert isinstance(title, dict) and title.get("en") and title.get("es"), (rid, title)


@pytest.mark.parametrize("lang", ["es", "en"])
def test_the_json_report_titles_are_in_the_runs_language(tmp_path, lang):
    _, report = scan_json(tmp_path, "--inventory", str(ROOT / "examples" / "inventory.yaml"), "--lang", lang)
    shipped = _pack_titles()
    assert report["results"]
    for r in report["results"]:
        assert r["title"] == shipped[r["rule"]][lang]
    for p in report["policies"]:
        assert p["title"] == shipped[p["id"]][lang]
