"""The ``junit`` reporter: JUnit XML for CI test dashboards (Jenkins, GitLab, Azure).

Layout (SPEC §7):

* one ``<testsuite name="POLICY.TARGET">`` per (policy, target), in result order;
* one ``<testcase>`` per rule, ``classname="POLICY.TARGET"`` with the dots of
  the target name replaced by ``_`` (Jenkins splits class names at dots into
  packages; the policy id keeps its dots) and ``name="RULE: title"``;
* ``fail`` -> ``<failure message=...>`` whose body holds the message, one
  ``key=value`` line per evidence item, expected/actual and the remediation;
  ``error`` -> ``<error message=...>``; ``skip`` -> ``<skipped message=reason>``;
  ``waived`` -> ``<skipped message="waived: REASON (expires DATE)">``.

Text from hosts and logs may hold control characters that XML 1.0 cannot
carry; they are written as ``\\x1b``-style escapes (see
:func:`scanner.output.printable`) rather than silently dropped.

Speed: a scan of 10,000 targets x 25 rules gives 250,000 test cases. The
``junit-xml`` library builds an ElementTree, serialises it in pure Python and
then scrubs the whole string with a regex (about 14 s for that scan, ElementTree
alone 3 s, even without its minidom pretty-printing). So this module streams
the XML itself, suite by suite, with memoised escaping; its tests check that
the document has the same elements, attributes and texts as ``junit-xml``
produces for the same report, and that it parses.

The labels of a failure's body and a waiver's text (``evidence:``, ``waived:``...)
are in the report's language (``report.lang``); element and attribute names,
classnames and statuses are not text a person reads there, and stay as they are.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from typing import IO

from scanner.api import JSON, Reporter, ReportOptions, ResultStream, Status, hookimpl
from scanner.gcpause import paused_gc
from scanner.i18n import N_, translated
from scanner.output import UNPRINTABLE, printable
from scanner.placeholders import readable
from scanner.report import Report, Result
from scanner.reporters import origins


def classname(policy: str, target: str) -> str:
    """``POLICY.TARGET`` with the target's dots as ``_`` so Jenkins keeps it one class."""
    return f"{policy}.{target.replace('.', '_')}"


_PASS, _FAIL, _ERROR, _SKIP, _WAIVED = Status.PASS, Status.FAIL, Status.ERROR, Status.SKIP, Status.WAIVED
_LITERALS = {None: "null", True: "true", False: "false"}
MAX_VALUE_CHARS = 400
# the words of a failure's body and a waiver's text, marked for the ``policyscan`` catalog
TEXT = {
    "evidence": N_("evidence:"),
    "expected": N_("expected:"),
    "actual": N_("actual:"),
    "remediation": N_("remediation:"),
    "no_reason": N_("no reason given"),
    "waived": N_("waived: {reason}"),
    "waived_until": N_("waived: {reason} (expires {date})"),
    "not_read": N_("(not read: the check could not be carried out)"),
}


texts = translated(TEXT)
"""The table in a language (English where the catalog has no translation)."""

"""Evidence values longer than this are cut in the failure body."""


_json_memo: dict[int, tuple[JSON, str]] = {}


def _scalar(value: JSON) -> str:
    """A value as evidence text: strings as they are, anything else as compact JSON."""
    kind = type(value)
    if kind is str:
        return value
    if kind is int:
        return str(value)
    if value is None or kind is bool:
        return _LITERALS[value]
    # Lists and objects are mostly a policy's own operands (``in: [1, 4294967295]``), the
    # very same object for every target: remembered by identity, holding the object.
    hit = _json_memo.get(id(value))
    if hit is not None and hit[0] is value:
        return hit[1]
    text = json.dumps(value, ensure_ascii=False)
    if len(_json_memo) >= 4096:
        _json_memo.clear()
    _json_memo[id(value)] = (value, text)
    return text


def _shown(value: JSON, lang: str) -> str:
    """An expected or actual value in a test case's body: a missing one in the report's language."""
    return readable(None, lang) if value is None else _scalar(value)


def _capped(text: str) -> str:
    if len(text) <= MAX_VALUE_CHARS:
        return text
    return f"{text[:MAX_VALUE_CHARS]}... ({len(text) - MAX_VALUE_CHARS} more characters in the JSON report)"


def _evidence_line(item: Mapping[str, JSON]) -> str:
    parts = []
    for k, v in item.items():
        if v is None:
            continue
        text = v if type(v) is str else _scalar(v)
        if len(text) > MAX_VALUE_CHARS:
            text = _capped(text)
        parts.append(f"{k}={text}")
    return " ".join(parts)


