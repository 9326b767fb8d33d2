"""JSON Schemas of the ``log_signatures`` check and of a target's ``logs`` source.

Also the small parsers both sides share: log kinds, ``within`` durations and the
``[KIND=]GLOB`` form of the command line.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

KINDS: tuple[str, ...] = ("smtp_send", "smtp_receive", "message_tracking", "queue", "text")

_DURATION = re.compile(r"^(0*[1-9][0-9]*)(s|m|h|d|w)$")
"""At least one unit: ``0d`` would forgive every dated line."""
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}

PARAMS_SCHEMA: Mapping[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["forbid"],
    "properties": {
        "sources": {
            "description": "Log kinds to read, e.g. [smtp_send, queue]; default: every log kind the target has.",
            "type": "array",
            "minItems": 1,
            "uniqueItems": True,
            "items": {"enum": list(KINDS), "description": "A log kind"},
        },
        "forbid": {
            "description": "Signatures that must not appear (more than max_count matching lines).",
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "additionalProperties": False,
                "description": "One signature: a literal or a regex, with an optional id",
                "properties": {
                    "id": {
                        "type": "string",
                        "minLength": 1,
                        "description": "Name of the signature in results, e.g. tls-socket-error; default: the text",
                    },
                    "literal": {
                        "type": "string",
                        "minLength": 1,
                        "description": "Text searched as is (case per ignore_case), e.g. 'TLS negotiation failed'",
                    },
                    "regex": {
                        "type": "string",
                        "minLength": 1,
                        "format": "regex",
                        "description": r"RE2 regex searched in each line (or field), e.g. '421 4\.4\.2 .*SocketError'",
                    },
                },
                "oneOf": [{"required": ["literal"]}, {"required": ["regex"]}],
            },
        },
        "ignore_case": {
            "type": "boolean",
            "default": False,
            "description": "Match literals and regexes without regard to case; default false.",
        },
        "field": {
            "description": "Match only this column (#Fields name, or queue property such as LastError).",
            "type": "string",
            "minLength": 1,
        },
        "within": {
            "description": "Only lines stamped in this window before --now, e.g. 7d, 24h, 30m.",
            "type": "string",
            "pattern": _DURATION.pattern,
        },
        "max_count": {
            "type": "integer",
            "minimum": 0,
            "default": 0,
            "description": "Matching lines tolerated per signature before the rule fails; default 0 (any match fails).",
        },
    },
}

_KIND_LIST = ", ".join(KINDS)
# '[KIND=]GLOB': a leading word and '=' must name a kind (a typo such as 'smtpsend=' is no path);
# anything else (no leading word, or a word not followed by '=') is a glob. No lookahead: RE2-compatible.
_KIND_PREFIX = "^(?:(?:" + "|".join(KINDS) + ")=.+|[^A-Za-z_].*|[A-Za-z_]+(?:[^A-Za-z_=].*)?)$"
_WORD_EQ = re.compile(r"^([A-Za-z_]+)=")

SOURCE_SCHEMA: Mapping[str, Any] = {
    "description": "Log files: a mapping of kind to globs (inventory), or '[KIND=]GLOB' strings; "
                   f"KIND is one of {_KIND_LIST}.",
    "oneOf": [
        {
            "type": "object",
            "minProperties": 1,
            "propertyNames": {"enum": list(KINDS)},
            "additionalProperties": {
                "description": "A glob or a list of globs, relative to the inventory, e.g. logs/SmtpSend/*.LOG",
                "oneOf": [
                    {"type": "string", "minLength": 1},
                    {"type": "array", "minItems": 1, "items": {"type": "string", "minLength": 1}},
                ]
            },
        },
        {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "string",
                "pattern": _KIND_PREFIX,
                "description": f"[KIND=]GLOB, where KIND is one of {_KIND_LIST}; a leading WORD= that is "
                               "not a kind is an error, not a path",
            },
        },
    ],
}


def parse_duration(text: str) -> int:
    """Seconds in a ``within`` value such as ``7d``; ValueError when it is not one."""
    m = _DURATION.match(text.strip())
    if not m:
        raise ValueError(f"within: {text!r} is not a duration such as 30m, 24h or 7d")
    return int(m.group(1)) * _UNIT_SECONDS[m.group(2)]


def split_kind(spec: str) -> tuple[str | None, str]:
    """``'smtp_send=logs/*.LOG'`` -> ``('smtp_send', 'logs/*.LOG')``; no leading ``WORD=`` ->
    ``(None, spec)``. ValueError, listing the kinds, when a leading ``WORD=`` is not a kind or
    names no glob (as :data:`SOURCE_SCHEMA` refuses it)."""
    m = _WORD_EQ.match(spec)
    if not m:
        return None, spec
    kind, rest = m.group(1), spec[m.end():]
    if kind not in KINDS:
        raise ValueError(f"{spec!r}: {kind!r} is not a log kind; KIND=GLOB takes one of {_KIND_LIST}")
    if not rest:
        raise ValueError(f"{spec!r}: no glob after {kind}=")
    return kind, rest
