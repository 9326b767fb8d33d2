"""Overlays that must be refused: one posing as its base (its id), a blank or contradictory
``disable``, and a ``pack:NAME/FILE`` reference that leads out of its pack."""

from __future__ import annotations

import json
import shutil
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from scanner.reporters.markdown import escape as escape_md
from tests.conftest import run_cli
from tests.test_overlays import BASE, INVENTORY, OVERLAY, _overlay, _problems
from tests.test_plugin_hooks import PLUGIN, POLICY, _site


def _line(path: Path, text: str) -> int:
    return next(n for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1) if text in line)


def test_an_overlay_may_not_take_its_bases_id(tmp_path: Path) -> None:
    overlay = _overlay(tmp_path, str(BASE), OVERLAY.replace("id: contoso-tls", "id: exchange-m365-tls12"))
    said = _problems(overlay)
    assert f"{overlay}:3:16: overlay id 'exchange-m365-tls12' is the id of the policy it extends ({BASE})" in said
    scan = run_cli("scan", "--policy", str(overlay), "--inventory", INVENTORY)
    assert scan.returncode == 2


def test_an_overlay_may_not_take_the_id_of_any_policy_of_its_chain(tmp_path: Path) -> None:
    shutil.copy(BASE, tmp_path / BASE.name)
    _overlay(tmp_path)  # contoso.yaml: contoso-tls extends the base
    top = tmp_path / "top.yaml"
    top.write_text(
        "apiVersion: policyscan/v1\nkind: Policy\n"
        "metadata: {id: exchange-m365-tls12, title: Top, version: '1'}\nextends: contoso.yaml\n",
        encoding="utf-8",
    )
    said = _problems(top)
    assert f"{top}:3:16: overlay id 'exchange-m365-tls12' is the id of the policy it extends" in said


def test_a_disable_reason_must_say_something(tmp_path: Path) -> None:
    text = OVERLAY.replace('"Contoso has no such receive connector; waived by CAB-123"', '"   "')
    overlay = _overlay(tmp_path, str(BASE), text)
    said = _problems(overlay)
    line = _line(overlay, "EXO-TLS12-LOG-005:")
    assert f"{overlay}:{line}:22: disable EXO-TLS12-LOG-005: the reason is blank" in said


def test_overriding_and_disabling_one_rule_is_a_contradiction(tmp_path: Path) -> None:
    text = OVERLAY.replace("  EXO-TLS12-LOG-005:", "  EXO-TLS12-002:")
    overlay = _overlay(tmp_path, str(BASE), text)
    said = _problems(overlay)
    where = _line(overlay, "EXO-TLS12-002:")
    line = _line(overlay, '  EXO-TLS12-002: "Contoso')
    assert (f"{overlay}:{line}:3: disables rule 'EXO-TLS12-002', which this overlay also overrides "
            f"(overrides at line {where})") in said


def _packed(tmp_path: Path) -> Path:
    site = _site(tmp_path, PLUGIN)
    (site / "packed").mkdir()
    (site / "packed" / "packed.yaml").write_text(POLICY.format(id="packed"), encoding="utf-8")
    return site


def test_a_pack_file_reference_may_not_leave_the_pack(tmp_path: Path) -> None:
    site = _packed(tmp_path)
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (outside / "base.yaml").write_text(POLICY.format(id="outside"), encoding="utf-8")
    depth = len(site.joinpath("packed").parts)
    overlay = tmp_path / "mine.yaml"
    for ref in (
        "pack:packed/../../elsewhere/base.yaml",
        "pack:packed/" + "../" * depth + str(outside / "base.yaml").lstrip("/"),
        f"pack:packed/{outside / 'base.yaml'}",
    ):
        overlay.write_text(
            f"apiVersion: policyscan/v1\nkind: Policy\nmetadata: {{id: mine, title: Mine, version: '1'}}\n"
            f"extends: {ref}\n", encoding="utf-8")
        out = run_cli("validate", str(overlay), pythonpath=site)
        assert out.returncode == 2, (ref, out.stdout + out.stderr)
        assert f"{overlay}:4:10: extends {ref!r}: a pack:NAME/FILE reference must name a file inside the pack" \
            in out.stdout + out.stderr


def test_a_link_in_a_pack_may_not_lead_out_of_it(tmp_path: Path) -> None:
    site = _packed(tmp_path)
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (outside / "base.yaml").write_text(POLICY.format(id="outside"), encoding="utf-8")
    (site / "packed" / "out").symlink_to(outside, target_is_directory=True)
    overlay = tmp_path / "mine.yaml"
    overlay.write_text("apiVersion: policyscan/v1\nkind: Policy\nmetadata: {id: mine, title: Mine, version: '1'}\n"
                       "extends: pack:packed/out/base.yaml\n", encoding="utf-8")
    out = run_cli("validate", str(overlay), pythonpath=site)
    assert out.returncode == 2
    assert "leads out of it" in out.stdout + out.stderr
    overlay.write_text(overlay.read_text(encoding="utf-8").replace("out/base.yaml", "packed.yaml"), encoding="utf-8")
    ok = run_cli("validate", str(overlay), pythonpath=site)
    assert ok.returncode == 0, ok.stdout + ok.stderr


# --------------------------------------------------------------------------- every report names the overlay


