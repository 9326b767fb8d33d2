"""``policyscan probe``: the matrix of one endpoint as console text and JSON; exit codes."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from smtp_servers import NOW, aiosmtpd_server, closed_port, make_cert, tls_context

from plugins.smtp.probe_cli import run_probe_command
from scanner.errors import UsageError

pytestmark = pytest.mark.timeout(20)


def test_console_and_json_reports(tmp_path: Path) -> None:
    cert = make_cert(tmp_path, "c", ["mail.test"], key="p256")
    server = aiosmtpd_server(tls_context(cert, ["TLSv1.2", "TLSv1.3"]), require_starttls=True)
    out = io.StringIO()
    try:
        code = run_probe_command(server.endpoint, ["console", f"json={tmp_path / 'probe.json'}"], 5.0, NOW, out)
    finally:
        server.stop()
    assert code == 0
    text = out.getvalue()
    assert f"SMTP TLS probe of {server.endpoint} (127.0.0.1)" in text
    assert "  plain MAIL   refused: 530 Must issue a STARTTLS command first" in text
    assert "  STARTTLS     accepted: 220 Ready to start TLS" in text
    for line in ("  SSLv3    refused", "  TLSv1.0  refused", "  TLSv1.1  refused",
                 "  TLSv1.2  accepted  TLS_ECDHE_ECDSA_", "  TLSv1.3  accepted  TLS_AES_"):
        assert line in text
    assert "  key          EC secp256r1 256 bits (RSA-equivalent 3072)" in text
    doc = json.loads((tmp_path / "probe.json").read_text())
    assert doc["schema"] == "policyscan/probe/v1" and doc["answered"] is True
    assert doc["versions"] == {"SSLv3": "refused", "TLSv1.0": "refused", "TLSv1.1": "refused",
                               "TLSv1.2": "accepted", "TLSv1.3": "accepted"}
    assert doc["plaintext_mail"] == "refused" and doc["certificate"]["san_dns"] == ["mail.test"]
    assert doc["facts"]["connections"][0]["events"][0][1] == "<"  # the transcript travels with it


def test_unreachable_endpoint_exits_3() -> None:
    out = io.StringIO()
    assert run_probe_command(f"127.0.0.1:{closed_port()}", ["json"], 2.0, NOW, out) == 3
    doc = json.loads(out.getvalue())
    assert doc["answered"] is False and "Connection refused" in doc["error"]
    assert set(doc["versions"].values()) == {"error"}


def test_usage_errors() -> None:
    with pytest.raises(UsageError, match="port 'x'"):
        run_probe_command("mail:x", [], 1.0, NOW, io.StringIO())
    with pytest.raises(UsageError, match="probe writes only console or json"):
        run_probe_command("127.0.0.1:25", ["junit"], 1.0, NOW, io.StringIO())


def test_servername_is_sent_as_sni_and_picks_the_certificate(tmp_path: Path) -> None:
    """The server answers 'other.test' with its own certificate; without --servername an IP sends no SNI."""
    default = make_cert(tmp_path, "default", ["mail.test"])
    other = make_cert(tmp_path, "other", ["other.test"])
    context = tls_context(default, ["TLSv1.2", "TLSv1.3"])
    other_context = tls_context(other, ["TLSv1.2", "TLSv1.3"])
    seen: list[str | None] = []

    def pick(tls, name, _context):
        seen.append(name)
        if name == "other.test":
            tls.context = other_context

    context.sni_callback = pick
    server = aiosmtpd_server(context)
    try:
        named, plain = io.StringIO(), io.StringIO()
        assert run_probe_command(server.endpoint, ["json"], 5.0, NOW, named, servername="other.test") == 0
        assert run_probe_command(server.endpoint, ["console"], 5.0, NOW, plain) == 0
    finally:
        server.stop()
    doc = json.loads(named.getvalue())
    assert doc["facts"]["sni"] == "other.test" and doc["certificate"]["san_dns"] == ["other.test"]
    assert "  SNI          (none: an IP address)" in plain.getvalue()
    assert seen.count("other.test") >= 2 and None in seen  # every handshake of the first probe named it
    with pytest.raises(UsageError, match="--servername: an empty name"):
        run_probe_command(server.endpoint, [], 1.0, NOW, io.StringIO(), servername=" ")


def test_console_says_when_a_certificate_is_not_valid_yet(tmp_path: Path) -> None:
    cert = make_cert(tmp_path, "future", ["mail.test"], days=(20, 400))
    server = aiosmtpd_server(tls_context(cert, ["TLSv1.2"]))
    out = io.StringIO()
    try:
        assert run_probe_command(server.endpoint, ["console"], 2.0, NOW, out) == 0
    finally:
        server.stop()
    assert "(NOT YET VALID: starts in 20 days)" in out.getvalue()
    assert "days left" not in out.getvalue()
