"""Applying waivers to results (SPEC §6).

A waiver applies to ``fail`` results only: an ``error`` stays an error (a check
that could not be carried out is never excused). A waived result has status
``waived`` and keeps its real outcome in ``outcome``. A waiver whose
``expires`` date is before ``--now``'s date no longer applies; the result stays
``fail`` and says the waiver expired. The first matching waiver in the file
decides.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from fnmatch import fnmatchcase

from scanner.api import Status
from scanner.policy import Waiver, WaiverSet
from scanner.report import Result


def _matches(w: Waiver, r: Result) -> bool:
    if not fnmatchcase(r.rule, w.rule):
        return False
    if w.policy is not None and w.policy != r.policy:
        return False
    return not w.targets or any(fnmatchcase(r.target, t) for t in w.targets)


def apply_waivers(results: Sequence[Result], waivers: WaiverSet, now: datetime) -> list[Result]:
    """Return ``results`` with every matching waiver applied (results keep their order)."""
    today = now.date()
    out: list[Result] = []
    for r in results:
        waiver = next((w for w in waivers.waivers if _matches(w, r)), None) if r.status is Status.FAIL else None
        if waiver is None:
            out.append(r)
            continue
        expired = date.fromisoformat(waiver.expires) < today
        info = {
            "reason": waiver.reason,
            "expires": waiver.expires,
            "expired": expired,
            "source": f"{waivers.path}:{waiver.line}",
        }
        if expired:
            message = f"{r.message} (waiver expired on {waiver.expires}: {waiver.reason})"
            out.append(r._replace(message=message, waiver=info))
        else:
            out.append(r._replace(status=Status.WAIVED, waiver=info))
    return out
