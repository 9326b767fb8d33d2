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
        "endpoint": {"type": "string", "minLength": 1},
        "servername": {"type": ["string", "null"]},
        "sni": {"type": ["string", "null"]},
        "timeout": {"type": "number"},
        "error": {"type": ["string", "null"]},
        "texts": {"type": "object"},
    },
}

_PROBE: dict[str, Any] = {
    **_ADDRESS,
    "properties": {
        **_ADDRESS["properties"],
        "addresses": {"type": "array", "items": {"type": "string"}},
        "parts": {"type": "array", "items": _ADDRESS},
    },
}

FACTS_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["probes"],
    "properties": {"probes": {"type": "object", "additionalProperties": _PROBE}},
}
