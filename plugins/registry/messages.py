"""What the ``registry`` check type says to a person, in the run's language (``--lang``).

The plugin's messages live in its own gettext domain, ``policyscan-registry``,
with catalogs in ``plugins/registry/locale/<lang>/LC_MESSAGES/`` (see
:mod:`scanner.i18n`). Templates are English with named ``{placeholders}`` (key
paths, value names, data, file names and lines), filled *after* translation.

The evaluator knows the language (``ctx.run.lang``) and translates as it writes
a message. The collector does not: it may run in a worker process, and its
facts may be saved (``collect``) and judged later in any language. A problem it
finds (a malformed line of an export, a file it cannot read) is therefore kept
in the facts as a :data:`Message`, plain JSON::

    {"template": "bad hex continuation line: {line}", "fields": {"line": "'zz'"}}

(a field may itself be a message), next to its English text; the evaluator
renders it with :func:`render` in the run's language. Every template is marked
with ``N_()`` where it is written, so Babel extracts it.
"""

from __future__ import annotations

import gettext
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TypeGuard

from scanner.i18n import catalog

DOMAIN = "policyscan-registry"
LOCALE = Path(__file__).resolve().parent / "locale"

_catalog = catalog(DOMAIN, LOCALE)
_by_lang: dict[str, gettext.NullTranslations] = {}

#: A message kept for later translation: ``{"template": str, "fields": {name: str | int | Message}}``.
Message = dict[str, Any]


def translations(lang: str) -> gettext.NullTranslations:
    """The plugin's translations for ``lang`` (English when it has no catalog); cheap to call per check."""
    tr = _by_lang.get(lang)
    if tr is None:
        tr = _by_lang[lang] = _catalog(lang)
    return tr


ENGLISH = gettext.NullTranslations()


def message(template: str, **fields: Any) -> Message:
    """A message for later translation; mark ``template`` with ``N_()`` at the call."""
    return {"template": template, "fields": fields}


def is_message(obj: Any) -> TypeGuard[Mapping[str, Any]]:
    """True for what :func:`message` makes (as it reads back from JSON, too)."""
    return (isinstance(obj, Mapping) and isinstance(obj.get("template"), str)
            and isinstance(obj.get("fields", {}), Mapping))


def render(msg: Mapping[str, Any], tr: gettext.NullTranslations = ENGLISH) -> str:
    """``msg`` in the language of ``tr`` (English by default), nested messages included."""
    fields = {name: render(v, tr) if is_message(v) else v for name, v in (msg.get("fields") or {}).items()}
    return tr.gettext(msg["template"]).format(**fields)


def english(msg: Mapping[str, Any]) -> str:
    """``msg`` in English (the text kept next to it in the facts, for tools that read facts)."""
    return render(msg, ENGLISH)
