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

_HEX = "^(?:[0-9a-f]{2})*$"
"""Lower-case hex of whole bytes, no separators (data kept as bytes)."""
_TYPED = ["REG_DWORD", "REG_DWORD_BIG_ENDIAN", "REG_QWORD", "REG_SZ", "REG_EXPAND_SZ", "REG_MULTI_SZ"]


def _value(type_: str | list[str], data: dict[str, Any], what: str) -> dict[str, Any]:
    """The schema of a value of type ``type_`` (or one of them) whose ``data`` has this shape.

    Each is a whole object schema, one ``const`` per common type, the most common first: a
    value is checked against them in turn, and one of another type fails on its first test,
    so the usual REG_DWORD costs little more than a schema that ignored ``data``.
    """
    if isinstance(type_, str):
        kind: dict[str, Any] = {"const": type_, "description": f"{type_}."}
    else:
        kind = {"enum": type_, "description": f"One of {', '.join(type_)}."}
    return {
        "type": "object",
        "description": what,
        "required": ["name", "type", "data", "source"],
        "properties": {
            "name": {"type": "string", "description": "The value's name as written (\"\" for the default value "
                     "@)."},
            "type": kind,
            "data": {"description": what, **data},
            "source": {"type": "string", "description": "Where it was read: file:line, or live:KEY."},
        },
        "additionalProperties": False,
    }


def _uint(bits: int) -> dict[str, Any]:
    return {"type": "integer", "minimum": 0, "maximum": (1 << bits) - 1}


def _odd_bytes(count: int) -> dict[str, Any]:
    """The hex of a number of bytes other than ``count`` (a DWORD or QWORD whose byte count is wrong)."""
    return {"type": "string", "pattern": _HEX, "not": {"minLength": 2 * count, "maxLength": 2 * count}}


_OTHER = _value(["REG_BINARY"], {"type": "string", "pattern": _HEX},
                "Any other type (REG_BINARY, REG_NONE, REG_UNKNOWN_<n>...): the lower-case hex of its bytes.")
_OTHER["properties"]["type"] = {"type": "string", "pattern": "^REG_[A-Z0-9_]+$", "not": {"enum": _TYPED},
                                "description": "A type other than REG_DWORD, REG_DWORD_BIG_ENDIAN, REG_QWORD, "
                                "REG_SZ, REG_EXPAND_SZ and REG_MULTI_SZ (REG_UNKNOWN_<n> for a number Windows "
                                "does not name)."}

_VALUE: dict[str, Any] = {
    "description": "One value: its name, type, data and source; the data in the shape its type gives it "
    "(plugins.registry.values).",
    "anyOf": [
        _value("REG_DWORD", _uint(32), "A DWORD: an unsigned 32-bit integer."),
        _value("REG_SZ", {"type": "string"}, "A string: its text (cut at the first NUL)."),
        _value("REG_EXPAND_SZ", {"type": "string"}, "An expandable string: its text, unexpanded."),
        _value("REG_MULTI_SZ", {"type": "array", "items": {"type": "string"}}, "A multi-string: its strings."),
        _value("REG_QWORD", _uint(64), "A QWORD: an unsigned 64-bit integer."),
        _value("REG_DWORD_BIG_ENDIAN", _uint(32), "A big-endian DWORD: an unsigned 32-bit integer."),
        _value(["REG_DWORD", "REG_DWORD_BIG_ENDIAN"], _odd_bytes(4),
               "A DWORD whose byte count is not 4: its bytes, in lower-case hex."),
        _value("REG_QWORD", _odd_bytes(8), "A QWORD whose byte count is not 8: its bytes, in lower-case hex."),
        _OTHER,
    ],
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
