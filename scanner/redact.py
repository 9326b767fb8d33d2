"""``scan --redact``: e-mail addresses, IP addresses and host names masked in results.

:class:`Redactor` rewrites a :class:`~scanner.report.Result` before any
reporter sees it (in the gathered path in the parent, in the streamed path in
the worker that judged the batch), so every report format gets the same
masked text without a reporter knowing about it.

What is masked, in a result's ``message``, ``expected``, ``actual``,
``evidence`` (every string at any depth, the keys of maps too: an ``actual``
keyed by endpoint) and ``remediation``:

* e-mail addresses, a quoted local part (``"john doe"@contoso.com``) or an
  address literal (``postmaster@[IPv6:2001:db8::1]``) included -> ``email-1a2b3c``;
* a URL's user information with its host (``https://user:pass@host/path``)
  -> ``https://email-1a2b3c/path``: masked as the account ``user@host``, the
  password neither shown nor hashed;
* IPv4 and IPv6 addresses, also with a port or in brackets (``[::1]:25``), an
  IPv4 address zero-padded (``192.168.001.001``, masked as ``192.168.1.1``) and
  an SMTP address literal's IPv6 address (``[IPv6:2001:db8::5]``) -> ``ip-1a2b3c``
  (the port, brackets and ``IPv6:`` tag stay). An IPv6 zone id stays too:
  ``fe80::1%eth0`` -> ``ip-1a2b3c%eth0``, the mask that of ``fe80::1`` (the
  zone names an interface of the machine that printed it, not a host);
* DNS host names of two or more labels whose last label is alphabetic and
  not a file extension (``mail.contoso.com``,
  ``AM0PR02CA0001.outlook.office365.com``) -> ``host-1a2b3c``; a wildcard
  certificate name keeps its ``*.`` (``*.contoso.com`` -> ``*.host-1a2b3c``).

What is kept: the ``target``, ``policy``, ``rule``, ``title``, ``waiver`` and
``check_type`` fields; the exact name of any target of the run wherever it
appears (case-insensitive; ``exch01.contoso.local`` stays when a target has
that name, but ``smtp.exch01.contoso.local`` does not); a name right after
``/`` or ``\\`` (a file path's component or a registry key: ``exports/exch01.reg:14``,
``HKLM\\...\\TLS 1.2``), unless after ``//`` (a URL's host) or at the start of a
UNC path; names ending in a known file extension (``queues.txt``); version
strings after a letter (``TLSv1.2``, ``v4.0.30319``) and three-part numbers
(``4.4.2``). A four-part version standing alone (``#Version: 15.0.0.0``) looks
like an IPv4 address and is masked.

A mask is ``kind-`` and six hex digits of an HMAC-SHA256 of the normalised
value (host names and e-mail addresses lower-cased, IP addresses in their
compressed form) under a key made once per run: the same value gets the same
mask across every report and every worker of one run, so a reader can still
tell that two results name the same host; another run uses another key.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import re
import secrets
from collections.abc import Iterable, Mapping
from typing import Any

from scanner.api import JSON
from scanner.report import Result

_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_OCTET = r"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9]|0[0-9][0-9]?)"
"""0 to 255, zero-padded too (``001``, ``010``: some tools print addresses so)."""
_IPV4 = rf"{_OCTET}(?:\.{_OCTET}){{3}}"
_IP6_TAG = r"[Ii][Pp][Vv]6:"
"""The tag of an RFC 5321 address literal (``[IPv6:2001:db8::1]``)."""

_READINGS = (
    # a URL's user information: user, maybe ":password", "@" and the host (smtp://user:pass@host/)
    r"(?P<url>(?<=//)[^\s/?#\[\]<>\"'`\\]+@"
    rf"(?:\[[0-9A-Za-z:.%_-]+\]|(?:{_LABEL}\.)*{_LABEL}(?![\w-])))",
    # e-mail: local part (or a quoted one), @, a dotted domain, an address (bracketed or not) or one label
    r"(?P<email>(?:(?<![\w.%+-])[A-Za-z0-9._%+-]+|(?<![\w\"])\"(?:[^\"\\\r\n]|\\.){1,64}\")@"
    rf"(?:(?:{_LABEL}\.)+[A-Za-z]{{2,63}}|\[(?:{_IP6_TAG})?[0-9A-Fa-f:.]+\]|{_IPV4}(?!\w|\.[0-9])|{_LABEL})"
    r"(?![\w-]))",
    # IPv6 candidate (validated in _replace): hex, colons and dots with two colons at least; after
    # an address literal's "IPv6:" tag too
    rf"(?P<ip6>(?:(?<![\w:.])|(?<=(?<![\w.-]){_IP6_TAG}))"
    r"(?=[0-9A-Fa-f.]*:[0-9A-Fa-f.]*:)[0-9A-Fa-f:.]*[0-9A-Fa-f:](?:%[0-9A-Za-z_.-]+)?"
    r"(?![\w:]))",
    # IPv4: not after a letter or dot (v4.0.30319), not followed by more of a number
    rf"(?P<ip4>(?<![\w.]){_IPV4}(?!\w|\.[0-9]))",
    # host name: two labels or more, the last alphabetic; after an SMTP reply's "250-" or a
    # wildcard's "*." too (*.contoso.com: the "*." stays)
    r"(?P<host>(?:(?<![\w.-])(?![2-5][0-9][0-9]-)|(?<=(?<![\w.-])[2-5][0-9][0-9]-)|(?<=(?<![\w.*-])\*\.))"
    rf"(?:{_LABEL}\.)+[A-Za-z]{{2,63}}(?![\w-]|\.[A-Za-z0-9]))",
)
_PATTERN = re.compile("|".join(_READINGS))
_NOT_IP6 = re.compile("|".join(r for r in _READINGS if not r.startswith("(?P<ip6>")))
"""The same readings but IPv6, for an IPv6 candidate that proved not to be one (``127.0.0.1:2526:``)."""

_FILE_EXTENSIONS = frozenset((
    "reg", "log", "txt", "json", "jsonl", "yaml", "yml", "xml", "csv", "tsv", "html", "htm", "md", "rst", "py",
    "pyc", "ps1", "psm1", "psd1", "bat", "cmd", "sh", "exe", "dll", "sys", "msi", "ini", "cfg", "conf", "config",
    "toml", "zip", "gz", "tgz", "bz2", "xz", "tar", "evtx", "etl", "pem", "crt", "cer", "der", "pfx", "key",
    "sarif", "js", "ts", "css", "png", "jpg", "jpeg", "gif", "svg", "pdf", "doc", "docx", "xls", "xlsx", "lock",
    "tmp", "bak", "old", "out", "err",
))
"""Last labels that make a dotted name a file name (``queues.txt``), not a host name."""


class Redactor:
    """Masks e-mail addresses, IP addresses and host names in results (see the module docstring).

    Picklable (a streamed scan sends it to its workers with the batch renderer);
    make it once per run, in the parent, so every worker masks alike.
    """

    def __init__(self, keep: Iterable[str] = (), key: bytes | None = None) -> None:
        self.key = key if key is not None else secrets.token_bytes(16)
        self.keep = frozenset(name.casefold() for name in keep)

    def __getstate__(self) -> dict[str, Any]:
        return {"key": self.key, "keep": self.keep}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.key = state["key"]
        self.keep = state["keep"]

    def _mask(self, kind: str, value: str) -> str:
        digest = hmac.new(self.key, f"{kind}\0{value}".encode(), hashlib.sha256).hexdigest()
        return f"{kind}-{digest[:6]}"

    def _replace(self, m: re.Match[str]) -> str:
        text = m.group()
        if text.casefold() in self.keep:
            return text
        kind = m.lastgroup
        if kind == "url":
            # user[:password]@host: one account, masked like an e-mail address; the password is
            # no part of the hashed value (nor of the output)
            userinfo, _, host = text.rpartition("@")
            return self._mask("email", f"{userinfo.partition(':')[0]}@{host}".casefold())
        if kind == "email":
            return self._mask("email", text.casefold())
        if kind == "ip4":  # zero-padded octets read as decimal: 192.168.001.001 is 192.168.1.1
            return self._mask("ip", ".".join(str(int(octet)) for octet in text.split(".")))
        if kind == "ip6":
            address, _, zone = text.partition("%")
            try:
                ip = ipaddress.IPv6Address(address)
            except ValueError:
                # not an IPv6 address: a time of day (10:00:00.201), a MAC address... or an IPv4
                # address with a port before a colon ("127.0.0.1:2526: starttls ..."): read it again
                # without the IPv6 reading, so what it holds is still masked
                if address.endswith(":") and not address.endswith("::") and not zone:
                    try:  # an IPv6 address and then a colon ("fe80::1: refused")
                        return self._mask("ip", ipaddress.IPv6Address(address[:-1]).compressed) + ":"
                    except ValueError:
                        pass
                return self._again(m)
            return self._mask("ip", ip.compressed) + (f"%{zone}" if zone else "")
        # a host name
        start = m.start()
        source = m.string
        before = source[start - 1] if start else ""
        if before and before in "/\\" and not (start >= 2 and source[start - 2] == before):
            return text  # a path's component or a registry key, not a URL's or UNC path's host
        tld = text.rsplit(".", 1)[1]
        if tld.casefold() in _FILE_EXTENSIONS or not (tld.islower() or tld.isupper()):
            return text  # queues.txt, System.Net.Mail
        return self._mask("host", text.casefold())

    def _again(self, m: re.Match[str]) -> str:
        """The span of ``m`` read again without the IPv6 reading (in its string, so lookarounds see around it)."""
        source, start, end = m.string, m.start(), m.end()
        parts, last = [], start
        for inner in _NOT_IP6.finditer(source, start):
            if inner.end() > end:
                break
            parts += [source[last : inner.start()], self._replace(inner)]
            last = inner.end()
        return "".join(parts) + source[last:end]

    def text(self, value: str) -> str:
        """``value`` with every e-mail address, IP address and host name masked."""
        return _PATTERN.sub(self._replace, value)

    def json(self, value: JSON, keys: bool = False) -> JSON:
        """A JSON value with every string in it masked; the keys of its maps too with ``keys``
        (where keys are data: an endpoint, a server's reply), else kept as they are."""
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, Mapping):
            if keys:
                return {self.text(k) if isinstance(k, str) else k: self.json(v, True) for k, v in value.items()}
            return {k: self.json(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self.json(v, keys) for v in value]
        return value

    def result(self, r: Result) -> Result:
        """``r`` with its message, expected and actual values, evidence and remediation masked."""
        return r._replace(
            message=self.text(r.message),
            expected=self.json(r.expected, keys=True),
            actual=self.json(r.actual, keys=True),
            evidence=[self.json(dict(e), keys=True) for e in r.evidence],
            remediation=self.text(r.remediation),
        )

    def results(self, results: Iterable[Result]) -> list[Result]:
        return [self.result(r) for r in results]
