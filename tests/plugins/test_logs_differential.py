"""The logs collector against a plain oracle on generated corpora: the counts must be equal.

Corpora: W3C send/receive logs, Export-Csv queue lists and plain text, in UTF-8
(with or without BOM) or UTF-16 (either byte order, with or without BOM), CRLF
or LF, plain or gzip (one member or several), with dated, undated and
out-of-order lines. Rules: literals and RE2 regexes (scoped flags, POSIX
classes), ignore_case, a field restriction and ``within`` windows. The oracle
decodes each file whole, splits it into lines, skips W3C/CSV headers, and
searches each line (or its column) with RE2, as SPEC §4.1 says.
"""

from __future__ import annotations

import gzip
import tempfile
from datetime import timedelta
from pathlib import Path
from typing import Any

import re2
from exchange_logs import NOW, SEND_FIELDS, csv_value, run_checks, w3c
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from plugins.logs.formats import parse_stamp, split_csv
from scanner.api import Status

TEXTS = [
    "TLS negotiation failed with error SocketError", "tls NEGOTIATION failed with error SocketError",
    "TLS\tnegotiation failed with error NoCredentials", "421 4.4.2 Connection dropped due to SocketError",
    'say "421 4.4.2", again', "SP_PROT_TLS1_0_CLIENT negotiated", "SP_PROT_TLS1_2_CLIENT negotiated",
    "SP_PROT_SSL3_SERVER", "socket error", "220 2.0.0 SMTP server ready", "", "caf\u00e9 \u212a",
]
RULES: list[dict[str, Any]] = [
    {"forbid": [{"literal": "TLS negotiation failed with error SocketError"}]},
    {"forbid": [{"regex": "(?i:tls negotiation failed)"}]},
    {"forbid": [{"regex": r"TLS[[:space:]]negotiation failed with error \w+"}], "ignore_case": True},
    {"sources": ["smtp_send"], "forbid": [{"literal": "421 4.4.2"}], "field": "data"},
    {"forbid": [{"literal": "socketerror"}, {"literal": "SP_PROT_SSL3_"}], "ignore_case": True, "within": "7d"},
    {"forbid": [{"regex": "SP_PROT_(SSL3|TLS1_0)_"}], "within": "1d", "max_count": 1},
    {"forbid": [{"literal": "\u212a"}], "ignore_case": True},
]
TIMES = st.sampled_from([NOW - timedelta(hours=2), NOW - timedelta(days=3), NOW - timedelta(days=30), None])
ENCODINGS = ["utf-8", "utf-8-bom", "utf-16-le", "utf-16-le-bom", "utf-16-be", "utf-16-be-bom"]


def _stamp(t: Any) -> str:
    return "" if t is None else t.strftime("%Y-%m-%dT%H:%M:%S.000Z")


@st.composite
def log_file(draw: st.DrawFn, kind: str) -> tuple[str, str]:
    """``(kind, text)`` of one generated log (text with LF line ends)."""
    rows = draw(st.lists(st.tuples(TIMES, st.sampled_from(TEXTS), st.sampled_from(TEXTS)), min_size=1, max_size=8))
    if kind in ("smtp_send", "smtp_receive"):
        body = [[_stamp(t), "Connector", "S1", str(n), "10.0.0.10:25", "52.101.8.30:25", "*", data, ctx]
                for n, (t, data, ctx) in enumerate(rows)]
        text = w3c(kind, body, bom=False, eol="\n").decode()
        if draw(st.booleans()):  # a service restart: the header repeats, with the columns in another order
            order = draw(st.permutations(range(9)))
            names = SEND_FIELDS.split(",")
            text += "#Fields: " + ",".join(names[i] for i in order) + "\n"
            text += "".join(",".join(csv_value(row[i]) for i in order) + "\n" for row in reversed(body))
        return kind, text
    if kind == "queue":
        head = '"Identity","NextHopDomain","LastError","Status"\n'
        return kind, "#TYPE Queue\n" + head + "".join(
            f'"EX01\\{n}","contoso.com","{data.replace(chr(34), chr(34) * 2)}","{_stamp(t)}"\n'
            for n, (t, data, _) in enumerate(rows))
    return kind, "".join(f"{_stamp(t)} mx1 smtp: {data} / {ctx}\n".lstrip() for t, data, ctx in rows)


