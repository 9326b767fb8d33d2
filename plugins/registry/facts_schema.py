"""JSON Schema of the ``registry`` facts (the shape :mod:`plugins.registry.facts` documents).

``policyscan scan --facts`` checks every saved line of registry facts against it
before anything is judged (``CheckType.facts_schema``), so a hand-edited or
foreign facts file is refused with the line it is on, never half-used.
"""

from __future__ import annotations

from typing import Any

_MESSAGE: dict[str, Any] = {
    "description": "a message kept for translation: {template, fields} (plugins.registry.messages)",
    "type": "object",
    "required": ["template"],
    "properties": {"template": {"type": "string"}, "fields": {"type": "object"}},
}

_VALUE: dict[str, Any] = {
    "type": "object",
    "required": ["name", "type", "data", "source"],
    "properties": {
        "name": {"type": "string"},
        "type": {"type": "string"},
        "data": {"description": "see plugins.registry.values"},
        "source": {"type": "string"},
    },
    "additionalProperties": False,
}

_KEY: dict[str, Any] = {
    "type": "object",
    "required": ["covered", "exists", "source", "values"],
    "properties": {
        "covered": {"type": "boolean"},
        "exists": {"type": "boolean"},
        "source": {"type": ["string", "null"]},
        "branch": {
            "type": ["object", "null"],
            "required": ["key", "source"],
            "properties": {"key": {"type": "string"}, "source": {"type": "string"}},
        },
        "values": {"type": "object", "additionalProperties": _VALUE},
        "error": {"type": ["string", "null"]},
        "error_message": {"anyOf": [{"type": "null"}, {"type": "string"}, _MESSAGE]},
    },
    "additionalProperties": False,
}

FACTS_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["source", "files", "error", "keys"],
    "properties": {
        "source": {"enum": ["files", "live"]},
        "files": {"type": "array", "items": {"type": "string"}},
        "error": {"type": ["string", "null"]},
        "error_message": {"anyOf": [{"type": "null"}, {"type": "string"}, _MESSAGE]},
        "error_source": {"type": ["string", "null"]},
        "keys": {"type": "object", "additionalProperties": _KEY},
    },
    "additionalProperties": False,
}
