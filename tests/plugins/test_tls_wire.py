"""Tests for the raw TLS version probe against real loopback servers (OpenSSL, tlslite-ng, scripted)."""

from __future__ import annotations

import asyncio
import itertools
import json
import ssl
import subprocess
import time
import warnings

import pytest
from tls_servers import (
    Cert,
    certificate_message,
    client_session_id,
    handshake_message,
    make_cert,
    openssl_context,
    openssl_handler,
    record,
    scripted_handler,
    serve,
    server_hello,
    tlslite_handler,
)
from tlslite.constants import CipherSuite, ExtensionType
from tlslite.messages import ClientHello
from tlslite.utils.codec import Parser

from plugins.smtp.suites import NAMES, OFFERED, VERSIONS, cipher_name
from plugins.smtp.tls_verdict import VersionProbe
from plugins.smtp.tls_wire import build_client_hello, probe_version, probe_version_sync

pytestmark = pytest.mark.timeout(60)

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    TLS10, TLS11 = ssl.TLSVersion.TLSv1, ssl.TLSVersion.TLSv1_1
TLS12, TLS13 = ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3


@pytest.fixture(scope="module")
def cert() -> Cert:
    return make_cert()


def probe_all(port: int, servername: str | None = "localhost") -> dict[str, VersionProbe]:
    return {v: probe_version_sync("127.0.0.1", port, v, servername, timeout=3.0) for v in VERSIONS}


def assert_only(results: dict[str, VersionProbe], accepted: set[str]) -> None:
    got = {v: r.verdict for v, r in results.items()}
    assert got == {v: "accepted" if v in accepted else "refused" for v in VERSIONS}, {
        v: r.reason for v, r in results.items()}


# --- OpenSSL (Python ssl) servers, one version each -------------------------------------------------

@pytest.mark.parametrize(("served", "ciphers", "expected_cipher"), [
    ((TLS10, TLS10), "ECDHE-RSA-AES128-SHA:@SECLEVEL=0", "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA"),
    ((TLS11, TLS11), "AES256-SHA:@SECLEVEL=0", "TLS_RSA_WITH_AES_256_CBC_SHA"),
    ((TLS12, TLS12), "ECDHE-RSA-AES128-GCM-SHA256", "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"),
    ((TLS13, TLS13), None, "TLS_AES_256_GCM_SHA384"),
], ids=["TLSv1.0", "TLSv1.1", "TLSv1.2", "TLSv1.3"])
def test_openssl_server_serving_one_version(cert: Cert, served: tuple[ssl.TLSVersion, ssl.TLSVersion],
                                            ciphers: str | None, expected_cipher: str) -> None:
    name = {TLS10: "TLSv1.0", TLS11: "TLSv1.1", TLS12: "TLSv1.2", TLS13: "TLSv1.3"}[served[0]]
    with serve(openssl_handler(openssl_context(cert, served, ciphers))) as (_, port):
        results = probe_all(port)
    assert_only(results, {name})
    ok = results[name]
    assert (ok.selected_version, ok.cipher) == (name, expected_cipher)
    assert ok.reason == f"ServerHello selected {name} with {expected_cipher}"
    # the certificate is plaintext up to TLS 1.2 and encrypted in TLS 1.3
    assert ok.certificate_der == (None if name == "TLSv1.3" else cert.der)
    for version, r in results.items():
        if version != name:
            assert r.alert in (40, 70) or r.selected_version == name, r
            assert r.certificate_der is None


def test_openssl_server_with_tls12_and_tls13(cert: Cert) -> None:
    with serve(openssl_handler(openssl_context(cert, (TLS12, TLS13)))) as (_, port):
        results = probe_all(port)
    assert_only(results, {"TLSv1.2", "TLSv1.3"})
    assert results["TLSv1.0"].reason == "server sent alert protocol_version(70)"
    assert results["TLSv1.0"].alert == 70
    assert results["TLSv1.3"].cipher in {NAMES[c] for c in OFFERED["TLSv1.3"]}


def test_sslv3_probe_is_refused_by_a_tls12_only_openssl_server(cert: Cert) -> None:
    with serve(openssl_handler(openssl_context(cert, (TLS12, TLS12)))) as (_, port):
        r = probe_version_sync("127.0.0.1", port, "SSLv3", None, timeout=3.0)
    assert r.verdict == "refused" and r.alert in (40, 70), r


