"""``policyscan fix`` without Wine: exit codes (SPEC §3), output placement, refusals, the PowerShell golden file.

What the written files do to a real registry is proven in ``test_registry_fix.py`` (Wine).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from test_registry_fix import ABSENT, POLICY, SCANNED, _reg_bytes

from plugins.registry import fixcmd, fixps
from plugins.registry.fixplan import Change, plan_fixes

DATA = Path(__file__).resolve().parent.parent / "data" / "fix"
KEY = "HKEY_LOCAL_MACHINE\\SOFTWARE\\T"


def _fix(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "scanner", "fix", *args], capture_output=True, text=True,
                          timeout=120, cwd=cwd)


def _result(target: str = "h1", rule: str = "R1", status: str = "fail", **evidence: Any) -> dict[str, Any]:
    ev = {"source": "x.reg:3", "key": KEY, "value": "V", "type": "REG_DWORD", "operator": "equals",
          "required_type": None, "expected": 1, "combinator": None, **evidence}
    return {"target": target, "policy": "p", "rule": rule, "status": status, "check_type": "registry",
            "message": "m", "evidence": [ev], "remediation": f"fix {rule} by hand"}


_WAIVER = {"rule": "R1", "reason": "accepted by the CAB", "expires": "2099-01-01", "expired": False}


def _complete(r: dict[str, Any]) -> dict[str, Any]:
    """A result with every field a real report's result has (fix reads reports as strictly as diff)."""
    waived = r["status"] == "waived"
    return {"title": r["rule"], "severity": "high", "outcome": "fail" if waived else r["status"], "expected": None,
            "actual": None, "waiver": dict(_WAIVER) if waived else None, **r}


def _report(tmp: Path, *results: dict[str, Any]) -> Path:
    path = tmp / "report.json"
    full = [_complete(r) for r in results]
    summary = {s: sum(r["status"] == s for r in full) for s in ("pass", "fail", "error", "skip", "waived")}
    stamp = "2026-11-30T00:00:00Z"
    path.write_text(json.dumps({
        "schema": "policyscan/report/v1", "tool": {"name": "policyscan", "version": "1.0.0"},
        "started_at": stamp, "finished_at": stamp, "now": stamp,
        "policies": [{"id": "p", "title": "p", "version": "1", "sha256": "0" * 64, "path": "p.yaml"}],
        "inputs": {}, "waivers": None,
        "targets": [{"name": t, "labels": {}} for t in sorted({r["target"] for r in full} or {"h1"})],
        "summary": {"total": len(full), **summary}, "results": full,
    }), encoding="utf-8")
    return path


def test_not_a_report_is_a_usage_error(tmp_path: Path) -> None:
    bad = tmp_path / "notes.json"
    bad.write_text('{"hello": 1}', encoding="utf-8")
    done = _fix("--from", str(bad), "--format", "reg")
    assert done.returncode == 2
    assert done.stdout == ""
    assert len(done.stderr.strip().splitlines()) == 1 and str(bad) in done.stderr
    missing = _fix("--from", str(tmp_path / "nope.json"), "--format", "cmd")
    assert missing.returncode == 2 and "nope.json" in missing.stderr


def test_everything_fixable_exits_0(tmp_path: Path) -> None:
    done = _fix("--from", str(_report(tmp_path, _result())), "--format", "reg", "--output", str(tmp_path / "f.reg"))
    assert done.returncode == 0, done.stderr
    text = (tmp_path / "f.reg").read_bytes().decode("utf-16")
    assert text.startswith("Windows Registry Editor Version 5.00\r\n")
    assert f"[{KEY}]\r\n" in text and '"V"=dword:00000001\r\n' in text


def test_an_unfixable_rule_is_listed_and_exits_1(tmp_path: Path) -> None:
    report = _report(tmp_path, _result(), _result(rule="R2", operator="min", expected=3))
    done = _fix("--from", str(report), "--format", "cmd", "--output", str(tmp_path / "f.cmd"))
    assert done.returncode == 1
    assert "not fixed: h1 p/R2: min 3: no single value to set" in done.stderr
    assert "remediation: fix R2 by hand" in done.stderr
    assert 'reg add "HKLM\\SOFTWARE\\T" /v "V" /t REG_DWORD /d 1 /f' in (tmp_path / "f.cmd").read_text()


