"""The conformance kit itself: it must catch each way a check type can break the contract."""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest

from scanner.api import CheckType, CollectRequest, EvalContext, Outcome, RunContext, Status, Target
from scanner.testing import (
    ConformanceError,
    Sample,
    TargetTouched,
    assert_conforms,
    conformance_problems,
    no_target_access,
)


class LineCount:
    """A well-behaved check type: at most ``max`` lines in the target's file. Subclasses each break one rule."""

    def read(self, path: Path) -> Any:
        try:
            return {"lines": len(path.read_text().splitlines()), "file": str(path)}
        except OSError as exc:
            return {"error": f"{path}: {exc.strerror}"}

    def collect(self, requests: Sequence[CollectRequest], ctx: RunContext) -> Iterable[tuple[str, Any]]:
        for req in requests:
            yield req.target.name, self.read(req.target.path(req.target.sources["textfile"]))

    def judge(self, params: Mapping[str, Any], facts: Any) -> Outcome:
        if not isinstance(facts, dict) or "lines" not in facts:
            return Outcome(Status.ERROR, str(facts.get("error") if isinstance(facts, dict) else "no facts"))
        ok = facts["lines"] <= params["max"]
        return Outcome(Status.PASS if ok else Status.FAIL, f"{facts['lines']} lines", params["max"], facts["lines"],
                       [{"source": facts["file"]}], {}, {"file": facts["file"]})

    def evaluate(self, params: Mapping[str, Any], facts: Any, ctx: EvalContext) -> Outcome:
        return self.judge(params, facts)


class NoProof(LineCount):
    def evaluate(self, params: Mapping[str, Any], facts: Any, ctx: EvalContext) -> Outcome:
        return self.judge(params, facts)._replace(examined=None)


class RereadsTheFile(LineCount):
    def evaluate(self, params: Mapping[str, Any], facts: Any, ctx: EvalContext) -> Outcome:
        with contextlib.suppress(Exception):  # even a plugin that hides the failure is caught
            facts = self.read(Path(facts["file"]))  # judging must use the facts, not the target
        return self.judge(params, facts)


class NotJson(LineCount):
    def read(self, path: Path) -> Any:
        facts = super().read(path)
        facts["seen"] = {path.name}  # a set: facts cannot be saved
        return facts


class PassesOnNothing(LineCount):
    def judge(self, params: Mapping[str, Any], facts: Any) -> Outcome:
        if not facts:
            return Outcome(Status.PASS, "nothing to count", examined={"note": "trust me"})
        return super().judge(params, facts)


class UnreadableIsZero(LineCount):
    def read(self, path: Path) -> Any:
        if not path.exists():
            return {"lines": 0, "file": str(path)}  # "missing" read as "empty"
        return super().read(path)


class NotIsFooled(LineCount):
    def judge(self, params: Mapping[str, Any], facts: Any) -> Outcome:
        if "error" in facts:  # "could not read" reported as fail: not: turns it into pass
            return Outcome(Status.FAIL, facts["error"], examined={"error": facts["error"]})
        return super().judge(params, facts)


def check_type(collector: Any) -> CheckType:
    schema = {"type": "object", "properties": {"max": {"type": "integer"}}}
    return CheckType(name="line_count", schema=schema, collector=collector, source="textfile")


@pytest.fixture
def samples(tmp_path: Path) -> dict[str, list[Sample]]:
    (tmp_path / "a.txt").write_text("one\ntwo\n")
    target = Target("t", sources={"textfile": "a.txt"}, base_dir=tmp_path)
    gone = Target("t", sources={"textfile": "gone.txt"}, base_dir=tmp_path)
    return {
        "samples": [Sample(target, {"max": 5}, Status.PASS), Sample(target, {"max": 1}, Status.FAIL)],
        "broken": [Sample(gone, {"max": 5})],
    }


def test_a_well_behaved_check_type_conforms(samples: dict[str, list[Sample]]) -> None:
    assert conformance_problems(check_type(LineCount()), **samples) == []


@pytest.mark.parametrize(
    ("collector", "complaint"),
    [
        (NoProof(), "pass without proof"),
        (RereadsTheFile(), "evaluate touched the target: open("),
        (NotJson(), "facts is not plain JSON"),
        (PassesOnNothing(), "facts None pass"),
        (UnreadableIsZero(), "a source that cannot be read gave pass"),
        (NotIsFooled(), "a source that cannot be read gave fail, not error"),
    ],
)
def test_the_kit_catches_each_breach(collector: Any, complaint: str, samples: dict[str, list[Sample]]) -> None:
    problems = conformance_problems(check_type(collector), **samples)
    assert any(complaint in p for p in problems), problems
    with pytest.raises(ConformanceError, match="breaks the contract"):
        assert_conforms(check_type(collector), **samples)


def test_a_sample_that_misses_its_expected_status_is_reported(samples: dict[str, list[Sample]]) -> None:
    wrong = [Sample(s.target, s.params, Status.FAIL) for s in samples["samples"][:1]]
    assert any("expected fail, got pass" in p for p in conformance_problems(check_type(LineCount()), wrong))


def test_the_guard_forbids_files_and_sockets_only_inside_its_block(tmp_path: Path) -> None:
    import socket

    f = tmp_path / "x"
    f.write_text("x")
    with no_target_access() as tried:
        with pytest.raises(TargetTouched):
            f.read_text()
        with pytest.raises(TargetTouched):
            socket.create_connection(("127.0.0.1", 9), timeout=0.1)
    assert tried[0].startswith("open(") and len(tried) >= 2
    assert f.read_text() == "x"  # outside the block, nothing is forbidden
