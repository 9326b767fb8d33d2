"""How statuses combine (SPEC §4.1, one table for every case).

| where            | rule                                                                     |
|------------------|--------------------------------------------------------------------------|
| several parts    | fail if any part fails; else error if any errors; else pass              |
| ``all: [...]``   | fail if any child fails; else error if any errors; else pass if any      |
|                  | passed; else skip                                                        |
| ``any: [...]``   | pass if any child passes; else error if any errors; else fail if any     |
|                  | failed; else skip                                                        |
| ``not: check``   | pass ↔ fail; error and skip stay                                         |

``combine_parts`` is for collectors judging one check over many parts (the
smtp plugin uses it). The combinators return the combined status and the index of the child that
decided it, so messages and placeholders come from that child.
"""

from __future__ import annotations

from collections.abc import Sequence

from scanner.api import Status

_ORDER_ALL = (Status.FAIL, Status.ERROR, Status.PASS, Status.SKIP)
_ORDER_ANY = (Status.PASS, Status.ERROR, Status.FAIL, Status.SKIP)


def _first(statuses: Sequence[Status], order: Sequence[Status]) -> tuple[Status, int]:
    for wanted in order:
        for i, s in enumerate(statuses):
            if s is wanted:
                return wanted, i
    return Status.SKIP, -1


def combine_all(statuses: Sequence[Status]) -> tuple[Status, int]:
    return _first(statuses, _ORDER_ALL)


def combine_any(statuses: Sequence[Status]) -> tuple[Status, int]:
    return _first(statuses, _ORDER_ANY)


def combine_not(status: Status) -> Status:
    if status is Status.PASS:
        return Status.FAIL
    if status is Status.FAIL:
        return Status.PASS
    return status


def combine_parts(statuses: Sequence[Status]) -> Status:
    """One check over several endpoints, files or signatures: fail > error > pass.

    With no parts at all nothing was checked, which is an error, not a pass.
    """
    if not statuses:
        return Status.ERROR
    if Status.FAIL in statuses:
        return Status.FAIL
    if Status.ERROR in statuses:
        return Status.ERROR
    if all(s is Status.SKIP for s in statuses):
        return Status.SKIP
    return Status.PASS
