"""The ``file-contains`` sub-command: ``policyscan file-contains PATH... --text TEXT``.

Prints every line holding the text, as ``PATH:LINE: the line``, then one
summary line per file. Exit codes (SPEC §3): 0 every file holds the text (at
least ``--min-count`` times), 1 some file does not, 2 a usage error (no such
file, an empty text, a bad count), 3 a file could not be read as text (a
directory, FIFO or device; too large; not UTF-8/UTF-16, or holding a NUL) and
none failed.
"""

from __future__ import annotations

import argparse
from typing import IO

from scanner.api import Command

MAX_SHOWN = 200
"""At most this many characters of a matching line are printed."""


def _arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("paths", nargs="+", metavar="PATH",
                   help="regular text files to search (UTF-8 or UTF-16, with or without a byte order mark; "
                        "at most 16 MiB each)")
    p.add_argument("--text", required=True, metavar="TEXT",
                   help="the literal text to find (case-sensitive, no regex); required")
    p.add_argument("--min-count", type=int, default=1, metavar="N",
                   help="each file must hold the text at least N times (default: 1)")
    p.add_argument("--quiet", action="store_true",
                   help="print only the summary line of each file, not the matching lines (default: print them)")


def _run(args: argparse.Namespace, stdout: IO[str]) -> int:
    import os
    from pathlib import Path

    from policyscan_file_contains.reading import NotReadable, line_of, positions, read_text
    from scanner.errors import UsageError

    if not args.text:
        raise UsageError("file-contains: --text must not be empty")
    if args.min_count < 1:
        raise UsageError(f"file-contains: --min-count must be at least 1, not {args.min_count}")
    for name in args.paths:
        try:
            os.stat(name)
        except FileNotFoundError:  # what exists is read below, or said why it cannot be (exit 3)
            raise UsageError(f"file-contains: {name}: no such file") from None
        except OSError:
            pass
    found_all, unreadable = True, False
    for name in args.paths:
        try:
            read = read_text(Path(name))
        except (OSError, NotReadable) as exc:
            stdout.write(f"{name}: cannot read: {getattr(exc, 'strerror', None) or exc}\n")
            unreadable = True
            continue
        lines = read.text.splitlines()
        hits = positions(read.text, args.text)
        if not args.quiet:
            for number in dict.fromkeys(line_of(read.text, i) for i in hits):
                line = lines[number - 1] if number <= len(lines) else ""
                stdout.write(f"{name}:{number}: {line[:MAX_SHOWN]}\n")
        ok = len(hits) >= args.min_count
        found_all = found_all and ok
        verdict = "found" if ok else ("not found" if not hits else f"too few (at least {args.min_count} required)")
        stdout.write(f"{name}: {len(hits)} match{'' if len(hits) == 1 else 'es'}: {verdict}\n")
    if not found_all:
        return 1
    return 3 if unreadable else 0


FILE_CONTAINS = Command(
    name="file-contains",
    help="find a literal text in text files, with line numbers (exit 0 found, 1 not found, 2 usage error)",
    description="Search text files for a literal text, as the file_contains check type does, and print each "
                "matching line with its number. Exit 0 when every file holds the text (at least --min-count "
                "times), 1 when some file does not, 2 for a usage error, 3 when a file could not be read.",
    arguments=_arguments,
    run=_run,
    verdict=True,
)
