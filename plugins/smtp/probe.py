"""Probe SMTP endpoints: one plan per endpoint, a few connections each, many endpoints at once.

A :class:`Plan` says what one endpoint must be asked (which TLS versions,
whether to try plaintext MAIL, whether the certificate is needed) and with
what per-stage ``timeout``. :func:`probe_many` runs plans concurrently under a
global connection limit and a small per-endpoint one (mail servers rate-limit),
and returns each endpoint's facts as plain JSON.

For one endpoint the order is: resolve; a first connection, tried address by
address until one greets and answers EHLO/HELO (that address is then used for
every other connection); when the greeting or EHLO/HELO fails everywhere, or
STARTTLS is not offered or refused, nothing more is tried and every version
says why. Then each remaining version gets its own connection
(greeting, EHLO, STARTTLS, raw ClientHello via :mod:`plugins.smtp.tls_wire`).
The certificate comes from an accepted TLS 1.2-or-older handshake, else from a
stdlib ``ssl`` handshake (CERT_NONE) - the only way to see a TLS 1.3-only one.
"""

from __future__ import annotations

import asyncio
import os
import ssl
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from plugins.smtp.certificate import certificate_facts
from plugins.smtp.dialogue import STREAM_LIMIT, DialogueError, SmtpClient, hello_name
from plugins.smtp.endpoint import Endpoint, resolve
from plugins.smtp.replies import observe_starttls, plaintext_answer, starttls_answer, starttls_fact

VERSIONS = ("SSLv3", "TLSv1.0", "TLSv1.1", "TLSv1.2", "TLSv1.3")
#: Order versions are probed in: the likely-accepted ones first, so the first connection yields a certificate.
PROBE_ORDER = ("TLSv1.2", "TLSv1.3", "TLSv1.1", "TLSv1.0", "SSLv3")
PER_ENDPOINT_CONNECTIONS = 3


@dataclass(slots=True)
class Plan:
    """What to find out about one endpoint (merged over every rule that reads it)."""

    endpoint: Endpoint
    servername: str | None = None
    versions: set[str] = field(default_factory=set)
    plaintext_mail: bool = False
    certificate: bool = False
    timeout: float = 10.0

    @property
    def sni(self) -> str | None:
        return self.servername or (None if self.endpoint.is_ip else self.endpoint.host)


@dataclass(slots=True)
class _State:
    plan: Plan
    slots: asyncio.Semaphore
    local: asyncio.Semaphore
    addresses: list[tuple[int, str]] = field(default_factory=list)
    address: tuple[int, str] | None = None
    connections: list[dict[str, Any]] = field(default_factory=list)
    tried: list[dict[str, str]] = field(default_factory=list)


class _Stop(Exception):
    """The endpoint cannot be probed further; ``reason`` says why (quoting the server)."""

    def __init__(self, reason: str, stage: str) -> None:
        super().__init__(reason)
        self.reason, self.stage = reason, stage


async def _open(st: _State, address: tuple[int, str], purpose: str) -> tuple[SmtpClient, dict[str, Any]]:
    """Connect, read the greeting and say EHLO/HELO; raise DialogueError on failure."""
    record: dict[str, Any] = {"purpose": purpose, "address": address[1], "events": []}
    st.connections.append(record)
    timeout = st.plan.timeout
    try:
        async with asyncio.timeout(timeout):
            reader, writer = await asyncio.open_connection(
                address[1], st.plan.endpoint.port, family=address[0], limit=STREAM_LIMIT)
    except (TimeoutError, OSError) as exc:
        why = f"no TCP connection within {timeout:g} s" if isinstance(exc, TimeoutError) else (
            f"cannot connect: {os.strerror(exc.errno) if exc.errno else exc}")
        record["error"] = f"connect: {why}"
        raise DialogueError("connect", why) from None
    client = SmtpClient(reader, writer, timeout, transcript=record["events"])
    try:
        record["greeting"] = (await client.greet()).to_json()
        reply = await client.say_hello(hello_name(writer))
        record["hello"] = {"command": client.hello, **reply.to_json()}
    except BaseException as exc:
        if isinstance(exc, DialogueError):
            record["error"] = str(exc)
        client.close()
        raise
    return client, record


async def _session(st: _State, purpose: str) -> tuple[SmtpClient, dict[str, Any]]:
    """A greeted connection: on the known-good address, or the first address that answers."""
    if st.address is not None:
        try:
            return await _open(st, st.address, purpose)
        except DialogueError as exc:
            raise _Stop(f"{st.address[1]}: {exc}", exc.stage) from None
    last: DialogueError | None = None
    for address in st.addresses:
        try:
            result = await _open(st, address, purpose)
        except DialogueError as exc:
            st.tried.append({"address": address[1], "error": str(exc)})
            last = exc
            continue
        st.address = address
        st.tried.append({"address": address[1], "error": ""})
        return result
    assert last is not None
    detail = "; ".join(f"{t['address']}: {t['error']}" for t in st.tried)
    raise _Stop(detail, last.stage)


