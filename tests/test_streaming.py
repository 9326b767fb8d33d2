"""A streamed scan (reports rendered batch by batch in the workers) writes what a gathered one writes."""

from __future__ import annotations

import io
import json
import random
import re
import shutil
import signal
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from scanner.api import Reporter, ReportOptions, RunContext, Target
from scanner.engine import BATCH, Engine
from scanner.exitcodes import gate, gate_counts
from scanner.loader import load_inventory, load_policies, load_waivers
from scanner.output import write_reports
from scanner.plugin_host import load_plugins
from scanner.report import Report
from scanner.reporters import json_report, junit
from scanner.streaming import can_stream, scan_streamed
from scanner.waivers import apply_waivers
from tests.conftest import POLICIES, ROOT, run_cli

NOW = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)
STARTED = datetime(2026, 11, 26, 10, 0, 5, tzinfo=UTC)
EXAMPLES = ROOT / "examples"

WAIVERS = """\
apiVersion: policyscan/v1
kind: Waivers
waivers:
  - rule: EXO-TLS12-0*
    targets: ["exch02-*"]
    reason: TLS 1.2 change booked for December
    expires: 2026-12-31
  - rule: HARD-*
    reason: hardening review lapsed
    expires: 2026-11-01
"""


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """700 targets (three batches) in shuffled order, each a copy of an example host: real
    regedit exports (UTF-16LE and REGEDIT4) and real Exchange logs, so both the forked registry
    batches and the scan-wide log reader take part."""
    where = tmp_path_factory.mktemp("fleet")
    shutil.copytree(EXAMPLES / "exports", where / "exports")
    shutil.copytree(EXAMPLES / "logs", where / "logs")
    text = (EXAMPLES / "inventory.yaml").read_text()
    hosts = re.split(r"\n(?=  - name: )", text.split("targets:\n", 1)[1])
    assert len(hosts) == 3
    names = list(range(700))
    random.Random(7).shuffle(names)
    entries = []
    for i in names:
        host = hosts[i % 3]
        old = re.search(r"name: (\S+)", host)
        assert old is not None
        entries.append(host.replace(f"name: {old.group(1)}", f"name: {old.group(1)}-{i:04d}").rstrip("\n"))
    (where / "inventory.yaml").write_text("apiVersion: policyscan/v1\nkind: Inventory\ntargets:\n" + "\n".join(entries))
    (where / "waivers.yaml").write_text(WAIVERS)
    return where


def _skeleton(policies, targets, waivers) -> Report:
    return Report.begin("9.9.9", STARTED, NOW, policies, targets, waivers)


def _loaded(fleet: Path, count: int | None = None) -> tuple[Any, list[Target], list[Any], Any, Report]:
    """The built-in plugins, the fleet's first ``count`` targets, the shipped policies, the
    waivers and the report skeleton of a run over them."""
    host = load_plugins()
    targets = load_inventory(str(fleet / "inventory.yaml"), host)[:count]
    policies = load_policies([str(POLICIES)], host)
    waivers = load_waivers(str(fleet / "waivers.yaml"))
    return host, targets, policies, waivers, _skeleton(policies, targets, waivers)


def _without_finished_at(data: bytes) -> bytes:
    return re.sub(rb'"finished_at": "[^"]*"', b'"finished_at": ""', data, count=1)


@pytest.mark.parametrize("jobs", [1, 2])
def test_streamed_reports_are_byte_identical_to_gathered_ones(fleet: Path, tmp_path: Path, jobs: int) -> None:
    host, targets, policies, waivers, skeleton = _loaded(fleet)
    run = RunContext(now=NOW, jobs=jobs)
    assert len(targets) > 2 * BATCH

    gathered = apply_waivers(Engine(policies, host.check_types, run).scan(targets), waivers, NOW)
    specs = [("json", str(tmp_path / "a" / "r.json")), ("junit", str(tmp_path / "a" / "r.xml"))]
    write_reports(replace(skeleton, results=gathered), specs, host.reporters, io.StringIO())

    streamed_specs = [("json", str(tmp_path / "b" / "r.json")), ("junit", str(tmp_path / "b" / "r.xml"))]
    assert can_stream(streamed_specs, host.reporters)
    engine = Engine(policies, host.check_types, run)
    finished, counts = scan_streamed(engine, targets, skeleton, streamed_specs, host.reporters, io.StringIO(), waivers)

    a_json, b_json = (tmp_path / "a" / "r.json").read_bytes(), (tmp_path / "b" / "r.json").read_bytes()
    assert _without_finished_at(a_json) == _without_finished_at(b_json)
    assert (tmp_path / "a" / "r.xml").read_bytes() == (tmp_path / "b" / "r.xml").read_bytes()
    assert sorted(p.name for p in (tmp_path / "b").iterdir()) == ["r.json", "r.xml"]  # no part files left

    # the run exercises what it claims to: every status, waivers both ways, results in report order
    summary = json.loads(b_json)["summary"]
    assert summary == finished.summary()
    assert all(summary[s] for s in ("pass", "fail", "error", "skip", "waived")), summary
    assert gate_counts(counts) == gate(gathered)
    keys = [(r.target, r.policy, r.rule) for r in gathered]
    assert keys == sorted(keys) and len(keys) == len(targets) * sum(len(p.rules) for p in policies)


