"""Judging smtp_tls from saved facts alone (offline): statuses over items and endpoints."""

from __future__ import annotations

import json

from smtp_servers import NOW

from plugins.smtp.judge import evaluate
from scanner.api import EvalContext, RunContext, Target


def ctx(smtp: list[str] | None = None) -> EvalContext:
    return EvalContext(run=RunContext(now=NOW), target=Target("t", sources={"smtp": smtp} if smtp else {}))


def version(verdict: str, reason: str = "") -> dict:
    return {"verdict": verdict, "reason": reason, "selected_version": None, "cipher": None, "alert": None}


def probe(starttls: str = "accepted", **versions: str) -> dict:
    return {"error": None, "starttls": {"offered": starttls != "not_offered", "result": starttls,
                                        "quoted": "454 4.7.0 no" if starttls == "refused" else "220 go"},
            "versions": {k.replace("_", "."): version(v) for k, v in versions.items()}, "connections": []}


def test_accept_and_reject_pass_and_fail() -> None:
    facts = json.loads(json.dumps({"probes": {"a:25": probe(TLSv1_2="accepted", TLSv1_0="refused")}}))
    ok = evaluate({"accept": ["TLSv1.2"], "reject": ["TLSv1.0"]}, facts, ctx(["a:25"]))
    assert ok.status == "pass" and ok.actual == {"a:25": {"starttls": "accepted", "TLSv1.2": "accepted",
                                                          "TLSv1.0": "refused"}}
    bad = evaluate({"accept": ["TLSv1.0"]}, facts, ctx(["a"]))
    assert bad.status == "fail" and bad.fields["version"] == "TLSv1.0"
    assert bad.expected == {"accept": ["TLSv1.0"], "starttls": "required"}


def test_undecided_version_is_error_never_refused() -> None:
    facts = {"probes": {"a:25": probe(TLSv1_0="error")}}
    out = evaluate({"reject": ["TLSv1.0"]}, facts, ctx(["a:25"]))
    assert out.status == "error" and out.actual["a:25"]["TLSv1.0"] == "error"


def test_starttls_refused_fails_whatever_accept_and_reject_say() -> None:
    facts = {"probes": {"a:25": probe("refused", TLSv1_2="error", SSLv3="error")}}
    out = evaluate({"accept": ["TLSv1.2"], "reject": ["SSLv3"]}, facts, ctx(["a:25"]))
    assert out.status == "fail" and out.fields["item"] == "starttls"
    assert "454 4.7.0 no" in out.message
    optional = evaluate({"starttls": "optional", "reject": ["SSLv3"]}, facts, ctx(["a:25"]))
    assert optional.status == "pass"  # no STARTTLS: SSLv3 cannot be negotiated


def test_statuses_over_endpoints_fail_beats_error_beats_pass() -> None:
    facts = {"probes": {"a:25": probe(TLSv1_2="accepted"), "b:25": probe(TLSv1_2="error"),
                        "c:25": probe(TLSv1_2="refused")}}
    params = {"accept": ["TLSv1.2"]}
    assert evaluate(params, facts, ctx(["a", "b"])).status == "error"
    out = evaluate(params, facts, ctx(["a", "b", "c"]))
    assert out.status == "fail" and out.fields["endpoint"] == "c:25"
    assert evaluate(params, facts, ctx(["a"])).status == "pass"


def test_missing_and_malformed_endpoints_are_errors_naming_them() -> None:
    out = evaluate({"endpoints": ["x:25", "bad:port"], "accept": ["TLSv1.2"]}, {"probes": {}}, ctx())
    assert out.status == "error"
    assert "x:25: endpoint None (expected probed): endpoint was not probed" in out.message
    assert "bad:port" in out.message and "port 'port'" in out.message
    assert evaluate({"accept": ["TLSv1.2"]}, {"probes": {}}, ctx()).status == "error"  # no endpoint at all


def test_version_not_in_facts_is_an_error() -> None:
    out = evaluate({"reject": ["SSLv3"]}, {"probes": {"a:25": probe(TLSv1_2="accepted")}}, ctx(["a"]))
    assert out.status == "error" and "SSLv3 was not probed" in out.message


def test_certificate_error_makes_each_certificate_item_error() -> None:
    p = probe(TLSv1_2="accepted") | {"certificate": {"error": "no certificate was received"}}
    out = evaluate({"certificate": {"min_key_bits": 2048, "match_hostname": True}}, {"probes": {"a:25": p}},
                   ctx(["a"]))
    assert out.status == "error"
    assert [i["item"] for i in out.evidence[0]["items"]][1:] == ["certificate.min_key_bits",
                                                                 "certificate.match_hostname"]


def test_servername_selects_the_probe_and_the_name_to_match() -> None:
    cert = {"has_san": True, "san_dns": ["mail.test"], "san_ip": [], "key_type": "RSA", "key_bits": 2048,
            "not_after": "2099-01-01T00:00:00Z"}
    facts = {"probes": {"192.0.2.1:25 servername=mail.test": probe(TLSv1_2="accepted") | {"certificate": cert}}}
    out = evaluate({"endpoints": ["192.0.2.1"], "servername": "mail.test",
                    "certificate": {"match_hostname": True}}, facts, ctx())
    assert out.status == "pass", out.message
    assert out.fields["servername"] == "mail.test"