# --- tlslite-ng: what OpenSSL 3 cannot serve -------------------------------------------------------

def test_sslv3_only_server(cert: Cert) -> None:
    with serve(tlslite_handler(cert, minVersion=(3, 0), maxVersion=(3, 0))) as (_, port):
        results = probe_all(port)
    assert_only(results, {"SSLv3"})
    assert results["SSLv3"].selected_version == "SSLv3"
    assert results["SSLv3"].certificate_der == cert.der
    assert results["TLSv1.0"].reason == "ServerHello selected SSLv3"  # it answers TLS 1.0 with SSLv3


@pytest.mark.parametrize(("version", "wire", "cipher", "expected"), [
    ("TLSv1.2", (3, 3), "3des", "TLS_RSA_WITH_3DES_EDE_CBC_SHA"),
    ("TLSv1.0", (3, 1), "rc4", "TLS_RSA_WITH_RC4_128_SHA"),
])
def test_server_with_only_a_weak_cipher_is_seen(cert: Cert, version: str, wire: tuple[int, int],
                                                 cipher: str, expected: str) -> None:
    handler = tlslite_handler(cert, minVersion=wire, maxVersion=wire, cipherNames=[cipher],
                              keyExchangeNames=["rsa"], macNames=["sha"])
    with serve(handler) as (_, port):
        r = probe_version_sync("127.0.0.1", port, version, "localhost", timeout=3.0)
    assert (r.verdict, r.selected_version, r.cipher) == ("accepted", version, expected), r
    assert r.certificate_der == cert.der


# --- hostile and malformed answers -----------------------------------------------------------------

def run_scripted(version: str = "TLSv1.2", timeout: float = 3.0, **kwargs: object) -> VersionProbe:
    with serve(scripted_handler(**kwargs)) as (_, port):  # type: ignore[arg-type]
        return probe_version_sync("127.0.0.1", port, version, "localhost", timeout=timeout)


