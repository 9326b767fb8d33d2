"""JSON Schemas of the ``registry`` check parameters and of a target's ``registry:`` setting.

The policy loader validates every ``registry`` check against :data:`PARAMS`
before the plugin sees it, so the collector and evaluator may rely on it:
``key`` is present and names a known hive, at most one operator is given, and
an operator or a ``type`` comes with a ``value`` (only ``exists`` may judge a
key alone).
"""

from __future__ import annotations

from typing import Any

from plugins.registry.keys import HIVES
from plugins.registry.values import TYPE_NAMES

OPERATORS = ("equals", "not_equals", "in", "not_in", "min", "max", "matches", "exists")


def _any_case(word: str) -> str:
    return "".join(f"[{c.upper()}{c.lower()}]" if c.isalpha() else c for c in word)


# a hive, then key names that are not empty (trailing backslashes are ignored)
_HIVE_PATTERN = "^(" + "|".join(_any_case(h) for h in sorted(HIVES, key=len, reverse=True)) + r")(\\[^\\]+)*\\*$"
_SCALAR: dict[str, Any] = {"type": ["string", "integer"]}
_OPERAND: dict[str, Any] = {"anyOf": [_SCALAR, {"type": "array", "items": {"type": "string"}}]}

PARAMS: dict[str, Any] = {
    "type": "object",
    "title": "registry",
    "description": "A Windows registry key or value, read from .reg exports or the live registry.",
    "additionalProperties": False,
    "required": ["key"],
    "properties": {
        "key": {
            "type": "string",
            "pattern": _HIVE_PATTERN,
            "description": "Registry key, hive spelled short or long (HKLM or HKEY_LOCAL_MACHINE), case-insensitive, "
            r"e.g. HKLM\SYSTEM\CurrentControlSet\Control\SecurityProviders\SCHANNEL\Protocols\TLS 1.2\Server",
        },
        "value": {
            "type": "string",
            "description": "Value name, e.g. Enabled ('@' is the key's default value); omit to check the key itself.",
        },
        "type": {"enum": list(TYPE_NAMES.values()), "description": "The value must have this type, e.g. REG_DWORD."},
        "equals": {**_OPERAND, "description": "The value equals this, e.g. 1 or 'v4.0.30319'."},
        "not_equals": {**_OPERAND, "description": "The value differs from this."},
        "in": {
            "type": "array",
            "items": _OPERAND,
            "minItems": 1,
            "description": "The value is one of these, e.g. [1, 3].",
        },
        "not_in": {"type": "array", "items": _OPERAND, "minItems": 1, "description": "The value is none of these."},
        "min": {"type": "integer", "description": "The (numeric) value is at least this, e.g. 1."},
        "max": {"type": "integer", "description": "The (numeric) value is at most this."},
        "matches": {
            "type": "string",
            "format": "regex",
            "description": r"RE2 regex searched in the value, e.g. '^v4\.0\.'.",
        },
        "exists": {"type": "boolean", "description": "The key or value must exist (true) or be absent (false)."},
        "when_missing": {
            "enum": ["fail", "pass", "skip"],
            "default": "fail",
            "description": "Result when the key or value is missing (not used with exists).",
        },
    },
    "dependentRequired": {name: ["value"] for name in (*OPERATORS[:-1], "type")},
    "dependentSchemas": {
        op: {
            "properties": {
                other: {
                    "description": f"at most one operator: {op} is already given",
                    "not": {"description": f"at most one operator: {op} is already given"},
                }
                for other in OPERATORS
                if other != op
            }
        }
        for op in OPERATORS
    },
}

_PATH: dict[str, Any] = {
    "type": "string",
    "minLength": 1,
    "description": "A .reg export (regedit, UTF-16 or REGEDIT4), relative to the inventory, e.g. reg/exch01.reg",
}

SOURCE: dict[str, Any] = {
    "description": "Where a target's registry is read: one .reg export, several merged in order, or live.",
    "oneOf": [
        {"type": "object", "additionalProperties": False, "required": ["file"], "properties": {"file": _PATH}},
        {
            "type": "object",
            "additionalProperties": False,
            "required": ["files"],
            "properties": {
                "files": {
                    "type": "array",
                    "items": _PATH,
                    "minItems": 1,
                    "description": "Several .reg exports merged in order (a later file wins), e.g. [base.reg, tls.reg]",
                }
            },
        },
        {
            "type": "object",
            "additionalProperties": False,
            "required": ["live"],
            "properties": {"live": {"const": True, "description": "Read this machine's registry (Windows)."}},
        },
    ],
}
