"""Endpoint parsing and resolution."""

from __future__ import annotations

import asyncio
import socket

import pytest

from plugins.smtp.endpoint import Endpoint, EndpointError, parse_endpoint, resolve


@pytest.mark.parametrize(("text", "host", "port", "label"), [
    ("mail.contoso.com", "mail.contoso.com", 25, "mail.contoso.com:25"),
    ("Mail.Contoso.com.:587", "mail.contoso.com", 587, "mail.contoso.com:587"),
    ("192.0.2.7", "192.0.2.7", 25, "192.0.2.7:25"),
    ("192.0.2.7:2525", "192.0.2.7", 2525, "192.0.2.7:2525"),
    ("[2001:db8::1]:465", "2001:db8::1", 465, "[2001:db8::1]:465"),
    ("[::1]", "::1", 25, "[::1]:25"),
    ("2001:db8::1", "2001:db8::1", 25, "[2001:db8::1]:25"),
])
def test_parse(text: str, host: str, port: int, label: str) -> None:
    ep = parse_endpoint(text)
    assert (ep.host, ep.port, ep.label) == (host, port, label)


@pytest.mark.parametrize(("text", "says"), [
    ("", "empty endpoint"),
    ("mail:0", "port '0'"),
    ("mail:99999", "port '99999'"),
    ("mail:smtp", "port 'smtp'"),
    ("mail:２５", "port '２５'"),  # str.isdigit takes fullwidth digits
    ("[2001:db8::1", "without ']'"),
    ("[mail.test]:25", "not an IPv6 address"),
    ("[::1]25", "expected ':PORT'"),
    ("2001:db8::zz", "write an IPv6 address as [ADDRESS]:PORT"),
    ("user@mail:25", "is not a host name"),
])
def test_parse_errors_name_the_endpoint(text: str, says: str) -> None:
    with pytest.raises(EndpointError, match="endpoint") as exc:
        parse_endpoint(text)
    assert says in str(exc.value)


def test_resolve_literal_and_name() -> None:
    async def go() -> tuple[list, list]:
        loop = asyncio.get_running_loop()
        return (await resolve(Endpoint("::1"), loop.time() + 2),
                await resolve(Endpoint("localhost"), loop.time() + 2))

    literal, name = asyncio.run(go())
    assert literal == [(socket.AF_INET6, "::1")]
    assert (socket.AF_INET, "127.0.0.1") in name and len(name) == len(set(name))
