"""Judging smtp_tls from saved facts alone (offline): statuses over items and endpoints."""

from __future__ import annotations

import json

import pytest
from smtp_servers import NOW

from plugins.smtp.judge import evaluate
from scanner.api import EvalContext, RunContext, Target


def ctx(smtp: list[str] | None = None) -> EvalContext:
    return EvalContext(run=RunContext(now=NOW), target=Target("t", sources={"smtp": smtp} if smtp else {}))


def version(verdict: str, reason: str = "") -> dict:
    reason = reason or {"accepted": "ServerHello selected it", "refused": "server sent alert protocol_version(70)",
                        "error": "no answer before deadline"}[verdict]
    return {"verdict": verdict, "reason": reason, "selected_version": None, "cipher": None, "alert": None}


STARTTLS_REPLIES = {"accepted": (220, "2.0.0 go"), "refused": (554, "5.7.0 no"), "temporary": (454, "4.7.0 no")}


def probe(starttls: str = "accepted", **versions: str) -> dict:
    """Probe facts as the collector writes them: STARTTLS with the server's reply, when it gave one."""
    st: dict = {"offered": starttls != "not_offered", "result": starttls}
    if starttls in STARTTLS_REPLIES:
        code, text = STARTTLS_REPLIES[starttls]
        st |= {"reply": {"code": code, "text": text}, "quoted": f"{code} {text}"}
    elif starttls == "not_offered":
        st["quoted"] = "250 mail.test | 250 SIZE 1000"
    return {"error": None, "starttls": st,
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


@pytest.mark.parametrize(("answer", "status"), [("refused", "fail"), ("temporary", "error")])
def test_starttls_refused_fails_whatever_accept_and_reject_say(answer: str, status: str) -> None:
    """A 5xx fails ``required``; a temporary 4xx is error (a fail would let ``not:`` make it a pass)."""
    facts = {"probes": {"a:25": probe(answer, TLSv1_2="error", SSLv3="error")}}
    out = evaluate({"accept": ["TLSv1.2"], "reject": ["SSLv3"]}, facts, ctx(["a:25"]))
    assert out.status == status and out.fields["item"] == "starttls"
    assert STARTTLS_REPLIES[answer][1] in out.message


def test_permanent_starttls_refusal_decides_reject_but_a_temporary_one_decides_nothing() -> None:
    """Finding 7: with ``starttls: optional`` a 454 used to make every rejected version pass."""
    params = {"starttls": "optional", "reject": ["SSLv3"]}
    permanent = evaluate(params, {"probes": {"a:25": probe("refused", SSLv3="error")}}, ctx(["a:25"]))
    assert permanent.status == "pass"  # 554: no STARTTLS ever, so SSLv3 cannot be negotiated
    assert permanent.examined == {"a:25": {"SSLv3": "554 5.7.0 no"}}
    temporary = evaluate(params, {"probes": {"a:25": probe("temporary", SSLv3="error")}}, ctx(["a:25"]))
    assert temporary.status == "error" and temporary.actual["a:25"]["SSLv3"] == "error"
    # facts saved before replies were classed said "refused" for a 454: the reply code decides
    old = probe("temporary", SSLv3="error")
    old["starttls"]["result"] = "refused"
    assert evaluate(params, {"probes": {"a:25": old}}, ctx(["a:25"])).status == "error"


def test_every_item_that_passes_or_fails_names_its_proof() -> None:
    facts = {"probes": {"a:25": probe(TLSv1_2="accepted", TLSv1_0="refused", SSLv3="error")}}
    out = evaluate({"accept": ["TLSv1.2"], "reject": ["TLSv1.0"]}, facts, ctx(["a:25"]))
    assert out.status == "pass"
    assert out.examined == {"a:25": {"starttls": "220 2.0.0 go", "TLSv1.2": "accepted: ServerHello selected it",
                                     "TLSv1.0": "refused: server sent alert protocol_version(70)"}}
    # a decided-looking label with nothing behind it (no reply, no reason) is not a pass
    bare = probe(TLSv1_2="accepted")
    bare["versions"]["TLSv1.2"]["reason"] = ""
    del bare["starttls"]["reply"]
    out = evaluate({"accept": ["TLSv1.2"]}, {"probes": {"a:25": bare}}, ctx(["a:25"]))
    assert out.status == "error" and out.examined == {"a:25": {}}
    assert "pass without an observation to rest on" in out.message


def test_forbidden_needs_an_ehlo_that_said_what_it_offers() -> None:
    seen = evaluate({"starttls": "forbidden"}, {"probes": {"a:25": probe("not_offered")}}, ctx(["a:25"]))
    assert seen.status == "pass" and seen.examined == {"a:25": {"starttls": "250 mail.test | 250 SIZE 1000"}}
    unknown = probe("not_offered")
    unknown["starttls"] = {"offered": None, "result": "error", "reason": "EHLO answered '421 4.3.2 busy'"}
    out = evaluate({"starttls": "forbidden"}, {"probes": {"a:25": unknown}}, ctx(["a:25"]))
    assert out.status == "error" and "421 4.3.2 busy" in out.message


@pytest.mark.parametrize(("code", "text", "status"), [
    (250, "2.1.0 Ok", "fail"),
    (530, "5.7.0 Must issue a STARTTLS command first", "pass"),
    (451, "5.7.3 Must issue a STARTTLS command first", "pass"),
    (550, "5.7.1 Client host rejected: access denied", "pass"),
    (554, "Please use STARTTLS first", "pass"),
    (501, "5.1.7 Bad sender address syntax", "error"),
    (550, "5.1.0 Sender rejected", "error"),
    (421, "4.3.2 Service not available", "error"),
    (450, "4.2.0 Mailbox busy", "error"),
    (452, "4.3.1 Insufficient system storage", "error"),
    (500, "5.5.2 Syntax error", "error"),
    (354, "go ahead", "error"),
])
def test_plaintext_mail_refused_only_for_tls_or_policy(code: int, text: str, status: str) -> None:
    """Finding 8: any 4xx/5xx to MAIL FROM used to count as "plaintext refused"."""
    p = probe() | {"plaintext_mail": {"result": "refused", "code": code, "text": text}}
    out = evaluate({"plaintext_mail": "refused"}, {"probes": {"a:25": p}}, ctx(["a:25"]))
    item = out.evidence[0]["items"][1]
    assert item["item"] == "plaintext_mail" and item["status"] == status, item


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
            "not_before": "2000-01-01T00:00:00Z", "not_after": "2099-01-01T00:00:00Z", "sha256": "ab" * 32}
    facts = {"probes": {"192.0.2.1:25 servername=mail.test": probe(TLSv1_2="accepted") | {"certificate": cert}}}
    out = evaluate({"endpoints": ["192.0.2.1"], "servername": "mail.test",
                    "certificate": {"match_hostname": True}}, facts, ctx())
    assert out.status == "pass", out.message
    assert out.fields["servername"] == "mail.test"


def test_certificate_not_yet_valid_fails_min_days_valid() -> None:
    """Finding 10: a certificate valid only from next year used to pass on its far not_after."""
    cert = {"has_san": True, "san_dns": ["a"], "san_ip": [], "key_type": "RSA", "key_bits": 2048,
            "not_before": "2099-01-01T00:00:00Z", "not_after": "2100-01-01T00:00:00Z", "sha256": "cd" * 32}
    p = probe(TLSv1_2="accepted") | {"certificate": cert}
    out = evaluate({"certificate": {"min_days_valid": 14}}, {"probes": {"a:25": p}}, ctx(["a"]))
    assert out.status == "fail" and out.actual["a:25"]["certificate.min_days_valid"] == "not yet valid"
    assert "not valid before 2099-01-01T00:00:00Z" in out.message
    unreadable = probe(TLSv1_2="accepted") | {"certificate": {k: v for k, v in cert.items() if k != "not_before"}}
    assert evaluate({"certificate": {"min_days_valid": 14}}, {"probes": {"a:25": unreadable}},
                    ctx(["a"])).status == "error"
