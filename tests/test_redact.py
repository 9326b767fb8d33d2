"""``scan --redact``: the masking itself, and every report format through the real CLI."""

from __future__ import annotations

import json
import pickle
import re
from pathlib import Path

import pytest

from scanner.api import Severity, Status
from scanner.output import report_schema_errors
from scanner.redact import Redactor
from scanner.report import Result
from tests.conftest import run_cli

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
TARGET = "exch01.contoso.local"
NOW = "2026-11-21T00:00:00Z"
EMAIL = "admin@contoso.com"
HOST = "AM0PR02CA0001.outlook.office365.com"
IP6 = "2001:db8::25"
RAW = (EMAIL, HOST, IP6, "10.0.0.10", "52.101.8.30")
MASK = re.compile(r"\b(?:email|ip|host)-[0-9a-f]{6}\b")


@pytest.fixture
def redactor() -> Redactor:
    return Redactor(keep=[TARGET], key=b"k" * 16)


# --- the masking ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "admin@contoso.com", "MAIL FROM:<first.last+tag@mail.contoso.com>", "RCPT TO:<postmaster@[10.0.0.1]>",
        "10.0.0.10", "52.101.8.30:25", "{IP=52.101.8.30}", "connect to 192.168.1.1.",
        "::1", "[::1]:25", "[2001:db8::1]:587", "fe80::1%eth0", "::ffff:10.0.0.1", "2001:0db8:0000::0001",
        "mail.contoso.com", "AM0PR02CA0001.outlook.office365.com", "contoso.com.",
        "{FQDN=contoso-com.mail.protection.outlook.com}",
        "smtp://mail.contoso.com:25", r"\\fs01.contoso.com\share", "smtp.exch01.contoso.local",
    ],
)
def test_masks(redactor: Redactor, text: str) -> None:
    masked = redactor.text(text)
    assert MASK.search(masked), masked
    assert not re.search(r"\d\.\d|:\w*:|@|\w\.\w", masked), masked


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("250-AM0PR02CA0001.outlook.office365.com Hello [10.0.0.10]", "250-host-* Hello [ip-*]"),
        ("10.0.0.10:28252,52.101.8.30:25,*,,TLS negotiation failed", "ip-*:28252,ip-*:25,*,,TLS negotiation failed"),
        ("[::1]:25", "[ip-*]:25"),
        ("fe80::1%eth0", "ip-*%eth0"),
        ("MAIL FROM:<admin@contoso.com> SIZE=1", "MAIL FROM:<email-*> SIZE=1"),
    ],
)
def test_mask_shapes_keep_ports_brackets_and_the_rest(redactor: Redactor, text: str, expected: str) -> None:
    assert re.sub(r"-[0-9a-f]{6}", "-*", redactor.text(text)) == expected


@pytest.mark.parametrize(
    "text",
    [
        TARGET, "EXCH01.CONTOSO.LOCAL", "EXO-TLS12-LOG-001", "exports/exch01.reg:14", "exch01.reg:3", "queues.txt",
        "logs/exch02/SmtpSend/SEND2026112010-1.LOG:14", "report.schema.json",
        r"HKLM\SYSTEM\CurrentControlSet\Control\SecurityProviders\SCHANNEL\Protocols\TLS 1.2\Client",
        r"HKLM\SOFTWARE\Microsoft\.NETFramework\v4.0.30319", "TLSv1.2", "v4.0.30319", "421 4.4.2 Connection dropped",
        "System.Net.Mail", "e.g. plain words, i.e. nothing.", "2026-11-20T10:00:00.201Z", "00:1A:2B:3C:4D:5E",
        "1.2.3.4.5", "999.1.1.1", "SchUseStrongCrypto=1", "DisabledByDefault = 0 (REG_DWORD)", "",
    ],
)
def test_does_not_mask(redactor: Redactor, text: str) -> None:
    assert redactor.text(text) == text


def test_a_four_part_version_looks_like_an_ipv4_and_is_masked(redactor: Redactor) -> None:
    """Documented: ``#Version: 15.0.0.0`` of a W3C log header is masked."""
    assert MASK.search(redactor.text("#Version: 15.0.0.0"))


