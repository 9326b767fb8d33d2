"""Translations of what a person reads (``--lang``), with the stdlib ``gettext``.

One gettext domain, ``policyscan``. Catalogs live in
``scanner/locale/<lang>/LC_MESSAGES/policyscan.mo`` (compiled from the ``.po``
next to it; both are committed, and a test checks the ``.mo`` is a fresh
compile of the ``.po``). A third party adds a language without touching the
code: it drops ``<lang>/LC_MESSAGES/policyscan.mo`` into a directory named in
``POLICYSCAN_LOCALE_PATH`` (``os.pathsep``-separated; searched before the
shipped catalogs, so it may also override one).

Each plugin keeps its own messages in its own domain and catalog folder (the
ecosystem's way: a plugin is packaged with its translations), and says so with
:func:`catalog`::

    _tr = catalog("policyscan-registry", Path(__file__).parent / "locale")
    ...
    _ = _tr(run.lang).gettext

``POLICYSCAN_LOCALE_PATH`` is searched first for every domain. A language is
*available* (``--lang``) when the core domain has a catalog for it; a plugin
without one for that language reads in English.

English is the source language: it needs no catalog, and a message with no
translation reads in English. Templates use named ``{placeholders}``, filled
with :meth:`str.format` *after* translation, so a translator may reorder them.
"""

from __future__ import annotations

import gettext
import os
from collections.abc import Callable, Mapping
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


def _catalog(lang: str, domain: str = DOMAIN, shipped: Path = SHIPPED) -> Path | None:
    extra = locale_dirs()[:-1]
    for root in [*extra, shipped]:
        mo = root / lang / "LC_MESSAGES" / f"{domain}.mo"
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


def check_language(lang: str) -> None:
    """Refuse a ``--lang`` with no catalog: a :class:`~scanner.errors.UsageError` (exit 2) listing the languages."""
    if lang not in (langs := available_languages()):
        from scanner.errors import UsageError

        raise UsageError(f"--lang {lang}: no such language (available: {', '.join(langs)})")


@cache
def translator(lang: str, domain: str = DOMAIN, shipped: Path = SHIPPED) -> gettext.NullTranslations:
    """The translations of ``domain`` for ``lang`` (English, i.e. untranslated, when there is no catalog).

    ``shipped`` is the folder the domain's own catalogs are packaged in (``<lang>/LC_MESSAGES/<domain>.mo``).
    """
    mo = None if lang == "en" else _catalog(lang, domain, shipped)
    if mo is None:
        return gettext.NullTranslations()
    with mo.open("rb") as fp:
        return gettext.GNUTranslations(fp)


def catalog(domain: str, shipped: Path) -> Callable[[str], gettext.NullTranslations]:
    """A plugin's translator: ``catalog(domain, folder)(lang)`` gives its translations for ``lang``."""

    def for_lang(lang: str) -> gettext.NullTranslations:
        return translator(lang, domain, shipped)

    return for_lang


def translated(table: Mapping[str, str]) -> Callable[[str], dict[str, str]]:
    """A function giving ``table`` (key -> ``N_``-marked English text) in a language, made once per
    language: the reporters keep their labels in one such table each (``texts = translated(TEXT)``)."""

    @cache
    def in_lang(lang: str) -> dict[str, str]:
        """The table in ``lang`` (English where the catalog has no translation)."""
        tr = translator(lang)
        return {key: tr.gettext(value) for key, value in table.items()}

    return in_lang