@pytest.mark.parametrize(("reply", "shown"), [
    (b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n", "HTTP/1.1 400"),
    (b"220 mail.example.com ESMTP ready\r\n", "220 mail.example.com"),
    (b"\x80\x2e\x04\x00\x01\x00\x02" + bytes(40), "SSLv2 SERVER-HELLO"),
    (b"\x16\x03\x09\x00\x10" + bytes(16), "not a TLS answer"),
])
def test_garbage_is_an_error(reply: bytes, shown: str) -> None:
    r = run_scripted(reply=reply)
    assert r.verdict == "error" and r.reason.startswith("not a TLS answer"), r
    assert shown in r.reason


@pytest.mark.parametrize("then", ["close", "reset"])
def test_connection_dropped_after_client_hello_is_refused(then: str) -> None:
    r = run_scripted(then=then)
    how = {"close": "closed", "reset": "reset"}[then]
    assert (r.verdict, r.reason) == ("refused", f"connection {how} after ClientHello")


def test_connection_closed_mid_record_is_an_error() -> None:
    r = run_scripted(reply=record(22, server_hello(0x0303, 0xC02F))[:20])
    assert (r.verdict, r.reason) == ("error", "connection closed in the middle of the answer")


@pytest.mark.parametrize(("alert", "verdict", "reason"), [
    (80, "error", "server sent alert internal_error(80)"),
    (47, "error", "server sent alert illegal_parameter(47)"),
    (201, "error", "server sent alert alert(201)"),
    (70, "refused", "server sent alert protocol_version(70)"),
    (40, "refused", "server sent alert handshake_failure(40) although every TLSv1.2 cipher suite was offered"),
])
def test_alerts(alert: int, verdict: str, reason: str) -> None:
    r = run_scripted(reply=record(21, bytes([2, alert])))
    assert (r.verdict, r.alert, r.reason) == (verdict, alert, reason)


@pytest.mark.parametrize("drip", [0.0, 0.05])
def test_silent_or_dripping_server_ends_at_the_deadline(drip: float) -> None:
    reply = record(22, handshake_message(2, bytes(300))) if drip else b""
    start = time.monotonic()
    r = run_scripted(reply=reply, then="silent", drip_interval=drip, timeout=0.5)
    elapsed = time.monotonic() - start
    assert r.verdict == "error", r
    if drip:
        assert r.reason.startswith("incomplete answer before deadline ("), r
    else:
        assert r.reason == "no answer before deadline"
    assert 0.45 <= elapsed < 1.5


def test_oversized_answer_is_capped() -> None:
    # a handshake message announcing 65000 bytes, then far more records than the 64 KB cap
    payload = handshake_message(2, b"")[:1] + (65000).to_bytes(3, "big")
    reply = record(22, payload) + record(22, bytes(16000)) * 6
    r = run_scripted(reply=reply, then="silent")
    assert (r.verdict, r.reason) == ("error", "answer exceeded 65536 bytes")


def test_fragmented_and_coalesced_handshake_messages(cert: Cert) -> None:
    """A ServerHello split over records, sharing its last record with the Certificate."""
    flight = server_hello(0x0303, 0xC02F, extensions=b"") + certificate_message(cert.der, b"\x01\x02")
    flight += handshake_message(14, b"")
    cuts = [0, 1, 4, 30, 50, len(flight)]
    reply = b"".join(record(22, flight[a:b]) for a, b in itertools.pairwise(cuts))
    r = run_scripted(reply=reply, then="silent")
    assert (r.verdict, r.cipher, r.certificate_der) == ("accepted", "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
                                                        cert.der)


def test_unrecognized_name_warning_before_server_hello_is_skipped() -> None:
    reply = record(21, b"\x01\x70") + record(22, server_hello(0x0301, 0x000A))
    r = run_scripted("TLSv1.0", reply=reply)
    assert (r.verdict, r.cipher, r.certificate_der) == ("accepted", "TLS_RSA_WITH_3DES_EDE_CBC_SHA", None)


def test_cipher_that_was_not_offered_is_an_error() -> None:
    r = run_scripted("TLSv1.2", reply=record(22, server_hello(0x0303, 0x1301, extensions=b"")))
    assert (r.verdict, r.cipher) == ("error", "TLS_AES_128_GCM_SHA256")
    assert "not offered" in r.reason


def test_tls13_hello_retry_request_is_accepted() -> None:
    hrr_random = bytes.fromhex("CF21AD74E59A6111BE1D8C021E65B891C2A211167ABB8C5E079E09E2C8A8339C")
    exts = b"\x00\x2b\x00\x02\x03\x04" + b"\x00\x33\x00\x02\x00\x17"
    r = run_scripted("TLSv1.3", reply=lambda hello: record(22, server_hello(
        0x0303, 0x1302, random=hrr_random, extensions=exts, session_id=client_session_id(hello))))
    assert (r.verdict, r.selected_version, r.cipher) == ("accepted", "TLSv1.3", "TLS_AES_256_GCM_SHA384")
    assert r.reason.startswith("HelloRetryRequest selected TLSv1.3")


@pytest.mark.parametrize("echo", [b"", b"\x42" * 32], ids=["empty", "another"])
def test_tls13_server_hello_must_echo_our_session_id(echo: bytes) -> None:
    r = run_scripted("TLSv1.3", reply=record(22, server_hello(0x0303, 0x1301, extensions=SV13, session_id=echo)))
    assert (r.verdict, r.reason) == ("error", "protocol violation: TLS 1.3 ServerHello does not echo the "
                                              "ClientHello's legacy_session_id"), r


HRR = bytes.fromhex("CF21AD74E59A6111BE1D8C021E65B891C2A211167ABB8C5E079E09E2C8A8339C")
SV13, SV12 = b"\x00\x2b\x00\x02\x03\x04", b"\x00\x2b\x00\x02\x03\x03"


BREACHES = [
    ("SSLv3", server_hello(0x0303, 0x000A), "TLSv1.2, newer than the offered SSLv3"),
    ("TLSv1.0", server_hello(0x0303, 0x002F, extensions=b""), "TLSv1.2, newer than the offered TLSv1.0"),
    ("TLSv1.2", server_hello(0x0304, 0x1301, extensions=b""), "TLSv1.3, newer than the offered TLSv1.2"),
    ("TLSv1.2", server_hello(0x0303, 0xC02F, extensions=SV13), "carries supported_versions (TLSv1.3)"),
    ("TLSv1.3", server_hello(0x0303, 0x1301, extensions=SV12), "supported_versions names TLSv1.2"),
    ("TLSv1.3", server_hello(0x0303, 0x1301, extensions=b"\x00\x2b\x00\x02\x03\x05"),
     "supported_versions names 0x0305"),
    ("TLSv1.3", server_hello(0x0301, 0x1301, extensions=SV13), "legacy_version TLSv1.0"),
    ("TLSv1.3", server_hello(0x0304, 0x1301, extensions=b""), "TLSv1.3 in legacy_version"),
    ("TLSv1.3", server_hello(0x0303, 0xC02F, extensions=b""), "cipher TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"),
    ("TLSv1.3", server_hello(0x0303, 0x1301, extensions=b""), "TLSv1.2 with TLS_AES_128_GCM_SHA256"),
    ("TLSv1.3", server_hello(0x0303, 0x1301, random=HRR, extensions=b""), "HelloRetryRequest without"),
    ("TLSv1.2", server_hello(0x0303, 0xC02F, random=HRR, extensions=b""), "HelloRetryRequest in answer"),
    ("TLSv1.2", server_hello(0x0301, 0xC02F, extensions=b""), "TLSv1.0 with TLS_ECDHE_RSA_WITH_AES_128_GCM"),
    ("TLSv1.0", server_hello(0x0002, 0x000A), "0x0002, which is not an SSL/TLS version"),
    ("TLSv1.0", server_hello(0x0301, 0x00FF), "cipher TLS_EMPTY_RENEGOTIATION_INFO_SCSV, which was not offered"),
    ("TLSv1.0", server_hello(0x0301, 0x000A)[:-1] + b"\x01", "compression method 1"),
]


@pytest.mark.parametrize(("probed", "hello", "why"), BREACHES, ids=[f"{p}: {w}" for p, _, w in BREACHES])
def test_server_hello_that_breaks_the_protocol_is_an_error(probed: str, hello: bytes, why: str) -> None:
    r = run_scripted(probed, reply=record(22, hello))
    assert r.verdict == "error" and r.reason.startswith("protocol violation: ") and why in r.reason, r


def test_older_version_with_an_offered_suite_is_refused() -> None:
    r = run_scripted("TLSv1.1", reply=record(22, server_hello(0x0301, 0x002F)))
    assert (r.verdict, r.reason) == ("refused", "ServerHello selected TLSv1.0")


@pytest.mark.parametrize("level", [0, 3, 255])
def test_alert_of_no_known_level_is_an_error(level: int) -> None:
    r = run_scripted(reply=record(21, bytes([level, 70])))
    assert r.verdict == "error" and "alert" in r.reason, r


# --- the ClientHello itself, read by an independent parser ------------------------------------------

def parse_hello(raw: bytes) -> ClientHello:
    assert raw[0] == 22 and raw[5] == 1
    return ClientHello().parse(Parser(bytearray(raw[6:])))


def test_client_hello_contents() -> None:
    seen: list[bytes] = []
    for version in VERSIONS:
        run_scripted(version, seen=seen)
    hellos = dict(zip(VERSIONS, seen, strict=True))
    ssl3 = parse_hello(hellos["SSLv3"])
    assert hellos["SSLv3"][1:3] == b"\x03\x00" and ssl3.client_version == (3, 0)
    assert ssl3.extensions is None  # no extensions at all for SSLv3
    assert {0x000A, 0x0005, 0x0004, 0x0003, 0x0000, 0x00FF} <= set(ssl3.cipher_suites)  # 3DES, RC4, export, NULL
    for version, wire in (("TLSv1.0", (3, 1)), ("TLSv1.1", (3, 2)), ("TLSv1.2", (3, 3))):
        hello = parse_hello(hellos[version])
        assert hellos[version][1:3] == b"\x03\x01" and hello.client_version == wire
        assert hello.server_name == bytearray(b"localhost")
        assert set(hello.cipher_suites) == {*OFFERED[version], 0x00FF}
        assert hello.getExtension(ExtensionType.supported_versions) is None
        assert (hello.getExtension(ExtensionType.signature_algorithms) is not None) == (version == "TLSv1.2")
    assert 0xC02F in parse_hello(hellos["TLSv1.2"]).cipher_suites
    assert 0xC02F not in parse_hello(hellos["TLSv1.1"]).cipher_suites
    tls13 = parse_hello(hellos["TLSv1.3"])
    assert tls13.client_version == (3, 3)
    assert tls13.getExtension(ExtensionType.supported_versions).versions == [(3, 4)]
    assert [(k.group, len(k.key_exchange)) for k in tls13.getExtension(ExtensionType.key_share).client_shares] \
        == [(0x001D, 32)]
    assert set(tls13.cipher_suites) == set(OFFERED["TLSv1.3"]) >= {0x1301, 0x1302, 0x1303, 0x1304, 0x1305}


def test_sni_only_for_dns_names() -> None:
    for name, expected in (("127.0.0.1", None), ("::1", None), ("Mail.Example.com.", b"mail.example.com"),
                           ("bad name!", None), (None, None)):
        hello = parse_hello(build_client_hello("TLSv1.2", name))
        assert (bytes(hello.server_name) or None) == expected, name


def test_unknown_version_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match=r"TLSv1\.2"):
        build_client_hello("TLSv1.4", None)


