"""The ``policyscan`` command line (SPEC §2) and its exit codes (SPEC §3).

Each sub-command is a small function that returns an exit code; :func:`main`
maps our exceptions to exit 2 and anything unexpected to exit 4 with a
traceback file. Heavy modules are imported inside the commands that need them,
so ``policyscan --version`` starts in a few tens of milliseconds.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from typing import IO, TYPE_CHECKING, Any

from scanner import __version__

if TYPE_CHECKING:
    from scanner.plugin_host import PluginHost

SEVERITIES = ("info", "low", "medium", "high", "critical")
SCHEMA_KINDS = ("policy", "inventory", "waivers", "report", "facts", "test")
DIFF_FORMATS = ("console", "json", "markdown")
TEST_FORMATS = ("console", "json", "junit")
"""``policyscan test``'s own report formats (scanner.policytest_cmd.REPORT_FORMATS; a test keeps them equal),
named here so building the parser does not import the test runner."""


def _parser(host: PluginHost | None = None) -> argparse.ArgumentParser:
    """The parser of the built-in commands, plus the commands of ``host``'s plugins (``register_commands``).

    With ``host`` (help was asked for), the help also lists what the loaded plugins offer:
    report formats, check types, and each target source's forms (e.g. the log kinds).
    """
    commands = host.commands if host is not None else {}
    global _HOST_HELP
    _HOST_HELP = host
    p = argparse.ArgumentParser(
        prog="policyscan",
        description="Policy-as-code compliance scanner: registry exports, SMTP STARTTLS and Exchange logs.",
        epilog="Exit codes: 0 ok, 1 failures, 2 usage or invalid files, 3 errors or nothing checked, 4 bug.",
    )
    p.add_argument("--version", action="version", version=f"policyscan {__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")

    scan = sub.add_parser("scan", help="scan targets against policies", description=_check_types_line())
    scan.add_argument(
        "--policy", action="append", required=True, metavar="PATH",
        help="policy file, directory or pack:NAME (a pack an installed plugin ships; repeatable)"
    )
    _target_args(scan)
    scan.add_argument(
        "--facts", action="append", metavar="FACTS", help="evaluate the facts a `policyscan collect` wrote, "
        "offline: no host, file or connection is opened (instead of --inventory or target options; --now defaults "
        "to the collection time; given once)"
    )
    _report_args(scan)
    scan.add_argument(
        "--fail-on", choices=SEVERITIES, default="low", help="lowest severity that fails the gate (default: low)"
    )
    scan.add_argument("--waivers", metavar="FILE", help="waiver file")
    scan.add_argument(
        "--baseline",
        metavar="REPORT.json",
        help="an earlier JSON report: its fail/error results are known failures, reported but not gated",
    )
    scan.add_argument("--input", action="append", default=[], metavar="NAME=VALUE", help="override a policy input")
    scan.add_argument(
        "--lang", default="en", metavar="CODE",
        help="language of what a person reads: labels, messages, titles, remediation (default: en; "
        f"available: {', '.join(_languages())})",
    )
    scan.add_argument("--now", metavar="ISO8601",
                      help="the run's clock for time windows, waiver expiry and certificate validity "
                           "(default: the real time; with --facts, the time the facts were collected)")
    scan.add_argument(
        "--redact",
        action="store_true",
        help="mask e-mail addresses, IP addresses and host names in evidence, messages and remediation "
        "(every report format; target names stay)",
    )
    scan.add_argument(
        "--jobs", type=int, default=os.cpu_count() or 2, metavar="N", help="parallel work (default: cores)"
    )

    collect = sub.add_parser(
        "collect", help="run only the collectors and write every fact they gathered (evaluate later: scan --facts)",
        description="Run the collectors of the policies' checks on the targets and write what they gathered "
        "(values with their source lines, probe transcripts, log matches), the inventory, tool and plugin "
        "versions, the collection time and a SHA-256 of each source file, as a versioned JSON Lines file "
        "(policyscan schema facts). scan --facts FILE --policy P judges it later without touching any host.",
    )
    collect.add_argument(
        "--policy", action="append", required=True, metavar="PATH", help="policy file, directory or pack:NAME "
        "(repeatable): the facts its checks need are collected"
    )
    _target_args(collect)
    collect.add_argument("--out", required=True, metavar="FACTS",
                         help="the facts file to write (atomically; - writes the JSON Lines to stdout)")
    collect.add_argument("--input", action="append", default=[], metavar="NAME=VALUE", help="override a policy input")
    collect.add_argument("--now", metavar="ISO8601", help="the collection time recorded (default: the real time)")
    collect.add_argument(
        "--jobs", type=int, default=os.cpu_count() or 2, metavar="N", help="parallel work (default: cores)"
    )

    test = sub.add_parser("test", help="run policy unit tests (*.test.yaml, kind: PolicyTest)")
    test.add_argument("paths", nargs="+", metavar="PATH", help="test files, or directories to search for *.test.yaml")
    test.add_argument("--report", action="append", default=[], metavar="FORMAT[=PATH]",
                      help=f"report format and file (repeatable; no PATH or - is stdout; default: console to "
                      f"stdout); formats: {', '.join(TEST_FORMATS)}")

    val = sub.add_parser("validate", help="validate policies, inventories and waiver files")
    val.add_argument("paths", nargs="+", metavar="PATH",
                     help="policy, inventory, waiver or policy test files, directories to walk, or pack:NAME")

    rules = sub.add_parser(
        "rules", help="list the rules of policies, or print named rules in full",
        description="Without RULE: one line per rule (policy, id, severity, check types, title). With RULE: "
        "each named rule in full: title, description and rationale in every language given, the check, "
        "references, the message and the remediation in each language, and where it is defined.")
    rules.add_argument("--policy", action="append", required=True, metavar="PATH",
                       help="policy file, directory or pack:NAME (repeatable)")
    rules.add_argument("rule", nargs="*", metavar="RULE",
                       help="a rule id, or POLICY/RULE when two loaded policies share it: print it in full")

    sub.add_parser("plugins", help="list loaded plugins, their check types and reporters")

    diff = sub.add_parser(
        "diff",
        help="compare two JSON reports: new failures, fixed rules, changed statuses (exit 1 when worse)",
    )
    diff.add_argument("before", metavar="BEFORE.json", help="the JSON report from before the change")
    diff.add_argument("after", metavar="AFTER.json", help="the JSON report from after the change")
    diff.add_argument(
        "--report",
        action="append",
        default=[],
        metavar="FORMAT[=PATH]",
        help=f"diff format and file: {', '.join(DIFF_FORMATS)} (repeatable; default console to stdout)",
    )
    diff.add_argument("--lang", default="en", metavar="CODE",
                      help=f"language of the console and markdown text (default: en; available: "
                           f"{', '.join(_languages())})")

    schema = sub.add_parser("schema", help="print a JSON Schema, or write them as files for editors")
    schema.add_argument("kind", nargs="?", choices=SCHEMA_KINDS, help="which schema: " + ", ".join(SCHEMA_KINDS))
    schema.add_argument(
        "--write", metavar="DIR", help="write every schema (or only KIND's) as DIR/KIND.json, as shipped in schemas/"
    )
    schema.add_argument(
        "--builtin", action="store_true", help="with --write: only policyscan's own check types (as schemas/ holds)"
    )

    for command in sorted(commands.values(), key=lambda c: c.name):
        plugin_parser = sub.add_parser(command.name, help=command.help, description=command.description or None)
        command.arguments(plugin_parser)
    return p


_HOST_HELP: PluginHost | None = None
"""The plugins loaded for ``--help`` (None otherwise): what they offer is listed in the help."""


def _languages() -> list[str]:
    from scanner.i18n import available_languages

    return available_languages()


def _check_types_line() -> str | None:
    if _HOST_HELP is None:
        return None
    listed = "; ".join(f"{n} ({ct.description})" if ct.description else n
                       for n, ct in sorted(_HOST_HELP.check_types.items()))
    return f"Scan targets against policies. Check types of the loaded plugins: {listed}."


def _source_help(source: str) -> str:
    """The description the loaded plugins give the target source ``source`` (e.g. the log kinds)."""
    if _HOST_HELP is None:
        return ""
    for ct in _HOST_HELP.check_types.values():
        text = (ct.source_schema or {}).get("description") if ct.source == source else None
        if text:
            return f". {text[0].upper()}{text[1:]}" if text[0].islower() else f". {text}"
    return ""


def _target_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--inventory", metavar="FILE", help="inventory of targets (YAML, kind: Inventory)")
    p.add_argument("--target", metavar="NAME",
                   help="name of the single target built from --reg/--smtp/--logs (default: localhost)")
    p.add_argument(
        "--reg", action="append", default=[], metavar="FILE",
        help=".reg export, UTF-16LE (regedit) or REGEDIT4 (repeatable; merged in order)" + _source_help("registry"),
    )
    p.add_argument("--smtp", action="append", default=[], metavar="HOST[:PORT]",
                   help="SMTP endpoint, port 25 by default (repeatable)" + _source_help("smtp"))
    p.add_argument("--logs", action="append", default=[], metavar="[KIND=]GLOB",
                   help="log files (repeatable)" + _source_help("logs"))


def _report_args(p: argparse.ArgumentParser) -> None:
    formats = ", ".join(sorted(_HOST_HELP.reporters)) if _HOST_HELP is not None else "console, json, junit, ..."
    p.add_argument(
        "--report",
        action="append",
        default=[],
        metavar="FORMAT[=PATH]",
        help=f"report format and file (repeatable; no PATH or - is stdout; default: console to stdout); "
        f"formats: {formats}",
    )


def _usage(message: str) -> Exception:
    from scanner.errors import UsageError

    return UsageError(message)


def parse_now(text: str | None) -> datetime:
    if not text:
        return datetime.now(UTC)
    try:
        ts = datetime.fromisoformat(text.replace("Z", "+00:00") if text.endswith("Z") else text)
        return ts.replace(tzinfo=UTC) if ts.tzinfo is None else ts.astimezone(UTC)
    except ValueError:
        raise _usage(f"--now {text!r} is not an ISO 8601 time (e.g. 2026-11-26T10:00:00Z)") from None
    except OverflowError:  # 0001-01-01T00:00:00+01:00 is before the first representable UTC time
        raise _usage(f"--now {text!r} is outside the years 1 to 9999 in UTC") from None


def _parse_inputs(items: Sequence[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise _usage(f"--input {item!r}: expected NAME=VALUE")
        out[name] = value
    return out


def _report_specs(items: Sequence[str], reporters: Any) -> list[tuple[str, str | None]]:
    """Parse and check every ``--report`` before anything is scanned: a bad one is exit 2."""
    from scanner.output import ReportSpecError, check_report_specs, parse_report_spec

    try:
        specs = [parse_report_spec(i) for i in items] or [("console", None)]
        check_report_specs(specs, reporters)
    except ReportSpecError as exc:
        raise _usage(str(exc)) from None
    return specs


def cmd_scan(args: argparse.Namespace, stdout: IO[str]) -> int:
    from scanner.gcpause import paused_gc

    # A scan builds hundreds of thousands of long-lived objects and no garbage worth
    # collecting until it ends: the cyclic collector only walks them (a third of the time).
    with paused_gc(), _terminated_cleanly():
        return _scan(args, stdout)


@contextlib.contextmanager
def _terminated_cleanly() -> Iterator[None]:
    """SIGTERM (a cancelled CI job) unwinds the scan like Ctrl-C: report part files and
    temporary reports are removed, workers are stopped, the exit status is 143."""
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():  # only the main thread may set handlers
        yield
        return

    def stop(signum: int, _frame: object) -> None:
        raise SystemExit(128 + signum)

    previous = signal.signal(signal.SIGTERM, stop)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _scan(args: argparse.Namespace, stdout: IO[str]) -> int:
    from dataclasses import replace

    from scanner.api import RunContext, Severity
    from scanner.engine import Engine, progress_printer
    from scanner.exitcodes import gate, gate_counts
    from scanner.loader import load_waivers
    from scanner.output import ReportSpecError, check_report_paths, write_reports
    from scanner.plugin_host import load_plugins
    from scanner.progress import progress_wanted
    from scanner.report import Report
    from scanner.streaming import can_stream, scan_streamed
    from scanner.waivers import apply_waivers, unused_waivers

    started = datetime.now(UTC)
    if args.facts and len(args.facts) > 1:
        raise _usage(f"--facts given {len(args.facts)} times: a scan judges one facts file")
    args.facts = args.facts[0] if args.facts else None
    if args.facts and (args.inventory or args.reg or args.smtp or args.logs or args.target is not None):
        raise _usage("--facts cannot be combined with --inventory, --target, --reg, --smtp or --logs: "
                     "the targets are the ones the facts were collected for")
    if args.inventory and (args.reg or args.smtp or args.logs or args.target is not None):
        raise _usage("--inventory cannot be combined with --target, --reg, --smtp or --logs")
    if args.jobs < 1:
        raise _usage("--jobs must be at least 1")
    now = parse_now(args.now)  # with --facts and no --now: the collection time, below
    from scanner.i18n import check_language

    check_language(args.lang)  # before any report folder is made
    overrides = _parse_inputs(args.input)
    host = load_plugins()
    specs = _report_specs(args.report, host.reporters)
    snapshot = None
    if args.facts:
        from scanner.facts_file import read_snapshot

        # every line is checked before anything is judged; the registry's (large) facts against their
        # schema in the scan's workers, batch by batch, before any result of the batch is made
        parallel = [name for name, ct in host.check_types.items() if ct.process_parallel]
        snapshot = read_snapshot(args.facts, host, args.jobs, defer=parallel)
        targets = snapshot.targets
        if not args.now:
            now = snapshot.collected_at
        policies = load_run_policies(args, host, overrides)
    else:
        targets, policies = load_targets_and_policies(args, host, overrides)
    from scanner.engine import rules_for_no_target
    from scanner.i18n import translator

    _ = translator(args.lang).gettext

    def warn(line: str) -> None:
        print("policyscan: " + _("warning: {message}").format(message=line), file=sys.stderr)

    if snapshot is not None:
        from scanner.facts_file import policy_warnings

        for line in policy_warnings(snapshot, policies, args.lang):
            warn(line)
    for rule in rules_for_no_target(policies, targets):
        warn(_("{rule}: its applies_to labels match no target, so it is skipped everywhere").format(rule=rule))
    waivers = load_waivers(args.waivers) if args.waivers else None
    baseline = None
    if args.baseline:
        from scanner.baseline import baseline_warnings, load_baseline

        baseline = load_baseline(args.baseline)
        for line in baseline_warnings(baseline, __version__, [(p.id, p.version, p.sha256) for p in policies],
                                      args.lang):
            warn(line)
    for line in unused_waivers(waivers, policies, args.lang) if waivers is not None else ():
        warn(line)
    try:  # last of the checks before scanning: it may create the reports' folders
        check_report_paths(specs)
    except ReportSpecError as exc:
        raise _usage(str(exc)) from None

    run = RunContext(now=now, jobs=args.jobs, progress=progress_wanted())
    engine = Engine(policies, host.check_types, run, lang=args.lang, snapshot=snapshot)
    report = Report.begin(__version__, started, now, policies, targets, waivers, args.lang)
    if snapshot is not None:  # a report judged from a snapshot says so (file, hash, collection time)
        report.facts = snapshot.provenance()
    redactor = None
    if args.redact:  # one key per run, made before any worker is forked
        from scanner.redact import Redactor

        redactor = Redactor(keep=[t.name for t in targets])
        report.redacted = True
    progress = progress_printer(len(targets), lang=args.lang)
    if can_stream(specs, host.reporters):
        # json, junit... render batch by batch in the workers; console gets the gathered results
        finished, counts = scan_streamed(
            engine, targets, report, specs, host.reporters, stdout, waivers, progress, baseline, redactor
        )
        _say_known(finished, args.lang)
        return int(gate_counts(counts, Severity(args.fail_on)))
    results = engine.scan(targets, progress)
    if waivers is not None:
        results = apply_waivers(results, waivers, now, args.lang)
    if redactor is not None:
        results = redactor.results(results)
    report = replace(report, finished_at=datetime.now(UTC), results=results)
    gated = results
    if baseline is not None:
        gated, known = baseline.for_gate(results)
        report.baseline = baseline.summary(known, baseline.known_errors(results))
    write_reports(report, specs, host.reporters, stdout)
    _say_known(report, args.lang)
    return int(gate(gated, Severity(args.fail_on)))


def load_targets_and_policies(args: argparse.Namespace, host: Any, overrides: dict[str, str]) -> tuple[Any, Any]:
    """The targets of ``--inventory`` or of ``--target/--reg/--smtp/--logs``, and the ``--policy`` policies
    with ``--input`` applied (``scan`` and ``collect`` alike)."""
    from scanner.loader import load_inventory

    if args.inventory:
        targets = load_inventory(args.inventory, host)
    else:
        from scanner.cli_targets import cli_target

        targets = [cli_target(args.target, args.reg, args.smtp, args.logs, host)]
    return targets, load_run_policies(args, host, overrides)


def load_run_policies(args: argparse.Namespace, host: Any, overrides: dict[str, str]) -> Any:
    """The ``--policy`` policies with ``--input`` applied; an input no policy declares is a usage error."""
    from scanner.loader import load_policies

    policies = load_policies(args.policy, host, overrides)
    declared = {name for p in policies for name in p.inputs}
    unknown = sorted(set(overrides) - declared)
    if unknown:
        raise _usage(
            f"--input {unknown[0]}: no loaded policy declares this input (declared: "
            f"{', '.join(sorted(declared)) or 'none'})"
        )
    return policies


def _say_known(report: Any, lang: str = "en") -> None:
    if report.baseline is not None:
        from scanner.i18n import translator

        _ = translator(lang).gettext
        text = _("{known} known failure(s) carried from --baseline {file}: reported, not gated")
        print("policyscan: " + text.format(known=report.baseline["known"], file=report.baseline["file"]),
              file=sys.stderr)
        errors = report.baseline.get("known_errors", 0)
        if errors:  # not gated (SPEC §2), but never quietly: these rules were not checked this time either
            warning = _("warning: {n} of them are errors: rules not checked in this run either, so this run does "
                        "not show they hold").format(n=errors)
            print("policyscan: " + warning, file=sys.stderr)


def cmd_validate(args: argparse.Namespace, stdout: IO[str]) -> int:
    from scanner.loader import validate_paths
    from scanner.plugin_host import load_plugins

    count, problems = validate_paths(args.paths, load_plugins())
    for p in problems:
        print(p, file=sys.stderr)
    if problems:
        print(f"{len(problems)} problem(s) in {count} file(s)", file=sys.stderr)
        return 2
    print(f"{count} file(s) valid", file=stdout)
    return 0


def cmd_rules(args: argparse.Namespace, stdout: IO[str]) -> int:
    from scanner.rules_cmd import run_rules

    return run_rules(args.policy, args.rule, stdout)


def cmd_plugins(args: argparse.Namespace, stdout: IO[str]) -> int:
    from scanner.plugin_host import load_plugins

    host = load_plugins(reserved_commands=COMMANDS)
    for info in sorted(host.plugins.values(), key=lambda i: i.name):
        print(f"{info.name}  ({info.value}, {info.distribution} {info.version})", file=stdout)
        for name in info.check_types:
            print(f"    check type  {name}: {host.check_types[name].description}", file=stdout)
        for name in info.reporters:
            print(f"    reporter    {name}: {host.reporters[name].description}", file=stdout)
        for name in info.packs:
            pack = host.packs[name]
            print(f"    pack        pack:{name}: {pack.description or pack.path}", file=stdout)
        for name in info.commands:
            print(f"    command     {name}: {host.commands[name].help}", file=stdout)
    return 0


def cmd_schema(args: argparse.Namespace, stdout: IO[str]) -> int:
    import json

    from scanner import schemas

    if args.write is not None:
        from scanner.schema_files import write_command

        return write_command(args.write, args.kind, args.builtin, stdout)
    if args.kind is None:
        raise _usage("schema: name a kind (" + ", ".join(SCHEMA_KINDS) + "), or --write DIR")
    schema: dict[str, Any]
    if args.kind == "report":
        from scanner.output import load_report_schema

        schema = load_report_schema()
    elif args.kind == "waivers":
        schema = schemas.waivers_schema()
    elif args.kind == "facts":
        from scanner.facts_file import file_schema
        from scanner.plugin_host import load_plugins

        schema = file_schema(load_plugins().check_types)
    elif args.kind == "test":
        from scanner.policytest_cmd import policytest_schema

        schema = policytest_schema()
    else:
        from scanner.plugin_host import load_plugins

        host = load_plugins()
        if args.kind == "policy":
            schema = schemas.full_policy_schema(host.check_types)
        else:
            schema = schemas.inventory_schema(host.check_types)
    json.dump(schema, stdout, indent=2, sort_keys=False)
    stdout.write("\n")
    return 0


def cmd_diff(args: argparse.Namespace, stdout: IO[str]) -> int:
    import json

    from scanner.diff import compare, read_report, render_markdown, render_text
    from scanner.output import ReportSpecError, atomic_file, check_report_paths, parse_report_spec

    specs = []
    for item in args.report or ["console"]:
        try:
            fmt, path = parse_report_spec(item)
        except ReportSpecError as exc:
            raise _usage(str(exc)) from None
        if fmt not in DIFF_FORMATS:
            raise _usage(f"--report {item}: diff writes {', '.join(DIFF_FORMATS)}")
        specs.append((fmt, path))
    if sum(path is None for _, path in specs) > 1:
        raise _usage("at most one --report may go to stdout")
    from scanner.i18n import check_language

    check_language(args.lang)
    before, after = read_report(args.before, "BEFORE"), read_report(args.after, "AFTER")
    try:  # as scan does: a report that cannot be written is exit 2 before any work
        check_report_paths(specs)
    except ReportSpecError as exc:
        raise _usage(str(exc)) from None
    diff = compare(before, after, lang=args.lang)
    from scanner.i18n import translator

    for line in diff.warnings:
        print("policyscan: " + translator(args.lang).gettext("warning: {message}").format(message=line),
              file=sys.stderr)
    renderers = {
        "console": lambda: render_text(diff, lang=args.lang),
        "json": lambda: json.dumps(diff.to_json(before, after), indent=2, ensure_ascii=False) + "\n",
        "markdown": lambda: render_markdown(diff, lang=args.lang),
    }
    for fmt, path in specs:
        text = renderers[fmt]()
        if path is None:
            stdout.write(text)
        else:
            with atomic_file(path) as raw:
                raw.write(text.encode("utf-8"))
    return diff.exit_code()


def cmd_collect(args: argparse.Namespace, stdout: IO[str]) -> int:
    from scanner.collect_cmd import run_collect

    return run_collect(args, stdout)


def cmd_test(args: argparse.Namespace, stdout: IO[str]) -> int:
    from scanner.policytest_cmd import run_tests

    return run_tests(args, stdout)


VERDICT_COMMANDS = frozenset({"scan", "diff", "collect", "test"})
"""Commands whose exit code is a verdict: a broken pipe that reaches :func:`main` is not a pass."""

COMMANDS = {
    "scan": cmd_scan,
    "validate": cmd_validate,
    "rules": cmd_rules,
    "plugins": cmd_plugins,
    "schema": cmd_schema,
    "diff": cmd_diff,
    "collect": cmd_collect,
    "test": cmd_test,
}
"""The built-in commands. Plugins add theirs with the ``register_commands`` hook (the
smtp plugin's ``probe``, the registry plugin's ``fix``)."""


def _command_word(argv: Sequence[str]) -> str | None:
    """The sub-command named on the command line (the first word that is not an option)."""
    return next((a for a in argv if not a.startswith("-")), None)


def _plugin_commands(argv: Sequence[str]) -> PluginHost | None:
    """The loaded plugins when the command line may need their commands: a command that is not
    built in, or the top-level help. A built-in command (and ``--version``) does not wait for them."""
    word = _command_word(argv)
    helping = "-h" in argv or "--help" in argv
    if (word in COMMANDS and not helping) or (word is None and "--version" in argv and not helping):
        return None
    from scanner.plugin_host import load_plugins

    return load_plugins(reserved_commands=COMMANDS)


def _crash_file(exc: BaseException) -> str:
    import tempfile
    import traceback

    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    fd, path = tempfile.mkstemp(prefix=f"policyscan-crash-{stamp}-", suffix=".txt")
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(f"policyscan {__version__}, Python {sys.version.split()[0]}\n")
        f.write(f"argv: {sys.argv!r}\n\n")
        f.write("".join(traceback.format_exception(exc)))
    return path


def main(argv: Sequence[str] | None = None, stdout: IO[str] | None = None) -> int:
    """Run the CLI; return the exit code (SPEC §3)."""
    from scanner.errors import PolicyscanError

    argv = list(sys.argv[1:] if argv is None else argv)
    if argv == ["--version"]:  # the fast path: no parser, no plugins
        print(f"policyscan {__version__}", file=stdout or sys.stdout)
        return 0
    try:
        host = _plugin_commands(argv)
    except PolicyscanError as exc:
        print(f"policyscan: error: {exc}", file=sys.stderr)
        return 2
    args = _parser(host).parse_args(argv)
    if stdout is None and hasattr(sys.stdout, "reconfigure"):
        # evidence from hosts may hold anything; never die on a console that cannot show it
        sys.stdout.reconfigure(errors="backslashreplace")
    if stdout is None and sys.stdout is None:  # started with stdout closed (`>&-`): like a reader gone
        sys.stdout = open(os.devnull, "w", encoding="utf-8")  # noqa: SIM115 - lives as long as the process
    out = stdout or sys.stdout
    if args.command is None:
        _parser(host).print_help(out)
        return 2
    from scanner.errors import LoadError

    plugin_command = host.commands.get(args.command) if host is not None else None
    verdict = args.command in VERDICT_COMMANDS or (plugin_command is not None and plugin_command.verdict)
    try:
        if plugin_command is not None:
            return plugin_command.run(args, out)
        return COMMANDS[args.command](args, out)
    except LoadError as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        print(f"policyscan: {len(exc.problems)} problem(s); nothing was scanned", file=sys.stderr)
        return 2
    except PolicyscanError as exc:
        print(f"policyscan: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("policyscan: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError as exc:
        if verdict:
            # not stdout (write_reports handles that, and the verdict stands): a report's
            # reader went away (a FIFO, a socket) and the report is lost; never exit 0 then
            return _undelivered(exc)
        # the reader went away (`policyscan schema report | head`): not our bug
        _silence_stdout()
        return 0
    except OSError as exc:
        # the machine, not a bug: a full disk (ENOSPC), /dev/full, a quota, an I/O error
        return _undelivered(exc) if verdict else _io_error(exc)
    except Exception as exc:
        return _internal_error(exc)


def _io_error(exc: OSError) -> int:
    where = "; ".join(getattr(exc, "__notes__", ()))
    print(f"policyscan: error: {exc.strerror or exc}" + (f" ({where})" if where else ""), file=sys.stderr)
    _silence_stdout()  # what is left in stdout's buffer cannot be written either
    return 2


def _undelivered(exc: OSError) -> int:
    """A report or output that could not be delivered: the run is not complete, so exit 3
    (never 0, and not 4: nothing is wrong with policyscan)."""
    _io_error(exc)
    print("policyscan: a report was not delivered; the run is incomplete", file=sys.stderr)
    return 3


def _silence_stdout() -> None:
    with contextlib.suppress(OSError, ValueError, AttributeError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())


def _internal_error(exc: BaseException) -> int:
    path = _crash_file(exc)
    print(f"policyscan: internal error ({type(exc).__name__}: {exc}); traceback written to {path}", file=sys.stderr)
    return 4
