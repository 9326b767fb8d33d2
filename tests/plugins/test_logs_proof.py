"""log_signatures: no pass without proof. Each test is one hostile or odd input that used to pass."""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
import warnings
from pathlib import Path

import jsonschema
import pytest
from conftest import POLICIES, run_cli
from exchange_logs import (
    NOW,
    format_list,
    gz,
    queue_record,
    run_checks,
    send_row,
    send_session,
    summary,
    w3c,
    write,
)

from plugins.logs.collector import LogCollector
from plugins.logs.schema import KINDS, PARAMS_SCHEMA, SOURCE_SCHEMA, split_kind
from scanner.api import EvalContext, RunContext, Status, Target, has_proof

SOCKET = "TLS negotiation failed with error SocketError"


def _send_log(tmp_path: Path, name: str = "SEND1.LOG") -> Path:
    rows = send_session("2025-03-04T11:20", "A", "tls12") + send_session("2025-03-05T11:23", "B", "socketerror")
    return write(tmp_path / name, w3c("smtp_send", rows))


# -- finding 1: the prefilter reads RE2 as RE2 does, or not at all -------------------------------------

@pytest.mark.parametrize("regex", [
    "(?i:tls negotiation failed)",          # a scoped flag: Python's parser ignored it
    "TLS[[:space:]]negotiation failed",     # a POSIX class: Python read '[[:space:]' plus ']'
    "(?i)tls negotiation|never",            # (?i) holds across '|' to the end of its group
    r"\QTLS negotiation\E failed",
    r"negotiation\x20failed with error \p{Lu}",
])
def test_re2_syntax_that_python_reads_otherwise_still_matches(tmp_path: Path, regex: str) -> None:
    _send_log(tmp_path)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        _, [o] = run_checks(tmp_path, ["SEND1.LOG"], [{"forbid": [{"regex": regex}]}])
    assert (o.status, o.actual) == (Status.FAIL, 1)
    assert [str(w.message) for w in caught] == []  # no FutureWarning from the re module leaks


def test_an_invalid_regex_is_an_error_and_nothing_leaks_to_stderr(tmp_path: Path) -> None:
    _send_log(tmp_path)
    code = ("import sys; sys.path.insert(0, sys.argv[1]); from pathlib import Path; "
            "from exchange_logs import run_checks; "
            "print(run_checks(Path(sys.argv[2]), ['SEND1.LOG'], [{'forbid': [{'regex': 'a(b'}, "
            "{'regex': '(?i:tls)[[:space:]]'}]}])[1][0].status)")
    proc = subprocess.run([sys.executable, "-c", code, str(Path(__file__).parent), str(tmp_path)],
                          capture_output=True, text=True, timeout=60)
    assert (proc.stdout.strip(), proc.stderr) == ("fail", "")  # the valid one matched; no RE2 log, no warning
    _, [o] = run_checks(tmp_path, ["SEND1.LOG"], [{"forbid": [{"regex": "a(b"}]}])
    assert o.status is Status.ERROR and "not valid RE2" in o.message


def test_two_case_folded_signatures_on_one_line_are_both_counted(tmp_path: Path) -> None:
    write(tmp_path / "a.log", b"2025-03-09T10:00:00Z ALPHA ONE and Beta Two\n")
    checks = [{"forbid": [{"literal": "alpha one"}], "ignore_case": True},
              {"forbid": [{"literal": "beta two"}], "ignore_case": True}]
    _, (a, b) = run_checks(tmp_path, ["a.log"], checks)
    assert (a.actual, b.actual) == (1, 1)


def test_case_folding_beyond_ascii_is_re2_folding_and_never_crashes(tmp_path: Path) -> None:
    # U+212A KELVIN SIGN folds to k in RE2: the folded prefilter hit used to be looked up by bytes.lower()
    write(tmp_path / "a.log", "2025-03-09T10:00:00Z SOC\u212aETERROR\n".encode())
    _, [o] = run_checks(tmp_path, ["a.log"], [{"forbid": [{"literal": "socketerror"}], "ignore_case": True}])
    assert (o.status, o.actual) == (Status.FAIL, 1)


def test_case_folding_in_a_format_list_queue_export(tmp_path: Path) -> None:
    record = queue_record("EX01\\3", "421 4.4.2 Connection dropped due to SOC\u212aETERROR")
    write(tmp_path / "q.txt", format_list([record]))
    _, [o] = run_checks(tmp_path, ["q.txt"], [{"forbid": [{"literal": "socketerror"}], "ignore_case": True}])
    assert (o.status, o.actual) == (Status.FAIL, 1)


def test_a_column_that_does_not_exist_is_error_even_without_hits(tmp_path: Path) -> None:
    _send_log(tmp_path)
    write(tmp_path / "a.log", b"2025-03-09T10:00:00Z hello\n")
    check = {"forbid": [{"literal": "absent from every line"}], "field": "contxt"}
    for logs in (["SEND1.LOG"], ["a.log"]):
        _, [o] = run_checks(tmp_path, logs, [check])
        assert o.status is Status.ERROR and "has no column 'contxt'" in o.message


