"""Probe SMTP endpoints: one plan per endpoint, a few connections each, many endpoints at once.

A :class:`Plan` says what one endpoint must be asked (which TLS versions,
whether to try plaintext MAIL, whether the certificate is needed) and with
what per-stage ``timeout``. :func:`probe_many` runs plans concurrently under a
global connection limit and a small per-endpoint one (mail servers rate-limit),
and returns each endpoint's facts as plain JSON.

For one endpoint the order is: resolve; then every address the name has
(deduplicated, at most :data:`MAX_ADDRESSES`) is probed as an endpoint of its
own, concurrently, and the facts keep each as one of ``parts`` (a name with
one address, or an IP literal, gives the facts of that address directly).
Every address counts: one that refuses the TCP connection is ``error`` for
what it would have shown, so give an IP address to probe one address only.
For one address: a first connection (greeting, EHLO/HELO); when it fails,
or STARTTLS is not offered or refused, nothing more is tried and every
version says why. Then each remaining version gets its own connection
(greeting, EHLO, STARTTLS, raw ClientHello via :mod:`plugins.smtp.tls_wire`).
The certificate comes from an accepted TLS 1.2-or-older handshake, else from a
stdlib ``ssl`` handshake (CERT_NONE) - the only way to see a TLS 1.3-only one.
That handshake is also made when STARTTLS was answered ``220`` but no probed
version was accepted, so that ``starttls: required`` rests on a TLS session
really set up (``handshake`` in the facts).

Time: every stage has the plan's ``timeout``; each connection records how long
its stages took (``stages``, the longest per stage in the facts); and one
address has :data:`ENDPOINT_DEADLINE_FACTOR` x ``timeout`` in all, after which
whatever is still unanswered is ``error`` (a server answering each stage just
inside the timeout cannot hold a scan for 16 x the timeout).

Language: the probe runs before anyone knows ``--lang``, so its reasons are
English :class:`~plugins.smtp.texts.Said` texts; the facts keep them as plain
strings plus, under ``texts``, each one's marked template and fields, for the
judge to read them in the run's language. What the server said (replies,
transcripts) is quoted as it was, in every language.
"""

from __future__ import annotations

import asyncio
import errno
import os
import ssl
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from plugins.smtp.certificate import certificate_facts
from plugins.smtp.dialogue import STREAM_LIMIT, DialogueError, SmtpClient, hello_name
from plugins.smtp.endpoint import Endpoint, resolve
from plugins.smtp.replies import observe_starttls, plaintext_answer, starttls_answer, starttls_fact
from plugins.smtp.texts import Said, plain_facts
from scanner.i18n import N_

VERSIONS = ("SSLv3", "TLSv1.0", "TLSv1.1", "TLSv1.2", "TLSv1.3")
#: Order versions are probed in: the likely-accepted ones first, so the first connection yields a certificate.
PROBE_ORDER = ("TLSv1.2", "TLSv1.3", "TLSv1.1", "TLSv1.0", "SSLv3")
PER_ENDPOINT_CONNECTIONS = 3
MAX_ADDRESSES = 16
"""Addresses of one host name probed at most (in resolver order, duplicates removed)."""
ENDPOINT_DEADLINE_FACTOR = 6
"""One address is probed for at most this many times the per-stage timeout, all connections together."""


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
    deadline: float | None = None
    """Loop time after which no connection of this address goes on: set when the first one starts,
    pushed back by time spent queueing for the global connection limit (a fleet's wait, not this server's)."""


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
    loop = asyncio.get_running_loop()
    started = loop.time()
    stages: dict[str, float] = {}
    record["stages"] = stages
    try:
        async with asyncio.timeout(timeout):
            reader, writer = await asyncio.open_connection(
                address[1], st.plan.endpoint.port, family=address[0], limit=STREAM_LIMIT)
    except (TimeoutError, OSError) as exc:
        why = Said(N_("no TCP connection within {seconds:g} s"), seconds=timeout) if isinstance(exc, TimeoutError) \
            else _cannot_connect(exc)
        record["error"] = f"connect: {why}"
        raise DialogueError("connect", why) from None
    finally:
        stages["connect"] = round(loop.time() - started, 3)
    client = SmtpClient(reader, writer, timeout, transcript=record["events"], stages=stages)
    try:
        record["greeting"] = (await client.greet()).to_json()
        reply = await client.say_hello(hello_name(writer))
        record["hello"] = {"command": client.hello, **reply.to_json()}
    except BaseException as exc:
        if isinstance(exc, DialogueError):
            record["error"] = exc.text
        client.close()
        raise
    return client, record


