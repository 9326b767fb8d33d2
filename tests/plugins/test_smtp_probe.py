"""smtp_tls against real aiosmtpd STARTTLS servers on 127.0.0.1: versions, plaintext MAIL, certificates."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import socket
from pathlib import Path

import pytest
from smtp_servers import NOW, aiosmtpd_server, make_cert, run_check, tls_context

from plugins.smtp.endpoint import Endpoint
from plugins.smtp.probe import Plan, probe_many

pytestmark = pytest.mark.timeout(30)
ALL = ["SSLv3", "TLSv1.0", "TLSv1.1", "TLSv1.2", "TLSv1.3"]


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    d: Path = tmp_path_factory.mktemp("certs")
    return {
        "ok": make_cert(d, "ok", ["mail.test", "*.mx.test"]),
        "expired": make_cert(d, "expired", ["mail.test"], days=(-400, -3)),
        "rsa1024": make_cert(d, "rsa1024", ["mail.test"], key="rsa1024"),
        "p256": make_cert(d, "p256", ["mail.test"], key="p256"),
        "wrong": make_cert(d, "wrong", ["other.example"]),
    }


def verdicts(facts: dict) -> dict[str, str]:
    [probe] = facts["probes"].values()
    return {v: r["verdict"] for v, r in probe["versions"].items()}


@pytest.mark.parametrize("version", ["TLSv1.0", "TLSv1.1", "TLSv1.2", "TLSv1.3"])
def test_server_allowing_exactly_one_version(certs: dict, version: str) -> None:
    server = aiosmtpd_server(tls_context(certs["ok"], [version]))
    try:
        others = [v for v in ALL if v != version]
        facts, outcome = run_check({"endpoints": [server.endpoint], "accept": [version], "reject": others,
                                    "timeout": 5})
    finally:
        server.stop()
    assert verdicts(facts) == {v: ("accepted" if v == version else "refused") for v in ALL}
    assert outcome.status == "pass", outcome.message
    assert outcome.actual[server.endpoint][version] == "accepted"
    assert outcome.actual[server.endpoint]["starttls"] == "accepted"
    json.dumps(facts)  # facts are plain JSON


def test_modern_server_fails_a_legacy_accept_rule_and_records_evidence(certs: dict) -> None:
    server = aiosmtpd_server(tls_context(certs["ok"], ["TLSv1.2", "TLSv1.3"]))
    try:
        _, outcome = run_check({"endpoints": [server.endpoint], "accept": ["TLSv1.0", "TLSv1.2"],
                                    "reject": ["SSLv3", "TLSv1.1"]})
    finally:
        server.stop()
    assert outcome.status == "fail"
    assert outcome.fields["item"] == "TLSv1.0" and outcome.fields["version"] == "TLSv1.0"
    assert outcome.fields["endpoint"] == server.endpoint
    assert f"{server.endpoint}: TLSv1.0 refused (expected accepted)" in outcome.message
    [ev] = outcome.evidence
    conns = {c["purpose"]: c for c in ev["transcript"]}
    assert conns["TLSv1.2"]["tls"]["selected_version"] == "TLSv1.2" and conns["TLSv1.2"]["tls"]["cipher"]
    assert [e[1] for e in conns["TLSv1.2"]["events"]] == ["<", ">", "<", ">", "<"]
    assert conns["TLSv1.2"]["events"][3][2] == "STARTTLS"


def test_legacy_server_tls10_to_12(certs: dict) -> None:
    server = aiosmtpd_server(tls_context(certs["ok"], ["TLSv1.0", "TLSv1.1", "TLSv1.2"]))
    try:
        facts, outcome = run_check({"endpoints": [server.endpoint], "accept": ["TLSv1.2"],
                                    "reject": ["SSLv3", "TLSv1.0", "TLSv1.1", "TLSv1.3"]})
    finally:
        server.stop()
    assert verdicts(facts) == {"SSLv3": "refused", "TLSv1.0": "accepted", "TLSv1.1": "accepted",
                               "TLSv1.2": "accepted", "TLSv1.3": "refused"}
    assert outcome.status == "fail"
    assert outcome.actual[server.endpoint]["TLSv1.0"] == "accepted"


def test_no_starttls_fails_required_and_tries_no_version() -> None:
    server = aiosmtpd_server(None)
    try:
        facts, outcome = run_check({"endpoints": [server.endpoint], "accept": ["TLSv1.2"], "reject": ["SSLv3"]})
        _, optional = run_check({"endpoints": [server.endpoint], "starttls": "forbidden"})
    finally:
        server.stop()
    [probe] = facts["probes"].values()
    assert probe["starttls"]["result"] == "not_offered"
    assert [c["purpose"] for c in probe["connections"]] == ["TLSv1.2"]  # nothing more was tried
    assert outcome.status == "fail"
    assert outcome.actual[server.endpoint] == {"starttls": "not_offered", "TLSv1.2": "no STARTTLS",
                                               "SSLv3": "no STARTTLS"}
    assert optional.status == "pass"


@pytest.mark.parametrize(("kind", "quoted"), [
    ("451", "451 5.7.3 Must issue a STARTTLS command first"),
    ("530", "530 Must issue a STARTTLS command first"),
    ("open", None),
])
def test_plaintext_mail(certs: dict, kind: str, quoted: str | None) -> None:
    server = aiosmtpd_server(tls_context(certs["ok"], ["TLSv1.2"]), refuse_plain_mail=kind == "451",
                             require_starttls=kind == "530")
    try:
        facts, outcome = run_check({"endpoints": [server.endpoint], "plaintext_mail": "refused",
                                    "accept": ["TLSv1.2"]})
    finally:
        server.stop()
    [probe] = facts["probes"].values()
    plain = next(c for c in probe["connections"] if c["purpose"] == "plaintext_mail")
    sent = [e[2] for e in plain["events"] if e[1] == ">"]
    assert sent == ["EHLO [127.0.0.1]", "MAIL FROM:<>", "RSET", "QUIT"]  # never RCPT or DATA
    if quoted:
        assert outcome.status == "pass", outcome.message
        assert probe["plaintext_mail"]["quoted"] == quoted
        assert outcome.evidence[0]["items"][2]["detail"] == quoted
    else:
        assert outcome.status == "fail"
        assert outcome.actual[server.endpoint]["plaintext_mail"] == "accepted"


CERT_RULE = {"min_days_valid": 30, "min_key_bits": 2048, "match_hostname": True}


@pytest.mark.parametrize(("cert", "version", "status", "failing"), [
    ("ok", "TLSv1.2", "pass", None),
    ("ok", "TLSv1.3", "pass", None),  # TLS 1.3-only: the certificate comes through Python's ssl
    ("expired", "TLSv1.2", "fail", "certificate.min_days_valid"),
    ("rsa1024", "TLSv1.2", "fail", "certificate.min_key_bits"),
    ("p256", "TLSv1.2", "pass", None),
    ("wrong", "TLSv1.2", "fail", "certificate.match_hostname"),
])
def test_certificate_checks(certs: dict, cert: str, version: str, status: str, failing: str | None) -> None:
    server = aiosmtpd_server(tls_context(certs[cert], [version]))
    try:
        facts, outcome = run_check({"endpoints": [server.endpoint], "servername": "mail.test",
                                    "certificate": CERT_RULE, "accept": [version]})
    finally:
        server.stop()
    [probe] = facts["probes"].values()
    assert probe["certificate"]["sha256"] == __import__("hashlib").sha256(certs[cert].der).hexdigest()
    assert outcome.status == status, outcome.message
    items = {i["item"]: i for i in outcome.evidence[0]["items"]}
    if failing:
        assert outcome.fields["item"] == failing and items[failing]["status"] == "fail"
        assert failing in outcome.message
    if cert == "p256":
        assert items["certificate.min_key_bits"]["observed"] == 3072
    if cert == "rsa1024":
        assert items["certificate.min_key_bits"]["observed"] == 1024
    if version == "TLSv1.3":
        assert any(c["purpose"] == "certificate" for c in probe["connections"])


def test_certificate_days_judged_against_run_now(certs: dict) -> None:
    server = aiosmtpd_server(tls_context(certs["ok"], ["TLSv1.2"]))
    try:
        _, soon = run_check({"endpoints": [server.endpoint], "certificate": {"min_days_valid": 30}},
                            now=NOW + dt.timedelta(days=350))
    finally:
        server.stop()
    assert soon.status == "fail" and "certificate.min_days_valid" in soon.message


def test_ipv6_endpoint(certs: dict) -> None:
    server = aiosmtpd_server(tls_context(certs["ok"], ["TLSv1.2"]), host="::1")
    try:
        facts, outcome = run_check({"endpoints": [server.endpoint], "accept": ["TLSv1.2"]})
    finally:
        server.stop()
    assert server.endpoint.startswith("[::1]:")
    assert outcome.status == "pass", outcome.message
    assert facts["probes"][server.endpoint]["address"] == "::1"


def test_every_address_of_a_name_is_probed_and_one_that_refuses_tcp_is_error(certs: dict) -> None:
    server = aiosmtpd_server(tls_context(certs["ok"], ["TLSv1.2"]))
    with socket.socket() as dead:  # 127.0.0.2:port - nothing listens there
        dead.bind(("127.0.0.2", server.port))

    async def two_addresses(endpoint: Endpoint, deadline: float) -> list[tuple[int, str]]:
        return [(socket.AF_INET, "127.0.0.2"), (socket.AF_INET, "127.0.0.1")]

    try:
        plan = Plan(Endpoint("mx.test", server.port), versions={"TLSv1.2", "SSLv3"}, timeout=5)
        [probe] = asyncio.run(probe_many([plan], 8, resolver=two_addresses))
    finally:
        server.stop()
    assert probe["addresses"] == ["127.0.0.2", "127.0.0.1"]
    dead_part, live = probe["parts"]
    assert dead_part["address"] == "127.0.0.2" and "refused" in dead_part["error"].lower()
    assert {v["verdict"] for v in dead_part["versions"].values()} == {"error"}
    assert live["address"] == "127.0.0.1" and live["error"] is None
    assert live["versions"]["TLSv1.2"]["verdict"] == "accepted"
    assert live["versions"]["SSLv3"]["verdict"] == "refused"
    assert live["sni"] == "mx.test"
    assert probe["answered"] and "127.0.0.2" in probe["error"]


def test_endpoint_read_by_several_rules_is_probed_once_with_the_largest_timeout(certs: dict) -> None:
    from plugins.smtp import register_check_types
    from scanner.api import CollectRequest, RunContext, Target

    server = aiosmtpd_server(tls_context(certs["ok"], ["TLSv1.2"]))
    collector = register_check_types()[0].collector
    rules = [{"accept": ["TLSv1.2"], "timeout": 3}, {"reject": ["TLSv1.0"], "timeout": 7}]
    try:
        out = dict(collector.collect([CollectRequest(Target("a", sources={"smtp": [server.endpoint]}), rules),
                                      CollectRequest(Target("b", sources={"smtp": [server.endpoint]}),
                                                     rules[:1])], RunContext(now=NOW)))
    finally:
        server.stop()
    probe_a, probe_b = out["a"]["probes"][server.endpoint], out["b"]["probes"][server.endpoint]
    assert probe_a is probe_b  # one probe shared by both targets
    assert probe_a["timeout"] == 7
    assert sorted(c["purpose"] for c in probe_a["connections"]) == ["TLSv1.0", "TLSv1.2"]


def test_a_later_454_does_not_rewrite_the_first_starttls_answer(certs: dict) -> None:
    """A server that rate-limits STARTTLS after the first connection: STARTTLS stays 'accepted'
    (what it first said), TLS 1.2 is judged from that connection, the versions whose connection
    got 454 are 'error' quoting it, never 'refused' (their support was not observed)."""
    import threading

    from aiosmtpd.smtp import SMTP, syntax
    from smtp_servers import ServerThread

    lock = threading.Lock()
    answered = [0]

    class RateLimited(SMTP):
        @syntax("STARTTLS", when="tls_context")
        async def smtp_STARTTLS(self, arg: str) -> None:
            with lock:
                answered[0] += 1
                first = answered[0] == 1
            if not first:
                await self.push("454 4.7.0 TLS not available due to a temporary reason")
                return
            await super().smtp_STARTTLS(arg)

    context = tls_context(certs["ok"], ["TLSv1.2", "TLSv1.3"])
    server = ServerThread(lambda: RateLimited(object(), hostname="mail.test", tls_context=context))
    plan = Plan(Endpoint("127.0.0.1", server.port), versions=set(ALL), timeout=5.0)
    try:
        [facts] = asyncio.run(probe_many([plan], 8))
    finally:
        server.stop()
    assert facts["starttls"]["result"] == "accepted" and facts["starttls"]["reply"]["code"] == 220
    versions = facts["versions"]
    assert versions["TLSv1.2"]["verdict"] == "accepted"
    for version in ("SSLv3", "TLSv1.0", "TLSv1.1", "TLSv1.3"):
        assert versions[version]["verdict"] == "error", version
        assert "454 4.7.0 TLS not available" in versions[version]["reason"], versions[version]
    assert answered[0] == 5
