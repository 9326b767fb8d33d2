"""The evaluator: batching, the combinator table, placeholders, faults kept local."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from scanner.api import RunContext, Severity, Status, Target
from scanner.engine import Engine
from scanner.errors import UsageError
from scanner.exitcodes import ExitCode, gate, gate_counts
from scanner.loader import load_policies
from scanner.plugin_host import load_plugins
from scanner.report import Result
from tests.conftest import PLUGIN_SITE, ROOT

NOW = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)

POLICY = """\
apiVersion: policyscan/v1
kind: Policy
metadata: {id: demo, title: Demo, version: '1'}
inputs: {limit: 2}
rules:
%s
"""


@pytest.fixture
def host(monkeypatch):
    monkeypatch.syspath_prepend(str(PLUGIN_SITE))
    h = load_plugins()
    sys.modules["policyscan_testplugin"].CALLS.clear()
    return h


def run(host, write, rules: str, targets: list[Target], lang: str = "en") -> list[Result]:
    policies = load_policies([str(write("p.yaml", POLICY % rules))], host)
    return Engine(policies, host.check_types, RunContext(now=NOW), lang=lang).scan(targets)


def target(tmp_path: Path, name: str, lines: int | None, **labels: str) -> Target:
    sources = {}
    if lines is not None:
        f = tmp_path / f"{name}.txt"
        f.write_text("x\n" * lines)
        sources["textfile"] = f.name
    return Target(name=name, labels=labels, sources=sources, base_dir=tmp_path)


PASS = "{line_count: {max: 100}}"
FAIL = "{line_count: {max: 0}}"


@pytest.mark.parametrize(
    ("check", "expected"),
    [
        (f"{{all: [{PASS}, {FAIL}]}}", Status.FAIL),
        (f"{{all: [{PASS}, {PASS}]}}", Status.PASS),
        (f"{{any: [{FAIL}, {PASS}]}}", Status.PASS),
        (f"{{any: [{FAIL}, {FAIL}]}}", Status.FAIL),
        (f"{{not: {PASS}}}", Status.FAIL),
        (f"{{not: {FAIL}}}", Status.PASS),
        (f"{{not: {{not: {FAIL}}}}}", Status.FAIL),
    ],
)
def test_combinators(host, write, tmp_path, check, expected):
    (result,) = run(host, write, f"  - {{id: R, title: t, severity: low, check: {check}}}", [target(tmp_path, "a", 5)])
    assert result.status is expected


def test_error_and_skip_follow_the_table(host, write, tmp_path):
    broken = Target(name="broken", sources={"textfile": "missing.txt"}, base_dir=tmp_path)
    rules = "\n".join(
        f"  - {{id: {rid}, title: t, severity: low, check: {check}}}"
        for rid, check in [
            ("all-pass-error", f"{{all: [{PASS}, {FAIL.replace('0', '100')}]}}"),
            ("not-error", f"{{not: {PASS}}}"),
            ("any-fail-error", f"{{any: [{FAIL}, {FAIL}]}}"),
        ]
    )
    results = {r.rule: r for r in run(host, write, rules, [broken])}
    assert {r.status for r in results.values()} == {Status.ERROR}
    assert "missing.txt" in results["not-error"].message
    # a target without the source skips, and skip stays skip under not/all
    empty = target(tmp_path, "empty", None)
    results = run(host, write, rules, [empty])
    assert {r.status for r in results} == {Status.SKIP}
    assert results[0].message == "target 'empty' has no textfile source"


def test_all_with_a_skipped_child_passes_on_the_rest(host, write, tmp_path):
    rule = f"  - {{id: R, title: t, severity: low, check: {{all: [{PASS}, {PASS}]}}}}"
    (result,) = run(host, write, rule, [target(tmp_path, "a", 1)])
    assert result.status is Status.PASS


def test_each_source_collected_once_per_target_batch(host, write, tmp_path):
    rules = "\n".join(f"  - {{id: R{i}, title: t, severity: low, check: {PASS}}}" for i in range(6))
    targets = [target(tmp_path, f"t{i}", i) for i in range(3)]
    results = run(host, write, rules, targets)
    assert len(results) == 18
    assert sys.modules["policyscan_testplugin"].CALLS == [3]


def test_scan_wide_collectors_see_every_target_in_one_call(host, write, tmp_path):
    """A check type that is not process_parallel (network probes, logs) gets all targets at once,
    so an endpoint shared by targets in different batches is still collected once."""
    rule = f"  - {{id: R, title: t, severity: low, check: {PASS}}}"
    targets = [target(tmp_path, f"t{i:04d}", 1) for i in range(600)]
    results = run(host, write, rule, targets)
    assert len(results) == 600 and {r.status for r in results} == {Status.PASS}
    assert sys.modules["policyscan_testplugin"].CALLS == [600]


def test_collector_exception_is_an_error_for_the_targets_it_touches(host, write, tmp_path):
    good = target(tmp_path, "a-good", 1)
    bad = target(tmp_path, "z-bad", 1)
    (tmp_path / "z-bad.txt").write_text("RAISE\n")
    rule = f"  - {{id: R, title: t, severity: low, check: {PASS}}}"
    a, z = run(host, write, rule, [good, bad])
    assert a.status is Status.PASS
    assert z.status is Status.ERROR
    assert "collector 'line_count' failed: RuntimeError: the test plugin was told to raise" in z.message


def test_remediation_placeholders_language_and_escapes(host, write, tmp_path, monkeypatch):
    rule = """\
  - id: R
    title: t
    severity: high
    check: {any: [{line_count: {max: "${inputs.limit}"}}, {line_count: {max: 1}}]}
    remediation:
      en: "${target}/${rule}: trim ${file} to ${expected} lines (has ${actual}, limit ${inputs.limit}); costs $$5"
      es: "Recorte ${file} a ${expected} líneas"
