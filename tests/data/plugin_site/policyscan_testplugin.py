"""A third-party policyscan plugin, used by the tests to prove that a plugin
installed by someone else is discovered through its entry point and treated
exactly like a built-in.

It contributes the check type ``line_count`` (counts the lines of the
target's ``textfile`` source and compares with ``max``) and the reporter
``explode`` (always raises, to exercise the internal-error path).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from scanner.api import CheckType, CollectRequest, EvalContext, Outcome, Reporter, RunContext, Status, hookimpl

CALLS: list[int] = []


class LineCounter:
    def collect(self, requests: Sequence[CollectRequest], ctx: RunContext) -> Iterable[tuple[str, Any]]:
        CALLS.append(len(requests))
        for req in requests:
            path = req.target.path(req.target.sources["textfile"])
            try:
                text = path.read_text(encoding="utf-8")
            except OSError as exc:
                yield req.target.name, {"error": f"{path}: {exc.strerror}"}
                continue
            if "RAISE" in text:
                raise RuntimeError("the test plugin was told to raise")
            yield req.target.name, {"lines": len(text.splitlines()), "file": str(path)}

    def evaluate(self, params: Mapping[str, Any], facts: Any, ctx: EvalContext) -> Outcome:
        if facts.get("error"):
            return Outcome(Status.ERROR, facts["error"])
        lines = facts["lines"]
        status = Status.PASS if lines <= params["max"] else Status.FAIL
        return Outcome(
            status,
            f"{lines} lines, at most {params['max']} allowed",
            expected=params["max"],
            actual=lines,
            evidence=[{"source": facts["file"], "lines": lines}],
            fields={"file": facts["file"]},
            examined={"file": facts["file"], "lines": lines},
        )


@hookimpl
def register_check_types() -> list[CheckType]:
    return [
        CheckType(
            name="line_count",
            schema={
                "type": "object",
                "required": ["max"],
                "properties": {
                    "max": {"type": "integer", "minimum": 0},
                    "matches": {"type": "string", "format": "regex"},
                },
                "additionalProperties": False,
            },
            source="textfile",
            source_schema={"type": "string"},
            collector=LineCounter(),
            description="Counts the lines of a text file (test plugin)",
            placeholders=("file",),
            facts_schema={
                "type": "object",
                "oneOf": [
                    {"required": ["lines", "file"], "properties": {
                        "lines": {"type": "integer", "minimum": 0}, "file": {"type": "string"}}},
                    {"required": ["error"], "properties": {"error": {"type": "string"}}},
                ],
            },
        )
    ]


def _explode(report: Any, stream: Any, options: Any) -> None:
    raise RuntimeError("the explode reporter always fails")


@hookimpl
def register_reporters() -> list[Reporter]:
    return [Reporter(name="explode", write=_explode, description="Always raises (test plugin)")]
