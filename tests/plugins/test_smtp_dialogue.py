"""The SMTP dialogue against hostile and odd peers on 127.0.0.1: each ends within its deadline, as SPEC says."""

from __future__ import annotations

import http.server
import threading
import time

import pytest
from smtp_servers import closed_port, hostile_server, run_check

pytestmark = pytest.mark.timeout(20)
VERSIONS = ["TLSv1.2", "TLSv1.0", "SSLv3"]


def check(endpoint: str, timeout: float = 1.0, **extra: object) -> tuple[dict, object, float]:
    started = time.monotonic()
    facts, outcome = run_check({"endpoints": [endpoint], "accept": ["TLSv1.2"], "reject": ["TLSv1.0", "SSLv3"],
                                "timeout": timeout, **extra})
    return facts["probes"][endpoint], outcome, time.monotonic() - started


@pytest.mark.parametrize(("mode", "reason"), [
    ("silent", "greeting: no complete reply within 1 s"),
    ("drip", "greeting: no complete reply within 1 s"),
    ("endless", "greeting: reply line longer than 4096 bytes"),
    ("4xx", "greeting: greeting is not 220: 421 4.3.2 Service not available, closing channel"),
    ("drop", "greeting: connection closed by the server"),
    ("flood-lines", "greeting: server sent more than 262144 bytes"),
])
def test_greeting_failures_are_errors_and_stop_the_endpoint(mode: str, reason: str) -> None:
    server = hostile_server(mode)
    try:
        probe, outcome, elapsed = check(server.endpoint)
    finally:
        server.stop()
    assert outcome.status == "error"
    assert reason in probe["error"]
    assert probe["error_stage"] == "greeting"
    assert len(probe["connections"]) == 1  # the remaining versions were not tried
    assert {v["verdict"] for v in probe["versions"].values()} == {"error"}
    assert all(reason in v["reason"] for v in probe["versions"].values())
    assert elapsed < 2.5  # a deadline per stage: a byte a second does not keep it alive


def test_http_server_never_greets() -> None:
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), http.server.SimpleHTTPRequestHandler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    endpoint = f"127.0.0.1:{httpd.server_address[1]}"
    try:
        probe, outcome, elapsed = check(endpoint)
    finally:
        httpd.shutdown()
        httpd.server_close()
    assert outcome.status == "error" and "no complete reply within 1 s" in probe["error"]
    assert elapsed < 2.5


def test_http_answer_is_not_an_smtp_reply() -> None:
    server = hostile_server("http")  # answers our first line with an HTTP status line
    try:
        facts, outcome = run_check({"endpoints": [server.endpoint], "starttls": "required", "timeout": 1})
    finally:
        server.stop()
    assert outcome.status == "error"
    assert "not an SMTP reply" in facts["probes"][server.endpoint]["error"]


def test_closed_port_is_an_error_at_once() -> None:
    endpoint = f"127.0.0.1:{closed_port()}"
    probe, outcome, elapsed = check(endpoint)
    assert outcome.status == "error"
    assert probe["error"] == "127.0.0.1: connect: cannot connect: Connection refused"
    assert probe["answered"] is False
    assert elapsed < 1.0


def test_454_to_starttls_is_an_error_and_quotes_the_reply() -> None:
    """A temporary 4xx decides nothing, not even under ``starttls: required`` (a fail would let ``not:``
    turn it into a pass)."""
    server = hostile_server("454")
    try:
        probe, outcome, _ = check(server.endpoint)
    finally:
        server.stop()
    assert outcome.status == "error"
    assert probe["starttls"]["quoted"] == "454 4.7.0 TLS not available due to temporary reason"
    assert outcome.fields["item"] == "starttls"
    assert "454 4.7.0 TLS not available" in outcome.message
    assert len(probe["connections"]) == 1  # the other versions were not tried
    assert probe["error"] is None  # the server answered: a refusal is a fact, not an unknown


def test_garbage_after_220_to_starttls_is_undecided() -> None:
    server = hostile_server("garbage")
    try:
        probe, outcome, elapsed = check(server.endpoint)
    finally:
        server.stop()
    assert outcome.status == "error"
    assert {v["verdict"] for v in probe["versions"].values()} == {"error"}  # never "refused"
    assert outcome.actual[server.endpoint]["starttls"] == "no TLS"  # 220, but no TLS followed
    assert elapsed < 4


def test_replies_split_over_segments_are_read_whole() -> None:
    server = hostile_server("segments")  # greeting dripped byte by byte, EHLO reply one line per write
    try:
        facts, outcome = run_check({"endpoints": [server.endpoint], "starttls": "forbidden", "timeout": 2})
    finally:
        server.stop()
    conn = facts["probes"][server.endpoint]["connections"][0]
    assert conn["greeting"] == {"code": 220, "text": "seg.test ESMTP\nsecond line"}
    assert conn["hello"]["text"] == "seg.test\nPIPELINING\nSTARTTLS\n8BITMIME"
    assert outcome.status == "fail" and outcome.actual[server.endpoint]["starttls"] == "offered"


def test_helo_fallback_without_starttls_fails_required() -> None:
    server = hostile_server("helo-only")
    try:
        probe, outcome, _ = check(server.endpoint)
    finally:
        server.stop()
    sent = [e[2] for e in probe["connections"][0]["events"] if e[1] == ">"]
    assert sent[:2] == ["EHLO [127.0.0.1]", "HELO [127.0.0.1]"]
    assert probe["connections"][0]["hello"]["command"] == "HELO"
    assert outcome.status == "fail" and outcome.actual[server.endpoint]["starttls"] == "not_offered"


def test_ehlo_and_helo_refused_is_an_error_and_stops() -> None:
    server = hostile_server("no-hello")
    try:
        probe, outcome, _ = check(server.endpoint)
    finally:
        server.stop()
    assert outcome.status == "error"
    assert "EHLO and HELO refused: 502 5.5.2 EHLO not implemented; 550 5.7.1 go away" in probe["error"]
    assert len(probe["connections"]) == 1
