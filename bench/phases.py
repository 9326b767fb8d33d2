#!/usr/bin/env python3
"""Where one ``policyscan scan`` spends its time: wall and CPU per phase.

Runs the real CLI in this process (the same code as the ``policyscan`` script)
with timers around its phases, then prints them with the CPU time of the
forked workers::

    python bench/registry.py --keep bench/out/registry      # make a fleet once
    python bench/phases.py scan --policy policies --inventory bench/out/registry/inventory.yaml \\
        --report json=bench/out/registry/report.json --report junit=bench/out/registry/junit.xml

Phases: loading the inventory and the policies, the scan (collect, judge and,
for a streamed scan, render in the workers), joining the report files (a
streamed scan) or writing them (a gathered one). Any ``scan`` arguments work.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from scanner import cli, engine, loader, output, streaming

marks: list[tuple[str, float, float]] = []


def timed(owner: Any, name: str, label: str) -> None:
    original: Callable[..., Any] = getattr(owner, name)

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        wall, cpu = time.perf_counter(), time.process_time()
        try:
            return original(*args, **kwargs)
        finally:
            marks.append((label, time.perf_counter() - wall, time.process_time() - cpu))

    setattr(owner, name, wrapper)


def main() -> int:
    start = time.perf_counter()
    timed(loader, "load_inventory", "inventory")
    timed(loader, "load_policies", "policies")
    timed(streaming, "scan_streamed", "scan (streamed, reports included)")
    timed(streaming, "_assemble_all", "  of which: joining report files")
    timed(engine.Engine, "scan", "scan (gathered)")
    timed(output, "write_reports", "writing reports")
    if "--report" not in sys.argv:
        print("give the scan at least one --report FORMAT=PATH (console output would mix with this)")
        return 2
    code = cli.main(sys.argv[1:])
    total = time.perf_counter() - start
    for label, wall, cpu in marks:
        print(f"{label:36s} wall {wall:6.2f} s   this process CPU {cpu:6.2f} s")
    times = os.times()
    print(
        f"{'whole run (after imports)':36s} wall {total:6.2f} s   this process CPU {times.user + times.system:6.2f} s"
        f"   workers CPU {times.children_user + times.children_system:6.2f} s   exit {code}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