def test_nothing_failed_exits_0(tmp_path: Path) -> None:
    done = _fix("--from", str(_report(tmp_path, _result(status="pass"))), "--format", "cmd")
    assert done.returncode == 0
    assert "nothing to set" in done.stdout


def test_waived_results_are_not_fixed(tmp_path: Path) -> None:
    done = _fix("--from", str(_report(tmp_path, _result(status="waived"))), "--format", "reg",
                "--output", str(tmp_path / "f.reg"))
    assert done.returncode == 0
    assert "waived, not fixed: h1 p/R1" in done.stderr
    assert '"V"' not in (tmp_path / "f.reg").read_bytes().decode("utf-16")


@pytest.mark.parametrize("status, evidence, reason", [
    ("error", {}, "error, not fail"),
    ("fail", {"operator": "in", "expected": [1, 2]}, "several values would do"),
    ("fail", {"operator": "exists", "expected": True}, "no single value to set"),
    ("fail", {"combinator": "any"}, "a check under 'any'"),
    ("fail", {"combinator": "not"}, "a check under 'not'"),
    ("fail", {"value": None, "operator": "exists"}, "only values can be set"),
    ("fail", {"required_type": "REG_DWORD", "expected": "1"}, "cannot be a REG_DWORD value"),
    ("fail", {"required_type": "REG_NONE"}, "type REG_NONE cannot be written"),
    ("fail", {"key": "HKXX\\nope"}, "is not a registry key"),
    ("fail", {"value": "a\nb"}, "control characters"),
])
def test_refusals(tmp_path: Path, status: str, evidence: dict[str, Any], reason: str) -> None:
    done = _fix("--from", str(_report(tmp_path, _result(status=status, **evidence))), "--format", "reg",
                "--output", str(tmp_path / "f.reg"))
    assert done.returncode == 1
    assert reason in done.stderr


def test_other_check_types_are_listed(tmp_path: Path) -> None:
    smtp = {"target": "h1", "policy": "p", "rule": "S1", "status": "fail", "check_type": "smtp_tls",
            "message": "TLSv1.2 refused", "evidence": [{"source": "mx:25"}], "remediation": "enable TLS 1.2"}
    done = _fix("--from", str(_report(tmp_path, smtp)), "--format", "reg", "--output", str(tmp_path / "f.reg"))
    assert done.returncode == 1
    assert "not fixed: h1 p/S1: a smtp_tls rule" in done.stderr and "remediation: enable TLS 1.2" in done.stderr


def test_conflicting_rules_are_both_refused(tmp_path: Path) -> None:
    report = _report(tmp_path, _result(), _result(rule="R2", expected=0))
    done = _fix("--from", str(report), "--format", "reg", "--output", str(tmp_path / "f.reg"))
    assert done.returncode == 1
    assert "p/R1" in done.stderr and "p/R2" in done.stderr and "rules disagree" in done.stderr
    assert '"V"' not in (tmp_path / "f.reg").read_bytes().decode("utf-16")


def test_several_targets_need_a_directory(tmp_path: Path) -> None:
    report = _report(tmp_path, _result(target="exch01"), _result(target="../exch02"))
    done = _fix("--from", str(report), "--format", "reg")
    assert done.returncode == 2 and "--output DIR" in done.stderr
    assert _fix("--from", str(report), "--format", "reg", "--output", str(tmp_path / "one.reg")).returncode == 2
    out = tmp_path / "fixes"
    done = _fix("--from", str(report), "--format", "powershell", "--output", f"{out}/")
    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in out.iterdir()) == ["_exch02.ps1", "exch01.ps1"]
    assert not (tmp_path / "exch02.ps1").exists()


def test_types_chosen() -> None:
    def plan(**ev: Any) -> Change:
        p, _ = plan_fixes([_result(**ev)])
        assert not p.unfixed, p.unfixed
        return p.changes["h1"][0]

    assert (plan().type, plan().data) == ("REG_DWORD", 1)
    assert plan(type="REG_SZ").type == "REG_DWORD"  # found type of another kind: the operand's kind decides
    assert plan(type=None, expected=1 << 40).type == "REG_QWORD"
    assert plan(type="REG_QWORD", expected=2).type == "REG_QWORD"  # found type kept
    assert plan(type=None, expected="s").type == "REG_SZ"
    assert plan(type="REG_EXPAND_SZ", expected="%x%").type == "REG_EXPAND_SZ"
    assert plan(type=None, expected=["a", "b"]).data == ("a", "b")
    assert plan(type="REG_BINARY", expected="DE ad").data == b"\xde\xad"
    assert plan(type="REG_BINARY", expected="xyz").type == "REG_SZ"
    p, _ = plan_fixes([_result(type=None, expected=["a", ""])])
    assert "h1" not in p.changes and p.unfixed  # a trailing empty string cannot be stored
    assert plan(required_type="REG_BINARY", expected="00,ff").data == b"\x00\xff"


