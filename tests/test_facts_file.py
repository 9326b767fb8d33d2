"""The facts file and snapshots in-process: judging facts touches nothing but the facts file.

- an :class:`~scanner.engine.Engine` with a snapshot judges under
  :func:`scanner.testing.no_target_access` (no file, folder, socket or process);
- ``policyscan scan --facts`` (``scanner.cli.main`` in this process) opens only the
  facts file and the policies, and creates no socket (an audit hook records it);
- :func:`~scanner.facts_file.snapshot_from_facts`: facts missing are "not collected".
"""

from __future__ import annotations

import io
import json
import shutil
import sys
import tempfile
import threading
from datetime import UTC, datetime
from pathlib import Path

import pytest

from scanner.api import RunContext, Status, Target
from scanner.cli import main
from scanner.engine import Engine
from scanner.facts_file import FactsFileError, read_snapshot, snapshot_from_facts
from scanner.loader import load_policies
from scanner.plugin_host import PluginHost, load_plugins
from scanner.testing import no_target_access
from tests.conftest import PLUGIN_SITE, POLICIES, ROOT

NOW = datetime(2026, 11, 26, 10, tzinfo=UTC)


@pytest.fixture
def collected(tmp_path: Path) -> tuple[Path, Path, Path]:
    """(facts file, policies folder, examples copy): the example fleet collected with the shipped packs."""
    policies = tmp_path / "policies"
    shutil.copytree(POLICIES, policies)
    examples = tmp_path / "examples"
    shutil.copytree(ROOT / "examples", examples, ignore=shutil.ignore_patterns("plugin-file-contains"))
    facts = tmp_path / "facts.jsonl"
    code = main(["collect", "--policy", str(policies), "--inventory", str(examples / "inventory.yaml"),
                 "--out", str(facts), "--now", "2026-11-26T10:00:00Z", "--jobs", "1"], io.StringIO())
    assert code == 0
    return facts, policies, examples


def test_an_engine_with_a_snapshot_touches_nothing(collected):
    facts, policies, examples = collected
    host = load_plugins()
    snapshot = read_snapshot(facts, host)
    pols = load_policies([str(policies)], host)
    live = Engine(pols, host.check_types, RunContext(now=NOW, jobs=1)).scan(snapshot.targets)
    shutil.rmtree(examples)
    engine = Engine(pols, host.check_types, RunContext(now=snapshot.collected_at, jobs=1), snapshot=snapshot)
    engine.scan(snapshot.targets)  # a first time: imports what judging needs
    with no_target_access() as tried:
        offline = engine.scan(snapshot.targets)
    assert tried == []
    assert offline == live
    assert {r.status for r in offline} >= {Status.PASS, Status.FAIL}


_recording: list[list[tuple[str, object]]] = []
_hooked = False


def _record(event: str, args: tuple) -> None:
    if _recording and threading.current_thread() is threading.main_thread() and (
        event == "open" or event.startswith(("socket.", "subprocess.", "os.fork", "os.exec", "os.posix_spawn"))
    ):
        _recording[-1].append((event, args[0] if args else None))


def _events_of(argv: list[str]) -> tuple[int, list[tuple[str, object]], str]:
    global _hooked
    if not _hooked:
        sys.addaudithook(_record)
        _hooked = True
    out = io.StringIO()
    _recording.append([])
    try:
        code = main(argv, out)
    finally:
        events = _recording.pop()
    return code, events, out.getvalue()