def evidence_lines(evidence: Iterable[Mapping[str, JSON]]) -> list[str]:
    """One line per evidence item: ``source=a.reg:3 key=HKLM\\... value=Enabled``.

    Empty fields (null) are left out; a very long value (an SMTP transcript) is
    cut at :data:`MAX_VALUE_CHARS`, the JSON report keeps it whole.
    """
    return [_evidence_line(item) for item in evidence]


def waiver_text(result: Result, lang: str = "en") -> str:
    """``waived: REASON (expires DATE)`` from the result's waiver mapping, in ``lang``."""
    t = texts(lang)
    waiver = result.waiver or {}
    reason = waiver.get("reason") or t["no_reason"]
    expires = waiver.get("expires")
    return t["waived_until"].format(reason=reason, date=expires) if expires else t["waived"].format(reason=reason)


def _body(result: Result, with_remediation: bool, lang: str = "en", origin: str = "") -> str:
    """A test case's text; ``origin``: what overlays changed of its rule, in words ("" for none)."""
    t = texts(lang)
    lines = [result.message]
    if result.evidence:
        lines.append(t["evidence"])
        lines.extend("  " + _evidence_line(item) for item in result.evidence)
    if result.expected is not None or result.actual is not None:
        # a missing value reads as remediation text says it ("absent", "ausente"), not JSON's null
        lines.append(f"{t['expected']} {_shown(result.expected, lang)}")
        # an error read nothing: "absent" would claim the value was seen to be missing
        unread = result.actual is None and result.status == "error"
        lines.append(f"{t['actual']} {t['not_read'] if unread else _shown(result.actual, lang)}")
    if with_remediation and result.remediation:
        lines.append(f"{t['remediation']} {result.remediation}")
    if origin:  # an overlay's severity must not pass for the base policy's own
        lines.append(f"{origins.texts(lang)['changed']} {origin}")
    return "\n".join(lines)


# Most text needs no escaping at all, and is used as it is. For ASCII text, deleting every
# byte that needs nothing and finding nothing left says so (1 us for a 600-character failure
# body, where a regex search over the same text takes 7 us); other text takes the regex.
_TEXT_SAFE = bytes(b for b in range(0x20, 0x7F) if b not in b"&<>") + b"\n\t"
_ATTR_SAFE = bytes(b for b in range(0x20, 0x7F) if b not in b'&<>"')
_TEXT_WORK = re.compile(f"[&<>\r{UNPRINTABLE}]")
_ATTR_WORK = re.compile(f"[&<>\"\r\n\t{UNPRINTABLE}]")


def _clean(text: str, safe: bytes, work: re.Pattern[str]) -> bool:
    if text.isascii():
        return not text.encode("ascii").translate(None, safe)
    return work.search(text) is None


def _escape_text(text: str) -> str:
    if _clean(text, _TEXT_SAFE, _TEXT_WORK):
        return text
    text = printable(text)
    if "&" in text:
        text = text.replace("&", "&amp;")
    if "<" in text:
        text = text.replace("<", "&lt;")
    if ">" in text:
        text = text.replace(">", "&gt;")
    if "\r" in text:  # a raw CR would be read back as LF
        text = text.replace("\r", "&#13;")
    return text


def _escape_attr(text: str) -> str:
    if _clean(text, _ATTR_SAFE, _ATTR_WORK):
        return text
    text = _escape_text(text)
    if '"' in text:
        text = text.replace('"', "&quot;")
    if "\n" in text or "\t" in text:  # attribute-value normalisation would turn them into spaces
        text = text.replace("\n", "&#10;").replace("\t", "&#9;")
    return text


class _Escaper:
    """Memoised attribute escaping: rule names, titles and messages repeat across thousands of targets."""

    def __init__(self) -> None:
        self._cache: dict[str, str] = {}

    def __len__(self) -> int:
        return len(self._cache)

    def clear(self) -> None:
        self._cache.clear()

    def __call__(self, text: str) -> str:
        escaped = self._cache.get(text)
        if escaped is None:
            escaped = self._cache[text] = _escape_attr(text)
        return escaped


def _child(tag: str, message: str, body: str | None) -> str:
    if body is None:
        return f'<{tag} type="{tag}" message="{message}"/>'
    return f'<{tag} type="{tag}" message="{message}">{_escape_text(body)}</{tag}>'


