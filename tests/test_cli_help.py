"""``--help`` explains every command and option, and lists what the loaded plugins offer."""

from __future__ import annotations

import argparse

import pytest

from scanner import cli
from scanner.plugin_host import load_plugins
from tests.conftest import PLUGIN_SITE, run_cli


def _subparsers() -> dict[str, argparse.ArgumentParser]:
    parser = cli._parser(load_plugins(reserved_commands=cli.COMMANDS))
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return dict(sub.choices)


def test_every_option_of_every_command_is_described() -> None:
    subs = _subparsers()
    assert {"scan", "collect", "test", "validate", "rules", "plugins", "schema", "diff", "probe", "fix"} <= set(subs)
    bare = [
        f"{name} {'/'.join(a.option_strings) or a.dest}"
        for name, sp in subs.items()
        for a in sp._actions
        if not isinstance(a, argparse._HelpAction) and not (a.help or "").strip()
    ]
    assert not bare, f"options without help: {bare}"


def test_every_command_is_described_in_the_top_level_help() -> None:
    out = run_cli("--help")
    assert out.returncode == 0
    for name in _subparsers():  # a long name (a plugin's file-contains) has its help on the next line
        assert f"    {name} " in out.stdout or f"    {name}\n" in out.stdout, name


@pytest.mark.parametrize("command", ["scan", "collect"])
def test_scan_help_lists_formats_kinds_and_check_types_of_the_loaded_plugins(command: str) -> None:
    out = run_cli(command, "--help", pythonpath=PLUGIN_SITE)
    assert out.returncode == 0, out.stderr
    text = " ".join(out.stdout.split())
    assert "smtp_send, smtp_receive, message_tracking, queue, text" in text  # the logs plugin's kinds
    if command == "scan":
        assert "formats: console, explode, html, json, junit, markdown, sarif" in text  # explode: the test plugin's
        assert "line_count" in text and "registry" in text and "smtp_tls" in text  # check types
        assert "available: en, es" in text


def test_defaults_are_given() -> None:
    probe = " ".join(run_cli("probe", "--help").stdout.split())
    assert "(default: 10)" in probe
    scan = " ".join(run_cli("scan", "--help").stdout.split())
    assert "lowest severity that fails the gate (default: low)" in scan


def test_the_test_commands_formats_are_the_runners_own() -> None:
    from scanner.policytest_cmd import REPORT_FORMATS

    assert tuple(REPORT_FORMATS) == cli.TEST_FORMATS


def test_version_is_fast_and_plain() -> None:
    out = run_cli("--version")
    assert out.returncode == 0 and out.stdout.startswith("policyscan ") and out.stderr == ""
