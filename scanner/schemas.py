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
            "description": "language code (en, es, pt-BR...) -> title; `en` is required, e.g. {en: TLS 1.2, es: ...}",
        },
    ],
}
_TEXT_OR_LANG = {
    "description": "a text, or a map of language code -> text (e.g. {en: ..., es: ...})",
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
    "description": "Documents backing this (vendor guidance, benchmarks, advisories): title and optional url",
    "items": {
        "type": "object",
        "required": ["title"],
        "description": "a document backing the rule or policy",
        "properties": {
            "title": {"type": "string", "description": "Title of the document, e.g. 'Microsoft: Enable TLS 1.2'"},
            "url": {"type": "string", "description": "Where to read it, e.g. https://learn.microsoft.com/..."},
        },
        "additionalProperties": False,
    },
}

_SCALAR = {
    "type": ["string", "integer", "number", "boolean"],
    "description": "Default value of the input (a string, number or boolean); override with scan --input NAME=VALUE",
}


def _rule_schema(check: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "type": "object",
        "description": "One rule: an id, a title, a severity and the check that decides pass or fail.",
        "required": ["id", "title", "severity", "check"],
        "properties": {
            "id": {
                "type": "string",
                "pattern": "^[A-Za-z0-9][A-Za-z0-9._-]*$",
                "description": "Rule id, unique in the policy (letters, digits, . _ -), e.g. EXO-TLS12-001",
            },
            "title": {**_TITLE, "description": "What the rule requires, in a few words (a text or {en: ..., es: ...})"},
            "severity": {
                "enum": [s.value for s in Severity],
                "description": "How bad a failure is: info, low, medium, high or critical (scan --fail-on compares it)",
            },
            "description": {**_TEXT_OR_LANG, "description": "Longer explanation of what the rule checks "
                            "(a text or {en: ..., es: ...})"},
            "rationale": {**_TEXT_OR_LANG, "description": "Why the setting matters (what breaks, what it protects; "
                          "a text or {en: ..., es: ...})"},
            "references": _REFERENCES,
            "tags": {
                "type": "array",
                "items": {"type": "string", "description": "A tag, e.g. tls"},
                "description": "Free-form tags for filtering and reports, e.g. [tls, schannel]",
            },
            "applies_to": {
                "type": "object",
                "description": "Targets the rule applies to; others get status skip. Omit to apply to every target.",
                "properties": {
                    "labels": {
                        "type": "object",
                        "additionalProperties": {"type": "string"},
                        "description": "Labels a target must all have (exact values), e.g. {role: edge}",
                    },
                },
                "additionalProperties": False,
            },
            "check": {
                **check,
                "description": "What to check: one check type (registry, smtp_tls, log_signatures...) "
                "with its parameters, or all / any / not of checks",
            },
            "message": {
                **_TEXT_OR_LANG,
                "description": "Result message; ${...} placeholders are filled by the check type "
                "(e.g. ${actual}, ${endpoint}); default: the check type's own",
            },
            "remediation": {
                **_TEXT_OR_LANG,
                "description": "How to fix a failure (shown with fail results), e.g. Set Enabled=1 under ...",
            },
        },
        "additionalProperties": False,
    }


#: What an overlay may change of a base rule (``overrides: {RULE: {...}}``): not its id or check.
OVERRIDABLE = ("severity", "title", "description", "rationale", "references", "tags", "applies_to", "message",
               "remediation")


def _overlay_properties(check: Mapping[str, Any]) -> dict[str, Any]:
    rule = _rule_schema(check)["properties"]
    return {
        "extends": {
            "type": "string",
            "minLength": 1,
            "description": "Makes this policy an overlay of another: a path relative to this file, "
            "pack:NAME (a pack of one policy) or pack:NAME/FILE. Its rules are reported under this "
            "policy's id; a base also loaded (--policy DIR) is not evaluated on its own",
        },
        "overrides": {
            "type": "object",
            "description": "Overlay: base rule id -> the fields to change, e.g. {EXO-TLS12-001: {severity: "
            "critical}}; a title or text map replaces the base's whole map",
            "propertyNames": rule["id"],
            "additionalProperties": {
                "type": "object",
                "description": "The fields of the base rule to change (not its id or check)",
                "minProperties": 1,
                "properties": {k: rule[k] for k in OVERRIDABLE},
                "additionalProperties": False,
            },
        },
        "disable": {
            "type": "object",
            "description": "Overlay: base rule id -> why it does not apply here; its results are skip with this reason",
            "propertyNames": rule["id"],
            "additionalProperties": {"type": "string", "minLength": 1, "description": "The reason, e.g. a CAB ticket"},
        },
    }


