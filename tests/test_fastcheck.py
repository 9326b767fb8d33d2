"""The fast validity check never accepts what jsonschema rejects, nor rejects what it accepts."""

from __future__ import annotations

import copy
import random
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from scanner import schemas
from scanner.fastcheck import fast_valid
from scanner.plugin_host import load_plugins
from scanner.validation import _FAST_FORMATS, format_checker
from scanner.yamlio import load_yaml
from tests.conftest import POLICIES, ROOT

MUTANTS: list[Any] = [
    None,
    True,
    0,
    -1,
    1.5,
    "",
    "x",
    "0x1",
    [],
    [1],
    {},
    {"x": 1},
    "2026-13-40",
    "a(b",
    float("nan"),
    float("inf"),
    float("-inf"),
]


def _paths(doc: Any, prefix: tuple = ()) -> list[tuple]:
    out = [prefix]
    if isinstance(doc, dict):
        for k, v in doc.items():
            out.extend(_paths(v, (*prefix, k)))
    elif isinstance(doc, list):
        for i, v in enumerate(doc):
            out.extend(_paths(v, (*prefix, i)))
    return out


def _mutate(doc: Any, rng: random.Random) -> Any:
    doc = copy.deepcopy(doc)
    path = rng.choice(_paths(doc)[1:])
    parent = doc
    for p in path[:-1]:
        parent = parent[p]
    action = rng.random()
    if action < 0.2 and isinstance(parent, dict):
        del parent[path[-1]]
    elif action < 0.3 and isinstance(parent, dict):
        parent["unexpected"] = 1
    else:
        parent[path[-1]] = copy.deepcopy(rng.choice(MUTANTS))
    return doc


def _packs():
    return sorted(p for p in POLICIES.glob("*.yaml") if not p.name.endswith(".test.yaml"))


def _cases():
    host = load_plugins()
    docs = [(load_yaml(p)[0][0], schemas.full_policy_schema(host.check_types)) for p in _packs()]
    docs += [(load_yaml(p)[0][0], schemas.policy_envelope_schema(host.check_types)) for p in _packs()]
    docs.append((load_yaml(ROOT / "examples" / "inventory.yaml")[0][0], schemas.inventory_schema(host.check_types)))
    waivers = {
        "apiVersion": "policyscan/v1",
        "kind": "Waivers",
        "waivers": [{"rule": "R-*", "reason": "r", "expires": "2026-12-31", "targets": ["a"]}],
    }
    docs.append((waivers, schemas.waivers_schema()))
    overlay = {  # the policy schema's if/then (overrides and disable need extends)
        "apiVersion": "policyscan/v1", "kind": "Policy",
        "metadata": {"id": "contoso", "title": "Contoso", "version": "1.0"},
        "extends": "exchange-m365-tls12.yaml",
        "overrides": {"EXO-TLS12-001": {"severity": "critical"}},
        "disable": {"EXO-TLS12-002": "not ours"},
    }
    docs.append((overlay, schemas.full_policy_schema(host.check_types)))
    for name, ct in sorted(host.check_types.items()):
        for p in _packs():
            for rule in load_yaml(p)[0][0]["rules"]:
                check = rule["check"]
                if name in check:
                    docs.append((check[name], dict(ct.schema)))
    return docs


@pytest.mark.parametrize("seed", range(4))
def test_fast_check_agrees_with_jsonschema(seed):
    rng = random.Random(seed)
    checked = decided = 0
    for doc, schema in _cases():
        full = Draft202012Validator(schema, format_checker=format_checker())
        for candidate in [doc] + [_mutate(doc, rng) for _ in range(25)]:
            verdict = fast_valid(schema, candidate, _FAST_FORMATS)
            valid = full.is_valid(candidate)
            checked += 1
            if verdict is not None:
                decided += 1
                assert verdict == valid, (schema.get("title"), candidate)
    assert decided > checked * 0.8  # the fast path covers our schemas, not just says "unsure"


def test_unknown_keywords_are_unsure_never_valid():
    assert fast_valid({"type": "object", "unevaluatedProperties": False}, {"a": 1}) is None
    assert fast_valid({"format": "email"}, "x") is None
    assert fast_valid({"prefixItems": [{"type": "string"}]}, [1]) is None


@pytest.mark.parametrize("keyword", ["minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"])
@pytest.mark.parametrize("value", [float("nan"), float("inf"), float("-inf"), 0, 0.5])
def test_bounds_judge_nan_and_infinities_as_jsonschema_does(keyword, value):
    """NaN compares false with every bound: jsonschema lets it through (validation refuses
    non-finite numbers on its own), and the fast check must not say otherwise."""
    schema = {"type": "number", keyword: 0}
    assert fast_valid(schema, value) == Draft202012Validator(schema).is_valid(value)


def test_json_equality_rules():
    assert fast_valid({"const": 1}, True) is False
    assert fast_valid({"enum": [0]}, False) is False
    assert fast_valid({"type": "integer"}, 1.0) is True
    assert fast_valid({"type": "integer"}, True) is False


@pytest.mark.parametrize("value", [{}, {"a": 1}, {"a": 1, "b": 2}, {"b": 2}, {"a": "x", "c": 3}, [], "s"])
def test_if_then_else_agrees_with_jsonschema(value):
    schema = {"type": ["object", "array", "string"], "if": {"required": ["a"]}, "then": {"required": ["b"]},
              "else": {"not": {"required": ["c"]}}}
    assert fast_valid(schema, value) == Draft202012Validator(schema).is_valid(value)
