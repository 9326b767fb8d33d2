"""Judge ``smtp_tls`` checks from collected probe facts alone (no network).

Each endpoint gives a list of judged items (``starttls``, each accepted or
rejected version, ``plaintext_mail``, each certificate requirement), every
item ``pass``, ``fail`` or ``error``. The check is ``fail`` if any item fails,
else ``error`` if any errors, else ``pass`` (SPEC §4.1). A version whose answer
was not decided is ``error``, never "refused"; STARTTLS required but not
offered or refused (``5xx``) fails whatever ``accept``/``reject`` say; a
temporary ``4xx`` is ``error`` (it decides nothing, and ``not:`` must not turn
it into a pass). ``starttls: required`` passes only when a TLS handshake was
seen to follow the ``220``: an accepted version, or a completed handshake.

A host name with several addresses was probed on each (``parts`` in the
facts): each address is judged as a part of its own, labelled
``host:port (address)``. A stage that took longer than the rule's own
``timeout`` (the shared probe waits for the longest of the rules' timeouts)
makes that endpoint's items ``error`` for this rule. Transcripts go into the
evidence capped (:data:`EVIDENCE_LINE`, :data:`EVIDENCE_BUDGET`).

No pass without proof: every item names the observation it rests on (the
server's reply, the ServerHello or alert, the certificate's fingerprint), and
an item that would pass or fail without one is ``error``. Replies are
re-read here by the rules of :mod:`plugins.smtp.replies` (not taken from a
stored label), so a temporary ``4xx`` to STARTTLS never stands for "no
STARTTLS", and a ``501`` to MAIL never for "plaintext refused". The outcome's
``examined`` is, per endpoint, each item's proof.

Messages and item details read in the run's language (``--lang``, the
``policyscan-smtp`` catalog), the probe's own reasons too (their templates are
in the facts, :mod:`plugins.smtp.texts`); ``actual``, ``examined`` and the
transcripts keep their values and the server's words as they were. The
``fields`` for ``${actual}``, ``${expected}`` and ``${observed}`` are texts for a
person, in the run's language (``STARTTLS not offered``, not ``not_offered``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from plugins.smtp.certificate import days_left, hostname_matches, not_yet_valid, rsa_equivalent_bits
from plugins.smtp.dialogue import STAGES, Reply
from plugins.smtp.endpoint import EndpointError, parse_endpoint
from plugins.smtp.facts_keys import probe_key
from plugins.smtp.replies import plaintext_answer, starttls_answer
from plugins.smtp.texts import Reader, Said, render
from scanner.api import JSON, EvalContext, Outcome, Status
from scanner.combine import combine_parts
from scanner.i18n import N_
from scanner.placeholders import readable

EVIDENCE_LINE = 512
"""Longest string from a transcript copied into evidence (characters); the rest is counted."""
EVIDENCE_BUDGET = 16 * 1024
"""Characters of transcript strings copied into one endpoint's evidence, all connections together."""

_NO_STARTTLS = ("not_offered", "refused")
"""STARTTLS answers that decide "no TLS version can be negotiated": not in EHLO, or a permanent 5xx."""


_WORDS: dict[str, str] = {
    "pass": N_("pass"), "fail": N_("fail"), "error": N_("error"),
    "accepted": N_("accepted"), "refused": N_("refused"), "temporary": N_("temporary"),
    "not_offered": N_("not offered"), "not_tried": N_("not tried"), "offered": N_("offered"),
    "no TLS": N_("no TLS"), "no STARTTLS": N_("no STARTTLS"), "not yet valid": N_("not yet valid"),
    "match": N_("match"), "mismatch": N_("mismatch"), "required": N_("required"), "forbidden": N_("forbidden"),
    "answer": N_("answer"), "probed": N_("probed"), "at least one": N_("at least one"), "optional": N_("optional"),
}
"""Words of the ``observed``/``expected`` values (kept as they are in ``actual``, ``fields`` and the evidence),
as a message shows them."""


def _shown(value: JSON, _: Reader) -> str:
    """An observed or expected value as the message shows it: known words translated, the rest as they are."""
    if isinstance(value, str) and value in _WORDS:
        return _(_WORDS[value])
    if value is None:
        return _("None")
    return str(value)


_ITEMS: dict[str, str] = {
    "starttls": "STARTTLS", "plaintext_mail": N_("plain MAIL"), "endpoint": N_("endpoint"),
    "endpoints": N_("endpoints"), "certificate.min_days_valid": N_("certificate days left"),
    "certificate.min_key_bits": N_("certificate key bits"), "certificate.match_hostname": N_("certificate name"),
}
"""Item names as ``${actual}`` reads them (a version, ``TLSv1.2``, is its own name)."""


