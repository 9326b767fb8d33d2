"""The evaluator: runs policies against targets and makes one result per (target, rule).

Every check type gets ``collect`` calls carrying, per target, the parameters of
all its checks that apply there, so each source is read once per target however
many rules use it:

- check types that are not ``process_parallel`` (network probes, logs) are
  collected once for the whole scan before anything is judged, so an SMTP
  endpoint shared by many targets is probed once; their facts are small;
- ``process_parallel`` ones (the registry parser) are collected batch by batch
  (256 targets), in forked worker processes when ``--jobs`` allows; a batch's
  facts are dropped as soon as its results are made.

Then every rule's check tree is judged from the facts and one result is made
per (target, rule). Batches are cut from the targets sorted by name and each
batch is sorted, so batches in order are the results in report order (target,
policy, rule): :meth:`Engine.scan` gathers them, :meth:`Engine.map_batches`
hands each batch to a function in the worker that made it (a streamed scan
renders its reports there, see :mod:`scanner.streaming`).

Faults stay local: a collector that raises makes every result it touches
``error``; an evaluator that raises makes that check ``error``. The scan goes on.
"""

from __future__ import annotations

import marshal
import operator
import os
import pickle
import traceback
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, NamedTuple, TypeVar

from scanner import placeholders
from scanner.api import (
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
from scanner.combine import combine_all, combine_any, combine_not
from scanner.i18n import translator
from scanner.policy import CheckNode, Policy, Rule
from scanner.report import Result

if TYPE_CHECKING:
    from scanner.facts_file import Collected, Snapshot

BATCH = 256
_NOT_COLLECTED = object()
_SORT_KEY = operator.itemgetter(0, 1, 2)  # Result is a NamedTuple: (target, policy, rule, ...)
_NAME = operator.attrgetter("name")
_new_result = tuple.__new__
T = TypeVar("T")


class _Plan(NamedTuple):
    """What judging one rule needs, worked out once per scan rather than per target."""

    policy: Policy
    rule: Rule
    leaf: CheckNode | None
    """The rule's check when it is a single check (no combinator)."""
    kinds: str
    """The check types the rule uses, comma-separated (the result's ``check_type``)."""
    message: placeholders.Template | None
    remediation: placeholders.Template | None
    title: str
    """The rule's title in the run's language (else English)."""


@dataclass(frozen=True, slots=True)
class _Failed:
    """Stands in for the facts of a target whose collection raised."""

    message: str


CollectFailed = _Failed
"""What :meth:`Engine.collect_batches` hands over for a (check type, target) whose collection failed."""


class _Snapped(NamedTuple):
    """Facts from a snapshot, and the checks (numbers in its table) they were collected for."""

    facts: Any
    checks: frozenset[int] | None


def _labels_match(rule: Rule, target: Target) -> bool:
    return not rule.labels or all(target.labels.get(k) == v for k, v in rule.labels.items())


def rules_for_no_target(policies: Sequence[Policy], targets: Sequence[Target]) -> list[str]:
    """``policy/rule`` of every rule whose ``applies_to`` labels match none of ``targets``.

    Such a rule skips everywhere, so the gate never hears of it: a typo in a label
    (``rol: exchange``) or a label value of another type must not pass unnoticed.
    """
    return [
        f"{p.id}/{r.id}"
        for p in policies
        for r in p.rules
        if r.labels and not r.disabled and not any(_labels_match(r, t) for t in targets)
    ]


def _same(message: str) -> str:
    return message


def _missing_source(
    ct: CheckType, params: Mapping[str, Any], target: Target, _: Callable[[str], str] = _same
) -> str | None:
    if ct.source in target.sources and target.sources[ct.source] not in (None, [], {}):
        return None
    if ct.source_optional is not None and ct.source_optional(params):
        return None
    return _("target {target} has no {source} source").format(target=repr(target.name), source=ct.source)


class Engine:
    def __init__(
        self,
        policies: Sequence[Policy],
        check_types: Mapping[str, CheckType],
        run: RunContext,
        lang: str | None = None,
        snapshot: Snapshot | None = None,
    ) -> None:
        """``lang`` (default: ``run.lang``) must be a language of :func:`scanner.i18n.available_languages`:
        another is a :class:`UsageError` (``--lang``).

        With a ``snapshot`` (``scan --facts``, :mod:`scanner.facts_file`) no collector is ever
        called: facts come from the snapshot, and a check whose facts it does not hold (no line
        for the check type and target, or facts gathered for other checks) is ``error``
        ("not collected"), never judged."""
        from scanner.i18n import check_language

        lang = run.lang if lang is None else lang
        check_language(lang)
        self.policies = policies
        self.check_types = check_types
        self.run = run if run.lang == lang else replace(run, lang=lang)  # check types translate with run.lang
        self.lang = lang
        self._ = translator(lang).gettext  # the engine's own messages (skip reasons, errors) in the run's language
        self._rules = [(p, r, r.check.leaves()) for p in policies for r in p.rules]
        self._plans = [self._plan(p, r, leaves) for p, r, leaves in self._rules]
        self._scan_facts: dict[tuple[str, str], Any] = {}
        self.snapshot = snapshot
        self._snap_ids: dict[int, int | None] = {}
        if snapshot is not None:
            for _, _, leaves in self._rules:
                for leaf in leaves:
                    self._snap_ids[id(leaf.params)] = snapshot.check_id(leaf.type_name, leaf.params)
        # the check types collected once for the whole scan (their facts join each batch's table)
        self._scan_types = sorted(
            {leaf.type_name for _, _, leaves in self._rules for leaf in leaves}
            - {name for name, ct in check_types.items() if ct.process_parallel}
        )

    def _plan(self, policy: Policy, rule: Rule, leaves: list[CheckNode]) -> _Plan:
        return _Plan(
            policy,
            rule,
            rule.check if rule.check.kind == "check" else None,
            ",".join(sorted({leaf.type_name for leaf in leaves})),
            placeholders.Template(self._pick(rule.message)) if rule.message else None,
            placeholders.Template(self._pick(rule.remediation)) if rule.remediation else None,
            self._pick(rule.titles) if rule.titles else rule.title,
        )

    # ---------------------------------------------------------------- public

    def scan(self, targets: Sequence[Target], progress: Callable[[int, int], None] | None = None) -> list[Result]:
        """Every result of the scan, sorted by target, policy and rule."""
        results: list[Result] = []
        if self.runs_in_workers(len(targets)):
            for data in self.map_batches(targets, _to_wire, progress):
                results.extend(unpack_results(data))
        else:
            for chunk in self.map_batches(targets, _keep, progress):
                results.extend(chunk)
        return results

    def map_batches(
        self,
        targets: Sequence[Target],
        finish: Callable[[int, list[Result]], T],
        progress: Callable[[int, int], None] | None = None,
    ) -> Iterator[T]:
        """Scan ``targets`` batch by batch and yield ``finish(index, results)`` for each batch, in order.

        Batches are cut from the targets sorted by name and each batch's results
        are sorted, so the batches in order give the results of the whole scan in
        report order (target, policy, rule). ``finish`` runs where the batch was
        judged: in a forked worker process when the check types allow it, so its
        value must pickle; it is how a streamed scan renders reports in the workers.
        """
        ordered = sorted(targets, key=_NAME)
        # Scan-wide collectors (network probes, logs) see every target at once, so an
        # endpoint shared by many targets is probed once; their facts are small.
        self._scan_facts = self._collect_all(self._wanted(ordered, process_parallel=False), ordered)
        batches = [ordered[i : i + BATCH] for i in range(0, len(ordered), BATCH)]
        try:
            for done, value in enumerate(self._run_batches(batches, finish), start=1):
                if progress is not None:
                    progress(min(done * BATCH, len(ordered)), len(ordered))
                yield value
        finally:
            self._scan_facts = {}

    def runs_in_workers(self, n_targets: int) -> bool:
        """True when a scan of ``n_targets`` runs its batches in forked worker processes
        (``--jobs`` above 1, more than one batch, ``fork`` available, a check type that allows it)."""
        if self.run.jobs < 2 or n_targets <= BATCH or not hasattr(os, "fork"):
            return False
        used = {leaf.type_name for _, _, leaves in self._rules for leaf in leaves}
        return any(self.check_types[t].process_parallel for t in used)

    def collect_batches(
        self, targets: Sequence[Target], finish: Callable[[int, list[Collected]], T]
    ) -> Iterator[T]:
        """Run only the collectors (``policyscan collect``): yield ``finish(index, collected)``.

        First the scan-wide check types (index -1, every target at once), then the
        ``process_parallel`` ones batch by batch (in forked workers when the scan would
        use them; ``finish`` runs there, so its value must pickle). Each
        :class:`~scanner.facts_file.Collected` carries the facts of one (check type,
        target), or a :data:`CollectFailed`, and the parameters of the checks they serve.
        """
        ordered = sorted(targets, key=_NAME)
        yield finish(-1, self._collected(ordered, process_parallel=False))
        batches = [ordered[i : i + BATCH] for i in range(0, len(ordered), BATCH)]
        yield from self._run_batches(batches, finish, _collect_in_worker)  # type: ignore[arg-type]

    def _collected(self, targets: Sequence[Target], *, process_parallel: bool) -> list[Collected]:
        from scanner.facts_file import Collected

        wanted = self._wanted(targets, process_parallel=process_parallel)
        facts = self._collect_all(wanted, targets)
        return [
            Collected(type_name, name, facts[(type_name, name)], checks)
            for type_name, per_target in wanted.items()
            for name, checks in per_target.items()
        ]

    def _run_batches(
        self,
        batches: Sequence[Sequence[Target]],
        finish: Callable[[int, list[Result]], T],
        work: Callable[[tuple[int, Sequence[Target]]], Any] | None = None,
    ) -> Iterator[T]:
        """``finish`` of every batch, in order; in forked workers when a check type used does CPU work."""
        if not self.runs_in_workers(sum(map(len, batches))):
            for i, batch in enumerate(batches):
                if work is None:
                    yield finish(i, self._batch_results(batch))
                else:
                    yield finish(i, self._collected(batch, process_parallel=True))  # type: ignore[arg-type]
            return
        import multiprocessing

        global _WORKER
        _WORKER = (self, finish)  # inherited by the forked workers, scan-wide facts included
        ctx = multiprocessing.get_context("fork")
        try:
            yield from _in_workers(ctx, min(self.run.jobs, len(batches)), work or _scan_in_worker, batches)
        finally:
            _WORKER = None

    # ---------------------------------------------------------------- collection

    def _wanted(
        self, targets: Sequence[Target], *, process_parallel: bool
    ) -> dict[str, dict[str, list[Mapping[str, Any]]]]:
        """Per check type and target, the parameters of every check that applies there."""
        wanted: dict[str, dict[str, list[Mapping[str, Any]]]] = {}
        # only the rules with a check of the kind asked for, and only those checks
        rules: list[tuple[Rule, list[tuple[CheckNode, CheckType]]]] = []
        for _, rule, leaves in self._rules:
            pairs = [(leaf, self.check_types[leaf.type_name]) for leaf in leaves]
            pairs = [(leaf, ct) for leaf, ct in pairs if ct.process_parallel is process_parallel]
            if pairs and not rule.disabled:  # a rule an overlay disabled collects nothing
                rules.append((rule, pairs))
        for target in targets:
            for rule, pairs in rules:
                if rule.labels and not _labels_match(rule, target):
                    continue
                for leaf, ct in pairs:
                    if _missing_source(ct, leaf.params, target) is None:
                        wanted.setdefault(leaf.type_name, {}).setdefault(target.name, []).append(leaf.params)
        return wanted

    def _collect_all(
        self, wanted: Mapping[str, Mapping[str, list[Mapping[str, Any]]]], targets: Sequence[Target]
    ) -> dict[tuple[str, str], Any]:
        by_name = {t.name: t for t in targets}
        facts: dict[tuple[str, str], Any] = {}
        for type_name, per_target in wanted.items():
            requests = [CollectRequest(by_name[n], checks) for n, checks in per_target.items()]
            facts.update(self._collect(type_name, requests))
        return facts

    def _batch_results(self, batch: Sequence[Target]) -> list[Result]:
        """The results of a batch of targets, sorted; its facts are dropped on return."""
        if self.snapshot is not None and self.snapshot.deferred:  # scan --facts: checked where judged
            self.snapshot.check_targets([t.name for t in batch])
        facts = self._collect_all(self._wanted(batch, process_parallel=True), batch)
        if self._scan_facts:  # this batch's share of the scan-wide facts, in the same table
            scan_facts = self._scan_facts
            for target in batch:
                for type_name in self._scan_types:
                    got = scan_facts.get((type_name, target.name), _NOT_COLLECTED)
                    if got is not _NOT_COLLECTED:
                        facts[(type_name, target.name)] = got
        result, plans = self._result, self._plans
        results = []
        for target in batch:
            memo: dict[Any, Any] = {}  # per target: contexts and "no such source" outcomes, made once
            results.extend([result(plan, target, facts, memo) for plan in plans])
        facts.clear()  # the batch's facts go before the next batch is read
        results.sort(key=_SORT_KEY)
        return results

    def _collect(self, type_name: str, requests: list[CollectRequest]) -> dict[tuple[str, str], Any]:
        if self.snapshot is not None:
            return self._from_snapshot(type_name, requests)
        ct = self.check_types[type_name]
        got: dict[tuple[str, str], Any] = {}
        try:
            for name, facts in ct.collector.collect(requests, self.run):
                got[(type_name, name)] = facts
        except Exception as exc:
            where = traceback.extract_tb(exc.__traceback__)[-1]
            failed = _Failed(
                self._("collector {type} failed: {error} ({where})").format(
                    type=repr(type_name), error=f"{type(exc).__name__}: {exc}",
                    where=f"{where.filename.rsplit('/', 1)[-1]}:{where.lineno}")
            )
            for req in requests:
                got.setdefault((type_name, req.target.name), failed)
        for req in requests:
            got.setdefault(
                (type_name, req.target.name),
                _Failed(self._("collector {type} returned no facts for this target").format(type=repr(type_name))),
            )
        return got

    def _from_snapshot(self, type_name: str, requests: list[CollectRequest]) -> dict[tuple[str, str], Any]:
        """The snapshot's facts for ``requests``: what a collector would have yielded."""
        snapshot = self.snapshot
        assert snapshot is not None
        got: dict[tuple[str, str], Any] = {}
        for req in requests:
            name = req.target.name
            entry = snapshot.entry(type_name, name)
            if entry is None:
                got[(type_name, name)] = _Failed(
                    self._("not collected: the facts file has no {type} facts for {target}").format(
                        type=type_name, target=repr(name)))
            elif entry.error is not None:
                got[(type_name, name)] = _Failed(entry.error)
            else:
                facts = snapshot.facts_for(type_name, name)
                got[(type_name, name)] = _Snapped(facts, entry.checks)
        return got

    # ---------------------------------------------------------------- judgement

    def _judge(
        self,
        node: CheckNode,
        target: Target,
        facts: Mapping[tuple[str, str], Any],
        parent: str | None,
        memo: dict[Any, Any],
    ) -> tuple[Outcome, list[Outcome]]:
        """Return the node's outcome and the leaf outcomes under it (for evidence)."""
        if node.kind == "check":
            out = self._judge_leaf(node, target, facts, parent, memo)
            return out, [out]
        kids = [self._judge(c, target, facts, node.kind, memo) for c in node.children]
        leaves: list[Outcome] = [leaf for _, ls in kids for leaf in ls]
        outcomes = [o for o, _ in kids]
        if node.kind == "not":
            inner = outcomes[0]
            status = combine_not(inner.status)
            message = (inner.message if status is inner.status
                       else self._("not expected to hold: {message}").format(message=inner.message))
            return Outcome(status, message, inner.expected, inner.actual, (), inner.fields), leaves
        status, i = (combine_all if node.kind == "all" else combine_any)([o.status for o in outcomes])
        decisive = outcomes[i] if i >= 0 else Outcome(Status.SKIP, self._("no check applies"))
        return Outcome(status, decisive.message, decisive.expected, decisive.actual, (), decisive.fields), leaves

    def _judge_leaf(
        self,
        node: CheckNode,
        target: Target,
        facts: Mapping[tuple[str, str], Any],
        parent: str | None,
        memo: dict[Any, Any],
    ) -> Outcome:
        """One check on one target. ``memo`` is the target's own: outcomes are read-only, so the
        "target has no such source" skip and the evaluation context are shared by its checks."""
        ct = self.check_types[node.type_name]
        got = facts.get((node.type_name, target.name), _NOT_COLLECTED)
        if got is _NOT_COLLECTED:  # no facts were asked for: the target lacks the source
            if ct.source_optional is None:  # then the verdict depends on the check type alone
                out: Outcome | None = memo.get(node.type_name)
                if out is None:
                    out = memo[node.type_name] = self._not_collected(ct, node, target)
                return out
            return self._not_collected(ct, node, target)
        if isinstance(got, _Failed):
            return Outcome(Status.ERROR, got.message)
        if got.__class__ is _Snapped:  # scan --facts: were these facts gathered for this check?
            if got.checks is not None and self._snap_ids.get(id(node.params)) not in got.checks:
                return Outcome(Status.ERROR, self._(
                    "not collected: the facts file's {type} facts for {target} were gathered for other checks "
                    "(collect again with this policy)").format(type=node.type_name, target=repr(target.name)))
            got = got.facts
        where = (parent, node.path)
        ctx = memo.get(where)
        if ctx is None:
            ctx = memo[where] = EvalContext(self.run, target, parent, node.path)
        try:
            out = ct.collector.evaluate(node.params, got, ctx)
        except Exception as exc:
            return Outcome(Status.ERROR, self._("check type {type} raised {error}").format(
                type=repr(node.type_name), error=f"{type(exc).__name__}: {exc}"))
        if not isinstance(out, Outcome):
            return Outcome(Status.ERROR, self._("check type {type} returned {returned}, not an Outcome").format(
                type=repr(node.type_name), returned=type(out).__name__))
        status = out.status
        if status is Status.PASS or status is Status.FAIL:
            return out if has_proof(out.examined) else _unproven(node.type_name, out, self._)
        if status is Status.ERROR or status is Status.SKIP:
            return out
        return _bad_status(node.type_name, out, self._)

    def _not_collected(self, ct: CheckType, node: CheckNode, target: Target) -> Outcome:
        missing = _missing_source(ct, node.params, target, self._)
        if missing is not None:
            return Outcome(Status.SKIP, missing)
        return Outcome(Status.ERROR, self._("no {type} facts were collected for {target}").format(
            type=node.type_name, target=repr(target.name)))

    def _result(
        self, plan: _Plan, target: Target, facts: Mapping[tuple[str, str], Any], memo: dict[Any, Any]
    ) -> Result:
        policy, rule, leaf, kinds, message_template, remediation_template, title = plan
        if rule.disabled:  # an overlay's disable: skip, with its reason
            outcome = Outcome(Status.SKIP, self._disabled(rule))
            evidence: Sequence[Mapping[str, Any]] = ()
        elif rule.labels and not _labels_match(rule, target):
            wanted = ", ".join(f"{k}={v}" for k, v in sorted(rule.labels.items()))
            outcome = Outcome(Status.SKIP, self._("rule applies to targets labelled {labels}").format(labels=wanted))
            evidence = ()
        elif leaf is not None:  # the common case: one check, no combinator
            outcome = self._judge_leaf(leaf, target, facts, None, memo)
            evidence = outcome.evidence
        else:
            outcome, leaves = self._judge(rule.check, target, facts, None, memo)
            evidence = leaves[0].evidence if len(leaves) == 1 else [e for leaf in leaves for e in leaf.evidence]
        message = outcome.message
        remediation = ""
        if outcome.status is Status.FAIL and (message_template or remediation_template):
            values = {
                "actual": outcome.actual,
                "expected": outcome.expected,
                **outcome.fields,  # a check type may say how ${actual} and ${expected} read for a person
                "target": target.name,
                "rule": rule.id,
                "policy": policy.id,
                "title": title,
                "severity": str(rule.severity),
                "status": str(outcome.status),
                "message": outcome.message,
                "inputs": policy.inputs,
            }
            if message_template is not None:
                message = message_template.fill(values, self.lang)
            if remediation_template is not None:
                remediation = remediation_template.fill(values, self.lang)
        # tuple.__new__ with every field in order: half the cost of Result(...), which goes
        # through a Python-level __new__; this runs once per (target, rule)
        return _new_result(
            Result,
            (
                target.name,
                policy.id,
                rule.id,
                title,
                rule.severity,
                outcome.status,
                outcome.status,
                message,
                outcome.expected,
                outcome.actual,
                evidence,
                remediation,
                None,
                kinds,
                (),
            ),
        )

    def _disabled(self, rule: Rule) -> str:
        """An overlay's disable, as its skip reason says it: ``disabled by POLICY: REASON``."""
        last = next((c for c in reversed(rule.changes) if "disabled" in c), None)
        if last is None:
            return rule.disabled
        return self._("disabled by {policy}: {reason}").format(policy=last["policy"], reason=last["disabled"])

    def _pick(self, texts: Mapping[str, str]) -> str:
        return texts.get(self.lang) or texts.get("en") or next(iter(texts.values()))


def _unproven(type_name: str, out: Outcome, _: Callable[[str], str] = _same) -> Outcome:
    """A verdict that does not say what it examined is not a verdict (see scanner.api)."""
    return Outcome(
        Status.ERROR,
        _("check type {type} gave {status} without proof of what it examined: {message}").format(
            type=repr(type_name), status=repr(out.status.value), message=out.message),
        out.expected,
        out.actual,
        out.evidence,
        out.fields,
    )


def _bad_status(type_name: str, out: Outcome, _: Callable[[str], str] = _same) -> Outcome:
    """A status that is not one of pass/fail/error/skip as a :class:`Status` (a plain string, or
    ``waived``, which only the waiver step sets) is judged again as a Status, or is an error."""
    try:
        status = Status(out.status)
    except ValueError:
        status = Status.WAIVED
    if status is Status.WAIVED:
        return Outcome(Status.ERROR, _("check type {type} returned status {status}: {message}").format(
            type=repr(type_name), status=repr(out.status), message=out.message))
    out = out._replace(status=status)
    if (status is Status.PASS or status is Status.FAIL) and not has_proof(out.examined):
        return _unproven(type_name, out, _)
    return out


_WORKER: tuple[Engine, Callable[[int, list[Result]], Any]] | None = None


_SEVERITY = {s.value: s for s in Severity}
_STATUS = {s.value: s for s in Status}


def _to_wire(_index: int, results: list[Result]) -> bytes:
    return pack_results(results)


def pack_results(results: Sequence[Result]) -> bytes:
    """A batch of results as bytes for the parent process (:func:`unpack_results` reads them).

    Results are plain values (facts and evidence are JSON by contract), so
    ``marshal`` serialises them about twice as fast as pickle once the enums are
    replaced by their values. Evidence holding something marshal cannot encode
    falls back to pickle.
    """
    packed = [(*r[:4], r.severity.value, r.status.value, r.outcome.value, *r[7:]) for r in results]
    try:
        return b"m" + marshal.dumps(packed)
    except ValueError:
        return b"p" + pickle.dumps(packed)


def unpack_results(data: bytes) -> list[Result]:
    """The results :func:`pack_results` packed. Only for bytes this run's own workers
    made a moment ago: pickle (the fallback) must never read untrusted input."""
    packed = marshal.loads(data[1:]) if data[:1] == b"m" else pickle.loads(data[1:])  # noqa: S301, S302
    make = Result._make
    return [make((*p[:4], _SEVERITY[p[4]], _STATUS[p[5]], _STATUS[p[6]], *p[7:])) for p in packed]


def _collect_in_worker(job: tuple[int, Sequence[Target]]) -> Any:
    assert _WORKER is not None
    engine, finish = _WORKER
    index, batch = job
    return finish(index, engine._collected(batch, process_parallel=True))  # type: ignore[arg-type]


def _scan_in_worker(job: tuple[int, Sequence[Target]]) -> Any:
    assert _WORKER is not None
    engine, finish = _WORKER
    index, batch = job
    return finish(index, engine._batch_results(batch))


class WorkerLost(RuntimeError):
    """A scan worker process ended while it held a batch: that batch's results are lost."""


def _in_workers(ctx: Any, jobs: int, work: Callable[[Any], Any], batches: Sequence[Sequence[Target]]) -> Iterator[Any]:
    """``work`` of every batch in forked worker processes, in order; never a hang.

    ``concurrent.futures.ProcessPoolExecutor``, not ``multiprocessing.Pool``: the Pool quietly
    replaces a worker that died (a signal, the OOM killer) and waits forever for the batch it
    held -- or, when it died holding the task queue's lock, leaves every other worker blocked on
    that lock. The executor watches each worker's sentinel and fails every pending batch with
    ``BrokenProcessPool``, which stops the scan with :class:`WorkerLost`. Ctrl-C (the workers
    ignore SIGINT: it is the parent's to handle), an error or a consumer that stops early
    terminates the workers instead of waiting for their batches.
    """
    from concurrent.futures import ProcessPoolExecutor
    from concurrent.futures.process import BrokenProcessPool

    pool = ProcessPoolExecutor(jobs, mp_context=ctx, initializer=_ignore_sigint)
    finished = False
    try:
        yield from pool.map(work, enumerate(batches))
        finished = True
    except BrokenProcessPool as exc:
        raise WorkerLost(f"a scan worker ended while holding a batch ({exc}); the scan cannot be completed") from None
    finally:
        if not finished:
            # batches still queued for dead workers must not keep the queue's feeder thread (and with it
            # shutdown) waiting on a pipe nobody reads any more
            queue = getattr(pool, "_call_queue", None)
            if queue is not None:
                queue.cancel_join_thread()
            for process in list((getattr(pool, "_processes", None) or {}).values()):
                process.terminate()
        pool.shutdown(wait=True, cancel_futures=True)


def _ignore_sigint() -> None:
    """A worker's signals: Ctrl-C is the parent's to handle (the workers ignore it), and SIGTERM kills.

    A worker is forked from a parent whose SIGTERM handler raises ``SystemExit`` (a cancelled CI job
    unwinds the scan, :func:`scanner.cli._terminated_cleanly`); inherited, it would turn the parent's
    ``terminate()`` into an exception the executor's worker loop catches and survives, and the scan
    would wait for the batch to end."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


def _keep(_index: int, results: list[Result]) -> list[Result]:
    return results


def progress_printer(total: int, stream: Any = None, lang: str = "en") -> Callable[[int, int], None] | None:
    """A ``scanned targets N/M`` line on a terminal, in ``lang``; None in a pipe or a CI log."""
    from scanner.progress import Progress, progress_wanted

    if not progress_wanted(stream):
        return None
    line = Progress(translator(lang).gettext("scanned targets"), total, True, stream)

    def show(done: int, _total: int) -> None:
        line.advance(done - line.done)

    return show
