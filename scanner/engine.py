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
per (target, rule); results come back sorted by target, policy and rule.

Faults stay local: a collector that raises makes every result it touches
``error``; an evaluator that raises makes that check ``error``. The scan goes on.
"""

from __future__ import annotations

import marshal
import operator
import os
import pickle
import traceback
from collections import ChainMap
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from scanner import placeholders
from scanner.api import CheckType, CollectRequest, EvalContext, Outcome, RunContext, Severity, Status, Target
from scanner.combine import combine_all, combine_any, combine_not
from scanner.policy import CheckNode, Policy, Rule
from scanner.report import Result

BATCH = 256
_NOT_COLLECTED = object()
_SORT_KEY = operator.itemgetter(0, 1, 2)  # Result is a NamedTuple: (target, policy, rule, ...)


@dataclass(frozen=True, slots=True)
class _Failed:
    """Stands in for the facts of a target whose collection raised."""

    message: str


def _labels_match(rule: Rule, target: Target) -> bool:
    return not rule.labels or all(target.labels.get(k) == v for k, v in rule.labels.items())


def _missing_source(ct: CheckType, params: Mapping[str, Any], target: Target) -> str | None:
    if ct.source in target.sources and target.sources[ct.source] not in (None, [], {}):
        return None
    if ct.source_optional is not None and ct.source_optional(params):
        return None
    return f"target {target.name!r} has no {ct.source} source"


class Engine:
    def __init__(
        self,
        policies: Sequence[Policy],
        check_types: Mapping[str, CheckType],
        run: RunContext,
        lang: str = "en",
    ) -> None:
        self.policies = policies
        self.check_types = check_types
        self.run = run
        self.lang = lang
        self._rules = [(p, r, r.check.leaves()) for p in policies for r in p.rules]
        self._scan_facts: dict[tuple[str, str], Any] = {}
        self._kinds = {id(r): ",".join(sorted({leaf.type_name for leaf in leaves})) for _, r, leaves in self._rules}

    # ---------------------------------------------------------------- public

    def scan(self, targets: Sequence[Target], progress: Callable[[int, int], None] | None = None) -> list[Result]:
        # Scan-wide collectors (network probes, logs) see every target at once, so an
        # endpoint shared by many targets is probed once; their facts are small.
        self._scan_facts = self._collect_all(self._wanted(targets, process_parallel=False), targets)
        batches = [targets[i : i + BATCH] for i in range(0, len(targets), BATCH)]
        results: list[Result] = []
        try:
            for done, chunk in enumerate(self._run_batches(batches), start=1):
                results.extend(chunk)
                if progress is not None:
                    progress(min(done * BATCH, len(targets)), len(targets))
        finally:
            self._scan_facts = {}
        results.sort(key=_SORT_KEY)
        return results

    def _parallel_ok(self, n_batches: int) -> bool:
        if self.run.jobs < 2 or n_batches < 2 or not hasattr(os, "fork"):
            return False
        used = {leaf.type_name for _, _, leaves in self._rules for leaf in leaves}
        return any(self.check_types[t].process_parallel for t in used)

    def _run_batches(self, batches: list[Sequence[Target]]) -> Iterator[list[Result]]:
        """Batches in order; in forked workers when a check type used does CPU work that allows it."""
        if not self._parallel_ok(len(batches)):
            for batch in batches:
                yield list(self._scan_batch(batch))
            return
        import multiprocessing

        global _WORKER_ENGINE
        _WORKER_ENGINE = self  # inherited by the forked workers, scan-wide facts included
        ctx = multiprocessing.get_context("fork")
        with ctx.Pool(min(self.run.jobs, len(batches))) as pool:
            for data in pool.imap(_scan_in_worker, batches):
                yield _from_wire(data)

    # ---------------------------------------------------------------- collection

    def _wanted(
        self, targets: Sequence[Target], *, process_parallel: bool
    ) -> dict[str, dict[str, list[Mapping[str, Any]]]]:
        """Per check type and target, the parameters of every check that applies there."""
        wanted: dict[str, dict[str, list[Mapping[str, Any]]]] = {}
        for target in targets:
            for _, rule, leaves in self._rules:
                if not _labels_match(rule, target):
                    continue
                for leaf in leaves:
                    ct = self.check_types[leaf.type_name]
                    if ct.process_parallel is process_parallel and _missing_source(ct, leaf.params, target) is None:
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

    def _scan_batch(self, batch: Sequence[Target]) -> Iterator[Result]:
        own = self._collect_all(self._wanted(batch, process_parallel=True), batch)
        facts: Mapping[tuple[str, str], Any] = ChainMap(own, self._scan_facts) if self._scan_facts else own
        for target in batch:
            for policy, rule, _ in self._rules:
                yield self._result(policy, rule, target, facts)
        own.clear()  # the batch's facts go before the next batch is read

    def _collect(self, type_name: str, requests: list[CollectRequest]) -> dict[tuple[str, str], Any]:
        ct = self.check_types[type_name]
        got: dict[tuple[str, str], Any] = {}
        try:
            for name, facts in ct.collector.collect(requests, self.run):
                got[(type_name, name)] = facts
        except Exception as exc:
            where = traceback.extract_tb(exc.__traceback__)[-1]
            failed = _Failed(
                f"collector {type_name!r} failed: {type(exc).__name__}: {exc} "
                f"({where.filename.rsplit('/', 1)[-1]}:{where.lineno})"
            )
            for req in requests:
                got.setdefault((type_name, req.target.name), failed)
        for req in requests:
            got.setdefault(
                (type_name, req.target.name), _Failed(f"collector {type_name!r} returned no facts for this target")
            )
        return got

    # ---------------------------------------------------------------- judgement

    def _judge(
        self, node: CheckNode, target: Target, facts: Mapping[tuple[str, str], Any], parent: str | None
    ) -> tuple[Outcome, list[Outcome]]:
        """Return the node's outcome and the leaf outcomes under it (for evidence)."""
        if node.kind == "check":
            out = self._judge_leaf(node, target, facts, parent)
            return out, [out]
        kids = [self._judge(c, target, facts, node.kind) for c in node.children]
        leaves: list[Outcome] = [leaf for _, ls in kids for leaf in ls]
        outcomes = [o for o, _ in kids]
        if node.kind == "not":
            inner = outcomes[0]
            status = combine_not(inner.status)
            message = inner.message if status is inner.status else f"not expected to hold: {inner.message}"
            return Outcome(status, message, inner.expected, inner.actual, (), inner.fields), leaves
        status, i = (combine_all if node.kind == "all" else combine_any)([o.status for o in outcomes])
        decisive = outcomes[i] if i >= 0 else Outcome(Status.SKIP, "no check applies")
        return Outcome(status, decisive.message, decisive.expected, decisive.actual, (), decisive.fields), leaves

    def _judge_leaf(
        self, node: CheckNode, target: Target, facts: Mapping[tuple[str, str], Any], parent: str | None
    ) -> Outcome:
        ct = self.check_types[node.type_name]
        got = facts.get((node.type_name, target.name), _NOT_COLLECTED)
        if got is _NOT_COLLECTED:  # no facts were asked for: the target lacks the source
            missing = _missing_source(ct, node.params, target)
            if missing is not None:
                return Outcome(Status.SKIP, missing)
            return Outcome(Status.ERROR, f"no {node.type_name} facts were collected for {target.name!r}")
        if isinstance(got, _Failed):
            return Outcome(Status.ERROR, got.message)
        ctx = EvalContext(self.run, target, parent, node.path)
        try:
            out = ct.collector.evaluate(node.params, got, ctx)
        except Exception as exc:
            return Outcome(Status.ERROR, f"check type {node.type_name!r} raised {type(exc).__name__}: {exc}")
        if not isinstance(out, Outcome):
            return Outcome(Status.ERROR, f"check type {node.type_name!r} returned {type(out).__name__}, not an Outcome")
        return out

    def _result(self, policy: Policy, rule: Rule, target: Target, facts: Mapping[tuple[str, str], Any]) -> Result:
        leaves: list[Outcome] = []
        if not _labels_match(rule, target):
            wanted = ", ".join(f"{k}={v}" for k, v in sorted(rule.labels.items()))
            outcome = Outcome(Status.SKIP, f"rule applies to targets labelled {wanted}")
        elif rule.check.kind == "check":  # the common case: one check, no combinator
            outcome = self._judge_leaf(rule.check, target, facts, None)
            leaves = [outcome]
        else:
            outcome, leaves = self._judge(rule.check, target, facts, None)
        message = outcome.message
        remediation = ""
        if outcome.status is Status.FAIL and (rule.message or rule.remediation):
            values = {
                **outcome.fields,
                "actual": outcome.actual,
                "expected": outcome.expected,
                "target": target.name,
                "rule": rule.id,
                "policy": policy.id,
                "title": rule.title,
                "severity": str(rule.severity),
                "status": str(outcome.status),
                "message": outcome.message,
                "inputs": policy.inputs,
            }
            if rule.message:
                message = placeholders.render_map(self._pick(rule.message), values)
            if rule.remediation:
                remediation = placeholders.render_map(self._pick(rule.remediation), values)
        evidence = leaves[0].evidence if len(leaves) == 1 else [e for leaf in leaves for e in leaf.evidence]
        return Result(  # positional, in field order: this runs once per (target, rule)
            target.name,
            policy.id,
            rule.id,
            rule.title,
            rule.severity,
            outcome.status,
            outcome.status,
            message,
            outcome.expected,
            outcome.actual,
            evidence,
            remediation,
            None,
            self._kinds[id(rule)],
        )

    def _pick(self, texts: Mapping[str, str]) -> str:
        return texts.get(self.lang) or texts.get("en") or next(iter(texts.values()))