def _item_name(name: str, _: Reader) -> str:
    return _(_ITEMS[name]) if name in _ITEMS else name


def actual_text(actual: Mapping[str, JSON], _: Reader, lang: str = "en") -> str:
    """``actual`` (endpoint -> item -> observed) as ``${actual}`` reads it, in ``_``'s language:
    ``mx:25: STARTTLS not offered, TLSv1.2 no STARTTLS; ...`` (nothing observed reads "absent")."""

    def seen(value: JSON) -> str:
        return readable(None, lang) if value is None else _shown(value, _)

    return "; ".join(
        f"{endpoint}: " + ", ".join(f"{_item_name(str(item), _)} {seen(v)}" for item, v in items.items())
        if isinstance(items, Mapping) else f"{endpoint}: {seen(items)}"
        for endpoint, items in actual.items()
    )


def expected_text(expected: Mapping[str, JSON], _: Reader) -> str:
    """``expected`` (the check's parameters) as ``${expected}`` reads it, in ``_``'s language:
    ``STARTTLS required; accept TLSv1.2; reject TLSv1.0, TLSv1.1; plain MAIL refused``."""
    parts = [_("STARTTLS {mode}").format(mode=_shown(expected.get("starttls", "required"), _))]
    if expected.get("accept"):
        parts.append(_("accept {versions}").format(versions=", ".join(map(str, expected["accept"]))))
    if expected.get("reject"):
        parts.append(_("reject {versions}").format(versions=", ".join(map(str, expected["reject"]))))
    if expected.get("plaintext_mail"):
        parts.append(_("plain MAIL {verdict}").format(verdict=_shown(expected["plaintext_mail"], _)))
    cert = expected.get("certificate")
    if isinstance(cert, Mapping):
        if "min_days_valid" in cert:
            parts.append(_("a certificate valid for {days} days more at least").format(days=cert["min_days_valid"]))
        if "min_key_bits" in cert:
            parts.append(_("a certificate key of {bits} bits at least").format(bits=cert["min_key_bits"]))
        if cert.get("match_hostname"):
            parts.append(_("a certificate naming the host"))
    return "; ".join(parts)


def endpoints_of(params: Mapping[str, JSON], sources: Mapping[str, JSON]) -> list[str]:
    """The endpoint strings a check reads: its own ``endpoints``, else the target's ``smtp`` list."""
    raw = params.get("endpoints") or sources.get("smtp") or []
    return [raw] if isinstance(raw, str) else [str(e) for e in raw]


def _item(name: str, expected: JSON, observed: JSON, status: Status, detail: str = "",
          proof: JSON = None, tr: Reader | None = None) -> dict[str, JSON]:
    """One judged item; a pass or fail without ``proof`` (what was really seen) becomes ``error``."""
    if status in (Status.PASS, Status.FAIL) and not proof:
        _ = tr or Reader("en")
        word = _(_WORDS[status.value])
        status, detail = Status.ERROR, (
            _("{status} without an observation to rest on: {detail}").format(status=word, detail=detail) if detail
            else _("{status} without an observation to rest on").format(status=word))
    return {"item": name, "expected": expected, "observed": observed, "status": str(status), "detail": detail,
            "proof": proof}


def _reply(data: Mapping[str, Any]) -> Reply | None:
    """The SMTP reply stored in a fact (``code`` and ``text``), if there is one."""
    code = data.get("code", (data.get("reply") or {}).get("code"))
    if not isinstance(code, int):
        return None
    text = data.get("text", (data.get("reply") or {}).get("text")) or ""
    return Reply(code, tuple(str(text).split("\n")))


def starttls_result(probe: Mapping[str, Any]) -> str:
    """What STARTTLS came to: accepted, refused (5xx), temporary (4xx), not_offered, not_tried or error."""
    st = probe.get("starttls") or {}
    reply = _reply(st)
    if reply is not None:
        return starttls_answer(reply)
    result = str(st.get("result", "error" if probe.get("error") else "not_tried"))
    return result if result in ("not_offered", "not_tried") else "error"