@pytest.fixture
def overlaid(tmp_path: Path) -> Path:
    """A folder holding the shipped base and an overlay of it, contoso.yaml."""
    folder = tmp_path / "policies"
    folder.mkdir()
    shutil.copy(BASE, folder / BASE.name)
    _overlay(folder)
    return folder


def _reports(folder: Path, out: Path, lang: str = "en") -> dict[str, Path]:
    paths = {fmt: out / f"r.{fmt}" for fmt in ("markdown", "junit", "sarif", "html")}
    args = [a for fmt, p in paths.items() for a in ("--report", f"{fmt}={p}")]
    scan = run_cli("scan", "--policy", str(folder / "contoso.yaml"), "--inventory", INVENTORY, "--lang", lang, *args)
    assert scan.returncode == 1, scan.stderr
    return paths


def test_every_report_says_what_an_overlay_changed(overlaid: Path, tmp_path: Path) -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parent / "reporters"))  # test_sarif imports its neighbours
    from tests.reporters.test_sarif import validate

    overlay = overlaid / "contoso.yaml"
    where = f"contoso-tls ({overlay}:6)"
    said = f"severity, remediation set by {where}"
    paths = _reports(overlaid, tmp_path)

    markdown = paths["markdown"].read_text(encoding="utf-8")
    assert "- contoso-tls 1.0 extends exchange-m365-tls12 1.0.0" in markdown.split("### ")[0]
    (heading,) = [line for line in markdown.splitlines() if line.startswith("#### contoso-tls/EXO-TLS12-002:")]
    assert heading.endswith(" - severity, remediation set by contoso-tls (" + escape_md(f"{overlay}:6") + ")")
    (plain,) = [line for line in markdown.splitlines() if line.startswith("#### contoso-tls/EXO-TLS12-001:")]
    assert "set by" not in plain

    junit = ET.parse(paths["junit"]).getroot()
    failures = {case.get("name", "").split(":")[0]: case.find("failure") for case in junit.iter("testcase")}
    changed = failures["EXO-TLS12-002"]
    assert changed is not None and changed.text is not None
    assert f"changed by an overlay: {said}" in changed.text
    others = [f.text or "" for name, f in failures.items() if f is not None and name != "EXO-TLS12-002"]
    assert others and all("overlay" not in text for text in others)

    sarif = json.loads(paths["sarif"].read_text(encoding="utf-8"))
    rules = {r["name"]: r for r in sarif["runs"][0]["tool"]["driver"]["rules"]}
    rule = rules["EXO-TLS12-002"]
    assert rule["properties"]["overriddenBy"] == [
        {"policy": "contoso-tls", "file": str(overlay), "line": 6, "set": ["severity", "remediation"]}]
    assert rule["properties"]["origin"].startswith("exchange-m365-tls12 (")
    assert said in rule["properties"]["origin"]
    assert rule["fullDescription"]["text"].endswith(said)
    assert said in rule["help"]["text"] and "set by contoso-tls" in rule["help"]["markdown"]
    assert rule["defaultConfiguration"]["level"] == "error"
    off = rules["EXO-TLS12-LOG-005"]
    assert "disabled by contoso-tls" in off["fullDescription"]["text"]
    assert "overriddenBy" not in rules["EXO-TLS12-001"]["properties"]
    assert validate([paths["sarif"]]) == {paths["sarif"].name: []}

    html = paths["html"].read_text(encoding="utf-8")
    assert "<th>Overlays</th><td><code>contoso-tls 1.0 extends exchange-m365-tls12 1.0.0</code></td>" in html


def test_the_overlay_sentences_are_spanish_in_a_spanish_report(overlaid: Path, tmp_path: Path) -> None:
    paths = _reports(overlaid, tmp_path, "es")
    markdown = paths["markdown"].read_text(encoding="utf-8")
    assert "- contoso-tls 1.0 extiende exchange-m365-tls12 1.0.0" in markdown
    assert "severity, remediation: fijado por contoso-tls" in markdown
    assert "cambiada por una capa (overlay): severity, remediation: fijado por contoso-tls" in \
        paths["junit"].read_text(encoding="utf-8")
    assert "<th>Capas (overlays)</th>" in paths["html"].read_text(encoding="utf-8")
    sarif = json.loads(paths["sarif"].read_text(encoding="utf-8"))
    (rule,) = [r for r in sarif["runs"][0]["tool"]["driver"]["rules"] if r["name"] == "EXO-TLS12-LOG-005"]
    assert "desactivada por contoso-tls" in rule["help"]["text"]


def test_a_report_without_overlays_says_nothing_of_them(tmp_path: Path) -> None:
    paths = {fmt: tmp_path / f"r.{fmt}" for fmt in ("markdown", "junit", "sarif", "html")}
    args = [a for fmt, p in paths.items() for a in ("--report", f"{fmt}={p}")]
    scan = run_cli("scan", "--policy", str(BASE), "--inventory", INVENTORY, *args)
    assert scan.returncode == 1, scan.stderr
    for p in paths.values():
        text = p.read_text(encoding="utf-8")
        assert "set by" not in text and " extends " not in text and "<th>Overlays</th>" not in text, p.name
        assert "overlay" not in text.lower() or p.name == "r.html", p.name  # the page's labels name them all
