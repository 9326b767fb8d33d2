"""smtp_tls against pure-Python TLS (tlslite-ng) behind STARTTLS: what OpenSSL 3 cannot serve."""

from __future__ import annotations

import pytest
from smtp_servers import run_check, smtp_preamble
from tls_servers import Cert, make_cert, serve, tlslite_handler

pytestmark = pytest.mark.timeout(30)
ALL = ["SSLv3", "TLSv1.0", "TLSv1.1", "TLSv1.2", "TLSv1.3"]


@pytest.fixture(scope="module")
def cert() -> Cert:
    return make_cert("legacy.test")


def test_sslv3_only_server_behind_starttls(cert: Cert) -> None:
    handler = smtp_preamble(tlslite_handler(cert, minVersion=(3, 0), maxVersion=(3, 0)))
    with serve(handler) as (_, port):
        endpoint = f"127.0.0.1:{port}"
        facts, outcome = run_check({"endpoints": [endpoint], "servername": "legacy.test",
                                    "accept": ["TLSv1.2"], "reject": ["SSLv3", "TLSv1.0", "TLSv1.1"],
                                    "certificate": {"match_hostname": True}, "timeout": 3})
    probe = facts["probes"][f"{endpoint} servername=legacy.test"]
    assert {v: r["verdict"] for v, r in probe["versions"].items()} == {
        "SSLv3": "accepted", "TLSv1.0": "refused", "TLSv1.1": "refused", "TLSv1.2": "refused"}
    assert probe["versions"]["SSLv3"]["selected_version"] == "SSLv3"
    assert probe["versions"]["TLSv1.2"]["reason"] == "ServerHello selected SSLv3"
    assert probe["certificate"]["san_dns"] == ["legacy.test"]  # from the SSLv3 handshake
    assert outcome.status == "fail"
    assert outcome.actual[endpoint] == {"starttls": "accepted", "TLSv1.2": "refused", "SSLv3": "accepted",
                                        "TLSv1.0": "refused", "TLSv1.1": "refused",
                                        "certificate.match_hostname": "match"}


def test_3des_only_server_behind_starttls(cert: Cert) -> None:
    handler = smtp_preamble(tlslite_handler(cert, minVersion=(3, 1), maxVersion=(3, 3), cipherNames=["3des"],
                                            keyExchangeNames=["rsa"], macNames=["sha"]))
    with serve(handler) as (_, port):
        endpoint = f"127.0.0.1:{port}"
        facts, outcome = run_check({"endpoints": [endpoint], "accept": ["TLSv1.2"],
                                    "reject": ["SSLv3", "TLSv1.3"], "timeout": 3})
    probe = facts["probes"][endpoint]
    assert {v: r["verdict"] for v, r in probe["versions"].items()} == {
        "SSLv3": "refused", "TLSv1.2": "accepted", "TLSv1.3": "refused"}
    assert probe["versions"]["TLSv1.2"]["cipher"] == "TLS_RSA_WITH_3DES_EDE_CBC_SHA"
    assert outcome.status == "pass", outcome.message
    assert "TLS_RSA_WITH_3DES_EDE_CBC_SHA" in outcome.evidence[0]["items"][1]["detail"]
