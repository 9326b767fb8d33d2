"""JSON Schemas of the input files (SPEC §4–6), built around the loaded plugins.

Validation is done in two steps (see :mod:`scanner.loader`): first the
*envelope* — the file's own structure, where a check is only "a mapping with
exactly one key, a combinator or a known check type" — then each check's
parameters against the schema its check type registered. The full schema that
``policyscan schema policy`` prints puts both together, so editors and other
tools see every loaded check type.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from scanner.api import CheckType, Severity

DIALECT = "https://json-schema.org/draft/2020-12/schema"
API_VERSION = "policyscan/v1"
COMBINATORS = ("all", "any", "not")

_TITLE = {
    "description": "a title, or a map of language -> title with at least `en`",
    "oneOf": [
        {"type": "string", "minLength": 1},
        {
            "type": "object",
            "required": ["en"],
            "propertyNames": {"pattern": "^[a-z]{2,3}(-[A-Za-z0-9]+)*$"},
            "additionalProperties": {"type": "string", "minLength": 1},
        },
    ],
}
_TEXT_OR_LANG = {
    "oneOf": [
        {"type": "string"},
        {
            "type": "object",
            "minProperties": 1,
            "propertyNames": {"pattern": "^[a-z]{2,3}(-[A-Za-z0-9]+)*$"},
            "additionalProperties": {"type": "string"},
        },
    ]
}

_REFERENCES = {
    "type": "array",
    "items": {
        "type": "object",
        "required": ["title"],
        "properties": {"title": {"type": "string"}, "url": {"type": "string"}},
        "additionalProperties": False,
    },
}

_SCALAR = {"type": ["string", "integer", "number", "boolean"]}


def _rule_schema(check: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "type": "object",
        "required": ["id", "title", "severity", "check"],
        "properties": {
            "id": {"type": "string", "pattern": "^[A-Za-z0-9][A-Za-z0-9._-]*$"},
            "title": _TITLE,
            "severity": {"enum": [s.value for s in Severity]},
            "description": {"type": "string"},
            "rationale": {"type": "string"},
            "references": _REFERENCES,
            "tags": {"type": "array", "items": {"type": "string"}},
            "applies_to": {
                "type": "object",
                "properties": {
                    "labels": {"type": "object", "additionalProperties": {"type": "string"}},
                },
                "additionalProperties": False,
            },
            "check": check,
            "message": _TEXT_OR_LANG,
            "remediation": _TEXT_OR_LANG,
        },
        "additionalProperties": False,
    }


def _policy_schema(check: Mapping[str, Any], defs: Mapping[str, Any] | None = None) -> dict[str, Any]:
    schema: dict[str, Any] = {
        "$schema": DIALECT,
        "$id": "https://policyscan.dev/schemas/policy-v1.json",
        "title": "policyscan Policy",
        "type": "object",
        "required": ["apiVersion", "kind", "metadata", "rules"],
        "properties": {
            "apiVersion": {"const": API_VERSION},
            "kind": {"const": "Policy"},
            "metadata": {
                "type": "object",
                "required": ["id", "title", "version"],
                "properties": {
                    "id": {"type": "string", "pattern": "^[a-z0-9][a-z0-9._-]*$"},
                    "title": _TITLE,
                    "version": {"type": "string", "minLength": 1},
                    "description": {"type": "string"},
                    "references": _REFERENCES,
                },
                "additionalProperties": False,
            },
            "inputs": {
                "type": "object",
                "propertyNames": {"pattern": "^[A-Za-z_][A-Za-z0-9_]*$"},
                "additionalProperties": _SCALAR,
            },
            "rules": {"type": "array", "minItems": 1, "items": _rule_schema(check)},
        },
        "additionalProperties": False,
    }
    if defs:
        schema["$defs"] = dict(defs)
    return schema


#: A check as the envelope sees it: a mapping with one key. Which key (a combinator or
#: a loaded check type) and its parameters are the loader's second step.
ENVELOPE_CHECK: dict[str, Any] = {"type": "object", "minProperties": 1, "maxProperties": 1}


def policy_envelope_schema(check_types: Mapping[str, CheckType]) -> dict[str, Any]:
    return _policy_schema(ENVELOPE_CHECK)


INPUT_REF = {"type": "string", "pattern": r"^\$\{inputs\.[A-Za-z_][A-Za-z0-9_]*\}$"}


def _allow_inputs(schema: Any) -> Any:
    """A copy of a parameter schema where any property or item may be ``${inputs.NAME}``.

    The loader substitutes inputs before it validates parameters; editors that
    read the printed schema see the file as written, placeholders included.
    """
    if not isinstance(schema, Mapping):
        return schema
    out = dict(schema)
    if isinstance(out.get("properties"), Mapping):
        out["properties"] = {
            k: {"anyOf": [_allow_inputs(v), {"$ref": "#/$defs/input_ref"}]} for k, v in out["properties"].items()
        }
    if isinstance(out.get("items"), Mapping):
        out["items"] = {"anyOf": [_allow_inputs(out["items"]), {"$ref": "#/$defs/input_ref"}]}
    for key in ("oneOf", "anyOf", "allOf"):
        if isinstance(out.get(key), list):
            out[key] = [_allow_inputs(v) for v in out[key]]
    return out


def full_policy_schema(check_types: Mapping[str, CheckType]) -> dict[str, Any]:
    """The whole policy schema with every loaded check type, for ``policyscan schema policy``."""
    alternatives: list[dict[str, Any]] = [
        {
            "type": "object",
            "required": ["all"],
            "properties": {"all": {"type": "array", "minItems": 1, "items": {"$ref": "#/$defs/check"}}},
            "additionalProperties": False,
        },
        {
            "type": "object",
            "required": ["any"],
            "properties": {"any": {"type": "array", "minItems": 1, "items": {"$ref": "#/$defs/check"}}},
            "additionalProperties": False,
        },
        {
            "type": "object",
            "required": ["not"],
            "properties": {"not": {"$ref": "#/$defs/check"}},
            "additionalProperties": False,
        },
    ]
    defs: dict[str, Any] = {}
    for name in sorted(check_types):
        ct = check_types[name]
        defs[f"check_type.{name}"] = {"description": ct.description, **_allow_inputs(ct.schema)}
        alternatives.append(
            {
                "type": "object",
                "required": [name],
                "properties": {name: {"$ref": f"#/$defs/check_type.{name}"}},
                "additionalProperties": False,
            }
        )
    defs["check"] = {"oneOf": alternatives}
    defs["input_ref"] = {"description": "an input of the policy, substituted before validation", **INPUT_REF}
    return _policy_schema({"$ref": "#/$defs/check"}, defs)


def inventory_schema(check_types: Mapping[str, CheckType]) -> dict[str, Any]:
    sources: dict[str, Any] = {}
    for ct in check_types.values():
        if ct.source not in sources:
            sources[ct.source] = dict(ct.source_schema) if ct.source_schema is not None else {}
    target_props: dict[str, Any] = {
        "name": {"type": "string", "pattern": "^[A-Za-z0-9][A-Za-z0-9._:@-]*$"},
        "labels": {"type": "object", "additionalProperties": {"type": "string"}},
        **{k: sources[k] for k in sorted(sources)},
    }
    return {
        "$schema": DIALECT,
        "$id": "https://policyscan.dev/schemas/inventory-v1.json",
        "title": "policyscan Inventory",
        "type": "object",
        "required": ["apiVersion", "kind", "targets"],
        "properties": {
            "apiVersion": {"const": API_VERSION},
            "kind": {"const": "Inventory"},
            "targets": {
                "type": "array",
                "minItems": 1,
                "items": {
                    "type": "object",
                    "required": ["name"],
                    "properties": target_props,
                    "additionalProperties": False,
                },
            },
        },
        "additionalProperties": False,
    }


def waivers_schema() -> dict[str, Any]:
    return {
        "$schema": DIALECT,
        "$id": "https://policyscan.dev/schemas/waivers-v1.json",
        "title": "policyscan Waivers",
        "type": "object",
        "required": ["apiVersion", "kind", "waivers"],
        "properties": {
            "apiVersion": {"const": API_VERSION},
            "kind": {"const": "Waivers"},
            "waivers": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["rule", "reason", "expires"],
                    "properties": {
                        "rule": {"type": "string", "minLength": 1},
                        "policy": {"type": "string", "minLength": 1},
                        # an empty list would waive for no target, or (read as "not given") for all
                        "targets": {"type": "array", "minItems": 1, "items": {"type": "string", "minLength": 1}},
                        "reason": {"type": "string", "minLength": 1},
                        "expires": {"type": "string", "format": "date"},
                        "owner": {"type": "string"},
                        "ticket": {"type": "string"},
                    },
                    "additionalProperties": False,
                },
            },
        },
        "additionalProperties": False,
    }
