"""The plugin hooks beyond check types and reporters: ``register_commands`` and
``register_policy_packs``; and the boundary they make possible: the core
(``scanner/``) imports nothing from ``plugins/``, so the built-ins are plugins
like any other."""

from __future__ import annotations

import ast
import textwrap
from pathlib import Path

import pytest

from scanner.errors import PluginError
from scanner.plugin_host import load_plugins
from tests.conftest import ROOT, run_cli

POLICY = """\
apiVersion: policyscan/v1
kind: Policy
metadata: {{id: {id}, title: Packed, version: "1.0"}}
rules:
  - id: value-set
    title: Value set
    severity: high
    check:
      registry: {{key: 'HKLM\\SOFTWARE\\Pack', value: On, equals: 1}}
    remediation: Set On to 1.
"""


def _imports(py: Path) -> list[tuple[int, str]]:
    tree = ast.parse(py.read_text(encoding="utf-8"), str(py))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.lineno, node.module))
    return found


def test_the_core_imports_nothing_from_the_plugins() -> None:
    wrong = [
        f"{py.relative_to(ROOT)}:{line}: import {name}"
        for py in sorted((ROOT / "scanner").rglob("*.py"))
        for line, name in _imports(py)
        if name == "plugins" or name.startswith("plugins.")
    ]
    assert not wrong, "\n".join(wrong)


