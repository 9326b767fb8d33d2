"""Translations of what a person reads (``--lang``), with the stdlib ``gettext``.

One gettext domain, ``policyscan``. Catalogs live in
``scanner/locale/<lang>/LC_MESSAGES/policyscan.mo`` (compiled from the ``.po``
next to it; both are committed, and a test checks the ``.mo`` is a fresh
compile of the ``.po``). A third party adds a language without touching the
code: it drops ``<lang>/LC_MESSAGES/policyscan.mo`` into a directory named in
``POLICYSCAN_LOCALE_PATH`` (``os.pathsep``-separated; searched before the
shipped catalogs, so it may also override one).

English is the source language: it needs no catalog, and a message with no
translation reads in English. Templates use named ``{placeholders}``, filled
with :meth:`str.format` *after* translation, so a translator may reorder them.
"""

from __future__ import annotations

import gettext
import os
from functools import cache
from pathlib import Path

DOMAIN = "policyscan"
SHIPPED = Path(__file__).resolve().parent / "locale"
ENV_PATH = "POLICYSCAN_LOCALE_PATH"


def N_(message: str) -> str:  # the gettext convention: mark, translate later
    """Mark ``message`` for extraction without translating it here."""
    return message


def locale_dirs() -> list[Path]:
    """Where catalogs are searched: ``POLICYSCAN_LOCALE_PATH`` entries first, then the shipped ones."""
    extra = [Path(p) for p in os.environ.get(ENV_PATH, "").split(os.pathsep) if p]
    return [*extra, SHIPPED]


def _catalog(lang: str) -> Path | None:
    for root in locale_dirs():
        mo = root / lang / "LC_MESSAGES" / f"{DOMAIN}.mo"
        if mo.is_file():
            return mo
    return None


def available_languages() -> list[str]:
    """``en`` plus every language with a catalog in :func:`locale_dirs`, sorted."""
    found = {"en"}
    for root in locale_dirs():
        if root.is_dir():
            found.update(d.name for d in root.iterdir() if (d / "LC_MESSAGES" / f"{DOMAIN}.mo").is_file())
    return sorted(found)


@cache
def translator(lang: str) -> gettext.NullTranslations:
    """The translations for ``lang`` (English, i.e. untranslated, when there is no catalog)."""
    mo = None if lang == "en" else _catalog(lang)
    if mo is None:
        return gettext.NullTranslations()
    with mo.open("rb") as fp:
        return gettext.GNUTranslations(fp)
