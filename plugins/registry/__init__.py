"""The ``registry`` check type: Windows registry keys and values from ``.reg`` exports or the live registry.

Policy syntax (SPEC §4.1)::

    check:
      registry:
        key: 'HKLM\\SYSTEM\\CurrentControlSet\\Control\\SecurityProviders\\SCHANNEL\\Protocols\\TLS 1.2\\Client'
        value: Enabled        # omit to check the key itself; '@' is the default value
        type: REG_DWORD       # optional: the value must have this type
        equals: 1             # at most one of equals, not_equals, in, not_in, min, max, matches, exists
        when_missing: fail    # fail | pass | skip

Inventory (SPEC §5): ``registry: {file: x.reg}``, ``{files: [a.reg, b.reg]}`` or ``{live: true}``.

Modules: :mod:`.regfile` parses exports, :mod:`.live` reads ``winreg``,
:mod:`.gather` turns a target's source into facts (shape in :mod:`.facts`),
:mod:`.judge` evaluates one check (parameters read once by :mod:`.checkspec`),
:mod:`.rule_schema` holds the schemas, :mod:`.keys` and :mod:`.values` the
key and data conventions. Only the schemas are imported at start-up; the rest
loads on first use.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from plugins.registry.facts_schema import FACTS_SCHEMA
from plugins.registry.rule_schema import PARAMS, SOURCE
from scanner.api import CheckType, CollectRequest, Command, EvalContext, Outcome, RunContext, hookimpl

PLACEHOLDERS = ("key", "value", "type", "operator")


class RegistryCollector:
    """Parses each target's exports once for all of its registry checks; judges each check from the facts."""

    def __init__(self) -> None:
        self._evaluate: Any = None

    def collect(self, requests: Sequence[CollectRequest], ctx: RunContext) -> Iterator[tuple[str, Any]]:
        from plugins.registry import facts, gather
        from plugins.registry.messages import message
        from scanner.i18n import N_

        for request in requests:
            try:
                found = gather.facts_for(request.target, request.checks)
            except Exception as exc:  # a bug must not stop the other targets of the batch
                found = facts.failed([], message(N_("registry collector failed: {error}"),
                                                 error=f"{type(exc).__name__}: {exc}"))
            yield request.target.name, found

    def evaluate(self, params: Mapping[str, Any], facts: Any, ctx: EvalContext) -> Outcome:
        if self._evaluate is None:  # imported on first use: start-up stays light
            from plugins.registry.judge import evaluate

            self._evaluate = evaluate
        return self._evaluate(params, facts, ctx)


@hookimpl
def register_check_types() -> list[CheckType]:
    return [
        CheckType(
            name="registry",
            source="registry",
            schema=PARAMS,
            source_schema=SOURCE,
            collector=RegistryCollector(),
            description="A Windows registry key or value from .reg exports (or the live registry on Windows)",
            placeholders=PLACEHOLDERS,
            process_parallel=True,  # local files, pure CPU: batches may run in forked workers
            facts_schema=FACTS_SCHEMA,
        )
    ]


@hookimpl
def register_commands() -> list[Command]:
    from plugins.registry.command import FIX

    return [FIX]
