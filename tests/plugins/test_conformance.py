"""The conformance kit (scanner.testing) on every built-in check type and the third-party test plugin.

Real sources only: the example fleet's regedit exports and Exchange logs, an
aiosmtpd server with STARTTLS on loopback, files the tests write.
"""

from __future__ import annotations

import gzip
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from smtp_servers import NOW, aiosmtpd_server, closed_port, make_cert, tls_context

from scanner.api import CheckType, Status, Target
from scanner.plugin_host import load_plugins
from scanner.testing import Sample, assert_conforms
from tests.conftest import PLUGIN_SITE, ROOT

EXAMPLES = ROOT / "examples"
SCHANNEL = r"HKLM\SYSTEM\CurrentControlSet\Control\SecurityProviders\SCHANNEL\Protocols"


def _check_type(name: str) -> CheckType:
    return load_plugins().check_types[name]


def test_registry_conforms(tmp_path: Path) -> None:
    good = Target("exch01", sources={"registry": {"file": "exports/exch01-schannel.reg"}}, base_dir=EXAMPLES)
    bad = Target("exch02", sources={"registry": {"file": "exports/exch02-schannel.reg"}}, base_dir=EXAMPLES)
    broken_file = tmp_path / "broken.reg"
    broken_file.write_text("Windows Registry Editor Version 5.00\r\n\r\n[HKEY_LOCAL_MACHINE\\SOFTWARE\r\n")
    enabled = {"key": SCHANNEL + r"\TLS 1.2\Client", "value": "Enabled", "type": "REG_DWORD", "equals": 1}
    assert_conforms(
        _check_type("registry"),
        samples=[
            Sample(good, enabled, Status.PASS),
            Sample(bad, enabled, Status.FAIL),
            Sample(good, {"key": SCHANNEL + r"\TLS 1.2\Client", "value": "NoSuchValue"}, Status.FAIL),
            Sample(good, {"key": SCHANNEL + r"\TLS 1.2\Client", "value": "NoSuchValue", "exists": False},
                   Status.PASS),
        ],
        broken=[
            Sample(Target("gone", sources={"registry": {"file": "missing.reg"}}, base_dir=tmp_path), enabled),
            Sample(Target("broken", sources={"registry": {"file": "broken.reg"}}, base_dir=tmp_path), enabled),
        ],
        empty=[  # exported, but not the branch the rule reads
            Sample(good, {"key": r"HKLM\SOFTWARE\Microsoft\.NETFramework\v4.0.30319",
                          "value": "SchUseStrongCrypto", "when_missing": "pass"}),
        ],
        now=NOW,
    )


def test_logs_conforms(tmp_path: Path) -> None:
    logs = {"smtp_send": ["logs/exch02/SmtpSend/*.LOG"]}
    send = Target("exch02", sources={"logs": logs}, base_dir=EXAMPLES)
    clean = Target("exch01", sources={"logs": {"smtp_send": ["logs/exch01/SmtpSend/*.LOG"]}}, base_dir=EXAMPLES)
    signature = {"sources": ["smtp_send"], "forbid": [{"literal": "TLS negotiation failed with error SocketError"}]}
    source_log = next((EXAMPLES / "logs/exch02/SmtpSend").glob("*.LOG"))
    truncated = tmp_path / "SEND1.LOG.gz"
    truncated.write_bytes(gzip.compress(source_log.read_bytes())[:-20])
    empty_dir = tmp_path / "none"
    empty_dir.mkdir()
    assert_conforms(
        _check_type("log_signatures"),
        samples=[
            Sample(send, signature, Status.FAIL),
            Sample(clean, {**signature, "forbid": [{"literal": "no such text anywhere"}]}, Status.PASS),
        ],
        broken=[  # nothing forbidden in what could be read: the rest is unknown, so error
            Sample(Target("t", sources={"logs": {"smtp_send": [str(truncated)]}}),
                   {**signature, "forbid": [{"literal": "no such text anywhere"}]}),
            # the forbidden line comes before the break: a proven failure
            Sample(Target("t", sources={"logs": {"smtp_send": [str(truncated)]}}), signature, Status.FAIL),
        ],
        empty=[
            Sample(Target("t", sources={"logs": {"smtp_send": [str(empty_dir / "*.LOG")]}}), signature),
        ],
        now=NOW,
    )


@pytest.fixture(scope="module")
def tls_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    cert = make_cert(tmp_path_factory.mktemp("cert"), "ok", ["mail.test"])
    server = aiosmtpd_server(tls_context(cert, ["TLSv1.2", "TLSv1.3"]))
    try:
        yield server.endpoint
    finally:
        server.stop()


def test_smtp_conforms(tls_server: str) -> None:
    target = Target("mx", sources={"smtp": [tls_server]})
    dead = Target("dead", sources={"smtp": [f"127.0.0.1:{closed_port()}"]})
    assert_conforms(
        _check_type("smtp_tls"),
        samples=[
            Sample(target, {"accept": ["TLSv1.2"], "timeout": 5}, Status.PASS),
            Sample(target, {"reject": ["TLSv1.2"], "timeout": 5}, Status.FAIL),
        ],
        broken=[Sample(dead, {"accept": ["TLSv1.2"], "timeout": 2})],
        now=NOW,
    )


def test_third_party_plugin_conforms(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(PLUGIN_SITE))
    sys.modules.pop("policyscan_testplugin", None)
    text = tmp_path / "a.txt"
    text.write_text("one\ntwo\n")
    shutil.copy(text, tmp_path / "b.txt")
    target = Target("t", sources={"textfile": "a.txt"}, base_dir=tmp_path)
    assert_conforms(
        _check_type("line_count"),
        samples=[Sample(target, {"max": 5}, Status.PASS), Sample(target, {"max": 1}, Status.FAIL)],
        broken=[Sample(Target("t", sources={"textfile": "gone.txt"}, base_dir=tmp_path), {"max": 5})],
    )
