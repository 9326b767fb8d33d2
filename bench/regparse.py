#!/usr/bin/env python3
"""Benchmark: parse one huge .reg export and scan it with both shipped packs; check it stays linear.

Generates a whole-HKLM-style export -- by default 500,000 sections, about
160 MB in UTF-16LE with BOM and CRLF as regedit writes it, and the same in
REGEDIT4 -- with the SCHANNEL and .NET keys the packs read among tens of
thousands of CLSID keys. For each it times, in this process:

* ``floor``: decoding the file and splitting it into lines (what any parser must do);
* ``parse+facts``: ``Tree.load`` and the facts for every key both packs ask about
  (with the cyclic garbage collector paused, as a scan runs);

then the whole ``policyscan scan --policy policies --reg FILE`` process (start-up,
parse, judge, JSON report) and its peak memory. Linearity: the same is timed
for half the sections; the ratio of the times must stay near 2 (below 3).
Before the parser was made linear, 40,000 top-level sections took 14.7 s and a
139 MB export did not finish in 10 CPU-minutes.

    python bench/regparse.py                 # 500,000 sections
    python bench/regparse.py --sections 100000
"""

from __future__ import annotations

import argparse
import gc
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from plugins.registry import facts as regfacts  # noqa: E402
from plugins.registry.regfile import Tree  # noqa: E402
from plugins.registry.regsyntax import decode  # noqa: E402
from scanner.loader import load_policies  # noqa: E402
from scanner.plugin_host import load_plugins  # noqa: E402

SCH = r"HKEY_LOCAL_MACHINE\SYSTEM\CurrentControlSet\Control\SecurityProviders\SCHANNEL"
NET = [r"HKEY_LOCAL_MACHINE\SOFTWARE\Microsoft\.NETFramework",
       r"HKEY_LOCAL_MACHINE\SOFTWARE\Wow6432Node\Microsoft\.NETFramework"]
CLSID = r"HKEY_LOCAL_MACHINE\SOFTWARE\Classes\CLSID"


