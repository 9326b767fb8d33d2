"""The ``smtp_tls`` collector: plan one probe per endpoint for a whole batch, run them, hand back facts.

Every check of every target in the batch is read first; each endpoint (with
its servername) becomes one :class:`~plugins.smtp.probe.Plan` asking for the
union of what the rules need: the versions they name, plaintext MAIL, the
certificate, and the largest of their timeouts. So an endpoint read by ten
rules, or shared by several targets, is probed once per scan. Each stage's
time is kept in the facts, and a rule whose own ``timeout`` a stage exceeded
gets ``error`` for that endpoint (``plugins.smtp.judge``).

Facts per target: ``{"probes": {KEY: probe facts}}`` where KEY is the
canonical endpoint (``host:port``, plus `` servername=NAME`` when set).
Concurrency: at most :func:`~plugins.smtp.probe.connection_limit` connections
at once overall (``max(64, 32 * --jobs)``, capped at 512: probes wait on the
network, not the CPU) and 3 at once per endpoint.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from plugins.smtp.endpoint import EndpointError, parse_endpoint
from plugins.smtp.judge import endpoints_of, evaluate, probe_key
from plugins.smtp.probe import Plan, connection_limit, run_plans
from scanner.api import JSON, CollectRequest, EvalContext, Outcome, RunContext
from scanner.progress import Progress

DEFAULT_TIMEOUT = 10.0


def add_to_plans(plans: dict[str, Plan], params: Mapping[str, JSON], sources: Mapping[str, JSON]) -> list[str]:
    """Merge what one check needs into ``plans``; return the probe keys it reads.

    A malformed endpoint is left out here: the judge reports it as ``error`` naming it.
    """
    servername = params.get("servername") or None
    keys = []
    for raw in endpoints_of(params, sources):
        try:
            endpoint = parse_endpoint(raw)
        except EndpointError:
            continue
        key = probe_key(endpoint.label, servername)
        plan = plans.setdefault(key, Plan(endpoint, servername, timeout=0.0))
        plan.versions.update(params.get("accept") or [])
        plan.versions.update(params.get("reject") or [])
        plan.plaintext_mail |= bool(params.get("plaintext_mail"))
        plan.certificate |= bool(params.get("certificate"))
        plan.timeout = max(plan.timeout, float(params.get("timeout", DEFAULT_TIMEOUT)))
        keys.append(key)
    return keys


def _run(plans: list[Plan], limit: int, progress: bool) -> list[dict[str, Any]]:
    line = Progress("probed SMTP endpoints", len(plans), progress)
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return run_plans(plans, limit, line.advance)
    # Called from inside an event loop (an async engine): probe in a thread of our own.
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(run_plans, plans, limit, line.advance).result()


class SmtpTlsCollector:
    """Collector for ``smtp_tls``: batch probing in :meth:`collect`, offline judging in :meth:`evaluate`."""

    def collect(self, requests: Sequence[CollectRequest], ctx: RunContext) -> Iterable[tuple[str, JSON]]:
        plans: dict[str, Plan] = {}
        wanted: list[tuple[str, list[str]]] = []
        for request in requests:
            keys: list[str] = []
            for params in request.checks:
                keys += add_to_plans(plans, params, request.target.sources)
            wanted.append((request.target.name, keys))
        results = dict(zip(plans, _run(list(plans.values()), connection_limit(ctx.jobs), ctx.progress), strict=True))
        for name, keys in wanted:
            yield name, {"probes": {k: results[k] for k in dict.fromkeys(keys)}}

    def evaluate(self, params: Mapping[str, JSON], facts: JSON, ctx: EvalContext) -> Outcome:
        return evaluate(params, facts, ctx)
