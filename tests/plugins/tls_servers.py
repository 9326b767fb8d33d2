"""Real TLS servers on 127.0.0.1 for the probe tests: OpenSSL (Python ssl), tlslite-ng and scripted peers.

`serve(handler)` runs a loopback listener in a thread and calls `handler(sock)` for each
connection in its own thread; it yields ``(host, port)``. Handlers:

- `openssl_handler(ctx)`: Python's ssl server side with the given SSLContext;
- `tlslite_handler(cert, **settings)`: tlslite-ng's pure-Python server, for what OpenSSL 3
  cannot serve (SSLv3, RC4, 3DES-only);
- `scripted_handler(...)`: reads the ClientHello, then sends bytes, drips them, stays
  silent, closes or resets — for hostile and malformed answers.

Every handler is bounded in time (`HANDLER_LIMIT`), and `serve` stops its threads on exit.
`make_cert()` makes an RSA certificate for ``localhost`` with trustme.
"""

from __future__ import annotations

import contextlib
import socket
import ssl
import struct
import threading
import time
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import trustme
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

HANDLER_LIMIT = 5.0
"""No handler keeps a connection longer than this many seconds."""

Handler = Callable[[socket.socket], None]


@dataclass(frozen=True)
class Cert:
    """A server certificate and key made for the tests."""

    cert_pem: bytes
    key_pem: bytes
    der: bytes
    ca: trustme.CA
    server: trustme.LeafCert

    def configure(self, ctx: ssl.SSLContext) -> None:
        """Load this certificate and key into a server SSLContext."""
        self.server.configure_cert(ctx)


def make_cert(hostname: str = "localhost") -> Cert:
    """An RSA leaf certificate for `hostname` (tlslite-ng needs RSA for its SSLv3/3DES/RC4 suites)."""
    ca = trustme.CA(key_type=trustme.KeyType.RSA)
    leaf = ca.issue_cert(hostname, "127.0.0.1", key_type=trustme.KeyType.RSA)
    cert_pem = leaf.cert_chain_pems[0].bytes()
    der = x509.load_pem_x509_certificate(cert_pem).public_bytes(Encoding.DER)
    return Cert(cert_pem, leaf.private_key_pem.bytes(), der, ca, leaf)


@contextlib.contextmanager
def serve(handler: Handler, host: str = "127.0.0.1") -> Iterator[tuple[str, int]]:
    """Serve `handler` on a loopback port until the block ends; yields (host, port)."""
    listener = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
    listener.bind((host, 0))
    listener.listen(16)
    listener.settimeout(0.1)
    stop = threading.Event()
    workers: list[threading.Thread] = []

    def run_one(conn: socket.socket) -> None:
        with contextlib.suppress(Exception), conn:
            conn.settimeout(HANDLER_LIMIT)
            handler(conn)

    def accept_loop() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            worker = threading.Thread(target=run_one, args=(conn,), daemon=True)
            worker.start()
            workers.append(worker)

    acceptor = threading.Thread(target=accept_loop, daemon=True)
    acceptor.start()
    try:
        yield host, listener.getsockname()[1]
    finally:
        stop.set()
        acceptor.join(2)
        listener.close()
        for worker in workers:
            worker.join(HANDLER_LIMIT + 1)


def openssl_context(cert: Cert, versions: tuple[ssl.TLSVersion, ssl.TLSVersion],
                    ciphers: str | None = None) -> ssl.SSLContext:
    """A Python ssl server context serving exactly the versions min..max (legacy ones at SECLEVEL=0)."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    with warnings.catch_warnings():  # TLS 1.0/1.1 are deprecated: serving them is the point
        warnings.simplefilter("ignore", DeprecationWarning)
        ctx.minimum_version, ctx.maximum_version = versions
    cert.configure(ctx)
    if ciphers is not None:
        ctx.set_ciphers(ciphers)
    elif versions[0] < ssl.TLSVersion.TLSv1_2:
        ctx.set_ciphers("DEFAULT:@SECLEVEL=0")
    return ctx


def openssl_handler(ctx: ssl.SSLContext) -> Handler:
    """Handshake with Python's ssl (OpenSSL) as the server; a failed handshake is just logged away."""

    def handle(conn: socket.socket) -> None:
        with ctx.wrap_socket(conn, server_side=True, do_handshake_on_connect=False) as tls:
            tls.do_handshake()
            tls.recv(1)

    return handle


