"""A FIFO (or other file that is not a regular file) named where a file is read never hangs a run.

* an inventory's ``registry: {file: r.reg}`` naming a FIFO: ``scan`` and ``collect`` finish, the target's
  registry results are ``error`` naming the file ("not a regular file (a FIFO)"), in the run's language;
* ``scan --reg ff/r.reg`` naming a FIFO is a usage error saying so (exit 2); a missing one still "no such file";
* a ``policyscan test`` fixture (``reg``/``logs`` ``{file}``, ``probe: FILE``, ``facts: FILE``) that is a FIFO
  makes the test file invalid (exit 2, ``file:line`` at the key).

Every run is a subprocess with a timeout: a regression fails, it does not hang the suite.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest

from plugins.registry import register_check_types
from plugins.registry.judge import evaluate
from scanner.api import CollectRequest, EvalContext, RunContext, Status, Target
from tests.conftest import POLICIES, run_cli

pytestmark = [pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs"), pytest.mark.timeout(30)]

APP = r"HKEY_LOCAL_MACHINE\SOFTWARE\Contoso\App"
POLICY = "exchange-m365-tls12.yaml"
NOW = datetime(2026, 11, 30, tzinfo=UTC)
REG = ("Windows Registry Editor Version 5.00\n\n[HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Control\\"
       "SecurityProviders\\SCHANNEL\\Protocols\\TLS 1.2\\Client]\n\"Enabled\"=dword:00000001\n")


def _inventory(folder: Path, reg: str) -> Path:
    inv = folder / "inventory.yaml"
    inv.write_text("apiVersion: policyscan/v1\nkind: Inventory\ntargets:\n"
                   f"  - name: h\n    registry: {{file: {reg}}}\n")
    return inv


@pytest.mark.parametrize("lang", ["en", "es"])
def test_scan_of_an_inventory_naming_a_fifo_export_errors_instead_of_hanging(tmp_path: Path, lang: str) -> None:
    os.mkfifo(tmp_path / "r.reg")
    inv = _inventory(tmp_path, "r.reg")
    report = tmp_path / "out.json"
    out = run_cli("scan", "--policy", str(POLICIES / POLICY), "--inventory", str(inv), "--lang", lang,
                  "--now", "2026-11-30T00:00:00Z", "--report", f"json={report}", timeout=25)
    assert out.returncode == 3, out.stdout + out.stderr
    text = report.read_text()
    wanted = ("cannot read r.reg: not a regular file (a FIFO)" if lang == "en"
              else "no se puede leer r.reg: no es un archivo normal (un FIFO)")
    assert wanted in text
    doc = json.loads(text)
    errors = [r for r in doc["results"] if r["status"] == "error" and wanted in r.get("message", "")]
    assert errors


def test_collect_of_an_inventory_naming_a_fifo_export_finishes(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "r.reg")
    inv = _inventory(tmp_path, "r.reg")
    facts = tmp_path / "facts.jsonl"
    out = run_cli("collect", "--policy", str(POLICIES / POLICY), "--inventory", str(inv), "--out", str(facts),
                  timeout=25)
    assert "not a regular file (a FIFO)" in facts.read_text(), out.stdout + out.stderr


def test_the_collector_refuses_what_is_not_a_regular_file(tmp_path: Path) -> None:
    ct = register_check_types()[0]
    check = {"key": APP, "value": "Enabled", "equals": 1}
    os.mkfifo(tmp_path / "f.reg")
    (tmp_path / "d.reg").mkdir()
    for name, what, es in (("f.reg", "a FIFO", "un FIFO"), ("d.reg", "a directory", "un directorio")):
        target = Target("t", sources={"registry": {"file": name}}, base_dir=tmp_path)
        [(_, facts)] = ct.collector.collect([CollectRequest(target, [check])], RunContext(now=NOW))
        assert facts["error"] == f"cannot read {name}: not a regular file ({what})"
        spanish = EvalContext(run=RunContext(now=NOW, lang="es"), target=target)
        outcome = evaluate(check, json.loads(json.dumps(facts)), spanish)
        assert outcome.status is Status.ERROR
        assert outcome.message == f"no se puede leer {name}: no es un archivo normal ({es})"


def test_reg_option_naming_a_fifo_says_what_it_is(tmp_path: Path) -> None:
    (tmp_path / "ff").mkdir()
    os.mkfifo(tmp_path / "ff" / "r.reg")
    out = run_cli("scan", "--policy", str(POLICIES / POLICY), "--reg", "ff/r.reg", cwd=tmp_path, timeout=25)
    assert out.returncode == 2 and "--reg ff/r.reg: not a regular file (a FIFO)" in out.stderr, out.stderr
    out = run_cli("scan", "--policy", str(POLICIES / POLICY), "--reg", "ff/gone.reg", cwd=tmp_path, timeout=25)
    assert out.returncode == 2 and "--reg ff/gone.reg: no such file" in out.stderr, out.stderr


FIXTURES = [
    # (case body, line of the key, key)
    ("    reg: {file: f.reg}\n", 7, "file 'f.reg'"),
    ("    reg:\n      - {file: ok.reg}\n      - {file: f.reg}\n", 9, "file 'f.reg'"),
    ("    logs: {text: {file: f.reg}}\n", 7, "file 'f.reg'"),
    ("    logs: {text: [{file: f.reg}]}\n", 7, "file 'f.reg'"),
    ("    probe: f.reg\n", 7, "probe 'f.reg'"),
    ("    probe: [f.reg]\n", 7, "probe 'f.reg'"),
    ("    facts: f.reg\n", 7, "facts 'f.reg'"),
]


@pytest.mark.parametrize(("body", "line", "key"), FIXTURES, ids=[f"{i}" for i in range(len(FIXTURES))])
@pytest.mark.parametrize("command", ["test", "validate"])
def test_a_fifo_fixture_makes_the_test_file_invalid(tmp_path: Path, body: str, line: int, key: str,
                                                    command: str) -> None:
    shutil.copy(POLICIES / POLICY, tmp_path / POLICY)
    (tmp_path / "ok.reg").write_text(REG)
    os.mkfifo(tmp_path / "f.reg")
    test = tmp_path / "t.test.yaml"
    test.write_text(f"apiVersion: policyscan/v1\nkind: PolicyTest\npolicy: {POLICY}\nnow: 2026-11-30T00:00:00Z\n"
                    f"cases:\n  - name: c\n{body}    expect: {{EXO-TLS12-001: pass}}\n")
    out = run_cli(command, str(test), timeout=25)
    assert out.returncode == 2, out.stdout + out.stderr
    [problem] = [x for x in out.stderr.splitlines() if x.startswith(str(test))]
    assert re.match(rf"{re.escape(str(test))}:{line}:\d+: {re.escape(key)}: not a regular file \(a FIFO\)",
                    problem), problem