"""
    (result,) = run(host, write, rule, [target(tmp_path, "a", 5)])
    assert result.status is Status.FAIL
    assert result.remediation == f"a/R: trim {tmp_path / 'a.txt'} to 2 lines (has 5, limit 2); costs $5"
    (result,) = run(host, write, rule, [target(tmp_path, "a", 5)], lang="es")
    assert result.remediation == f"Recorte {tmp_path / 'a.txt'} a 2 líneas"
    # a language added by a third-party catalog, with no remediation of its own: English
    fr = tmp_path / "locale" / "fr" / "LC_MESSAGES"
    fr.mkdir(parents=True)
    (fr / "policyscan.mo").write_bytes((ROOT / "scanner/locale/es/LC_MESSAGES/policyscan.mo").read_bytes())
    monkeypatch.setenv("POLICYSCAN_LOCALE_PATH", str(tmp_path / "locale"))
    (result,) = run(host, write, rule, [target(tmp_path, "a", 5)], lang="fr")
    assert result.remediation.startswith("a/R: trim")
    with pytest.raises(UsageError, match=r"--lang xx: no such language \(available: en, es, fr\)"):
        run(host, write, rule, [target(tmp_path, "a", 5)], lang="xx")


def test_applies_to_labels_and_sorted_results(host, write, tmp_path):
    rules = "\n".join(
        [
            f"  - {{id: B, title: t, severity: low, check: {PASS}, applies_to: {{labels: {{role: exchange}}}}}}",
            f"  - {{id: A, title: t, severity: low, check: {PASS}}}",
        ]
    )
    targets = [target(tmp_path, "z", 1, role="exchange"), target(tmp_path, "m", 1, role="edge")]
    results = run(host, write, rules, targets)
    assert [(r.target, r.rule) for r in results] == [("m", "A"), ("m", "B"), ("z", "A"), ("z", "B")]
    assert results[1].status is Status.SKIP
    assert results[1].message == "rule applies to targets labelled role=exchange"
    assert results[3].status is Status.PASS


def _r(status: Status, severity: Severity = Severity.HIGH) -> Result:
    return Result("t", "p", "r", "title", severity, status, status, "m")


@pytest.mark.parametrize(
    ("statuses", "fail_on", "code"),
    [
        ([Status.PASS, Status.PASS], Severity.LOW, ExitCode.OK),
        ([Status.PASS, Status.FAIL], Severity.LOW, ExitCode.FAILED),
        ([Status.PASS, Status.ERROR], Severity.LOW, ExitCode.INCOMPLETE),
        ([Status.FAIL, Status.ERROR], Severity.LOW, ExitCode.FAILED),
        ([Status.SKIP, Status.SKIP], Severity.LOW, ExitCode.INCOMPLETE),
        ([], Severity.LOW, ExitCode.INCOMPLETE),
        ([Status.PASS, Status.FAIL], Severity.CRITICAL, ExitCode.OK),
        ([Status.WAIVED, Status.PASS], Severity.LOW, ExitCode.OK),
    ],
)
def test_gate(statuses, fail_on, code):
    assert gate([_r(s) for s in statuses], fail_on) is code


def test_info_never_fails_the_default_gate():
    assert gate([_r(Status.FAIL, Severity.INFO), _r(Status.PASS)]) is ExitCode.OK
    assert gate([_r(Status.FAIL, Severity.INFO)], Severity.INFO) is ExitCode.FAILED


def test_process_parallel_check_types_run_in_forked_workers_with_identical_results(host, write, tmp_path):
    """Batches of a check type that allows it run in worker processes; results and order are the same."""
    import dataclasses
    import os

    from scanner.api import hookimpl

    base = host.check_types["line_count"]

    class WithPid:
        def collect(self, requests, ctx):
            for name, facts in base.collector.collect(requests, ctx):
                yield name, {**facts, "file": f"{facts['file']}@{os.getpid()}"}

        def evaluate(self, params, facts, ctx):
            return base.collector.evaluate(params, facts, ctx)

    class Parallel:
        @staticmethod
        @hookimpl
        def register_check_types():
            return [dataclasses.replace(base, name="line_count_mp", collector=WithPid(), process_parallel=True)]

    host2 = load_plugins({"parallel": Parallel})
    rules = "  - {id: R, title: t, severity: low, check: {line_count_mp: {max: 3}}}"
    policies = load_policies([str(write("p.yaml", POLICY % rules))], host2)
    targets = [target(tmp_path, f"t{i:04d}", i % 6) for i in range(600)]

    def scan(jobs):
        return Engine(policies, host2.check_types, RunContext(now=NOW, jobs=jobs)).scan(targets)

    one, two = scan(1), scan(2)
    assert all(type(r) is Result and len(r) == len(Result._fields) and r.references == () for r in one + two)
    strip = [(r.target, r.status, r.actual, r.message) for r in one]
    assert strip == [(r.target, r.status, r.actual, r.message) for r in two]
    assert [r.target for r in two] == sorted(t.name for t in targets)
    pids = {r.evidence[0]["source"].rsplit("@", 1)[1] for r in two}
    assert str(os.getpid()) not in pids and len(pids) >= 1
    assert {r.evidence[0]["source"].rsplit("@", 1)[1] for r in one} == {str(os.getpid())}


def test_results_cross_from_workers_intact_with_or_without_marshal():
    from scanner.engine import pack_results as _pack
    from scanner.engine import unpack_results as _from_wire

    evidence = ({"source": "a.reg:3", "expected": [1, 4294967295], "combinator": None},)
    plain = Result("t", "p", "r", "title", Severity.HIGH, Status.FAIL, Status.FAIL, "m", 1, [1, 2],
                   evidence, "fix it", None, "registry")
    data = _pack([plain])
    assert data[:1] == b"m" and _from_wire(data) == [plain]
    assert _from_wire(data)[0].status is Status.FAIL and _from_wire(data)[0].severity is Severity.HIGH
    odd = plain._replace(evidence=({"source": "x", "when": NOW},))  # not marshal-able: pickle carries it
    data = _pack([odd])
    assert data[:1] == b"p" and _from_wire(data) == [odd]


def test_gate_from_counts_agrees_with_gate_on_results():
    """A streamed scan keeps only counts per (status, severity); the exit code must not change."""
    from collections import Counter
    from itertools import product

    kinds = list(product(list(Status), list(Severity)))
    for mask in range(1, 1 << 6):
        picked = [kinds[(mask * 7 + i * 11) % len(kinds)] for i in range(6) if mask >> i & 1]
        results = [_r(status, severity) for status, severity in picked]
        for fail_on in Severity:
            counts = Counter((r.status, r.severity) for r in results)
            assert gate_counts(counts, fail_on) is gate(results, fail_on), (picked, fail_on)
    assert gate_counts({}) is ExitCode.INCOMPLETE
    assert gate_counts({(Status.FAIL, Severity.HIGH): 0, (Status.PASS, Severity.LOW): 2}) is ExitCode.OK


# ---------------------------------------------------------------- proof of a verdict


class _Canned:
    """A check type that returns the Outcome its parameters name (status, and whether it has proof)."""

    def collect(self, requests, ctx):
        for req in requests:
            yield req.target.name, {"seen": True}

    def evaluate(self, params, facts, ctx):
        from scanner.api import Outcome

        examined = {"file": "x.txt"} if params.get("proof") else params.get("examined")
        return Outcome(params["status"], f"said {params['status']}", examined=examined)


def _judge_canned(check: dict, combinator: str | None = None) -> Status:
    from scanner.api import CheckType
    from scanner.policy import CheckNode, Policy, Rule

    node = CheckNode("check", "check", "canned", check)
    if combinator:
        node = CheckNode(combinator, "check", children=(CheckNode("check", f"check.{combinator}", "canned", check),))
    policy = Policy("p", "P", "1", "", "p.yaml", (Rule("R1", "R", Severity.HIGH, node),))
    ct = CheckType(name="canned", schema={}, collector=_Canned(), source="canned")
    [result] = Engine([policy], {"canned": ct}, RunContext(now=NOW)).scan([Target("t", sources={"canned": "x"})])
    return result.status


@pytest.mark.parametrize("status", [Status.PASS, Status.FAIL, "pass", "fail"])
def test_a_verdict_without_proof_is_an_error(status) -> None:
    assert _judge_canned({"status": status, "proof": True}) == Status(status)
    assert _judge_canned({"status": status, "proof": False}) is Status.ERROR
    # empty values are no proof either
    assert _judge_canned({"status": status, "examined": {"files": 0, "bytes": 0, "read": []}}) is Status.ERROR


def test_not_of_an_unproven_fail_is_an_error_not_a_pass() -> None:
    assert _judge_canned({"status": Status.FAIL, "proof": True}, "not") is Status.PASS
    assert _judge_canned({"status": Status.FAIL, "proof": False}, "not") is Status.ERROR


@pytest.mark.parametrize("status", [Status.WAIVED, "waived", "ok", None])
def test_a_status_a_check_type_may_not_give_is_an_error(status) -> None:
    assert _judge_canned({"status": status, "proof": True}) is Status.ERROR


def test_rules_whose_labels_match_no_target_are_named(host, write, tmp_path) -> None:
    from scanner.engine import rules_for_no_target

    rules = """\
  - {id: R1, title: t, severity: high, applies_to: {labels: {rol: exchange}}, check: {line_count: {max: 1}}}
  - {id: R2, title: t, severity: high, applies_to: {labels: {role: exchange}}, check: {line_count: {max: 1}}}
  - {id: R3, title: t, severity: high, check: {line_count: {max: 1}}}
"""
    policies = load_policies([str(write("p.yaml", POLICY % rules))], host)
    targets = [target(tmp_path, "a", 1, role="exchange"), target(tmp_path, "b", 1, role="edge")]
    assert rules_for_no_target(policies, targets) == ["demo/R1"]
    assert rules_for_no_target(policies, targets[1:]) == ["demo/R1", "demo/R2"]