def test_masks_are_stable_normalised_and_keyed(redactor: Redactor) -> None:
    assert redactor.text("Mail.Contoso.COM") == redactor.text("mail.contoso.com")
    assert redactor.text("[2001:0db8::0001]") == redactor.text("[2001:db8::1]")
    assert redactor.text("10.0.0.1") != redactor.text("10.0.0.2")
    assert Redactor(key=b"x" * 16).text("mail.contoso.com") != redactor.text("mail.contoso.com")
    again = pickle.loads(pickle.dumps(redactor))  # what a forked or spawned worker gets
    assert again.text("a@b.com 10.0.0.1 mail.contoso.com") == redactor.text("a@b.com 10.0.0.1 mail.contoso.com")
    assert again.text(TARGET) == TARGET


def test_a_result_is_masked_in_message_values_evidence_and_remediation(redactor: Redactor) -> None:
    r = Result(
        target=TARGET, policy="p", rule="R-1", title="T mail.contoso.com", severity=Severity.HIGH,
        status=Status.FAIL, outcome=Status.FAIL, message="refused by 10.0.0.1",
        expected=["mx.contoso.com"], actual={"host": "mx2.contoso.com", "n": 3},
        evidence=[{"source": "exports/exch01.reg:14", "text": "from admin@contoso.com", "nested": {"ip": "::1"}}],
        remediation="ask admin@contoso.com", check_type="smtp_tls",
    )
    m = redactor.result(r)
    assert m.target == TARGET and m.rule == "R-1" and m.title == r.title and m.check_type == "smtp_tls"
    assert MASK.fullmatch(m.message.split()[-1])
    assert MASK.fullmatch(m.expected[0]) and MASK.fullmatch(m.actual["host"]) and m.actual["n"] == 3
    assert m.evidence[0]["source"] == "exports/exch01.reg:14"
    assert "admin@" not in json.dumps(list(m.evidence)) and "::1" not in json.dumps(list(m.evidence))
    assert "admin@" not in m.remediation


# --- every report format through the CLI ----------------------------------------------------------

POLICY = r"""apiVersion: policyscan/v1
kind: Policy
metadata: {id: redact-test, title: Redaction test, version: 1.0.0}
rules:
  - id: RED-REG-001
    title: The relay value is none
    severity: high
    check:
      registry:
        key: 'HKLM\SOFTWARE\Contoso\Relay'
        value: SmartHost
        type: REG_SZ
        equals: none
    remediation:
      en: 'Set ${key}\${value} to none (found ${actual}).'
  - id: RED-LOG-001
    title: No TLS negotiation failure
    severity: high
    check:
      log_signatures:
        sources: [smtp_send]
        forbid:
          - id: tls-socketerror
            literal: 'TLS negotiation failed with error SocketError'
"""

REG = (
    "Windows Registry Editor Version 5.00\r\n\r\n"
    "[HKEY_LOCAL_MACHINE\\SOFTWARE\\Contoso\\Relay]\r\n"
    f'"SmartHost"="{EMAIL} via {HOST} at 52.101.8.30:25 from 10.0.0.10 or [{IP6}]:25 on {TARGET}"\r\n'
)