def test_streamed_json_to_stdout_with_and_without_a_byte_buffer(fleet: Path, tmp_path: Path) -> None:
    host, targets, policies, waivers, skeleton = _loaded(fleet, 300)
    binary = io.BytesIO()
    text_with_buffer = io.TextIOWrapper(binary, encoding="utf-8")
    engine = Engine(policies, host.check_types, RunContext(now=NOW, jobs=2))
    scan_streamed(engine, targets, skeleton, [("json", None)], host.reporters, text_with_buffer, waivers)
    text_only = io.StringIO()
    engine = Engine(policies, host.check_types, RunContext(now=NOW, jobs=1))
    scan_streamed(engine, targets, replace(skeleton), [("json", None)], host.reporters, text_only, waivers)
    document = json.loads(binary.getvalue())
    assert document["summary"]["total"] == len(document["results"]) == 300 * 41
    assert json.loads(text_only.getvalue())["results"] == document["results"]


def test_a_reporter_failing_in_a_worker_replaces_no_report_and_leaves_no_parts(fleet: Path, tmp_path: Path) -> None:
    host, targets, policies, _, skeleton = _loaded(fleet)
    calls = []

    def write_results(report, rs, out):
        calls.append(1)
        if rs[0].target > "exch01-0350":
            raise RuntimeError("disk full, say")
        junit.write_suites(report, rs, out)

    boom = Reporter("boom", junit.write, stream=replace(junit.STREAM, write_results=write_results))
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    (out_dir / "r.json").write_text("the previous report")
    specs = [("json", str(out_dir / "r.json")), ("boom", str(out_dir / "r.xml"))]
    engine = Engine(policies, host.check_types, RunContext(now=NOW, jobs=2))
    with pytest.raises(RuntimeError, match="disk full, say"):
        scan_streamed(engine, targets, skeleton, specs, {**host.reporters, "boom": boom}, io.StringIO())
    assert sorted(p.name for p in out_dir.iterdir()) == ["r.json"]
    assert (out_dir / "r.json").read_text() == "the previous report"


def test_a_run_streams_when_one_of_its_reports_can() -> None:
    reporters = load_plugins().reporters
    assert reporters["json"].stream is json_report.STREAM and reporters["junit"].stream is junit.STREAM
    assert reporters["console"].stream is None
    assert can_stream([("json", "r.json"), ("junit", None)], reporters)
    assert can_stream([("json", "r.json"), ("console", None)], reporters)
    assert not can_stream([("console", None)], reporters)
    assert not can_stream([], reporters)


@pytest.mark.parametrize("jobs", [1, 2])
def test_console_beside_streamed_reports_gets_every_result(fleet: Path, tmp_path: Path, jobs: int) -> None:
    """json and junit render in the workers; console, which has no stream, is written from the
    results the workers send back: the same text as from a gathered scan, same files too."""
    from scanner.reporters import console

    host, targets, policies, waivers, skeleton = _loaded(fleet)
    run = RunContext(now=NOW, jobs=jobs)

    gathered = apply_waivers(Engine(policies, host.check_types, run).scan(targets), waivers, NOW)
    expected_console = io.StringIO()
    console.write(replace(skeleton, results=gathered), expected_console, ReportOptions())

    stdout = io.StringIO()
    specs = [("json", str(tmp_path / "r.json")), ("console", None)]
    engine = Engine(policies, host.check_types, run)
    finished, counts = scan_streamed(engine, targets, skeleton, specs, host.reporters, stdout, waivers)
    assert stdout.getvalue() == expected_console.getvalue()
    assert list(finished.results) == gathered
    assert json.loads((tmp_path / "r.json").read_text())["results"] == [r.to_json() for r in gathered]
    assert gate_counts(counts) == gate(gathered)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.json"]