def test_the_boundary_check_sees_an_import(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text("def f():\n    from plugins.smtp import probe_cli\n", encoding="utf-8")
    assert _imports(bad) == [(2, "plugins.smtp")]


def _site(tmp_path: Path, body: str, name: str = "packplugin") -> Path:
    """A plugin installed the way pip installs one: a module and a dist-info with its entry point."""
    site = tmp_path / "site"
    (site / f"{name}-1.0.dist-info").mkdir(parents=True)
    (site / f"{name}-1.0.dist-info" / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n")
    (site / f"{name}-1.0.dist-info" / "entry_points.txt").write_text(f"[policyscan]\n{name} = {name}\n")
    (site / f"{name}.py").write_text(textwrap.dedent(body), encoding="utf-8")
    return site


PLUGIN = """\
    from pathlib import Path
    from scanner.api import Command, PolicyPack, hookimpl
    from scanner.errors import UsageError

    HERE = Path(__file__).resolve().parent

    @hookimpl
    def register_policy_packs():
        return [PolicyPack("packed", HERE / "packed", "a pack shipped by a plugin")]

    def _args(p):
        p.add_argument("--shout", action="store_true", help="say it loudly")
        p.add_argument("word", help="what to say")

    def _run(args, stdout):
        if args.word == "bad":
            raise UsageError("echo: bad is not a word")
        stdout.write((args.word.upper() if args.shout else args.word) + "\\n")
        return 1 if args.word == "finding" else 0

    @hookimpl
    def register_commands():
        return [Command("echo", "say a word back", _args, _run)]
"""


@pytest.fixture
def site(tmp_path: Path) -> Path:
    s = _site(tmp_path, PLUGIN)
    (s / "packed").mkdir()
    (s / "packed" / "packed.yaml").write_text(POLICY.format(id="packed"), encoding="utf-8")
    return s


def test_a_plugin_command_runs_with_its_options_and_exit_code(site: Path) -> None:
    ok = run_cli("echo", "--shout", "hello", pythonpath=site)
    assert (ok.returncode, ok.stdout) == (0, "HELLO\n"), ok.stderr
    finding = run_cli("echo", "finding", pythonpath=site)
    assert finding.returncode == 1
    usage = run_cli("echo", "bad", pythonpath=site)
    assert usage.returncode == 2
    assert usage.stderr.strip() == "policyscan: error: echo: bad is not a word"


def test_plugin_commands_are_in_the_help_and_the_plugin_list(site: Path) -> None:
    top = run_cli("--help", pythonpath=site)
    assert top.returncode == 0
    assert "echo" in top.stdout and "say a word back" in top.stdout
    assert "probe" in top.stdout and "fix" in top.stdout  # the built-ins' commands, from their plugins
    own = run_cli("echo", "--help", pythonpath=site)
    assert "--shout" in own.stdout and "say it loudly" in own.stdout
    listed = run_cli("plugins", pythonpath=site)
    assert "command     echo: say a word back" in listed.stdout
    assert "pack        pack:packed: a pack shipped by a plugin" in listed.stdout
    assert "command     probe:" in listed.stdout and "command     fix:" in listed.stdout


def test_a_pack_is_found_by_name(site: Path, tmp_path: Path) -> None:
    rules = run_cli("rules", "--policy", "pack:packed", pythonpath=site)
    assert rules.returncode == 0, rules.stderr
    assert "value-set" in rules.stdout
    valid = run_cli("validate", "pack:packed", pythonpath=site)
    assert valid.returncode == 0, valid.stderr
    export = tmp_path / "x.reg"
    export.write_text('Windows Registry Editor Version 5.00\r\n\r\n[HKEY_LOCAL_MACHINE\\SOFTWARE\\Pack]\r\n'
                      '"On"=dword:00000001\r\n', encoding="utf-16")
    scan = run_cli("scan", "--policy", "pack:packed", "--reg", str(export), "--target", "t", pythonpath=site)
    assert scan.returncode == 0, scan.stdout + scan.stderr


def test_an_unknown_pack_is_a_usage_error_naming_the_known_ones(site: Path) -> None:
    out = run_cli("rules", "--policy", "pack:nope", pythonpath=site)
    assert out.returncode == 2
    assert "pack:nope:1:1: no installed plugin ships this policy pack (known packs: " in out.stderr
    known = out.stderr.split("(known packs: ", 1)[1].split(")", 1)[0].split(", ")
    assert "pack:packed" in known  # and any other installed plugin's (CI installs examples/plugin-file-contains)


def test_a_plugin_may_not_take_a_built_in_command(tmp_path: Path) -> None:
    site = _site(tmp_path, """\
        from scanner.api import Command, hookimpl

        @hookimpl
        def register_commands():
            return [Command("scan", "mine", lambda p: None, lambda a, o: 0)]
    """, name="thief")
    out = run_cli("--help", pythonpath=site)
    assert out.returncode == 2
    assert "plugin 'thief' registers the command 'scan', a built-in command" in out.stderr


def test_two_plugins_with_one_command_name_stop_start_up() -> None:
    from scanner.api import Command, hookimpl

    class One:
        @hookimpl
        def register_commands(self) -> list[Command]:
            return [Command("twin", "one", lambda p: None, lambda a, o: 0)]

    class Two(One):
        pass

    with pytest.raises(PluginError, match="two plugins register the command 'twin'"):
        load_plugins({"one": One(), "two": Two()})


def test_a_hook_returning_the_wrong_object_is_refused() -> None:
    from scanner.api import hookimpl

    class Wrong:
        @hookimpl
        def register_policy_packs(self) -> list[str]:
            return ["policies/"]

    with pytest.raises(PluginError, match="not a PolicyPack"):
        load_plugins({"wrong": Wrong()})


@pytest.mark.parametrize("name", ["--version", "x y", "Scan", "help", "", "1st", "a_b"])
def test_a_command_name_must_be_one_a_command_line_can_say(name: str) -> None:
    from scanner.api import Command, hookimpl

    class Odd:
        @hookimpl
        def register_commands(self) -> list[Command]:
            return [Command(name, "odd", lambda p: None, lambda a, o: 0)]

    with pytest.raises(PluginError, match=f"plugin 'odd' registers the command {name!r}: "):
        load_plugins({"odd": Odd()})


@pytest.mark.parametrize("name", ["../x", "a/b", "x:y", "", "a..b", "Packed", ".hidden", "a b"])
def test_a_pack_name_must_be_one_pack_references_can_say(name: str) -> None:
    from scanner.api import PolicyPack, hookimpl

    class Odd:
        @hookimpl
        def register_policy_packs(self) -> list[PolicyPack]:
            return [PolicyPack(name, Path("."))]

    with pytest.raises(PluginError, match=f"plugin 'odd' registers the policy pack {name!r}: not a valid"):
        load_plugins({"odd": Odd()})


@pytest.mark.parametrize(("hook", "name"), [("register_check_types", "File-Contains"),
                                            ("register_check_types", "a-b"), ("register_reporters", "x/y"),
                                            ("register_reporters", "")])
def test_check_type_and_reporter_names_are_checked_too(hook: str, name: str) -> None:
    from scanner.api import CheckType, Reporter, hookimpl

    def make() -> list[object]:
        if hook == "register_reporters":
            return [Reporter(name, lambda *a: None)]
        return [CheckType(name, {}, lambda *a: None, "files")]  # type: ignore[arg-type]

    odd = type("Odd", (), {hook: hookimpl(lambda self: make())})()
    what = "reporter" if hook == "register_reporters" else "check type"
    with pytest.raises(PluginError, match=f"plugin 'odd' registers the {what} {name!r}: not a valid"):
        load_plugins({"odd": odd})


def test_good_names_pass_the_built_ins_and_the_example_plugin_among_them() -> None:
    from scanner.plugin_host import name_problem

    host = load_plugins()
    assert {"registry", "smtp_tls", "log_signatures"} <= set(host.check_types)
    assert {"console", "json", "junit", "sarif", "markdown", "html"} <= set(host.reporters)
    for what, name in [("check type", "file_contains"), ("check type", "line_count"), ("reporter", "explode"),
                       ("command", "echo"), ("command", "policy-test2"), ("policy pack", "file-contains-demo"),
                       ("policy pack", "cis.v1_2")]:
        assert name_problem(what, name) is None, (what, name)


def test_a_packs_tests_may_not_name_a_policy_outside_the_pack(tmp_path: Path) -> None:
    """Second black-box pass: policyscan test pack:NAME read a policy: path outside the pack."""
    site = _site(tmp_path, PLUGIN)
    (site / "packed").mkdir()
    (site / "packed" / "packed.yaml").write_text(POLICY.format(id="packed"), encoding="utf-8")
    outside = tmp_path / "outside.yaml"
    outside.write_text(POLICY.format(id="outside"), encoding="utf-8")
    (site / "packed" / "escape.test.yaml").write_text(
        f"apiVersion: policyscan/v1\nkind: PolicyTest\npolicy: {outside}\ncases:\n"
        "  - name: c\n    reg: \"Windows Registry Editor Version 5.00\\r\\n\"\n    expect: {value-set: error}\n",
        encoding="utf-8")
    out = run_cli("test", "pack:packed", pythonpath=site)
    assert out.returncode == 2, out.stdout + out.stderr
    assert "outside the pack's folder" in out.stderr
    own = run_cli("test", str(site / "packed"), pythonpath=site)  # a folder of one's own: the path is allowed
    assert "outside the pack's folder" not in own.stderr
