"""Benchmark: the full SMTP TLS matrix (5 versions + certificate) of N loopback endpoints.

    python bench/probe.py [--sizes 1,50,200] [--sslyze PATH] [--no-testssl] [--in-process]

For each N a separate process serves N aiosmtpd STARTTLS endpoints on
127.0.0.1 (TLS 1.2 and 1.3, RSA-2048 certificate). Timed, each as a whole
process: ``policyscan probe`` (N=1) or ``policyscan scan --smtp ...`` with a
policy written here (N>1); ``sslyze --starttls smtp`` with the version and
certinfo scans (when installed; default /work/venv-sslyze/bin/sslyze, N<=50);
``testssl.sh --starttls smtp -p`` (when installed, N=1). Prints totals,
per-endpoint latency (from the probe facts of an in-process run), ratios and
whether the verdicts agree. ``--in-process`` times only the collector in this
process (for when the ``policyscan`` CLI is not there). Loopback only; every
run is bounded by a timeout.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests" / "plugins")]
VERSIONS = ["SSLv3", "TLSv1.0", "TLSv1.1", "TLSv1.2", "TLSv1.3"]
EXPECTED = {"SSLv3": "refused", "TLSv1.0": "refused", "TLSv1.1": "refused", "TLSv1.2": "accepted",
            "TLSv1.3": "accepted"}
POLICY = """apiVersion: policyscan/v1
kind: Policy
metadata: {id: bench-smtp, title: SMTP TLS matrix, version: 1.0.0}
rules:
  - id: MATRIX
    title: full matrix
    severity: high
    check:
      smtp_tls:
        accept: [TLSv1.2, TLSv1.3]
        reject: [SSLv3, TLSv1.0, TLSv1.1]
        certificate: {min_key_bits: 2048}
        timeout: 10
