"""Raw TLS version probe over an already-connected asyncio stream (e.g. right after STARTTLS).

For one protocol version we build the ClientHello ourselves (offering exactly that
version and every cipher suite defined for it, see `plugins.smtp.suites`), send it,
and read the ServerHello or alert straight from the socket, as InSpec's sslshake and
testssl.sh do. The verdict therefore never depends on this machine's OpenSSL, which
cannot speak SSLv3 and refuses TLS 1.0/1.1 by default. The handshake is never
finished: after the verdict (and, for TLS 1.2 and older, the plaintext certificate)
the caller closes the connection. Verdict rules: `plugins.smtp.tls_verdict`.
"""

from __future__ import annotations

import asyncio
import ipaddress
import os
import re
from contextlib import suppress
from dataclasses import replace

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from plugins.smtp.suites import OFFERED, VERSIONS
from plugins.smtp.texts import Said
from plugins.smtp.tls_verdict import (
    ALERT_UNRECOGNIZED_NAME,
    WIRE_VERSIONS,
    MalformedAnswer,
    VersionProbe,
    describe_garbage,
    judge_alert,
    judge_server_hello,
    parse_server_hello,
)
from scanner.i18n import N_

__all__ = ["VERSIONS", "VersionProbe", "build_client_hello", "probe_version", "probe_version_sync"]

VERDICT_READ_CAP = 64 * 1024
"""At most this many bytes are read while waiting for the ServerHello or alert."""
CERTIFICATE_READ_CAP = 256 * 1024
"""At most this many bytes are read in all, certificate included."""

_GROUPS = (
    0x001D, 0x0017, 0x0018, 0x0019, 0x001E,  # x25519, secp256r1, secp384r1, secp521r1, x448
    0x001A, 0x001B, 0x001C, 0x001F, 0x0020, 0x0021,  # brainpoolP256r1/384r1/512r1, and their TLS 1.3 forms
    0x0016, 0x0015, 0x0014, 0x0013, 0x0012, 0x0011, 0x0010, 0x000F,  # secp256k1, secp224r1/k1, secp192r1/k1, 160
    0x0001, 0x0002, 0x0003, 0x0004, 0x0005, 0x0006, 0x0007, 0x0008, 0x0009, 0x000A, 0x000B, 0x000C,
    0x000D, 0x000E,  # sect163k1 .. sect571r1
    0x0100, 0x0101, 0x0102, 0x0103, 0x0104,  # ffdhe2048 .. ffdhe8192
    0x11EC, 0x11EB, 0x11ED,  # X25519MLKEM768, SecP256r1MLKEM768, SecP384r1MLKEM1024 (TLS 1.3: an HRR at most)
)
"""Every named group a server might insist on (IANA TLS Supported Groups): a ``handshake_failure`` after all
of them, every cipher suite and every signature algorithm is a credible refusal, not a missing curve."""
_GROUPS_TLS13 = tuple(g for g in _GROUPS if g in (0x1D, 0x17, 0x18, 0x19, 0x1E, 0x1F, 0x20, 0x21) or g >= 0x100)
"""The groups TLS 1.3 defines (RFC 8446, 8734, hybrids): a 1.3 hello naming the old curves is refused by some
servers (tlslite-ng: illegal_parameter)."""
_SIGALGS = (
    0x0403, 0x0503, 0x0603, 0x0807, 0x0808, 0x081A, 0x081B, 0x081C,  # ecdsa sha2, ed25519/448, ecdsa_brainpool
    0x0804, 0x0805, 0x0806, 0x0809, 0x080A, 0x080B,  # rsa_pss_rsae_*, rsa_pss_pss_*
    0x0401, 0x0501, 0x0601, 0x0402, 0x0502, 0x0602,  # rsa / dsa sha256..512
    0x0301, 0x0302, 0x0303, 0x0201, 0x0202, 0x0203, 0x0101, 0x0102, 0x0103,  # sha224, sha1, md5
)
"""Every TLS 1.2 hash/signature pair (md5 .. sha512 x rsa, dsa, ecdsa) and every TLS 1.3 scheme a
certificate may need (ed25519, ed448, rsa_pss_*, ecdsa_brainpool*)."""
_POINT_FORMATS = b"\x00\x01\x02"  # uncompressed, ansiX962_compressed_prime, ansiX962_compressed_char2
_SCSV_RENEGOTIATION = 0x00FF
_DNS_NAME = re.compile(r"(?=.{1,253}$)([A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?\.)*"
                       r"[A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?")
