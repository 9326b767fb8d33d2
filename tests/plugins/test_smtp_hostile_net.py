"""Findings of a black-box attack on the SMTP probe, each replayed against real servers on loopback.

Each test names its finding and fails without the fix: an early reply read as
the answer to the next command (out of step), a temporary STARTTLS refusal
that ``not:`` turned into a pass, a TLS 1.0 server with a brainpool
certificate taken as "refused", a host name judged on one of its addresses,
a rule's own timeout ignored under a shared probe, ``421 4.7.0`` counted as a
refusal of plaintext mail, transcripts copied uncapped into evidence, a slow
endpoint holding the scan, ``probe --timeout`` unchecked, and lenient TLS
answers / endpoint strings.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from smtp_servers import NOW, ServerThread, run_check
from test_smtp_misbehaving import Peer, _Scripted
from tls_servers import record, serve, server_hello

pytestmark = pytest.mark.timeout(60)

EHLO_TLS = b"250-peer.test\r\n250 STARTTLS\r\n"


def scripted(peer: Peer, host: str = "127.0.0.1", port: int = 0) -> ServerThread:
    return ServerThread(lambda: _Scripted(peer), host, port)


def check(server: ServerThread, rule: dict[str, Any], timeout: float = 1.0) -> tuple[Any, Any]:
    try:
        return run_check({"endpoints": [server.endpoint], "timeout": timeout, **rule})
    finally:
        server.stop()


# --- 1. a reply sent early is read as the answer to the next command ---------------------------------------

def test_unsolicited_530_after_ehlo_does_not_stand_for_the_answer_to_mail() -> None:
    peer = Peer(ehlo=EHLO_TLS + b"530 5.7.0 Must issue a STARTTLS command first\r\n", mail=b"250 2.1.0 Sender OK\r\n")
    facts, outcome = check(scripted(peer), {"starttls": "optional", "plaintext_mail": "refused"})
    assert outcome.status == "error", outcome.message
    [probe] = facts["probes"].values()
    assert "out of step" in probe["plaintext_mail"]["reason"]


def test_unsolicited_220_after_ehlo_does_not_stand_for_the_answer_to_starttls() -> None:
    peer = Peer(ehlo=EHLO_TLS + b"220 2.0.0 Ready to start TLS\r\n", starttls=b"454 4.7.0 TLS not available\r\n")
    facts, outcome = check(scripted(peer), {"starttls": "required"})
    assert outcome.status == "error", outcome.message
    [probe] = facts["probes"].values()
    assert "out of step" in probe["starttls"]["reason"]


def test_a_server_in_step_still_passes() -> None:
    peer = Peer(mail=b"530 5.7.0 Must issue a STARTTLS command first\r\n")
    _, outcome = check(scripted(peer), {"starttls": "optional", "plaintext_mail": "refused"})
    assert outcome.status == "pass", outcome.message


# --- 2. `not:` must not turn a temporary STARTTLS refusal into a pass ---------------------------------------

@pytest.mark.parametrize("rule", [{"accept": ["TLSv1.0"]}, {"starttls": "required"}, {"reject": ["TLSv1.0"]}])
def test_454_to_starttls_is_error_even_when_required(rule: dict[str, Any]) -> None:
    _, outcome = check(scripted(Peer(starttls=b"454 4.7.0 TLS not available due to local problem\r\n")), rule)
    assert outcome.status == "error", outcome.message  # under not: it stays error


def test_554_to_starttls_still_fails_required() -> None:
    _, outcome = check(scripted(Peer(starttls=b"554 5.7.0 No TLS here\r\n")), {"starttls": "required"})
    assert outcome.status == "fail" and outcome.fields["item"] == "starttls"


# --- 3. a TLS 1.0 server whose certificate needs a brainpool curve -----------------------------------------

def _ec_cert(directory: Path, curve: ec.EllipticCurve) -> tuple[Path, Path]:
    key = ec.generate_private_key(curve)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "mail.test")])
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(NOW - dt.timedelta(days=1))
            .not_valid_after(NOW + dt.timedelta(days=300)).sign(key, hashes.SHA256()))
    cert_path, key_path = directory / "bp.crt", directory / "bp.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def _s_server(cert: Path, key: Path, group: str) -> Iterator[int]:
    """``openssl s_server``: TLS 1.0 only, ECDSA suites, one named group."""
    port = _free_port()
    proc = subprocess.Popen(
        ["openssl", "s_server", "-accept", f"127.0.0.1:{port}", "-cert", str(cert), "-key", str(key),
         "-tls1", "-cipher", "aECDSA:@SECLEVEL=0", "-groups", group, "-quiet"],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        for _ in range(100):
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
                break
            if proc.poll() is not None:
                pytest.skip(f"openssl s_server cannot serve {group}: {proc.stderr.read()[:200]!r}")  # type: ignore[union-attr]
            time.sleep(0.05)
        yield port
    finally:
        proc.kill()
        proc.wait(5)


def _relay_after_starttls(back: int) -> Any:
    """An SMTP front (220, EHLO with STARTTLS, 220 to STARTTLS) relaying the TLS bytes to 127.0.0.1:back."""
    from smtp_servers import smtp_preamble

    def relay(conn: socket.socket) -> None:
        with socket.create_connection(("127.0.0.1", back), 2) as upstream:
            upstream.settimeout(3)
            conn.settimeout(3)
            for _ in range(2):  # ClientHello -> ServerHello... (enough for a verdict)
                data = conn.recv(65536)
                if not data:
                    return
                upstream.sendall(data)
                with contextlib.suppress(TimeoutError):
                    answer = upstream.recv(65536)
                    conn.sendall(answer)
                    if not answer:
                        return
    return smtp_preamble(relay)


@pytest.mark.skipif(shutil.which("openssl") is None, reason="no openssl command")
@pytest.mark.parametrize(("curve", "group"), [(ec.BrainpoolP256R1(), "brainpoolP256r1"),
                                              (ec.SECP256K1(), "secp256k1")])
def test_tls10_server_with_a_brainpool_certificate_is_accepted_not_refused(
        tmp_path: Path, curve: ec.EllipticCurve, group: str) -> None:
    cert, key = _ec_cert(tmp_path, curve)
    with _s_server(cert, key, group) as back, serve(_relay_after_starttls(back)) as (host, port):
        facts, outcome = run_check({"endpoints": [f"{host}:{port}"], "timeout": 3, "reject": ["TLSv1.0"]})
    [probe] = facts["probes"].values()
    assert probe["versions"]["TLSv1.0"]["verdict"] == "accepted", probe["versions"]
    assert outcome.status == "fail", outcome.message


def test_client_hello_offers_every_group_and_signature_algorithm() -> None:
    from plugins.smtp.tls_wire import build_client_hello

    hello = build_client_hello("TLSv1.2", "mail.test")
    for group in (0x1A, 0x1B, 0x1C, 0x1F, 0x20, 0x21, 0x16, 0x15, 0x13, 0x1E, 0x01, 0x0E, 0x100, 0x104):
        assert group.to_bytes(2, "big") in hello
    for sigalg in (0x081A, 0x081B, 0x081C, 0x0807, 0x0808, 0x0201, 0x0203, 0x0101, 0x0301, 0x0303):
        assert sigalg.to_bytes(2, "big") in hello
    assert b"\x00\x0b\x00\x04\x03\x00\x01\x02" in hello  # ec_point_formats: all three


# --- 4. every address of a host name is judged ---------------------------------------------------------

TLS10_ACCEPTED = record(22, server_hello(0x0301, 0x002F), 0x0301)
PROTOCOL_VERSION_ALERT = record(21, b"\x02\x46")


@pytest.fixture
def dual_stack() -> Iterator[tuple[int, list[str]]]:
    """One port, two servers: ::1 refuses every version, 127.0.0.1 accepts TLS 1.0."""
    v6 = scripted(Peer(tls=PROTOCOL_VERSION_ALERT), host="::1")
    try:
        v4 = scripted(Peer(tls=TLS10_ACCEPTED, after_tls="close"), port=v6.port)
    except OSError:
        v6.stop()
        pytest.skip("the port taken on ::1 is busy on 127.0.0.1")
    order = ["::1", "127.0.0.1"]
    try:
        yield v6.port, order
    finally:
        v4.stop()
        v6.stop()


@pytest.mark.parametrize("first", ["::1", "127.0.0.1"])
def test_a_name_with_two_addresses_fails_whichever_answers_first(
        dual_stack: tuple[int, list[str]], first: str, monkeypatch: pytest.MonkeyPatch) -> None:
    port, order = dual_stack
    order.sort(key=lambda a: a != first)
    real = socket.getaddrinfo

    def resolver(host: Any, *args: Any, **kwargs: Any) -> Any:
        if host != "dual.test":
            return real(host, *args, **kwargs)
        return [(socket.AF_INET6 if ":" in a else socket.AF_INET, socket.SOCK_STREAM, 6, "", (a, port))
                for a in order]

    monkeypatch.setattr(socket, "getaddrinfo", resolver)
    _facts, outcome = run_check({"endpoints": [f"dual.test:{port}"], "timeout": 1, "starttls": "optional",
                                "reject": ["TLSv1.0"]})
    assert outcome.status == "fail", outcome.message
    assert set(outcome.actual) == {f"dual.test:{port} (::1)", f"dual.test:{port} (127.0.0.1)"}
    assert outcome.actual[f"dual.test:{port} (::1)"]["TLSv1.0"] == "refused"
    assert outcome.actual[f"dual.test:{port} (127.0.0.1)"]["TLSv1.0"] == "accepted"
    assert {e["address"] for e in outcome.evidence} == {"::1", "127.0.0.1"}


# --- 5. a rule's own timeout holds under a shared probe ------------------------------------------------------

class _Slow(_Scripted):
    """Every write (greeting, replies, TLS bytes) comes ``delay`` seconds late."""

    delay = 0.6

    def connection_made(self, transport: Any) -> None:
        import asyncio

        loop = asyncio.get_running_loop()
        real = transport

        class Late:
            def write(self, data: bytes) -> None:
                loop.call_later(_Slow.delay, lambda: None if real.is_closing() else real.write(data))

            def close(self) -> None:
                loop.call_later(_Slow.delay + 0.01, real.close)

            def abort(self) -> None:
                real.abort()

        super().connection_made(Late())


def _collect(server: ServerThread, rules: list[dict[str, Any]]) -> list[Any]:
    from plugins.smtp import register_check_types
    from scanner.api import CollectRequest, EvalContext, RunContext, Target

    check_type = register_check_types()[0]
    target = Target("t1", sources={})
    run = RunContext(now=NOW, jobs=2)
    params = [{"endpoints": [server.endpoint], **r} for r in rules]
    try:
        [(_, facts)] = list(check_type.collector.collect([CollectRequest(target, params)], run))
    finally:
        server.stop()
    return [check_type.collector.evaluate(p, facts, EvalContext(run=run, target=target)) for p in params]


def test_a_stage_slower_than_the_rules_own_timeout_is_error_for_that_rule() -> None:
    _Slow.delay = 0.6
    fast, slow = _collect(ServerThread(lambda: _Slow(Peer(tls=PROTOCOL_VERSION_ALERT))), [
        {"starttls": "optional", "reject": ["TLSv1.0"], "timeout": 0.3},
        {"starttls": "optional", "reject": ["TLSv1.0"], "timeout": 3}])
    assert slow.status == "pass", slow.message
    assert fast.status == "error", fast.message
    assert "more than this rule's timeout of 0.3 s" in fast.message


# --- 6. 421 is busy, whatever its enhanced code ------------------------------------------------------------

@pytest.mark.parametrize("reply", [b"421 4.7.0 Too many connections\r\n", b"452 4.7.1 Out of space\r\n",
                                   b"450 4.7.1 Too many errors, try again later\r\n"])
def test_busy_reply_to_plaintext_mail_is_error(reply: bytes) -> None:
    _, outcome = check(scripted(Peer(mail=reply)), {"starttls": "optional", "plaintext_mail": "refused"})
    assert outcome.status == "error", outcome.message


# --- 7. transcripts go into evidence capped ---------------------------------------------------------------

def test_a_huge_ehlo_reply_does_not_inflate_every_rules_evidence() -> None:
    ehlo = b"".join(b"250-X" + b"A" * 4000 + b"\r\n" for _ in range(60)) + b"250 STARTTLS\r\n"
    rules = [{"starttls": "optional", "reject": ["TLSv1.0"], "timeout": 2} for _ in range(3)]
    outcomes = _collect(scripted(Peer(ehlo=ehlo, tls=PROTOCOL_VERSION_ALERT)), rules)
    for outcome in outcomes:
        assert outcome.status == "pass", outcome.message
        size = len(json.dumps(outcome.evidence))
        assert size < 40_000, size  # ~480 KB of transcript uncapped
        assert "bytes more)" in json.dumps(outcome.evidence)


# --- 8. one slow endpoint cannot hold the scan for 16 x its timeout ----------------------------------------

def test_an_endpoint_answering_each_stage_just_in_time_ends_at_its_overall_deadline() -> None:
    _Slow.delay = 0.3
    started = time.monotonic()
    facts, outcome = check(ServerThread(lambda: _Slow(Peer(mail=b"530 5.7.0 STARTTLS first\r\n",
                                                           tls=PROTOCOL_VERSION_ALERT))),
                           {"plaintext_mail": "refused", "reject": ["SSLv3", "TLSv1.0", "TLSv1.1"],
                            "accept": ["TLSv1.2", "TLSv1.3"], "certificate": {"min_key_bits": 2048}},
                           timeout=0.4)
    elapsed = time.monotonic() - started
    assert elapsed < 0.4 * 6 + 1.5, elapsed  # 6 x timeout, plus the scan's own cost (about 6 s without)
    assert outcome.status != "pass", outcome.message
    [probe] = facts["probes"].values()
    assert "in all" in json.dumps(probe)


# --- 9. probe --timeout and --servername are checked -------------------------------------------------------

@pytest.mark.parametrize("timeout", [float("inf"), 1e308, 0.0, -1.0, float("nan"), 601.0])
def test_probe_timeout_out_of_range_is_a_usage_error(timeout: float) -> None:
    import io

    from plugins.smtp.probe_cli import run_probe_command
    from scanner.errors import UsageError

    with pytest.raises(UsageError, match="--timeout"):
        run_probe_command("127.0.0.1:25", [], timeout, NOW, io.StringIO())


@pytest.mark.parametrize("name", ["a b", "x\ny", "tab\there"])
def test_probe_servername_with_spaces_is_a_usage_error(name: str) -> None:
    import io

    from plugins.smtp.probe_cli import run_probe_command
    from scanner.errors import UsageError

    with pytest.raises(UsageError, match="--servername"):
        run_probe_command("127.0.0.1:25", [], 1.0, NOW, io.StringIO(), servername=name)


# --- 10. lenient TLS answers, STARTTLS without TLS, endpoint strings ---------------------------------------

def test_tls13_server_hello_without_key_share_is_a_protocol_error() -> None:
    def answer(client_hello: bytes) -> bytes:
        from tls_servers import client_session_id

        return record(22, server_hello(0x0303, 0x1301, session_id=client_session_id(client_hello),
                                       extensions=b"\x00\x2b\x00\x02\x03\x04"))

    from tls_servers import scripted_handler

    from plugins.smtp.tls_wire import probe_version_sync

    with serve(scripted_handler(answer)) as (host, port):
        result = probe_version_sync(host, port, "TLSv1.3", None, 2)
    assert result.verdict == "error" and "key_share" in result.reason


def test_tls12_server_hello_with_an_unsolicited_extension_is_a_protocol_error() -> None:
    alpn = b"\x00\x10\x00\x05\x00\x03\x02h2"
    _, outcome = check(scripted(Peer(tls=record(22, server_hello(0x0303, 0xC02F, extensions=alpn)))),
                       {"starttls": "optional", "accept": ["TLSv1.2"]})
    assert outcome.status == "error", outcome.message
    assert "extension 16" in outcome.message


def test_starttls_220_then_no_tls_does_not_pass_required() -> None:
    _, outcome = check(scripted(Peer(tls="close")), {"starttls": "required"})
    assert outcome.status == "error", outcome.message
    assert outcome.actual[next(iter(outcome.actual))]["starttls"] == "no TLS"


@pytest.mark.parametrize("endpoint", ["127.0.0.1:0", "a:b:c", "127.0.0.1:99999", "local host:25", "x:+25"])
def test_validate_refuses_endpoints_that_can_never_work(endpoint: str) -> None:
    import jsonschema

    from plugins.smtp import SCHEMA, SOURCE_SCHEMA

    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"endpoints": [endpoint]}, SCHEMA)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate([endpoint], SOURCE_SCHEMA)


@pytest.mark.parametrize("endpoint", ["mail.test", "mail.test:25", "[::1]:2525", "::1", "10.0.0.1:587"])
def test_validate_keeps_endpoints_that_work(endpoint: str) -> None:
    import jsonschema

    from plugins.smtp import SCHEMA

    jsonschema.validate({"endpoints": [endpoint], "servername": "mail.test"}, SCHEMA)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"endpoints": [endpoint], "servername": "a b"}, SCHEMA)
