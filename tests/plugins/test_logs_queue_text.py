"""log_signatures on Get-Queue exports (Format-List, Export-Csv) and plain text logs (NDR, syslog)."""

from __future__ import annotations

from pathlib import Path

from exchange_logs import (
    LED_SOCKET,
    LED_TIMEOUT,
    NDR_TEXT,
    POSTFIX_SYSLOG,
    export_csv,
    format_list,
    queue_record,
    run_checks,
    sample_sources,
    summary,
    utf16,
    write,
)

from scanner.api import Status

DROPPED = "421 4.4.2 Connection dropped due to SocketError"


def test_format_list_wrapped_value_is_found_once_at_its_property_line(tmp_path: Path) -> None:
    data = format_list([queue_record("EX01\\3", LED_SOCKET), queue_record("EX01\\4", LED_TIMEOUT)])
    lines = data.decode().split("\r\n")
    # the signature really is split over two physical lines
    assert lines[8].endswith("Connection dropped due to") and lines[9].strip().startswith("SocketError}")
    write(tmp_path / "queues.txt", data)
    checks = [
        {"forbid": [{"literal": DROPPED}]},
        {"forbid": [{"literal": DROPPED}], "field": "LastError"},
        {"forbid": [{"literal": DROPPED}], "field": "NextHopDomain"},
        {"forbid": [{"literal": "421 4.4.2 Connection dropped due to TimedOut"}]},
    ]
    facts, outs = run_checks(tmp_path, ["queues.txt"], checks)
    assert (facts["files"][0]["kind"], facts["files"][0]["format"]) == ("queue", "queue_list")
    assert [(o.status, o.actual) for o in outs] == [
        (Status.FAIL, 1),
        (Status.FAIL, 1),
        (Status.PASS, 0),
        (Status.FAIL, 1),
    ]
    assert sample_sources(outs[0], DROPPED) == ["queues.txt:9"]
    assert summary(outs[0])[DROPPED]["undated"] == 1 and summary(outs[0])[DROPPED]["first_seen"] is None
    sample = next(e for e in outs[0].evidence if "text" in e)
    assert "dropped due to SocketError};{MSG=}" in sample["text"] and sample["text"].startswith("LastError : ")


def test_format_list_wrap_inside_a_word_and_utf16(tmp_path: Path) -> None:
    text = (
        "\r\n"
        "Identity         : EX01\\3\r\n"
        "DeliveryType     : SmartHostConnectorDelivery\r\n"
        "NextHopDomain    : contoso.mail.onmicrosoft.com\r\n"
        "LastError        : [{LED=451 4.4.397 Error communicating with target host. -> "
        "421 4.4.2 Connection dropped due to Sock\r\n"
        "                   etError};{MSG=};{FQDN=contoso-com.mail.protection.outlook.com};{IP=52.101.8.30}]\r\n"
        "\r\n"
    )
    write(tmp_path / "q.txt", utf16(text.encode()))
    facts, [o] = run_checks(tmp_path, ["q.txt"], [{"forbid": [{"literal": DROPPED}], "field": "LastError"}])
    assert facts["files"][0]["format"] == "queue_list"
    assert o.actual == 1 and sample_sources(o, DROPPED) == ["q.txt:5"]


def test_export_csv_with_and_without_type_line(tmp_path: Path) -> None:
    records = [
        queue_record("EX01\\3", LED_SOCKET),
        queue_record("EX01\\4", LED_TIMEOUT),
        queue_record("EX01\\5", 'said "421 4.4.2 Connection dropped due to SocketError", again'),
    ]
    write(tmp_path / "a" / "queues.csv", export_csv(records))
    write(tmp_path / "b" / "queues.csv", export_csv(records, type_line=False))
    checks = [{"forbid": [{"literal": DROPPED}], "field": "LastError"}, {"forbid": [{"literal": "LastError"}]}]
    for sub, first_row in (("a", 3), ("b", 2)):
        facts, (o, header) = run_checks(tmp_path, [f"{sub}/*.csv"], checks)
        assert (facts["files"][0]["kind"], facts["files"][0]["format"]) == ("queue", "queue_csv")
        assert o.actual == 2
        assert sample_sources(o, DROPPED) == [f"queues.csv:{first_row}", f"queues.csv:{first_row + 2}"]
        assert header.actual == 0  # the header row is not a log line