async def _session(st: _State, purpose: str) -> tuple[SmtpClient, dict[str, Any]]:
    """A greeted connection: on the known-good address, or the first address that answers."""
    if st.address is not None:
        try:
            return await _open(st, st.address, purpose)
        except DialogueError as exc:
            raise _Stop(Said(N_("{address}: {error}"), address=st.address[1], error=exc.text), exc.stage) from None
    last: DialogueError | None = None
    for address in st.addresses:
        try:
            result = await _open(st, address, purpose)
        except DialogueError as exc:
            st.tried.append({"address": address[1], "error": exc.text})
            last = exc
            continue
        st.address = address
        st.tried.append({"address": address[1], "error": ""})
        return result
    assert last is not None
    raise _Stop(_joined([Said(N_("{address}: {error}"), address=t["address"], error=t["error"]) for t in st.tried]),
                last.stage)


async def _starttls(client: SmtpClient, record: dict[str, Any], facts: dict[str, Any]) -> None:
    """Send STARTTLS; record the outcome in facts; raise _Stop unless the server said 220."""
    if not client.starttls_offered:
        fact = starttls_fact(client, None)
        observe_starttls(facts, fact)
        raise _Stop(fact.get("reason") or Said(N_("STARTTLS is not offered in the EHLO reply")), "STARTTLS")
    try:
        reply = await client.starttls()
    except DialogueError as exc:
        observe_starttls(facts, {"offered": True, "result": "error", "reason": exc.text})
        raise _Stop(exc.text, exc.stage) from None
    observe_starttls(facts, starttls_fact(client, reply))
    record["starttls"] = reply.code
    if reply.code != 220:
        answer = starttls_answer(reply)
        why = Said(N_("STARTTLS temporarily refused: {reply}"), reply=reply.quoted) if answer == "temporary" else \
            Said(N_("STARTTLS refused: {reply}"), reply=reply.quoted) if answer == "refused" else \
            Said(N_("STARTTLS answered oddly: {reply}"), reply=reply.quoted)
        raise _Stop(why, "STARTTLS")


async def _version(st: _State, facts: dict[str, Any], version: str) -> dict[str, Any]:
    """One connection: greeting, EHLO, STARTTLS, then the raw handshake for ``version``."""
    from plugins.smtp import tls_wire

    client, record = await _session(st, version)
    try:
        await _starttls(client, record, facts)
        started = asyncio.get_running_loop().time()
        probe = await tls_wire.probe_version(client.reader, client.writer, version, st.plan.sni,
                                             started + st.plan.timeout)
        client.timed("TLS", started)
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
            facts["plaintext_mail"] = {"result": "error", "reason": exc.text}
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
        started = asyncio.get_running_loop().time()
        try:
            await asyncio.wait_for(
                client.writer.start_tls(context, server_hostname=st.plan.sni), st.plan.timeout
            )
        except (TimeoutError, OSError, ssl.SSLError) as exc:
            reason = Said(N_("TLS handshake: {error}"), error=f"{type(exc).__name__}: {exc}")
            facts["certificate"] = {"error": reason}
            facts.setdefault("handshake", {"completed": False, "reason": reason})
            record["error"] = reason
            return
        finally:
            client.timed("TLS", started)
        tls = client.writer.get_extra_info("ssl_object")
        der = tls.getpeercert(binary_form=True) if tls is not None else None
        record["tls"] = {"verdict": "accepted", "selected_version": tls.version() if tls else None,
                         "cipher": tls.cipher()[0] if tls and tls.cipher() else None}
        facts["handshake"] = {"completed": True, "version": record["tls"]["selected_version"],
                              "cipher": record["tls"]["cipher"]}
        if der:
            facts["_der"] = der
    finally:
        client.close()


