"""What a log file is: encoding, kind and layout, and how its lines are read.

Layouts (``format`` in the facts):

- ``w3c``: Exchange logs with ``#Software``/``#Version``/``#Log-type``/``#Date``/
  ``#Fields`` headers and CSV rows (a field is quoted when it holds a comma or
  a quote; quotes inside are doubled). Columns are addressed by ``#Fields`` name.
- ``queue_csv``: ``Get-Queue | Export-Csv`` (optional ``#TYPE`` line, header row).
- ``queue_list``: ``Get-Queue | Format-List`` (``Name : value`` records, long
  values wrapped onto indented continuation lines).
- ``text``: anything else (NDR text, Postfix/Exim syslog); a leading ISO-8601
  stamp dates a line.
"""

from __future__ import annotations

import codecs
import csv
import re
from datetime import UTC, datetime

from plugins.logs.messages import Text
from scanner.i18n import N_

BOMS: tuple[tuple[bytes, str], ...] = (
    (b"\xef\xbb\xbf", "utf-8"),
    (b"\xff\xfe", "utf-16-le"),
    (b"\xfe\xff", "utf-16-be"),
)

QUEUE_FIELDS = frozenset(
    name.lower()
    for name in (
        "Identity", "NextHopDomain", "LastError", "DeliveryType", "MessageCount", "NextHopCategory",
        "NextHopConnector", "LastRetryTime", "NextRetryTime", "TlsDomain", "Status", "Velocity",
        "IncomingRate", "OutgoingRate", "RetryCount", "FirstRetryTime", "DeferredMessageCount",
    )
)
_LOG_TYPES = {
    "smtp send protocol log": "smtp_send",
    "smtp receive protocol log": "smtp_receive",
    "message tracking log": "message_tracking",
}
_LIST_PROP = re.compile(r"^([A-Za-z][A-Za-z0-9]*)\s*:(?: |$)")
_STAMP = re.compile(
    r"^\[?(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?"
    r"\s?(Z|[+-]\d{2}:?\d{2})?"
)


SNIFF = 4096
"""Bytes of a file's head that decide its encoding (the NUL pattern of UTF-16 without a BOM)."""
NOT_TEXT = 0.10
"""A head whose share of undecodable or control characters is above this is not text."""
_ODD_CONTROLS = re.compile(r"[\x00-\x08\x0e-\x1a\x1c-\x1f\x7f\ufffd]")


def sniff_encoding(head: bytes) -> tuple[str, int]:
    """The encoding of a file and its BOM length, from the first bytes of its content: UTF-8 with or
    without a BOM, UTF-16 with a BOM, or UTF-16 without one (either byte order), told by NUL bytes
    in the high half of ASCII characters, as a .reg reader tells it."""
    for bom, name in BOMS:
        if head.startswith(bom):
            return name, len(bom)
    sample = head[:SNIFF]
    pairs = len(sample) // 2
    if pairs:
        even, odd = sample[0 : 2 * pairs : 2].count(0), sample[1 : 2 * pairs : 2].count(0)
        if odd * 10 >= pairs * 3 and even * 20 <= pairs:
            return "utf-16-le", 0
        if even * 10 >= pairs * 3 and odd * 20 <= pairs:
            return "utf-16-be", 0
    return "utf-8", 0


def not_text(head: bytes, encoding: str, bom: int) -> Text | None:
    """Why a file's head is clearly not text in its encoding (binary, or mostly undecodable), or None.

    A few undecodable bytes (a Latin-1 name in a UTF-8 log) are read as U+FFFD and
    tolerated; more than :data:`NOT_TEXT` of the characters is not a log."""
    sample = head[bom : bom + 4 * SNIFF]
    if not sample:
        return None
    text = codecs.getincrementaldecoder(encoding)("replace").decode(sample, False)
    odd = len(_ODD_CONTROLS.findall(text)) - text.count("\ufffd") + _replaced(sample, text, encoding)
    if odd > NOT_TEXT * max(1, len(text)):
        return Text(N_("is not text: {odd} of the first {total} characters are control characters or "
                       "undecodable as {encoding}"), odd=odd, total=len(text), encoding=encoding)
    return None


