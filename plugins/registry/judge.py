"""Judging one ``registry`` check against a target's facts (see :mod:`plugins.registry.facts`).

Order of judgement: facts that could not be collected -> ``error``; a key
outside every exported branch -> ``error`` ("not covered by the export", with
the ``reg export`` command that would cover it) — whatever ``when_missing`` or
``exists: false`` say, since nothing was seen; a missing key or value ->
``exists`` decides, else ``when_missing`` (``fail``/``pass``/``skip``); a value
of another type than ``type`` -> ``fail``; then the operator, kinds first
(:mod:`plugins.registry.compare`: a value of another kind than the operand
fails every operator, ``not_equals`` and ``not_in`` included, and the message
names both types, e.g. ``Enabled is "1" (REG_SZ), expected 1 (REG_DWORD)``).

Proof (``Outcome.examined``): every ``pass`` and ``fail`` says what was seen.
A value: ``{"source": "x.reg:14", "type": "REG_DWORD"}`` (its line and type).
A key: ``{"source": "x.reg:12"}`` (its key line, or the line of the subkey that
created it). An absence: ``{"source": "x.reg:3", "branch": "HKEY_..."}`` (the
key line the value is missing from, or the exported branch -- or ``[-KEY]``
line -- that covers the missing key). Live: ``{"source": "live:HKEY_..."}``.
``error`` and ``skip`` carry none.

Messages are in the run's language (``ctx.run.lang``; the ``policyscan-registry``
domain, :mod:`plugins.registry.messages`), including the problems the collector
kept in the facts as templates. The memo of verdicts is per language.

Evidence is one object with exactly: ``source``, ``key`` (the rule's key with
the hive spelled long), ``value``, ``type`` (found; null when missing),
``operator``, ``required_type``, ``expected``, ``combinator``.
"""

from __future__ import annotations

from collections.abc import Mapping
from gettext import NullTranslations
from typing import Any

from plugins.registry import keys as regkeys
from plugins.registry.checkspec import CheckSpec, spec
from plugins.registry.compare import compare, show
from plugins.registry.messages import is_message, render, translations
from scanner.api import EvalContext, Outcome, Status

__all__ = ["evaluate", "reg_export_command", "show"]


def evaluate(params: Mapping[str, Any], facts: Any, ctx: EvalContext) -> Outcome:
    """The outcome of one ``registry`` check on one target's facts."""
    c = spec(params)
    status, message, actual, source, found, examined = _judge(c, facts, ctx.run.lang)
    evidence = {
        "source": source, "key": c.long_key, "value": c.value, "type": found, "operator": c.operator,
        "required_type": c.required_type, "expected": c.operand, "combinator": ctx.combinator,
    }
    fields = c.fields.get(found)
    if fields is None:  # the same few mappings serve every target (outcomes are read-only)
        fields = c.fields[found] = {
            "key": c.long_key, "value": c.value, "type": c.required_type or found, "operator": c.operator,
        }
    return Outcome(status, message, c.operand, actual, (evidence,), fields,
                   examined if status is Status.PASS or status is Status.FAIL else None)


#: What :func:`_judge` decides: status, message, actual, evidence source, type found, proof.
_Verdict = tuple[Status, str, Any, "str | None", "str | None", "dict[str, Any] | None"]


def _judge(c: CheckSpec, facts: Any, lang: str) -> _Verdict:
    """The verdict, its message in ``lang``. Facts of another shape than :mod:`plugins.registry.facts`
    describes raise (a missing field) or are refused here; the engine makes an exception an ``error``,
    never a pass."""
    key, value, operand = c.key, c.value, c.operand
    tr = translations(lang)
    _ = tr.gettext
    if type(facts) is not dict and not isinstance(facts, Mapping):
        return Status.ERROR, _("no registry facts"), None, None, None, None
    if facts.get("error"):
        return Status.ERROR, _error_text(facts, tr), None, facts.get("error_source"), None, None
    if c.norm is None:
        return (Status.ERROR, _("invalid key {key}: unknown hive, or an empty key name").format(key=key),
                None, None, None, None)
    entry = facts["keys"].get(c.norm)
    if entry is None:
        return (Status.ERROR, _("no facts were collected for {key} (collect again with this policy)").format(key=key),
                None, None, None, None)
    source = entry["source"]
    if entry.get("error"):
        return Status.ERROR, _error_text(entry, tr), None, source, None, None
    exists = entry["exists"] is True
    if entry["covered"] is not True and (value is not None or not exists):
        files = ", ".join(facts.get("files") or ()) or _("the export")
        return (Status.ERROR, _("{key} is not covered by the export ({files}); export it on the host with: "
                                "{command} (or the same for its parent, if the key does not exist) and add that "
                                "file to the target's registry files").format(
                                    key=key, files=files, command=reg_export_command(c.long_key)),
                None, source, None, None)

    item = None if value is None else entry["values"].get(c.vid)
    if item is not None:  # a value seen: its type and data decide
        source, found, actual = item["source"], item["type"], item["data"]
        if type(found) is not str:
            return Status.ERROR, _("{value}: no type in the facts").format(value=value), actual, source, None, None
        seen = {"source": source, "type": found} if source and type(source) is str else {}  # as _proof: inline
        kind = type(actual)
        if kind is int or kind is str:  # a fleet has few distinct values per check: judge each once
            memo = (lang, found, actual)  # the message is in the run's language
            verdict = c.verdicts.get(memo)
            if verdict is None:
                verdict = _judge_value(c, found, actual, tr)
                if len(c.verdicts) < _MAX_VERDICTS:
                    c.verdicts[memo] = verdict
            return verdict[0], verdict[1], actual, source, found, seen
        status, message = _judge_value(c, found, actual, tr)
        return status, message, actual, source, found, seen

    seen = _proof(source)
    branch = entry.get("branch")
    if seen and not exists and branch:  # an absence inside a branch: say which branch
        seen["branch"] = branch["key"]
    if value is None:
        state = (_("key {key} exists") if exists else _("key {key} is missing")).format(key=key)
        if c.operator == "exists":
            if exists is operand:
                return Status.PASS, state, exists or None, source, None, seen
            if exists:
                said = _("key {key} exists, expected it to be absent").format(key=key)
            else:
                said = _("key {key} is missing, expected it to exist").format(key=key)
            return Status.FAIL, said, exists or None, source, None, seen
        if exists:
            return Status.PASS, state, True, source, None, seen
        return (*_missing(c.when_missing, state, tr), None, source, None, seen)

    if exists:
        what = _("value {value} is missing under {key}").format(value=value, key=key)
    else:
        what = _("key {key} is missing").format(key=key)
    if c.operator == "exists":
        if operand is False:
            return Status.PASS, _("{what}, as required").format(what=what), None, source, None, seen
        return Status.FAIL, what, None, source, None, seen
    return (*_missing(c.when_missing, what, tr), None, source, None, seen)


