"""The ``smtp`` plugin: the ``smtp_tls`` check type (STARTTLS, TLS versions, certificate, plaintext MAIL).

Policy parameters (SPEC §4.1)::

    smtp_tls:
      endpoints: ['mail.contoso.com:25']   # optional; default: the target's smtp list
      servername: mail.contoso.com         # optional: SNI, and the name to match for an IP endpoint
      starttls: required                   # required (default) | optional | forbidden
      accept: [TLSv1.2]                    # each must be accepted after STARTTLS
      reject: [SSLv3, TLSv1.0, TLSv1.1]    # each must be refused
      plaintext_mail: refused              # MAIL FROM:<> before STARTTLS must be refused
      certificate: {min_days_valid: 14, min_key_bits: 2048, match_hostname: true}
      timeout: 10                          # seconds, a deadline for each stage of each connection

A host name is probed on every address it resolves to (at most 16), each judged
as a part (``host:port (address)``); an address refusing TCP is ``error``, so
give an IP address to probe one address. One address gets 6 x ``timeout`` in
all; a stage slower than a rule's own ``timeout`` is ``error`` for that rule.
A ``4xx`` to STARTTLS is ``error`` (also under ``starttls: required``);
``required`` passes only when a TLS handshake followed the ``220``.

Placeholders for remediation text: ``${endpoint}`` (the endpoint that decided),
``${version}`` (the TLS version item that decided, if any), ``${servername}``,
``${item}`` (``starttls``, ``TLSv1.0``, ``plaintext_mail``, ``certificate.min_key_bits``...)
and ``${observed}`` (what that endpoint did for that item), plus ``${actual}``/``${expected}``.

No pass without proof: a version counts as refused only on a lawful refusal
(``plugins.smtp.tls_verdict``), a reply counts only by the rules of
``plugins.smtp.replies`` (a ``4xx`` to STARTTLS hides the versions, it does
not refuse them; plaintext MAIL is refused only by ``530``, ``x.7.y`` or text
naming STARTTLS), and every judged item names the observation it rests on
(``plugins.smtp.judge``).

The modules doing the work (asyncio, cryptography) are imported only when a
scan collects or evaluates, so loading the plugin stays cheap.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING

from plugins.smtp.facts_schema import FACTS_SCHEMA
from scanner.api import JSON, CheckType, CollectRequest, Command, EvalContext, Outcome, RunContext, hookimpl

VERSION_NAMES = ["SSLv3", "TLSv1.0", "TLSv1.1", "TLSv1.2", "TLSv1.3"]

_PORT = r"(?:[1-9][0-9]{0,3}|[1-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5])"
ENDPOINT_PATTERN = (
    r"^(?:\[[0-9A-Fa-f:.]+(?:%[A-Za-z0-9_.-]+)?\](?::" + _PORT + r")?"  # [IPv6] or [IPv6]:PORT
    r"|(?=[0-9A-Fa-f:.]*::)[0-9A-Fa-f:.]+|(?:[0-9A-Fa-f]{1,4}:){7}[0-9A-Fa-f]{1,4}"  # a bare IPv6 address
    r"|[^\s:\[\]/@]+(?::" + _PORT + r")?)$"  # HOST or HOST:PORT
)
"""The endpoint forms ``validate`` accepts: port 1-65535, no spaces, one colon unless IPv6 (the parser at
run time is stricter still: ``plugins.smtp.endpoint``)."""
_ENDPOINT = {"type": "string", "minLength": 1, "pattern": ENDPOINT_PATTERN,
             "description": "HOST, HOST:PORT or [IPv6]:PORT (port 25 by default, 1-65535)"}

_VERSION_LIST = {"type": "array", "items": {"enum": VERSION_NAMES}, "uniqueItems": True}

SCHEMA: dict[str, JSON] = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "endpoints": {
            "type": "array", "minItems": 1, "items": _ENDPOINT,
            "description": "HOST, HOST:PORT or [IPv6]:PORT (port 25 by default); default: the target's smtp list",
        },
        "servername": {"type": "string", "minLength": 1, "pattern": r"^[^\s\x00-\x1f\x7f]+$",
                       "description": "SNI, and the name the certificate must match when the endpoint is an IP"},
        "starttls": {"enum": ["required", "optional", "forbidden"], "default": "required",
                     "description": "whether the server must offer STARTTLS (required), may (optional) or must "
                                    "not (forbidden); default required"},
        "accept": {**_VERSION_LIST, "description": "versions the server must accept after STARTTLS, e.g. [TLSv1.2]"},
        "reject": {**_VERSION_LIST, "description": "versions the server must refuse, e.g. [TLSv1.0, TLSv1.1]"},
        "plaintext_mail": {"enum": ["refused"],
                           "description": "MAIL FROM:<> before STARTTLS must be refused (e.g. 530, 451 5.7.3)"},
        "certificate": {
            "type": "object", "additionalProperties": False, "minProperties": 1,
            "description": "requirements on the certificate the server presents after STARTTLS",
            "properties": {
                "min_days_valid": {"type": "number", "minimum": 0,
                                   "description": "days the certificate must stay valid after --now, e.g. 30"},
                "min_key_bits": {"type": "integer", "minimum": 0,
                                 "description": "bits of the public key, RSA-equivalent (NIST SP 800-57): EC "
                                                "P-256 counts as 3072; e.g. 2048"},
                "match_hostname": {"type": "boolean",
                                   "description": "the certificate must name the endpoint's host (or servername)"},
            },
        },
        "timeout": {"type": "number", "exclusiveMinimum": 0, "maximum": 600, "default": 10,
                    "description": "seconds, a deadline for each stage of each connection (an address is "
                                   "given 6 x timeout in all)"},
    },
}

SOURCE_SCHEMA: dict[str, JSON] = {
    "type": "array",
    "items": _ENDPOINT,
    "description": "SMTP endpoints the smtp_tls checks probe, e.g. [mail.example.com, '10.0.0.5:587']",
}

if TYPE_CHECKING:
    from plugins.smtp.collector import SmtpTlsCollector

PLACEHOLDERS = ("endpoint", "version", "servername", "item", "observed")


class _LazyCollector:
    """Imports the real collector (asyncio, ssl, cryptography) on first use."""

    def __init__(self) -> None:
        self._real: SmtpTlsCollector | None = None

    def _get(self) -> SmtpTlsCollector:
        if self._real is None:
            from plugins.smtp.collector import SmtpTlsCollector

            self._real = SmtpTlsCollector()
        return self._real

    def collect(self, requests: Sequence[CollectRequest], ctx: RunContext) -> Iterable[tuple[str, JSON]]:
        return self._get().collect(requests, ctx)

    def evaluate(self, params: Mapping[str, JSON], facts: JSON, ctx: EvalContext) -> Outcome:
        return self._get().evaluate(params, facts, ctx)


def _names_endpoints(params: Mapping[str, JSON]) -> bool:
    return bool(params.get("endpoints"))


def _replay(recorded: Sequence[Mapping[str, JSON]]) -> tuple[JSON, JSON]:
    """Recorded probes (``policyscan probe --report json``: each document's ``facts``) as the
    target's ``smtp`` list and the facts the collector would have gathered for it."""
    from plugins.smtp.facts_keys import probe_key

    probes = {probe_key(str(p["endpoint"]), p.get("servername")): dict(p) for p in recorded}
    return [str(p["endpoint"]) for p in recorded], {"probes": probes}


@hookimpl
def register_check_types() -> list[CheckType]:
    return [
        CheckType(
            name="smtp_tls",
            schema=SCHEMA,
            collector=_LazyCollector(),
            source="smtp",
            description="SMTP STARTTLS probe: offered TLS versions, plaintext MAIL, server certificate",
            placeholders=PLACEHOLDERS,
            source_optional=_names_endpoints,
            source_schema=SOURCE_SCHEMA,
            facts_schema=FACTS_SCHEMA,
            replay=_replay,
        )
    ]


@hookimpl
def register_commands() -> list[Command]:
    from plugins.smtp.command import PROBE

    return [PROBE]