def _replaced(sample: bytes, text: str, encoding: str) -> int:
    """Replacement characters the decoding made (not those the file holds)."""
    own = sample.count("\ufffd".encode(encoding)) if encoding != "utf-8" else sample.count(b"\xef\xbf\xbd")
    return max(0, text.count("\ufffd") - own)


def detect(head: str) -> tuple[str | None, str, list[str]]:
    """``(kind, format, fields)`` of a file from its first lines (decoded).

    The kind of a W3C log comes from its header block only: the ``#`` lines at the very start of
    the file, before the first data line (a ``#Log-type:`` line further down, or smuggled into a
    data field after a bare CR, is data). A W3C log (``#Fields:``) without ``#Log-type:`` has no
    kind that can be told: ``None``."""
    kind = ""
    fields: list[str] = []
    for line in head.split("\n")[:50]:
        line = line.rstrip("\r")
        if not line.startswith("#"):
            break
        low = line.lower()
        if low.startswith("#log-type:"):
            kind = kind or _LOG_TYPES.get(line.split(":", 1)[1].strip().lower(), "text")
        elif low.startswith("#fields:") and not fields:
            fields = [f.strip() for f in line.split(":", 1)[1].split(",")]
    if fields:
        return kind or None, "w3c", fields
    if kind:
        return kind, "w3c", fields
    lines = head.splitlines()[:200]
    body = [ln for ln in lines if ln.strip()]
    if body and body[0].startswith("#TYPE"):
        body = body[1:]
    if body:
        header = split_csv(body[0])
        if len(header) > 2 and len({h.strip().lower() for h in header} & QUEUE_FIELDS) >= 2:
            return "queue", "queue_csv", [h.strip() for h in header]
    props = {m.group(1).lower() for ln in body[:80] if (m := _LIST_PROP.match(ln))}
    if len(props & QUEUE_FIELDS) >= 2:
        return "queue", "queue_list", []
    return "text", "text", []


def split_csv(line: str) -> list[str]:
    """One CSV row: commas separate, ``"..."`` quotes, ``""`` is a quote inside quotes."""
    if '"' not in line:
        return line.split(",")
    return next(csv.reader([line]), [])


_MINUTES: dict[str, int] = {}
"""Epoch milliseconds of ``YYYY-MM-DDTHH:MM`` prefixes seen (a log's lines share few minutes)."""


def parse_stamp(text: str) -> int | None:
    """Epoch milliseconds of a leading ISO-8601 stamp (no zone means UTC), or None."""
    m = _STAMP.match(text)
    if not m:
        return None
    y, mo, d, h, mi, s, frac, zone = m.groups()
    key = f"{y}{mo}{d}{h}{mi}"
    base = _MINUTES.get(key)
    if base is None:
        try:
            base = int(datetime(int(y), int(mo), int(d), int(h), int(mi), tzinfo=UTC).timestamp()) * 1000
        except ValueError:
            return None
        if len(_MINUTES) > 100_000:
            _MINUTES.clear()
        _MINUTES[key] = base
    sec = int(s or 0)
    if sec > 59:
        return None
    ms = base + sec * 1000 + (int((frac or "0")[:3].ljust(3, "0")))
    if zone and zone != "Z":
        sign = 1 if zone[0] == "+" else -1
        digits = zone[1:].replace(":", "")
        ms -= sign * (int(digits[:2]) * 3600 + int(digits[2:]) * 60) * 1000
    return ms


def iso_ms(ms: int | None) -> str | None:
    """Epoch milliseconds as ``2025-03-04T11:20:00.260Z``."""
    if ms is None:
        return None
    dt = datetime.fromtimestamp(ms / 1000, tz=UTC)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"


_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
TEXT_CAP = 300


def shown(text: str) -> str:
    """Line text for evidence: control characters escaped, long lines cut (``…`` marks the cut)."""
    text = text.rstrip("\r\n")
    cut = len(text) > TEXT_CAP
    text = _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text[:TEXT_CAP])
    return text + "…" if cut else text
