"""Speed benchmark of the ``log_signatures`` check (not a test): policyscan vs grep -F vs rg -F.

Writes a corpus (default 1.05 GiB) of 10 MB Exchange send-protocol logs with
planted signatures and near misses, plus a manifest of the true per-signature
line counts and a policy with the log rules; then times, each as a whole
process (start-up and report included):

- ``policyscan scan --policy P --logs smtp_send=GLOB --report json=OUT`` (``--mode cli``),
  or the collector called in a child Python process (``--mode collector``);
- ``LC_ALL=C grep -F -c -f patterns FILES``;
- ``rg -F -c -f patterns FILES`` when rg is installed;

and checks policyscan's per-signature counts (and grep's, one run per pattern)
against the manifest. Prints GB/s for each and the ratios. The corpus is
deleted afterwards unless ``--keep`` (or ``--dir`` names an existing corpus).

    python bench/logs.py [--size-mb 1075] [--dir DIR] [--mode cli|collector|both] [--runs 3]

``--all-matching MB`` instead times a send log of that size whose every line matches (a literal
rule, a regex rule, and a regex rule with ``field`` and ``within``, each with a high
``max_count``): the per-match cost, reported as MB/s and microseconds per matching line.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SIGNATURES = {
    "TLS negotiation failed with error SocketError": "EXO-TLS12-LOG-003",
    "451 5.7.3 Must issue a STARTTLS command first": "EXO-TLS12-LOG-004",
    "SP_PROT_TLS1_0_": "TLS-HARD-LOG-002",
    "SP_PROT_TLS1_1_": "TLS-HARD-LOG-002",
    "SP_PROT_SSL3_": "TLS-HARD-LOG-002",
    "421 4.7.66 TLS 1.0 and 1.1 are not supported": "TLS-HARD-LOG-003",
}
NEAR_MISSES = [
    "TLS negotiation failed with error NoCredentials",
    "TLS negotiation failed with error UnknownCredentials",
    "530 5.7.0 Must issue a STARTTLS command first",
    "451 5.7.0 Must issue a STARTTLS command first",
    "421 4.7.0 Temporary server error. Please try again later",
]
FILE_BYTES = 10_000_000
TLS_OK = ('"TLS protocol SP_PROT_TLS1_2_CLIENT negotiation succeeded using bulk encryption algorithm CALG_AES_256 '
          'with strength 256 bits, MAC hash algorithm CALG_SHA_384 with strength 0 bits and key exchange algorithm '
          'CALG_ECDH_EPHEM with strength 384 bits"')
HEADER = ("#Software: Microsoft Exchange Server\r\n#Version: 15.0.0.0\r\n#Log-type: SMTP Send Protocol Log\r\n"
          "#Date: 2025-03-04T11:00:00.000Z\r\n#Fields: date-time,connector-id,session-id,sequence-number,"
          "local-endpoint,remote-endpoint,event,data,context\r\n")
SESSION = [
    ("*", "SendRoutingHeaders", "Set Session Permissions"), ("*", "", "attempting to connect"), ("+", "", ""),
    ("<", '"220 AM0PR02CA0001.outlook.office365.com Microsoft ESMTP MAIL Service ready at Tue, 4 Mar 2025 '
          '11:20:00 +0000"', ""), (">", "EHLO mail.contoso.com", ""),
    ("<", "250-AM0PR02CA0001.outlook.office365.com Hello [203.0.113.10] SIZE 157286400 PIPELINING DSN "
          "ENHANCEDSTATUSCODES STARTTLS 8BITMIME BINARYMIME CHUNKING SMTPUTF8", ""),
    (">", "STARTTLS", ""), ("<", "220 2.0.0 SMTP server ready", ""), ("*", "", "Sending certificate"),
    ("*", "", TLS_OK), (">", "MAIL FROM:<alice@contoso.com> SIZE=2048", ""), ("<", "250 2.1.0 Sender OK", ""),
    ("-", "", "Local"),
]


def _line(rng: random.Random, n: int, event: str, data: str, context: str, session: str) -> str:
    t = f"2025-03-{4 + n // 3_000_000 % 5:02d}T{n // 100_000 % 24:02d}:{n // 1000 % 60:02d}:{n % 60:02d}.{n % 997:03d}Z"
    return f"{t},Outbound to Office 365,{session},{n % 13},10.0.0.10:28252,52.101.8.30:25,{event},{data},{context}\r\n"


def planted_line(rng: random.Random, n: int, text: str) -> str:
    if text.startswith("SP_PROT_"):
        return _line(rng, n, "*", "", TLS_OK.replace("SP_PROT_TLS1_2_", text), "08DD5A1BFFFFFFFF")
    if text[:3].isdigit():
        return _line(rng, n, "<", text, "", "08DD5A1BFFFFFFFF")
    return _line(rng, n, "*", "", text, "08DD5A1BFFFFFFFF")


def write_corpus(root: Path, size_mb: int, seed: int = 7) -> dict[str, int]:
    """The corpus and its manifest: true number of lines holding each signature."""
    rng = random.Random(seed)
    counts = dict.fromkeys(SIGNATURES, 0)
    nfiles = max(1, size_mb * 1_000_000 // FILE_BYTES)
    n = 0
    for k in range(nfiles):
        parts = [HEADER]
        size = len(HEADER)
        planted = {rng.randrange(1, 60_000): rng.choice(list(SIGNATURES) + NEAR_MISSES)
                   for _ in range(rng.randrange(0, 12))}
        i = 0
        while size < FILE_BYTES:
            session = f"08DD5A1B{rng.getrandbits(32):08X}"
            for event, data, context in SESSION:
                i += 1
                n += 1
                if i in planted:
                    text = planted[i]
                    line = planted_line(rng, n, text)
                    if text in counts:
                        counts[text] += 1
                else:
                    line = _line(rng, n, event, data, context, session)
                parts.append(line)
                size += len(line)
        (root / f"SEND20250304{k % 24:02d}-{k + 1}.LOG").write_bytes("".join(parts).encode())
    return counts


POLICY = """apiVersion: policyscan/v1
kind: Policy
metadata: {id: bench-logs, title: Log signature benchmark, version: 1.0.0}
rules:
  - id: EXO-TLS12-LOG-003
    title: no TLS negotiation failures
    severity: high
    check: {log_signatures: {sources: [smtp_send],
                             forbid: [{literal: 'TLS negotiation failed with error SocketError'}]}}
  - id: EXO-TLS12-LOG-004
    title: no STARTTLS-required refusals
    severity: high
    check: {log_signatures: {sources: [smtp_send],
                             forbid: [{literal: '451 5.7.3 Must issue a STARTTLS command first'}]}}
  - id: TLS-HARD-LOG-002
    title: no legacy TLS negotiated
    severity: high
    check: {log_signatures: {sources: [smtp_send],
                             forbid: [{literal: SP_PROT_TLS1_0_}, {literal: SP_PROT_TLS1_1_},
                                      {literal: SP_PROT_SSL3_}]}}
  - id: TLS-HARD-LOG-003
    title: no TLS 1.0/1.1 refusals by Microsoft 365
    severity: high
    check: {log_signatures: {sources: [smtp_send], forbid: [{literal: '421 4.7.66 TLS 1.0 and 1.1 are not supported'}]}}
