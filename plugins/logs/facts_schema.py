"""JSON Schema of the ``log_signatures`` facts (the shape documented in :mod:`plugins.logs`)."""

from __future__ import annotations

from typing import Any

_SAMPLE: dict[str, Any] = {
    "type": "object",
    "required": ["source", "line"],
    "properties": {
        "source": {"type": "string", "description": "Where the line is: path:line."},
        "line": {"type": ["integer", "null"], "description": "Its line number in the file (null: not known)."},
    },
}

_FILE: dict[str, Any] = {
    "type": "object",
    "required": ["path"],
    "properties": {
        "path": {"type": "string", "description": "The file, as the glob found it."},
        "kind": {"type": ["string", "null"], "description": "The log kind it was read as (smtp_send, "
                 "smtp_receive, message_tracking, queue, text; null: not known)."},
        "bytes": {"type": ["integer", "null"], "description": "The file's size when listed."},
        "read": {"type": ["integer", "null"], "description": "The bytes of it read (compressed, for gzip): the "
                 "file counts as proof only when read whole."},
        "has_lines": {"type": ["boolean", "null"], "description": "Whether it has a content line (false: "
                      "empty, blank or header-only, which proves nothing)."},
        "signatures": {"type": "array", "items": {"type": "integer"},
                       "description": "The signatures (indexes in signatures) searched for in it."},
        "groups": {
            "type": "array",
            "description": "The lines that matched, grouped by the exact set of signatures they matched.",
            "items": {
                "type": "object",
                "required": ["sigs", "count"],
                "properties": {
                    "sigs": {"type": "array", "items": {"type": "integer"},
                             "description": "The signatures (indexes in signatures) these lines matched."},
                    "count": {"type": "integer", "minimum": 0, "description": "How many lines matched them."},
                    "undated": {"type": "integer", "minimum": 0,
                                "description": "How many of those lines have no time."},
                    "times": {"type": "array", "items": {"type": "number"},
                              "description": "The dated lines' times (epoch ms): all, or the first and last."},
                    "all_times": {"type": "boolean",
                                  "description": "True when times holds every dated line's time."},
                },
            },
        },
        "samples": {"type": "object", "additionalProperties": {"type": "array", "items": _SAMPLE},
                    "description": "Some matching lines (evidence), by signature index."},
        "missing_fields": {"type": "array", "description": "The fields signatures search that the log's "
                           "#Fields header lacks."},
    },
}

FACTS_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["kinds", "globs", "signatures", "files"],
    "properties": {
        "collected_at": {"type": ["string", "null"], "description": "When the logs were read (ISO 8601)."},
        "kinds": {"type": "array", "description": "The log kinds configured for the target."},
        "globs": {
            "type": "array",
            "description": "The globs searched: {kind, glob, files, error}.",
            "items": {"type": "object", "required": ["glob"],
                      "properties": {"glob": {"type": "string", "description": "The glob, as configured."}}},
        },
        "signatures": {"type": "array", "items": {"type": "object"},
                       "description": "Every signature searched for: {key, id, type (literal or regex), "
                       "pattern, ignore_case, field}; files name them by index."},
        "files": {"type": "array", "items": _FILE, "description": "Every file read, and what was found in it."},
    },
    "additionalProperties": False,
}
