"""Whole-report Spanish (``--lang es``): a real scan of the example inventory writes its
Markdown, HTML, SARIF and JUnit reports with Spanish headings and labels, while the machine
fields (statuses, severities, element and property names) stay as they are; an English scan
keeps the English words; a third party's catalog translates the reports without code."""

from __future__ import annotations

import json
import re
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo

from scanner.reporters.html_labels import LABELS, labels
from scanner.reporters.markdown import TEXT as MARKDOWN_TEXT
from scanner.reporters.markdown import texts as markdown_texts
from scanner.reporters.sarif import TEXT as SARIF_TEXT
from scanner.reporters.sarif import texts as sarif_texts
from tests.conftest import POLICIES, ROOT, run_cli

sys.path.insert(0, str(Path(__file__).resolve().parent / "reporters"))  # test_sarif imports its neighbours by name
from tests.reporters.test_sarif import validate

INVENTORY = ROOT / "examples" / "inventory.yaml"
NOW = "2026-11-30T10:00:00Z"
FORMATS = ("markdown", "html", "sarif", "junit", "json")
SUFFIX = {"markdown": "md", "html": "html", "sarif": "sarif", "junit": "xml", "json": "json"}


def scan(folder: Path, lang: str, env: dict[str, str] | None = None) -> dict[str, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    out = {fmt: folder / f"report.{SUFFIX[fmt]}" for fmt in FORMATS}
    args = ["scan", "--policy", str(POLICIES), "--inventory", str(INVENTORY), "--now", NOW, "--lang", lang]
    for fmt, path in out.items():
        args += ["--report", f"{fmt}={path}"]
    proc = run_cli(*args, cwd=ROOT, env=env, timeout=120)
    assert proc.returncode in (0, 1, 3), proc.stdout + proc.stderr
    return out


@pytest.fixture(scope="module")
def spanish(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return scan(tmp_path_factory.mktemp("es"), "es")


@pytest.fixture(scope="module")
def english(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return scan(tmp_path_factory.mktemp("en"), "en")


def embedded_labels(page: str) -> dict[str, str]:
    meta = re.search(r'<script type="application/json" id="ps-meta">(.*?)</script>', page, re.DOTALL)
    assert meta, "no ps-meta block"
    found: dict[str, str] = json.loads(meta.group(1))["labels"]
    return found


def sarif_help(path: Path) -> str:
    doc: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    rules = doc["runs"][0]["tool"]["driver"]["rules"]
    return "\n".join(r["help"]["text"] + "\n" + r["help"]["markdown"] for r in rules)


# ---------------------------------------------------------------- Spanish


def test_spanish_markdown_has_spanish_headings_and_table_headers(spanish: dict[str, Path]) -> None:
    text = spanish["markdown"].read_text(encoding="utf-8")
    assert re.search(r"^## policyscan: \d+ fallos, \d+ errores$", text, re.MULTILINE), text[:300]
    assert re.search(r"^### Reglas con fallos \(\d+\)$", text, re.MULTILINE)
    assert re.search(r"^### Errores \(\d+\)$", text, re.MULTILINE)
    assert "<details><summary>Correctos (" in text
    assert "| total | correcto | fallo | error | omitido | exento |" in text
    assert "| destino | mensaje | evidencia |" in text
    assert "**Corrección:**" in text
    assert "; destinos: " in text and re.search(r"\((alta|media|baja|crítica|informativa); destinos", text)
    for english in ("Failing rules", "### Errors", "Passed (", "| target |", "**Remediation:**", "failed,"):
        assert english not in text, english


def test_spanish_html_is_lang_es_with_spanish_labels_in_the_page_and_its_data(spanish: dict[str, Path]) -> None:
    page = spanish["html"].read_text(encoding="utf-8")
    assert '<html lang="es">' in page
    embedded = embedded_labels(page)
    assert embedded == dict(labels("es"))
    assert embedded["all_policies"] == "Todas las políticas" and embedded["all_rules"] == "Todas las reglas"
    assert embedded["target_filter"] == "El nombre del destino contiene…"
    assert embedded["reset"] == "Restablecer filtros" and embedded["status_fail"] == "Fallo"
    headings = re.findall(r"<h[12]>([^<]*)</h[12]>", page)
    assert {"informe de policyscan", "Ejecución", "Políticas", "Resultados por estado", "Resultados"} <= set(headings)
    for english in ("Results by status", "Reset filters", "All policies", "Waiver file"):
        assert english not in page, english
    # the data the script reads keeps its codes: statuses and severities are not words
    meta = json.loads(re.search(r'id="ps-meta">(.*?)</script>', page, re.DOTALL).group(1))  # type: ignore[union-attr]
    assert meta["statuses"] == ["pass", "fail", "error", "skip", "waived"]


def test_spanish_sarif_is_valid_and_has_spanish_help_labels(spanish: dict[str, Path]) -> None:
    help_text = sarif_help(spanish["sarif"])
    assert "Corrección: " in help_text and "**Corrección**" in help_text
    assert "(los marcadores como ${actual} se rellenan para cada destino en el informe JSON)" in help_text
    assert "Remediation" not in help_text and "placeholders such as" not in help_text
    doc = json.loads(spanish["sarif"].read_text(encoding="utf-8"))
    # machine fields stay English: levels, property names and statuses
    assert {r["properties"]["status"] for r in doc["runs"][0]["results"]} <= {"fail", "waived"}
    assert {r["level"] for r in doc["runs"][0]["results"]} <= {"error", "warning", "note"}
    copy = spanish["sarif"].with_name("spanish.sarif")
    copy.write_bytes(spanish["sarif"].read_bytes())
    assert validate([copy]) == {"spanish.sarif": []}


def test_spanish_junit_labels_only_its_bodies(spanish: dict[str, Path]) -> None:
    root = ET.parse(spanish["junit"]).getroot()
    bodies = [el.text or "" for el in root.iter("failure")]
    assert bodies and any("\nevidencia:\n" in b for b in bodies)
    assert not any("\nevidence:\n" in b for b in bodies)
    assert root.tag == "testsuites" and all(el.get("type") == "failure" for el in root.iter("failure"))


def test_spanish_json_report_keeps_its_machine_fields(spanish: dict[str, Path]) -> None:
    doc = json.loads(spanish["json"].read_text(encoding="utf-8"))
    assert {r["status"] for r in doc["results"]} <= {"pass", "fail", "error", "skip", "waived"}
    assert {r["severity"] for r in doc["results"]} <= {"info", "low", "medium", "high", "critical"}


# ---------------------------------------------------------------- English


def test_an_english_scan_keeps_the_english_words(english: dict[str, Path]) -> None:
    text = english["markdown"].read_text(encoding="utf-8")
    assert re.search(r"^## policyscan: \d+ failed, \d+ errors$", text, re.MULTILINE)
    assert "### Failing rules (" in text and "| total | pass | fail | error | skip | waived |" in text
    assert "Reglas con fallos" not in text and "destino" not in text
    page = english["html"].read_text(encoding="utf-8")
    assert '<html lang="en">' in page
    assert embedded_labels(page) == dict(LABELS)
    help_text = sarif_help(english["sarif"])
    assert "Remediation: " in help_text and "Corrección" not in help_text
    bodies = [el.text or "" for el in ET.parse(english["junit"]).getroot().iter("failure")]
    assert any("\nevidence:\n" in b for b in bodies)


def test_the_catalog_translates_every_report_label_into_spanish() -> None:
    """Each label has its own Spanish (the coverage test checks the catalog; this checks they are used)."""
    same = {"{target}: {message}", "{path} ({format})", ", ", "error", "total", "Error", "SHA-256"}
    for english, spanish in ((LABELS, labels("es")), (MARKDOWN_TEXT, markdown_texts("es")),
                             (SARIF_TEXT, sarif_texts("es"))):
        untranslated = [k for k, v in english.items() if spanish[k] == v and v not in same]
        assert not untranslated, untranslated


# ---------------------------------------------------------------- a third party's language


def test_a_catalog_on_the_locale_path_translates_the_reports_without_code(tmp_path: Path) -> None:
    catalog = Catalog(locale="fr", domain="policyscan")
    catalog.add("Failing rules ({n})", "Règles en échec ({n})")
    catalog.add("All policies", "Toutes les politiques")
    catalog.add("Remediation", "Correction")
    mo = tmp_path / "locale" / "fr" / "LC_MESSAGES" / "policyscan.mo"
    mo.parent.mkdir(parents=True)
    with mo.open("wb") as fp:
        write_mo(fp, catalog)
    out = scan(tmp_path / "fr", "fr", env={"POLICYSCAN_LOCALE_PATH": str(tmp_path / "locale")})
    assert "### Règles en échec (" in out["markdown"].read_text(encoding="utf-8")
    page = out["html"].read_text(encoding="utf-8")
    assert '<html lang="fr">' in page and embedded_labels(page)["all_policies"] == "Toutes les politiques"
    assert embedded_labels(page)["reset"] == "Reset filters"  # what the catalog lacks reads in English
    assert "Correction: " in sarif_help(out["sarif"])