def test_cmd_quoting() -> None:
    assert fixcmd.arg("a%b") == '"a%%b"'
    assert fixcmd.arg("end\\\\") == '"end\\\\\\\\"'
    assert fixcmd.arg("mid\\dle") == '"mid\\dle"'
    c = Change("h", "HKEY_LOCAL_MACHINE", "S", 'q"', "REG_SZ", "x", ("p/r",))
    assert fixcmd.refusal(c) is not None


def test_powershell_quoting() -> None:
    assert fixps.sq("it's") == "('it' + [char]0x0027 + 's')"
    assert fixps.sq("a\u2019b") == "('a' + [char]0x2019 + 'b')"
    assert fixps.sq("\nx") == "('' + [char]0x000a + 'x')"
    assert fixps.sq("$env:x `n") == "'$env:x `n'"


def test_powershell_golden(tmp_path: Path) -> None:
    """The script for the Wine-tested policy, byte for byte (PowerShell cannot run here: read it when it changes)."""
    (tmp_path / "scanned.reg").write_bytes(_reg_bytes(SCANNED))
    (tmp_path / "absent.reg").write_bytes(_reg_bytes(ABSENT))
    scan = subprocess.run([sys.executable, "-m", "scanner", "scan", "--policy", str(POLICY), "--target", "host1",
                           "--reg", "scanned.reg", "--reg", "absent.reg", "--report", "json=report.json"],
                          capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert scan.returncode == 1, scan.stderr
    done = _fix("--from", "report.json", "--format", "powershell", "--output", "fix.ps1", cwd=tmp_path)
    assert done.returncode == 1
    assert (tmp_path / "fix.ps1").read_bytes() == (DATA / "fixable.ps1").read_bytes()


def test_a_fix_never_breaks_a_passing_rule(tmp_path: Path) -> None:
    keeps = _result(rule="R2", status="pass", operator="min", expected=0)
    breaks = _result(rule="R3", status="pass", operator="not_equals", expected=1)
    done = _fix("--from", str(_report(tmp_path, _result(), keeps)), "--format", "cmd")
    assert done.returncode == 0, done.stderr
    done = _fix("--from", str(_report(tmp_path, _result(), keeps, breaks)), "--format", "reg",
                "--output", str(tmp_path / "f.reg"))
    assert done.returncode == 1
    assert "would make p/R3 fail, which passes now" in done.stderr
    assert '"V"' not in (tmp_path / "f.reg").read_bytes().decode("utf-16")


def test_a_fix_never_breaks_a_passing_rule_under_a_combinator_or_one_that_wants_a_key_absent(tmp_path: Path) -> None:
    """Found by the black-box review: `any: [not: equals 'abc']` and `exists: false` passed, and the fix
    for a failing rule on the same value (or a value under that key) made them fail."""
    under_not = _result(rule="F", status="pass", combinator="not")
    plain = _fix("--from", str(_report(tmp_path, _result(rule="E"), under_not)), "--format", "reg",
                 "--output", str(tmp_path / "a.reg"))
    assert plain.returncode == 1 and "would make p/F fail" in plain.stderr, plain.stderr
    wants_absent = _result(rule="J", status="pass", value=None, operator="exists", expected=False,
                           key=KEY + "\\New")
    under_it = _result(rule="K", key=KEY + "\\New\\Deeper")
    done = _fix("--from", str(_report(tmp_path, under_it, wants_absent)), "--format", "reg",
                "--output", str(tmp_path / "b.reg"))
    assert done.returncode == 1 and "would make p/J fail" in done.stderr, done.stderr
    assert "Deeper" not in (tmp_path / "b.reg").read_bytes().decode("utf-16")
