"""The printed JSON Schemas accept our files and reject documents that must be rejected."""

from __future__ import annotations

import copy
import json

import pytest
from jsonschema import Draft202012Validator

from scanner.yamlio import load_yaml
from tests.conftest import POLICIES, ROOT, run_cli


def schema(kind: str) -> Draft202012Validator:
    out = run_cli("schema", kind)
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    Draft202012Validator.check_schema(doc)
    return Draft202012Validator(doc)


def seed() -> dict:
    return load_yaml(POLICIES / "exchange-m365-tls12.yaml")[0][0]


def test_policy_schema_accepts_the_shipped_policies():
    v = schema("policy")
    for path in POLICIES.glob("*.yaml"):
        if path.name.endswith(".test.yaml"):  # the packs' PolicyTest files
            continue
        assert not list(v.iter_errors(load_yaml(path)[0][0])), path


def _set(doc, path, value):
    cur = doc
    for p in path[:-1]:
        cur = cur[p]
    if value is KeyError:
        del cur[path[-1]]
    else:
        cur[path[-1]] = value


@pytest.mark.parametrize(
    ("path", "value"),
    [
        (("apiVersion",), "policyscan/v2"),
        (("kind",), "Inventory"),
        (("metadata", "id"), "Not Valid"),
        (("metadata", "title"), KeyError),
        (("rules",), []),
        (("rules", 0, "severity"), "urgent"),
        (("rules", 0, "check"), {"regisry": {"key": "HKLM\\X"}}),
        (("rules", 0, "check"), {"registry": {"key": "HKLM\\X"}, "all": []}),
        (("rules", 0, "check"), {"all": []}),
        (("rules", 0, "check"), {"not": [{"registry": {"key": "HKLM\\X"}}]}),
        (("rules", 0, "check", "registry", "when_missing"), "maybe"),
        (("rules", 0, "check", "registry", "bogus"), 1),
        (("rules", 0, "remediation"), {"en": 5}),
        (("rules", 0, "applies_to"), {"labels": {"role": 1}}),
    ],
)
def test_policy_schema_rejects_broken_documents(path, value):
    doc = copy.deepcopy(seed())
    _set(doc, path, value)
    assert list(schema("policy").iter_errors(doc)), (path, value)


def test_inventory_and_waivers_schemas():
    inv = load_yaml(ROOT / "examples" / "inventory.yaml")[0][0]
    v = schema("inventory")
    assert not list(v.iter_errors(inv))
    for mutate in (
        lambda d: d["targets"][0].update(registy={"file": "x.reg"}),
        lambda d: d["targets"][0].update(registry={"file": ""}),
        lambda d: d["targets"][0].update(name="bad name!"),
        lambda d: d["targets"][0].update(labels={"role": ["a"]}),
        lambda d: d.update(targets=[]),
    ):
        bad = copy.deepcopy(inv)
        mutate(bad)
        assert list(v.iter_errors(bad))
    w = schema("waivers")
    good = {"apiVersion": "policyscan/v1", "kind": "Waivers",
            "waivers": [{"rule": "EXO-*", "reason": "r", "expires": "2026-12-31"}]}
    assert not list(w.iter_errors(good))
    for bad_waiver in ({"rule": "x", "reason": "r"}, {"rule": "x", "expires": "2026-01-01"},
                       {"rule": "x", "reason": "r", "expires": "2026-01-01", "extra": 1},
                       {"rule": "x", "reason": "r", "expires": "2026-01-01", "targets": []}):
        assert list(w.iter_errors({**good, "waivers": [bad_waiver]}))