async def _starttls(client: SmtpClient, record: dict[str, Any], facts: dict[str, Any]) -> None:
    """Send STARTTLS; record the outcome in facts; raise _Stop unless the server said 220."""
    if not client.starttls_offered:
        fact = starttls_fact(client, None)
        observe_starttls(facts, fact)
        raise _Stop(fact.get("reason") or "STARTTLS is not offered in the EHLO reply", "STARTTLS")
    try:
        reply = await client.starttls()
    except DialogueError as exc:
        observe_starttls(facts, {"offered": True, "result": "error", "reason": str(exc)})
        raise _Stop(str(exc), exc.stage) from None
    observe_starttls(facts, starttls_fact(client, reply))
    record["starttls"] = reply.code
    if reply.code != 220:
        what = {"temporary": "temporarily refused", "refused": "refused"}.get(starttls_answer(reply),
                                                                              "answered oddly")
        raise _Stop(f"STARTTLS {what}: {reply.quoted}", "STARTTLS")


async def _version(st: _State, facts: dict[str, Any], version: str) -> dict[str, Any]:
    """One connection: greeting, EHLO, STARTTLS, then the raw handshake for ``version``."""
    from plugins.smtp import tls_wire

    client, record = await _session(st, version)
    try:
        await _starttls(client, record, facts)
        deadline = asyncio.get_running_loop().time() + st.plan.timeout
        probe = await tls_wire.probe_version(client.reader, client.writer, version, st.plan.sni, deadline)
    finally:
        client.close()
    result = {
        "verdict": probe.verdict, "reason": probe.reason, "selected_version": probe.selected_version,
        "cipher": probe.cipher, "alert": probe.alert, "address": record["address"],
    }
    record["tls"] = {k: result[k] for k in ("verdict", "selected_version", "cipher", "alert", "reason")}
    if probe.certificate_der and "_der" not in facts:
        facts["_der"] = probe.certificate_der
    return result


async def _plaintext(st: _State, facts: dict[str, Any]) -> None:
    """MAIL FROM:<> before STARTTLS, then RSET and QUIT. Never RCPT or DATA."""
    client, _record = await _session(st, "plaintext_mail")
    try:
        observe_starttls(facts, starttls_fact(client, None))
        try:
            reply = await client.send("MAIL", "MAIL FROM:<>")
        except DialogueError as exc:
            facts["plaintext_mail"] = {"result": "error", "reason": str(exc)}
            return
        verdict, why = plaintext_answer(reply)
        facts["plaintext_mail"] = {"result": verdict, "reason": why, **reply.to_json(), "quoted": reply.quoted}
        await client.send("RSET", "RSET")
    except DialogueError:
        pass
    finally:
        await client.quit()


async def _stdlib_tls(st: _State, facts: dict[str, Any]) -> None:
    """STARTTLS and a stdlib handshake (no verification) for the certificate and the negotiated version."""
    client, record = await _session(st, "certificate")
    try:
        await _starttls(client, record, facts)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        context.set_ciphers("ALL:@SECLEVEL=0")  # see weak certificates too: judging them is our job
        try:
            await asyncio.wait_for(
                client.writer.start_tls(context, server_hostname=st.plan.sni), st.plan.timeout
            )
        except (TimeoutError, OSError, ssl.SSLError) as exc:
            reason = f"TLS handshake: {type(exc).__name__}: {exc}"
            facts["certificate"] = {"error": reason}
            record["error"] = reason
            return
        tls = client.writer.get_extra_info("ssl_object")
        der = tls.getpeercert(binary_form=True) if tls is not None else None
        record["tls"] = {"verdict": "accepted", "selected_version": tls.version() if tls else None,
                         "cipher": tls.cipher()[0] if tls and tls.cipher() else None}
        if der:
            facts["_der"] = der
    finally:
        client.close()


async def _guard(st: _State, facts: dict[str, Any], job: Any, *args: Any) -> Any:
    async with st.local, st.slots:
        return await job(st, facts, *args)


def _error(reason: str) -> dict[str, Any]:
    return {"verdict": "error", "reason": reason, "selected_version": None, "cipher": None, "alert": None}


Resolver = Callable[[Endpoint, float], Awaitable[list[tuple[int, str]]]]


