"""The plugin host: entry-point discovery, collisions, the exact set of built-ins."""

from __future__ import annotations

import json

import pytest

from scanner.errors import PluginError
from scanner.plugin_host import load_plugins
from tests.conftest import DATA, PLUGIN_SITE, run_cli

BUILTIN_PLUGINS = {"registry", "smtp", "logs", "console", "json", "junit", "html", "sarif", "markdown"}
BUILTIN_CHECK_TYPES = {"registry", "smtp_tls", "log_signatures"}
BUILTIN_REPORTERS = {"console", "json", "junit", "html", "sarif", "markdown"}


def test_exact_set_of_builtin_plugins():
    """A stale or partial install (a missing or extra entry point) fails here loudly."""
    host = load_plugins()
    ours = {name for name, info in host.plugins.items() if info.distribution == "policyscan"}
    assert ours == BUILTIN_PLUGINS
    assert {n for n, owner in host.check_type_owner.items() if owner in BUILTIN_PLUGINS} == BUILTIN_CHECK_TYPES
    assert {n for n, owner in host.reporter_owner.items() if owner in BUILTIN_PLUGINS} == BUILTIN_REPORTERS
    for name in BUILTIN_PLUGINS:
        assert host.plugins[name].distribution == "policyscan"


def test_third_party_plugin_is_found_through_its_entry_point(monkeypatch):
    monkeypatch.syspath_prepend(str(PLUGIN_SITE))
    host = load_plugins()
    info = host.plugins["linecount"]
    assert (info.distribution, info.version) == ("policyscan-testplugin", "1.0")
    assert info.check_types == ("line_count",)
    assert info.reporters == ("explode",)


def test_entry_point_name_collision_names_both(monkeypatch):
    monkeypatch.syspath_prepend(str(DATA / "dup_entry_point"))
    with pytest.raises(PluginError) as info:
        load_plugins()
    text = str(info.value)
    assert "entry-point name 'registry'" in text
    assert "policyscan-dupe 0.1" in text and "'plugins.registry' from policyscan" in text


def test_check_type_collision_names_both(monkeypatch):
    monkeypatch.syspath_prepend(str(DATA / "dup_check_type"))
    with pytest.raises(PluginError) as info:
        load_plugins()
    assert "two plugins register the check type 'registry': " in str(info.value)
    assert "'dupetype'" in str(info.value) and "'registry'" in str(info.value)


def test_reporter_collision_and_bad_returns():
    class Dup:
        @staticmethod
        def register_reporters():
            from scanner.api import Reporter

            return [Reporter(name="json", write=lambda *a: None)]

    with pytest.raises(PluginError, match="two plugins register the reporter 'json': 'json' and 'dup'"):
        load_plugins({"dup": _hookimpls(Dup)})

    class Wrong:
        @staticmethod
        def register_check_types():
            return "registry"

    with pytest.raises(PluginError, match="must return a list"):
        load_plugins({"wrong": _hookimpls(Wrong)})


def test_hook_typo_is_rejected():
    class Typo:
        @staticmethod
        def register_check_type():  # missing "s"
            return []

    with pytest.raises(PluginError, match="unknown hook"):
        load_plugins({"typo": _hookimpls(Typo)})


def _hookimpls(cls):
    from scanner.api import hookimpl

    class Plugin:
        pass

    for name in dir(cls):
        if name.startswith("register"):
            setattr(Plugin, name, staticmethod(hookimpl(getattr(cls, name))))
    return Plugin


def test_cli_plugins_lists_and_start_up_collisions_exit_2():
    out = run_cli("plugins", pythonpath=PLUGIN_SITE)
    assert out.returncode == 0
    assert "linecount  (policyscan_testplugin, policyscan-testplugin 1.0)" in out.stdout
    assert "check type  line_count: Counts the lines of a text file (test plugin)" in out.stdout
    bad = run_cli("plugins", pythonpath=DATA / "dup_entry_point")
    assert bad.returncode == 2
    assert "two plugins claim the entry-point name 'registry'" in bad.stderr


def test_printed_policy_schema_has_every_loaded_check_type():
    out = run_cli("schema", "policy", pythonpath=PLUGIN_SITE)
    schema = json.loads(out.stdout)
    defs = schema["$defs"]
    for name in (*BUILTIN_CHECK_TYPES, "line_count"):
        assert f"check_type.{name}" in defs
    assert defs["check_type.line_count"]["properties"]["max"] == {
        "anyOf": [{"type": "integer", "minimum": 0}, {"$ref": "#/$defs/input_ref"}]
    }
