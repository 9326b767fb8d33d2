"""What one raw TLS version probe concluded: the `VersionProbe` value and the rules that decide it.

Verdict semantics (the server's own answer, never this machine's TLS library):

- ``accepted``: the ServerHello (or a TLS 1.3 HelloRetryRequest) selected the probed
  version and one of the offered suites;
- ``refused``: a ``protocol_version`` alert, a well-formed ServerHello selecting an
  *older* version with a suite we offered (TLS 1.2 and older: the server's best is
  below ours), the connection closed or reset after our ClientHello with nothing
  else said, or a ``handshake_failure`` alert (we offered every suite defined for
  the version);
- ``error``: anything else: another alert, garbage, a malformed answer, no answer
  before the deadline, and every ServerHello that breaks the protocol - a version
  newer than offered, a ``supported_versions`` naming a version we did not offer
  (or sent to a hello that did not carry the extension), a HelloRetryRequest to a
  hello that cannot get one, a cipher suite or compression we did not offer, a
  TLS 1.3 answer that does not echo our legacy_session_id, a TLS 1.3 ServerHello
  without key_share (we offer no PSK, so it cannot go on), an extension in the
  ServerHello that the ClientHello did not offer (RFC 5246 §7.4.1.4, RFC 8446
  §4.1.3: a real client aborts with unsupported_extension). A
  server that breaks the protocol has not told us what it supports.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Any, Literal

from plugins.smtp.suites import OFFERED, cipher_name
from plugins.smtp.texts import Said
from scanner.i18n import N_

Verdict = Literal["accepted", "refused", "error"]

WIRE_VERSIONS: dict[str, int] = {
    "SSLv3": 0x0300, "TLSv1.0": 0x0301, "TLSv1.1": 0x0302, "TLSv1.2": 0x0303, "TLSv1.3": 0x0304,
}
"""The two-byte protocol version each version name stands for."""

_VERSION_NAMES = {code: name for name, code in WIRE_VERSIONS.items()}

ALERTS: dict[int, str] = {
    0: "close_notify", 10: "unexpected_message", 20: "bad_record_mac", 21: "decryption_failed",
    22: "record_overflow", 30: "decompression_failure", 40: "handshake_failure", 41: "no_certificate",
    42: "bad_certificate", 43: "unsupported_certificate", 44: "certificate_revoked",
    45: "certificate_expired", 46: "certificate_unknown", 47: "illegal_parameter", 48: "unknown_ca",
    49: "access_denied", 50: "decode_error", 51: "decrypt_error", 60: "export_restriction",
    70: "protocol_version", 71: "insufficient_security", 80: "internal_error",
    86: "inappropriate_fallback", 90: "user_canceled", 100: "no_renegotiation", 109: "missing_extension",
    110: "unsupported_extension", 111: "certificate_unobtainable", 112: "unrecognized_name",
    113: "bad_certificate_status_response", 114: "bad_certificate_hash_value", 115: "unknown_psk_identity",
    116: "certificate_required", 120: "no_application_protocol",
}
"""TLS alert descriptions by code (RFC 5246, 8446 and their predecessors)."""

ALERT_PROTOCOL_VERSION = 70
ALERT_HANDSHAKE_FAILURE = 40
ALERT_UNRECOGNIZED_NAME = 112

HRR_RANDOM = bytes.fromhex("CF21AD74E59A6111BE1D8C021E65B891C2A211167ABB8C5E079E09E2C8A8339C")
_EXT_SUPPORTED_VERSIONS = 0x002B


def version_name(code: int) -> str:
    """``TLSv1.2`` for 0x0303; unknown codes as ``0x0305``."""
    return _VERSION_NAMES.get(code, f"0x{code:04X}")


def alert_text(code: int) -> str:
    """``protocol_version(70)``; unknown codes as ``alert(200)``."""
    return f"{ALERTS.get(code, 'alert')}({code})"


@dataclass(frozen=True, slots=True)
class VersionProbe:
    """The outcome of offering exactly one protocol version to a server.

    ``selected_version`` and ``cipher`` come from the ServerHello (None without one);
    ``alert`` is the alert code that decided the verdict; ``certificate_der`` is the
    first certificate of a plaintext (TLS 1.2 and older) Certificate message.
    """

    version: str
    verdict: Verdict
    reason: str
    selected_version: str | None = None
    cipher: str | None = None
    alert: int | None = None
    certificate_der: bytes | None = None

    def to_json(self) -> dict[str, Any]:
        """Plain JSON facts; the certificate as base64 under ``certificate_der_b64`` when present."""
        out: dict[str, Any] = {
            "version": self.version, "verdict": self.verdict, "reason": self.reason,
            "selected_version": self.selected_version, "cipher": self.cipher, "alert": self.alert,
        }
        if self.certificate_der is not None:
            out["certificate_der_b64"] = base64.b64encode(self.certificate_der).decode("ascii")
        return out

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> VersionProbe:
        """The inverse of `to_json` (for facts read back from a saved file)."""
        der = data.get("certificate_der_b64")
        return cls(
            version=data["version"], verdict=data["verdict"], reason=data["reason"],
            selected_version=data.get("selected_version"), cipher=data.get("cipher"),
            alert=data.get("alert"), certificate_der=base64.b64decode(der) if der is not None else None,
        )


class MalformedAnswer(ValueError):
    """The server's bytes are not a well-formed TLS answer; the message says what was wrong."""


