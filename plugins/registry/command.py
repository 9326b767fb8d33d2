"""The ``fix`` sub-command, added to ``policyscan`` through the ``register_commands`` hook.

``policyscan fix --from REPORT.json --format reg|cmd|powershell [--output PATH]``
turns the failed ``registry`` results of a JSON report into a fix
(see :mod:`plugins.registry.remediate`).
"""

from __future__ import annotations

import argparse
from typing import IO

from scanner.api import Command

FORMATS = ("reg", "cmd", "powershell")


def _arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--from", dest="source", required=True, metavar="REPORT.json",
                   help="a policyscan JSON report (scan --report json=FILE)")
    p.add_argument("--format", required=True, choices=FORMATS,
                   help="reg: a .reg file for regedit /s; cmd: a batch file (reg export backup, reg add, restart "
                        "notice); powershell: the same steps with -WhatIf support")
    p.add_argument("--output", metavar="PATH",
                   help="a file, or a directory (existing, or ending in /) for one file per target; "
                        "default: stdout")


def _run(args: argparse.Namespace, stdout: IO[str]) -> int:
    from plugins.registry.remediate import run_fix_command

    return run_fix_command(args.source, args.format, args.output, stdout)


FIX = Command(
    name="fix",
    help="turn the failed registry results of a JSON report into a .reg, batch or PowerShell fix",
    description="Write the registry values that failed registry rules expect. Exit 0 when every failure "
                "has a fix, 1 when some cannot be fixed (they are listed with their remediation), "
                "2 for a bad report or option.",
    arguments=_arguments,
    run=_run,
)