def _starttls_items(mode: str, probe: Mapping[str, Any], _: Reader) -> list[dict[str, JSON]]:
    st = probe.get("starttls") or {}
    result = starttls_result(probe)
    detail = st.get("quoted") or _.reason(st.get("reason")) or _.reason(probe.get("error")) or ""
    proof = st.get("quoted") if result in ("accepted", "refused", "temporary", "not_offered") else None
    if mode == "required":
        status = (Status.PASS if result == "accepted" else Status.FAIL if result in _NO_STARTTLS
                  else Status.ERROR)
        if result == "temporary":
            detail = _("a temporary answer decides nothing: {reply}").format(reply=detail)
        if status == Status.PASS and not _tls_followed(probe):
            status, result = Status.ERROR, "no TLS"
            why = _.reason((probe.get("handshake") or {}).get("reason"))
            detail = (_("STARTTLS answered {reply}, but no TLS handshake was seen to follow: {reason}") if why
                      else _("STARTTLS answered {reply}, but no TLS handshake was seen to follow")).format(
                reply=detail, reason=why)
        return [_item("starttls", "required", result, status, detail, proof, _)]
    if mode == "forbidden":
        offered = st.get("offered")
        if offered is False and result != "not_offered":
            offered = None  # "not offered" must come from an EHLO that said what it offers
        status = Status.ERROR if offered is None else Status.FAIL if offered else Status.PASS
        return [_item("starttls", "forbidden", "offered" if offered else result, status, detail,
                      st.get("quoted") or ("STARTTLS in the EHLO reply" if offered else None), _)]
    return []


def _tls_followed(probe: Mapping[str, Any]) -> bool:
    """Whether a TLS handshake followed STARTTLS: some version accepted, or the stdlib handshake completed."""
    versions = probe.get("versions") or {}
    if any((v or {}).get("verdict") == "accepted" for v in versions.values()):
        return True
    return bool((probe.get("handshake") or {}).get("completed"))


def _version_items(params: Mapping[str, JSON], probe: Mapping[str, Any], _: Reader) -> list[dict[str, JSON]]:
    items = []
    st = probe.get("starttls") or {}
    no_tls = starttls_result(probe) in _NO_STARTTLS
    versions = probe.get("versions") or {}
    for want, wanted in (("accepted", params.get("accept") or []), ("refused", params.get("reject") or [])):
        for version in wanted:
            v = versions.get(version)
            if v is None:
                items.append(_item(version, want, None, Status.ERROR,
                                   _("{version} was not probed").format(version=version), tr=_))
                continue
            verdict, reason = v.get("verdict"), v.get("reason") or ""
            proof = f"{verdict}: {reason}" if verdict in ("accepted", "refused") and reason else None
            if verdict == "error" and no_tls:
                # Without STARTTLS no version can be negotiated: a decided answer, not an unknown one.
                verdict, proof = "no STARTTLS", st.get("quoted")
                status = Status.FAIL if want == "accepted" else Status.PASS
            elif verdict in ("accepted", "refused"):
                status = Status.PASS if verdict == want else Status.FAIL
            else:
                status = Status.ERROR
            items.append(_item(version, want, verdict, status, _.reason(reason), proof, _))
    return items


def _plaintext_items(params: Mapping[str, JSON], probe: Mapping[str, Any], _: Reader) -> list[dict[str, JSON]]:
    if not params.get("plaintext_mail"):
        return []
    pm = probe.get("plaintext_mail")
    reply = _reply(pm) if pm else None
    if reply is not None:
        result, said = plaintext_answer(reply)
        why = str(render(said.to_json(), _.gettext))
    elif pm:
        result, why = "error", _.reason(pm.get("reason"))
    else:
        result, why = "error", _.reason(probe.get("error")) or _("not probed")
    status = Status.PASS if result == "refused" else Status.FAIL if result == "accepted" else Status.ERROR
    detail = why if reply is None else reply.quoted if result != "error" else f"{reply.quoted}: {why}"
    return [_item("plaintext_mail", params["plaintext_mail"], result, status, detail,
                  reply.quoted if reply is not None else None, _)]


def _validity_item(want: JSON, cert: Mapping[str, Any], ctx: EvalContext, proof: JSON,
                   _: Reader) -> dict[str, JSON]:
    """``min_days_valid``: the whole validity period against ``--now`` (not yet valid fails too)."""
    try:
        days, early = days_left(dict(cert), ctx.run.now), not_yet_valid(dict(cert), ctx.run.now)
    except (KeyError, ValueError) as exc:
        return _item("certificate.min_days_valid", want, None, Status.ERROR,
                     _("validity unreadable: {error}").format(error=exc), tr=_)
    if early:
        return _item("certificate.min_days_valid", want, "not yet valid", Status.FAIL,
                     _("not valid before {not_before} (now is {now}); not_after {not_after}").format(
                         not_before=cert["not_before"], now=f"{ctx.run.now:%Y-%m-%dT%H:%M:%SZ}",
                         not_after=cert["not_after"]), proof, _)
    ok = days >= float(want)
    detail = (_("not_after {not_after}") if days >= 0 else _("not_after {not_after} (expired)")).format(
        not_after=cert["not_after"])
    return _item("certificate.min_days_valid", want, round(days, 1), Status.PASS if ok else Status.FAIL,
                 detail, proof, _)


