"""``--lang es`` reads the ``smtp_tls`` messages in Spanish: those the judge makes and those the probe made
before the language was known (kept as templates in the facts), while the server's words stay as they were.

Real servers only: aiosmtpd with STARTTLS on 127.0.0.1, a port nobody listens on.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from smtp_servers import NOW, ServerThread, aiosmtpd_server, closed_port, make_cert, tls_context

from plugins.smtp.texts import Said
from scanner.api import CollectRequest, EvalContext, RunContext, Target
from tests.conftest import run_cli

pytestmark = pytest.mark.timeout(120)

#: English words of the smtp_tls messages: none may be left in a Spanish one.
ENGLISH = re.compile(r"\b(expected|accepted|refused|selected|cannot|connect|connection|not_after|item\(s\)|"
                     r"pass on|endpoint\(s\)|without|nothing|refusal|offered)\b")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerThread]:
    """aiosmtpd with STARTTLS (TLS 1.2 only) that takes plaintext MAIL, and a 90-day certificate."""
    cert = make_cert(tmp_path_factory.mktemp("i18n"), "mail", ["mail.test"], days=(-1, 90))
    thread = aiosmtpd_server(tls_context(cert, ["TLSv1.2"]))
    yield thread
    thread.stop()


def _policy(endpoint: str, dead: str) -> str:
    return f"""apiVersion: policyscan/v1
kind: Policy
metadata: {{id: smtp-i18n, title: SMTP in Spanish, version: 1.0.0}}
rules:
  - id: SMTP-FAIL
    title: Old TLS refused, plaintext refused, a long-lived certificate
    severity: high
    check:
      smtp_tls:
        servername: mail.test
        reject: [TLSv1.2]
        plaintext_mail: refused
        certificate: {{min_days_valid: 400}}
        timeout: 5
  - id: SMTP-ERROR
    title: A server nobody answers for
    severity: high
    check:
      smtp_tls:
        endpoints: ['{dead}']
        accept: [TLSv1.2]
        timeout: 5
  - id: SMTP-PASS
    title: TLS 1.2 offered
    severity: low
    check:
      smtp_tls:
        servername: mail.test
        accept: [TLSv1.2]
        timeout: 5