def _budget(plan: Plan) -> float:
    return ENDPOINT_DEADLINE_FACTOR * plan.timeout


async def _guard(st: _State, facts: dict[str, Any], job: Any, *args: Any) -> Any:
    """Run one connection's job under the per-endpoint and global limits and the address's overall deadline."""
    loop = asyncio.get_running_loop()
    async with st.local:
        queued = loop.time()
        async with st.slots:
            now = loop.time()
            if st.deadline is None:
                st.deadline = now + _budget(st.plan)
            else:
                st.deadline += now - queued
            why = Said(N_("the probe of this address took more than {seconds:g} s in all ({factor} x the timeout "
                          "of {timeout:g} s); what was still unanswered is error"),
                       seconds=_budget(st.plan), factor=ENDPOINT_DEADLINE_FACTOR, timeout=st.plan.timeout)
            if st.deadline <= now:
                raise _Stop(why, "deadline")
            try:
                async with asyncio.timeout_at(st.deadline):
                    return await job(st, facts, *args)
            except TimeoutError:
                raise _Stop(why, "deadline") from None


def _cannot_connect(exc: OSError) -> str:
    """Why a TCP connection failed (the system's words; the common ones translatable)."""
    if exc.errno in _OS_ERRORS and os.strerror(exc.errno) == _OS_ERRORS[exc.errno]:
        return Said(N_("cannot connect: {error}"), error=Said(_OS_ERRORS[exc.errno]))
    return Said(N_("cannot connect: {error}"), error=os.strerror(exc.errno) if exc.errno else str(exc))


_OS_ERRORS = {errno.ECONNREFUSED: N_("Connection refused"), errno.ENETUNREACH: N_("Network is unreachable"),
              errno.EHOSTUNREACH: N_("No route to host"), errno.ECONNRESET: N_("Connection reset by peer"),
              errno.ETIMEDOUT: N_("Connection timed out")}
"""The system's words (glibc ``strerror``) for the usual ways a connection fails, marked for translation."""


def _joined(texts: list[Said]) -> str:
    """Several reasons, ``; ``-separated, each translatable on its own."""
    if not texts:
        return ""
    joined = texts[0]
    for text in texts[1:]:
        joined = Said(N_("{first}; {second}"), first=joined, second=text)
    return joined


def _plain(facts: dict[str, Any]) -> dict[str, Any]:
    """The facts as plain JSON, with the templates of their texts under ``texts`` (:mod:`plugins.smtp.texts`)."""
    table: dict[str, Any] = {}
    out = plain_facts(facts, table)
    out["texts"] = table
    return out


def _error(reason: str) -> dict[str, Any]:
    return {"verdict": "error", "reason": reason, "selected_version": None, "cipher": None, "alert": None}


Resolver = Callable[[Endpoint, float], Awaitable[list[tuple[int, str]]]]


async def probe_endpoint(plan: Plan, slots: asyncio.Semaphore, resolver: Resolver = resolve) -> dict[str, Any]:
    """Probe one endpoint as planned, every address of it, and return its facts (plain JSON); never raises."""
    loop = asyncio.get_running_loop()
    started = loop.time()
    try:
        async with slots:  # a fleet's lookups queue like its connections, deadline from the start of each
            addresses = (await resolver(plan.endpoint, loop.time() + plan.timeout))[:MAX_ADDRESSES]
    except (OSError, TimeoutError) as exc:
        error: str = str(exc) if str(exc) else Said(N_("timed out"))
        return _plain(await _probe_address(plan, slots, [], Said(N_("cannot resolve {host}: {error}"),
                                                                 host=plan.endpoint.host, error=error)))
    if len(addresses) <= 1:
        return _plain(await _probe_address(plan, slots, addresses))
    parts = list(await asyncio.gather(*(_probe_address(plan, slots, [a]) for a in addresses)))
    return _plain({
        "endpoint": plan.endpoint.label, "servername": plan.servername, "sni": plan.sni, "timeout": plan.timeout,
        "error": _joined([Said(N_("{address}: {error}"), address=p["address"], error=p["error"])
                          for p in parts if p.get("error")]) or None,
        "addresses": [a[1] for a in addresses], "parts": parts,
        "answered": any(p.get("answered") for p in parts),
        "elapsed_ms": round((loop.time() - started) * 1000, 1),
    })


