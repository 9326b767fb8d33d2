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
    "properties": {
        "template": {"type": "string", "description": "The English template, translated when judged."},
        "fields": {"type": "object", "description": "The values of the template's {fields}."},
    },
}

_VALUE: dict[str, Any] = {
    "type": "object",
    "required": ["name", "type", "data", "source"],
    "properties": {
        "name": {"type": "string", "description": "The value's name as written (\"\" for the default value @)."},
        "type": {"type": "string", "description": "The value's type: REG_DWORD, REG_SZ..."},
        "data": {"description": "The value's data (see plugins.registry.values)."},
        "source": {"type": "string", "description": "Where it was read: file:line, or live:KEY."},
    },
    "additionalProperties": False,
}

_KEY: dict[str, Any] = {
    "type": "object",
    "required": ["covered", "exists", "source", "values"],
    "properties": {
        "covered": {"type": "boolean", "description": "Whether the key is inside a branch some loaded file "
                    "exported (false: nothing is known of it)."},
        "exists": {"type": "boolean", "description": "Whether the key exists."},
        "source": {"type": ["string", "null"], "description": "The proof: its last key line (file:line); when "
                   "missing, the covering branch's line; when not covered, the files; live: live:KEY."},
        "branch": {
            "type": ["object", "null"],
            "description": "For a key without a key line of its own: the last loaded branch covering it "
            "(null when none covers it, for a key written by a key line, and for live facts).",
            "required": ["key", "source"],
            "properties": {
                "key": {"type": "string", "description": "The branch's key, as written."},
                "source": {"type": "string", "description": "The branch's line (file:line)."},
            },
        },
        "values": {"type": "object", "additionalProperties": _VALUE,
                   "description": "The values asked about that exist, by lower-cased name (\"\" for @)."},
        "error": {"type": ["string", "null"], "description": "A live key that could not be opened: why."},
        "error_message": {"anyOf": [{"type": "null"}, {"type": "string"}, _MESSAGE],
                          "description": "The error as a template and fields, for translation."},
    },
    "additionalProperties": False,
}

FACTS_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["source", "files", "error", "keys"],
    "properties": {
        "source": {"enum": ["files", "live"], "description": "Where the registry was read: .reg exports "
                   "(files) or the live registry."},
        "files": {"type": "array", "items": {"type": "string"},
                  "description": "The .reg files read, as the inventory or command line names them."},
        "error": {"type": ["string", "null"], "description": "Why the registry could not be read (every "
                  "registry check of the target is then an error), or null."},
        "error_message": {"anyOf": [{"type": "null"}, {"type": "string"}, _MESSAGE],
                          "description": "With an error: the same as a template and fields, for translation."},
        "error_source": {"type": ["string", "null"], "description": "With an error: where (file:line, or the "
                         "files)."},
        "keys": {"type": "object", "additionalProperties": _KEY,
                 "description": "The keys the checks ask about, by normalised (lower-case) key path."},
    },
    "additionalProperties": False,
}
