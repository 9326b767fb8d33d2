"""Shared test helpers: run the real ``policyscan`` command, find test data."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(__file__).resolve().parent / "data"
POLICIES = ROOT / "policies"
PLUGIN_SITE = DATA / "plugin_site"


def run_cli(
    *args: str,
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
    timeout: float = 60,
    pythonpath: Path | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run ``python -m scanner ARGS`` (the same code as the ``policyscan`` script) in a subprocess."""
    full_env = dict(os.environ)
    full_env.pop("NO_COLOR", None)
    if pythonpath is not None:
        full_env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(pythonpath), full_env.get("PYTHONPATH", "")]))
    full_env.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "scanner", *args],
        cwd=cwd or ROOT,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


@pytest.fixture
def write(tmp_path: Path):
    """Write a text file under tmp_path and return its path."""

    def _write(name: str, text: str) -> Path:
        p = tmp_path / name
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text, encoding="utf-8")
        return p

    return _write