def export_lines(sections: int) -> list[str]:
    """The lines of an export with ``sections`` key lines (regedit's order is not needed: keys are any order)."""
    lines = ["[HKEY_LOCAL_MACHINE]", "", r"[HKEY_LOCAL_MACHINE\SOFTWARE]", "", f"[{CLSID}]", ""]
    fixed = 3
    for base in NET:
        lines += [f"[{base}]", ""]
        for ver in ("v2.0.50727", "v4.0.30319"):
            lines += [f"[{base}\\{ver}]", '"SchUseStrongCrypto"=dword:00000001',
                      '"SystemDefaultTlsVersions"=dword:00000001', ""]
        fixed += 3
    for proto in ("SSL 2.0", "SSL 3.0", "TLS 1.0", "TLS 1.1", "TLS 1.2"):
        on = proto == "TLS 1.2"
        for role in ("Client", "Server"):
            lines += [f"[{SCH}\\Protocols\\{proto}\\{role}]", f'"DisabledByDefault"=dword:0000000{int(not on)}',
                      f'"Enabled"=dword:0000000{int(on)}', ""]
            fixed += 1
    for i in range(max(0, sections - fixed) // 2):
        guid = f"{{{i:08X}-{i % 65536:04X}-4E6F-9A1B-{i * 7919 % 16**12:012X}}}"
        lines += [f"[{CLSID}\\{guid}]", f'@="Contoso component {i}"', f'"AppID"="{guid}"', "",
                  f"[{CLSID}\\{guid}\\InprocServer32]", f'@=hex(2):25,00,53,00,79,00,73,00,{i % 256:02x},00,00,00',
                  '"ThreadingModel"="Both"', ""]
    return lines


def write(where: Path, sections: int) -> tuple[Path, Path]:
    body = "\r\n".join(export_lines(sections)) + "\r\n"
    wide = where / f"hklm-{sections}.reg"
    wide.write_bytes(b"\xff\xfe" + ("Windows Registry Editor Version 5.00\r\n\r\n" + body).encode("utf-16-le"))
    ansi = where / f"hklm-{sections}-regedit4.reg"
    ansi.write_bytes(("REGEDIT4\r\n\r\n" + body).encode("cp1252"))
    return wide, ansi


def pack_needs() -> regfacts.Needs:
    host = load_plugins()
    policies = load_policies([str(ROOT / "policies")], host)
    checks = []
    stack = [rule.check for p in policies for rule in p.rules]
    while stack:
        node = stack.pop()
        if node.kind == "check":
            if node.type_name == "registry":
                checks.append(node.params)
        else:
            stack.extend(node.children)
    return regfacts.needs_of(checks)


def time_file(path: Path, needs: regfacts.Needs) -> tuple[float, float, int]:
    """``(floor s, parse+facts s, keys found)`` for one file, best of two."""
    floors, parses = [], []
    found = 0
    for _ in range(2):
        data = path.read_bytes()
        start = time.perf_counter()
        lines = decode(data).split("\n")
        floors.append(time.perf_counter() - start)
        del lines
        gc.collect()
        gc.disable()  # as in a scan (scanner.gcpause): nothing made here is garbage until the end
        start = time.perf_counter()
        tree = Tree()
        tree.load(data, path.name)
        facts = regfacts.from_tree(tree, needs, [path.name])
        parses.append(time.perf_counter() - start)
        gc.enable()
        found = sum(1 for k in facts["keys"].values() if k["exists"])
        del tree, facts, data
    return min(floors), min(parses), found


def scan_process(path: Path, where: Path) -> tuple[float, float, int]:
    """``(wall s, peak MiB, exit code)`` of a whole ``policyscan scan`` of one export."""
    exe = shutil.which("policyscan") or sys.exit("policyscan is not installed (pip install -e .)")
    cmd = [exe, "scan", "--policy", str(ROOT / "policies"), "--reg", str(path),
           "--report", f"json={where / 'report.json'}", "--now", "2026-11-26T10:00:00Z"]
    probe = [sys.executable, "-c",
             "import resource,subprocess,sys,time;t=time.perf_counter();"
             "p=subprocess.run(sys.argv[1:],stdout=subprocess.DEVNULL);e=time.perf_counter()-t;"
             "print(e, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, p.returncode)", *cmd]
    out = subprocess.run(probe, capture_output=True, text=True, check=True).stdout.split()
    return float(out[0]), int(out[1]) / 1024, int(out[2])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sections", type=int, default=500_000)
    args = ap.parse_args()
    needs = pack_needs()
    where = Path(tempfile.mkdtemp(prefix="policyscan-regparse-"))
    ratios = []
    try:
        results = {}
        for sections in (args.sections // 2, args.sections):
            start = time.perf_counter()
            files = write(where, sections)
            print(f"generated {sections:,} sections in {time.perf_counter() - start:.1f} s")
            for path in files:
                floor, parse, found = time_file(path, needs)
                results[(sections, path.name.endswith("regedit4.reg"))] = parse
                print(f"  {path.name:32} {path.stat().st_size / 1e6:6.1f} MB  floor (decode+split) {floor:5.2f} s  "
                      f"parse+facts {parse:5.2f} s ({parse / floor:4.1f}x floor, "
                      f"{path.stat().st_size / 1e6 / parse:5.1f} MB/s); {found}/{len(needs)} pack keys found")
            if sections == args.sections:
                wall, peak, code = scan_process(files[0], where)
                print(f"  policyscan scan, both packs, {files[0].name}: {wall:.2f} s, peak {peak:.0f} MiB, exit {code}")
            for path in files:
                path.unlink()
        for regedit4 in (False, True):
            ratio = results[(args.sections, regedit4)] / results[(args.sections // 2, regedit4)]
            ratios.append(ratio)
            print(f"linearity ({'REGEDIT4' if regedit4 else 'UTF-16LE'}): time(2N) / time(N) = {ratio:.2f} "
                  "(linear: 2; goal < 3)")
    finally:
        shutil.rmtree(where, ignore_errors=True)
    return 0 if all(r < 3 for r in ratios) else 1


if __name__ == "__main__":
    sys.exit(main())
