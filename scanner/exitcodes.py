"""Exit codes (SPEC §3), from one table, and the gate that picks one for a scan."""

from __future__ import annotations

import enum
from collections import Counter
from collections.abc import Iterable, Mapping

from scanner.api import Severity, Status
from scanner.report import Result


class ExitCode(enum.IntEnum):
    OK = 0
    """Nothing below went wrong."""
    FAILED = 1
    """At least one ``fail`` at or above ``--fail-on``."""
    USAGE = 2
    """Usage error, or an invalid policy / inventory / waiver file: nothing was scanned."""
    INCOMPLETE = 3
    """No qualifying fail, but an ``error`` at or above ``--fail-on``; or nothing was checked at all
    (no result was a ``pass``, ``fail`` or ``waived``: only skips and errors, or no result)."""
    INTERNAL = 4
    """A bug: a traceback file was written and its path printed."""


_JUDGED = frozenset({Status.PASS, Status.FAIL, Status.WAIVED})


def gate(results: Iterable[Result], fail_on: Severity = Severity.LOW) -> ExitCode:
    """The exit code of a scan. An ``error`` never passes; neither does a run of only skips.

    "Checked" means judged: a ``pass``, ``fail`` or ``waived`` result of any
    severity. A skip or an error is a check that was not carried out, so a run
    whose results are all skips and errors exits 3 even when ``--fail-on``
    sits above every error's severity: nothing was proven.
    """
    return gate_counts(Counter((r.status, r.severity) for r in results), fail_on)


def gate_counts(counts: Mapping[tuple[Status, Severity], int], fail_on: Severity = Severity.LOW) -> ExitCode:
    """:func:`gate` from the number of results per ``(status, severity)`` (a streamed scan keeps only these)."""
    threshold = fail_on.rank
    any_fail = any_error = checked = False
    for (status, severity), n in counts.items():
        if n <= 0:
            continue
        if status in _JUDGED:
            checked = True
        if severity.rank < threshold:
            continue
        if status is Status.FAIL:
            any_fail = True
        elif status is Status.ERROR:
            any_error = True
    if any_fail:
        return ExitCode.FAILED
    if any_error or not checked:
        return ExitCode.INCOMPLETE
    return ExitCode.OK
