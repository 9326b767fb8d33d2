"""Every message a person reads has Spanish: each package that marks messages
(``_()``, ``N_()``, ``gettext()``, ``ngettext()``) ships a catalog that translates
every one of them, with the same ``{placeholders}``.

A package's catalog lives in its own ``locale/es/LC_MESSAGES/<domain>.po``
(``scanner/locale`` for the core, ``plugins/<name>/locale`` for a plugin):
see scanner/i18n.py. Extraction is Babel's, as a translator would run it::

    pybabel extract -o messages.pot plugins/registry
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_file
from babel.messages.pofile import read_po

from tests.conftest import ROOT

PACKAGES = [ROOT / "scanner", *sorted(p for p in (ROOT / "plugins").iterdir() if (p / "__init__.py").is_file())]
FIELD = re.compile(r"\{(\w*)[^{}]*\}")


def _marked(package: Path) -> dict[str, str]:
    """msgid -> the first place it is marked in the package's modules."""
    found: dict[str, str] = {}
    for py in sorted(package.rglob("*.py")):
        for lineno, message, _comments, _context in extract_from_file("python", py, keywords=DEFAULT_KEYWORDS):
            for msgid in message if isinstance(message, tuple) else (message,):
                if msgid:
                    found.setdefault(msgid, f"{py.relative_to(package.parent)}:{lineno}")
    return found


def _spanish(package: Path) -> dict[str, str]:
    pos = sorted((package / "locale" / "es" / "LC_MESSAGES").glob("*.po"))
    out: dict[str, str] = {}
    for po in pos:
        with po.open("rb") as fp:
            for m in read_po(fp):
                if m.id and not m.fuzzy:
                    ids = m.id if isinstance(m.id, tuple) else (m.id,)
                    strs = m.string if isinstance(m.string, tuple) else (m.string,)
                    for i, msgid in enumerate(ids):
                        out[msgid] = strs[min(i, len(strs) - 1)] or ""
    return out


@pytest.mark.parametrize("package", PACKAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_marked_message_has_spanish(package: Path) -> None:
    marked = _marked(package)
    spanish = _spanish(package)
    missing = [f"{where}: {msgid!r}" for msgid, where in marked.items() if not spanish.get(msgid)]
    assert not missing, f"{len(missing)} message(s) without Spanish in {package.name}/locale/es:\n" + "\n".join(missing)


@pytest.mark.parametrize("package", PACKAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_a_translation_keeps_every_placeholder(package: Path) -> None:
    spanish = _spanish(package)
    wrong = [
        f"{msgid!r} -> {text!r}"
        for msgid, text in spanish.items()
        if text and sorted(FIELD.findall(msgid)) != sorted(FIELD.findall(text))
    ]
    assert not wrong, "\n".join(wrong)


def test_the_check_finds_a_message_without_spanish(tmp_path: Path) -> None:
    pkg = tmp_path / "pkg"
    (pkg / "locale" / "es" / "LC_MESSAGES").mkdir(parents=True)
    (pkg / "mod.py").write_text('def f(_):\n    return _("never translated {x}")\n', encoding="utf-8")
    (pkg / "locale" / "es" / "LC_MESSAGES" / "d.po").write_text('msgid "other"\nmsgstr "otro"\n', encoding="utf-8")
    marked = _marked(pkg)
    assert "never translated {x}" in marked
    assert "never translated {x}" not in _spanish(pkg)