# -- finding 2: within never skips a file that could hold a counted line -------------------------------

def test_within_counts_an_undated_line_or_a_recent_line_above_an_old_last_line(tmp_path: Path) -> None:
    undated = [send_row("", 1, "*", "", SOCKET, "U"), send_row("2025-02-01T00:00:00.000Z", 2, "*", "", "x", "U")]
    unordered = [send_row("2025-03-09T10:00:00.000Z", 1, "*", "", SOCKET, "R"),
                 send_row("2025-02-01T00:00:00.000Z", 2, "*", "", "x", "R")]
    write(tmp_path / "SEND-undated.LOG", w3c("smtp_send", undated))
    write(tmp_path / "SEND-unordered.LOG", w3c("smtp_send", unordered))
    check = {"forbid": [{"literal": SOCKET}], "within": "7d"}
    _, [u] = run_checks(tmp_path, ["SEND-undated.LOG"], [check])
    _, [r] = run_checks(tmp_path, ["SEND-unordered.LOG"], [check])
    assert (u.status, u.actual, summary(u)[SOCKET]["undated"]) == (Status.FAIL, 1, 1)
    assert (r.status, r.actual) == (Status.FAIL, 1)


# -- finding 3: UTF-16 without a BOM, and what is not text ---------------------------------------------

@pytest.mark.parametrize("codec", ["utf-16-le", "utf-16-be"])
def test_utf16_without_bom_is_read(tmp_path: Path, codec: str) -> None:
    text = w3c("smtp_send", send_session("2025-03-05T11:23", "B", "socketerror"), bom=False).decode()
    write(tmp_path / "SEND.LOG", text.encode(codec))
    facts, [o] = run_checks(tmp_path, ["SEND.LOG"], [{"forbid": [{"literal": SOCKET}]}])
    assert facts["files"][0]["kind"] == "smtp_send"
    assert (o.status, o.actual) == (Status.FAIL, 1)


def test_binary_content_is_error_not_an_empty_pass(tmp_path: Path) -> None:
    write(tmp_path / "a.bin", bytes(range(256)) * 64)
    write(tmp_path / "b.gz", gzip.compress(bytes(range(256)) * 64))
    for name in ("a.bin", "b.gz"):
        _, [o] = run_checks(tmp_path, [name], [{"forbid": [{"literal": SOCKET}]}])
        assert o.status is Status.ERROR and "is not text" in o.message


# -- finding 4: gzip rotations ---------------------------------------------------------------------------

def test_clean_gzip_rotations_pass_and_a_truncated_one_does_not(tmp_path: Path) -> None:
    clean = w3c("smtp_send", send_session("2025-03-04T11:20", "A", "tls12"))
    write(tmp_path / "one.LOG.gz", gz(clean))
    write(tmp_path / "two.LOG.gz", gz(clean[:300]) + gz(clean[300:]) + b"\0" * 16)  # two members, zero padding
    write(tmp_path / "cut.LOG.gz", gz(clean)[:-9])
    check = [{"forbid": [{"literal": SOCKET}]}]
    for name in ("one.LOG.gz", "two.LOG.gz"):
        _, [o] = run_checks(tmp_path, [f"smtp_send={name}"], check)
        assert o.status is Status.PASS, o.message
        assert o.examined and o.examined["bytes"] == (tmp_path / name).stat().st_size
    _, [o] = run_checks(tmp_path, ["smtp_send=cut.LOG.gz"], check)
    assert o.status is Status.ERROR and "truncated gzip member" in o.message
    found = w3c("smtp_send", send_session("2025-03-05T11:23", "B", "socketerror"))
    write(tmp_path / "hit.LOG.gz", gz(clean) + gz(found))
    _, [o] = run_checks(tmp_path, ["smtp_send=hit.LOG.gz"], check)
    assert (o.status, o.actual) == (Status.FAIL, 1)  # the second member is read too


# -- finding 5: every configured kind reads its files; no proof, no pass ---------------------------------

@pytest.mark.parametrize("logs", [["smtp_send=SEND1.LOG", "text=SEND1.LOG"],
                                  {"smtp_send": "SEND1.LOG", "text": ["SEND1.LOG"]}])
def test_one_glob_under_two_kinds_is_read_as_each(tmp_path: Path, logs: object) -> None:
    _send_log(tmp_path)
    checks = [{"sources": [k], "forbid": [{"literal": SOCKET}]} for k in ("smtp_send", "text")]
    checks.append({"sources": ["text"], "forbid": [{"literal": "absent from every line"}]})
    checks.append({"forbid": [{"literal": SOCKET}]})  # reads both kinds: the same line counts once
    _, (send, text, clean, both) = run_checks(tmp_path, logs, checks)
    assert (send.actual, text.actual, both.actual) == (1, 1, 1) and send.status is text.status is Status.FAIL
    assert clean.status is Status.PASS and clean.examined and clean.examined["kinds"]["text"]["files"] == 1


