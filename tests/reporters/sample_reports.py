"""Report objects for the reporter tests: every status, a dotted target name, a
waived result, evidence with control characters and non-ASCII text."""

from __future__ import annotations

from datetime import UTC, datetime

from scanner.api import Severity, Status
from scanner.report import PolicyInfo, Report, Result, TargetInfo

T0 = datetime(2026, 11, 26, 10, 0, 0, tzinfo=UTC)
T1 = datetime(2026, 11, 26, 10, 0, 2, tzinfo=UTC)

POLICY = "corp.exchange-tls12"  # a dotted policy id: its dots must stay in JUnit class names
BASELINE = "baseline"
DOTTED = "exch01.contoso.local"
PLAIN = "exch02"

CONTROL_LINE = "bad\x00null\x1b[31mred\x0cfeed"
CONTROL_LINE_ESCAPED = "bad\\x00null\\x1b[31mred\\x0cfeed"
SPANISH = "Configuración incorrecta: café ✓ 😀"
REMEDIATION = "Set Enabled to 1 under TLS 1.2\\Client and restart the server."
WAIVER = {"reason": "Replaced by exch05 in December", "expires": "2026-12-31"}
SKIP_REASON = "target has no smtp source"
TRICKY_TITLE = 'Uses "TLS" & <STARTTLS>'


def result(target: str, policy: str, rule: str, status: Status, **kw: object) -> Result:
    outcome = Status.FAIL if status is Status.WAIVED else status
    fields: dict[str, object] = {
        "title": f"Title of {rule}",
        "severity": Severity.HIGH,
        "message": f"{rule} is {status.value}",
        "check_type": "registry",
    }
    fields.update(kw)
    return Result(target=target, policy=policy, rule=rule, status=status, outcome=outcome, **fields)  # type: ignore[arg-type]


def sample_results() -> list[Result]:
    results = [
        result(DOTTED, POLICY, "EXO-001", Status.PASS, expected=1, actual=1),
        result(
            DOTTED, POLICY, "EXO-002", Status.FAIL,
            title="SCHANNEL TLS 1.2 is enabled for the client side",
            message="Enabled is 0, expected 1",
            expected=1, actual=0,
            evidence=[
                {"source": "exports/exch01.reg:14", "key": "HKLM\\SOFTWARE\\X", "value": "Enabled",
                 "type": "REG_DWORD"},
                {"source": "logs/send.LOG:7", "line": CONTROL_LINE, "count": 3},
            ],
            remediation=REMEDIATION,
        ),
        result(DOTTED, POLICY, "EXO-003", Status.ERROR, severity=Severity.MEDIUM,
               message="HKLM\\SOFTWARE\\Y not covered by the export (exports/exch01.reg)",
               evidence=[{"source": "exports/exch01.reg"}]),
        result(DOTTED, POLICY, "EXO-004", Status.SKIP, message=SKIP_REASON, severity=Severity.LOW),
        result(PLAIN, BASELINE, "BASE-1", Status.PASS, severity=Severity.INFO),
        result(PLAIN, POLICY, "EXO-001", Status.PASS),
        result(PLAIN, POLICY, "EXO-002", Status.WAIVED, message="Enabled is 0, expected 1",
               expected=1, actual=0, waiver=dict(WAIVER), remediation=REMEDIATION),
        result(PLAIN, POLICY, "EXO-003", Status.FAIL, title=TRICKY_TITLE, severity=Severity.CRITICAL,
               message=f"{SPANISH}\nsecond line\twith tab", expected=["TLSv1.2"], actual={"a": 0.5},
               evidence=[{"source": "mail.contoso.com:25", "version": "TLSv1.0"}],
               remediation="Disable TLS 1.0.\nThen restart."),
        result(PLAIN, POLICY, "EXO-004", Status.SKIP, message=SKIP_REASON, severity=Severity.LOW),
    ]
    return sorted(results, key=lambda r: r.sort_key)


def sample_report(results: list[Result] | None = None) -> Report:
    return Report(
        tool_version="1.0.0",
        started_at=T0,
        finished_at=T1,
        now=T0,
        policies=[
            PolicyInfo(POLICY, "Exchange TLS 1.2", "1.0.0", "a" * 64, "policies/exchange.yaml"),
            PolicyInfo(BASELINE, "Baseline", "0.1", "b" * 64, "policies/baseline.yaml"),
        ],
        inputs={"smtp_port": 25},
        targets=[TargetInfo(DOTTED, {"role": "exchange"}), TargetInfo(PLAIN, {})],
        results=sample_results() if results is None else results,
        waivers={"file": "waivers.yaml", "sha256": "c" * 64},
    )


def big_report(targets: int, rules: int) -> Report:
    """A report of ``targets x rules`` results, mostly passes, for speed checks."""
    statuses = [Status.PASS] * 6 + [Status.FAIL, Status.ERROR, Status.SKIP, Status.WAIVED]
    results = []
    for t in range(targets):
        name = f"exch{t:05d}.contoso.local"
        for r in range(rules):
            status = statuses[r % len(statuses)]
            results.append(result(
                name, POLICY, f"EXO-{r:03d}", status,
                message="Enabled is 0, expected 1", expected=1, actual=0,
                evidence=[{"source": f"exports/{name}.reg:{r + 10}", "key": "HKLM\\SYSTEM\\X\\TLS 1.2\\Client",
                           "value": "Enabled", "type": "REG_DWORD"}],
                remediation=REMEDIATION, waiver=dict(WAIVER) if status is Status.WAIVED else None,
            ))
    return Report("1.0.0", T0, T1, T0, [PolicyInfo(POLICY, "t", "1.0.0", "a" * 64)], {},
                  [TargetInfo(f"exch{t:05d}.contoso.local") for t in range(targets)], results)
