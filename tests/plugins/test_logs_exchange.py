"""log_signatures on Exchange W3C logs: counts, line numbers, times, near misses, encodings, gzip."""

from __future__ import annotations

from pathlib import Path

import pytest
from exchange_logs import (
    TRACKING_FIELDS,
    gz,
    run_checks,
    sample_sources,
    send_row,
    send_session,
    summary,
    utf16,
    w3c,
    write,
)

from plugins.logs.collector import LogCollector
from scanner.api import Status

SOCKET = "TLS negotiation failed with error SocketError"
STARTTLS_451 = "451 5.7.3 Must issue a STARTTLS command first"


def send_rows() -> list[list[str]]:
    """Header lines 1-5; failures at line 25 (03-04 11:21) and 45 (03-05 11:23); 451 at 53; TLS 1.0 at 63."""
    return (
        send_session("2025-03-04T11:20", "08DD5A1B2C3D4F01", "tls12")
        + send_session("2025-03-04T11:21", "08DD5A1B2C3D4F02", "socketerror")
        + send_session("2025-03-04T11:22", "08DD5A1B2C3D4F03", "nocredentials")
        + send_session("2025-03-05T11:23", "08DD5A1B2C3D4F04", "socketerror")
        + send_session("2025-03-05T11:24", "08DD5A1B2C3D4F05", "starttls_required")
        + send_session("2025-03-05T11:25", "08DD5A1B2C3D4F06", "tls10")
    )


@pytest.fixture
def send_log(tmp_path: Path) -> Path:
    return write(tmp_path / "SmtpSend" / "SEND2025030411-1.LOG", w3c("smtp_send", send_rows()))


def test_send_log_counts_lines_times_and_skips_near_misses(tmp_path: Path, send_log: Path) -> None:
    checks = [
        {"forbid": [{"literal": SOCKET}, {"literal": STARTTLS_451}]},
        {"forbid": [{"literal": SOCKET}], "sources": ["smtp_send"]},
    ]
    facts, (both, socket_only) = run_checks(tmp_path, ["SmtpSend/*.LOG"], checks)
    assert facts["files"][0]["kind"] == "smtp_send" and facts["files"][0]["format"] == "w3c"
    assert both.status is Status.FAIL and both.actual == 3 and both.expected == 0
    s = summary(both)
    assert s[SOCKET]["count"] == 2  # the NoCredentials session is a near miss
    assert s[SOCKET]["first_seen"] == "2025-03-04T11:21:00.201Z"
    assert s[SOCKET]["last_seen"] == "2025-03-05T11:23:00.201Z"
    assert s[STARTTLS_451]["count"] == 1 and s[STARTTLS_451]["first_seen"] == "2025-03-05T11:24:00.161Z"
    assert sample_sources(both, SOCKET) == ["SEND2025030411-1.LOG:25", "SEND2025030411-1.LOG:45"]
    assert s[SOCKET]["source"] == "SmtpSend/SEND2025030411-1.LOG:25"  # relative to the inventory's folder
    # each signature's first sample carries its count and times; further samples follow it
    assert [(e["signature"], "count" in e, e["source"].rsplit(":", 1)[1]) for e in both.evidence] == [
        (SOCKET, True, "25"), (SOCKET, False, "45"), (STARTTLS_451, True, "53")]
    assert s[SOCKET]["time"] == "2025-03-04T11:21:00.201Z" and s[SOCKET]["pattern"] == SOCKET
    assert sample_sources(both, STARTTLS_451) == ["SEND2025030411-1.LOG:53"]
    text = next(e["text"] for e in both.evidence if e.get("source", "").endswith(":25") and "text" in e)
    assert text.endswith(",*,,TLS negotiation failed with error SocketError")
    assert socket_only.actual == 2 and socket_only.fields["signature"] == SOCKET
    assert socket_only.fields["path"].endswith("SEND2025030411-1.LOG") and socket_only.fields["line"] == "25"
    assert "2 matching line(s)" in socket_only.message


