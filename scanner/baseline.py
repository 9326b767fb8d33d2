"""``scan --baseline BEFORE.json``: gate only on what a change made worse (SPEC §2).

The baseline is a JSON report of an earlier run. A result whose (target,
policy, rule) is ``fail`` or ``error`` in the baseline and is ``fail`` or
``error`` now is a *known failure*: it stays in every report as it is, and is
counted, but it does not decide the exit code. Everything else gates as usual,
so a new failure, a new error, or a known failure's rule on a new target
still fails the run. A baseline from another tool or policy version is used
with a warning (see :func:`scanner.diff.version_warnings`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from scanner.api import Severity, Status
from scanner.diff import Key, read_report
from scanner.report import Result

_BAD = (Status.FAIL, Status.ERROR)
#: How the gate sees a known failure: a known ``fail`` was judged (like a waived one); a known
#: ``error`` was still not checked (like a skip), so a run of only known errors exits 3, not 0.
_KNOWN_AS = {Status.FAIL: Status.WAIVED, Status.ERROR: Status.SKIP}


def gate_counts_of(counts: Counter[tuple[Status, Severity]], known: Counter[tuple[Status, Severity]]) -> Counter[
    tuple[Status, Severity]
]:
    """Counts per (status, severity) as the gate sees them: known failures moved to ``waived``."""
    seen = counts - known
    for (status, severity), n in known.items():
        seen[(_KNOWN_AS[status], severity)] += n
    return seen


@dataclass(frozen=True, slots=True)
class Baseline:
    file: str
    sha256: str
    known: frozenset[Key]
    """(target, policy, rule) of every ``fail`` or ``error`` result of the baseline."""
    tool_version: str = ""
    policy_versions: tuple[tuple[str, str, str], ...] = ()
    """(policy id, version, sha256) of the baseline's policies."""

    def is_known(self, result: Result) -> bool:
        return result.status in _BAD and (result.target, result.policy, result.rule) in self.known

    def summary(self, known: int, known_errors: int = 0) -> dict[str, object]:
        """What a report says of the baseline: its file, its hash, how many known failures were carried,
        and how many of them are errors (rules that could not be checked this time either)."""
        return {"file": self.file, "sha256": self.sha256, "known": known, "known_errors": known_errors}

    def known_errors(self, results: Sequence[Result]) -> int:
        """How many results are known failures that are ``error``: still not checked, and not gated."""
        return sum(1 for r in results if r.status is Status.ERROR and self.is_known(r))

    def for_gate(self, results: Sequence[Result]) -> tuple[list[Result], int]:
        """The results as the gate sees them, and how many known failures there were. A known
        failure counts as judged but not failing, as a waived one does (so a run whose only
        judged results are known failures exits 0, not 3 "nothing checked")."""
        if not self.known:
            return list(results), 0
        seen = [r._replace(status=_KNOWN_AS[r.status]) if self.is_known(r) else r for r in results]
        return seen, sum(a is not b for a, b in zip(seen, results, strict=True))


def load_baseline(path: str) -> Baseline:
    """Read a baseline report; a file that is not a policyscan JSON report is a usage error."""
    loaded = read_report(path, "--baseline")
    versions = tuple(sorted((pid, v, h) for pid, (v, h) in loaded.policy_versions().items()))
    return Baseline(path, loaded.sha256, loaded.bad_keys(), loaded.tool_version, versions)


def baseline_warnings(
    baseline: Baseline, tool_version: str, policies: Sequence[tuple[str, str, str]], lang: str = "en"
) -> list[str]:
    """What differs between the baseline's run and this one (never compared silently), in ``lang``."""
    from scanner.i18n import translator

    _ = translator(lang).gettext
    out: list[str] = []
    file = baseline.file
    if baseline.tool_version != tool_version:
        out.append(_("--baseline {file} was made by policyscan {before}, this is {now}").format(
            file=file, before=baseline.tool_version, now=tool_version))
    before = {pid: (v, h) for pid, v, h in baseline.policy_versions}
    for pid, version, sha in policies:
        if pid not in before:
            out.append(_("--baseline {file} has no results of policy {policy}: all its failures are new").format(
                file=file, policy=pid))
        elif before[pid][0] != version:
            out.append(_("--baseline {file} used policy {policy} {before}, this run uses {version}").format(
                file=file, policy=pid, before=before[pid][0], version=version))
        elif before[pid][1] != sha:
            out.append(_("--baseline {file} used another text of policy {policy} {version} (SHA-256 differs)").format(
                file=file, policy=pid, version=version))
    return out
