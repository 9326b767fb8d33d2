"""scanner/i18n.py: the shipped catalogs are fresh compiles, and a catalog dropped in
POLICYSCAN_LOCALE_PATH adds a language without touching the code."""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest
from babel.messages import mofile, pofile
from babel.messages.catalog import Catalog

from scanner import i18n
from tests.conftest import POLICIES, ROOT, run_cli

INVENTORY = ROOT / "examples" / "inventory.yaml"
CATALOGS = sorted([*i18n.SHIPPED.glob("*/LC_MESSAGES/*.po"), *(ROOT / "plugins").glob("*/locale/*/LC_MESSAGES/*.po")])


def test_spanish_is_shipped():
    assert "es" in [p.parent.parent.name for p in CATALOGS]


@pytest.mark.parametrize("po", CATALOGS, ids=lambda p: str(p.relative_to(ROOT)))
def test_the_committed_mo_is_a_fresh_compile_of_the_po(po: Path):
    with po.open("rb") as fp:
        catalog = pofile.read_po(fp)
    fresh = io.BytesIO()
    mofile.write_mo(fresh, catalog)
    assert po.with_suffix(".mo").read_bytes() == fresh.getvalue(), (
        f"{po.with_suffix('.mo')} is stale: pybabel compile -D {po.stem} -d {po.parents[2]} -l {po.parent.parent.name}"
    )


def _drop_catalog(root: Path, lang: str, messages: dict[str, str]) -> None:
    catalog = Catalog(locale=None, domain=i18n.DOMAIN)
    for msgid, msgstr in messages.items():
        catalog.add(msgid, msgstr)
    where = root / lang / "LC_MESSAGES"
    where.mkdir(parents=True)
    with (where / f"{i18n.DOMAIN}.mo").open("wb") as fp:
        mofile.write_mo(fp, catalog)


def test_a_catalog_in_the_locale_path_adds_a_language(tmp_path, monkeypatch):
    _drop_catalog(tmp_path, "fr", {"Waived": "Dérogé"})
    monkeypatch.setenv(i18n.ENV_PATH, os.pathsep.join(["/nonexistent", str(tmp_path)]))
    assert i18n.available_languages() == ["en", "es", "fr"]
    i18n.translator.cache_clear()
    try:
        assert i18n.translator("fr").gettext("Waived") == "Dérogé"
        assert i18n.translator("fr").gettext("not translated") == "not translated"
    finally:
        i18n.translator.cache_clear()


def test_english_and_unknown_languages_read_the_source_text():
    assert i18n.translator("en").gettext("Waived") == "Waived"
    assert i18n.available_languages()[0] == "en"


def test_an_unknown_lang_is_a_usage_error_listing_the_languages():
    out = run_cli("scan", "--policy", str(POLICIES), "--inventory", str(INVENTORY), "--lang", "xx")
    assert out.returncode == 2
    errors = [line for line in out.stderr.splitlines() if "error" in line]
    assert errors == ["policyscan: error: --lang xx: no such language (available: en, es)"]
    assert "Traceback" not in out.stderr


def test_a_third_party_language_is_accepted_on_the_command_line(tmp_path):
    _drop_catalog(tmp_path / "loc", "fr", {})
    out = run_cli("scan", "--policy", str(POLICIES), "--inventory", str(INVENTORY), "--lang", "fr",
                  env={i18n.ENV_PATH: str(tmp_path / "loc")})
    assert "--lang" not in out.stderr
    assert out.returncode == 1  # scanned: two of the example servers fail