def test_a_line_matching_two_signatures_counts_once(tmp_path: Path, send_log: Path) -> None:
    check = {
        "forbid": [{"literal": "SocketError"}, {"id": "tls-fail", "regex": r"TLS negotiation failed with error \w+"}]
    }
    _, [o] = run_checks(tmp_path, ["SmtpSend/*.LOG"], [check])
    assert o.actual == 3  # lines 25, 35 (NoCredentials: regex only) and 45
    assert summary(o)["SocketError"]["count"] == 2 and summary(o)["tls-fail"]["count"] == 3
    assert (o.fields["signature_id"], o.fields["signature"]) == ("tls-fail", r"TLS negotiation failed with error \w+")
    assert "tls-fail ('TLS negotiation failed with error \\\\w+') ×3" in o.message


def test_max_count_and_ignore_case(tmp_path: Path, send_log: Path) -> None:
    checks = [
        {"forbid": [{"literal": SOCKET}], "max_count": 2},
        {"forbid": [{"literal": SOCKET}], "max_count": 1},
        {"forbid": [{"literal": "tls NEGOTIATION failed with ERROR socketerror"}], "ignore_case": True},
        {
            "forbid": [{"regex": r"tls negotiation failed with error (socketerror|unknowncredentials)"}],
            "ignore_case": True,
        },
        {"forbid": [{"literal": "tls NEGOTIATION failed with ERROR socketerror"}]},
    ]
    _, outs = run_checks(tmp_path, ["SmtpSend/*.LOG"], checks)
    assert [(o.status, o.actual) for o in outs] == [
        (Status.PASS, 2),
        (Status.FAIL, 2),
        (Status.FAIL, 2),
        (Status.FAIL, 2),
        (Status.PASS, 0),
    ]


def test_field_mode_reads_only_that_column_and_unquotes_it(tmp_path: Path) -> None:
    rows = [
        *send_session("2025-03-04T11:20", "S1", "socketerror"),
        send_row("2025-03-04T11:30:00.000Z", 3, "<", "421 4.4.2 Connection dropped due to SocketError", ""),
        send_row("2025-03-04T11:31:00.000Z", 4, "<", 'x "quoted", with comma', "context, too"),
    ]
    write(tmp_path / "s.LOG", w3c("smtp_send", rows))
    raw = (tmp_path / "s.LOG").read_bytes()
    assert b',<,"x ""quoted"", with comma","context, too"\r\n' in raw
    checks = [
        {"forbid": [{"literal": "SocketError"}], "field": "context"},
        {"forbid": [{"literal": "SocketError"}], "field": "data"},
        {"forbid": [{"literal": '"quoted", with'}], "field": "data"},
        {"forbid": [{"literal": "SocketError"}], "field": "no-such-column"},
        {"forbid": [{"regex": r"^TLS negotiation failed"}], "field": "context"},
    ]
    _, outs = run_checks(tmp_path, ["s.LOG"], checks)
    assert [(o.status, o.actual) for o in outs[:3]] == [(Status.FAIL, 1), (Status.FAIL, 1), (Status.FAIL, 1)]
    assert sample_sources(outs[0], "SocketError") == ["s.LOG:14"]
    assert sample_sources(outs[1], "SocketError") == ["s.LOG:16"]
    assert outs[3].status is Status.ERROR and "no column 'no-such-column'" in outs[3].message
    assert "s.LOG" in outs[3].message
    assert (outs[4].status, outs[4].actual) == (Status.FAIL, 1)


