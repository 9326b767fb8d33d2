"""A conformance kit for check types: does a check type keep the contract of :mod:`scanner.api`?

Third-party plugin authors import it in their own tests, and policyscan runs
it on every built-in check type (``tests/test_conformance.py``)::

    from scanner.testing import Sample, assert_conforms

    def test_line_count_conforms(tmp_path):
        good = tmp_path / "ok.txt"; good.write_text("a\\nb\\n")
        assert_conforms(
            my_check_type,
            samples=[Sample(Target("t", sources={"textfile": str(good)}), {"max": 5}, expect=Status.PASS)],
            broken=[Sample(Target("t", sources={"textfile": str(tmp_path / "gone.txt")}), {"max": 5})],
        )

What is checked, for every sample (real sources: real files, real local servers):

1. ``collect`` yields facts for the sample's target, and they are plain JSON:
   ``json.dumps`` (no NaN, string keys) and back gives equal facts.
2. ``evaluate`` returns an :class:`~scanner.api.Outcome` whose status is a
   :class:`~scanner.api.Status`; evidence is a sequence of mappings; the
   outcome is plain JSON too.
3. A ``pass`` or ``fail`` carries proof (``Outcome.examined``, see
   :func:`scanner.api.has_proof`); a sample's ``expect`` status is reached.
4. Judging the round-tripped facts gives the same verdict as the original
   ones (facts saved to a file and judged later agree with a live scan).
5. ``evaluate`` does not touch the target: judged a second time with file
   opening, directory listing, process creation and every socket operation
   forbidden (through an audit hook, :func:`sys.addaudithook`), it neither
   tries any of them nor changes its verdict. The first, unguarded call may
   import modules; the guarded one may not read anything.
6. Degenerate facts (``None``, ``{}``, ``[]``, ``""``, ``0``) never pass.
7. Through the real engine, a check that passes also passes as ``all: [check]``,
   and ``not:`` of it is ``fail``; for a ``broken`` sample that gives ``error``,
   ``not:`` of it is ``error`` too.

``broken`` samples name sources that cannot be read, wholly or in part (a
missing file, a closed port, a malformed export, a truncated archive): the
check must be ``error``, never ``pass``; only a broken sample whose
``expect`` says ``fail`` may fail (what could be read already proves a
failure: a forbidden line found before the archive broke off). ``empty`` samples name sources with nothing in them (a
glob matching no file, an export without the key's branch, an empty endpoint
list): they must never ``pass``.
"""

from __future__ import annotations

import json
import math
import sys
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from scanner.api import (
    JSON,
    CheckType,
    CollectRequest,
    EvalContext,
    Outcome,
    RunContext,
    Severity,
    Status,
    Target,
    has_proof,
)

__all__ = ["ConformanceError", "Sample", "TargetTouched", "assert_conforms", "conformance_problems", "no_target_access"]


@dataclass(frozen=True)
class Sample:
    """One check on one target with real sources, and the status it must reach (``None``: any)."""

    target: Target
    params: Mapping[str, JSON]
    expect: Status | None = None
    label: str = ""

    def name(self) -> str:
        return self.label or f"{self.target.name}:{json.dumps(self.params, sort_keys=True, default=str)[:80]}"


@dataclass
class _Report:
    problems: list[str] = field(default_factory=list)

    def add(self, sample: Sample, text: str) -> None:
        self.problems.append(f"{sample.name()}: {text}")


class ConformanceError(AssertionError):
    """A check type broke the contract; the message lists every problem found."""


class TargetTouched(RuntimeError):
    """Raised inside :func:`no_target_access` when code opens a file, a socket or a process."""


# ---------------------------------------------------------------- the guard

#: Audit events that reach outside the process's memory: files, directories, sockets, processes.
_FORBIDDEN = frozenset({
    "open", "os.listdir", "os.scandir", "os.walk", "glob.glob", "mmap.__new__", "shutil.copyfile",
    "socket.connect", "socket.bind", "socket.getaddrinfo", "socket.gethostbyname", "socket.sendto",
    "socket.__new__", "subprocess.Popen", "os.system", "os.exec", "os.posix_spawn", "os.spawn", "os.fork",
    "ctypes.dlopen", "urllib.Request",
})
_guarded: dict[int, list[str]] = {}  # thread id -> what guarded code tried
_hook_lock = threading.Lock()
_hook_installed = False