def _testcase(result: Result, cls: str, attr: _Escaper, lang: str = "en", origin: str = "") -> str:
    """One ``<testcase>`` element as text (already indented); ``origin``: see :func:`_body`."""
    head = f'    <testcase classname="{cls}" name="{attr(f"{result.rule}: {result.title}")}"'
    status = result.status
    if status is _PASS:
        return head + "/>\n"
    if status is _FAIL:
        child = _child("failure", attr(result.message), _body(result, True, lang, origin))
    elif status is _ERROR:
        child = _child("error", attr(result.message), _body(result, False, lang, origin))
    elif status is _WAIVED:
        child = _child("skipped", attr(waiver_text(result, lang)), _body(result, True, lang, origin))
    else:  # skip, and any status a later version adds: never reported as a pass
        child = _child("skipped", attr(result.message or str(status)), None)
    return f"{head}>\n      {child}\n    </testcase>\n"


def _counts(results: list[Result]) -> dict[str, int]:
    by_status = Counter(r.status for r in results)
    failures, errors = by_status[_FAIL], by_status[_ERROR]
    skipped = len(results) - failures - errors - by_status[_PASS]
    return {"tests": len(results), "failures": failures, "errors": errors, "skipped": skipped}


def _count_attrs(counts: Mapping[str, int]) -> str:
    return " ".join(f'{k}="{v}"' for k, v in counts.items())


def head(report: Report) -> bytes:
    """The XML declaration and the opening ``<testsuites>`` with the run's totals."""
    summary = report.summary()
    failures, errors = summary["fail"], summary["error"]
    total = {
        "tests": summary["total"],
        "failures": failures,
        "errors": errors,
        "skipped": summary["total"] - failures - errors - summary["pass"],
    }
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n'
        f'<testsuites name="policyscan" {_count_attrs(total)} time="0">\n'
    ).encode()


_attr = _Escaper()


def write_suites(report: Report, results: Sequence[Result], out: IO[bytes]) -> None:
    """The ``<testsuite>`` elements of a run of results, one per (policy, target), in result order."""
    groups = _grouped(results)
    for start in range(0, len(groups), _SUITES_PER_WRITE):
        # printable() has already spelled out surrogates and anything else UTF-8 cannot carry
        out.write(_render_suites(report, groups[start : start + _SUITES_PER_WRITE]).encode("utf-8"))


def _grouped(results: Iterable[Result]) -> list[tuple[tuple[str, str], list[Result]]]:
    groups: dict[tuple[str, str], list[Result]] = {}
    for r in results:  # sorted already; the dict keeps one suite per pair regardless
        groups.setdefault((r.policy, r.target), []).append(r)
    return list(groups.items())


def _render_suites(report: Report, groups: Sequence[tuple[tuple[str, str], list[Result]]]) -> str:
    attr = _attr
    if len(attr) > 200_000:  # memoised names and messages; bounded for endless runs
        attr.clear()
    stamp = report.started_at.strftime("%Y-%m-%dT%H:%M:%S")
    lang = report.lang
    changed = origins.by_rule(report)
    parts = []
    with paused_gc():
        for (policy, target), group in groups:
            cls = attr(classname(policy, target))
            parts.append(
                f'  <testsuite name="{attr(f"{policy}.{target}")}" {_count_attrs(_counts(group))} '
                f'time="0" hostname="{attr(target)}" timestamp="{stamp}">\n'
            )
            parts.extend(_testcase(r, cls, attr, lang, changed.get((policy, r.rule), "")) for r in group)
            parts.append("  </testsuite>\n")
    return "".join(parts)


_TAIL = b"</testsuites>\n"
_SUITES_PER_WRITE = 50  # about 100 KB of XML


def tail(_report: Report) -> bytes:
    return _TAIL


STREAM = ResultStream(head=head, write_results=write_suites, tail=tail)


def write(report: Report, stream: IO[str], options: ReportOptions) -> None:
    """Write ``report`` as JUnit XML to ``stream``, a few hundred suites at a time (``options`` unused)."""
    stream.write(head(report).decode("utf-8"))
    groups = _grouped(report.results)
    for start in range(0, len(groups), _SUITES_PER_WRITE):
        stream.write(_render_suites(report, groups[start : start + _SUITES_PER_WRITE]))
    stream.write(_TAIL.decode("utf-8"))


@hookimpl
def register_reporters() -> list[Reporter]:
    return [
        Reporter(
            name="junit",
            write=write,
            description="JUnit XML: a test suite per (policy, target), a test case per rule",
            extension=".xml",
            stream=STREAM,
        )
    ]
