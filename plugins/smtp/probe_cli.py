"""``policyscan probe HOST[:PORT]``: the whole matrix of one endpoint, as console text or JSON.

One probe asks everything: STARTTLS, each of SSLv3..TLSv1.3, MAIL FROM:<>
before STARTTLS (then RSET and QUIT), and the certificate. ``--report console``
(the default) prints a table; ``--report json[=PATH]`` prints the probe
document (``schema: policyscan/probe/v1``, with the full facts and transcript).
Exit 0 when the endpoint answered, 3 when it could not be probed, 2 for a bad
endpoint or report format.
"""

from __future__ import annotations

import json
import math
from datetime import datetime
from typing import IO, Any

from plugins.smtp.certificate import days_left, not_yet_valid
from plugins.smtp.endpoint import EndpointError, parse_endpoint
from plugins.smtp.probe import VERSIONS, Plan, connection_limit, run_plans
from plugins.smtp.texts import Reader
from scanner.api import Reporter, ReportOptions
from scanner.errors import UsageError
from scanner.i18n import N_
from scanner.output import parse_report_spec, printable, write_atomic

FORMATS = ("console", "json")
PROBE_SCHEMA = "policyscan/probe/v1"
MAX_TIMEOUT = 600.0
"""The largest ``--timeout`` (as a rule's ``timeout``): a deadline per stage, so the probe always ends."""


def probe_document(facts: dict[str, Any], now: datetime) -> dict[str, Any]:
    """The JSON document of one probe: a summary on top, the facts (transcript included) below."""
    return {
        "schema": PROBE_SCHEMA,
        "endpoint": facts["endpoint"],
        "now": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "answered": facts.get("answered", False),
        "error": facts.get("error"),
        "starttls": (facts.get("starttls") or {}).get("result"),
        "plaintext_mail": (facts.get("plaintext_mail") or {}).get("result"),
        "versions": {v: r["verdict"] for v, r in facts.get("versions", {}).items()},
        "certificate": facts.get("certificate"),
        "addresses": {p["address"]: {"starttls": (p.get("starttls") or {}).get("result"),
                                     "versions": {v: r["verdict"] for v, r in p.get("versions", {}).items()}}
                      for p in facts.get("parts", [])},
        "facts": facts,
    }


_WORDS = {"accepted": N_("accepted"), "refused": N_("refused"), "error": N_("error"),
          "not offered": N_("not offered"), "not_offered": N_("not offered"), "offered": N_("offered"),
          "temporary": N_("temporary"), "not_tried": N_("not tried")}
"""The probe's verdict words, as the table shows them (the JSON document keeps them in English)."""


def _word(tr: Reader, value: Any) -> str:
    return tr(_WORDS[value]) if isinstance(value, str) and value in _WORDS else str(value)


def _label(text: str) -> str:
    """A label padded to the table's first column (labels differ in length by language)."""
    return f"  {text:<12} "


