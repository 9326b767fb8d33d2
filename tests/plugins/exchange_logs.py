# ruff: noqa: E501  (real log lines are long)
"""Byte-exact Exchange log, queue and text files for the ``logs`` plugin tests.

Shapes follow /work/shared/reference/exchange-tls.md §3: W3C headers
(``#Software``, ``#Version``, ``#Log-type``, ``#Date``, ``#Fields``), CSV rows
quoted only when a value holds a comma or a quote (quotes doubled), UTF-8 with
BOM and CRLF as Exchange writes them; ``Get-Queue | Format-List`` text with
long values wrapped onto indented continuation lines; ``Export-Csv`` files.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

SEND_FIELDS = (
    "date-time,connector-id,session-id,sequence-number,local-endpoint,remote-endpoint,event,data,context"
)
TRACKING_FIELDS = (
    "date-time,client-ip,client-hostname,server-ip,server-hostname,source-context,connector-id,source,"
    "event-id,internal-message-id,message-id,network-message-id,recipient-address,recipient-status,"
    "total-bytes,recipient-count,related-recipient-address,reference,message-subject,sender-address,"
    "return-path,message-info,directionality,tenant-id,original-client-ip,original-server-ip,custom-data,"
    "transport-traffic-type,log-id,schema-version"
)
LOG_TYPES = {
    "smtp_send": "SMTP Send Protocol Log",
    "smtp_receive": "SMTP Receive Protocol Log",
    "message_tracking": "Message Tracking Log",
}
TLS12_OK = (
    "TLS protocol SP_PROT_TLS1_2_CLIENT negotiation succeeded using bulk encryption algorithm CALG_AES_256 "
    "with strength 256 bits, MAC hash algorithm CALG_SHA_384 with strength 0 bits and key exchange "
    "algorithm CALG_ECDH_EPHEM with strength 384 bits"
)
TLS10_OK = TLS12_OK.replace("TLS1_2_CLIENT", "TLS1_0_CLIENT")
BANNER = "220 AM0PR02CA0001.outlook.office365.com Microsoft ESMTP MAIL Service ready at Tue, 4 Mar 2025 11:20:00 +0000"


def csv_value(value: str) -> str:
    """Exchange's quoting: only a value with a comma or a quote is quoted; quotes are doubled."""
    if "," in value or '"' in value:
        return '"' + value.replace('"', '""') + '"'
    return value


def w3c(kind: str, rows: Sequence[Sequence[str]], *, fields: str = SEND_FIELDS,
        date: str = "2025-03-04T11:00:00.000Z", bom: bool = True, eol: str = "\r\n",
        version: str = "15.0.0.0") -> bytes:
    """A whole W3C log: five header lines, then one CSV row per item of ``rows``."""
    lines = [
        "#Software: Microsoft Exchange Server",
        f"#Version: {version}",
        f"#Log-type: {LOG_TYPES.get(kind, kind)}",
        f"#Date: {date}",
        f"#Fields: {fields}",
    ]
    lines += [",".join(csv_value(v) for v in row) for row in rows]
    data = eol.join(lines).encode("utf-8") + eol.encode()
    return (b"\xef\xbb\xbf" + data) if bom else data


def send_row(time: str, seq: int, event: str, data: str = "", context: str = "",
             session: str = "08DD5A1B2C3D4F01", connector: str = "Outbound to Office 365") -> list[str]:
    """One send-protocol-log row (local 10.0.0.10:28252 to Microsoft 365)."""
    local = "" if seq < 2 else "10.0.0.10:28252"
    return [time, connector, session, str(seq), local, "52.101.8.30:25", event, data, context]


