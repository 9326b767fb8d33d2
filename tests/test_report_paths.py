"""Report paths that are not plain files (SPEC §2 ``--report FORMAT=PATH``), through the real CLI.

Only a regular file (or a new path) is replaced by rename, through a symlink to
the file it names; a FIFO, a character device, a socket or one of our own
descriptors is written straight through and stays what it was. Each case runs
for the gathered path (``console``: rendered in the parent) and the streamed
path (``json``: rendered in workers, more than one batch, ``--jobs 2``).

The null device is a private node made with ``mknod`` (the same device as
``/dev/null``) when we may, so that a regression destroys a node in a temporary
folder rather than the machine's ``/dev/null``; without the privilege the test
uses ``/dev/null`` itself (a regression then fails to rename over it instead).
"""

from __future__ import annotations

import json
import os
import select
import socket
import stat
import subprocess
import threading
import time
from pathlib import Path

import pytest

from scanner.output import ReportSpecError, check_report_paths, check_report_specs
from scanner.plugin_host import load_plugins
from tests.conftest import POLICIES, ROOT, run_cli
from tests.test_streaming import fleet  # noqa: F401  (the 700-target fleet fixture)

EXPORTS = ROOT / "examples" / "exports"
NOW = "2026-11-26T10:00:00Z"


def _one_host(report: str, *extra: str) -> subprocess.CompletedProcess[str]:
    """A gathered scan: one target from real exports, a console report (no stream)."""
    return run_cli("scan", "--policy", str(POLICIES), "--reg", str(EXPORTS / "exch02-schannel.reg"),
                   "--reg", str(EXPORTS / "exch02-dotnet.reg"), "--now", NOW, "--report", report, *extra)


def _fleet(fleet_dir: Path, report: str, count: int = 300) -> subprocess.CompletedProcess[str]:
    """A streamed scan: ``count`` targets (more than one batch) in two workers, a json report."""
    lines = (fleet_dir / "inventory.yaml").read_text().splitlines(keepends=True)
    starts = [i for i, line in enumerate(lines) if line.startswith("  - name: ")]
    head = lines[: starts[count]] if count < len(starts) else lines
    inventory = fleet_dir / f"inventory-{count}.yaml"
    inventory.write_text("".join(head))
    return run_cli("scan", "--policy", str(POLICIES), "--inventory", str(inventory), "--now", NOW,
                   "--jobs", "2", "--report", report, timeout=120)


class _FifoReader(threading.Thread):
    """Reads a FIFO until its writer closes it, or gives up at the deadline (never blocks the test)."""

    def __init__(self, path: Path, seconds: float = 90) -> None:
        super().__init__(daemon=True)
        self.path, self.deadline, self.data = path, time.monotonic() + seconds, bytearray()

    def run(self) -> None:
        fd = os.open(self.path, os.O_RDONLY | os.O_NONBLOCK)  # returns at once, writer or not
        try:
            while time.monotonic() < self.deadline:
                ready, _, _ = select.select([fd], [], [], 0.1)
                if not ready:
                    continue
                chunk = os.read(fd, 1 << 16)
                if chunk:
                    self.data += chunk
                elif self.data:  # end of file after the writer wrote and closed
                    return
                else:  # no writer yet
                    time.sleep(0.05)
        finally:
            os.close(fd)


@pytest.fixture
def null_device(tmp_path: Path) -> Path:
    node = tmp_path / "null"
    try:
        os.mknod(node, stat.S_IFCHR | 0o666, os.makedev(1, 3))
        with open(node, "wb") as f:  # a node we may not use (nodev mount) is no null device
            f.write(b"x")
    except OSError:
        node.unlink(missing_ok=True)
        return Path(os.devnull)
    return node


def _no_leftovers(folder: Path, *expected: str) -> None:
    assert sorted(p.name for p in folder.iterdir()) == sorted(expected)


# ------------------------------------------------------------------------------------------ gathered (console)


def test_a_fifo_gets_the_console_report_and_stays_a_fifo(tmp_path: Path) -> None:
    fifo = tmp_path / "report.fifo"
    os.mkfifo(fifo)
    reader = _FifoReader(fifo)
    reader.start()
    out = _one_host(f"console={fifo}")
    reader.join(100)
    assert out.returncode == 1, out.stderr
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)
    assert b"EXO-TLS12-001" in reader.data
    _no_leftovers(tmp_path, "report.fifo")


def test_the_null_device_stays_a_device(null_device: Path, tmp_path: Path) -> None:
    out = _one_host(f"console={null_device}")
    assert out.returncode == 1, out.stderr
    assert stat.S_ISCHR(os.lstat(null_device).st_mode)
    assert not [p for p in null_device.parent.iterdir() if p.name.startswith(".null.")]


def test_a_symlink_stays_a_link_and_its_target_gets_the_report(tmp_path: Path) -> None:
    (tmp_path / "real").mkdir()
    target = tmp_path / "real" / "console.txt"
    target.write_text("an old report\n")
    link = tmp_path / "latest.txt"
    link.symlink_to(target)
    out = _one_host(f"console={link}")
    assert out.returncode == 1, out.stderr
    assert link.is_symlink() and link.resolve() == target
    assert "EXO-TLS12-001" in target.read_text()
    _no_leftovers(tmp_path / "real", "console.txt")
    _no_leftovers(tmp_path, "real", "latest.txt")


def test_a_dangling_symlink_gets_its_target_created(tmp_path: Path) -> None:
    link = tmp_path / "latest.txt"
    link.symlink_to(tmp_path / "new" / "console.txt")
    out = _one_host(f"console={link}")
    assert out.returncode == 1, out.stderr
    assert link.is_symlink()
    assert "EXO-TLS12-001" in (tmp_path / "new" / "console.txt").read_text()