_MAX_RECORD = 16384 + 2048
_HANDSHAKE, _ALERT = 22, 21


def _u8(data: bytes) -> bytes:
    return len(data).to_bytes(1, "big") + data


def _u16(data: bytes) -> bytes:
    return len(data).to_bytes(2, "big") + data


def _ext(ext_type: int, data: bytes) -> bytes:
    return ext_type.to_bytes(2, "big") + _u16(data)


def _codes(codes: tuple[int, ...]) -> bytes:
    return b"".join(c.to_bytes(2, "big") for c in codes)


def sni_name(servername: str | None) -> str | None:
    """The name to send as SNI: a DNS name without its trailing dot; None for IP literals or junk."""
    if not servername:
        return None
    name = servername.rstrip(".")
    with suppress(ValueError):
        ipaddress.ip_address(name)
        return None
    return name.lower() if _DNS_NAME.fullmatch(name) else None


_templates: dict[tuple[str, str | None], bytes] = {}
_RANDOM = slice(11, 43)  # record header (5) + handshake header (4) + client_version (2)


def client_hello(version: str, servername: str | None) -> bytes:
    """A ClientHello for one connection: a cached template with a fresh client random
    (building one from scratch, X25519 key share included, costs ~0.13 ms; a fleet
    probe sends thousands). The TLS 1.3 key share is reused: no handshake is ever
    completed, so no secret is ever derived from it."""
    key = (version, sni_name(servername))
    template = _templates.get(key)
    if template is None:
        template = _templates[key] = build_client_hello(version, servername)
    return template[: _RANDOM.start] + os.urandom(32) + template[_RANDOM.stop :]


def build_client_hello(version: str, servername: str | None) -> bytes:
    """The complete TLS record carrying a ClientHello that offers exactly `version`."""
    if version not in WIRE_VERSIONS:
        raise ValueError(f"unknown protocol version {version!r}; expected one of {', '.join(VERSIONS)}")
    tls13 = version == "TLSv1.3"
    client_version = 0x0303 if tls13 else WIRE_VERSIONS[version]
    suites = OFFERED[version] if tls13 else (*OFFERED[version], _SCSV_RENEGOTIATION)
    body = client_version.to_bytes(2, "big") + os.urandom(32)
    body += _u8(os.urandom(32) if tls13 else b"") + _u16(_codes(suites)) + _u8(b"\x00")
    if version != "SSLv3":  # SSLv3 servers may choke on any extension
        exts = b""
        name = sni_name(servername)
        if name is not None:
            exts += _ext(0x0000, _u16(b"\x00" + _u16(name.encode("ascii"))))
        exts += _ext(0x000A, _u16(_codes(_GROUPS_TLS13 if tls13 else _GROUPS)))
        exts += _ext(0x000B, _u8(_POINT_FORMATS))
        if version in ("TLSv1.2", "TLSv1.3"):
            exts += _ext(0x000D, _u16(_codes(_SIGALGS)))
        if tls13:
            public = X25519PrivateKey.generate().public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
            exts += _ext(0x002B, _u8(_codes((0x0304,))))
            exts += _ext(0x0033, _u16(_codes((0x001D,)) + _u16(public)))
            exts += _ext(0x002D, _u8(b"\x01"))  # psk_dhe_ke
        size = 4 + len(body) + 2 + len(exts)
        if 256 <= size < 512:  # RFC 7685 padding: some servers hang on hellos of 256-511 bytes
            exts += _ext(0x0015, bytes(max(1, 512 - size - 4)))
        body += _u16(exts)
    handshake = b"\x01" + len(body).to_bytes(3, "big") + body
    record_version = 0x0300 if version == "SSLv3" else 0x0301
    return bytes([_HANDSHAKE]) + record_version.to_bytes(2, "big") + _u16(handshake)