async def _probe_address(plan: Plan, slots: asyncio.Semaphore, addresses: list[tuple[int, str]],
                         unresolved: str = "") -> dict[str, Any]:
    """Probe the endpoint on ``addresses`` (one, normally) and return its facts; never raises."""
    loop = asyncio.get_running_loop()
    started = loop.time()
    st = _State(plan, slots, asyncio.Semaphore(PER_ENDPOINT_CONNECTIONS), addresses=addresses)
    facts: dict[str, Any] = {"endpoint": plan.endpoint.label, "servername": plan.servername,
                             "sni": plan.sni, "timeout": plan.timeout, "error": None}
    versions: dict[str, dict[str, Any]] = {}
    order = [v for v in PROBE_ORDER if v in plan.versions]

    async def version(v: str) -> None:
        try:
            versions[v] = await _guard(st, facts, _version, v)
        except _Stop as stop:
            versions[v] = _error(stop.reason)

    try:
        if unresolved:
            raise _Stop(unresolved, "resolve")
        # The first connection proves the endpoint answers; only then are the others started.
        if plan.plaintext_mail:
            await _guard(st, facts, _plaintext)
        elif order:
            versions[order[0]] = await _guard(st, facts, _version, order[0])
            order = order[1:]
        if order and facts.get("starttls", {}).get("result") in ("not_offered", "refused", "temporary"):
            raise _Stop(facts["starttls"].get("quoted") or Said(N_("STARTTLS is not offered")), "STARTTLS")
        results = await asyncio.gather(*(version(v) for v in order), return_exceptions=True)
        for v, res in zip(order, results, strict=True):
            if isinstance(res, BaseException):
                versions[v] = _error(Said(N_("internal error: {error}"), error=f"{type(res).__name__}: {res}"))
        # The certificate when no raw handshake brought one; STARTTLS itself when nothing else tried it;
        # a handshake when STARTTLS said 220 but no probed version was accepted.
        starttls = facts.get("starttls", {}).get("result")
        untried = starttls in (None, "not_tried")
        no_tls_seen = starttls == "accepted" and not any(
            r.get("verdict") == "accepted" for r in versions.values())
        if (plan.certificate and "_der" not in facts) or untried or no_tls_seen:
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
        for v in plan.versions:
            versions.setdefault(v, _error(stop.reason))
        if plan.plaintext_mail:
            facts.setdefault("plaintext_mail", {"result": "error", "reason": stop.reason})
    except Exception as exc:  # a bug in one probe must not stop the scan
        facts["error"] = Said(N_("internal error: {error}"), error=f"{type(exc).__name__}: {exc}")
        facts["error_stage"] = "internal"
        for v in plan.versions:
            versions.setdefault(v, _error(facts["error"]))
    der = facts.pop("_der", None)
    if plan.certificate:
        if der:
            facts["certificate"] = certificate_facts(der)
        else:
            facts.setdefault("certificate", {"error": facts["error"] or Said(N_("no certificate was received"))})
    facts["versions"] = {v: versions[v] for v in VERSIONS if v in versions}
    facts["answered"] = any("greeting" in c for c in st.connections)
    facts["address"] = st.address[1] if st.address else (addresses[0][1] if addresses else None)
    facts["addresses_tried"] = st.tried
    facts["connections"] = st.connections
    stages: dict[str, float] = {}
    for connection in st.connections:
        for stage, took in connection.get("stages", {}).items():
            stages[stage] = max(took, stages.get(stage, 0.0))
    facts["stages"] = stages
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