# --- API shape: async over a connected stream, JSON facts -------------------------------------------

def test_async_api_over_an_open_stream_and_json_round_trip(cert: Cert) -> None:
    async def run(port: int) -> tuple[VersionProbe, float]:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        loop = asyncio.get_running_loop()
        start = loop.time()
        try:
            return await probe_version(reader, writer, "TLSv1.2", "localhost", loop.time() + 3), loop.time() - start
        finally:
            writer.close()

    with serve(openssl_handler(openssl_context(cert, (TLS12, TLS12)))) as (_, port):
        probe, took = asyncio.run(run(port))
    assert probe.verdict == "accepted" and took < 1.0
    facts = json.loads(json.dumps(probe.to_json()))
    assert set(facts) == {"version", "verdict", "reason", "selected_version", "cipher", "alert",
                          "certificate_der_b64"}
    assert VersionProbe.from_json(facts) == probe
    refused = VersionProbe("SSLv3", "refused", "server sent alert protocol_version(70)", alert=70)
    assert "certificate_der_b64" not in refused.to_json()
    assert VersionProbe.from_json(refused.to_json()) == refused


def test_unreachable_port_is_an_error() -> None:
    with serve(scripted_handler()) as (_, port):
        pass  # the port is closed again
    r = probe_version_sync("127.0.0.1", port, "TLSv1.2", None, timeout=1.0)
    assert r.verdict == "error" and r.reason.startswith(f"could not connect to 127.0.0.1:{port}")


