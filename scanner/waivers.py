"""Applying waivers to results (SPEC §6).

The rules, in the order they are applied to one result:

* **Only a fail is waived.** A waiver applies to ``fail`` results only: an
  ``error`` stays an error (a check that could not be carried out is never
  excused), and ``pass`` and ``skip`` are left alone. A waived result has
  status ``waived`` and keeps its real outcome in ``outcome``.
* **What a waiver matches.** ``rule`` is a glob over rule ids (``fnmatch``,
  case-sensitive); ``policy``, when given, is the exact policy id;
  ``targets`` is a list of globs over target names. A waiver matches the
  targets its globs name and no others: an *empty* ``targets`` matches
  **nothing**, never everything (the schema refuses ``targets: []`` in a
  file; a waiver built in code that means every target says
  :data:`EVERY_TARGET`). A file's waiver without ``targets`` covers every
  target: the loader gives it :data:`EVERY_TARGET`.
* **Which waiver decides.** Of the waivers that match, the ones that still
  apply at ``--now`` (``expires`` on or after ``--now``'s date, UTC) win over
  expired ones, whatever their order in the file; among those, the one with
  the latest ``expires``; on a tie, the first in the file. So an expired
  waiver listed before its renewal does not hide the renewal.
* **Expired.** When every matching waiver has expired, the result stays
  ``fail``, names the most recently expired waiver and says it expired.
* **Stale waivers.** :func:`unused_waivers` names each waiver whose rule glob
  (and policy) matches no rule of the loaded policies; the CLI prints one
  warning line per waiver, with its file and line: a typo in a waiver must not
  go unnoticed until the day its rule fails.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from fnmatch import fnmatchcase

from scanner.api import Status
from scanner.i18n import translator
from scanner.policy import EVERY_TARGET, Policy, Waiver, WaiverSet
from scanner.report import Result

__all__ = ["EVERY_TARGET", "apply_waivers", "unused_waivers"]


def _matches(w: Waiver, r: Result) -> bool:
    if not fnmatchcase(r.rule, w.rule):
        return False
    if w.policy is not None and w.policy != r.policy:
        return False
    return any(fnmatchcase(r.target, t) for t in w.targets)  # no targets: no match


def _deciding(candidates: Sequence[Waiver], today: date) -> tuple[Waiver, bool] | None:
    """The waiver that decides among ``candidates`` (file order) and whether it expired."""
    if not candidates:
        return None
    live = [w for w in candidates if date.fromisoformat(w.expires) >= today]
    pool = live or list(candidates)
    best = pool[0]
    for w in pool[1:]:  # the latest expiry; the first in the file on a tie
        if date.fromisoformat(w.expires) > date.fromisoformat(best.expires):
            best = w
    return best, not live


def apply_waivers(results: Sequence[Result], waivers: WaiverSet, now: datetime, lang: str = "en") -> list[Result]:
    """Return ``results`` with the deciding waiver of each ``fail`` applied (results keep their order);
    an expired waiver's note in the message is in ``lang``."""
    today = now.date()
    _ = translator(lang).gettext
    out: list[Result] = []
    for r in results:
        decided = None
        if r.status is Status.FAIL:
            decided = _deciding([w for w in waivers.waivers if _matches(w, r)], today)
        if decided is None:
            out.append(r)
            continue
        waiver, expired = decided
        info = {
            "reason": waiver.reason,
            "expires": waiver.expires,
            "expired": expired,
            "source": f"{waivers.path}:{waiver.line}",
        }
        if expired:
            note = _("(waiver expired on {date}: {reason})").format(date=waiver.expires, reason=waiver.reason)
            message = f"{r.message} {note}"
            out.append(r._replace(message=message, waiver=info))
        else:
            out.append(r._replace(status=Status.WAIVED, waiver=info))
    return out


def unused_waivers(waivers: WaiverSet, policies: Sequence[Policy], lang: str = "en") -> list[str]:
    """One line per waiver that matches no rule of ``policies``: ``FILE:LINE: ...``, in ``lang``."""
    _ = translator(lang).gettext
    rules = [(p.id, rule.id) for p in policies for rule in p.rules]
    lines = []
    for w in waivers.waivers:
        if any(fnmatchcase(rid, w.rule) and (w.policy is None or w.policy == pid) for pid, rid in rules):
            continue
        where = f"{waivers.path}:{w.line}" if w.line else waivers.path
        text = (_("waiver for rule {rule} of policy {policy} matches no rule of the loaded policies")
                if w.policy is not None else _("waiver for rule {rule} matches no rule of the loaded policies"))
        lines.append(f"{where}: " + text.format(rule=repr(w.rule), policy=repr(w.policy)))
    return lines
