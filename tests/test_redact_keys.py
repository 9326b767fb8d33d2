"""``--redact`` leaves nothing behind: keys of maps that are data (an ``actual`` keyed by endpoint, the
probe's ``texts`` keyed by its English reasons) and an IPv4 address with a port right before a colon
(``127.0.0.1:2526: starttls ...``, which first reads like an IPv6 address) are masked too."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from scanner.api import Severity, Status
from scanner.redact import Redactor
from scanner.report import Result
from tests.conftest import run_cli
from tests.plugins.smtp_servers import ServerThread

pytestmark = pytest.mark.timeout(60)

POSTMASTER = "postmaster@contoso.com"


class _Refuses454(asyncio.Protocol):
    """Offers STARTTLS in EHLO, then answers it 454, naming its postmaster."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.t: asyncio.Transport = transport  # type: ignore[assignment]
        self.buf = b""
        self.t.write(b"220 mx.test ESMTP\r\n")

    def data_received(self, data: bytes) -> None:
        self.buf += data
        while b"\n" in self.buf:
            line, self.buf = self.buf.split(b"\n", 1)
            verb = line.strip().upper()
            if verb.startswith(b"EHLO"):
                self.t.write(b"250-mx.test\r\n250 STARTTLS\r\n")
            elif verb.startswith(b"STARTTLS"):
                self.t.write(f"454 4.7.0 TLS not available, contact {POSTMASTER}\r\n".encode())
            elif verb.startswith(b"QUIT"):
                self.t.write(b"221 bye\r\n")
                self.t.close()
            else:
                self.t.write(b"250 ok\r\n")


@pytest.fixture
def server():
    srv = ServerThread(_Refuses454)
    yield srv
    srv.stop()


def test_an_ipv4_address_and_port_before_a_colon_is_masked() -> None:
    r = Redactor(key=b"k" * 16)
    masked = r.text("127.0.0.1:2526: starttls temporary; 10.1.2.3:25: TLSv1.2 error")
    assert "127.0.0.1" not in masked and "10.1.2.3" not in masked
    assert masked == f"{r.text('127.0.0.1')}:2526: starttls temporary; {r.text('10.1.2.3')}:25: TLSv1.2 error"
    assert r.text("fe80::1: refused") == f"{r.text('fe80::1')}: refused"
    assert r.text("at 10:00:00.201: done") == "at 10:00:00.201: done"  # a time of day is no address


def test_json_masks_keys_only_when_asked() -> None:
    r = Redactor(key=b"k" * 16)
    value = {"127.0.0.1:2526": {"starttls": "temporary"}, "mail.contoso.com": [{"a@contoso.com": 1}]}
    assert r.json(value) == {"127.0.0.1:2526": {"starttls": "temporary"}, "mail.contoso.com": [{"a@contoso.com": 1}]}
    masked = r.json(value, keys=True)
    assert json.dumps(masked).count("contoso") == 0 and "127.0.0.1" not in json.dumps(masked)
    assert masked[f"{r.text('127.0.0.1')}:2526"] == {"starttls": "temporary"}


def test_a_results_expected_actual_and_evidence_keys_are_masked() -> None:
    r = Redactor(key=b"k" * 16)
    result = Result("t", "p", "R1", "title", Severity.HIGH, Status.FAIL, Status.FAIL, "m",
                    {"10.0.0.9:25": "required"}, {"10.0.0.9:25": {"starttls": "not_offered"}},
                    [{"by_endpoint": {"mx.contoso.com:25": "x"}}], "")
    text = json.dumps(r.result(result)._asdict(), default=str)
    assert "10.0.0.9" not in text and "contoso" not in text


def test_probe_json_masks_the_texts_keys(server: ServerThread) -> None:
    proc = run_cli("probe", server.endpoint, "--redact", "--report", "json", "--timeout", "5")
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["redacted"] is True and doc["facts"]["texts"]  # the table is there, its keys masked
    assert "contoso.com" not in proc.stdout and "127.0.0.1" not in proc.stdout
    es = run_cli("probe", server.endpoint, "--redact", "--lang", "es", "--timeout", "5")
    assert "contoso.com" not in es.stdout and "127.0.0.1" not in es.stdout


POLICY = """\
apiVersion: policyscan/v1
kind: Policy
metadata: {id: mx, title: MX, version: "1"}
rules:
  - id: MX-1
    title: STARTTLS required
    severity: high
    check:
      smtp_tls: {starttls: required, accept: [TLSv1.2], timeout: 5}
  - id: MX-2
    title: STARTTLS not offered
    severity: low
    check:
      smtp_tls: {starttls: forbidden, timeout: 5}
    remediation: "found ${actual}; expected ${expected}; on ${endpoint}"
"""


def test_scan_masks_the_endpoint_in_every_format(server: ServerThread, tmp_path: Path) -> None:
    policy = tmp_path / "mx.yaml"
    policy.write_text(POLICY, encoding="utf-8")
    reports = {fmt: tmp_path / f"r.{fmt}" for fmt in ("json", "sarif", "junit", "markdown", "html")}
    proc = run_cli("scan", "--target", "mx1", "--smtp", server.endpoint, "--policy", str(policy), "--redact",
                   "--report", "console", *[x for fmt, p in reports.items() for x in ("--report", f"{fmt}={p}")])
    assert proc.returncode == 1, proc.stderr
    doc = json.loads(reports["json"].read_text())
    [required, forbidden] = doc["results"]
    assert required["status"] == "error" and "temporary" in required["message"]
    assert forbidden["status"] == "fail" and forbidden["remediation"].startswith("found ip-")
    assert set(required["actual"]) == {f"ip-{required['evidence'][0]['source'].split('ip-')[1]}"}
    for name, text in [("console", proc.stdout)] + [(f, p.read_text()) for f, p in reports.items()]:
        assert "127.0.0.1" not in text, name
        assert "contoso.com" not in text, name
