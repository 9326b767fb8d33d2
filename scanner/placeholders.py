"""``${name}`` placeholders in remediation text, messages and check parameters.

``${actual}``, ``${inputs.smtp_port}`` ... are replaced by values; ``$$`` is a
literal ``$``; any other ``$`` is kept as it is.

In remediation text and messages (:func:`render`, :class:`Template`) values
read as a person would say them, in the run's language: a missing value
(``null``) is "absent" ("ausente" in Spanish), a map is ``key: value; ...``
with inner maps as ``key value, ...`` (an SMTP ``actual`` reads
``mx:25: TLSv1.0 accepted; ...``), lists inside a map are comma-separated.
Other values are written as JSON would write them (``1``, ``true``, lists).
In check parameters (:func:`substitute_inputs`) values stay JSON.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from typing import Any

from scanner.i18n import N_, translator

_TOKEN = re.compile(r"\$\$|\$\{([^}]*)\}|\$\{")
NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_-]*)*\Z")

#: Placeholders every result has, whatever its check type.
COMMON = ("actual", "expected", "target", "rule", "policy", "title", "severity", "status", "message")


def _text(value: Any) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


_ABSENT = N_("absent")


def _inline(value: Any, lang: str) -> str:
    if value is None:
        return translator(lang).gettext(_ABSENT)
    if isinstance(value, str):
        return value
    if isinstance(value, Mapping):
        return ", ".join(f"{k} {_inline(v, lang)}" for k, v in value.items())
    if isinstance(value, list | tuple):
        return ", ".join(_inline(v, lang) for v in value)
    return _text(value)


def readable(value: Any, lang: str = "en") -> str:
    """``value`` as remediation text shows it (see the module docstring)."""
    if value is None:
        return translator(lang).gettext(_ABSENT)
    if isinstance(value, Mapping):
        return "; ".join(f"{k}: {_inline(v, lang)}" for k, v in value.items())
    return _text(value)


def names(template: str) -> tuple[list[str], list[str]]:
    """The placeholder names used in ``template``, and syntax problems found."""
    found: list[str] = []
    problems: list[str] = []
    for m in _TOKEN.finditer(template):
        token = m.group(0)
        if token == "$$":
            continue
        if m.group(1) is None:
            problems.append("unterminated placeholder '${' (write '$$' for a literal '$')")
        elif not NAME.match(m.group(1)):
            problems.append(f"invalid placeholder name {m.group(1)!r}")
        else:
            found.append(m.group(1))
    return found, problems


def render(template: str, lookup: Callable[[str], Any], lang: str = "en") -> str:
    """Fill ``template``; ``lookup(name)`` raises KeyError for an unknown name (kept as is)."""

    def sub(m: re.Match[str]) -> str:
        token = m.group(0)
        if token == "$$":
            return "$"
        name = m.group(1)
        if name is None:
            return token
        try:
            return readable(lookup(name), lang)
        except KeyError:
            return token

    return _TOKEN.sub(sub, template)


def _map_lookup(values: Mapping[str, Any], name: str) -> Any:
    if name in values:
        return values[name]
    head, _, rest = name.partition(".")
    if rest and isinstance(values.get(head), Mapping) and rest in values[head]:
        return values[head][rest]
    raise KeyError(name)


def render_map(template: str, values: Mapping[str, Any], lang: str = "en") -> str:
    """Fill ``template`` from ``values``; ``inputs.port`` reads ``values["inputs"]["port"]``."""
    return render(template, lambda name: _map_lookup(values, name), lang)


class Template:
    """A template cut once into literal text and placeholders, for filling many times.

    ``Template(t).fill(values)`` gives the same text as ``render_map(t, values)``
    without scanning the template again: a fleet scan fills each rule's
    remediation for every failing target.
    """

    __slots__ = ("_literals", "_names", "_tokens")

    def __init__(self, template: str) -> None:
        literals: list[str] = []
        names: list[str] = []
        tokens: list[str] = []
        last = 0
        pending = ""
        for m in _TOKEN.finditer(template):
            token = m.group(0)
            pending += template[last : m.start()]
            last = m.end()
            if token == "$$":
                pending += "$"
            elif m.group(1) is None:
                pending += token  # an unterminated '${' stays as written
            else:
                literals.append(pending)
                names.append(m.group(1))
                tokens.append(token)
                pending = ""
        literals.append(pending + template[last:])
        self._literals = tuple(literals)
        self._names = tuple(names)
        self._tokens = tuple(tokens)

    def fill(self, values: Mapping[str, Any], lang: str = "en") -> str:
        literals = self._literals
        if not self._names:
            return literals[0]
        parts = [literals[0]]
        for i, name in enumerate(self._names):
            try:
                parts.append(readable(_map_lookup(values, name), lang))
            except KeyError:
                parts.append(self._tokens[i])
            parts.append(literals[i + 1])
        return "".join(parts)


_WHOLE_INPUT = re.compile(r"\$\{inputs\.([A-Za-z_][A-Za-z0-9_]*)\}\Z")
_INPUT = re.compile(r"\$\{inputs\.([A-Za-z_][A-Za-z0-9_]*)\}")


def input_names(value: Any) -> list[str]:
    """Every ``${inputs.NAME}`` used anywhere inside a parameter value."""
    out: list[str] = []
    if isinstance(value, str):
        out.extend(_INPUT.findall(value))
    elif isinstance(value, Mapping):
        for v in value.values():
            out.extend(input_names(v))
    elif isinstance(value, list):
        for v in value:
            out.extend(input_names(v))
    return out


def substitute_inputs(value: Any, inputs: Mapping[str, Any]) -> Any:
    """Replace ``${inputs.NAME}`` in check parameters. A string that is exactly one
    placeholder takes the input's own type (so ``port: ${inputs.smtp_port}`` stays a number)."""
    if isinstance(value, str):
        whole = _WHOLE_INPUT.match(value)
        if whole and whole.group(1) in inputs:
            return inputs[whole.group(1)]
        return _INPUT.sub(lambda m: _text(inputs[m.group(1)]) if m.group(1) in inputs else m.group(0), value)
    if isinstance(value, Mapping):
        return {k: substitute_inputs(v, inputs) for k, v in value.items()}
    if isinstance(value, list):
        return [substitute_inputs(v, inputs) for v in value]
    return value
