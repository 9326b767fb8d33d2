"""The JSON Schemas shipped in schemas/ for editors (README "Editor support").

* every property and definition of every schema has a description (editors show it on completion);
* the committed files are what ``policyscan schema --write schemas --builtin`` generates now;
* every shipped policy pack, policy test and example YAML file names its schema in a
  yaml-language-server modeline and validates against it;
* the example plugin (examples/plugin-file-contains) ships the policy schema with its check type
  (and the PolicyTest schema) in its own schemas/, which its pack's modelines name, kept up to date.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from scanner import schema_files
from scanner.cli import SCHEMA_KINDS
from scanner.schemas import DIALECT
from scanner.yamlio import load_yaml
from tests.conftest import PLUGIN_SITE, POLICIES, ROOT, run_cli

SHIPPED = ROOT / schema_files.SHIPPED_DIR
PLUGIN = ROOT / "examples" / "plugin-file-contains"
#: the example plugin's own schema files (policyscan schema --write schemas KIND, from PLUGIN)
PLUGIN_SCHEMAS = PLUGIN / "schemas"
PLUGIN_KINDS = ("policy", "test")
MODELINE = re.compile(r"^# yaml-language-server: \$schema=(\S+)\s*$")
#: a file's ``kind`` -> the schema kind it is written against
FILE_KINDS = {"Policy": "policy", "Inventory": "inventory", "Waivers": "waivers", "PolicyTest": "test"}
#: keywords whose subschemas are conditions or constraints, not declarations an editor completes
_NOT_DECLARING = ("if", "not", "const", "enum", "default", "examples", "propertyNames")


def undocumented(schema: Any) -> list[str]:
    """JSON pointers of the properties and definitions (and the root) that lack a description."""
    missing: list[str] = []

    def walk(node: Any, where: str, declared: bool) -> None:
        if isinstance(node, list):
            for i, item in enumerate(node):
                walk(item, f"{where}/{i}", False)
            return
        if not isinstance(node, Mapping):
            return
        if declared and not (isinstance(node.get("description"), str) and node["description"].strip()):
            missing.append(where or "#")
        for key, value in node.items():
            if key in ("properties", "patternProperties", "$defs", "definitions") and isinstance(value, Mapping):
                for name, sub in value.items():
                    walk(sub, f"{where}/{key}/{name}", True)
            elif key == "dependentSchemas" and isinstance(value, Mapping):
                for name, sub in value.items():
                    walk(sub, f"{where}/{key}/{name}", False)
            elif key not in _NOT_DECLARING:
                walk(value, f"{where}/{key}", False)

    walk(schema, "", True)
    return missing


@pytest.fixture(scope="module")
def builtin_types():
    return schema_files.loaded_check_types(builtin=True)


@pytest.fixture(scope="module")
def generated(builtin_types):
    return {kind: schema_files.KINDS[kind](builtin_types) for kind in schema_files.KINDS}


def test_the_walker_finds_a_property_without_a_description():
    schema = {
        "description": "root",
        "properties": {
            "ok": {"description": "fine", "type": "string"},
            "bare": {"type": "string"},
            "list": {
                "description": "a list",
                "items": {"properties": {"deep": {"anyOf": [{"properties": {"deeper": {"type": "integer"}}}]}}},
            },
            "cond": {"description": "x", "if": {"properties": {"a": {"const": 1}}}, "not": {"properties": {"b": {}}}},
        },
        "$defs": {"nameless": {"type": "object"}, "named": {"description": "y"}},
    }
    assert undocumented(schema) == [
        "/properties/bare",
        "/properties/list/items/properties/deep",
        "/properties/list/items/properties/deep/anyOf/0/properties/deeper",
        "/$defs/nameless",
    ]
    assert undocumented({"type": "object"}) == ["#"]
    assert undocumented({"description": "  ", "properties": {}}) == ["#"]


@pytest.mark.parametrize("kind", sorted(schema_files.KINDS))
def test_every_property_has_a_description(generated, kind):
    assert undocumented(generated[kind]) == [], f"{kind} schema: properties without a description"


def test_every_builtin_check_type_documents_its_parameters_and_source(builtin_types):
    assert {"registry", "smtp_tls", "log_signatures"} <= set(builtin_types)
    for name, ct in builtin_types.items():
        assert ct.description, name
        assert undocumented({"description": ct.description, **ct.schema}) == [], name
        if ct.source_schema is not None:
            assert undocumented(dict(ct.source_schema)) == [], f"{name}: source {ct.source}"


def test_the_shipped_files_are_up_to_date(builtin_types):
    stale = schema_files.stale(SHIPPED, builtin_types)
    assert not stale, f"{', '.join(stale)} in {SHIPPED} out of date: run `{schema_files.REGENERATE}`"
    assert sorted(p.name for p in SHIPPED.glob("*.json")) == sorted(map(schema_files.file_name, schema_files.KINDS))


@pytest.mark.parametrize("kind", sorted(schema_files.KINDS))
def test_each_file_is_a_draft_2020_12_schema_with_an_id(kind):
    schema = json.loads((SHIPPED / schema_files.file_name(kind)).read_text(encoding="utf-8"))
    assert schema["$schema"] == DIALECT
    assert isinstance(schema.get("$id"), str) and schema["$id"]
    assert schema.get("title")
    Draft202012Validator.check_schema(schema)


def test_the_ids_are_distinct():
    ids = [json.loads(p.read_text(encoding="utf-8"))["$id"] for p in SHIPPED.glob("*.json")]
    assert len(ids) == len(set(ids))


def test_every_kind_with_a_file_is_a_cli_kind():
    assert set(schema_files.KINDS) <= set(SCHEMA_KINDS)


def test_the_write_command_regenerates_the_shipped_files(tmp_path):
    out = run_cli("schema", "--write", str(tmp_path / "s"), "--builtin")
    assert out.returncode == 0, out.stderr
    assert sorted(p.name for p in (tmp_path / "s").iterdir()) == sorted(p.name for p in SHIPPED.glob("*.json"))
    for path in (tmp_path / "s").iterdir():
        assert path.read_text(encoding="utf-8") == (SHIPPED / path.name).read_text(encoding="utf-8"), path.name
    names = map(schema_files.file_name, schema_files.KINDS)
    assert out.stdout.splitlines() == [f"wrote {tmp_path / 's' / name}" for name in names]


def test_the_write_command_includes_third_party_check_types_unless_builtin(tmp_path):
    """Users of a third-party plugin write their own files; --builtin leaves the plugin out."""
    for flags, present in (((), True), (("--builtin",), False)):
        where = tmp_path / str(present)
        out = run_cli("schema", "policy", "--write", str(where), *flags, pythonpath=PLUGIN_SITE)
        assert out.returncode == 0, out.stderr
        assert [p.name for p in where.iterdir()] == ["policy.json"]
        defs = json.loads((where / "policy.json").read_text(encoding="utf-8"))["$defs"]
        assert ("check_type.line_count" in defs) is present


def test_schema_without_a_kind_or_write_is_a_usage_error():
    out = run_cli("schema")
    assert out.returncode == 2
    assert "--write DIR" in out.stderr


def _shipped_yaml() -> list[Path]:
    """Policy packs, their tests and examples (the example plugin's pack names the plugin's own files)."""
    return sorted([*POLICIES.glob("*.yaml"), *(ROOT / "examples").glob("*.yaml")])


def _plugin_yaml() -> list[Path]:
    return sorted((PLUGIN / "policyscan_file_contains" / "policies").glob("*.yaml"))


def _names_its_schema_and_validates(path: Path, schemas: Path) -> None:
    """``path`` starts with a modeline naming, by a relative path, ``schemas/KIND.json`` for its kind,
    and validates against that file."""
    doc = load_yaml(path)[0][0]
    kind = FILE_KINDS.get(doc.get("kind"))
    assert kind is not None, f"{path}: unknown kind {doc.get('kind')!r}"
    first = path.read_text(encoding="utf-8").splitlines()[0]
    m = MODELINE.match(first)
    assert m, f"{path}: first line should be '# yaml-language-server: $schema=<relative path to schemas/{kind}.json>'"
    target = (path.parent / m.group(1)).resolve()
    assert not Path(m.group(1)).is_absolute() and "://" not in m.group(1), "a relative path works from any clone"
    assert target == schemas / schema_files.file_name(kind), f"{path}: {m.group(1)} is not {schemas}/{kind}.json"
    schema = json.loads(target.read_text(encoding="utf-8"))
    errors = sorted(Draft202012Validator(schema).iter_errors(doc), key=lambda e: list(map(str, e.absolute_path)))
    assert not errors, [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in errors]


@pytest.mark.parametrize("path", _shipped_yaml(), ids=lambda p: str(p.relative_to(ROOT)))
def test_shipped_yaml_names_its_schema_and_validates(path):
    _names_its_schema_and_validates(path, SHIPPED)


def test_the_policy_tests_are_checked_against_the_test_schema():
    tests = [p for p in _shipped_yaml() if p.name.endswith(".test.yaml")]
    assert tests and all(load_yaml(p)[0][0]["kind"] == "PolicyTest" for p in tests)


@pytest.mark.parametrize("path", _plugin_yaml(), ids=lambda p: str(p.relative_to(ROOT)))
def test_the_example_plugins_pack_names_the_plugins_schemas_and_validates(path):
    """The plugin's check type is not in the shipped policy schema: its pack names the plugin's own files."""
    _names_its_schema_and_validates(path, PLUGIN_SCHEMAS)


def test_the_example_plugin_ships_its_pack_and_its_schemas():
    assert {p.name for p in _plugin_yaml()} == {"file-contains-demo.yaml", "file-contains-demo.test.yaml"}
    assert sorted(p.name for p in PLUGIN_SCHEMAS.iterdir()) == sorted(map(schema_files.file_name, PLUGIN_KINDS))
    assert "policyscan schema --write schemas policy" in (PLUGIN / "README.md").read_text(encoding="utf-8")


def test_the_example_plugins_schemas_are_up_to_date(builtin_types):
    """What ``policyscan schema --write schemas KIND`` writes in the plugin's folder, with the plugin installed
    (and no other third-party plugin): policyscan's check types and the plugin's."""
    try:
        import policyscan_file_contains as plugin
    except ImportError:  # pragma: no cover - depends on the environment
        if os.environ.get("CI"):
            raise AssertionError("the example plugin is not installed: .ci/run must "
                                 "`pip install ./examples/plugin-file-contains`") from None
        pytest.skip("the example plugin is not installed: pip install ./examples/plugin-file-contains")
    types = {**builtin_types, **{ct.name: ct for ct in plugin.register_check_types()}}
    assert "file_contains" in types
    for name, text in schema_files.generate(types, PLUGIN_KINDS).items():
        path = PLUGIN_SCHEMAS / name
        assert path.is_file() and path.read_text(encoding="utf-8") == text, (
            f"{path} out of date: with the plugin installed, run `policyscan schema --write schemas "
            f"{name.removesuffix('.json')}` in {PLUGIN}"
        )
    assert "check_type.file_contains" in json.loads((PLUGIN_SCHEMAS / "policy.json").read_text("utf-8"))["$defs"]
