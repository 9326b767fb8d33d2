"""``policyscan probe --redact``: no IP address, host name or e-mail address of the
probed server in the table or the JSON document (transcript included); and
``probe --lang``: the table in the reader's language."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from smtp_servers import aiosmtpd_server, make_cert, tls_context

from tests.conftest import run_cli

pytestmark = pytest.mark.timeout(30)


def test_probe_redact_masks_addresses_and_names_everywhere(tmp_path: Path) -> None:
    cert = make_cert(tmp_path, "c", ["mail.contoso.test"])
    server = aiosmtpd_server(tls_context(cert, ["TLSv1.2"]), require_starttls=True)
    try:
        plain = run_cli("probe", server.endpoint, "--report", "json", "--now", "2026-11-30T00:00:00Z")
        masked = run_cli("probe", server.endpoint, "--redact", "--report", f"json={tmp_path / 'p.json'}",
                         "--report", "console", "--now", "2026-11-30T00:00:00Z")
    finally:
        server.stop()
    assert plain.returncode == 0 and masked.returncode == 0, masked.stderr
    assert "127.0.0.1" in plain.stdout and "mail.contoso.test" in plain.stdout  # what there is to mask
    document = (tmp_path / "p.json").read_text(encoding="utf-8")
    for text in (document, masked.stdout):
        assert "127.0.0.1" not in text and "mail.contoso.test" not in text
        assert re.search(r"ip-[0-9a-f]{6}", text) and re.search(r"host-[0-9a-f]{6}", text)
    doc = json.loads(document)
    assert doc["redacted"] is True and json.loads(plain.stdout)["redacted"] is False
    assert doc["versions"]["TLSv1.2"] == "accepted"  # the verdicts are kept
    assert doc["facts"]["connections"]  # and the transcript, masked


def test_probe_lang_es_gives_a_spanish_table(tmp_path: Path) -> None:
    cert = make_cert(tmp_path, "c", ["mail.contoso.test"])
    server = aiosmtpd_server(tls_context(cert, ["TLSv1.2"]), require_starttls=True)
    try:
        es = run_cli("probe", server.endpoint, "--lang", "es", "--now", "2026-11-30T00:00:00Z")
    finally:
        server.stop()
    assert es.returncode == 0, es.stderr
    assert es.stdout.startswith(f"Sondeo SMTP TLS de {server.endpoint} (127.0.0.1) en ")
    for line in ("Protocolos", "Certificado", "  TLSv1.2  aceptado ", "  TLSv1.0  rechazado", "  emisor       ",
                 "  MAIL sin TLS rechazado: 530"):
        assert line in es.stdout, line
    assert "Protocols" not in es.stdout and "accepted" not in es.stdout
    closed = run_cli("probe", "127.0.0.1:9", "--lang", "es", "--timeout", "2")
    assert closed.returncode == 3
    assert "no se pudo sondear: " in closed.stdout and "conexión rechazada" in closed.stdout
    unknown = run_cli("probe", "127.0.0.1:9", "--lang", "xx")
    assert unknown.returncode == 2 and "--lang xx: no such language (available: en, es)" in unknown.stderr
