"""Real SMTP servers on loopback for the smtp_tls tests and the probe benchmark.

* :func:`make_cert` - a certificate made here with ``cryptography`` (RSA of any
  size, EC P-256, validity window, names), written as PEM files;
* :class:`ServerThread` - an asyncio loop in a thread serving any protocol
  factory on 127.0.0.1 (or ::1), port chosen by the OS;
* :func:`aiosmtpd_server` - aiosmtpd with STARTTLS whose TLS context allows
  exactly the given versions (legacy ones with ``@SECLEVEL=0``), optionally
  ``require_starttls`` (530) or a ``451 5.7.3`` refusal of plaintext MAIL;
* :func:`hostile_server` - peers that misbehave (silent, dripping greeting,
  endless line, HTTP, 454 to STARTTLS, garbage after 220 to STARTTLS);
* :func:`closed_port` - a loopback port nothing listens on.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import gc
import ipaddress
import logging
import socket
import ssl
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiosmtpd.smtp import SMTP
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

logging.getLogger("mail.log").setLevel(logging.CRITICAL)  # aiosmtpd logs every refused handshake

TLS_VERSIONS = {
    "TLSv1.0": ssl.TLSVersion.TLSv1, "TLSv1.1": ssl.TLSVersion.TLSv1_1,
    "TLSv1.2": ssl.TLSVersion.TLSv1_2, "TLSv1.3": ssl.TLSVersion.TLSv1_3,
}
NOW = dt.datetime.now(dt.UTC).replace(microsecond=0)


@dataclass(frozen=True)
class CertFiles:
    cert: Path
    key: Path
    der: bytes


def make_cert(directory: Path, name: str, names: list[str], key: str = "rsa2048", days: tuple[int, int] = (-1, 365),
              ips: tuple[str, ...] = ()) -> CertFiles:
    """A self-signed certificate for ``names``; ``key`` is ``rsaNNNN`` or ``p256``/``p384``; ``days`` from NOW."""
    private: Any = (ec.generate_private_key(ec.SECP256R1() if key == "p256" else ec.SECP384R1())
                    if key.startswith("p") else rsa.generate_private_key(65537, int(key[3:])))
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0] if names else name)])
    alt: list[x509.GeneralName] = [x509.DNSName(n) for n in names]
    alt += [x509.IPAddress(ipaddress.ip_address(i)) for i in ips]
    builder = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject)
               .public_key(private.public_key()).serial_number(x509.random_serial_number())
               .not_valid_before(NOW + dt.timedelta(days=days[0]))
               .not_valid_after(NOW + dt.timedelta(days=days[1])))
    if alt:
        builder = builder.add_extension(x509.SubjectAlternativeName(alt), critical=False)
    cert = builder.sign(private, hashes.SHA256())
    der = cert.public_bytes(serialization.Encoding.DER)
    paths = CertFiles(directory / f"{name}.crt", directory / f"{name}.key", der)
    paths.cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    paths.key.write_bytes(private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                serialization.NoEncryption()))
    return paths


def tls_context(cert: CertFiles, versions: list[str]) -> ssl.SSLContext:
    """A server context allowing exactly ``versions`` (a contiguous range), legacy ciphers for old ones."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ordered = [v for v in TLS_VERSIONS if v in versions]
    ctx.minimum_version = TLS_VERSIONS[ordered[0]]
    ctx.maximum_version = TLS_VERSIONS[ordered[-1]]
    ctx.set_ciphers("DEFAULT:@SECLEVEL=0")
    ctx.load_cert_chain(cert.cert, cert.key)
    return ctx