def send_session(day_time: str, session: str, outcome: str) -> list[list[str]]:
    """A send session to Microsoft 365 ending in ``outcome``: ``tls12``, ``tls10``, ``socketerror``,
    ``nocredentials`` or ``starttls_required`` (the 451 5.7.3 reply). ``day_time`` is ``YYYY-MM-DDTHH:MM``."""
    t = [f"{day_time}:{s:02d}.{ms:03d}Z" for s, ms in
         [(0, 10), (0, 10), (0, 30), (0, 120), (0, 121), (0, 160), (0, 161), (0, 200), (0, 201), (0, 260), (0, 261)]]
    rows = [
        send_row(t[0], 0, "*", "SendRoutingHeaders", "Set Session Permissions", session),
        send_row(t[1], 1, "*", "", "attempting to connect", session),
        send_row(t[2], 2, "+", "", "", session),
        send_row(t[3], 3, "<", BANNER, "", session),
        send_row(t[4], 4, ">", "EHLO mail.contoso.com", "", session),
    ]
    if outcome == "starttls_required":
        rows += [
            send_row(t[5], 5, ">", "MAIL FROM:<alice@contoso.com> SIZE=2048", "", session),
            send_row(t[6], 6, "<", "451 5.7.3 Must issue a STARTTLS command first", "", session),
            send_row(t[7], 7, "-", "", "Local", session),
        ]
        return rows
    rows += [
        send_row(t[5], 5, ">", "STARTTLS", "", session),
        send_row(t[6], 6, "<", "220 2.0.0 SMTP server ready", "", session),
        send_row(t[7], 7, "*", "", "Sending certificate", session),
    ]
    if outcome in ("socketerror", "nocredentials"):
        err = "SocketError" if outcome == "socketerror" else "NoCredentials"
        rows += [send_row(t[8], 8, "*", "", f"TLS negotiation failed with error {err}", session),
                 send_row(t[9], 9, "-", "", "Remote", session)]
    else:
        rows += [send_row(t[8], 8, "*", "", TLS10_OK if outcome == "tls10" else TLS12_OK, session),
                 send_row(t[9], 9, ">", "MAIL FROM:<alice@contoso.com> SIZE=2048", "", session),
                 send_row(t[10], 10, "<", "250 2.1.0 Sender OK", "", session)]
    return rows


LED_SOCKET = ("[{LED=451 4.4.397 Error communicating with target host. -> 421 4.4.2 Connection dropped due to "
              "SocketError};{MSG=};{FQDN=contoso-com.mail.protection.outlook.com};{IP=52.101.8.30};"
              "{LRT=3/4/2025 11:20:00 AM}]")
LED_TIMEOUT = LED_SOCKET.replace("SocketError", "TimedOut")


def queue_record(identity: str, last_error: str, domain: str = "contoso.mail.onmicrosoft.com") -> dict[str, str]:
    """A ``Get-Queue`` record (the properties Format-List shows first)."""
    return {
        "DeliveryType": "SmartHostConnectorDelivery",
        "NextHopDomain": domain,
        "TlsDomain": "mail.protection.outlook.com",
        "NextHopConnector": "a9d2bb3e-4c70-4a3b-9f5d-2a1c0e6b7f10",
        "Status": "Retry",
        "MessageCount": "12",
        "LastError": last_error,
        "RetryCount": "7",
        "LastRetryTime": "3/4/2025 11:20:00 AM",
        "NextRetryTime": "3/4/2025 11:30:00 AM",
        "Identity": identity,
    }


def format_list(records: Sequence[dict[str, str]], width: int = 120, eol: str = "\r\n") -> bytes:
    """``Get-Queue | Format-List`` as PowerShell prints it: names padded to one column, values
    wrapped at ``width`` (at the last space that fits, else mid-word) onto lines indented to the value column."""
    name_w = max(len(k) for r in records for k in r)
    indent = name_w + 3
    room = width - indent
    out = [""]
    for rec in records:
        out.append("")
        for name, value in rec.items():
            pieces = []
            rest = value
            while len(rest) > room:
                cut = rest.rfind(" ", 0, room + 1)
                if cut <= 0:
                    pieces.append(rest[:room])
                    rest = rest[room:]
                else:
                    pieces.append(rest[:cut])
                    rest = rest[cut + 1 :]
            pieces.append(rest)
            out.append(f"{name.ljust(name_w)} : {pieces[0]}")
            out.extend(" " * indent + p for p in pieces[1:])
    out += ["", ""]
    return eol.join(out).encode("utf-8")


