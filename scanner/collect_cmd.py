"""``policyscan collect``: run only the collectors and write every fact they gathered (SPEC §2).

The facts file (:mod:`scanner.facts_file`) is judged later, offline, by
``policyscan scan --facts FILE --policy ...``: same results as the live scan,
without opening any host, file or connection. Registry batches are collected
(and encoded) in forked workers, as a scan judges them; lines are spooled and
the file is written atomically once everything is in.
"""

from __future__ import annotations

import argparse
import sys
from functools import partial
from typing import IO, Any

from scanner import __version__


def run_collect(args: argparse.Namespace, stdout: IO[str]) -> int:
    from scanner.api import RunContext
    from scanner.cli import _parse_inputs, _usage, load_targets_and_policies, parse_now
    from scanner.engine import Engine, rules_for_no_target
    from scanner.facts_file import CheckTable, FactsWriter, encode, target_json
    from scanner.output import ReportSpecError, check_report_paths
    from scanner.plugin_host import load_plugins
    from scanner.progress import progress_wanted

    if args.inventory and (args.reg or args.smtp or args.logs or args.target is not None):
        raise _usage("--inventory cannot be combined with --target, --reg, --smtp or --logs")
    if args.jobs < 1:
        raise _usage("--jobs must be at least 1")
    now = parse_now(args.now)
    overrides = _parse_inputs(args.input)
    host = load_plugins()
    targets, policies = load_targets_and_policies(args, host, overrides)
    for rule in rules_for_no_target(policies, targets):
        print(f"policyscan: warning: {rule}: its applies_to labels match no target, so it is skipped everywhere",
              file=sys.stderr)
    to_stdout = args.out == "-"  # the JSON Lines go to stdout
    try:
        if not to_stdout:
            check_report_paths([("facts", args.out)])
    except ReportSpecError as exc:
        why = str(exc).removeprefix(f"--report facts={args.out}: ")
        raise _usage(f"--out {args.out}: {why}") from None

    table = CheckTable()
    for p in policies:
        for r in p.rules:
            for leaf in r.check.leaves():
                table.add(leaf.type_name, leaf.params)
    run = RunContext(now=now, jobs=args.jobs, progress=progress_wanted())
    engine = Engine(policies, host.check_types, run)
    by_name = {t.name: t for t in targets}
    writer = FactsWriter(args.out, _binary(stdout) if to_stdout else None)
    try:
        for chunk in engine.collect_batches(targets, partial(_encode_batch, encode, by_name, table)):
            writer.add(chunk)
        header: dict[str, Any] = {
            "tool": {"name": "policyscan", "version": __version__},
            "plugins": {
                info.name: {"distribution": info.distribution, "version": info.version}
                for info in sorted(host.plugins.values(), key=lambda i: i.name)
                if info.check_types
            },
            "collected_at": now.isoformat(),
            "inventory": [target_json(t) for t in sorted(targets, key=lambda t: t.name)],
            "policies": [{"id": p.id, "version": p.version, "sha256": p.sha256} for p in policies],
            "checks": table.entries,
        }
        count = writer.count
        writer.finish(header)
    finally:
        writer.close()
    print(f"policyscan: collected {count} facts line(s) for {len(targets)} target(s) into "
          f"{'stdout' if to_stdout else args.out}", file=sys.stderr)
    return 0


class _TextSink:
    """A binary stream writing UTF-8 text to ``stream`` (a text stream without a byte buffer)."""

    def __init__(self, stream: IO[str]) -> None:
        self._stream = stream

    def write(self, data: bytes) -> int:
        self._stream.write(data.decode("utf-8"))
        return len(data)

    def flush(self) -> None:
        self._stream.flush()


def _binary(stream: IO[str]) -> Any:
    """Where ``collect --out -`` writes its bytes: the byte buffer under ``stream`` when it has one."""
    buffer = getattr(stream, "buffer", None)
    if buffer is not None:
        stream.flush()
        return buffer
    return _TextSink(stream)


def _encode_batch(encode: Any, targets: Any, table: Any, _index: int, items: Any) -> Any:
    """Runs where the batch was collected (a forked worker for the registry): lines go back as bytes."""
    return encode(items, targets, table)