def _error_text(facts: Mapping[str, Any], tr: NullTranslations) -> str:
    """The problem the collector kept in ``facts``, translated (facts from before messages were kept
    as templates carry the English text only)."""
    msg = facts.get("error_message")
    return render(msg, tr) if is_message(msg) else str(facts["error"])


_MAX_VERDICTS = 4096


def _proof(source: Any, type_: Any = None) -> dict[str, Any]:
    """What was seen: a line (and the type found there). Nothing without a line: the engine makes that error."""
    if not source or type(source) is not str:
        return {}
    return {"source": source} if type_ is None else {"source": source, "type": type_}


def _judge_value(c: CheckSpec, found: str, actual: Any, tr: NullTranslations) -> tuple[Status, str]:
    """Status and message (in the language of ``tr``) for a value that exists, from its type and data alone."""
    _ = tr.gettext
    value, operand = c.value, c.operand
    shown = show(actual)
    if c.operator == "exists" and operand is False:
        return Status.FAIL, _("{value} exists ({type} {data}), expected it to be absent").format(
            value=value, type=found, data=shown)
    if c.required_type is not None and found != c.required_type:
        return Status.FAIL, _("{value}: type is {type}, expected {required_type}").format(
            value=value, type=found, required_type=c.required_type)
    if c.operator == "exists":
        return Status.PASS, _("{value} exists ({type} {data})").format(value=value, type=found, data=shown)
    if c.operator is None:
        return Status.PASS, _("{value} is {data}").format(value=value, data=shown)
    verdict, wanted, other_type = compare(c.operator, found, actual, operand, c.required_type, tr)
    if verdict is None:
        return Status.ERROR, _("{value}: {reason}").format(value=value, reason=wanted)
    if verdict:
        return Status.PASS, _("{value} is {data} (required: {wanted})").format(value=value, data=shown, wanted=wanted)
    if other_type is not None:
        return Status.FAIL, _("{value} is {data} ({type}), expected {wanted} ({wanted_type})").format(
            value=value, data=shown, type=_found_type(found, actual, tr), wanted=wanted, wanted_type=other_type)
    return Status.FAIL, _("{value} is {data}, expected {wanted}").format(value=value, data=shown, wanted=wanted)


def _found_type(found: str, actual: Any, tr: NullTranslations) -> str:
    if isinstance(actual, str) and found not in ("REG_SZ", "REG_EXPAND_SZ"):
        size = len(actual) // 2  # binary data, or a DWORD/QWORD of the wrong size
        return tr.ngettext("{type}, {size} byte", "{type}, {size} bytes", size).format(type=found, size=size)
    return found


def _missing(mode: str, what: str, tr: NullTranslations) -> tuple[Status, str]:
    if mode == "pass":
        return Status.PASS, tr.gettext("{what} (when_missing: pass)").format(what=what)
    if mode == "skip":
        return Status.SKIP, tr.gettext("{what} (when_missing: skip)").format(what=what)
    return Status.FAIL, what


def reg_export_command(key: str) -> str:
    """The ``reg export`` command that exports ``key`` (short hive name, as reg.exe wants it) to a file
    named after its last two parts: ``reg export "HKLM\\...\\TLS 1.2\\Client" tls12-client.reg /y``."""
    path = regkeys.short_form(key)
    parts = [p for p in path.split("\\")[-2:] if p]
    name = "-".join("".join(ch for ch in p.lower() if ch.isalnum()) or "key" for p in parts)
    return f'reg export "{path.replace(chr(34), chr(92) + chr(34))}" {name}.reg /y'
