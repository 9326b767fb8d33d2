"""Judge ``smtp_tls`` checks from collected probe facts alone (no network).

Each endpoint gives a list of judged items (``starttls``, each accepted or
rejected version, ``plaintext_mail``, each certificate requirement), every
item ``pass``, ``fail`` or ``error``. The check is ``fail`` if any item fails,
else ``error`` if any errors, else ``pass`` (SPEC §4.1). A version whose answer
was not decided is ``error``, never "refused"; STARTTLS required but not
offered or refused fails whatever ``accept``/``reject`` say.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from plugins.smtp.certificate import days_left, hostname_matches, rsa_equivalent_bits
from plugins.smtp.endpoint import EndpointError, parse_endpoint
from scanner.api import JSON, EvalContext, Outcome, Status
from scanner.combine import combine_parts

_NO_STARTTLS = ("not_offered", "refused")


def probe_key(label: str, servername: str | None) -> str:
    """The key of one probe in the facts: the endpoint, plus the servername when one is set."""
    return f"{label} servername={servername}" if servername else label


def endpoints_of(params: Mapping[str, JSON], sources: Mapping[str, JSON]) -> list[str]:
    """The endpoint strings a check reads: its own ``endpoints``, else the target's ``smtp`` list."""
    raw = params.get("endpoints") or sources.get("smtp") or []
    return [raw] if isinstance(raw, str) else [str(e) for e in raw]


def _item(name: str, expected: JSON, observed: JSON, status: Status, detail: str = "") -> dict[str, JSON]:
    return {"item": name, "expected": expected, "observed": observed, "status": str(status), "detail": detail}


def _starttls_items(mode: str, probe: Mapping[str, Any]) -> list[dict[str, JSON]]:
    st = probe.get("starttls") or {}
    result = st.get("result", "error" if probe.get("error") else "not_tried")
    detail = st.get("quoted") or st.get("reason") or probe.get("error") or ""
    if mode == "required":
        status = (Status.PASS if result == "accepted" else Status.FAIL if result in _NO_STARTTLS
                  else Status.ERROR)
        return [_item("starttls", "required", result, status, detail)]
    if mode == "forbidden":
        offered = st.get("offered")
        status = Status.ERROR if offered is None else Status.FAIL if offered else Status.PASS
        return [_item("starttls", "forbidden", "offered" if offered else result, status, detail)]
    return []


def _version_items(params: Mapping[str, JSON], probe: Mapping[str, Any]) -> list[dict[str, JSON]]:
    items = []
    no_tls = (probe.get("starttls") or {}).get("result") in _NO_STARTTLS
    versions = probe.get("versions") or {}
    for want, wanted in (("accepted", params.get("accept") or []), ("refused", params.get("reject") or [])):
        for version in wanted:
            v = versions.get(version)
            if v is None:
                items.append(_item(version, want, None, Status.ERROR, f"{version} was not probed"))
                continue
            verdict, reason = v.get("verdict"), v.get("reason") or ""
            if verdict == "error" and no_tls:
                # Without STARTTLS no version can be negotiated: a decided answer, not an unknown one.
                verdict = "no STARTTLS"
                status = Status.FAIL if want == "accepted" else Status.PASS
            elif verdict == "error":
                status = Status.ERROR
            else:
                status = Status.PASS if verdict == want else Status.FAIL
            items.append(_item(version, want, verdict, status, reason))
    return items


def _plaintext_items(params: Mapping[str, JSON], probe: Mapping[str, Any]) -> list[dict[str, JSON]]:
    if not params.get("plaintext_mail"):
        return []
    pm = probe.get("plaintext_mail") or {"result": "error", "reason": probe.get("error") or "not probed"}
    result = pm.get("result")
    status = Status.PASS if result == "refused" else Status.FAIL if result == "accepted" else Status.ERROR
    return [_item("plaintext_mail", params["plaintext_mail"], result, status,
                  pm.get("quoted") or pm.get("reason") or "")]