def _session_id(hello: bytes) -> bytes:
    """The legacy_session_id of a ClientHello record built by `build_client_hello`."""
    start = _RANDOM.stop + 1
    return hello[start:start + hello[_RANDOM.stop]]


class _Closed(Exception):
    """The peer closed the connection (EOF)."""


class _AlertReceived(Exception):
    def __init__(self, code: int) -> None:
        super().__init__(code)
        self.code = code


class _HandshakeReader:
    """Reads TLS records from a stream and reassembles handshake messages, with a byte cap."""

    def __init__(self, reader: asyncio.StreamReader) -> None:
        self._reader = reader
        self._buf = bytearray()      # bytes read but not yet taken as a record
        self._messages = bytearray()  # handshake bytes not yet taken as a message
        self.total = 0
        self.cap = VERDICT_READ_CAP

    @property
    def pending(self) -> bool:
        """True when part of a record or handshake message has arrived but not the rest."""
        return bool(self._buf or self._messages)

    async def _fill(self, need: int) -> None:
        while len(self._buf) < need:
            if self.total >= self.cap:
                raise MalformedAnswer(Said(N_("answer exceeded {limit} bytes"), limit=self.cap))
            chunk = await self._reader.read(min(65536, self.cap - self.total))
            if not chunk:
                if self._buf and not _plausible_header(bytes(self._buf)):
                    raise MalformedAnswer(describe_garbage(bytes(self._buf)))
                raise _Closed
            self.total += len(chunk)
            self._buf += chunk
            if not _plausible_header(bytes(self._buf)):
                raise MalformedAnswer(describe_garbage(bytes(self._buf)))

    async def _record(self) -> tuple[int, bytes]:
        await self._fill(5)
        if not _plausible_header(bytes(self._buf[:5])):
            raise MalformedAnswer(describe_garbage(bytes(self._buf)))
        length = int.from_bytes(self._buf[3:5], "big")
        await self._fill(5 + length)
        content_type, fragment = self._buf[0], bytes(self._buf[5:5 + length])
        del self._buf[:5 + length]
        return content_type, fragment

    async def message(self, max_length: int) -> tuple[int, bytes]:
        """The next handshake message (type, body); raises `_AlertReceived` for a deciding alert."""
        while True:
            if len(self._messages) >= 4:
                length = int.from_bytes(self._messages[1:4], "big")
                if length > max_length:
                    raise MalformedAnswer(Said(N_("handshake message of {size} bytes is too long"), size=length))
                if len(self._messages) >= 4 + length:
                    msg_type, body = self._messages[0], bytes(self._messages[4:4 + length])
                    del self._messages[:4 + length]
                    return msg_type, body
            content_type, fragment = await self._record()
            if content_type == _HANDSHAKE:
                if not fragment:
                    raise MalformedAnswer(Said(N_("empty handshake record")))
                self._messages += fragment
            elif content_type == _ALERT:
                if self._messages or len(fragment) < 2:
                    raise MalformedAnswer(Said(N_("malformed alert record")))
                if fragment[0] not in (1, 2):
                    raise MalformedAnswer(Said(N_("alert with unknown level {level} (neither warning nor fatal)"),
                                               level=fragment[0]))
                if fragment[0] == 1 and fragment[1] == ALERT_UNRECOGNIZED_NAME:
                    continue  # a warning some servers send before their ServerHello
                raise _AlertReceived(fragment[1])
            else:
                kind = "ChangeCipherSpec" if content_type == 20 else "application data"
                raise MalformedAnswer(Said(N_("unexpected {kind} record before the handshake messages"), kind=kind))


def _plausible_header(data: bytes) -> bool:
    """Whether `data` can be the start of a TLS record header (content type, version 3.x, length)."""
    if data[0] not in (20, 21, 22, 23):
        return False
    if len(data) >= 2 and data[1] != 3:
        return False
    if len(data) >= 3 and data[2] > 4:
        return False
    return len(data) < 5 or int.from_bytes(data[3:5], "big") <= _MAX_RECORD


