"""JSON Schema of the ``log_signatures`` facts (the shape documented in :mod:`plugins.logs`)."""

from __future__ import annotations

from typing import Any

_SAMPLE: dict[str, Any] = {
    "type": "object",
    "required": ["source", "line"],
    "properties": {"source": {"type": "string"}, "line": {"type": ["integer", "null"]}},
}

_FILE: dict[str, Any] = {
    "type": "object",
    "required": ["path"],
    "properties": {
        "path": {"type": "string"},
        "kind": {"type": ["string", "null"]},
        "bytes": {"type": ["integer", "null"]},
        "read": {"type": ["integer", "null"]},
        "has_lines": {"type": ["boolean", "null"]},
        "signatures": {"type": "array", "items": {"type": "integer"}},
        "groups": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["sigs", "count"],
                "properties": {
                    "sigs": {"type": "array", "items": {"type": "integer"}},
                    "count": {"type": "integer", "minimum": 0},
                    "undated": {"type": "integer", "minimum": 0},
                    "times": {"type": "array", "items": {"type": "number"}},
                    "all_times": {"type": "boolean"},
                },
            },
        },
        "samples": {"type": "object", "additionalProperties": {"type": "array", "items": _SAMPLE}},
        "missing_fields": {"type": "array"},
    },
}

FACTS_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["kinds", "globs", "signatures", "files"],
    "properties": {
        "collected_at": {"type": ["string", "null"]},
        "kinds": {"type": "array"},
        "globs": {
            "type": "array",
            "items": {"type": "object", "required": ["glob"], "properties": {"glob": {"type": "string"}}},
        },
        "signatures": {"type": "array", "items": {"type": "object"}},
        "files": {"type": "array", "items": _FILE},
    },
    "additionalProperties": False,
}