def test_cli_streamed_and_gathered_runs_agree(fleet: Path, tmp_path: Path) -> None:
    """json+junit alone never gather results; with ``--report console`` the workers send them back
    for the console too. The files are the same either way."""
    common = ["scan", "--policy", str(POLICIES), "--inventory", str(fleet / "inventory.yaml"),
              "--waivers", str(fleet / "waivers.yaml"), "--now", "2026-11-26T10:00:00Z"]
    a = run_cli(*common, "--report", f"json={tmp_path / 'a.json'}", "--report", f"junit={tmp_path / 'a.xml'}")
    b = run_cli(*common, "--report", f"json={tmp_path / 'b.json'}", "--report", f"junit={tmp_path / 'b.xml'}",
                "--report", "console")
    assert a.returncode == b.returncode == 1, a.stderr + b.stderr
    ja, jb = (json.loads((tmp_path / n).read_text()) for n in ("a.json", "b.json"))
    for doc in (ja, jb):
        del doc["started_at"], doc["finished_at"]
    assert ja == jb
    stamp = re.compile(rb'timestamp="[^"]*"')
    xa, xb = (stamp.sub(b"", (tmp_path / n).read_bytes()) for n in ("a.xml", "b.xml"))
    assert xa == xb


def test_an_empty_run_streams_an_empty_document(tmp_path: Path) -> None:
    host = load_plugins()
    policies = load_policies([str(POLICIES)], host)
    targets: list[Target] = []
    skeleton = _skeleton(policies, targets, None)
    specs = [("json", str(tmp_path / "r.json")), ("junit", str(tmp_path / "r.xml"))]
    engine = Engine(policies, host.check_types, RunContext(now=NOW))
    finished, counts = scan_streamed(engine, targets, skeleton, specs, host.reporters, io.StringIO())
    assert (tmp_path / "r.json").read_bytes() == json_report.render(finished.to_json())
    gathered = io.StringIO()
    junit.write(finished, gathered, ReportOptions())
    assert (tmp_path / "r.xml").read_text() == gathered.getvalue()
    assert not counts


@pytest.mark.parametrize("kernel_copy", [True, False])
def test_parts_are_appended_whole_by_the_kernel_or_by_hand(tmp_path: Path, monkeypatch, kernel_copy: bool) -> None:
    """copy_file_range where the kernel can; read/write when it refuses (a pipe, another file system)."""
    import errno
    import os

    from scanner import streaming

    if not kernel_copy:
        def refuse(*_args, **_kwargs):
            raise OSError(errno.EXDEV, "Invalid cross-device link")

        monkeypatch.setattr(os, "copy_file_range", refuse, raising=False)
    data = bytes(range(256)) * 9000  # 2.3 MB: several copy calls and read blocks
    (tmp_path / "part").write_bytes(data)
    dest = tmp_path / "dest"
    with open(dest, "wb") as out:
        out.write(b"head")
        out.flush()
        with open(tmp_path / "part", "rb") as src:
            streaming._copy_to_fd(src, out.fileno())
        out.write(b"tail")
    assert dest.read_bytes() == b"head" + data + b"tail"