# --- the suite table -------------------------------------------------------------------------------

def test_suite_names_agree_with_tlslite_and_openssl() -> None:
    for code, name in CipherSuite.ietfNames.items():
        if code in NAMES:
            assert NAMES[code].upper() == name.upper(), hex(code)
    out = subprocess.run(["openssl", "ciphers", "-V", "-stdname", "ALL:COMPLEMENTOFALL:@SECLEVEL=0"],
                         capture_output=True, text=True, check=True).stdout
    checked = 0
    for line in out.splitlines():
        hi, lo = line.split()[0].split(",")
        assert NAMES[int(hi, 16) << 8 | int(lo, 16)] == line.split()[2]
        checked += 1
    assert checked > 50
    assert cipher_name(0xFFFE) == "0xFFFE"
    assert NAMES[0x0005] == "TLS_RSA_WITH_RC4_128_SHA" and NAMES[0xC0AF] == "TLS_ECDHE_ECDSA_WITH_AES_256_CCM_8"


def test_offered_suites_per_version() -> None:
    legacy, tls12 = set(OFFERED["TLSv1.0"]), set(OFFERED["TLSv1.2"])
    assert OFFERED["SSLv3"] == OFFERED["TLSv1.0"] == OFFERED["TLSv1.1"]
    assert legacy < tls12 and not any(("GCM" in NAMES[c] or "SHA256" in NAMES[c]) for c in legacy)
    assert {0x009C, 0xCCA8, 0xC0AC, 0x003C} <= tls12
    assert not (set(OFFERED["TLSv1.3"]) & tls12) and 0x00FF not in tls12 | legacy
    assert len(build_client_hello("TLSv1.2", "x" * 60 + ".example")) < 16384


def test_cached_hellos_differ_only_in_the_client_random() -> None:
    from plugins.smtp.tls_wire import build_client_hello, client_hello

    for version in ("SSLv3", "TLSv1.0", "TLSv1.2", "TLSv1.3"):
        first, second = client_hello(version, "mail.test"), client_hello(version, "mail.test")
        fresh = build_client_hello(version, "mail.test")
        assert len(first) == len(second) == len(fresh)
        assert first[:11] == second[:11] == fresh[:11]
        assert first[43:] == second[43:]
        assert first[11:43] != second[11:43]
