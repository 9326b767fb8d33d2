"""Waivers (SPEC §6): fail -> waived until the expiry date; errors are never waived."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from scanner.api import Severity, Status
from scanner.output import report_schema_errors
from scanner.policy import Waiver, WaiverSet
from scanner.report import Result
from scanner.waivers import apply_waivers
from tests.conftest import DATA, POLICIES, run_cli

NOW = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)


def r(rule: str, status: Status, target: str = "exch02", policy: str = "p") -> Result:
    return Result(target, policy, rule, "t", Severity.HIGH, status, status, "m")


WAIVERS = WaiverSet(
    "w.yaml",
    "0" * 64,
    (
        Waiver(rule="EXO-*", reason="replaced in December", expires="2026-12-31", targets=("exch0?",), line=4),
        Waiver(rule="OLD-1", reason="was fine last year", expires="2026-11-25", line=9),
        Waiver(rule="OTHER", reason="other policy", expires="2027-01-01", policy="q", line=12),
    ),
)


def test_fail_is_waived_until_it_expires_and_errors_stay():
    out = apply_waivers(
        [
            r("EXO-1", Status.FAIL),
            r("EXO-2", Status.ERROR),
            r("EXO-3", Status.PASS),
            r("EXO-4", Status.FAIL, target="edge01"),
            r("OLD-1", Status.FAIL),
            r("OTHER", Status.FAIL),
        ],
        WAIVERS,
        NOW,
    )
    waived, error, passed, other_target, expired, other_policy = out
    assert (waived.status, waived.outcome) == (Status.WAIVED, Status.FAIL)
    assert waived.waiver == {
        "reason": "replaced in December",
        "expires": "2026-12-31",
        "expired": False,
        "source": "w.yaml:4",
    }
    assert error.status is Status.ERROR and error.waiver is None
    assert passed.status is Status.PASS and passed.waiver is None
    assert other_target.status is Status.FAIL and other_target.waiver is None
    assert expired.status is Status.FAIL and expired.waiver["expired"] is True
    assert "waiver expired on 2026-11-25" in expired.message
    assert other_policy.status is Status.FAIL


def test_the_expiry_day_itself_is_still_covered():
    last_day = datetime(2026, 12, 31, 23, 59, tzinfo=UTC)
    (out,) = apply_waivers([r("EXO-1", Status.FAIL)], WAIVERS, last_day)
    assert out.status is Status.WAIVED
    (out,) = apply_waivers([r("EXO-1", Status.FAIL)], WAIVERS, datetime(2027, 1, 1, tzinfo=UTC))
    assert out.status is Status.FAIL


def test_cli_applies_waivers_to_a_real_scan(tmp_path):
    w = tmp_path / "waivers.yaml"
    w.write_text(
        "apiVersion: policyscan/v1\nkind: Waivers\nwaivers:\n"
        "  - {rule: 'EXO-TLS12-00*', policy: exchange-m365-tls12,\n"
        "     reason: new server in December, expires: 2026-12-31}\n"
    )

    def scan(now: str):
        seed = DATA / "reg" / "golden" / "schannel-seed-failure.reg"
        return run_cli("scan", "--policy", str(POLICIES / "exchange-m365-tls12.yaml"), "--reg", str(seed),
                       "--waivers", str(w), "--now", now, "--report", f"json={tmp_path / 'r.json'}",
                       "--report", f"junit={tmp_path / 'r.xml'}")

    out = scan("2026-11-26T00:00:00Z")
    report = json.loads((tmp_path / "r.json").read_text())
    assert report_schema_errors(report) == []
    assert out.returncode == 0, out.stderr  # every failure is waived: the gate passes
    waived = [x for x in report["results"] if x["status"] == "waived"]
    assert {x["rule"] for x in waived} == {"EXO-TLS12-001", "EXO-TLS12-002", "EXO-TLS12-003", "EXO-TLS12-004"}
    assert all(x["outcome"] == "fail" for x in waived)
    assert report["summary"]["waived"] == 4
    assert report["waivers"]["file"] == str(w) and len(report["waivers"]["sha256"]) == 64
    assert "waived: new server in December" in (tmp_path / "r.xml").read_text()
    out = scan("2027-01-02T00:00:00Z")
    assert out.returncode == 1
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["summary"]["waived"] == 0
    assert all("waiver expired on 2026-12-31" in x["message"] for x in report["results"] if x["status"] == "fail")


def test_a_broken_waiver_file_stops_the_run_before_scanning(tmp_path):
    w = tmp_path / "waivers.yaml"
    w.write_text("apiVersion: policyscan/v1\nkind: Waivers\nwaivers:\n  - {rule: X, reason: r, expires: soon}\n")
    out = run_cli(
        "scan",
        "--policy",
        str(POLICIES),
        "--reg",
        str(DATA / "reg" / "golden" / "schannel-hardened.reg"),
        "--waivers",
        str(w),
        "--report",
        f"json={tmp_path / 'r.json'}",
    )
    assert out.returncode == 2
    assert f"{w}:4:" in out.stderr and "'soon' is not a 'date'" in out.stderr
    assert not (tmp_path / "r.json").exists()