SLOW_SCAN = '''
import dataclasses, os, sys, time
from datetime import UTC, datetime
from pathlib import Path

from scanner.api import CheckType, Outcome, RunContext, Status, Target, hookimpl
from scanner.engine import Engine
from scanner.loader import load_policies
from scanner.plugin_host import load_plugins
from scanner.report import Report
from scanner.streaming import scan_streamed

class Slow:
    def collect(self, requests, ctx):
        os.write(1, b"collecting\\n")  # one write: two workers may start at once, and print() writes twice
        time.sleep(30)  # long enough to be interrupted in the middle of a batch
        for r in requests:
            yield r.target.name, {}

    def evaluate(self, params, facts, ctx):
        return Outcome(Status.PASS, "fine")

class Plugin:
    @staticmethod
    @hookimpl
    def register_check_types():
        return [CheckType(name="slow", schema={"type": "object"}, collector=Slow(), source="slow",
                          process_parallel=True)]

out = Path(sys.argv[1])
(out / "p.yaml").write_text("apiVersion: policyscan/v1\\nkind: Policy\\nmetadata: {id: p, title: t, version: '1'}\\n"
                            "rules:\\n  - {id: R, title: t, severity: low, check: {slow: {}}}\\n")
if sys.argv[2] == "cli":  # the real command, with the slow check type added to the built-ins
    import scanner.plugin_host
    from scanner import cli

    builtin = scanner.plugin_host.load_plugins
    scanner.plugin_host.load_plugins = lambda extra=None: builtin({"slow": Plugin})
    (out / "inv.yaml").write_text("apiVersion: policyscan/v1\\nkind: Inventory\\ntargets:\\n"
                                  + "".join(f"  - {{name: t{i:04d}, slow: x}}\\n" for i in range(600)))
    sys.exit(cli.main(["scan", "--policy", str(out / "p.yaml"), "--inventory", str(out / "inv.yaml"),
                       "--report", f"json={out / 'r.json'}", "--report", f"junit={out / 'r.xml'}"]))
host = load_plugins({"slow": Plugin})
policies = load_policies([str(out / "p.yaml")], host)
targets = [Target(f"t{i:04d}", sources={"slow": "x"}) for i in range(600)]
now = datetime(2026, 11, 26, tzinfo=UTC)
report = Report.begin("0", now, now, policies, targets)
try:
    scan_streamed(Engine(policies, host.check_types, RunContext(now=now, jobs=2)), targets, report,
                  [("json", str(out / "r.json")), ("junit", str(out / "r.xml"))], host.reporters, sys.stdout)
except KeyboardInterrupt:
    print("interrupted", file=sys.stderr)
    sys.exit(130)
'''


def _interrupt(tmp_path: Path, mode: str, signum: int, group: bool) -> tuple[int, str]:
    """Run SLOW_SCAN, wait until a worker is inside its batch, send ``signum``; return exit status and stderr."""
    import os
    import subprocess
    import sys

    (tmp_path / "slow_scan.py").write_text(SLOW_SCAN)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, str(tmp_path / "slow_scan.py"), str(tmp_path), mode],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, start_new_session=True)
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline() == "collecting\n"  # a worker is inside its batch
        if group:
            os.killpg(proc.pid, signum)  # as a terminal's Ctrl-C does: every process of the group
        else:
            os.kill(proc.pid, signum)  # as a CI runner cancelling the job does
        _, err = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    return proc.returncode, err


def test_ctrl_c_stops_the_workers_quietly_and_leaves_no_parts(tmp_path: Path) -> None:
    """Ctrl-C reaches the whole process group: the parent stops the scan; the workers ignore it
    and are terminated with the pool, so no traceback per worker, and no part folder is left."""
    code, err = _interrupt(tmp_path, "streamed", signal.SIGINT, group=True)
    assert code == 130, err
    assert err == "interrupted\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["p.yaml", "slow_scan.py"]


def test_sigterm_to_policyscan_cleans_up_and_exits_143(tmp_path: Path) -> None:
    """A cancelled CI job: SIGTERM to the policyscan process alone unwinds the scan like Ctrl-C,
    so no hidden part folder (hundreds of MB on a fleet) stays in the workspace."""
    code, err = _interrupt(tmp_path, "cli", signal.SIGTERM, group=False)
    assert code == 143, err
    assert "Traceback" not in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["inv.yaml", "p.yaml", "slow_scan.py"]


def test_a_worker_that_dies_stops_the_scan_instead_of_hanging(tmp_path: Path) -> None:
    """multiprocessing.Pool replaced a dead worker and waited forever for its batch (or blocked every
    other worker on the queue lock it died holding); the engine's process pool notices the lost worker
    and stops with an error, so a CI job never hangs on it."""
    import os
    import subprocess
    import sys

    (tmp_path / "slow_scan.py").write_text(SLOW_SCAN)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, str(tmp_path / "slow_scan.py"), str(tmp_path), "streamed"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, start_new_session=True)
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline() == "collecting\n"  # a worker is inside its batch
        children = Path(f"/proc/{proc.pid}/task/{proc.pid}/children").read_text().split()
        assert children
        os.kill(int(children[0]), signal.SIGKILL)
        _, err = proc.communicate(timeout=25)  # without the watch: forever (the batches sleep 30 s)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert proc.returncode != 0
    assert "WorkerLost: a scan worker ended while holding a batch" in err, err