def encode(text: str, encoding: str, crlf: bool, gz: int) -> bytes:
    if crlf:
        text = text.replace("\n", "\r\n")
    codec = encoding.removesuffix("-bom")
    data = text.encode(codec)
    if encoding.endswith("-bom") or encoding == "utf-8-bom":
        data = {"utf-8": b"\xef\xbb\xbf", "utf-16-le": b"\xff\xfe", "utf-16-be": b"\xfe\xff"}[codec] + data
    if gz == 1:
        return gzip.compress(data, mtime=0)
    if gz == 2:
        cut = len(data) // 2
        return gzip.compress(data[:cut], mtime=0) + gzip.compress(data[cut:], mtime=0)
    return data


def oracle(rule: dict[str, Any], files: list[tuple[str, str]]) -> int:
    """Matching lines of a rule over the corpus, the plain way."""
    start = None
    if "within" in rule:
        days = {"7d": 7, "1d": 1}[rule["within"]]
        start = int((NOW - timedelta(days=days)).timestamp() * 1000)
    opts = re2.Options()
    opts.case_sensitive = not rule.get("ignore_case", False)
    rxs = [re2.compile(re2.escape(s["literal"]) if "literal" in s else s["regex"], opts) for s in rule["forbid"]]
    total = 0
    for kind, text in files:
        if rule.get("sources") and kind not in rule["sources"]:
            continue
        fields: list[str] = []
        header: list[str] | None = None
        for line in text.split("\n")[:-1]:
            line = line.rstrip("\r")
            if kind != "text" and line.startswith("#"):
                if line.lower().startswith("#fields:"):
                    fields = [f.strip().lower() for f in line.split(":", 1)[1].split(",")]
                continue
            row = split_csv(line) if kind != "text" else None
            if kind == "queue" and header is None:
                header = [c.strip().lower() for c in row or []]
                continue
            subject = line
            if rule.get("field"):
                subject = (row or [])[fields.index(rule["field"])]
            if not any(rx.search(subject) for rx in rxs):
                continue
            if start is not None:
                stamp = parse_stamp(row[fields.index("date-time")] if kind in ("smtp_send", "smtp_receive") and row
                                    else line if kind == "text" else "")
                if stamp is not None and stamp < start:
                    continue
            total += 1
    return total


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    files=st.lists(st.sampled_from(["smtp_send", "smtp_receive", "queue", "text"]).flatmap(log_file),
                   min_size=1, max_size=3),
    shapes=st.lists(st.tuples(st.sampled_from(ENCODINGS), st.booleans(), st.sampled_from([0, 1, 2])),
                    min_size=3, max_size=3),
)
def test_collector_counts_equal_the_plain_oracle(files: list[tuple[str, str]],
                                                 shapes: list[tuple[str, bool, int]]) -> None:
    files = [("smtp_send", log_file_send_default()), *files]  # the field rule always has a file to read
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        logs = []
        for n, ((kind, text), (enc, crlf, gz)) in enumerate(zip(files, [*shapes, ("utf-8", True, 0)], strict=False)):
            name = f"f{n}.log" + (".gz" if gz else "")
            (base / name).write_bytes(encode(text, enc, crlf, gz))
            logs.append(f"{kind}={name}")
        _, outcomes = run_checks(base, logs, RULES)
    for rule, got in zip(RULES, outcomes, strict=True):
        want = oracle(rule, files)
        assert got.actual == want, (rule, got.message)
        assert got.status is (Status.FAIL if want > rule.get("max_count", 0) else Status.PASS), got.message


def log_file_send_default() -> str:
    rows = [[_stamp(NOW - timedelta(hours=1)), "C", "S0", "0", "", "", "*", csv_value('say "421 4.4.2", x'), ""]]
    return w3c("smtp_send", rows, fields=SEND_FIELDS, bom=False, eol="\n").decode()