@pytest.fixture(scope="module")
def case(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A policy, a .reg export whose value names an e-mail address, IPs and host names, and a send
    protocol log (from examples/logs) whose failing lines do too."""
    where = tmp_path_factory.mktemp("redact")
    (where / "policy.yaml").write_text(POLICY, encoding="utf-8")
    (where / "relay.reg").write_text(REG, encoding="utf-16", newline="")
    log = (EXAMPLES / "logs/exch02/SmtpSend/SEND2026112010-1.LOG").read_text(encoding="utf-8-sig")
    lines = [
        line.replace(",*,,TLS", f",*,{EMAIL} {HOST} [{IP6}]:25 {TARGET},TLS") if "TLS negotiation failed" in line
        else line
        for line in log.splitlines()
    ]
    (where / "SEND2026112010-1.LOG").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return where


def _scan(case: Path, fmt: str, out: Path, *extra: str) -> str:
    done = run_cli(
        "scan", "--policy", str(case / "policy.yaml"), "--target", TARGET, "--reg", str(case / "relay.reg"),
        "--logs", f"smtp_send={case}/*.LOG", "--now", NOW, "--report", f"{fmt}={out}", *extra,
    )
    assert done.returncode == 1, done.stderr
    text = out.read_text(encoding="utf-8")
    if fmt == "markdown":  # Markdown escapes [ and ], and breaks @mentions with a word joiner
        text = text.replace("\\", "").replace("\u2060", "")
    return text


@pytest.mark.parametrize("fmt", ["console", "json", "junit", "sarif", "markdown", "html"])
def test_every_format_is_redacted(case: Path, tmp_path: Path, fmt: str) -> None:
    plain = _scan(case, fmt, tmp_path / f"plain.{fmt}")
    for raw in RAW:
        assert raw in plain, (fmt, raw)
    redacted = _scan(case, fmt, tmp_path / f"redacted.{fmt}", "--redact")
    for raw in RAW:
        assert raw not in redacted, (fmt, raw)
    assert TARGET in redacted
    assert MASK.search(redacted)
    if fmt == "json":
        doc = json.loads(redacted)
        assert doc["redacted"] is True and "redacted" not in json.loads(plain)
        assert list(doc).index("redacted") < list(doc).index("results")
        assert report_schema_errors(doc) == []
        text = json.dumps(doc["results"])
        # one value, one mask, across results and fields
        assert len(set(re.findall(r"(ip-[0-9a-f]{6})\]?:25\b", text))) == 2  # 52.101.8.30 and [2001:db8::25]


def test_a_streamed_fleet_run_is_redacted_in_every_worker(tmp_path: Path) -> None:
    """300 targets and --jobs 2: batches are judged and rendered in forked workers; the JSON
    report is assembled from their parts and the masks agree across them."""
    logs = tmp_path / "logs"
    logs.mkdir()
    log = (EXAMPLES / "logs/exch02/SmtpSend/SEND2026112010-1.LOG").read_text(encoding="utf-8-sig")
    (logs / "SEND2026112010-1.LOG").write_text(log.replace(",*,,TLS", f",*,{EMAIL} {HOST},TLS"), encoding="utf-8")
    entries = [
        f"  - name: exch-{i:03d}.contoso.local\n    logs:\n      smtp_send: ['logs/*.LOG']" for i in range(300)
    ]
    (tmp_path / "inventory.yaml").write_text(
        "apiVersion: policyscan/v1\nkind: Inventory\ntargets:\n" + "\n".join(entries) + "\n", encoding="utf-8"
    )
    policy = ROOT / "policies" / "exchange-m365-tls12.yaml"
    common = ["scan", "--policy", str(policy), "--inventory", str(tmp_path / "inventory.yaml"), "--now", NOW,
              "--jobs", "2"]
    plain = run_cli(*common, "--report", f"json={tmp_path / 'plain.json'}")
    done = run_cli(*common, "--redact", "--report", f"json={tmp_path / 'redacted.json'}")
    assert plain.returncode == done.returncode == 1, plain.stderr + done.stderr
    raws = (EMAIL, HOST, "10.0.0.10", "52.101.8.30")
    assert all(raw in (tmp_path / "plain.json").read_text() for raw in raws)
    text = (tmp_path / "redacted.json").read_text()
    assert not [raw for raw in raws if raw in text]
    doc = json.loads(text)
    assert doc["redacted"] is True and report_schema_errors(doc) == []
    assert {r["target"] for r in doc["results"]} == {f"exch-{i:03d}.contoso.local" for i in range(300)}
    failing = [r for r in doc["results"] if r["rule"] == "EXO-TLS12-LOG-003"]
    assert len(failing) == 300
    # the same line in 300 targets over two workers: one set of masks
    assert len({json.dumps(r["evidence"][0]["text"]) for r in failing}) == 1
