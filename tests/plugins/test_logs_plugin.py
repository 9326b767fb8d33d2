"""log_signatures: sources and globs, parallel scanning, the prefilter plan, registration and schemas."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

import jsonschema
import pytest
from exchange_logs import (
    LED_SOCKET,
    NOW,
    format_list,
    queue_record,
    run_checks,
    sample_sources,
    send_session,
    summary,
    w3c,
    write,
)

from plugins.logs import planning, register_check_types, workers
from plugins.logs.signatures import anchors, scan_plan, signature_defs
from scanner.api import CollectRequest, RunContext, Status, Target

SOCKET = "TLS negotiation failed with error SocketError"
DROPPED = "421 4.4.2 Connection dropped due to SocketError"


def test_glob_matching_nothing_is_error_for_the_rules_that_read_it(tmp_path: Path) -> None:
    write(tmp_path / "q.txt", format_list([queue_record("EX01\\3", LED_SOCKET)]))
    logs = {"smtp_send": ["missing/*.LOG"], "queue": ["q.txt"]}
    checks = [
        {"sources": ["smtp_send"], "forbid": [{"literal": SOCKET}]},
        {"sources": ["queue"], "forbid": [{"literal": "nothing like this"}]},
        {"forbid": [{"literal": DROPPED}]},
    ]
    _, (send, queue, every) = run_checks(tmp_path, logs, checks)
    assert send.status is Status.ERROR and "missing/*.LOG: no file matches this glob" in send.message
    assert queue.status is Status.PASS
    assert every.status is Status.FAIL  # matches found still fail
    # a glob without KIND= that matches nothing could have been any kind: error, not skip
    _, [cli] = run_checks(tmp_path, ["q.txt", "nothing/*.log"], [checks[0]])
    assert cli.status is Status.ERROR and "nothing/*.log: no file matches this glob" in cli.message


def test_sources_naming_no_configured_kind_skip_and_some_kinds_error(tmp_path: Path) -> None:
    write(tmp_path / "q.txt", format_list([queue_record("EX01\\3", "none")]))
    checks = [
        {"sources": ["smtp_send"], "forbid": [{"literal": SOCKET}]},
        {"sources": ["smtp_send", "queue"], "forbid": [{"literal": SOCKET}]},
    ]
    _, (skip, partial) = run_checks(tmp_path, {"queue": "q.txt"}, checks)
    assert skip.status is Status.SKIP and "no smtp_send logs" in skip.message
    assert partial.status is Status.ERROR and "no smtp_send logs are configured" in partial.message


def test_recursive_glob_does_not_follow_symlink_loops(tmp_path: Path) -> None:
    write(
        tmp_path / "logs" / "a" / "SEND1.LOG", w3c("smtp_send", send_session("2025-03-04T11:21", "S", "socketerror"))
    )
    os.symlink("..", tmp_path / "logs" / "a" / "loop")
    os.symlink(tmp_path / "logs", tmp_path / "logs" / "a" / "back")
    facts, [o] = run_checks(tmp_path, ["logs/**/*.LOG"], [{"forbid": [{"literal": SOCKET}]}])
    assert [Path(f["path"]).name for f in facts["files"]] == ["SEND1.LOG"]
    assert o.actual == 1


def test_invalid_regex_is_error_naming_it(tmp_path: Path) -> None:
    write(tmp_path / "a.log", b"2025-03-09T10:00:00Z hello\n")
    _, [o] = run_checks(tmp_path, ["a.log"], [{"forbid": [{"regex": "(?<=x)y"}]}])
    assert o.status is Status.ERROR and "(?<=x)y" in o.message and "not valid RE2" in o.message


def test_worker_processes_and_split_ranges_give_the_same_facts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rows = []
    for k in range(400):
        outcome = "socketerror" if k % 97 == 5 else ("tls10" if k % 131 == 7 else "tls12")
        rows += send_session(f"2025-03-0{4 + k % 3}T{k % 24:02d}:{k % 60:02d}", f"08DD{k:012X}", outcome)
    write(tmp_path / "big" / "SEND1.LOG", w3c("smtp_send", rows))
    write(tmp_path / "big" / "SEND2.LOG", w3c("smtp_send", rows[: len(rows) // 2]))
    checks = [{"forbid": [{"literal": SOCKET}, {"regex": "SP_PROT_(SSL3|TLS1_0|TLS1_1)_"}]}]
    serial, [a] = run_checks(tmp_path, ["big/*.LOG"], checks, jobs=1)
    monkeypatch.setattr(workers, "PARALLEL_MIN", 0)
    monkeypatch.setattr(planning, "SPLIT_MIN", 64 << 10)
    target = Target("ex01", sources={"logs": ["big/*.LOG"]}, base_dir=tmp_path)
    plan = planning.plan_target(CollectRequest(target, checks), RunContext(now=NOW, jobs=2), None)
    assert [t["path"].endswith("SEND1.LOG") for t in plan.tasks].count(True) == 2  # two byte ranges
    split, [b] = run_checks(tmp_path, ["big/*.LOG"], checks, jobs=2)
    assert split == serial
    # with another thread running, workers are spawned instead of forked: same facts
    stop = threading.Event()
    helper = threading.Thread(target=stop.wait, daemon=True)
    helper.start()
    try:
        spawned, _ = run_checks(tmp_path, ["big/*.LOG"], checks, jobs=2)
    finally:
        stop.set()
        helper.join()
    assert spawned == serial
    assert (a.actual, a.evidence) == (b.actual, b.evidence)
    raw = [ln for f in ("SEND1.LOG", "SEND2.LOG") for ln in (tmp_path / "big" / f).read_bytes().splitlines()]
    want_socket = sum(SOCKET.encode() in ln for ln in raw)
    want_tls10 = sum(b"SP_PROT_TLS1_0_" in ln for ln in raw)
    assert (want_socket, want_tls10) == (8, 5)
    assert a.actual == want_socket + want_tls10
    assert summary(b)["SP_PROT_(SSL3|TLS1_0|TLS1_1)_"]["count"] == want_tls10
    # 5 header lines + 5 sessions of 11 lines, then the 9th line of the failing session
    assert sample_sources(b, SOCKET)[0] == "SEND1.LOG:69"


def test_scan_plan_prefilters_with_literals() -> None:
    check = {
        "forbid": [
            {"literal": "SocketError"},
            {"literal": DROPPED},
            {"regex": r"TLS negotiation failed with error \w+"},
            {"regex": r"\d+"},
            {"regex": r"^\w+$"},
            {"literal": "MiXed"},
        ],
        "ignore_case": False,
    }
    defs = signature_defs(check)
    plan = scan_plan(defs)
    # a literal containing another is served by the shorter one's hits: one pass for both
    assert ["SocketError", [0, 1]] in plan["exact"]
    assert ["TLS negotiation failed with error ", [2]] in plan["exact"]
    assert plan["raw"] == [3] and plan["every"] == [4]
    assert anchors(
        {"type": "regex", "pattern": "SP_PROT_(SSL3|TLS1_0)_(CLIENT|SERVER)", "ignore_case": False, "field": None}
    ) == ([b"SP_PROT_"], False)
    assert anchors({"type": "regex", "pattern": "(?i)(fooo|barbaz)qu", "ignore_case": False, "field": None}) == (
        [b"fooo", b"barbaz"],
        True,
    )
    assert anchors({"type": "literal", "pattern": 'say "hi" there', "ignore_case": False, "field": "data"}) == (
        [b" there"],
        False,
    )


def test_registration_schemas_and_light_import() -> None:
    [ct] = register_check_types()
    assert (ct.name, ct.source) == ("log_signatures", "logs")
    assert {"signature", "count", "path"} <= set(ct.placeholders)
    v = jsonschema.Draft202012Validator(ct.schema)
    good = {
        "sources": ["smtp_send", "smtp_receive"],
        "forbid": [{"literal": "x"}, {"id": "t", "regex": "a+"}],
        "ignore_case": False,
        "field": "data",
        "within": "7d",
        "max_count": 0,
    }
    assert not list(v.iter_errors(good))
    for bad in (
        {"forbid": []},
        {"forbid": [{"literal": "x", "regex": "y"}]},
        {"forbid": [{"literal": "x"}], "within": "7 days"},
        {"forbid": [{"literal": "x"}], "sources": ["smtp"]},
        {"forbid": [{"literal": "x"}], "max_count": -1},
    ):
        assert list(v.iter_errors(bad)), bad
    assert ct.source_schema is not None
    s = jsonschema.Draft202012Validator(ct.source_schema)
    assert not list(s.iter_errors({"smtp_send": ["logs/*.LOG"], "queue": "q.txt"}))
    assert not list(s.iter_errors(["smtp_send=logs/*.LOG", "other/*.log"]))
    assert list(s.iter_errors({"smtpsend": ["x"]}))
    code = (
        "import sys, plugins.logs as m; m.register_check_types(); "
        "print(sorted({'re2', 'multiprocessing'} & set(sys.modules)))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_memmem_finder_agrees_with_bytes_find_and_the_fallback(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from plugins.logs import filescan
    from plugins.logs.fastfind import Finder

    data = b"abcSocketError\nxxSocketErro\nSocketError"
    f = Finder(data)
    try:
        for needle, lo, hi in [(b"SocketError", 0, len(data)), (b"SocketError", 4, len(data)),
                               (b"SocketError", 0, len(data) - 1), (b"Sock", 30, 31), (b"x", 16, 17)]:
            assert f.find(needle, lo, hi) == data.find(needle, lo, hi)
    finally:
        f.close()
    rows = send_session("2025-03-04T11:21", "S", "socketerror") * 3
    write(tmp_path / "s.LOG", w3c("smtp_send", rows))
    check = [{"forbid": [{"literal": SOCKET}, {"literal": "SP_PROT_TLS1_0_"}]}]
    fast, [a] = run_checks(tmp_path, ["s.LOG"], check)
    monkeypatch.setattr(filescan, "USE_MEMMEM", False)
    slow, [b] = run_checks(tmp_path, ["s.LOG"], check)
    assert fast == slow and a.actual == b.actual == 3
    monkeypatch.setattr(filescan, "BLOCK", 333)  # many small prefilter rounds give the same facts
    assert run_checks(tmp_path, ["s.LOG"], check)[0] == fast