def test_a_file_read_in_part_or_not_at_all_never_passes(tmp_path: Path) -> None:
    path = _send_log(tmp_path)
    check = {"forbid": [{"literal": "absent from every line"}]}
    facts, [o] = run_checks(tmp_path, ["SEND1.LOG"], [check])
    assert o.status is Status.PASS and has_proof(o.examined)
    assert o.examined == {"files": 1, "bytes": path.stat().st_size, "with_lines": 1, "matching_lines": 0,
                          "kinds": {"smtp_send": {"files": 1, "bytes": path.stat().st_size, "with_lines": 1}}}
    run = RunContext(now=NOW, jobs=1)
    ctx = EvalContext(run=run, target=Target("ex01", sources={"logs": ["SEND1.LOG"]}, base_dir=tmp_path))
    short = json.loads(json.dumps(facts))
    short["files"][0]["read"] = 10  # e.g. the file was cut between listing and reading
    unread = json.loads(json.dumps(facts))
    unread["files"] = []  # the glob matched, but no file was read
    legacy = json.loads(json.dumps(facts))
    del legacy["files"][0]["read"]  # facts from before reads were counted
    for bad in (short, unread, legacy):
        got = LogCollector().evaluate(check, bad, ctx)
        assert got.status is Status.ERROR, got


# -- finding 6: a KIND= typo is no path --------------------------------------------------------------

def test_a_kind_typo_is_refused_by_the_source_schema_and_split_kind(tmp_path: Path) -> None:
    items = jsonschema.Draft202012Validator(SOURCE_SCHEMA)
    assert list(items.iter_errors(["smtpsend=x.log"])) and list(items.iter_errors(["smtp_send="]))
    for ok in (["smtp_send=x.log", "x.log", "C:\\logs\\*.LOG", "./a=b.log", "smtp2=x.log"]):
        assert not list(items.iter_errors([ok])), ok
    assert all(k in json.dumps(SOURCE_SCHEMA) for k in KINDS)
    with pytest.raises(ValueError, match="smtp_send, smtp_receive, message_tracking, queue, text"):
        split_kind("smtpsend=x.log")
    write(tmp_path / "smtpsend=x.log", b"2025-03-09T10:00:00Z hello\n")
    _, [o] = run_checks(tmp_path, ["smtpsend=x.log"], [{"forbid": [{"literal": "absent"}]}])
    assert o.status is Status.ERROR and "not a log kind" in o.message  # never read as the path
    assert PARAMS_SCHEMA["properties"]["forbid"]["items"]["properties"]["regex"]["format"] == "regex"


def test_cli_refuses_a_kind_typo_as_a_usage_error(tmp_path: Path) -> None:
    """Needs the CLI half too: --logs sources validated against the check type's source_schema."""
    proc = run_cli("scan", "--policy", str(POLICIES), "--logs", "smtpsend=x.log", cwd=tmp_path)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert all(k in proc.stdout + proc.stderr for k in KINDS)


def test_log_signatures_keeps_the_check_type_contract(tmp_path: Path) -> None:
    from plugins.logs.collector import check_type
    from scanner.testing import Sample, assert_conforms

    _send_log(tmp_path)
    clean = w3c("smtp_send", send_session("2025-03-04T11:20", "A", "tls12"))
    write(tmp_path / "clean.LOG.gz", gz(clean) + gz(clean))
    write(tmp_path / "cut.LOG.gz", gz(clean)[:-20])
    write(tmp_path / "bin.log", bytes(range(256)) * 32)
    write(tmp_path / "empty" / ".keep", b"")

    def target(*logs: str) -> Target:
        return Target("ex01", sources={"logs": list(logs)}, base_dir=tmp_path)

    forbid = {"forbid": [{"literal": SOCKET}]}
    assert_conforms(
        check_type(),
        samples=[Sample(target("SEND1.LOG"), forbid, expect=Status.FAIL),
                 Sample(target("smtp_send=clean.LOG.gz"), forbid, expect=Status.PASS),
                 Sample(target("smtp_send=clean.LOG.gz", "text=clean.LOG.gz"), forbid, expect=Status.PASS)],
        broken=[Sample(target("smtp_send=cut.LOG.gz"), forbid), Sample(target("bin.log"), forbid),
                Sample(target("smtpsend=SEND1.LOG"), forbid), Sample(target("gone/*.LOG"), forbid)],
        empty=[Sample(target("empty/*.LOG"), forbid), Sample(target("smtp_send=empty/*.LOG"), forbid)],
        now=NOW,
    )
