"""The ``probe`` sub-command, added to ``policyscan`` through the ``register_commands`` hook.

``policyscan probe HOST[:PORT]`` asks one endpoint everything the ``smtp_tls``
check type can ask (see :mod:`plugins.smtp.probe_cli`). The heavy modules
(asyncio, ssl, cryptography) are imported only when the command runs.
"""

from __future__ import annotations

import argparse
from typing import IO

from scanner.api import Command

DEFAULT_TIMEOUT = 10.0


def _arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("endpoint", metavar="HOST[:PORT]",
                   help="the endpoint: HOST, HOST:PORT or [IPv6]:PORT (port 25 by default); "
                        "a host name is probed on every address it resolves to")
    p.add_argument("--report", action="append", default=[], metavar="FORMAT[=PATH]",
                   help="console (a table; the default) or json (the probe document with the full transcript); "
                        "no PATH or - is stdout (repeatable)")
    p.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT, metavar="SECONDS",
                   help=f"deadline of each stage of each connection, above 0 and at most 600 "
                        f"(default: {DEFAULT_TIMEOUT:g})")
    p.add_argument("--servername", metavar="NAME",
                   help="the TLS server name (SNI) to send; default: the host name, none for an IP address")
    p.add_argument("--redact", action="store_true",
                   help="mask e-mail addresses, IP addresses and host names in the table and the JSON document "
                        "(transcript, replies, addresses, certificate names)")
    p.add_argument("--lang", default="en", metavar="CODE",
                   help="language of the console table (default: en); the JSON document stays as recorded")
    p.add_argument("--now", metavar="ISO8601",
                   help="the clock the certificate's validity is judged by (default: the real time)")


def _run(args: argparse.Namespace, stdout: IO[str]) -> int:
    from plugins.smtp.probe_cli import run_probe_command
    from scanner.cli import parse_now
    from scanner.i18n import check_language

    check_language(args.lang)
    return run_probe_command(args.endpoint, list(args.report), args.timeout, parse_now(args.now), stdout,
                             servername=args.servername, redact=args.redact, lang=args.lang)


PROBE = Command(
    name="probe",
    help="ad-hoc SMTP STARTTLS probe of one endpoint (exit 0 answered, 3 could not be probed)",
    description="Probe one SMTP endpoint: STARTTLS, each of SSLv3..TLSv1.3, plaintext MAIL FROM before "
                "STARTTLS, and the certificate. Exit 0 when it answered, 3 when it could not be probed, "
                "2 for a bad endpoint or option.",
    arguments=_arguments,
    run=_run,
    verdict=True,
)
