"""JSON Schema of the ``smtp_tls`` facts: ``{"probes": {KEY: probe facts}}`` (:mod:`plugins.smtp.collector`).

The probe facts of one endpoint are what :func:`plugins.smtp.probe.probe_endpoint`
returns: the endpoint, servername, SNI and timeout it was probed with, an
``error`` (or null), per-version results, STARTTLS, plaintext MAIL, certificate
and handshake facts, the transcript of each connection, and ``texts`` (the
templates of their messages, :mod:`plugins.smtp.texts`). A host name probed on
several addresses has ``addresses`` and one probe facts object per address in
``parts``. The schema pins what the judge relies on first and leaves the
detail of transcripts open.
"""

from __future__ import annotations

from typing import Any

_ADDRESS: dict[str, Any] = {
    "type": "object",
    "required": ["endpoint", "error"],
    "properties": {
        "endpoint": {"type": "string", "minLength": 1, "description": "The endpoint probed: host:port."},
        "servername": {"type": ["string", "null"], "description": "The server name asked for, if any."},
        "sni": {"type": ["string", "null"], "description": "The name sent in TLS SNI (null: none, for an IP "
                "address)."},
        "timeout": {"type": "number", "description": "The timeout of each stage, in seconds."},
        "error": {"type": ["string", "null"], "description": "Why the probe failed (English), or null."},
        "texts": {"type": "object", "description": "The templates of the probe's messages, for translation: "
                  "{english: {msgid, args}}."},
    },
}

_PROBE: dict[str, Any] = {
    **_ADDRESS,
    "properties": {
        **_ADDRESS["properties"],
        "addresses": {"type": "array", "items": {"type": "string"},
                      "description": "A host name probed on several addresses: the addresses."},
        "parts": {"type": "array", "items": _ADDRESS,
                  "description": "A host name probed on several addresses: the probe facts of each."},
    },
}

FACTS_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["probes"],
    "properties": {
        "probes": {"type": "object", "additionalProperties": _PROBE,
                   "description": "The probe facts by endpoint: host:port (plus \" servername=NAME\" when set)."},
    },
}
