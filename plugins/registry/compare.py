"""Comparing a registry value with a rule's operand: kinds first, then the operator.

Every value and every operand has a *kind*, and values of different kinds never
compare equal (SPEC 4.1: the string ``"1"`` is not the integer ``1``, whatever
the rule's ``type``). SCHANNEL reads ``Enabled`` as a DWORD and ignores a
REG_SZ ``"1"``: letting the two compare would pass a server that is not
configured.

=============  ============================================  =====================
kind           values                                        operands
=============  ============================================  =====================
``number``     DWORD, QWORD, DWORD_BIG_ENDIAN                an integer
``text``       SZ, EXPAND_SZ                                 a string
``strings``    MULTI_SZ                                      a list of strings
``hex``        everything else (BINARY, NONE, a DWORD of     a string of hex digits
               the wrong size): lower-case hex               (any case, commas and
                                                             spaces allowed)
=============  ============================================  =====================

When the kinds differ, **every** operator fails, ``not_equals`` and ``not_in``
included: this is the safe reading for an auditor. A rule ``Enabled
not_equals: 0`` means "the effective setting is not 0"; a REG_SZ ``"0"`` is
ignored by the reader, so the effective value is the default, which the export
does not show. Passing would claim what was not seen; the value is of a kind the
rule does not describe, which is a finding (like a ``type`` mismatch). For
``in``/``not_in`` the operands of the value's kind are compared and the others
ignored; when none has its kind, the check fails the same way. ``min`` and
``max`` need a number value (a string fails). ``matches`` is a regex, so it
searches ``text`` and each string of ``strings``; it searches the digits of a
number or the hex of binary data only when the rule names that ``type`` (then
the author asked for it). An operand of no kind (a boolean, say) is ``error``.

``not:`` swaps pass and fail as everywhere: ``not: {registry: {equals: 0}}``
passes on a REG_SZ ``"0"`` (it is indeed not the number 0). To require "not 0"
in the safe reading above, write ``not_equals: 0``, which fails on it.

What :func:`compare` says (what was required, why it cannot compare) is in the
language of the translations it is given (:mod:`plugins.registry.messages`).
"""

from __future__ import annotations

import json
from gettext import NullTranslations
from typing import Any

from plugins.registry.messages import ENGLISH
from plugins.registry.values import INTEGER_TYPES, STRING_TYPES

_regexes: dict[str, Any] = {}


def show(data: Any) -> str:
    """How a value's data is written in messages: numbers bare, the rest as JSON."""
    if type(data) is int:
        return str(data)
    return json.dumps(data, ensure_ascii=False)


def value_kind(type_: str, data: Any) -> str | None:
    """The kind of a value of type ``type_`` whose data is ``data`` (None: data of no known shape)."""
    t = type(data)
    if t is int:
        return "number"
    if t is str:
        return "text" if type_ in STRING_TYPES else "hex"
    if t is list and all(type(x) is str for x in data):
        return "strings"
    return None


def operand_kind(operand: Any) -> str | None:
    """The kind of an operand (``text`` stands for ``hex`` too); None for a boolean, a float, null..."""
    t = type(operand)
    if t is int:
        return "number"
    if t is str:
        return "text"
    if t is list and all(type(x) is str for x in operand):
        return "strings"
    return None


def _same_kind(vkind: str, operand: Any) -> bool:
    okind = operand_kind(operand)
    return okind == vkind or (vkind == "hex" and okind == "text")


def _norm(vkind: str, operand: Any) -> Any:
    if vkind == "hex":
        return operand.lower().replace(",", "").replace(" ", "").replace("\t", "")
    return operand


def type_of_operands(items: list[Any], required_type: str | None, tr: NullTranslations = ENGLISH) -> str:
    """The registry type operands stand for, for messages (``1`` -> REG_DWORD, ``"1"`` -> REG_SZ)."""
    kinds = {operand_kind(o) for o in items}
    if kinds == {"number"}:
        if required_type in INTEGER_TYPES:
            return str(required_type)
        return "REG_DWORD" if all(0 <= o <= 0xFFFFFFFF for o in items) else "REG_QWORD"
    if kinds == {"text"}:
        return str(required_type) if required_type in STRING_TYPES else "REG_SZ"
    if kinds == {"strings"}:
        return "REG_MULTI_SZ"
    return tr.gettext("values of several types")


#: What :func:`compare` says: verdict, what was required, and the registry type the operand
#: stands for when the kinds differ (else None).
Comparison = tuple[bool | None, str, str | None]


def compare(op: str, type_: str, actual: Any, operand: Any, required_type: str | None,
            tr: NullTranslations = ENGLISH) -> Comparison:
    """How a value that exists fares against the operator.

    The verdict is True (holds), False (does not), or None when the check
    cannot be carried out (the second item then says why). When the kinds
    differ the verdict is False and the third item names the operand's type.
    The texts are in the language of ``tr`` (English by default).
    """
    _ = tr.gettext
    vkind = value_kind(type_, actual)
    if vkind is None:
        return None, _("data of an unknown shape: {data}").format(data=show(actual)), None
    if op in ("equals", "not_equals"):
        shown = show(operand)
        want = shown if op == "equals" else _("anything but {operand}").format(operand=shown)
        if operand_kind(operand) is None:
            return None, _("cannot compare with {operand}").format(operand=shown), None
        if not _same_kind(vkind, operand):
            return False, want, type_of_operands([operand], required_type, tr)
        return (actual == _norm(vkind, operand)) == (op == "equals"), want, None
    if op in ("in", "not_in"):
        shown = show(operand)
        want = (_("one of {operands}") if op == "in" else _("none of {operands}")).format(operands=shown)
        if type(operand) is not list or any(operand_kind(o) is None for o in operand):
            return None, _("cannot compare with {operand}").format(operand=shown), None
        mine = [_norm(vkind, o) for o in operand if _same_kind(vkind, o)]
        if not mine:
            return False, want, type_of_operands(operand, required_type, tr)
        return (actual in mine) == (op == "in"), want, None
    if op in ("min", "max"):
        shown = show(operand)
        want = (_("at least {operand}") if op == "min" else _("at most {operand}")).format(operand=shown)
        if operand_kind(operand) != "number":
            return None, _("{operator} {operand} is not a number").format(operator=op, operand=shown), None
        if vkind != "number":
            return False, want, type_of_operands([operand], required_type, tr)
        return (actual >= operand if op == "min" else actual <= operand), want, None
    if op == "matches":
        shown = show(operand)
        want = _("a match for {pattern}").format(pattern=shown)
        regex = _regex(operand) if type(operand) is str else None
        if regex is None:
            return None, _("invalid regex {pattern}").format(pattern=shown), None
        if vkind in ("number", "hex") and required_type is None:
            if vkind == "number":
                return False, want, _("REG_SZ; add type: {type} to search its decimal digits").format(type=type_)
            return False, want, _("REG_SZ; add type: {type} to search its hex digits").format(type=type_)
        texts = actual if vkind == "strings" else [str(actual)]
        return any(regex.search(t) is not None for t in texts), want, None
    return None, _("unknown operator {operator}").format(operator=op), None


def _regex(pattern: str) -> Any:
    regex = _regexes.get(pattern)
    if regex is None:
        import re2

        try:
            regex = re2.compile(pattern)
        except Exception:  # re2 raises its own error type; the policy loader reports it first
            return None
        _regexes[pattern] = regex
    return regex