def _certificate_items(
    req: Mapping[str, JSON], probe: Mapping[str, Any], name: str, ctx: EvalContext, _: Reader
) -> list[dict[str, JSON]]:
    cert = probe.get("certificate")
    checks = [(k, req[k]) for k in ("min_days_valid", "min_key_bits", "match_hostname") if k in req]
    if not cert or "error" in cert:
        error = _.reason(str(cert["error"])) if cert else \
            _.reason(probe.get("error")) or _("certificate was not collected")
        return [_item(f"certificate.{k}", v, None, Status.ERROR, error, tr=_) for k, v in checks]
    proof = f"certificate sha256 {cert['sha256']}" if cert.get("sha256") else None
    items = []
    for key, want in checks:
        if key == "min_days_valid":
            items.append(_validity_item(want, cert, ctx, proof, _))
        elif key == "min_key_bits":
            bits = rsa_equivalent_bits(cert)
            key_text = (_("{key_type} {bits} bits ({curve})") if cert.get("curve") else
                        _("{key_type} {bits} bits")).format(key_type=cert["key_type"], bits=cert["key_bits"],
                                                            curve=cert.get("curve"))
            items.append(_item("certificate.min_key_bits", want, bits,
                               Status.PASS if bits >= int(want) else Status.FAIL, key_text, proof, _))
        elif want:
            ok = hostname_matches(cert, name)
            names = cert.get("san_dns") or cert.get("san_ip") or cert.get("common_names")
            items.append(_item("certificate.match_hostname", name, "match" if ok else "mismatch",
                               Status.PASS if ok else Status.FAIL,
                               _("certificate names {names}").format(names=names), proof, _))
    return items


def _too_slow(params: Mapping[str, JSON], probe: Mapping[str, Any], _: Reader) -> str:
    """Why the probe's stages do not fit the rule's own timeout ("" when they do)."""
    timeout = float(str(params.get("timeout", 10.0)))
    slow = [(stage, took) for stage, took in (probe.get("stages") or {}).items() if took > timeout]
    if not slow:
        return ""
    stage, took = max(slow, key=lambda s: s[1])
    return _("{stage} took {took:.2f} s, more than this rule's timeout of {timeout:g} s").format(
        stage=_(STAGES[stage]) if stage in STAGES else stage, took=took, timeout=timeout)


def judge_endpoint(params: Mapping[str, JSON], probe: Mapping[str, Any], label: str,
                   ctx: EvalContext, tr: Reader | None = None) -> list[dict[str, JSON]]:
    """Every judged item of one endpoint (one address of it), its texts in ``tr``'s language (default: the run's)."""
    _ = tr or Reader(ctx.run.lang, probe.get("texts"))
    items = _judge_endpoint(params, probe, label, ctx, _)
    slow = _too_slow(params, probe, _)
    if slow:
        for item in items:
            if item["status"] != str(Status.ERROR):
                item["status"], item["proof"] = str(Status.ERROR), None
                item["detail"] = f"{slow}" + (f" ({item['detail']})" if item["detail"] else "")
    return items


def _judge_endpoint(params: Mapping[str, JSON], probe: Mapping[str, Any], label: str,
                    ctx: EvalContext, _: Reader) -> list[dict[str, JSON]]:
    items = _starttls_items(str(params.get("starttls", "required")), probe, _)
    items += _version_items(params, probe, _)
    items += _plaintext_items(params, probe, _)
    if params.get("certificate"):
        servername = params.get("servername")
        name = str(servername) if servername else parse_endpoint(label).host
        items += _certificate_items(params["certificate"], probe, name, ctx, _)
    if not items:  # e.g. ``starttls: optional`` and nothing else: nothing was asked, nothing can pass
        items.append(_item("endpoint", "answer", "error", Status.ERROR,
                           _.reason(probe.get("error")) or _("the check asks nothing of this endpoint"), tr=_))
    return items


def _cut(text: str, budget: list[int]) -> str:
    keep = max(0, min(EVIDENCE_LINE, budget[0]))
    budget[0] -= min(len(text), keep)
    if len(text) <= keep:
        return text
    more = len(text[keep:].encode("utf-8", "replace"))
    return f"{text[:keep]}…({more} bytes more)"