def test_ndr_and_syslog_text_times_undated_and_near_misses(tmp_path: Path) -> None:
    write(tmp_path / "ndr.txt", NDR_TEXT.encode())
    write(tmp_path / "mail.log", POSTFIX_SYSLOG.encode())
    checks = [
        {"forbid": [{"literal": DROPPED}], "sources": ["text"]},
        {"forbid": [{"literal": DROPPED}], "within": "1d"},
        {"forbid": [{"literal": "451 5.7.3 Must issue a STARTTLS command first"}]},
        {"forbid": [{"literal": "530 5.7.0 Must issue a STARTTLS command first"}], "within": "2d"},
    ]
    facts, (allt, day, s451, s530) = run_checks(tmp_path, ["*.txt", "*.log"], checks)
    assert sorted(f["kind"] for f in facts["files"]) == ["text", "text"]
    assert allt.actual == 3  # NDR line 12, syslog lines 1 and 3; the TimedOut line is a near miss
    s = summary(allt)[DROPPED]
    assert (s["undated"], s["first_seen"], s["last_seen"]) == (
        2,
        "2025-03-09T07:00:01.123Z",
        "2025-03-09T07:00:01.123Z",
    )
    assert sorted(sample_sources(allt, DROPPED)) == ["mail.log:1", "mail.log:3", "ndr.txt:12"]
    # 07:00 UTC on the 9th is outside the last day before 2025-03-10T12:00Z; undated lines are not forgiven
    assert (day.status, day.actual, day.fields["undated"]) == (Status.FAIL, 2, 2)
    assert "2 of them undated" in day.message
    assert (s451.status, s451.actual) == (Status.PASS, 0)
    assert (s530.actual, summary(s530)["530 5.7.0 Must issue a STARTTLS command first"]["first_seen"]) == (
        1,
        "2025-03-09T11:30:00.000Z",
    )


def test_binary_is_error_and_a_few_invalid_bytes_in_text_are_read(tmp_path: Path) -> None:
    junk = bytes(range(256)) * 40
    line = b"2025-03-09T10:00:00Z \xff\xfe\x00\x1b[31m " + DROPPED.encode() + b" \xc3\x28\r\n"
    write(tmp_path / "bin.log", junk + b"\n" + line + junk)
    _, [o] = run_checks(tmp_path, ["text=bin.log"], [{"forbid": [{"literal": "never there"}]}])
    assert o.status is Status.ERROR and "bin.log: is not text" in o.message  # not an empty pass
    filler = b"".join(b"2025-03-09T09:%02d:00Z mx1 postfix/smtp[811]: status=sent\n" % m for m in range(60))
    write(tmp_path / "odd.log", filler + line + filler)
    _, [o] = run_checks(tmp_path, ["text=odd.log"], [{"forbid": [{"literal": DROPPED}]}])
    assert o.status is Status.FAIL and o.actual == 1
    text = next(e["text"] for e in o.evidence if "text" in e)
    assert "\\x00\\x1b[31m" in text and "\ufffd" in text and "\r" not in text


def test_a_20_mb_line_is_fine_and_shown_cut(tmp_path: Path) -> None:
    big = b"x" * (20 << 20) + b" " + DROPPED.encode() + b"\n" + b"2025-03-09T10:00:00Z short line\n"
    write(tmp_path / "long.log", big)
    _, [o] = run_checks(tmp_path, ["long.log"], [{"forbid": [{"literal": DROPPED}]}])
    assert o.actual == 1 and sample_sources(o, DROPPED) == ["long.log:1"]
    text = next(e["text"] for e in o.evidence if "text" in e)
    assert len(text) == 301 and text.endswith("…")


def test_regexes_without_literals_run_over_raw_bytes_or_every_line(tmp_path: Path) -> None:
    write(tmp_path / "ndr.txt", NDR_TEXT.replace("\n", "\r\n").encode())
    checks = [
        {"forbid": [{"id": "enhanced-code", "regex": r"\d\.\d\.\d{3}\b"}]},  # no literal: RE2 over the raw chunk
        {"forbid": [{"id": "bare-address", "regex": r"^\S+@\S+$"}]},  # `$` before CRLF: every line is tested
        {"forbid": [{"id": "generating", "regex": r"(?i)^generating SERVER: \w+"}]},  # case-folded anchor
    ]
    _, (codes, addresses, server) = run_checks(tmp_path, ["ndr.txt"], checks)
    assert (codes.actual, sample_sources(codes, "enhanced-code")) == (1, ["ndr.txt:12"])
    assert (addresses.actual, sample_sources(addresses, "bare-address")) == (2, ["ndr.txt:3", "ndr.txt:11"])
    assert (server.actual, sample_sources(server, "generating")) == (1, ["ndr.txt:9"])
