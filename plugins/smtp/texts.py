"""Texts made while probing (before the language is known), translated when a check is judged.

A probe's reasons ("connection refused", "no complete reply within 10 s"...) are
made in the collector, which does not know ``--lang``. Each is a :class:`Said`:
an English ``str`` (so the probe's facts and its tests read as before) that also
remembers its ``N_``-marked template and named fields. :func:`plain_facts` turns
the facts of a probe back into plain JSON (every ``Said`` a plain ``str``) and
gives a table ``{english: {"msgid": template, "args": {...}}}`` kept in the facts
under ``texts``; the judge looks a reason up there and formats it in the
reader's language with :func:`render` (a text without an entry - a reply the
server wrote, saved facts of an older version - reads as it is: evidence is
never translated).

The translator is the plugin's gettext domain ``policyscan-smtp``
(:func:`translation`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from scanner.i18n import catalog

_catalog = catalog("policyscan-smtp", Path(__file__).resolve().parent / "locale")

Gettext = Callable[[str], str]


def translation(lang: str) -> Gettext:
    """The plugin's ``gettext`` for ``lang`` (English, untranslated, when there is no catalog)."""
    return _catalog(lang).gettext


class Said(str):
    """English text that keeps its template (``msgid``) and fields (``args``) for a later translation.

    The template must be marked where it is written: ``Said(N_("no reply within {seconds:g} s"), seconds=t)``.
    A field may itself be a :class:`Said` (translated in turn) or a plain value (kept as it is).
    """

    msgid: str
    args: dict[str, Any]

    def __new__(cls, msgid: str, **args: Any) -> Said:
        self = super().__new__(cls, msgid.format(**args))
        self.msgid, self.args = msgid, args
        return self

    def to_json(self) -> dict[str, Any]:
        """The template and fields as plain JSON (nested texts included)."""
        return {"msgid": self.msgid, "args": {k: v.to_json() if isinstance(v, Said) else
                                              str(v) if isinstance(v, str) else v for k, v in self.args.items()}}


def render(value: Any, gettext: Gettext) -> Any:
    """``value`` (a :meth:`Said.to_json` form, or anything else) in the language of ``gettext``."""
    if isinstance(value, Mapping) and isinstance(value.get("msgid"), str):
        args = {k: render(v, gettext) for k, v in (value.get("args") or {}).items()}
        try:
            return gettext(value["msgid"]).format(**args)
        except (KeyError, IndexError, ValueError):  # a broken translation: the English template
            return str(value["msgid"]).format(**args)
    return value


def plain_facts(value: Any, table: dict[str, Any]) -> Any:
    """A copy of ``value`` with every :class:`Said` made a plain ``str``, each recorded in ``table``."""
    if isinstance(value, Said):
        table.setdefault(str(value), value.to_json())
        return str(value)
    if isinstance(value, dict):
        return {k: plain_facts(v, table) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain_facts(v, table) for v in value]
    return value


class Reader:
    """Reads the texts of one probe's facts in one language: judge-made ones and probe-made ones."""

    def __init__(self, lang: str, texts: Mapping[str, Any] | None = None) -> None:
        self.gettext = translation(lang)
        self.texts = texts or {}

    def __call__(self, message: str) -> str:
        return self.gettext(message)

    def reason(self, text: Any) -> str:
        """A reason from the facts in this language: translated when the probe recorded its template."""
        if not text:
            return ""
        entry = self.texts.get(str(text)) if isinstance(text, str) else None
        return str(render(entry, self.gettext)) if entry is not None else str(text)
