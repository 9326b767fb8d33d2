"""Record the SMTP probe documents the shipped policy tests use (policies/probes/*.json).

Run from the repository root: ``python -m tests.record_policy_probes``. Each fixture is
``policyscan probe ENDPOINT --report json`` against a real loopback server made here
(aiosmtpd with a TLS context allowing exactly the versions named), so the facts are what
the real probe sees; the policy tests then judge them offline (``probe:`` in a case).
"""

from __future__ import annotations

import io
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from plugins.smtp.probe_cli import run_probe_command
from tests.plugins.smtp_servers import aiosmtpd_server, closed_port, make_cert, tls_context

OUT = Path(__file__).resolve().parent.parent / "policies" / "probes"
SCENARIOS = {
    # name: (TLS versions served, certificate validity in days from now, refuse MAIL before STARTTLS)
    "tls12-only": (["TLSv1.2"], (-1, 365), True),
    "legacy-tls": (["TLSv1.0", "TLSv1.1", "TLSv1.2"], (-1, 10), False),
    "tls10-only": (["TLSv1.0", "TLSv1.1"], (-1, 365), False),
}


def record(name: str, endpoint: str) -> None:
    out = io.StringIO()
    run_probe_command(endpoint, [f"json={OUT / (name + '.json')}"], 5.0, datetime.now(UTC), out)
    print(f"{name}: {endpoint} -> {OUT / (name + '.json')}")


def main() -> None:
    OUT.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        for name, (versions, days, refuse) in SCENARIOS.items():
            cert = make_cert(Path(tmp), name, ["mail.test"], days=days, ips=("127.0.0.1",))
            server = aiosmtpd_server(tls_context(cert, versions), refuse_plain_mail=refuse)
            try:
                record(name, server.endpoint)
            finally:
                server.stop()
    record("refused", f"127.0.0.1:{closed_port()}")


if __name__ == "__main__":
    main()