@dataclass(frozen=True, slots=True)
class ServerHello:
    """The fields of a ServerHello that decide a verdict."""

    version: int          # the negotiated version (supported_versions wins over legacy_version)
    cipher: int
    retry_request: bool   # a TLS 1.3 HelloRetryRequest
    legacy_version: int = 0
    supported_versions: int | None = None  # the extension's value, None when absent
    compression: int = 0
    session_id: bytes = b""
    extensions: tuple[int, ...] = ()


_EXT_KEY_SHARE, _EXT_COOKIE = 0x0033, 0x002C
_LEGACY_ANSWERABLE = frozenset({0x0000, 0x000B, 0xFF01})
"""Extensions a TLS 1.2-or-older ServerHello may carry in answer to our hello: server_name (empty),
ec_point_formats, renegotiation_info (we send the renegotiation SCSV)."""
_TLS13_ANSWERABLE = frozenset({_EXT_SUPPORTED_VERSIONS, _EXT_KEY_SHARE})
_HRR_ANSWERABLE = frozenset({_EXT_SUPPORTED_VERSIONS, _EXT_KEY_SHARE, _EXT_COOKIE})


def parse_server_hello(body: bytes) -> ServerHello:
    """Parse a ServerHello body (without the 4-byte handshake header); raise `MalformedAnswer`."""
    if len(body) < 38:
        raise MalformedAnswer(Said(N_("ServerHello too short ({size} bytes)"), size=len(body)))
    legacy = int.from_bytes(body[0:2], "big")
    random = body[2:34]
    sid_len = body[34]
    pos = 35 + sid_len
    if sid_len > 32 or len(body) < pos + 3:
        raise MalformedAnswer(Said(N_("ServerHello session id overruns the message")))
    cipher = int.from_bytes(body[pos:pos + 2], "big")
    compression = body[pos + 2]
    pos += 3  # cipher suite + compression method
    version = legacy
    supported: int | None = None
    seen: list[int] = []
    if len(body) > pos:
        if len(body) < pos + 2:
            raise MalformedAnswer(Said(N_("ServerHello extensions length truncated")))
        end = pos + 2 + int.from_bytes(body[pos:pos + 2], "big")
        if end != len(body):
            raise MalformedAnswer(Said(N_("ServerHello extensions length does not match the message")))
        pos += 2
        while pos < end:
            if pos + 4 > end:
                raise MalformedAnswer(Said(N_("ServerHello extension header truncated")))
            ext_type = int.from_bytes(body[pos:pos + 2], "big")
            ext_len = int.from_bytes(body[pos + 2:pos + 4], "big")
            data = body[pos + 4:pos + 4 + ext_len]
            if len(data) != ext_len:
                raise MalformedAnswer(Said(N_("ServerHello extension overruns the message")))
            if ext_type in seen:
                raise MalformedAnswer(Said(N_("ServerHello carries extension {extension} twice"), extension=ext_type))
            seen.append(ext_type)
            if ext_type == _EXT_SUPPORTED_VERSIONS:
                if ext_len != 2:
                    raise MalformedAnswer(Said(N_("ServerHello supported_versions is not 2 bytes")))
                if supported is not None:
                    raise MalformedAnswer(Said(N_("ServerHello carries supported_versions twice")))
                version = supported = int.from_bytes(data, "big")
            pos += 4 + ext_len
    return ServerHello(version=version, cipher=cipher, retry_request=random == HRR_RANDOM,
                       legacy_version=legacy, supported_versions=supported, compression=compression,
                       session_id=bytes(body[35:35 + sid_len]), extensions=tuple(seen))