def test_scan_facts_opens_only_the_facts_file_and_the_policies(collected, capsys):
    facts, policies, examples = collected
    argv = ["scan", "--policy", str(policies), "--facts", str(facts), "--report", "json", "--jobs", "1"]
    assert main(argv, io.StringIO()) in (0, 1, 3)  # a first run imports every module it needs
    shutil.rmtree(examples)
    code, events, report = _events_of(argv)
    assert code in (0, 1, 3)
    assert json.loads(report)["results"]
    allowed = {str(facts)} | {str(p) for p in policies.iterdir()}
    opened = {str(a) for e, a in events if e == "open" and isinstance(a, (str, Path))}
    # what Python and policyscan's plumbing may read at any time: modules and their bytecode, package
    # metadata (plugin entry points), translation catalogs, and the report's own spool in the temp folder
    spool = str(Path(tempfile.gettempdir()) / "policyscan-")
    plumbing = {p for p in opened if p.endswith((".py", ".pyc", ".mo", ".so", ".zip")) or "-info" in p
                or "__editable__" in p or p.startswith(spool)}
    assert opened - plumbing <= allowed, sorted(opened - plumbing - allowed)
    assert not [p for p in opened if p.startswith(str(examples))]
    assert str(facts) in opened
    assert not [e for e, _ in events if e != "open"], events
    capsys.readouterr()


def test_snapshot_from_facts_judges_given_facts_and_errs_on_missing_ones(tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(PLUGIN_SITE))
    import policyscan_testplugin

    (ct,) = policyscan_testplugin.register_check_types()
    policy = tmp_path / "p.yaml"
    policy.write_text("apiVersion: policyscan/v1\nkind: Policy\nmetadata: {id: p, title: P, version: '1'}\n"
                      "rules:\n  - id: R\n    title: r\n    severity: high\n    check: {line_count: {max: 3}}\n")
    host = PluginHost(check_types={"line_count": ct})
    targets = [Target("a", sources={"textfile": "a.txt"}), Target("b", sources={"textfile": "b.txt"}),
               Target("c")]
    snapshot = snapshot_from_facts({("line_count", "a"): {"lines": 2, "file": "a.txt"}}, targets, NOW)
    assert snapshot.facts_for("line_count", "a") == {"lines": 2, "file": "a.txt"}
    with pytest.raises(KeyError):
        snapshot.facts_for("line_count", "b")
    engine = Engine(load_policies([str(policy)], host), host.check_types, RunContext(now=NOW, jobs=1),
                    snapshot=snapshot)
    with no_target_access() as tried:
        results = {r.target: r for r in engine.scan(targets)}
    assert tried == []
    assert results["a"].status is Status.PASS
    assert results["b"].status is Status.ERROR and "not collected" in results["b"].message
    assert results["c"].status is Status.SKIP  # no textfile source: as in a live scan


def test_read_errors_name_the_file_and_line(collected):
    facts, _, _ = collected
    lines = facts.read_bytes().splitlines(keepends=True)
    facts.write_bytes(b"".join(lines[:2]))
    with pytest.raises(FactsFileError) as err:
        read_snapshot(facts, load_plugins())
    assert err.value.line == 2 and str(err.value).startswith(f"{facts}:2: no trailer")
    facts.write_bytes(b"")
    with pytest.raises(FactsFileError, match=":1: empty"):
        read_snapshot(facts, load_plugins())
    facts.write_text('{"apiVersion": "policyscan/v1", "kind": "Inventory"}\n')
    with pytest.raises(FactsFileError, match=":1: not a policyscan facts file"):
        read_snapshot(facts, load_plugins())


def test_many_lines_are_checked_in_parallel_and_the_first_bad_one_is_named(collected, monkeypatch):
    import scanner.facts_file as facts_file

    facts, _, _ = collected
    monkeypatch.setattr(facts_file, "_PARALLEL_FROM", 1)
    host = load_plugins()
    assert len(read_snapshot(facts, host, jobs=2).entries) == 5
    lines = facts.read_text().splitlines()
    bad = json.loads(lines[3])
    bad["facts"] = {"nonsense": True}
    lines[3] = json.dumps(bad)
    facts.write_text("\n".join(lines) + "\n")
    with pytest.raises(FactsFileError, match=f"{facts}:4: .* do not match the check type's facts schema"):
        read_snapshot(facts, host, jobs=2)