def export_csv(records: Sequence[dict[str, str]], type_line: bool = True) -> bytes:
    """``Get-Queue | Export-Csv`` (Windows PowerShell 5.1: ``#TYPE`` line, every value quoted, CRLF)."""
    names = list(records[0])
    lines = ["#TYPE Microsoft.Exchange.Data.QueueViewer.ExtensibleQueueInfo"] if type_line else []
    lines.append(",".join(f'"{n}"' for n in names))
    for r in records:
        lines.append(",".join('"' + r[n].replace('"', '""') + '"' for n in names))
    return ("\r\n".join(lines) + "\r\n").encode("utf-8")


NDR_TEXT = """Delivery has failed to these recipients or groups:

bob@fabrikam.com
Your message couldn't be delivered. Despite repeated attempts to deliver your message, the recipient's email
system refused to accept a connection from your email system.

Diagnostic information for administrators:

Generating server: EX01.contoso.local

bob@fabrikam.com
Remote server returned '550 4.4.317 Message expired -> 451 4.4.397 Error communicating with target host. -> 421 4.4.2 Connection dropped due to SocketError'
"""

POSTFIX_SYSLOG = """2025-03-09T08:00:01.123456+01:00 mx1 postfix/smtp[811]: 1A2B3C: to=<bob@fabrikam.com>, relay=fabrikam-com.mail.protection.outlook.com[52.101.8.30]:25, delay=1.2, status=deferred (host said: 451 4.4.397 Error communicating with target host. -> 421 4.4.2 Connection dropped due to SocketError)
2025-03-09T09:00:00Z mx1 postfix/smtp[812]: 1A2B3D: to=<carol@fabrikam.com>, status=deferred (host said: 451 4.4.397 Error communicating with target host. -> 421 4.4.2 Connection dropped due to TimedOut)
Mar  9 10:00:00 mx1 postfix/smtp[813]: 1A2B3E: to=<dan@fabrikam.com>, status=deferred (host said: 451 4.4.397 Error communicating with target host. -> 421 4.4.2 Connection dropped due to SocketError)
2025-03-09 11:30:00 mx1 postfix/smtpd[900]: NOQUEUE: reject: 530 5.7.0 Must issue a STARTTLS command first
"""


def gz(data: bytes) -> bytes:
    """One gzip member holding ``data`` (a rotated log)."""
    return gzip.compress(data, mtime=0)


def utf16(text_bytes: bytes) -> bytes:
    """UTF-16 LE with BOM, as PowerShell's ``Out-File`` writes by default."""
    return b"\xff\xfe" + text_bytes.decode("utf-8").encode("utf-16-le")


def write(path: Path, data: bytes) -> Path:
    """Write bytes exactly (no newline translation); returns the path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


NOW = datetime(2025, 3, 10, 12, 0, tzinfo=UTC)


def run_checks(base: Path, logs: object, checks: list[dict[str, Any]], *, now: datetime = NOW, jobs: int = 1,
               collector: Any = None) -> tuple[dict[str, Any], list[Any]]:
    """Collect once for all checks through the plugin API, round-trip the facts through JSON
    (as a saved facts file would), then evaluate every check from the facts alone."""
    from plugins.logs.collector import LogCollector
    from scanner.api import CollectRequest, EvalContext, RunContext, Target

    target = Target("ex01", sources={"logs": logs}, base_dir=base)
    run = RunContext(now=now, jobs=jobs)
    c = collector or LogCollector()
    [(name, facts)] = list(c.collect([CollectRequest(target, checks)], run))
    assert name == "ex01"
    facts = json.loads(json.dumps(facts))
    return facts, [c.evaluate(ch, facts, EvalContext(run=run, target=target)) for ch in checks]


def summary(outcome: Any) -> dict[str, dict[str, Any]]:
    """Per-signature summary evidence items of an outcome, by signature id."""
    return {e["signature"]: e for e in outcome.evidence if "count" in e}


def sample_sources(outcome: Any, signature: str) -> list[str]:
    """``path:line`` of the sample evidence items of one signature, file name only."""
    return [Path(e["source"]).name for e in outcome.evidence if "text" in e and e["signature"] == signature]
