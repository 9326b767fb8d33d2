"""Certificate facts: what a server certificate says, as plain JSON, read with ``cryptography``.

:func:`certificate_facts` turns a DER certificate into the facts the judge
needs offline (names, validity, key, signature, fingerprint);
:func:`rsa_equivalent_bits` rates a key by NIST SP 800-57 comparable strength
(EC P-256 counts as RSA 3072); :func:`hostname_matches` is RFC 6125 name
matching (a ``*`` only as the whole left-most label).
"""

from __future__ import annotations

import hashlib
import ipaddress
from datetime import UTC, datetime
from typing import Any

from plugins.smtp.texts import Said
from scanner.i18n import N_

#: NIST SP 800-57 Part 1 Table 2: security bits -> RSA modulus of comparable strength.
_RSA_FOR_SECURITY = ((256, 15360), (192, 7680), (128, 3072), (112, 2048), (80, 1024))
_EC_SECURITY = {"secp256r1": 128, "secp384r1": 192, "secp521r1": 256, "ed25519": 128, "ed448": 224}


def _iso(ts: datetime) -> str:
    return ts.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def certificate_facts(der: bytes) -> dict[str, Any]:
    """Facts of one DER certificate; ``{"error": ...}`` when it cannot be parsed."""
    from cryptography import x509
    from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed448, ed25519, rsa
    from cryptography.x509.oid import NameOID

    try:
        cert = x509.load_der_x509_certificate(der)
    except ValueError as exc:
        return {"error": Said(N_("certificate could not be parsed: {error}"), error=str(exc)), "size": len(der)}
    key = cert.public_key()
    key_type, bits, curve = "unknown", 0, None
    if isinstance(key, rsa.RSAPublicKey):
        key_type, bits = "RSA", key.key_size
    elif isinstance(key, ec.EllipticCurvePublicKey):
        key_type, bits, curve = "EC", key.curve.key_size, key.curve.name
    elif isinstance(key, ed25519.Ed25519PublicKey):
        key_type, bits, curve = "Ed25519", 256, "ed25519"
    elif isinstance(key, ed448.Ed448PublicKey):
        key_type, bits, curve = "Ed448", 456, "ed448"
    elif isinstance(key, dsa.DSAPublicKey):
        key_type, bits = "DSA", key.key_size
    dns: list[str] = []
    ips: list[str] = []
    has_san = True
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        dns = [str(n) for n in san.get_values_for_type(x509.DNSName)]
        ips = [str(a) for a in san.get_values_for_type(x509.IPAddress)]
    except x509.ExtensionNotFound:
        has_san = False
    common_names = [str(a.value) for a in cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)]
    self_signed = cert.issuer == cert.subject
    if self_signed:
        try:
            cert.verify_directly_issued_by(cert)
        except Exception:  # any failure to verify means "not self-signed"
            self_signed = False
    try:
        sig_alg = cert.signature_algorithm_oid._name
    except AttributeError:
        sig_alg = cert.signature_algorithm_oid.dotted_string
    facts: dict[str, Any] = {
        "subject": cert.subject.rfc4514_string(),
        "common_names": common_names,
        "san_dns": dns,
        "san_ip": ips,
        "has_san": has_san,
        "issuer": cert.issuer.rfc4514_string(),
        "serial": format(cert.serial_number, "x"),
        "not_before": _iso(cert.not_valid_before_utc),
        "not_after": _iso(cert.not_valid_after_utc),
        "key_type": key_type,
        "key_bits": bits,
        "curve": curve,
        "signature_algorithm": sig_alg,
        "self_signed": self_signed,
        "sha256": hashlib.sha256(der).hexdigest(),
    }
    facts["rsa_equivalent_bits"] = rsa_equivalent_bits(facts)
    return facts


def rsa_equivalent_bits(facts: dict[str, Any]) -> int:
    """RSA modulus of comparable strength (NIST SP 800-57): RSA/DSA n -> n, P-256 -> 3072, P-384 -> 7680."""
    key_type, bits, curve = facts.get("key_type"), int(facts.get("key_bits") or 0), facts.get("curve")
    if key_type in ("RSA", "DSA"):
        return bits
    if key_type in ("EC", "Ed25519", "Ed448"):
        security = _EC_SECURITY.get(str(curve), bits // 2)
        for floor, rsa_bits in _RSA_FOR_SECURITY:
            if security >= floor:
                return rsa_bits
        return 0
    return 0


def _match_label_pattern(pattern: str, name: str) -> bool:
    p_labels, n_labels = pattern.split("."), name.split(".")
    if len(p_labels) != len(n_labels) or not name:
        return False
    first, *rest = p_labels
    if any("*" in label for label in rest) or rest != n_labels[1:]:
        return False
    if first == "*":
        # A wildcard needs at least two labels after it (no "*.com") and never matches an IDN A-label.
        return len(rest) >= 2 and not n_labels[0].startswith("xn--") and bool(n_labels[0])
    return "*" not in first and first == n_labels[0]


def hostname_matches(facts: dict[str, Any], name: str) -> bool:
    """RFC 6125: does the certificate name ``name`` (a DNS name or an IP address)?

    DNS names are matched against the DNS SANs, case-insensitively, a ``*``
    allowed only as the whole left-most label; the subject CN is used only
    when the certificate has no SAN extension at all. An IP address matches
    only an IP SAN.
    """
    target = name.strip().rstrip(".").lower()
    try:
        ip = ipaddress.ip_address(target.strip("[]"))
    except ValueError:
        ip = None
    if ip is not None:
        return any(ipaddress.ip_address(a) == ip for a in facts.get("san_ip", []))
    patterns = facts.get("san_dns", []) if facts.get("has_san") else facts.get("common_names", [])
    return any(_match_label_pattern(str(p).rstrip(".").lower(), target) for p in patterns)


def _instant(text: object) -> datetime:
    return datetime.strptime(str(text), "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)


def days_left(facts: dict[str, Any], now: datetime) -> float:
    """Days from ``now`` until ``not_after`` (negative once expired); ValueError/KeyError when unreadable."""
    return (_instant(facts["not_after"]) - now).total_seconds() / 86400


def not_yet_valid(facts: dict[str, Any], now: datetime) -> bool:
    """Whether ``now`` is before ``not_before``: the certificate is not valid yet."""
    return _instant(facts["not_before"]) > now