def test_receive_log_530_is_a_near_miss_of_451(tmp_path: Path, send_log: Path) -> None:
    rows = [
        [
            "2025-03-06T09:00:00.000Z",
            "EX01\\Default Frontend EX01",
            "08DD5A1B2C3D4E5F",
            "0",
            "10.0.0.10:25",
            "40.107.1.20:51234",
            ">",
            "530 5.7.0 Must issue a STARTTLS command first",
            "",
        ],
        [
            "2025-03-06T09:00:01.000Z",
            "EX01\\Default Frontend EX01",
            "08DD5A1B2C3D4E60",
            "0",
            "10.0.0.10:25",
            "40.107.1.21:51235",
            ">",
            "451 5.7.3 Must issue a STARTTLS command first",
            "",
        ],
    ]
    write(tmp_path / "SmtpReceive" / "RECV2025030609-1.LOG", w3c("smtp_receive", rows))
    checks = [
        {"sources": ["smtp_receive"], "forbid": [{"literal": STARTTLS_451}]},
        {"sources": ["smtp_send", "smtp_receive"], "forbid": [{"literal": STARTTLS_451}]},
    ]
    facts, (recv, both) = run_checks(tmp_path, ["SmtpSend/*.LOG", "SmtpReceive/*.LOG"], checks)
    assert facts["kinds"] == ["smtp_send", "smtp_receive"]
    assert (recv.actual, sample_sources(recv, STARTTLS_451)) == (1, ["RECV2025030609-1.LOG:7"])
    assert both.actual == 2


def test_message_tracking_recipient_status(tmp_path: Path) -> None:
    names = TRACKING_FIELDS.split(",")
    row = dict.fromkeys(names, "")
    row.update(
        {
            "date-time": "2025-03-07T08:00:00.000Z",
            "source": "SMTP",
            "event-id": "FAIL",
            "recipient-status": "550 4.4.7 QUEUE.Expired; 421 4.4.2 Connection dropped due to SocketError",
            "message-subject": 'Re: "Budget", Q1',
        }
    )
    write(
        tmp_path / "MSGTRK2025030708-1.LOG",
        w3c("message_tracking", [list(row.values())], fields=TRACKING_FIELDS, version="15.01.2375.007"),
    )
    check = {
        "forbid": [{"literal": "421 4.4.2 Connection dropped due to SocketError"}],
        "field": "recipient-status",
        "sources": ["message_tracking"],
    }
    facts, [o] = run_checks(tmp_path, ["MSGTRK*.LOG"], [check])
    assert facts["files"][0]["kind"] == "message_tracking"
    assert (o.status, o.actual, summary(o)[check["forbid"][0]["literal"]]["first_seen"]) == (
        Status.FAIL,
        1,
        "2025-03-07T08:00:00.000Z",
    )


def test_within_window_counts_recent_lines_and_reads_old_files_whole(tmp_path: Path, send_log: Path) -> None:
    old = [send_row("2025-02-01T00:00:00.000Z", 9, "*", "", SOCKET, "OLD")]
    write(tmp_path / "SmtpSend" / "SEND2025020100-1.LOG", w3c("smtp_send", old))
    checks = [{"forbid": [{"literal": SOCKET}], "within": "6d"}, {"forbid": [{"literal": SOCKET}], "within": "7d"}]
    facts, (six, seven) = run_checks(tmp_path, ["SmtpSend/*.LOG"], checks)
    old_file = next(f for f in facts["files"] if f["path"].endswith("SEND2025020100-1.LOG"))
    assert old_file["read"] == old_file["bytes"] and "skipped" not in old_file  # never skipped for its age
    assert [g["count"] for g in old_file["groups"]] == [1]
    assert six.actual == 1 and summary(six)[SOCKET]["first_seen"] == "2025-03-05T11:23:00.201Z"
    assert seven.actual == 2 and "within 7d" in seven.message
    facts, (_, unbounded) = run_checks(tmp_path, ["SmtpSend/*.LOG"], [checks[0], {"forbid": [{"literal": SOCKET}]}])
    assert unbounded.actual == 3