def tlslite_handler(cert: Cert, **settings: Any) -> Handler:
    """Handshake with tlslite-ng as the server; `settings` are HandshakeSettings attributes."""
    from tlslite.api import HandshakeSettings, TLSConnection, X509CertChain, parsePEMKey

    chain = X509CertChain()
    chain.parsePemList(cert.cert_pem.decode("ascii"))
    key = parsePEMKey(cert.key_pem.decode("ascii"), private=True)
    handshake_settings = HandshakeSettings()
    for name, value in settings.items():
        setattr(handshake_settings, name, value)

    def handle(conn: socket.socket) -> None:
        TLSConnection(conn).handshakeServer(certChain=chain, privateKey=key, settings=handshake_settings)

    return handle


def read_client_hello(conn: socket.socket) -> bytes:
    """Read one complete TLS record (the ClientHello) from the client and return it."""
    data = b""
    while len(data) < 5 or len(data) < 5 + struct.unpack(">H", data[3:5])[0]:
        chunk = conn.recv(65536)
        if not chunk:
            break
        data += chunk
    return data


def scripted_handler(reply: bytes | Callable[[bytes], bytes] = b"", *, then: str = "close",
                     drip_interval: float = 0.0, seen: list[bytes] | None = None) -> Handler:
    """Read the ClientHello (kept in `seen`), send `reply`, then `close`, `reset` or stay `silent`.

    `reply` may be a function of the ClientHello record (to echo its session id).
    With `drip_interval`, `reply` is sent one byte at a time with that pause between bytes.
    """

    def handle(conn: socket.socket) -> None:
        hello = read_client_hello(conn)
        if seen is not None:
            seen.append(hello)
        answer = reply(hello) if callable(reply) else reply
        if drip_interval:
            for byte in answer:
                conn.sendall(bytes([byte]))
                time.sleep(drip_interval)
        elif answer:
            conn.sendall(answer)
        if then == "reset":
            conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        elif then == "silent":
            end = time.monotonic() + HANDLER_LIMIT
            while time.monotonic() < end and conn.recv(4096):
                pass

    return handle


def client_session_id(client_hello: bytes) -> bytes:
    """The legacy_session_id of a ClientHello record (a TLS 1.3 ServerHello must echo it)."""
    return client_hello[44:44 + client_hello[43]]


def record(content_type: int, payload: bytes, version: int = 0x0303) -> bytes:
    """One TLS record."""
    return struct.pack(">BHH", content_type, version, len(payload)) + payload


def handshake_message(msg_type: int, body: bytes) -> bytes:
    """One handshake message (type, 3-byte length, body)."""
    return bytes([msg_type]) + len(body).to_bytes(3, "big") + body


def server_hello(version: int, cipher: int, *, random: bytes = b"\x11" * 32,
                 extensions: bytes | None = None, session_id: bytes = b"") -> bytes:
    """A ServerHello handshake message; `extensions` is the raw extension block content."""
    body = struct.pack(">H", version) + random + bytes([len(session_id)]) + session_id
    body += struct.pack(">HB", cipher, 0)
    if extensions is not None:
        body += struct.pack(">H", len(extensions)) + extensions
    return handshake_message(2, body)


def certificate_message(*ders: bytes) -> bytes:
    """A TLS 1.2-style Certificate handshake message carrying `ders`."""
    entries = b"".join(len(d).to_bytes(3, "big") + d for d in ders)
    return handshake_message(11, len(entries).to_bytes(3, "big") + entries)