class ServerThread:
    """An asyncio loop in a daemon thread serving ``factory`` on loopback until :meth:`stop`."""

    def __init__(self, factory: Callable[[], asyncio.BaseProtocol], host: str = "127.0.0.1", port: int = 0) -> None:
        self.loop = asyncio.new_event_loop()
        self.host = host
        self.port = port
        ready = threading.Event()
        self.thread = threading.Thread(target=self._run, args=(factory, ready), daemon=True)
        self.thread.start()
        if not ready.wait(10):
            raise RuntimeError("test server did not start")

    def _run(self, factory: Callable[[], asyncio.BaseProtocol], ready: threading.Event) -> None:
        asyncio.set_event_loop(self.loop)
        self.transports: list[asyncio.BaseTransport] = []

        def tracked() -> asyncio.BaseProtocol:
            protocol = factory()
            made = protocol.connection_made

            def connection_made(transport: asyncio.BaseTransport) -> None:
                self.transports.append(transport)
                made(transport)

            protocol.connection_made = connection_made  # type: ignore[method-assign]
            return protocol

        self.server = self.loop.run_until_complete(self.loop.create_server(tracked, self.host, self.port))
        self.port = self.server.sockets[0].getsockname()[1]
        ready.set()
        self.loop.run_forever()
        # Close what is still open here, in this thread, so that nothing is left for a finalizer later.
        for transport in self.transports:
            transport.close()
        pending = [t for t in asyncio.all_tasks(self.loop) if not t.done()]
        for task in pending:
            task.cancel()
        self.loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
        self.loop.run_until_complete(self.server.wait_closed())
        self.loop.close()

    @property
    def endpoint(self) -> str:
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"

    def stop(self) -> None:
        def _close() -> None:
            self.server.close()
            self.loop.stop()

        self.loop.call_soon_threadsafe(_close)
        self.thread.join(5)
        gc.collect()  # finalizers run now, not in the middle of some later import


class _Handler:
    def __init__(self, refuse_plain_mail: bool) -> None:
        self.refuse_plain_mail = refuse_plain_mail

    async def handle_MAIL(self, server: SMTP, session: Any, envelope: Any, address: str, options: list[str]) -> str:
        if self.refuse_plain_mail and session.ssl is None:
            return "451 5.7.3 Must issue a STARTTLS command first"
        envelope.mail_from = address
        return "250 OK"


def aiosmtpd_server(context: ssl.SSLContext | None, *, require_starttls: bool = False,
                    refuse_plain_mail: bool = False, host: str = "127.0.0.1", port: int = 0) -> ServerThread:
    """aiosmtpd on loopback; STARTTLS offered when ``context`` is given."""
    handler = _Handler(refuse_plain_mail)
    return ServerThread(lambda: SMTP(handler, hostname="mail.test", tls_context=context,
                                     require_starttls=require_starttls), host, port)


