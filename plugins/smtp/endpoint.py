"""SMTP endpoints: parse ``HOST``, ``HOST:PORT`` or ``[IPv6]:PORT`` and resolve them.

An :class:`Endpoint` is the parsed form; :func:`Endpoint.label` is the one
canonical spelling used as the key of facts and in messages (``host:port``,
``[v6]:port``). :func:`resolve` turns a name into every address it has, in
resolver order, so the prober can try them one by one.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from dataclasses import dataclass

from plugins.smtp.texts import Said
from scanner.i18n import N_

DEFAULT_PORT = 25


class EndpointError(ValueError):
    """An endpoint string that is not ``HOST``, ``HOST:PORT`` or ``[IPv6]:PORT``."""


@dataclass(frozen=True, slots=True)
class Endpoint:
    host: str
    port: int = DEFAULT_PORT

    @property
    def is_ip(self) -> bool:
        try:
            ipaddress.ip_address(self.host)
        except ValueError:
            return False
        return True

    @property
    def label(self) -> str:
        """The canonical text: ``host:port``, ``[2001:db8::1]:25``."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"


def _port(text: str, original: str) -> int:
    if not (text.isascii() and text.isdigit()) or not 0 < int(text) < 65536:
        raise EndpointError(Said(N_("endpoint {endpoint}: port {port} is not a number from 1 to 65535"),
                                 endpoint=repr(original), port=repr(text)))
    return int(text)


def parse_endpoint(text: str) -> Endpoint:
    """Parse one endpoint string; raise :class:`EndpointError` naming it when it is malformed."""
    raw = text.strip()
    if not raw:
        raise EndpointError(Said(N_("empty endpoint: expected HOST, HOST:PORT or [IPv6]:PORT")))
    if raw.startswith("["):
        close = raw.find("]")
        if close < 0:
            raise EndpointError(Said(N_("endpoint {endpoint}: '[' without ']' (expected [IPv6]:PORT)"),
                                     endpoint=repr(text)))
        host, rest = raw[1:close], raw[close + 1 :]
        try:
            ipaddress.IPv6Address(host.split("%", 1)[0])
        except ValueError:
            raise EndpointError(Said(N_("endpoint {endpoint}: {host} in brackets is not an IPv6 address"),
                                     endpoint=repr(text), host=repr(host))) from None
        if not rest:
            return Endpoint(host)
        if not rest.startswith(":"):
            raise EndpointError(Said(N_("endpoint {endpoint}: expected ':PORT' after ']'"), endpoint=repr(text)))
        return Endpoint(host, _port(rest[1:], text))
    if raw.count(":") > 1:
        try:
            ipaddress.IPv6Address(raw)
        except ValueError:
            raise EndpointError(Said(N_("endpoint {endpoint}: write an IPv6 address as [ADDRESS]:PORT"),
                                     endpoint=repr(text))) from None
        return Endpoint(raw)
    host, sep, port = raw.partition(":")
    if not host or any(c.isspace() or c in "/@[]" for c in host):
        raise EndpointError(Said(N_("endpoint {endpoint}: {host} is not a host name or address"), endpoint=repr(text),
                                 host=repr(host)))
    return Endpoint(host.rstrip(".").lower() or host, _port(port, text) if sep else DEFAULT_PORT)


async def resolve(endpoint: Endpoint, deadline: float) -> list[tuple[int, str]]:
    """Every ``(family, address)`` the endpoint's host has, without duplicates, in resolver order.

    An IP literal resolves to itself without asking the resolver. Raises
    ``OSError`` (or ``TimeoutError`` at the deadline) when the name does not resolve.
    """
    if endpoint.is_ip:
        family = socket.AF_INET6 if ":" in endpoint.host else socket.AF_INET
        return [(family, endpoint.host)]
    loop = asyncio.get_running_loop()
    infos = await asyncio.wait_for(
        loop.getaddrinfo(endpoint.host, endpoint.port, type=socket.SOCK_STREAM),
        timeout=max(0.0, deadline - loop.time()),
    )
    seen: list[tuple[int, str]] = []
    for family, _type, _proto, _name, sockaddr in infos:
        item = (int(family), str(sockaddr[0]))
        if item not in seen:
            seen.append(item)
    return seen
