"""``${name}`` placeholders in remediation text, messages and check parameters.

``${actual}``, ``${inputs.smtp_port}`` ... are replaced by values; ``$$`` is a
literal ``$``; any other ``$`` is kept as it is. Values that are not strings
are written as JSON would write them (``1``, ``true``, ``null``, lists).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from typing import Any

_TOKEN = re.compile(r"\$\$|\$\{([^}]*)\}|\$\{")
NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_-]*)*\Z")

#: Placeholders every result has, whatever its check type.
COMMON = ("actual", "expected", "target", "rule", "policy", "title", "severity", "status", "message")


def _text(value: Any) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


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


def render(template: str, lookup: Callable[[str], Any]) -> str:
    """Fill ``template``; ``lookup(name)`` raises KeyError for an unknown name (kept as is)."""

    def sub(m: re.Match[str]) -> str:
        token = m.group(0)
        if token == "$$":
            return "$"
        name = m.group(1)
        if name is None:
            return token
        try:
            return _text(lookup(name))
        except KeyError:
            return token

    return _TOKEN.sub(sub, template)


def render_map(template: str, values: Mapping[str, Any]) -> str:
    def lookup(name: str) -> Any:
        if name in values:
            return values[name]
        head, _, rest = name.partition(".")
        if rest and isinstance(values.get(head), Mapping) and rest in values[head]:
            return values[head][rest]
        raise KeyError(name)

    return render(template, lookup)


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
