#!/usr/bin/env python3
"""Benchmark: collect the facts of 10,000 registry targets, then judge them offline.

Builds the fleet of ``bench/registry.py`` (N regedit exports, an inventory),
then times three ``policyscan`` processes with both shipped policy packs:

1. ``collect --out facts.jsonl`` (parse every export, write the facts file);
2. ``scan --facts facts.jsonl --report json=...`` (no export is read);
3. the live ``scan --inventory ... --report json=...`` it must equal,

and checks that the two JSON reports hold the same results. Goal: ``scan
--facts`` of 10,000 targets within the registry benchmark's budget (< 10 s on
2 cores, peak memory < 1 GB).

    python bench/facts.py                  # 10,000 targets in a temp dir
    python bench/facts.py --targets 2000 --keep bench/out/facts
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from registry import ROOT, generate  # bench/registry.py builds the fleet

NOW = "2026-11-26T10:00:00Z"


def measured(cmd: list[str]) -> tuple[float, float, int]:
    """Wall time (s), peak RSS (MiB) and exit code of ``cmd`` run in a fresh child."""
    probe = [
        sys.executable,
        "-c",
        "import resource,subprocess,sys,time;t=time.perf_counter();"
        "p=subprocess.run(sys.argv[1:]);e=time.perf_counter()-t;"
        "print(e, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, p.returncode)",
        *cmd,
    ]
    out = subprocess.run(probe, capture_output=True, text=True, check=True).stdout.split()
    return float(out[0]), int(out[1]) / 1024, int(out[2])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--targets", type=int, default=10_000)
    ap.add_argument("--keep", type=Path, help="generate into (and reuse) this directory")
    args = ap.parse_args()
    exe = shutil.which("policyscan") or sys.exit("policyscan is not installed (pip install -e .)")
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(ROOT / "scanner"), str(ROOT / "plugins")], check=True)

    where = args.keep or Path(tempfile.mkdtemp(prefix="policyscan-bench-facts-"))
    try:
        inventory = generate(where, args.targets)
        policy = ["--policy", str(ROOT / "policies")]
        facts = where / "facts.jsonl"
        for old in (facts, where / "live.json", where / "offline.json"):
            old.unlink(missing_ok=True)

        t, mem, code = measured([exe, "collect", *policy, "--inventory", str(inventory), "--out", str(facts),
                                 "--now", NOW])
        print(f"collect: {args.targets} targets in {t:.2f} s = {args.targets / t:,.0f} targets/s, "
              f"peak {mem:.0f} MiB, facts file {facts.stat().st_size / 1e6:.0f} MB; exit {code}")
        t_off, mem_off, code_off = measured([exe, "scan", *policy, "--facts", str(facts),
                                             "--report", f"json={where / 'offline.json'}"])
        print(f"scan --facts: {args.targets} targets in {t_off:.2f} s = {args.targets / t_off:,.0f} targets/s, "
              f"peak {mem_off:.0f} MiB (goal: 10,000 in < 10 s, < 1024 MiB); exit {code_off}")
        t_live, mem_live, code_live = measured([exe, "scan", *policy, "--inventory", str(inventory),
                                                "--report", f"json={where / 'live.json'}", "--now", NOW])
        print(f"live scan:    {args.targets} targets in {t_live:.2f} s = {args.targets / t_live:,.0f} targets/s, "
              f"peak {mem_live:.0f} MiB; exit {code_live}")
        live = json.loads((where / "live.json").read_text())["results"]
        offline = json.loads((where / "offline.json").read_text())["results"]
        same = live == offline and code_live == code_off
        print(f"scan --facts / live scan time: {t_off / t_live:.2f}; {len(live):,} results, "
              f"{'identical' if same else 'DIFFERENT'}")
        return 0 if same else 1
    finally:
        if args.keep is None:
            shutil.rmtree(where, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
