"""How the facts of an ``smtp_tls`` check key their probes (a module without heavy imports:
``CheckType.replay`` uses it while ``validate`` reads policy tests, with no probe to run)."""

from __future__ import annotations


def probe_key(label: str, servername: str | None) -> str:
    """The key of one probe in the facts: the endpoint, plus the servername when one is set."""
    return f"{label} servername={servername}" if servername else label