def _policy_schema(check: Mapping[str, Any], defs: Mapping[str, Any] | None = None) -> dict[str, Any]:
    schema: dict[str, Any] = {
        "$schema": DIALECT,
        "$id": "https://policyscan.dev/schemas/policy-v1.json",
        "title": "policyscan Policy",
        "description": "A policy: metadata, optional inputs and the rules a scan checks on every target "
        "(policyscan validate FILE checks it; README: Policies)",
        "type": "object",
        "required": ["apiVersion", "kind", "metadata"],
        # rules are required, except in an overlay (which may only change its base's)
        "if": {"required": ["extends"]},
        "else": {"required": ["rules"]},
        "dependentRequired": {"overrides": ["extends"], "disable": ["extends"]},
        "properties": {
            "apiVersion": {"const": API_VERSION, "description": f"File format version: always {API_VERSION}"},
            "kind": {"const": "Policy", "description": "File kind: Policy"},
            "metadata": {
                "type": "object",
                "description": "The policy's identity: id, title, version (reported with every result)",
                "required": ["id", "title", "version"],
                "properties": {
                    "id": {
                        "type": "string",
                        "pattern": "^[a-z0-9][a-z0-9._-]*$",
                        "description": "Policy id, unique among loaded policies; lower case, e.g. exchange-m365-tls12",
                    },
                    "title": {**_TITLE, "description": "Policy title (a text or {en: ..., es: ...})"},
                    "version": {
                        "type": "string",
                        "minLength": 1,
                        "description": "Version of the policy text, e.g. '1.2.0' (quote it so YAML keeps a string)",
                    },
                    "description": {**_TEXT_OR_LANG,
                                    "description": "What the policy covers and why (a text or {en: ..., es: ...})"},
                    "references": _REFERENCES,
                },
                "additionalProperties": False,
            },
            "inputs": {
                "type": "object",
                "description": "Named parameters with defaults, used in checks as ${inputs.NAME}; "
                "e.g. {min_key_bits: 2048}, overridden by scan --input min_key_bits=3072",
                "propertyNames": {"pattern": "^[A-Za-z_][A-Za-z0-9_]*$"},
                "additionalProperties": _SCALAR,
            },
            "rules": {
                "type": "array",
                "minItems": 1,
                "items": _rule_schema(check),
                "description": "The rules of the policy (at least one; in an overlay, rules it adds)",
            },
            **_overlay_properties(check),
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
        out["properties"] = {k: _or_input(v) for k, v in out["properties"].items()}
    if isinstance(out.get("items"), Mapping):
        out["items"] = {"anyOf": [_allow_inputs(out["items"]), {"$ref": "#/$defs/input_ref"}]}
    for key in ("oneOf", "anyOf", "allOf"):
        if isinstance(out.get(key), list):
            out[key] = [_allow_inputs(v) for v in out[key]]
    return out


def _or_input(schema: Any) -> dict[str, Any]:
    """``schema`` or an ``${inputs.NAME}`` placeholder; the description stays on top, where editors show it."""
    out: dict[str, Any] = {"anyOf": [_allow_inputs(schema), {"$ref": "#/$defs/input_ref"}]}
    if isinstance(schema, Mapping) and "description" in schema:
        out = {"description": schema["description"], **out}
    return out


def full_policy_schema(check_types: Mapping[str, CheckType]) -> dict[str, Any]:
    """The whole policy schema with every loaded check type, for ``policyscan schema policy``."""
    alternatives: list[dict[str, Any]] = [
        {
            "type": "object",
            "required": ["all"],
            "properties": {
                "all": {
                    "type": "array",
                    "minItems": 1,
                    "items": {"$ref": "#/$defs/check"},
                    "description": "Passes when every check in the list passes",
                }
            },
            "additionalProperties": False,
        },
        {
            "type": "object",
            "required": ["any"],
            "properties": {
                "any": {
                    "type": "array",
                    "minItems": 1,
                    "items": {"$ref": "#/$defs/check"},
                    "description": "Passes when at least one check in the list passes",
                }
            },
            "additionalProperties": False,
        },
        {
            "type": "object",
            "required": ["not"],
            "properties": {"not": {"$ref": "#/$defs/check", "description": "Passes when the check fails"}},
            "additionalProperties": False,
        },
    ]
    defs: dict[str, Any] = {}
    for name in sorted(check_types):
        ct = check_types[name]
        defs[f"check_type.{name}"] = {
            "description": ct.description or f"parameters of a {name} check",
            **_allow_inputs(ct.schema),
        }
        alternatives.append(
            {
                "type": "object",
                "required": [name],
                "properties": {
                    name: {"$ref": f"#/$defs/check_type.{name}", "description": ct.description or f"a {name} check"}
                },
                "additionalProperties": False,
            }
        )
    defs["check"] = {
        "description": "One check: a mapping with one key, a check type or all / any / not",
        "oneOf": alternatives,
    }
    defs["input_ref"] = {"description": "an input of the policy, substituted before validation", **INPUT_REF}
    return _policy_schema({"$ref": "#/$defs/check"}, defs)


def inventory_schema(check_types: Mapping[str, CheckType]) -> dict[str, Any]:
    sources: dict[str, Any] = {}
    for ct in check_types.values():
        if ct.source not in sources:
            sources[ct.source] = dict(ct.source_schema) if ct.source_schema is not None else {}
            sources[ct.source].setdefault("description", f"where {ct.name} checks read this target's {ct.source}")
    target_props: dict[str, Any] = {
        "name": {
            "type": "string",
            "pattern": "^[A-Za-z0-9][A-Za-z0-9._:@-]*$",
            "description": "Target name, unique in the inventory, e.g. exch01 or mail.example.com",
        },
        "labels": {
            "type": "object",
            "additionalProperties": {"type": "string"},
            "description": "Free-form labels matched by rules' applies_to, e.g. {role: edge, site: ams}",
        },
        **{k: sources[k] for k in sorted(sources)},
    }
    return {
        "$schema": DIALECT,
        "$id": "https://policyscan.dev/schemas/inventory-v1.json",
        "title": "policyscan Inventory",
        "description": "An inventory: the targets to scan and where each check type reads them "
        "(policyscan scan --inventory FILE)",
        "type": "object",
        "required": ["apiVersion", "kind", "targets"],
        "properties": {
            "apiVersion": {"const": API_VERSION, "description": f"File format version: always {API_VERSION}"},
            "kind": {"const": "Inventory", "description": "File kind: Inventory"},
            "targets": {
                "type": "array",
                "minItems": 1,
                "description": "The machines or services to scan; paths in a target are relative to this file",
                "items": {
                    "type": "object",
                    "description": "One target: a name, labels and where each check type reads it "
                    "(registry, smtp, logs...)",
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
        "description": "Waivers: accepted, expiring exceptions to rules (policyscan scan --waivers FILE)",
        "type": "object",
        "required": ["apiVersion", "kind", "waivers"],
        "properties": {
            "apiVersion": {"const": API_VERSION, "description": f"File format version: always {API_VERSION}"},
            "kind": {"const": "Waivers", "description": "File kind: Waivers"},
            "waivers": {
                "type": "array",
                "description": "Accepted exceptions: a matching fail result is reported as waived until it expires",
                "items": {
                    "type": "object",
                    "description": "One waiver: which rule (and policy, targets), why, and until when",
                    "required": ["rule", "reason", "expires"],
                    "properties": {
                        "rule": {
                            "type": "string",
                            "minLength": 1,
                            "description": "Id of the waived rule, e.g. EXO-TLS12-001",
                        },
                        "policy": {
                            "type": "string",
                            "minLength": 1,
                            "description": "Id of the rule's policy; default: the rule in any policy",
                        },
                        # an empty list would waive for no target, or (read as "not given") for all
                        "targets": {
                            "type": "array",
                            "minItems": 1,
                            "items": {"type": "string", "minLength": 1, "description": "A target name"},
                            "description": "Target names the waiver covers, e.g. [edge01]; default: every target",
                        },
                        "reason": {
                            "type": "string",
                            "minLength": 1,
                            "description": "Why the failure is accepted (shown in reports)",
                        },
                        "expires": {
                            "type": "string",
                            "format": "date",
                            "description": "Last day the waiver applies, YYYY-MM-DD (e.g. '2026-12-31'); "
                            "after it the result fails again",
                        },
                        "owner": {"type": "string", "description": "Who is responsible, e.g. mail-team@example.com"},
                        "ticket": {"type": "string", "description": "Tracking ticket, e.g. CHG-1234"},
                    },
                    "additionalProperties": False,
                },
            },
        },
        "additionalProperties": False,
    }
