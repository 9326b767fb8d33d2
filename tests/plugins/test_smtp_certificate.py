"""Certificate facts (cryptography), RSA-equivalent strength and RFC 6125 name matching."""

from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path

import pytest
from smtp_servers import NOW, make_cert

from plugins.smtp.certificate import certificate_facts, days_left, hostname_matches, rsa_equivalent_bits


def test_facts_of_a_made_certificate(tmp_path: Path) -> None:
    cert = make_cert(tmp_path, "c", ["mail.test", "*.mx.test"], key="p256", days=(-2, 90), ips=("192.0.2.1",))
    facts = certificate_facts(cert.der)
    assert facts["subject"] == facts["issuer"] == "CN=mail.test"
    assert facts["san_dns"] == ["mail.test", "*.mx.test"] and facts["san_ip"] == ["192.0.2.1"]
    assert (facts["key_type"], facts["key_bits"], facts["curve"]) == ("EC", 256, "secp256r1")
    assert facts["rsa_equivalent_bits"] == 3072
    assert facts["signature_algorithm"] == "ecdsa-with-SHA256"
    assert facts["self_signed"] is True
    assert facts["sha256"] == hashlib.sha256(cert.der).hexdigest()
    assert facts["not_after"] == (NOW + dt.timedelta(days=90)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert round(days_left(facts, NOW)) == 90


def test_garbage_der_is_an_error_fact() -> None:
    assert "could not be parsed" in certificate_facts(b"\x30\x03junk")["error"]


@pytest.mark.parametrize(("facts", "bits"), [
    ({"key_type": "RSA", "key_bits": 1024}, 1024),
    ({"key_type": "RSA", "key_bits": 4096}, 4096),
    ({"key_type": "EC", "key_bits": 256, "curve": "secp256r1"}, 3072),
    ({"key_type": "EC", "key_bits": 384, "curve": "secp384r1"}, 7680),
    ({"key_type": "EC", "key_bits": 521, "curve": "secp521r1"}, 15360),
    ({"key_type": "EC", "key_bits": 224, "curve": "secp224r1"}, 2048),
    ({"key_type": "Ed25519", "key_bits": 256, "curve": "ed25519"}, 3072),
])
def test_rsa_equivalent(facts: dict, bits: int) -> None:
    assert rsa_equivalent_bits(facts) == bits


SAN = {"has_san": True, "san_dns": ["mail.contoso.com", "*.mx.contoso.com"], "san_ip": ["192.0.2.1"],
       "common_names": ["legacy.contoso.com"]}


@pytest.mark.parametrize(("name", "ok"), [
    ("mail.contoso.com", True),
    ("MAIL.Contoso.COM.", True),
    ("a.mx.contoso.com", True),
    ("mx.contoso.com", False),          # * never matches an empty label
    ("a.b.mx.contoso.com", False),      # * covers one label only
    ("legacy.contoso.com", False),      # CN is ignored when SANs exist
    ("192.0.2.1", True),
    ("192.0.2.2", False),
    ("xn--bcher-kva.mx.contoso.com", False),
])
def test_hostname_matching(name: str, ok: bool) -> None:
    assert hostname_matches(SAN, name) is ok


@pytest.mark.parametrize(("pattern", "name", "ok"), [
    ("*.com", "contoso.com", False),            # no wildcard over a public suffix-like label
    ("mail.*.com", "mail.contoso.com", False),  # wildcards only in the left-most label
    ("m*.contoso.com", "mail.contoso.com", False),
])
def test_wildcard_rules(pattern: str, name: str, ok: bool) -> None:
    assert hostname_matches({"has_san": True, "san_dns": [pattern], "san_ip": []}, name) is ok


def test_cn_used_only_without_san() -> None:
    assert hostname_matches({"has_san": False, "common_names": ["mail.test"]}, "mail.test")
    assert not hostname_matches({"has_san": True, "san_dns": [], "common_names": ["mail.test"]}, "mail.test")