"""

COLLECTOR_CHILD = """
import json, sys, yaml
from datetime import datetime, UTC
from scanner.api import CollectRequest, RunContext, EvalContext, Target
from plugins.logs.collector import LogCollector
policy = yaml.safe_load(open(sys.argv[1]))
checks = [r["check"]["log_signatures"] for r in policy["rules"]]
target = Target("bench", sources={"logs": ["smtp_send=" + sys.argv[2]]})
run = RunContext(now=datetime.now(UTC), jobs=int(sys.argv[4]))
c = LogCollector()
(_, facts), = list(c.collect([CollectRequest(target, checks)], run))
out = []
for r in policy["rules"]:
    o = c.evaluate(r["check"]["log_signatures"], facts, EvalContext(run=run, target=target))
    out.append({"rule": r["id"], "status": str(o.status), "actual": o.actual, "evidence": list(o.evidence)})
json.dump({"results": out}, open(sys.argv[3], "w"))
"""


CPU: dict[str, float] = {}
"""Best CPU seconds (user+sys of the process and all its workers) per command, by its first word."""


def _children_cpu() -> float:
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def timed(cmd: list[str], runs: int, env: dict[str, str] | None = None) -> tuple[float, str]:
    """Best wall time of ``runs`` runs (and the best CPU time into :data:`CPU`)."""
    best, cpu, out = float("inf"), float("inf"), ""
    for _ in range(runs):
        c0, t0 = _children_cpu(), time.perf_counter()
        proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
        best = min(best, time.perf_counter() - t0)
        cpu = min(cpu, _children_cpu() - c0)
        out = proc.stdout
        if proc.returncode not in (0, 1):
            sys.exit(f"{cmd[0]} exited {proc.returncode}: {proc.stderr[-2000:]}")
    CPU[" ".join(cmd[:2])] = cpu
    return best, out


def counts_from_report(path: Path) -> dict[str, int]:
    got: dict[str, int] = {}
    for r in json.loads(path.read_text())["results"]:
        for ev in r["evidence"]:
            if "count" in ev:
                got[ev["signature"]] = ev["count"]
    return got


ALL_MATCHING_LINE = ("2026-11-20T09:15:00.201Z,Out,08DD5A1BE8E25D94,8,10.0.0.10:12345,52.101.8.30:25,*,,"
                     "TLS protocol SP_PROT_TLS1_2_CLIENT negotiation succeeded\r\n")
ALL_MATCHING_RULES = {
    "literal": "{forbid: [{literal: 'SP_PROT_TLS1_2_CLIENT'}]}",
    "regex": "{forbid: [{regex: 'SP_PROT_TLS1_[0-9]_CLIENT'}]}",
    "regex+field+within": "{field: context, within: 30d, forbid: [{regex: '(?i)s.*e'}]}",
}


def all_matching(size_mb: int, runs: int, jobs: int) -> None:
    """Time rules over a send log whose every line matches."""
    work = Path(tempfile.mkdtemp(prefix="policyscan-logs-bench-all-"))
    try:
        log = work / "SEND.LOG"
        header = ("#Software: Microsoft Exchange Server\r\n#Version: 15.0.0.0\r\n#Log-type: SMTP Send Protocol Log\r\n"
                  "#Date: 2026-11-20T09:00:00.000Z\r\n#Fields: date-time,connector-id,session-id,sequence-number,"
                  "local-endpoint,remote-endpoint,event,data,context\r\n")
        n = size_mb * 1_000_000 // len(ALL_MATCHING_LINE)
        with log.open("w", newline="") as f:
            f.write(header)
            for _ in range(n // 10_000):
                f.write(ALL_MATCHING_LINE * 10_000)
            f.write(ALL_MATCHING_LINE * (n % 10_000))
        size = log.stat().st_size
        print(f"all-matching send log: {size / 1e6:.1f} MB, {n} lines, every one matching")
        for name, check in ALL_MATCHING_RULES.items():
            policy = work / "p.yaml"
            policy.write_text("apiVersion: policyscan/v1\nkind: Policy\n"
                              "metadata: {id: all, title: all, version: 1.0.0}\n"
                              "rules:\n  - id: R1\n    title: r\n    severity: low\n    check:\n      log_signatures: "
                              + check[:-1] + ", max_count: 1000000000}\n")
            report = work / "r.json"
            cmd = ["policyscan", "scan", "--policy", str(policy), "--logs", f"smtp_send={log}",
                   "--report", f"json={report}", "--jobs", str(jobs), "--now", "2026-11-30T00:00:00Z"]
            t, _ = timed(cmd, runs)
            [r] = json.loads(report.read_text())["results"]
            ok = r["status"] == "pass" and r["actual"] == n
            wrong = "" if ok else f"  WRONG: {r['status']} {r['actual']}"
            print(f"  {name:20s} {t:7.2f} s wall {size / t / 1e6:8.1f} MB/s {t / n * 1e6:6.2f} us/line "
                  f"(CPU {CPU['policyscan scan']:.2f} s){wrong}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size-mb", type=int, default=1075)
    ap.add_argument("--dir", type=Path, help="corpus folder (reused when it holds a manifest)")
    ap.add_argument("--mode", choices=["cli", "collector", "both"], default="both")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 2)
    ap.add_argument("--keep", action="store_true", help="keep the corpus")
    ap.add_argument("--all-matching", type=int, metavar="MB", help="time a log whose every line matches instead")
    a = ap.parse_args()
    if a.all_matching:
        all_matching(a.all_matching, a.runs, a.jobs)
        return
    root = a.dir or Path(tempfile.mkdtemp(prefix="policyscan-logs-bench-"))
    root.mkdir(parents=True, exist_ok=True)
    manifest_path = root / "manifest.json"
    reused = manifest_path.exists()
    work = Path(tempfile.mkdtemp(prefix="policyscan-logs-bench-work-"))
    try:
        if not reused:
            t0 = time.perf_counter()
            manifest = write_corpus(root, a.size_mb)
            manifest_path.write_text(json.dumps(manifest, indent=1))
            print(f"wrote corpus in {time.perf_counter() - t0:.1f}s: {root}")
        manifest = json.loads(manifest_path.read_text())
        files = sorted(str(p) for p in root.glob("*.LOG"))
        total = sum(os.path.getsize(f) for f in files)
        print(f"corpus: {len(files)} files, {total / 1e9:.3f} GB; manifest: {manifest}")
        policy = work / "bench-logs.yaml"
        policy.write_text(POLICY)
        patterns = work / "patterns"
        patterns.write_text("".join(s + "\n" for s in SIGNATURES))
        glob = str(root / "*.LOG")
        subprocess.run(["cat", *files], stdout=subprocess.DEVNULL, check=True)  # warm the page cache
        rows: list[tuple[str, float, float]] = []
        env = dict(os.environ, LC_ALL="C")
        grep_t, _ = timed(["grep", "-F", "-c", "-f", str(patterns), *files], a.runs, env)
        rows.append(("grep -F -c -f patterns", grep_t, CPU["grep -F"]))
        if shutil.which("rg"):
            rg_t, _ = timed(["rg", "-F", "-c", "-f", str(patterns), *files], a.runs)
            rows.append(("rg -F -c -f patterns", rg_t, CPU["rg -F"]))
        ok = True
        for s, want in manifest.items():
            proc = subprocess.run(["grep", "-F", "-c", "-h", "-e", s, *files], capture_output=True, text=True,
                                  env=env)
            found = sum(int(x) for x in proc.stdout.split())
            ok &= found == want
            print(f"  grep count {s!r}: {found} (manifest {want})")
        report = work / "report.json"
        modes = ["cli", "collector"] if a.mode == "both" else [a.mode]
        for mode in modes:
            if mode == "cli":
                cmd = ["policyscan", "scan", "--policy", str(policy), "--logs", f"smtp_send={glob}",
                       "--report", f"json={report}", "--jobs", str(a.jobs), "--target", "bench"]
            else:
                cmd = [sys.executable, "-c", COLLECTOR_CHILD, str(policy), glob, str(report), str(a.jobs)]
            t, _ = timed(cmd, a.runs)
            got = counts_from_report(report)
            for s, want in manifest.items():
                if got.get(s, 0) != want:
                    ok = False
                    print(f"  MISMATCH {mode}: {s!r} counted {got.get(s, 0)}, manifest {want}")
            rows.append((f"policyscan ({mode})", t, CPU[" ".join(cmd[:2])]))
        print(f"\n{'command':26s} {'wall s':>7s} {'GB/s':>6s} {'vs grep':>8s} {'CPU s':>7s} {'GB/CPU-s':>9s}")
        for name, t, cpu in rows:
            print(f"{name:26s} {t:7.3f} {total / t / 1e9:6.2f} {grep_t / t:7.2f}x {cpu:7.3f} {total / cpu / 1e9:9.2f}")
        print(f"(load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores: wall times include other work)")
        print("counts match the manifest" if ok else "COUNTS DIFFER FROM THE MANIFEST")
        if not ok:
            sys.exit(1)
    finally:
        shutil.rmtree(work, ignore_errors=True)
        if not (a.keep or reused or a.dir):
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
