"""Texts a person reads, made before the run's language is known and translated when a check is judged.

Reading a file goes wrong in the collector (in worker processes, too), which does
not know ``--lang``. Each such text is a :class:`Text`: an English ``str`` (so the
facts' ``error`` and the tests read as before) that also keeps its ``N_``-marked
template and named fields. Where a text goes into the facts, :func:`put_errors`
writes both the English ``error`` (the texts joined with ``"; "``) and
``errors``, the texts as plain JSON (``{"msgid", "args"}``); :func:`render_errors`
gives them back in the reader's language. Facts without ``errors`` (saved by an
older version) read as their English ``error``. File names, log lines, patterns
and the operating system's or a library's own words are fields, never translated.

The translator is the plugin's gettext domain ``policyscan-logs``
(``plugins/logs/locale/<lang>/LC_MESSAGES/policyscan-logs.mo``).
"""

from __future__ import annotations

import gettext
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from scanner.i18n import catalog

_catalog = catalog("policyscan-logs", Path(__file__).resolve().parent / "locale")

Gettext = Callable[[str], str]


def translation(lang: str) -> gettext.NullTranslations:
    """The plugin's translations for ``lang`` (English, untranslated, when there is no catalog)."""
    return _catalog(lang)


class Text(str):
    """English text that keeps its template (``msgid``) and fields (``args``) for a later translation.

    The template is marked where it is written: ``Text(N_("{path}: cannot be read: {reason}"), path=p,
    reason=r)``. A field may itself be a :class:`Text` (translated in turn) or a plain value (kept as it is).
    """

    msgid: str
    args: dict[str, Any]

    def __new__(cls, msgid: str, **args: Any) -> Text:
        self = super().__new__(cls, msgid.format(**args))
        self.msgid, self.args = msgid, args
        return self

    def __reduce__(self) -> tuple[Any, ...]:  # to and from worker processes, fields and all
        return (_rebuild, (self.msgid, self.args))

    def to_json(self) -> dict[str, Any]:
        """The template and fields as plain JSON (nested texts included)."""
        return {"msgid": self.msgid, "args": {k: _plain(v) for k, v in self.args.items()}}


def _rebuild(msgid: str, args: dict[str, Any]) -> Text:
    return Text(msgid, **args)


def _plain(value: Any) -> Any:
    if isinstance(value, Text):
        return value.to_json()
    if isinstance(value, str):
        return str(value)
    if isinstance(value, bool | int | float) or value is None:
        return value
    return str(value)


def as_json(text: str) -> Any:
    """A text as it goes into the facts: a :class:`Text` as its template and fields, any other ``str`` as it is."""
    return text.to_json() if isinstance(text, Text) else str(text)


def from_json(value: Any) -> str:
    """A text back from its :func:`as_json` form (a :class:`Text` again when it was one)."""
    if isinstance(value, Mapping) and isinstance(value.get("msgid"), str):
        args = {k: from_json(v) if isinstance(v, Mapping) else v for k, v in (value.get("args") or {}).items()}
        try:
            return Text(value["msgid"], **args)
        except (KeyError, IndexError, ValueError):
            return str(value["msgid"])
    return str(value)


def render(value: Any, gettext: Gettext) -> str:
    """``value`` (an :func:`as_json` form) in the language of ``gettext``."""
    if isinstance(value, Mapping) and isinstance(value.get("msgid"), str):
        args = {k: render(v, gettext) if isinstance(v, Mapping) else v for k, v in (value.get("args") or {}).items()}
        try:
            return gettext(value["msgid"]).format(**args)
        except (KeyError, IndexError, ValueError):  # a broken translation: the English template
            return str(value["msgid"]).format(**args)
    return str(value)


def put_errors(entry: dict[str, Any], texts: list[str]) -> None:
    """Set ``entry``'s ``error`` (English, ``None`` when there is none) and ``errors`` (for translation)."""
    texts = list(dict.fromkeys(texts))  # the same problem once (equal texts are equal English)
    entry["error"] = "; ".join(texts) or None
    if texts:
        entry["errors"] = [as_json(t) for t in texts]
    else:
        entry.pop("errors", None)


def errors_of(entry: Mapping[str, Any]) -> list[Any]:
    """An entry's problems, each an :func:`as_json` form: ``errors`` when kept, else the English ``error``."""
    if isinstance(entry.get("errors"), list):
        return list(entry["errors"])
    return [entry["error"]] if entry.get("error") else []


def render_errors(entry: Mapping[str, Any], gettext: Gettext) -> list[str]:
    """An entry's problems in the language of ``gettext``."""
    return [render(e, gettext) for e in errors_of(entry)]