@pytest.mark.parametrize("variant", ["lf-no-bom", "utf16", "gzip", "gzip-utf16"])
def test_encodings_and_rotations_give_the_same_lines(tmp_path: Path, variant: str) -> None:
    data = w3c("smtp_send", send_rows(), bom=variant != "lf-no-bom", eol="\n" if variant == "lf-no-bom" else "\r\n")
    if "utf16" in variant:
        data = utf16(data.removeprefix(b"\xef\xbb\xbf"))
        assert data[:2] == b"\xff\xfe"
    if "gzip" in variant:
        data = gz(data)
    write(tmp_path / "rot" / "SEND2025030411-1.LOG.gz", data)
    facts, [o] = run_checks(tmp_path, ["rot/*"], [{"forbid": [{"literal": SOCKET}]}])
    assert facts["files"][0]["kind"] == "smtp_send"
    assert o.actual == 2 and sample_sources(o, SOCKET) == ["SEND2025030411-1.LOG.gz:25", "SEND2025030411-1.LOG.gz:45"]
    assert summary(o)[SOCKET]["last_seen"] == "2025-03-05T11:23:00.201Z"


def test_truncated_gzip_is_error_unless_matches_were_found(tmp_path: Path) -> None:
    data = gz(w3c("smtp_send", send_rows() * 40))
    write(tmp_path / "cut.LOG.gz", data[: len(data) // 2])
    checks = [{"forbid": [{"literal": SOCKET}]}, {"forbid": [{"literal": "never written anywhere"}]}]
    facts, (found, nothing) = run_checks(tmp_path, ["smtp_send=cut.LOG.gz"], checks)
    assert "truncated gzip member" in facts["files"][0]["error"]
    assert found.status is Status.FAIL and found.actual > 0
    assert nothing.status is Status.ERROR and "cut.LOG.gz" in nothing.message and "truncated" in nothing.message


def test_decompression_bound_makes_a_partial_read(tmp_path: Path) -> None:
    write(tmp_path / "big.LOG.gz", gz(w3c("smtp_send", send_rows() * 20)))
    _, [o] = run_checks(
        tmp_path,
        ["smtp_send=big.LOG.gz"],
        [{"forbid": [{"literal": "absent"}]}],
        collector=LogCollector(gz_bound=4096),
    )
    assert o.status is Status.ERROR and "decompression bound of 4096 bytes" in o.message


def test_repeated_header_with_other_fields_mid_file(tmp_path: Path) -> None:
    first = w3c("smtp_send", send_session("2025-03-04T11:20", "S1", "tls12"))
    fields2 = (
        "date-time,connector-id,session-id,sequence-number,local-endpoint,remote-endpoint,event,data,context,extra"
    )
    second = w3c(
        "smtp_send", [[*send_row("2025-03-04T12:00:00.000Z", 8, "*", "", SOCKET), "x"]], fields=fields2, bom=False
    )
    write(tmp_path / "r.LOG", first + second)
    _, [o] = run_checks(tmp_path, ["r.LOG"], [{"forbid": [{"literal": "SocketError"}], "field": "context"}])
    assert o.actual == 1 and sample_sources(o, "SocketError") == ["r.LOG:22"]


def test_times_are_kept_per_line_only_when_a_window_needs_them(tmp_path: Path, send_log: Path) -> None:
    from exchange_logs import NOW

    from scanner.api import EvalContext, RunContext, Target

    facts, [plain] = run_checks(tmp_path, ["SmtpSend/*.LOG"], [{"forbid": [{"literal": "SocketError"}]}])
    assert plain.actual == 2
    [group] = facts["files"][0]["groups"]
    assert (group["count"], group["all_times"], len(group["times"])) == (2, False, 2)
    windowed = {"forbid": [{"literal": "SocketError"}], "within": "7d"}
    target = Target("ex01", sources={"logs": ["SmtpSend/*.LOG"]}, base_dir=tmp_path)
    offline = LogCollector().evaluate(windowed, facts, EvalContext(run=RunContext(now=NOW), target=target))
    assert offline.status is Status.ERROR and "cannot be judged offline" in offline.message
    facts, [w] = run_checks(tmp_path, ["SmtpSend/*.LOG"], [windowed])
    assert facts["files"][0]["groups"][0]["all_times"] is True and w.actual == 2