async def probe_endpoint(plan: Plan, slots: asyncio.Semaphore, resolver: Resolver = resolve) -> dict[str, Any]:
    """Probe one endpoint as planned and return its facts (plain JSON); never raises."""
    loop = asyncio.get_running_loop()
    started = loop.time()
    st = _State(plan, slots, asyncio.Semaphore(PER_ENDPOINT_CONNECTIONS))
    facts: dict[str, Any] = {"endpoint": plan.endpoint.label, "servername": plan.servername,
                             "sni": plan.sni, "timeout": plan.timeout, "error": None}
    versions: dict[str, dict[str, Any]] = {}
    order = [v for v in PROBE_ORDER if v in plan.versions]
    try:
        try:
            async with slots:  # a fleet's lookups queue like its connections, deadline from the start of each
                st.addresses = await resolver(plan.endpoint, loop.time() + plan.timeout)
        except (OSError, TimeoutError) as exc:
            raise _Stop(f"cannot resolve {plan.endpoint.host}: {exc}", "resolve") from None
        # The first connection proves the endpoint answers; only then are the others started.
        if plan.plaintext_mail:
            await _guard(st, facts, _plaintext)
        elif order:
            versions[order[0]] = await _guard(st, facts, _version, order[0])
            order = order[1:]
        if order and facts.get("starttls", {}).get("result") in ("not_offered", "refused", "temporary"):
            raise _Stop(facts["starttls"].get("quoted") or "STARTTLS is not offered", "STARTTLS")
        results = await asyncio.gather(*(_guard(st, facts, _version, v) for v in order), return_exceptions=True)
        for version, res in zip(order, results, strict=True):
            if isinstance(res, _Stop):
                versions[version] = _error(res.reason)
            elif isinstance(res, BaseException):
                versions[version] = _error(f"{type(res).__name__}: {res}")
            else:
                versions[version] = res
        # The certificate when no raw handshake brought one; STARTTLS itself when nothing else tried it.
        untried = facts.get("starttls", {}).get("result") in (None, "not_tried")
        need_stdlib = (plan.certificate and "_der" not in facts) or untried
        if need_stdlib:
            try:
                await _guard(st, facts, _stdlib_tls)
            except _Stop as stop:
                if stop.stage != "STARTTLS":
                    raise
                facts.setdefault("certificate", {"error": stop.reason})
    except _Stop as stop:
        if stop.stage != "STARTTLS":
            facts["error"] = stop.reason
            facts["error_stage"] = stop.stage
        for version in plan.versions:
            versions.setdefault(version, _error(stop.reason))
        if plan.plaintext_mail:
            facts.setdefault("plaintext_mail", {"result": "error", "reason": stop.reason})
    except Exception as exc:  # a bug in one probe must not stop the scan
        facts["error"] = f"internal error: {type(exc).__name__}: {exc}"
        facts["error_stage"] = "internal"
        for version in plan.versions:
            versions.setdefault(version, _error(facts["error"]))
    der = facts.pop("_der", None)
    if plan.certificate:
        if der:
            facts["certificate"] = certificate_facts(der)
        else:
            facts.setdefault("certificate", {"error": facts["error"] or "no certificate was received"})
    facts["versions"] = {v: versions[v] for v in VERSIONS if v in versions}
    facts["answered"] = any("greeting" in c for c in st.connections)
    facts["address"] = st.address[1] if st.address else None
    facts["addresses_tried"] = st.tried
    facts["connections"] = st.connections
    facts["elapsed_ms"] = round((loop.time() - started) * 1000, 1)
    return facts


def connection_limit(jobs: int) -> int:
    """Global concurrent connections: network waits, not CPU, so well above ``--jobs`` (max(64, 32*jobs))."""
    return min(512, max(64, 32 * max(1, jobs)))


async def probe_many(
    plans: list[Plan], limit: int, resolver: Resolver = resolve, on_done: Callable[[], None] | None = None
) -> list[dict[str, Any]]:
    """Probe every plan concurrently, at most ``limit`` connections at once overall;
    ``on_done`` is called as each endpoint finishes (for a progress line)."""
    slots = asyncio.Semaphore(limit)

    async def one(plan: Plan) -> dict[str, Any]:
        facts = await probe_endpoint(plan, slots, resolver)
        if on_done is not None:
            on_done()
        return facts

    return list(await asyncio.gather(*(one(p) for p in plans)))


def run_plans(plans: list[Plan], limit: int, on_done: Callable[[], None] | None = None) -> list[dict[str, Any]]:
    """Synchronous entry: run :func:`probe_many` in a fresh event loop."""
    return asyncio.run(probe_many(plans, limit, on_done=on_done))