def _protocol_breach(probed: str, hello: ServerHello, offered: tuple[int, ...], session_id: bytes) -> Said | None:
    """Why ``hello`` cannot be an answer to our ClientHello for ``probed``; None when it can."""
    wire = WIRE_VERSIONS[probed]
    what = "HelloRetryRequest" if hello.retry_request else "ServerHello"
    if probed == "TLSv1.3":
        if hello.supported_versions is not None:
            if hello.supported_versions != wire:
                return Said(N_("{what} supported_versions names {version}, which was not offered (only TLSv1.3 was)"),
                            what=what, version=version_name(hello.supported_versions))
            if hello.legacy_version != 0x0303:
                return Said(N_("TLS 1.3 {what} with legacy_version {version}, not TLSv1.2"), what=what,
                            version=version_name(hello.legacy_version))
            if hello.session_id != session_id:
                return Said(N_("TLS 1.3 {what} does not echo the ClientHello's legacy_session_id"), what=what)
        elif hello.retry_request:
            return Said(N_("HelloRetryRequest without supported_versions"))
        elif hello.version > 0x0303:
            return Said(N_("ServerHello selected {version} in legacy_version, which was not offered"),
                        version=version_name(hello.version))
    else:
        if hello.supported_versions is not None:
            return Said(N_("{what} carries supported_versions ({version}), which a {probed} ClientHello does not "
                           "offer"), what=what, version=version_name(hello.supported_versions), probed=probed)
        if hello.retry_request:
            return Said(N_("HelloRetryRequest in answer to a {probed} ClientHello"), probed=probed)
        if hello.version > wire:
            return Said(N_("ServerHello selected {version}, newer than the offered {probed}"),
                        version=version_name(hello.version), probed=probed)
    if hello.version < 0x0300:
        return Said(N_("{what} selected {version}, which is not an SSL/TLS version"), what=what,
                    version=version_name(hello.version))
    if hello.cipher not in offered:
        return Said(N_("{what} selected cipher {cipher}, which was not offered"), what=what,
                    cipher=cipher_name(hello.cipher))
    usable = OFFERED.get(version_name(hello.version), ())
    if hello.version != WIRE_VERSIONS[probed] and hello.cipher not in usable:
        return Said(N_("{what} selected {version} with {cipher}, a cipher suite that version does not have"),
                    what=what, version=version_name(hello.version), cipher=cipher_name(hello.cipher))
    if hello.compression != 0:
        return Said(N_("{what} selected compression method {method}, which was not offered"), what=what,
                    method=hello.compression)
    if hello.version == 0x0304:
        allowed = _HRR_ANSWERABLE if hello.retry_request else _TLS13_ANSWERABLE
        if not hello.retry_request and _EXT_KEY_SHARE not in hello.extensions:
            return Said(N_("TLS 1.3 ServerHello without key_share (no PSK was offered, so no handshake can "
                           "follow)"))
    else:
        allowed = _LEGACY_ANSWERABLE if probed != "TLSv1.3" else _LEGACY_ANSWERABLE - {0xFF01}
        if probed == "SSLv3":
            allowed = frozenset({0xFF01})
    unsolicited = [e for e in hello.extensions if e not in allowed]
    if unsolicited:
        return Said(N_("{what} carries extension {extension}, which the ClientHello did not offer"), what=what,
                    extension=unsolicited[0])
    return None


def judge_server_hello(probed: str, hello: ServerHello, offered: tuple[int, ...],
                       session_id: bytes = b"") -> VersionProbe:
    """The verdict a parsed ServerHello gives for the probed version (certificate not yet read).

    ``offered`` is the cipher suites the ClientHello offered, ``session_id`` its
    legacy_session_id (a TLS 1.3 ServerHello must echo it). Only a ServerHello that
    could be a lawful answer decides: the probed version is accepted, an older one
    refused; anything that breaks the protocol is ``error``.
    """
    selected = version_name(hello.version)
    name = cipher_name(hello.cipher)
    what = "HelloRetryRequest" if hello.retry_request else "ServerHello"
    breach = _protocol_breach(probed, hello, offered, session_id)
    if breach is not None:
        return VersionProbe(probed, "error", Said(N_("protocol violation: {breach}"), breach=breach), selected, name)
    if hello.version != WIRE_VERSIONS[probed]:
        return VersionProbe(probed, "refused", Said(N_("{what} selected {version}"), what=what, version=selected),
                            selected, name)
    return VersionProbe(probed, "accepted", Said(N_("{what} selected {version} with {cipher}"), what=what,
                                                 version=selected, cipher=name), selected, name)


def judge_alert(probed: str, code: int) -> VersionProbe:
    """The verdict a fatal alert in answer to our ClientHello gives."""
    text = Said(N_("server sent alert {alert}"), alert=alert_text(code))
    if code in (ALERT_PROTOCOL_VERSION, ALERT_HANDSHAKE_FAILURE):
        if code == ALERT_HANDSHAKE_FAILURE:
            text = Said(N_("server sent alert {alert} although every {probed} cipher suite was offered"),
                        alert=alert_text(code), probed=probed)
        return VersionProbe(probed, "refused", text, alert=code)
    return VersionProbe(probed, "error", text, alert=code)


def describe_garbage(data: bytes) -> str:
    """A one-line description of bytes that are not a TLS record, for an `error` reason."""
    if len(data) >= 3 and data[0] & 0x80 and data[2] == 4:
        return Said(N_("not a TLS answer: an SSLv2 SERVER-HELLO"))
    return Said(N_("not a TLS answer: {received}"), received=repr(bytes(data[:60])))