def _validity(cert: dict[str, Any], days: float, now: datetime, tr: Reader) -> str:
    if not_yet_valid(cert, now):
        starts = (datetime.strptime(cert["not_before"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=now.tzinfo) - now)
        return tr(N_("(NOT YET VALID: starts in {days} days)")).format(days=f"{starts.total_seconds() / 86400:.0f}")
    if days >= 0:
        return tr(N_("({days} days left)")).format(days=f"{days:.0f}")
    return tr(N_("(EXPIRED {days} days ago)")).format(days=f"{-days:.0f}")


def _certificate_lines(cert: dict[str, Any], now: datetime, tr: Reader) -> list[str]:
    if "error" in cert:
        return ["  " + tr(N_("not available: {reason}")).format(reason=tr.reason(cert["error"]))]
    days = days_left(cert, now)
    names = ", ".join(cert.get("san_dns", []) + cert.get("san_ip", [])) or tr(N_("(no SAN) CN {names}")).format(
        names=", ".join(cert.get("common_names", [])))
    curve = f" {cert['curve']}" if cert.get("curve") else ""
    self_signed = "  " + tr(N_("(self-signed)")) if cert.get("self_signed") else ""
    return [
        _label(tr(N_("subject"))) + cert["subject"],
        _label(tr(N_("names"))) + names,
        _label(tr(N_("issuer"))) + cert["issuer"] + self_signed,
        _label(tr(N_("valid"))) + f"{cert['not_before']} .. {cert['not_after']}  " + _validity(cert, days, now, tr),
        _label(tr(N_("key"))) + tr(N_("{type} {bits} bits (RSA-equivalent {rsa})")).format(
            type=f"{cert['key_type']}{curve}", bits=cert["key_bits"], rsa=cert["rsa_equivalent_bits"]),
        _label(tr(N_("signature"))) + cert["signature_algorithm"],
        _label("sha256") + cert["sha256"],
    ]


def console_text(facts: dict[str, Any], now: datetime, lang: str = "en") -> str:
    """The probe as a table for people, in ``lang``; a name with several addresses gives one table per address.

    Labels and the probe's own reasons are translated; what the server said (greeting, replies) is quoted."""
    tr = Reader(lang, facts.get("texts"))
    if facts.get("parts"):
        head = tr(N_("{endpoint} has {n} addresses: {addresses}")).format(
            endpoint=facts["endpoint"], n=len(facts["parts"]), addresses=", ".join(facts["addresses"])) + "\n"
        texts = facts.get("texts") or {}
        return head + "".join(console_text({**part, "texts": {**texts, **(part.get("texts") or {})}}, now, lang)
                              for part in facts["parts"])
    where = f" ({facts['address']})" if facts.get("address") else ""
    lines = [tr(N_("SMTP TLS probe of {endpoint} in {ms} ms")).format(
        endpoint=f"{facts['endpoint']}{where}", ms=f"{facts.get('elapsed_ms', 0):.0f}")]
    lines.append(_label("SNI") + (facts.get("sni") or tr(N_("(none: an IP address)"))))
    if facts.get("error"):
        lines.append("  " + tr(N_("could not be probed: {reason}")).format(reason=tr.reason(facts["error"])))
    first = next((c for c in facts.get("connections", []) if "greeting" in c), None)
    if first:
        lines.append(_label(tr(N_("greeting"))) + f"{first['greeting']['code']} "
                     f"{first['greeting']['text'].splitlines()[0]}")
    st = facts.get("starttls") or {}
    if st:
        lines.append(_label("STARTTLS") + _word(tr, st.get("result")) + (f": {st['quoted']}" if st.get("quoted")
                                                                           else ""))
    pm = facts.get("plaintext_mail") or {}
    if pm:
        lines.append(_label(tr(N_("plain MAIL"))) + f"{_word(tr, pm.get('result'))}: "
                     f"{pm.get('quoted') or tr.reason(pm.get('reason', ''))}")
    lines.append(tr(N_("Protocols")))
    for version in VERSIONS:
        v = facts.get("versions", {}).get(version)
        if v is None:
            continue
        detail = v.get("cipher") if v["verdict"] == "accepted" else tr.reason(v.get("reason"))
        lines.append(f"  {version:<8} {_word(tr, v['verdict']):<9} {detail or ''}".rstrip())
    lines.append(tr(N_("Certificate")))
    lines += _certificate_lines(facts.get("certificate") or {"error": tr(N_("not collected"))}, now, tr)
    return printable("\n".join(lines)) + "\n"


def redacted(facts: dict[str, Any]) -> dict[str, Any]:
    """``facts`` with every e-mail address, IP address and host name masked (``probe --redact``):
    in the transcript, the replies, the addresses and the certificate's names alike, and in keys (the
    ``texts`` table is keyed by the probe's English reasons, which may quote the server)."""
    from scanner.redact import Redactor

    masked = Redactor().json(facts, keys=True)  # keys too: ``texts`` is keyed by the English reason
    assert isinstance(masked, dict)
    return masked


def run_probe_command(endpoint: str, report_specs: list[str], timeout: float, now: datetime,
                      stdout: IO[str], servername: str | None = None, redact: bool = False,
                      lang: str = "en") -> int:
    """Probe ``endpoint`` fully and write each requested report; 0 answered, 3 could not be probed.

    ``servername`` is the SNI sent in every handshake (as a rule's ``servername:``);
    by default the host name, and none for an IP address. ``timeout`` must be finite, above 0 and at
    most :data:`MAX_TIMEOUT` (else :class:`UsageError`, exit 2). A host name is probed on every address
    it resolves to; give an IP address to probe one. ``redact`` masks e-mail addresses, IP addresses and
    host names in every output (the JSON document then says ``"redacted": true``).
    """
    try:
        parsed = parse_endpoint(endpoint)
    except EndpointError as exc:
        raise UsageError(str(exc)) from None
    if servername is not None and not servername.strip():
        raise UsageError("--servername: an empty name; leave the option out to send the host name")
    if servername is not None and any(c.isspace() or not c.isprintable() for c in servername):
        raise UsageError(f"--servername {servername!r}: a name has no spaces or control characters")
    if not (isinstance(timeout, int | float) and math.isfinite(timeout) and 0 < timeout <= MAX_TIMEOUT):
        raise UsageError(f"--timeout {timeout!r}: seconds, a number above 0 and at most {MAX_TIMEOUT:g}")
    specs = [parse_report_spec(s) for s in report_specs] or [("console", None)]
    for fmt, _ in specs:
        if fmt not in FORMATS:
            raise UsageError(f"--report {fmt!r}: probe writes only {' or '.join(FORMATS)}")
    plan = Plan(parsed, servername=servername, versions=set(VERSIONS), plaintext_mail=True, certificate=True,
                timeout=timeout)
    [facts] = run_plans([plan], connection_limit(1))
    answered = bool(facts.get("answered") and not facts.get("error"))
    if redact:
        facts = redacted(facts)
    for fmt, path in specs:
        document = {**probe_document(facts, now), "redacted": redact}
        text = (json.dumps(document, indent=2, ensure_ascii=False) + "\n" if fmt == "json"
                else console_text(facts, now, lang))
        if path is None:
            stdout.write(text)
        else:
            writer = Reporter(fmt, lambda _report, stream, _options, text=text: stream.write(text))
            write_atomic(path, writer, None, ReportOptions())  # type: ignore[arg-type]
    return 0 if answered else 3