def capped(value: Any, budget: list[int]) -> Any:
    """A copy of transcript data for evidence: each string at most :data:`EVIDENCE_LINE` characters, all
    strings together at most ``budget[0]`` (spent as it goes); what is cut says how many bytes it had."""
    if isinstance(value, str):
        return _cut(value, budget)
    if isinstance(value, Mapping):
        return {k: capped(v, budget) for k, v in value.items()}
    if isinstance(value, list | tuple):
        out = []
        for i, v in enumerate(value):
            if budget[0] <= 0:
                out.append(f"…({len(value) - i} more entries)")
                break
            out.append(capped(v, budget))
        return out
    return value


def evaluate(params: Mapping[str, JSON], facts: JSON, ctx: EvalContext) -> Outcome:
    """Judge one ``smtp_tls`` check against the facts of its target."""
    probes = (facts or {}).get("probes", {}) if isinstance(facts, Mapping) else {}
    servername = params.get("servername")
    expected = {k: params[k] for k in ("accept", "reject", "plaintext_mail", "certificate") if k in params}
    expected["starttls"] = params.get("starttls", "required")
    actual: dict[str, JSON] = {}
    evidence: list[dict[str, JSON]] = []
    judged: list[tuple[str, dict[str, JSON]]] = []
    examined: dict[str, JSON] = {}
    _ = Reader(ctx.run.lang)
    for raw in endpoints_of(params, ctx.target.sources):
        try:
            label = parse_endpoint(raw).label
        except EndpointError as exc:
            said = exc.args[0] if exc.args else None
            why = str(render(said.to_json(), _.gettext)) if isinstance(said, Said) else str(exc)
            judged.append((raw, _item("endpoint", "HOST[:PORT]", raw, Status.ERROR, why, tr=_)))
            continue
        probe = probes.get(probe_key(label, servername))
        if probe is None:
            judged.append((label, _item("endpoint", "probed", None, Status.ERROR, _("endpoint was not probed"),
                                        tr=_)))
            continue
        parts = probe.get("parts") or [probe]
        for part in parts:
            where = f"{label} ({part.get('address')})" if len(parts) > 1 else label
            texts = {**(probe.get("texts") or {}), **(part.get("texts") or {})}
            items = judge_endpoint(params, part, label, ctx, Reader(ctx.run.lang, texts))
            examined[where] = {str(it["item"]): it.pop("proof") for it in items if it.get("proof")}
            for it in items:
                it.pop("proof", None)
            judged += [(where, it) for it in items]
            actual[where] = {str(it["item"]): it["observed"] for it in items}
            evidence.append({
                "source": f"smtp://{label}", "endpoint": label, "address": part.get("address"),
                "sni": part.get("sni"), "items": items, "error": part.get("error"),
                "addresses_tried": part.get("addresses_tried", []),
                "addresses": probe.get("addresses", []),
                "certificate": part.get("certificate"),
                "transcript": capped(part.get("connections", []), [EVIDENCE_BUDGET]),
            })
    if not judged:
        judged.append(("", _item("endpoints", "at least one", None, Status.ERROR, _("no SMTP endpoint to probe"),
                                 tr=_)))
    status = combine_parts([Status(str(it["status"])) for _, it in judged])
    deciding = [(ep, it) for ep, it in judged if it["status"] == str(status)] or judged
    first_ep, first = deciding[0]
    if status == Status.PASS:
        message = _("{items} item(s) pass on {endpoints} endpoint(s)").format(items=len(judged),
                                                                             endpoints=len(actual))
    else:
        parts = [(_("{endpoint}: {item} {observed} (expected {expected}): {detail}") if it["detail"] else
                  _("{endpoint}: {item} {observed} (expected {expected})")).format(
                      endpoint=ep, item=it["item"], observed=_shown(it["observed"], _),
                      expected=_shown(it["expected"], _), detail=it["detail"]) for ep, it in deciding]
        message = "; ".join(parts[:6]) + (_("; and {count} more").format(count=len(parts) - 6)
                                          if len(parts) > 6 else "")
    item_name = str(first["item"])
    # ${actual}, ${expected} and ${observed} read as a person says them, in the run's language (the
    # outcome's actual and expected keep the machine values)
    fields = {"endpoint": first_ep, "servername": servername or "", "item": item_name,
              "observed": _shown(first["observed"], _),
              "version": item_name if item_name.startswith(("SSL", "TLS")) else "",
              "actual": actual_text(actual, _, ctx.run.lang), "expected": expected_text(expected, _)}
    return Outcome(status=status, message=message, expected=expected, actual=actual,
                   evidence=evidence, fields=fields, examined=examined)