class _Hostile(asyncio.Protocol):
    """One misbehaving peer, chosen by ``mode``."""

    def __init__(self, mode: str) -> None:
        self.mode = mode
        self.buf = b""
        self.tasks: list[asyncio.Task[None]] = []

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.t: Any = transport
        loop = asyncio.get_running_loop()
        if self.mode == "drip":
            self.tasks.append(loop.create_task(self._drip(b"220 slow.test ESMTP greeting that never ends\r\n")))
        elif self.mode == "endless":
            self.tasks.append(loop.create_task(self._flood()))
        elif self.mode == "http":  # a web server that speaks first (as some proxies do)
            self.t.write(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
        elif self.mode == "drop":  # accepts, then hangs up before saying anything
            self.t.close()
        elif self.mode == "flood-lines":  # a multi-line greeting of 3000-byte lines, 100 of them
            self.t.write((b"220-" + b"x" * 2996 + b"\r\n") * 100 + b"220 done\r\n")
        elif self.mode == "4xx":
            self.t.write(b"421 4.3.2 Service not available, closing channel\r\n")
        elif self.mode in ("454", "garbage", "segments", "helo-only", "no-hello"):
            # the greeting itself comes split: a multi-line 220 written a few bytes at a time
            self.tasks.append(loop.create_task(self._drip(b"220-seg.test ESMTP\r\n220 second line\r\n", 0.002)))

    async def _drip(self, data: bytes, pause: float = 1.0) -> None:
        for i in range(len(data)):
            self.t.write(data[i : i + 1])
            await asyncio.sleep(pause)

    async def _flood(self) -> None:
        for _ in range(200):  # at most 200 x 4 KiB, then stop: bounded however the client behaves
            if self.t.is_closing():
                return
            self.t.write(b"2" * 4096)
            await asyncio.sleep(0.001)

    def data_received(self, data: bytes) -> None:
        self.buf += data
        while b"\n" in self.buf:
            line, self.buf = self.buf.split(b"\n", 1)
            self._line(line.strip().upper())

    def _line(self, line: bytes) -> None:
        if self.mode == "http":
            self.t.close()
        elif line.startswith(b"EHLO"):
            if self.mode in ("helo-only", "no-hello"):
                self.t.write(b"502 5.5.2 EHLO not implemented\r\n")
            elif self.mode == "segments":
                for part in (b"250-seg.test\r\n", b"250-PIPELINING\r\n", b"250-STARTTLS\r\n", b"250 8BITMIME\r\n"):
                    self.t.write(part)
            else:
                self.t.write(b"250-seg.test\r\n250-SIZE 1000\r\n250 STARTTLS\r\n")
        elif line.startswith(b"HELO"):
            self.t.write(b"250 seg.test\r\n" if self.mode == "helo-only" else b"550 5.7.1 go away\r\n")
        elif line.startswith(b"STARTTLS"):
            if self.mode == "454":
                self.t.write(b"454 4.7.0 TLS not available due to temporary reason\r\n")
            else:
                self.t.write(b"220 2.0.0 Ready to start TLS\r\nTHIS IS NOT TLS AT ALL\r\n" * 4)
        elif line.startswith(b"MAIL"):
            self.t.write(b"250 2.1.0 Ok\r\n")
        elif line.startswith(b"QUIT"):
            self.t.write(b"221 2.0.0 Bye\r\n")
            self.t.close()
        else:
            self.t.write(b"250 2.0.0 Ok\r\n")

    def connection_lost(self, exc: Exception | None) -> None:
        for task in self.tasks:
            task.cancel()


def hostile_server(mode: str) -> ServerThread:
    """``silent``, ``drip``, ``endless``, ``flood-lines``, ``drop``, ``http``, ``4xx``, ``454``, ``garbage``,
    ``segments``, ``helo-only``, ``no-hello``."""
    return ServerThread(lambda: _Hostile(mode))


def closed_port() -> int:
    """A loopback port with nothing listening (bound, then closed)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def smtp_preamble(tls_handler: Callable[[socket.socket], None]) -> Callable[[socket.socket], None]:
    """A blocking-socket SMTP front (220, EHLO with STARTTLS, 220 Go ahead) before ``tls_handler``.

    For :func:`tls_servers.serve`: puts a tlslite-ng TLS server (SSLv3-only, 3DES-only) behind STARTTLS.
    """

    def handle(conn: socket.socket) -> None:
        conn.sendall(b"220 legacy.test ESMTP\r\n")
        data = b""
        while True:
            while b"\n" not in data:
                chunk = conn.recv(1024)
                if not chunk:
                    return
                data += chunk
            line, data = data.split(b"\n", 1)
            verb = line.strip().upper()[:8]
            if verb.startswith(b"EHLO"):
                conn.sendall(b"250-legacy.test\r\n250 STARTTLS\r\n")
            elif verb.startswith(b"STARTTLS"):
                conn.sendall(b"220 2.0.0 Go ahead\r\n")
                tls_handler(conn)
                return
            elif verb.startswith(b"QUIT"):
                conn.sendall(b"221 Bye\r\n")
                return
            else:
                conn.sendall(b"250 Ok\r\n")

    return handle


def run_check(params: dict[str, Any], *, sources: dict[str, Any] | None = None,
              now: dt.datetime | None = None, jobs: int = 2) -> tuple[Any, Any]:
    """Collect and evaluate one smtp_tls check through the plugin's own collector: (facts, outcome)."""
    from plugins.smtp import register_check_types
    from scanner.api import CollectRequest, EvalContext, RunContext, Target

    check_type = register_check_types()[0]
    target = Target("t1", sources=sources or {})
    run = RunContext(now=now or NOW, jobs=jobs)
    [(name, facts)] = list(check_type.collector.collect([CollectRequest(target, [params])], run))
    assert name == "t1"
    return facts, check_type.collector.evaluate(params, facts, EvalContext(run=run, target=target))