_WORKER_ENGINE: Engine | None = None


_SEVERITY = {s.value: s for s in Severity}
_STATUS = {s.value: s for s in Status}


def _to_wire(results: list[Result]) -> bytes:
    """A batch of results as bytes for the parent process.

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


def _from_wire(data: bytes) -> list[Result]:
    # our own forked worker wrote these bytes a moment ago: no untrusted input
    packed = marshal.loads(data[1:]) if data[:1] == b"m" else pickle.loads(data[1:])  # noqa: S301, S302
    make = Result._make
    return [make((*p[:4], _SEVERITY[p[4]], _STATUS[p[5]], _STATUS[p[6]], *p[7:])) for p in packed]


def _scan_in_worker(batch: Sequence[Target]) -> bytes:
    assert _WORKER_ENGINE is not None
    return _to_wire(list(_WORKER_ENGINE._scan_batch(batch)))


def progress_printer(total: int, stream: Any = None) -> Callable[[int, int], None] | None:
    """A ``scanned N/M targets`` line on a terminal; None in a pipe or a CI log."""
    from scanner.progress import Progress, progress_wanted

    if not progress_wanted(stream):
        return None
    line = Progress("scanned targets", total, True, stream)

    def show(done: int, _total: int) -> None:
        line.advance(done - line.done)

    return show