def _audit(event: str, args: tuple[Any, ...]) -> None:
    seen = _guarded.get(threading.get_ident())
    if seen is not None and event in _FORBIDDEN:
        what = f"{event}({args[0]!r})" if args else event
        seen.append(what)
        raise TargetTouched(f"touched the target while judging facts: {what}")


@contextmanager
def no_target_access() -> Iterator[list[str]]:
    """Forbid, in this thread, what would read a target: opening files, listing folders,
    sockets and processes. Yields the list of attempts (a caught :class:`TargetTouched`
    is still recorded there). Audit hooks cannot be removed, so one hook is installed
    for the life of the process and does nothing outside this block."""
    global _hook_installed
    with _hook_lock:
        if not _hook_installed:
            sys.addaudithook(_audit)
            _hook_installed = True
    tried: list[str] = []
    me = threading.get_ident()
    _guarded[me] = tried
    try:
        yield tried
    finally:
        del _guarded[me]


# ---------------------------------------------------------------- the checks


def _json_problem(value: Any, where: str) -> str | None:
    """Why ``value`` is not plain JSON that round-trips, or None."""
    try:
        text = json.dumps(value, allow_nan=False, sort_keys=True)
    except (TypeError, ValueError) as exc:
        return f"{where} is not plain JSON: {exc}"
    if json.loads(text) != _listify(value):
        return f"{where} does not survive a JSON round trip (tuples? non-string keys?)"
    return None