"""


def serve(count: int, ports_file: Path) -> None:
    """Server mode: ``count`` aiosmtpd STARTTLS endpoints in one loop until stdin closes."""
    import logging

    from aiosmtpd.smtp import SMTP
    from smtp_servers import make_cert, tls_context

    logging.getLogger("mail.log").setLevel(logging.CRITICAL)
    cert = make_cert(Path(tempfile.mkdtemp()), "bench", ["mail.test"])
    context = tls_context(cert, ["TLSv1.2", "TLSv1.3"])

    class Handler:
        pass

    async def main() -> None:
        loop = asyncio.get_running_loop()
        servers = [await loop.create_server(lambda: SMTP(Handler(), hostname="mail.test", tls_context=context),
                                            "127.0.0.1", 0, backlog=512) for _ in range(count)]
        ports_file.write_text("\n".join(str(s.sockets[0].getsockname()[1]) for s in servers))
        await loop.run_in_executor(None, sys.stdin.read)  # until the parent closes our stdin

    asyncio.run(main())


def start_servers(count: int) -> tuple[subprocess.Popen[bytes], list[str]]:
    ports_file = Path(tempfile.mkdtemp()) / "ports"
    proc = subprocess.Popen([sys.executable, __file__, "--serve", str(count), "--ports-file", str(ports_file)],
                            stdin=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while not ports_file.exists() or not ports_file.read_text():
        if time.monotonic() > deadline or proc.poll() is not None:
            proc.kill()
            raise RuntimeError("bench servers did not start")
        time.sleep(0.05)
    return proc, [f"127.0.0.1:{p}" for p in ports_file.read_text().split()]


def timed(cmd: list[str], limit: float) -> tuple[float, subprocess.CompletedProcess[str]]:
    started = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=limit)
    return time.perf_counter() - started, done


def policyscan_run(endpoints: list[str], work: Path) -> tuple[float, dict[str, dict[str, str]]]:
    exe = shutil.which("policyscan") or "policyscan"
    if len(endpoints) == 1:
        seconds, done = timed([exe, "probe", endpoints[0], "--report", "json"], 120)
        doc = json.loads(done.stdout)
        return seconds, {doc["endpoint"]: doc["versions"]}
    policy = work / "bench-policy.yaml"
    policy.write_text(POLICY)
    cmd = [exe, "scan", "--policy", str(policy), "--report", f"json={work / 'report.json'}"]
    for ep in endpoints:
        cmd += ["--smtp", ep]
    seconds, done = timed(cmd, 300)
    if done.returncode not in (0, 1):
        raise RuntimeError(f"policyscan scan exited {done.returncode}: {done.stderr[-2000:]}")
    report = json.loads((work / "report.json").read_text())
    actual = report["results"][0]["actual"]
    return seconds, {ep: {v: obs for v, obs in items.items() if v in VERSIONS} for ep, items in actual.items()}


def in_process(endpoints: list[str]) -> tuple[float, list[float], dict[str, dict[str, str]]]:
    from datetime import UTC, datetime

    from plugins.smtp.collector import SmtpTlsCollector
    from scanner.api import CollectRequest, RunContext, Target

    params = {"accept": ["TLSv1.2", "TLSv1.3"], "reject": ["SSLv3", "TLSv1.0", "TLSv1.1"],
              "certificate": {"min_key_bits": 2048}}
    request = CollectRequest(Target("bench", sources={"smtp": endpoints}), [params])
    started = time.perf_counter()
    [(_, facts)] = list(SmtpTlsCollector().collect([request], RunContext(now=datetime.now(UTC))))
    seconds = time.perf_counter() - started
    probes = facts["probes"]
    latencies = [p["elapsed_ms"] for p in probes.values()]
    return seconds, latencies, {k: {v: r["verdict"] for v, r in p["versions"].items()} for k, p in probes.items()}


def sslyze_run(exe: str, endpoints: list[str], work: Path) -> tuple[float, dict[str, dict[str, str]]]:
    out = work / "sslyze.json"
    cmd = [exe, "--starttls", "smtp", "--sslv3", "--tlsv1", "--tlsv1_1", "--tlsv1_2", "--tlsv1_3", "--certinfo",
           f"--json_out={out}", *endpoints]
    seconds, _ = timed(cmd, 600)
    names = {"SSLv3": "ssl_3_0", "TLSv1.0": "tls_1_0", "TLSv1.1": "tls_1_1", "TLSv1.2": "tls_1_2",
             "TLSv1.3": "tls_1_3"}
    verdicts = {}
    for server in json.loads(out.read_text())["server_scan_results"]:
        loc = server["server_location"]
        res = server.get("scan_result") or {}
        verdicts[f"{loc['hostname']}:{loc['port']}"] = {
            v: ("accepted" if ((res.get(f"{n}_cipher_suites") or {}).get("result") or {}).get(
                "accepted_cipher_suites") else "refused") for v, n in names.items()}
    return seconds, verdicts


def testssl_run(exe: str, endpoint: str, work: Path) -> tuple[float, dict[str, dict[str, str]]]:
    out = work / "testssl.json"
    out.unlink(missing_ok=True)
    seconds, _ = timed([exe, "--starttls", "smtp", "-p", "--warnings", "off", "--quiet", "--color", "0",
                        "--jsonfile", str(out), endpoint], 300)
    ids = {"SSLv3": "SSLv3", "TLS1": "TLSv1.0", "TLS1_1": "TLSv1.1", "TLS1_2": "TLSv1.2", "TLS1_3": "TLSv1.3"}
    found = {ids[f["id"]]: ("refused" if "not offered" in f["finding"] else "accepted")
             for f in json.loads(out.read_text()) if f.get("id") in ids}
    return seconds, {endpoint: found}


def agree(ours: dict[str, dict[str, str]], theirs: dict[str, dict[str, str]]) -> str:
    diffs = [f"{ep} {v}: ours {ours.get(ep, {}).get(v)} theirs {theirs[ep].get(v)}"
             for ep in theirs for v in VERSIONS if ours.get(ep, {}).get(v) != theirs[ep].get(v)]
    return "agree" if not diffs and theirs else f"DISAGREE ({len(diffs)}): " + "; ".join(diffs[:3])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="1,50,200")
    ap.add_argument("--serve", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--ports-file", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--sslyze", default=shutil.which("sslyze") or "/work/venv-sslyze/bin/sslyze")
    ap.add_argument("--sslyze-max", type=int, default=50, help="largest N to run sslyze on (default 50)")
    ap.add_argument("--no-testssl", action="store_true")
    ap.add_argument("--in-process", action="store_true", help="time the collector only (no policyscan CLI)")
    args = ap.parse_args()
    if args.serve:
        serve(args.serve, args.ports_file)
        return 0
    testssl = None if args.no_testssl else (shutil.which("testssl.sh") or shutil.which("testssl"))
    sslyze = args.sslyze if os.path.exists(args.sslyze) else None
    work = Path(tempfile.mkdtemp(prefix="bench-probe-"))
    for n in (int(s) for s in args.sizes.split(",")):
        proc, endpoints = start_servers(n)
        try:
            total_ip, latencies, ours_ip = in_process(endpoints)
            lat = sorted(latencies)
            print(f"N={n}: in-process collector {total_ip:.3f} s; per-endpoint latency ms "
                  f"median {statistics.median(lat):.0f} p95 {lat[int(0.95 * (len(lat) - 1))]:.0f} max {lat[-1]:.0f}")
            wrong = {ep: v for ep, v in ours_ip.items() if v != EXPECTED}
            print(f"  verdicts vs the servers' configuration: {wrong if wrong else 'all as configured'}")
            if args.in_process:
                continue
            ours_s, ours = policyscan_run(endpoints, work)
            print(f"  policyscan {'probe' if n == 1 else 'scan'} (whole process): {ours_s:.3f} s")
            if sslyze and n <= args.sslyze_max:
                theirs_s, theirs = sslyze_run(sslyze, endpoints, work)
                print(f"  sslyze --starttls smtp: {theirs_s:.3f} s  -> policyscan is {theirs_s / ours_s:.1f}x faster;"
                      f" verdicts {agree(ours, theirs)}")
            if testssl and n == 1:
                theirs_s, theirs = testssl_run(testssl, endpoints[0], work)
                print(f"  testssl.sh --starttls smtp -p: {theirs_s:.3f} s -> policyscan is "
                      f"{theirs_s / ours_s:.1f}x faster; verdicts {agree(ours, theirs)}")
        finally:
            assert proc.stdin is not None
            proc.stdin.close()
            proc.wait(10)
    return 0


if __name__ == "__main__":
    sys.exit(main())