def test_dev_stdout_gets_the_report_and_stays_a_link() -> None:
    """In a subprocess, whose stdout is a pipe: the report arrives on it, and ``/dev/stdout``
    (a link to ``/proc/self/fd/1`` shared by the whole container) is still a link afterwards."""
    out = _one_host("console=/dev/stdout")
    assert out.returncode == 1, out.stderr
    assert "EXO-TLS12-001" in out.stdout
    assert os.path.islink("/dev/stdout")


def test_a_private_link_to_our_stdout_writes_to_stdout(tmp_path: Path) -> None:
    link = tmp_path / "out"
    link.symlink_to("/proc/self/fd/1")
    out = _one_host(f"console={link}")
    assert out.returncode == 1, out.stderr
    assert "EXO-TLS12-001" in out.stdout
    assert link.is_symlink() and os.readlink(link) == "/proc/self/fd/1"
    _no_leftovers(tmp_path, "out")


def test_a_unix_socket_gets_the_report(tmp_path: Path) -> None:
    path = tmp_path / "report.sock"
    got = bytearray()
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as server:
        server.bind(str(path))
        server.listen(1)
        server.settimeout(90)

        def serve() -> None:
            conn, _ = server.accept()
            with conn:
                while chunk := conn.recv(1 << 16):
                    got.extend(chunk)

        t = threading.Thread(target=serve, daemon=True)
        t.start()
        out = _one_host(f"console={path}")
        t.join(30)
    assert out.returncode == 1, out.stderr
    assert b"EXO-TLS12-001" in got
    assert stat.S_ISSOCK(os.lstat(path).st_mode)


# ------------------------------------------------------------------------------------------ streamed (json)


def test_streamed_json_into_a_fifo(fleet: Path, tmp_path: Path) -> None:  # noqa: F811
    fifo = tmp_path / "report.fifo"
    os.mkfifo(fifo)
    reader = _FifoReader(fifo)
    reader.start()
    out = _fleet(fleet, f"json={fifo}")
    reader.join(100)
    assert out.returncode == 1, out.stderr
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)
    document = json.loads(bytes(reader.data))
    assert document["summary"]["total"] == len(document["results"]) > 256
    _no_leftovers(tmp_path, "report.fifo")


def test_streamed_json_into_the_null_device(fleet: Path, null_device: Path) -> None:  # noqa: F811
    out = _fleet(fleet, f"json={null_device}")
    assert out.returncode == 1, out.stderr
    assert stat.S_ISCHR(os.lstat(null_device).st_mode)
    assert not [p for p in null_device.parent.iterdir() if p.name.startswith(".null.")]


def test_streamed_json_through_a_symlink(fleet: Path, tmp_path: Path) -> None:  # noqa: F811
    (tmp_path / "real").mkdir()
    target = tmp_path / "real" / "report.json"
    target.write_text("{}")
    link = tmp_path / "report.json"
    link.symlink_to(target)
    out = _fleet(fleet, f"json={link}")
    assert out.returncode == 1, out.stderr
    assert link.is_symlink() and link.resolve() == target
    assert json.loads(target.read_text())["summary"]["total"] > 256
    _no_leftovers(tmp_path / "real", "report.json")
    _no_leftovers(tmp_path, "real", "report.json")


def test_streamed_json_to_dev_stdout(fleet: Path) -> None:  # noqa: F811
    out = _fleet(fleet, "json=/dev/stdout")
    assert out.returncode == 1, out.stderr
    assert json.loads(out.stdout)["summary"]["total"] > 256
    assert os.path.islink("/dev/stdout")


# ------------------------------------------------------------------------------------------ checks before the scan


def test_checks_accept_devices_fifos_and_links_and_refuse_what_cannot_be_written(tmp_path: Path) -> None:
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    (tmp_path / "file").write_text("")
    (tmp_path / "link").symlink_to(tmp_path / "file")
    (tmp_path / "loop").symlink_to(tmp_path / "loop")
    check_report_paths([("json", str(fifo)), ("json", os.devnull), ("json", str(tmp_path / "link")),
                        ("json", "/dev/stdout")])
    with pytest.raises(ReportSpecError, match="symbolic links"):
        check_report_paths([("json", str(tmp_path / "loop"))])
    with pytest.raises(ReportSpecError, match="is a directory"):
        check_report_paths([("json", str(tmp_path))])
    with pytest.raises(ReportSpecError, match="descriptor 97 is not open"):
        check_report_paths([("json", "/dev/fd/97")])


def test_a_link_and_its_file_are_one_file_and_dev_stdout_is_stdout(tmp_path: Path) -> None:
    reporters = load_plugins().reporters
    (tmp_path / "file").write_text("")
    (tmp_path / "link").symlink_to(tmp_path / "file")
    with pytest.raises(ReportSpecError, match="same file"):
        check_report_specs([("json", str(tmp_path / "file")), ("junit", str(tmp_path / "link"))], reporters)
    with pytest.raises(ReportSpecError, match="only one report may go to stdout"):
        check_report_specs([("json", "/dev/stdout"), ("console", None)], reporters)
    check_report_specs([("json", os.devnull), ("junit", os.devnull)], reporters)  # discarding twice harms nothing


def test_cli_refuses_a_report_into_a_closed_descriptor_before_scanning(tmp_path: Path) -> None:
    out = _one_host("json=/dev/fd/97")
    assert out.returncode == 2
    assert "descriptor 97 is not open" in out.stderr