def _listify(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {k: _listify(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_listify(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _verdict(out: Outcome) -> tuple[Any, ...]:
    return (out.status, out.message, _listify(out.expected), _listify(out.actual))


def _collect(ct: CheckType, sample: Sample, run: RunContext, report: _Report) -> tuple[bool, Any]:
    try:
        got = dict(ct.collector.collect([CollectRequest(sample.target, [sample.params])], run))
    except Exception as exc:
        report.add(sample, f"collect raised {type(exc).__name__}: {exc} (a collector reports failures as facts)")
        return False, None
    if sample.target.name not in got:
        report.add(sample, "collect yielded no facts for the target")
        return False, None
    return True, got[sample.target.name]


def _evaluate(ct: CheckType, params: Mapping[str, Any], facts: Any, ctx: EvalContext) -> Outcome | str:
    try:
        out = ct.collector.evaluate(params, facts, ctx)
    except Exception as exc:
        return f"evaluate raised {type(exc).__name__}: {exc}"
    if not isinstance(out, Outcome):
        return f"evaluate returned {type(out).__name__}, not an Outcome"
    if not isinstance(out.status, Status):
        return f"evaluate returned status {out.status!r}, not a Status"
    return out


def _check_outcome(out: Outcome, sample: Sample, report: _Report) -> None:
    if out.status in (Status.PASS, Status.FAIL) and not has_proof(out.examined):
        report.add(sample, f"{out.status.value} without proof (Outcome.examined={out.examined!r})")
    if out.status is Status.WAIVED:
        report.add(sample, "evaluate returned 'waived', which only the waiver step may set")
    if not all(isinstance(e, Mapping) for e in out.evidence):
        report.add(sample, "evidence items must be mappings")
    for part, value in (("evidence", list(out.evidence)), ("actual", out.actual), ("expected", out.expected),
                        ("examined", out.examined), ("fields", dict(out.fields))):
        problem = _json_problem(value, f"outcome {part}")
        if problem:
            report.add(sample, problem)


def _judge_sample(ct: CheckType, sample: Sample, run: RunContext, report: _Report) -> Outcome | None:
    ok, facts = _collect(ct, sample, run, report)
    if not ok:
        return None
    problem = _json_problem(facts, "facts")
    if problem:
        report.add(sample, problem)
        return None
    ctx = EvalContext(run, sample.target)
    out = _evaluate(ct, sample.params, facts, ctx)
    if isinstance(out, str):
        report.add(sample, out)
        return None
    _check_outcome(out, sample, report)
    saved = json.loads(json.dumps(facts))
    with no_target_access() as tried:
        again = _evaluate(ct, sample.params, saved, ctx)
    if tried:
        report.add(sample, f"evaluate touched the target: {', '.join(dict.fromkeys(tried))}")
    elif isinstance(again, str):
        report.add(sample, f"judging saved facts: {again}")
    elif _verdict(again) != _verdict(out):
        report.add(sample, f"saved facts judge differently: {_verdict(again)} against {_verdict(out)}")
    degenerates: tuple[Any, ...] = (None, {}, [], "", 0)
    for degenerate in degenerates:
        other = _evaluate(ct, sample.params, degenerate, ctx)
        if isinstance(other, Outcome) and other.status is Status.PASS:
            report.add(sample, f"facts {degenerate!r} pass: '{other.message}'")
    return out


def _engine_statuses(ct: CheckType, sample: Sample, run: RunContext) -> dict[str, Status]:
    """The sample's check judged by the real engine as itself, under ``all:`` and under ``not:``."""
    from scanner.engine import Engine
    from scanner.policy import CheckNode, Policy, Rule

    def leaf(path: str) -> CheckNode:
        return CheckNode("check", path, ct.name, sample.params)

    shapes = {
        "plain": leaf("check"),
        "all": CheckNode("all", "check", children=(leaf("check.all[0]"),)),
        "not": CheckNode("not", "check", children=(leaf("check.not"),)),
    }
    rules = tuple(Rule(name, name, Severity.HIGH, node) for name, node in shapes.items())
    policy = Policy("conformance", "conformance", "1", "", "<conformance>", rules)
    results = Engine([policy], {ct.name: ct}, run).scan([sample.target])
    return {r.rule: r.status for r in results}


def conformance_problems(
    check_type: CheckType,
    samples: Sequence[Sample],
    *,
    broken: Sequence[Sample] = (),
    empty: Sequence[Sample] = (),
    now: datetime | None = None,
) -> list[str]:
    """Every way ``check_type`` breaks the contract on these samples (empty when it keeps it)."""
    run = RunContext(now=now or datetime.now(UTC), jobs=1)
    report = _Report()
    if not samples:
        report.problems.append("give at least one sample whose sources can be read")
    for sample in samples:
        out = _judge_sample(check_type, sample, run, report)
        if out is None:
            continue
        if sample.expect is not None and out.status is not sample.expect:
            report.add(sample, f"expected {sample.expect.value}, got {out.status.value}: {out.message}")
        if out.status in (Status.PASS, Status.FAIL):
            flipped = Status.FAIL if out.status is Status.PASS else Status.PASS
            want = {"plain": out.status, "all": out.status, "not": flipped}
            got = _engine_statuses(check_type, sample, run)
            if got != want:
                report.add(sample, f"through the engine {got}, expected {want}")
    for sample in broken:
        out = _judge_sample(check_type, sample, run, report)
        allowed = sample.expect if sample.expect is Status.FAIL else Status.ERROR
        if out is not None and out.status is not allowed:
            report.add(sample, f"a source that cannot be read gave {out.status.value}, not {allowed.value}: "
                               f"{out.message}")
        got = _engine_statuses(check_type, sample, run)
        if allowed is Status.FAIL:  # proven by what could be read
            want = {"plain": Status.FAIL, "all": Status.FAIL, "not": Status.PASS}
        else:
            want = {"plain": Status.ERROR, "all": Status.ERROR, "not": Status.ERROR}
        if got != want:
            report.add(sample, f"a source that cannot be read, through the engine: {got}, expected {want}")
    for sample in empty:
        out = _judge_sample(check_type, sample, run, report)
        if out is not None and out.status is Status.PASS:
            report.add(sample, f"an empty source passed: {out.message}")
        got = _engine_statuses(check_type, sample, run)
        if got["plain"] is Status.PASS:
            report.add(sample, "an empty source passed through the engine")
    return report.problems


def assert_conforms(
    check_type: CheckType,
    samples: Sequence[Sample],
    *,
    broken: Sequence[Sample] = (),
    empty: Sequence[Sample] = (),
    now: datetime | None = None,
) -> None:
    """Raise :class:`ConformanceError` listing every problem :func:`conformance_problems` finds."""
    problems = conformance_problems(check_type, samples, broken=broken, empty=empty, now=now)
    if problems:
        raise ConformanceError(
            f"check type {check_type.name!r} breaks the contract:\n  " + "\n  ".join(problems)
        )
