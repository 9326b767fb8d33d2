"""Shared files are data (authoring kit, item 7): validating, testing or evaluating a policy,
policy test, inventory or facts file that came from elsewhere runs no code but policyscan's and
its installed plugins'.

The hostile folder holds what would run code in a careless tool: Python modules named like the
libraries policyscan imports (``yaml.py``, ``jsonschema.py``, ``re2.py``), a ``conftest.py``, a
``sitecustomize.py``, a ``.pth`` file, and YAML with ``!!python`` tags. Each would create a marker
file if it ran. The commands run from inside that folder (the working directory a CI job would
have), with the installed ``policyscan`` script, as a user runs it.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import POLICIES, ROOT

SCRIPT = Path(sys.executable).parent / "policyscan"
MARK = "import pathlib; pathlib.Path(__file__).with_name('RAN-' + pathlib.Path(__file__).stem).touch()\n"


@pytest.fixture
def hostile(tmp_path: Path) -> Path:
    folder = tmp_path / "shared"
    folder.mkdir()
    for name in ("yaml", "jsonschema", "re2", "orjson", "conftest", "sitecustomize", "scanner", "plugins"):
        (folder / f"{name}.py").write_text(MARK, encoding="utf-8")
    (folder / "evil.pth").write_text("import os; open('RAN-pth', 'w').close()\n", encoding="utf-8")
    shutil.copy(POLICIES / "exchange-m365-tls12.yaml", folder / "policy.yaml")
    shutil.copytree(ROOT / "examples" / "exports", folder / "exports")
    (folder / "inventory.yaml").write_text(
        "apiVersion: policyscan/v1\nkind: Inventory\ntargets:\n"
        "  - {name: exch02, registry: {file: exports/exch02-schannel.reg}}\n", encoding="utf-8")
    (folder / "tagged.yaml").write_text(
        "apiVersion: policyscan/v1\nkind: Policy\nmetadata: !!python/object/apply:os.system ['touch RAN-tag']\n"
        "rules: []\n", encoding="utf-8")
    return folder


def _run(folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(SCRIPT), *args], cwd=folder, capture_output=True, text=True, timeout=120,
                          check=False, env={"PATH": "/usr/bin:/bin", "HOME": str(folder)})


def test_validate_test_collect_and_scan_facts_of_shared_files_run_no_code(hostile: Path) -> None:
    assert SCRIPT.is_file(), f"the installed script {SCRIPT} (pip install -e .)"
    tagged = _run(hostile, "validate", "tagged.yaml")
    assert tagged.returncode == 2 and "tagged.yaml:3" in tagged.stderr, tagged.stderr
    assert _run(hostile, "validate", "policy.yaml", "inventory.yaml").returncode == 0
    collected = _run(hostile, "collect", "--policy", "policy.yaml", "--inventory", "inventory.yaml",
                     "--out", "run.facts")
    assert collected.returncode == 0, collected.stderr
    (hostile / "policy.test.yaml").write_text(
        "apiVersion: policyscan/v1\nkind: PolicyTest\npolicy: policy.yaml\ncases:\n"
        "  - name: from the snapshot\n    facts: run.facts\n    target: {name: exch02}\n"
        "    expect: {EXO-TLS12-001: fail}\n", encoding="utf-8")
    tested = _run(hostile, "test", "policy.test.yaml")
    assert tested.returncode == 0, tested.stdout + tested.stderr
    judged = _run(hostile, "scan", "--facts", "run.facts", "--policy", "policy.yaml", "--report", "json=r.json")
    assert judged.returncode == 1, judged.stderr  # exch02 fails the TLS 1.2 rules: judged, from the facts alone
    ran = sorted(p.name for p in hostile.iterdir() if p.name.startswith("RAN-"))
    assert ran == [], f"code from the shared folder ran: {ran}"