def _certificate_items(
    req: Mapping[str, JSON], probe: Mapping[str, Any], name: str, ctx: EvalContext
) -> list[dict[str, JSON]]:
    cert = probe.get("certificate") or {"error": probe.get("error") or "certificate was not collected"}
    checks = [(k, req[k]) for k in ("min_days_valid", "min_key_bits", "match_hostname") if k in req]
    if "error" in cert:
        return [_item(f"certificate.{k}", v, None, Status.ERROR, str(cert["error"])) for k, v in checks]
    items = []
    for key, want in checks:
        if key == "min_days_valid":
            days = days_left(cert, ctx.run.now)
            ok = days >= float(want)
            items.append(_item("certificate.min_days_valid", want, round(days, 1),
                               Status.PASS if ok else Status.FAIL,
                               f"not_after {cert['not_after']}" + ("" if days >= 0 else " (expired)")))
        elif key == "min_key_bits":
            bits = rsa_equivalent_bits(cert)
            items.append(_item("certificate.min_key_bits", want, bits,
                               Status.PASS if bits >= int(want) else Status.FAIL,
                               f"{cert['key_type']} {cert['key_bits']} bits"
                               + (f" ({cert['curve']})" if cert.get("curve") else "")))
        elif want:
            ok = hostname_matches(cert, name)
            names = cert.get("san_dns") or cert.get("san_ip") or cert.get("common_names")
            items.append(_item("certificate.match_hostname", name, "match" if ok else "mismatch",
                               Status.PASS if ok else Status.FAIL, f"certificate names {names}"))
    return items


def judge_endpoint(params: Mapping[str, JSON], probe: Mapping[str, Any], label: str,
                   ctx: EvalContext) -> list[dict[str, JSON]]:
    """Every judged item of one endpoint."""
    items = _starttls_items(str(params.get("starttls", "required")), probe)
    items += _version_items(params, probe)
    items += _plaintext_items(params, probe)
    if params.get("certificate"):
        servername = params.get("servername")
        name = str(servername) if servername else parse_endpoint(label).host
        items += _certificate_items(params["certificate"], probe, name, ctx)
    if not items and probe.get("error"):
        items.append(_item("endpoint", "answer", "error", Status.ERROR, str(probe["error"])))
    return items


def evaluate(params: Mapping[str, JSON], facts: JSON, ctx: EvalContext) -> Outcome:
    """Judge one ``smtp_tls`` check against the facts of its target."""
    probes = (facts or {}).get("probes", {}) if isinstance(facts, Mapping) else {}
    servername = params.get("servername")
    expected = {k: params[k] for k in ("accept", "reject", "plaintext_mail", "certificate") if k in params}
    expected["starttls"] = params.get("starttls", "required")
    actual: dict[str, JSON] = {}
    evidence: list[dict[str, JSON]] = []
    judged: list[tuple[str, dict[str, JSON]]] = []
    for raw in endpoints_of(params, ctx.target.sources):
        try:
            label = parse_endpoint(raw).label
        except EndpointError as exc:
            judged.append((raw, _item("endpoint", "HOST[:PORT]", raw, Status.ERROR, str(exc))))
            continue
        probe = probes.get(probe_key(label, servername))
        if probe is None:
            judged.append((label, _item("endpoint", "probed", None, Status.ERROR, "endpoint was not probed")))
            continue
        items = judge_endpoint(params, probe, label, ctx)
        judged += [(label, it) for it in items]
        actual[label] = {str(it["item"]): it["observed"] for it in items}
        evidence.append({
            "source": f"smtp://{label}", "endpoint": label, "address": probe.get("address"),
            "sni": probe.get("sni"), "items": items, "error": probe.get("error"),
            "addresses_tried": probe.get("addresses_tried", []),
            "certificate": probe.get("certificate"), "transcript": probe.get("connections", []),
        })
    if not judged:
        judged.append(("", _item("endpoints", "at least one", None, Status.ERROR, "no SMTP endpoint to probe")))
    status = combine_parts([Status(str(it["status"])) for _, it in judged])
    deciding = [(ep, it) for ep, it in judged if it["status"] == str(status)] or judged
    first_ep, first = deciding[0]
    if status == Status.PASS:
        message = f"{len(judged)} item(s) pass on {len(actual)} endpoint(s)"
    else:
        parts = [f"{ep}: {it['item']} {it['observed']} (expected {it['expected']})"
                 + (f": {it['detail']}" if it["detail"] else "") for ep, it in deciding]
        message = "; ".join(parts[:6]) + (f"; and {len(parts) - 6} more" if len(parts) > 6 else "")
    item_name = str(first["item"])
    fields = {"endpoint": first_ep, "servername": servername or "", "item": item_name,
              "observed": first["observed"],
              "version": item_name if item_name.startswith(("SSL", "TLS")) else ""}
    return Outcome(status=status, message=message, expected=expected, actual=actual,
                   evidence=evidence, fields=fields, examined={"endpoints": sorted(actual)})
