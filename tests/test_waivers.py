"""Waivers (SPEC §6): fail -> waived until the expiry date; errors are never waived."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from scanner.api import Severity, Status
from scanner.loader import load_waivers
from scanner.output import report_schema_errors
from scanner.policy import Waiver, WaiverSet
from scanner.report import Result
from scanner.waivers import EVERY_TARGET, apply_waivers
from tests.conftest import DATA, POLICIES, run_cli

NOW = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)


def r(rule: str, status: Status, target: str = "exch02", policy: str = "p") -> Result:
    return Result(target, policy, rule, "t", Severity.HIGH, status, status, "m")


WAIVERS = WaiverSet(
    "w.yaml",
    "0" * 64,
    (
        Waiver(rule="EXO-*", reason="replaced in December", expires="2026-12-31", targets=("exch0?",), line=4),
        Waiver(rule="OLD-1", reason="was fine last year", expires="2026-11-25", targets=EVERY_TARGET, line=9),
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


def test_a_waiver_with_an_empty_targets_list_waives_nothing():
    """Built in code (the schema refuses ``targets: []`` in a file): empty is no target, never every one."""
    empty = WaiverSet("w.yaml", "0" * 64, (Waiver(rule="*", reason="r", expires="2027-01-01", targets=(), line=4),))
    out = apply_waivers([r("EXO-1", Status.FAIL), r("X", Status.FAIL, target="edge01")], empty, NOW)
    assert [x.status for x in out] == [Status.FAIL, Status.FAIL]
    assert all(x.waiver is None for x in out)


def test_a_file_waiver_without_targets_covers_every_target(tmp_path):
    w = tmp_path / "w.yaml"
    w.write_text("apiVersion: policyscan/v1\nkind: Waivers\nwaivers:\n"
                 "  - {rule: EXO-1, reason: r, expires: 2027-01-01}\n"
                 "  - {rule: EXO-2, reason: r, expires: 2027-01-01, targets: [edge*]}\n")
    ws = load_waivers(str(w))
    assert [x.targets for x in ws.waivers] == [EVERY_TARGET, ("edge*",)]
    out = apply_waivers([r("EXO-1", Status.FAIL, target="any.host"), r("EXO-2", Status.FAIL, target="exch02")], ws, NOW)
    assert [x.status for x in out] == [Status.WAIVED, Status.FAIL]


def _set(*waivers: Waiver) -> WaiverSet:
    return WaiverSet("w.yaml", "0" * 64, waivers)


def test_an_expired_waiver_listed_first_does_not_hide_its_renewal():
    old = Waiver(rule="EXO-*", reason="first try", expires="2026-10-31", targets=EVERY_TARGET, line=4)
    renewed = Waiver(rule="EXO-1", reason="renewed", expires="2026-12-31", targets=EVERY_TARGET, line=8)
    (out,) = apply_waivers([r("EXO-1", Status.FAIL)], _set(old, renewed), NOW)
    assert out.status is Status.WAIVED
    assert out.waiver == {"reason": "renewed", "expires": "2026-12-31", "expired": False, "source": "w.yaml:8"}


def test_of_several_live_waivers_the_latest_expiry_decides_and_the_first_on_a_tie():
    soon = Waiver(rule="EXO-1", reason="soon", expires="2026-12-01", targets=EVERY_TARGET, line=4)
    later = Waiver(rule="EXO-*", reason="later", expires="2027-03-01", targets=EVERY_TARGET, line=8)
    tie = Waiver(rule="*", reason="tie", expires="2027-03-01", targets=EVERY_TARGET, line=12)
    (out,) = apply_waivers([r("EXO-1", Status.FAIL)], _set(soon, later, tie), NOW)
    assert out.waiver is not None and out.waiver["reason"] == "later"


def test_when_every_matching_waiver_expired_the_latest_is_named():
    a = Waiver(rule="EXO-1", reason="a", expires="2026-06-01", targets=EVERY_TARGET, line=4)
    b = Waiver(rule="EXO-1", reason="b", expires="2026-11-01", targets=EVERY_TARGET, line=8)
    (out,) = apply_waivers([r("EXO-1", Status.FAIL)], _set(a, b), NOW)
    assert out.status is Status.FAIL
    assert out.waiver is not None and out.waiver["reason"] == "b" and out.waiver["expired"] is True
    assert "waiver expired on 2026-11-01: b" in out.message


def test_cli_warns_once_per_waiver_that_matches_no_rule(tmp_path):
    w = tmp_path / "waivers.yaml"
    w.write_text(
        "apiVersion: policyscan/v1\nkind: Waivers\nwaivers:\n"
        "  - {rule: 'EXO-TLS12-00*', reason: used, expires: 2026-12-31}\n"
        "  - {rule: 'EXO-TSL12-*', reason: a typo, expires: 2026-12-31}\n"
        "  - {rule: 'EXO-TLS12-001', policy: exchange-tls-hardening, reason: wrong policy, expires: 2026-12-31}\n"
    )
    seed = DATA / "reg" / "golden" / "schannel-seed-failure.reg"
    out = run_cli("scan", "--policy", str(POLICIES / "exchange-m365-tls12.yaml"), "--reg", str(seed),
                  "--waivers", str(w), "--now", "2026-11-26T00:00:00Z", "--report", f"json={tmp_path / 'r.json'}")
    assert out.returncode == 0, out.stderr  # the warnings do not change the verdict
    warnings = [line for line in out.stderr.splitlines() if "warning" in line]
    assert warnings == [
        f"policyscan: warning: {w}:5: waiver for rule 'EXO-TSL12-*' matches no rule of the loaded policies",
        f"policyscan: warning: {w}:6: waiver for rule 'EXO-TLS12-001' of policy 'exchange-tls-hardening' "
        "matches no rule of the loaded policies",
    ]
