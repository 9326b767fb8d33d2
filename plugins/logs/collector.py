"""The ``log_signatures`` collector: plans one pass per file for all rules of a target.

``collect`` resolves each target's globs, detects each file's kind and layout,
merges the signatures of every check that reads the file, and scans the files
(in worker processes when there is enough data to pay for them; a large plain
file is split into byte ranges at line ends). ``evaluate`` lives in
:mod:`plugins.logs.verdict` and judges from the facts alone.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from scanner.api import JSON, CheckType, CollectRequest, EvalContext, Outcome, RunContext


class LogCollector:
    """Finds forbidden signatures in log files (see :mod:`plugins.logs`)."""

    def __init__(self, gz_bound: int | None = None) -> None:
        self.gz_bound = gz_bound

    def collect(self, requests: Sequence[CollectRequest], ctx: RunContext) -> Iterable[tuple[str, JSON]]:
        from plugins.logs.linenumbers import count_lines
        from plugins.logs.planning import plan_target, safe_scan
        from plugins.logs.workers import Runner

        plans = [plan_target(req, ctx, self.gz_bound) for req in requests]
        tasks = [t for p in plans for t in p.tasks]
        weights = [t.get("bytes") or 0 for t in tasks]
        with Runner(ctx.jobs, sum(weights), len(tasks)) as runner:
            results = dict(zip([t["id"] for t in tasks], runner.map(safe_scan, tasks, weights), strict=True))
            for plan in plans:
                plan.merge(results)
            jobs = [job for plan in plans for job in plan.keep_samples()]
            counted = runner.map(count_lines, jobs, [max(j[1]) for j in jobs])
        lines = {(path, pos): n for (path, _), pairs in zip(jobs, counted, strict=True) for pos, n in pairs}
        for req, plan in zip(requests, plans, strict=True):
            yield req.target.name, plan.facts(lines)

    def evaluate(self, params: Mapping[str, JSON], facts: JSON, ctx: EvalContext) -> Outcome:
        from plugins.logs.verdict import judge

        return judge(params, facts, ctx)


def check_type() -> CheckType:
    """The ``log_signatures`` check type (imports nothing heavy)."""
    from plugins.logs.facts_schema import FACTS_SCHEMA
    from plugins.logs.schema import PARAMS_SCHEMA, SOURCE_SCHEMA

    return CheckType(
        name="log_signatures",
        source="logs",
        schema=PARAMS_SCHEMA,
        source_schema=SOURCE_SCHEMA,
        collector=LogCollector(),
        facts_schema=FACTS_SCHEMA,
        description="Forbidden signatures (literals or RE2 regexes) in Exchange, queue and text logs.",
        placeholders=(
            "signature", "signature_id", "count", "path", "line", "first_seen", "last_seen", "undated", "max_count",
            "sources",
        ),
    )