async def _read_verdict(stream: _HandshakeReader, version: str, session_id: bytes) -> VersionProbe:
    while True:
        msg_type, body = await stream.message(max_length=VERDICT_READ_CAP)
        if msg_type == 0 and not body:
            continue  # HelloRequest: meaningless here, may be ignored
        if msg_type != 2:
            raise MalformedAnswer(Said(N_("expected a ServerHello, got handshake message type {type}"), type=msg_type))
        return judge_server_hello(version, parse_server_hello(body), OFFERED[version], session_id)


async def _read_certificate(stream: _HandshakeReader) -> bytes | None:
    """The first certificate of the Certificate message following the ServerHello, if it comes next."""
    stream.cap = CERTIFICATE_READ_CAP
    msg_type, body = await stream.message(max_length=CERTIFICATE_READ_CAP)
    if msg_type != 11 or len(body) < 6:
        return None
    first_len = int.from_bytes(body[3:6], "big")
    der = body[6:6 + first_len]
    return der if len(der) == first_len and first_len > 0 else None


async def probe_version(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, version: str,
                        servername: str | None, deadline: float) -> VersionProbe:
    """Offer exactly `version` on the connected stream and judge the server's first answer.

    `deadline` is a ``loop.time()`` value bounding the whole exchange. `servername` is
    sent as SNI when it is a DNS name. Never raises for anything the server does; an
    unknown `version` raises ValueError. The caller closes the connection afterwards.
    """
    hello = client_hello(version, servername)
    stream = _HandshakeReader(reader)
    try:
        async with asyncio.timeout_at(deadline):
            writer.write(hello)
            await writer.drain()
    except (TimeoutError, OSError) as exc:
        return VersionProbe(version, "error", Said(N_("could not send the ClientHello: {error}"),
                                                   error=str(exc) or Said(N_("timed out"))))
    try:
        async with asyncio.timeout_at(deadline):
            verdict = await _read_verdict(stream, version, _session_id(hello))
    except TimeoutError:
        reason = (Said(N_("no answer before deadline")) if stream.total == 0
                  else Said(N_("incomplete answer before deadline ({size} bytes received)"), size=stream.total))
        return VersionProbe(version, "error", reason)
    except _AlertReceived as alert:
        return judge_alert(version, alert.code)
    except (_Closed, ConnectionResetError) as exc:
        closed = isinstance(exc, _Closed)
        if stream.pending:
            return VersionProbe(version, "error", Said(N_("connection closed in the middle of the answer")) if closed
                                else Said(N_("connection reset in the middle of the answer")))
        return VersionProbe(version, "refused", Said(N_("connection closed after ClientHello")) if closed
                            else Said(N_("connection reset after ClientHello")))
    except MalformedAnswer as exc:
        return VersionProbe(version, "error", exc.args[0] if exc.args else str(exc))
    except OSError as exc:
        return VersionProbe(version, "error", Said(N_("network error after ClientHello: {error}"), error=str(exc)))
    if verdict.verdict != "accepted" or version == "TLSv1.3":
        return verdict
    try:
        async with asyncio.timeout_at(deadline):
            der = await _read_certificate(stream)
    except (TimeoutError, _AlertReceived, _Closed, MalformedAnswer, OSError):
        der = None
    return replace(verdict, certificate_der=der)


def probe_version_sync(host: str, port: int, version: str, servername: str | None = None,
                       timeout: float = 5.0) -> VersionProbe:
    """Connect to host:port, probe one version within `timeout` seconds, close (tests, ad-hoc use)."""

    async def run() -> VersionProbe:
        deadline = asyncio.get_running_loop().time() + timeout
        try:
            async with asyncio.timeout_at(deadline):
                reader, writer = await asyncio.open_connection(host, port)
        except (TimeoutError, OSError) as exc:
            return VersionProbe(version, "error", f"could not connect to {host}:{port}: {exc or 'timed out'}")
        try:
            return await probe_version(reader, writer, version, servername, deadline)
        finally:
            writer.close()
            with suppress(TimeoutError, OSError):
                await asyncio.wait_for(writer.wait_closed(), 1.0)

    return asyncio.run(run())
