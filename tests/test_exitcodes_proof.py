"""The gate (SPEC §3): a green exit needs at least one judged result, whatever ``--fail-on`` says."""

from __future__ import annotations

import pytest

from scanner.api import Severity, Status
from scanner.exitcodes import ExitCode, gate, gate_counts
from scanner.report import Result


def _r(status: Status, severity: Severity) -> Result:
    return Result("t", "p", f"{status}-{severity}", "title", severity, status, status, "m")


@pytest.mark.parametrize("fail_on", list(Severity))
def test_only_errors_and_skips_never_exit_0_even_below_fail_on(fail_on: Severity) -> None:
    """Errors under the threshold do not fail the gate, but they prove nothing either: exit 3."""
    results = [_r(Status.ERROR, Severity.INFO), _r(Status.SKIP, Severity.CRITICAL)]
    assert gate(results, fail_on) is ExitCode.INCOMPLETE
    assert gate_counts({(Status.ERROR, Severity.INFO): 1, (Status.SKIP, Severity.CRITICAL): 1}, fail_on) is (
        ExitCode.INCOMPLETE
    )


def test_one_judged_result_of_any_severity_is_enough() -> None:
    for judged in (Status.PASS, Status.WAIVED):
        results = [_r(Status.ERROR, Severity.LOW), _r(judged, Severity.INFO)]
        assert gate(results, Severity.CRITICAL) is ExitCode.OK
    assert gate([_r(Status.FAIL, Severity.INFO), _r(Status.ERROR, Severity.LOW)], Severity.HIGH) is ExitCode.OK
    assert gate([_r(Status.ERROR, Severity.HIGH), _r(Status.PASS, Severity.LOW)], Severity.HIGH) is (
        ExitCode.INCOMPLETE
    )
