#!/usr/bin/env python3
"""Benchmark: scan 10,000 registry exports with both shipped policy packs.

Generates N regedit-style exports (UTF-16LE with BOM, CRLF, about 50 values
each: SCHANNEL protocols, cipher keys, .NET in both views), an inventory,
then times the whole ``policyscan scan`` process writing JSON and JUnit, and
prints targets per second and the peak memory of that process. Also times
start-up: ``policyscan --version`` and ``policyscan validate policies``.

Goals (issue 2): 10,000 targets in under 10 s on 2 cores, peak memory under
1 GB; ``--version`` under 150 ms; ``validate policies`` under 400 ms.

    python bench/registry.py                # 10,000 targets in a temp dir
    python bench/registry.py --targets 2000 --keep bench/out/registry
"""

from __future__ import annotations

import argparse
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SCH = r"HKEY_LOCAL_MACHINE\SYSTEM\CurrentControlSet\Control\SecurityProviders\SCHANNEL"
NET = [
    r"HKEY_LOCAL_MACHINE\SOFTWARE\Microsoft\.NETFramework",
    r"HKEY_LOCAL_MACHINE\SOFTWARE\Wow6432Node\Microsoft\.NETFramework",
]
CIPHERS = ["AES 128/128", "AES 256/256", "DES 56/56", "NULL", "RC2 40/128", "RC4 128/128", "Triple DES 168"]


def export_text(rng: random.Random) -> str:
    lines = ["Windows Registry Editor Version 5.00", ""]

    def key(path: str, values: list[tuple[str, int]]) -> None:
        lines.append(f"[{path}]")
        lines.extend(f'"{name}"=dword:{data:08x}' for name, data in values)
        lines.append("")

    key(SCH, [("EventLogging", 1)])
    key(SCH + r"\Ciphers", [])
    for c in CIPHERS:
        key(SCH + rf"\Ciphers\{c}", [("Enabled", rng.choice([0, 0xFFFFFFFF]))])
    key(SCH + r"\Protocols", [])
    for proto in ("SSL 2.0", "SSL 3.0", "TLS 1.0", "TLS 1.1", "TLS 1.2", "TLS 1.3"):
        key(SCH + rf"\Protocols\{proto}", [])
        for role in ("Client", "Server"):
            on = rng.random() < 0.9 if proto == "TLS 1.2" else rng.random() < 0.2
            key(
                SCH + rf"\Protocols\{proto}\{role}",
                [("DisabledByDefault", 0 if on else 1), ("Enabled", 1 if on else 0)],
            )
    for base in NET:
        key(base, [])
        for ver in ("v2.0.50727", "v4.0.30319"):
            vals = [
                ("SchUseStrongCrypto", int(rng.random() < 0.85)),
                ("SystemDefaultTlsVersions", int(rng.random() < 0.85)),
            ]
            key(base + "\\" + ver, vals)
    return "\r\n".join(lines) + "\r\n"


def generate(where: Path, n: int) -> Path:
    exports = where / "exports"
    exports.mkdir(parents=True, exist_ok=True)
    rng = random.Random(42)
    inv = ["apiVersion: policyscan/v1", "kind: Inventory", "targets:"]
    for i in range(n):
        name = f"exch{i:05d}"
        p = exports / f"{name}.reg"
        if not p.exists():
            p.write_bytes(b"\xff\xfe" + export_text(rng).encode("utf-16-le"))
        inv.append(f"  - {{name: {name}, labels: {{role: exchange}}, registry: {{file: exports/{name}.reg}}}}")
    inventory = where / "inventory.yaml"
    inventory.write_text("\n".join(inv) + "\n")
    return inventory


def timed(cmd: list[str]) -> tuple[float, int, subprocess.CompletedProcess[str]]:
    """Wall time, peak RSS (bytes) of the child, and its result."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return elapsed, max(peak, before) * 1024, proc


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--targets", type=int, default=10_000)
    ap.add_argument("--keep", type=Path, help="generate into (and reuse) this directory")
    ap.add_argument("--no-sarif", dest="sarif", action="store_false", help="JSON and JUnit only (as before SARIF)")
    args = ap.parse_args()
    exe = shutil.which("policyscan") or sys.exit("policyscan is not installed (pip install -e .)")

    # This machine's Python speed today, so figures from different days can be compared:
    # the same 2-core machine has run this loop in anything from 0.5 s to 1.7 s.
    start = time.perf_counter()
    total = 0
    for i in range(10_000_000):
        total += i
    print(f"calibration: 10,000,000 Python additions in {time.perf_counter() - start:.2f} s")

    # An installed package has its bytecode compiled (pip does it at install time); a source
    # checkout run with PYTHONDONTWRITEBYTECODE=1 would compile every module on every start.
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(ROOT / "scanner"), str(ROOT / "plugins")], check=True)

    for_version = [timed([exe, "--version"])[0] for _ in range(10)]
    for_validate = [timed([exe, "validate", str(ROOT / "policies")])[0] for _ in range(5)]
    print(
        f"start-up: policyscan --version          median {statistics.median(for_version) * 1000:6.0f} ms "
        "(goal < 150 ms)"
    )
    print(
        f"start-up: policyscan validate policies  median {statistics.median(for_validate) * 1000:6.0f} ms "
        "(goal < 400 ms)"
    )

    where = args.keep or Path(tempfile.mkdtemp(prefix="policyscan-bench-"))
    try:
        t0 = time.perf_counter()
        inventory = generate(where, args.targets)
        print(f"generated {args.targets} exports of ~50 values in {time.perf_counter() - t0:.1f} s ({where})")
        cmd = [
            exe,
            "scan",
            "--policy",
            str(ROOT / "policies"),
            "--inventory",
            str(inventory),
            "--report",
            f"json={where / 'report.json'}",
            "--report",
            f"junit={where / 'junit.xml'}",
            *(["--report", f"sarif={where / 'report.sarif'}"] if args.sarif else []),
            "--now",
            "2026-11-26T10:00:00Z",
        ]
        reports = [where / "report.json", where / "junit.xml"] + ([where / "report.sarif"] if args.sarif else [])
        for old in reports:
            old.unlink(missing_ok=True)  # as in a fresh CI workspace: nothing to replace
        # a fresh child for the scan alone, so RUSAGE_CHILDREN's peak is the scan's
        probe = [
            sys.executable,
            "-c",
            "import resource,subprocess,sys,time;t=time.perf_counter();"
            "p=subprocess.run(sys.argv[1:]);e=time.perf_counter()-t;"
            "print(e, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, p.returncode)",
            *cmd,
        ]
        out = subprocess.run(probe, capture_output=True, text=True, check=True).stdout.split()
        elapsed, peak_kb, code = float(out[0]), int(out[1]), int(out[2])
        size = sum(f.stat().st_size for f in reports)
        print(
            f"scan: {args.targets} targets x both packs, {'JSON+JUnit+SARIF' if args.sarif else 'JSON+JUnit'}, "
            f"in {elapsed:.2f} s = {args.targets / elapsed:,.0f} targets/s "
            f"(goal: 10,000 in < 10 s); exit {code}"
        )
        print(f"scan: peak memory {peak_kb / 1024:.0f} MiB (goal < 1024 MiB); reports {size / 1e6:.0f} MB")
    finally:
        if args.keep is None:
            shutil.rmtree(where, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
