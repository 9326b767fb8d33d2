"""No pass without proof: a catalogue of misbehaving SMTP/TLS peers on 127.0.0.1, each probed for real.

Every peer is a real server (a scripted asyncio SMTP front, then scripted TLS
bytes; or aiosmtpd with a real TLS stack for the certificate cases). Each
entry names the rule it is judged by and the status it must get. The rules are
the ones a misbehaving peer could pass by accident: ``reject`` alone (a
version that was never really seen must not count as refused), ``plaintext_mail:
refused`` (a refusal of something else must not count), ``starttls: forbidden``
and ``certificate``. A few well-behaved controls show the rules still pass when
the server really answered. Every stage deadline is 0.4 s, so the catalogue
runs in seconds.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from smtp_servers import NOW, ServerThread, aiosmtpd_server, make_cert, run_check, tls_context
from tls_servers import record, server_hello

pytestmark = pytest.mark.timeout(30)

TIMEOUT = 0.4
LEGACY = ["SSLv3", "TLSv1.0", "TLSv1.1"]
REJECT_ONLY = {"starttls": "optional", "reject": LEGACY}
REJECT_REQUIRED = {"reject": LEGACY}
PLAINTEXT = {"starttls": "optional", "plaintext_mail": "refused"}
FORBIDDEN = {"starttls": "forbidden"}
EHLO_TLS = b"250-peer.test\r\n250-SIZE 1000\r\n250 STARTTLS\r\n"
HRR = bytes.fromhex("CF21AD74E59A6111BE1D8C021E65B891C2A211167ABB8C5E079E09E2C8A8339C")


@dataclass(frozen=True)
class Peer:
    """What a scripted peer answers at each stage; ``tls`` is bytes, or ``silent``/``close``/``reset``."""

    greeting: bytes = b"220 peer.test ESMTP\r\n"
    ehlo: bytes = EHLO_TLS
    helo: bytes = b"250 peer.test\r\n"
    starttls: bytes = b"220 2.0.0 Ready to start TLS\r\n"
    mail: bytes = b"250 2.1.0 Ok\r\n"
    tls: bytes | str = "close"
    after_mail: str = ""  # "close": hang up right after answering MAIL
    after_tls: str = ""  # "close": hang up right after the TLS bytes (else stay until the probe leaves)


class _Scripted(asyncio.Protocol):
    def __init__(self, peer: Peer) -> None:
        self.peer = peer
        self.buf = b""
        self.tls = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.t: Any = transport
        if self.peer.greeting:
            self.t.write(self.peer.greeting)

    def data_received(self, data: bytes) -> None:
        self.buf += data
        if self.tls:
            self._client_hello()
            return
        while b"\n" in self.buf and not self.tls:
            line, self.buf = self.buf.split(b"\n", 1)
            self._command(line.strip().upper())

    def _command(self, line: bytes) -> None:
        peer = self.peer
        if line.startswith(b"EHLO"):
            self.t.write(peer.ehlo)
        elif line.startswith(b"HELO"):
            self.t.write(peer.helo)
        elif line.startswith(b"STARTTLS"):
            self.t.write(peer.starttls)
            self.tls = peer.starttls.startswith(b"220 ")
        elif line.startswith(b"MAIL"):
            self.t.write(peer.mail)
            if peer.after_mail == "close":
                self.t.close()
        elif line.startswith(b"QUIT"):
            self.t.write(b"221 2.0.0 Bye\r\n")
            self.t.close()
        else:
            self.t.write(b"250 2.0.0 Ok\r\n")

    def _client_hello(self) -> None:
        if len(self.buf) < 5 or len(self.buf) < 5 + struct.unpack(">H", self.buf[3:5])[0]:
            return
        self.buf = b""
        answer = self.peer.tls
        if answer == "close":
            self.t.close()
        elif answer == "reset":
            self.t.abort()
        elif isinstance(answer, bytes):
            self.t.write(answer)  # and then stay: the probe must not wait past its deadline
            if self.peer.after_tls == "close":
                self.t.close()


@dataclass(frozen=True)
class Case:
    name: str
    rule: dict[str, Any]
    status: str
    peer: Peer = field(default_factory=Peer)


def _hello(version: int, cipher: int, **kw: Any) -> bytes:
    return record(22, server_hello(version, cipher, **kw))


CATALOGUE = [
    # --- STARTTLS answers (finding 7): a temporary or odd answer decides no version ---
    Case("starttls 454, reject only", REJECT_ONLY, "error", Peer(starttls=b"454 4.7.0 TLS not available\r\n")),
    Case("starttls 454, required", REJECT_REQUIRED, "error", Peer(starttls=b"454 4.7.0 TLS not available\r\n")),
    Case("starttls 421, reject only", REJECT_ONLY, "error", Peer(starttls=b"421 4.3.2 Shutting down\r\n")),
    Case("starttls 250, reject only", REJECT_ONLY, "error", Peer(starttls=b"250 2.0.0 Ok\r\n")),
    Case("starttls garbage reply", REJECT_ONLY, "error", Peer(starttls=b"HELLO THERE\r\n")),
    Case("starttls silent", REJECT_ONLY, "error", Peer(starttls=b"")),
    Case("EHLO 450 then HELO, reject only", REJECT_ONLY, "error", Peer(ehlo=b"450 4.3.2 Try later\r\n")),
    Case("EHLO 450 then HELO, forbidden", FORBIDDEN, "error", Peer(ehlo=b"450 4.3.2 Try later\r\n")),
    # --- plaintext MAIL FROM (finding 8): only a TLS/policy refusal counts ---
    *(Case(f"MAIL {reply[:9].decode()}", PLAINTEXT, "error", Peer(mail=reply)) for reply in (
        b"501 5.1.7 Bad sender address syntax\r\n", b"550 5.1.0 Sender rejected\r\n",
        b"553 5.1.8 Domain of sender does not exist\r\n", b"421 4.3.2 Service shutting down\r\n",
        b"450 4.2.0 Mailbox busy\r\n", b"452 4.3.1 Insufficient system storage\r\n",
        b"500 5.5.1 Command unrecognized\r\n", b"552 5.3.4 Message too big\r\n", b"354 go ahead\r\n",
        b"250-first\r\nnot a reply\r\n", "５３０ 5.7.0 STARTTLS first\r\n".encode(), b"630 5.7.0 STARTTLS\r\n")),
    Case("MAIL then silence", PLAINTEXT, "error", Peer(mail=b"")),
    Case("MAIL unanswered, closed", PLAINTEXT, "error", Peer(mail=b"", after_mail="close")),
    # --- the TLS answer after 220 (finding 9): a broken ServerHello decides nothing ---
    Case("TLS1.2 hello to every version", REJECT_REQUIRED, "error", Peer(tls=_hello(0x0303, 0xC02F))),
    Case("TLS1.2 hello with a TLS1.2 suite to TLS1.3", {"reject": ["TLSv1.3"]}, "error",
         Peer(tls=_hello(0x0303, 0xC02F, extensions=b""))),
    Case("TLS1.3 in legacy_version to TLS1.2", {"accept": ["TLSv1.2"]}, "error",
         Peer(tls=_hello(0x0304, 0xC02F, extensions=b""))),
    Case("supported_versions 0x0305", REJECT_REQUIRED, "error",
         Peer(tls=_hello(0x0303, 0x1301, extensions=b"\x00\x2b\x00\x02\x03\x05"))),
    Case("HelloRetryRequest to legacy hellos", REJECT_REQUIRED, "error",
         Peer(tls=_hello(0x0303, 0x1301, random=HRR, extensions=b"\x00\x2b\x00\x02\x03\x04"))),
    Case("cipher not offered", REJECT_REQUIRED, "error", Peer(tls=_hello(0x0300, 0x1301))),
    Case("garbage after 220", REJECT_REQUIRED, "error", Peer(tls=b"THIS IS NOT TLS AT ALL\r\n" * 4)),
    Case("malformed record header", REJECT_REQUIRED, "error", Peer(tls=b"\x16\x03\x09\x00\x10" + bytes(16))),
    Case("empty handshake record", REJECT_REQUIRED, "error", Peer(tls=record(22, b""))),
    Case("closed mid-handshake", REJECT_REQUIRED, "error", Peer(tls=_hello(0x0301, 0x000A)[:20], after_tls="close")),
    Case("half a ServerHello, then silent", REJECT_REQUIRED, "error", Peer(tls=_hello(0x0301, 0x000A)[:20])),
    Case("HelloRetryRequest without versions", REJECT_REQUIRED, "error",
         Peer(tls=_hello(0x0301, 0x000A, random=HRR))),
    Case("silent until the deadline", REJECT_REQUIRED, "error", Peer(tls="silent")),
    Case("alert internal_error", REJECT_REQUIRED, "error", Peer(tls=record(21, b"\x02\x50"))),
    Case("alert close_notify", REJECT_REQUIRED, "error", Peer(tls=record(21, b"\x01\x00"))),
    Case("alert of unknown level", REJECT_REQUIRED, "error", Peer(tls=record(21, b"\x07\x46"))),
    Case("ChangeCipherSpec first", REJECT_REQUIRED, "error", Peer(tls=record(20, b"\x01"))),
    Case("alert of one byte, then close", REJECT_ONLY, "error",
         Peer(tls=b"\x15\x03\x01\x00\x01\x02", after_tls="close")),
    Case("alert cut short by a close", REJECT_ONLY, "error", Peer(tls=b"\x15\x03\x01\x00\x02\x02", after_tls="close")),
    # --- controls: a real, decided answer still passes (or fails) ---
    Case("control: starttls 554, reject only", REJECT_ONLY, "pass", Peer(starttls=b"554 5.5.1 No TLS\r\n")),
    Case("control: no STARTTLS in EHLO, forbidden", FORBIDDEN, "pass", Peer(ehlo=b"250 peer.test\r\n")),
    Case("control: EHLO 502, HELO 250, forbidden", FORBIDDEN, "pass", Peer(ehlo=b"502 5.5.2 No EHLO\r\n")),
    Case("control: protocol_version alert", REJECT_ONLY, "pass", Peer(tls=record(21, b"\x02\x46"))),
    Case("control: close after the ClientHello", REJECT_ONLY, "pass", Peer(tls="close")),
    # --- STARTTLS 220 that never yields TLS is not STARTTLS: ``required`` cannot pass on it ---
    Case("220 to STARTTLS, every hello refused, required", REJECT_REQUIRED, "error",
         Peer(tls=record(21, b"\x02\x46"))),
    Case("220 to STARTTLS, then close, required", {"starttls": "required"}, "error", Peer(tls="close")),
    Case("control: MAIL 530 5.7.0", PLAINTEXT, "pass", Peer(mail=b"530 5.7.0 Must issue a STARTTLS command first\r\n")),
    Case("control: MAIL 451 5.7.3", PLAINTEXT, "pass", Peer(mail=b"451 5.7.3 STARTTLS is required\r\n")),
    Case("control: MAIL 250", PLAINTEXT, "fail"),
]


@pytest.mark.parametrize("case", CATALOGUE, ids=[c.name for c in CATALOGUE])
def test_misbehaving_peer_never_passes(case: Case) -> None:
    server = ServerThread(lambda: _Scripted(case.peer))
    try:
        facts, outcome = run_check({"endpoints": [server.endpoint], "timeout": TIMEOUT, **case.rule})
    finally:
        server.stop()
    assert outcome.status == case.status, (outcome.message, facts)
    if outcome.status == "pass":
        [proofs] = outcome.examined.values()
        assert proofs and all(proofs.values()), outcome.examined  # a pass rests on what was seen


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    d: Path = tmp_path_factory.mktemp("certs")
    return {
        "not yet valid": make_cert(d, "future", ["mail.test"], days=(10, 400)),
        "expired": make_cert(d, "expired", ["mail.test"], days=(-400, -1)),
        "valid": make_cert(d, "valid", ["mail.test"], days=(-1, 400)),
    }


@pytest.mark.parametrize(("which", "status", "observed"), [
    ("not yet valid", "fail", "not yet valid"),  # finding 10: its far not_after used to pass
    ("expired", "fail", None),
    ("valid", "pass", None),
])
@pytest.mark.parametrize("version", ["TLSv1.2", "TLSv1.3"])  # raw handshake / stdlib handshake
def test_certificate_validity_is_judged_over_the_whole_period(certs: dict[str, Any], which: str, status: str,
                                                              observed: str | None, version: str) -> None:
    server = aiosmtpd_server(tls_context(certs[which], [version]))
    try:
        _, outcome = run_check({"endpoints": [server.endpoint], "servername": "mail.test", "timeout": 2,
                                "accept": [version], "certificate": {"min_days_valid": 30}},
                               now=NOW + dt.timedelta(hours=1))
    finally:
        server.stop()
    assert outcome.status == status, outcome.message
    got = outcome.actual[server.endpoint]["certificate.min_days_valid"]
    assert got == observed if observed else isinstance(got, float)
    if which == "not yet valid":
        assert "not valid before" in outcome.message