"""


def test_a_spanish_scan_reads_spanish_fail_and_error_messages(server: ServerThread, tmp_path: Path) -> None:
    dead = f"127.0.0.1:{closed_port()}"
    (tmp_path / "policy.yaml").write_text(_policy(server.endpoint, dead), encoding="utf-8")
    report = tmp_path / "report.json"
    done = run_cli("scan", "--policy", str(tmp_path / "policy.yaml"), "--target", "mx1", "--smtp", server.endpoint,
                   "--lang", "es", "--report", f"json={report}", timeout=120)
    assert done.returncode == 1, done.stderr
    results = {r["rule"]: r for r in json.loads(report.read_text(encoding="utf-8"))["results"]}

    failed = results["SMTP-FAIL"]
    assert failed["status"] == "fail"
    message = failed["message"]
    assert "TLSv1.2 aceptado (se esperaba rechazado): el ServerHello eligió TLSv1.2 con " in message, message
    assert "plaintext_mail aceptado (se esperaba rechazado): 250 OK" in message, message  # the server's own words
    assert "(se esperaba 400): caduca el " in message, message
    assert not ENGLISH.search(message), message

    error = results["SMTP-ERROR"]
    assert error["status"] == "error"
    assert "no se puede conectar: conexión rechazada" in error["message"], error["message"]
    assert not ENGLISH.search(error["message"]), error["message"]

    passed = results["SMTP-PASS"]
    assert passed["status"] == "pass"
    assert passed["message"] == "2 elemento(s) correcto(s) en 1 punto(s) de conexión"


def _collect(params: dict[str, Any], target: Target) -> Any:
    from plugins.smtp import register_check_types

    collector = register_check_types()[0].collector
    [(_name, facts)] = list(collector.collect([CollectRequest(target, [params])], RunContext(now=NOW)))
    return collector, facts


def _plain(value: Any) -> bool:
    """True when ``value`` holds nothing but plain JSON types (no str subclass such as a ``Said``)."""
    if isinstance(value, dict):
        return all(type(k) is str and _plain(v) for k, v in value.items())
    if isinstance(value, list):
        return all(map(_plain, value))
    return value is None or type(value) in (str, int, float, bool)


def test_the_same_facts_read_in_english_then_spanish_then_english(server: ServerThread) -> None:
    dead = f"127.0.0.1:{closed_port()}"
    params = {"endpoints": [server.endpoint, dead], "servername": "mail.test", "reject": ["TLSv1.2"],
              "certificate": {"min_days_valid": 400}, "timeout": 5}
    target = Target("mx1")
    collector, facts = _collect(params, target)
    assert _plain(facts) and json.loads(json.dumps(facts)) == facts

    def read(lang: str) -> Any:
        return collector.evaluate(params, facts, EvalContext(run=RunContext(now=NOW, lang=lang), target=target))

    english, spanish, again = read("en"), read("es"), read("en")
    assert english.status == spanish.status == "fail"
    assert "TLSv1.2 accepted (expected refused): ServerHello selected TLSv1.2 with " in english.message
    assert "TLSv1.2 aceptado (se esperaba rechazado): el ServerHello eligió TLSv1.2 con " in spanish.message
    assert not ENGLISH.search(spanish.message), spanish.message
    assert again.message == english.message  # no translator or text is kept from one reading to the next

    def dead_detail(outcome: Any) -> str:
        starttls, *_rest = [it for ev in outcome.evidence if ev["endpoint"] == dead for it in ev["items"]]
        return str(starttls["detail"])

    assert dead_detail(english) == f"{dead.split(':')[0]}: connect: cannot connect: Connection refused"
    assert dead_detail(spanish) == f"{dead.split(':')[0]}: conexión: no se puede conectar: conexión rechazada"
    # What was seen is evidence, the same in every language.
    assert [ev["transcript"] for ev in spanish.evidence] == [ev["transcript"] for ev in english.evidence]
    assert spanish.actual == english.actual and spanish.examined == english.examined
    # ${actual}, ${expected} and ${observed} read in the run's language; the other fields are the same
    texts = ("actual", "expected", "observed")
    assert {k: v for k, v in spanish.fields.items() if k not in texts} == {
        k: v for k, v in english.fields.items() if k not in texts}
    # Saved facts (JSON) read the same.
    saved = json.loads(json.dumps(facts))
    assert collector.evaluate(params, saved, EvalContext(run=RunContext(now=NOW, lang="es"), target=target)
                              ).message == spanish.message


def test_a_probe_text_without_its_template_reads_as_it_is() -> None:
    """Facts from before templates were kept (no ``texts``) are judged as they are: in their own words."""
    from plugins.smtp.judge import evaluate

    facts = {"probes": {"127.0.0.1:25": {"error": "127.0.0.1: connect: cannot connect: Connection refused",
                                         "versions": {}}}}
    params = {"endpoints": ["127.0.0.1:25"], "accept": ["TLSv1.2"]}
    outcome = evaluate(params, facts, EvalContext(run=RunContext(now=NOW, lang="es"), target=Target("t")))
    assert outcome.status == "error"
    assert outcome.message == ("127.0.0.1:25: starttls error (se esperaba obligatorio): "
                               "127.0.0.1: connect: cannot connect: Connection refused; "
                               "127.0.0.1:25: TLSv1.2 nada (se esperaba aceptado): TLSv1.2 no se sondeó")


def test_said_is_english_and_keeps_its_template() -> None:
    from plugins.smtp.texts import Reader, plain_facts, render
    from scanner.i18n import N_

    said = Said(N_("no complete reply within {seconds:g} s"), seconds=2.5)
    assert said == "no complete reply within 2.5 s"
    table: dict[str, Any] = {}
    facts = plain_facts({"reason": Said(N_("{address}: {error}"), address="10.0.0.1", error=said)}, table)
    assert type(facts["reason"]) is str
    assert render(table[facts["reason"]], Reader("es").gettext) == "10.0.0.1: sin respuesta completa en 2.5 s"
    assert Reader("es", table).reason(facts["reason"]) == "10.0.0.1: sin respuesta completa en 2.5 s"
    assert Reader("en", table).reason(facts["reason"]) == "10.0.0.1: no complete reply within 2.5 s"
