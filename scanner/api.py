"""The public plugin API of policyscan.

Everything a plugin needs is importable from here, and this module imports
nothing heavy, so ``policyscan --version`` stays fast. A plugin module exposes
hook implementations (see :mod:`scanner.hookspecs`) that return
:class:`CheckType` and :class:`Reporter` objects::

    from scanner.api import CheckType, hookimpl

    @hookimpl
    def register_check_types():
        return [CheckType(name="file_exists", schema={...}, source="files",
                          collector=FileCollector())]

How a scan uses a check type
----------------------------
1. The policy loader validates each check's parameters against
   ``CheckType.schema`` (JSON Schema, draft 2020-12).
2. For a batch of targets, the engine calls ``collector.collect(requests, ctx)``
   **once per check type**: each :class:`CollectRequest` carries one target and
   the parameters of every check of that type that applies to it, so a
   collector can read each source once (parse a ``.reg`` file once, probe an
   endpoint once, read a log file once for all signatures). It yields
   ``(target_name, facts)`` pairs. Facts are plain JSON (dicts, lists, str,
   int, float, bool, None): they can be saved and evaluated offline later.
3. For each check, the engine calls ``collector.evaluate(params, facts, ctx)``,
   which judges the facts and returns an :class:`Outcome`. Collecting never
   judges; evaluating never touches the target.

A collector that raises makes every result it touches ``error``; it never
stops the scan. Facts that say "could not collect" must make ``evaluate``
return ``error``: a check that could not be carried out is never ``pass``.

Proof of a verdict
------------------
A ``pass`` needs proof: something was really read, seen or negotiated. So
every ``pass`` or ``fail`` :class:`Outcome` must say in ``examined`` what the
check looked at, as a mapping with at least one non-empty value, e.g.
``{"files": 3, "bytes": 81920}`` (logs), ``{"source": "x.reg:14"}`` or
``{"branch": "HKLM\\...\\TLS 1.2"}`` (a registry value seen, or its absence
seen inside an exported branch), ``{"negotiated": {"mx:25": "TLSv1.2"}}``
(smtp). The engine enforces it where results are made, for built-in and
third-party check types alike: a ``pass`` or ``fail`` whose ``examined`` is
empty, or holds only empty values (``0``, ``""``, ``[]``, ``None``), becomes
``error`` ("... gave a verdict without proof"). ``fail`` needs proof too,
because ``not:`` turns it into ``pass``. ``error`` and ``skip`` need none.
:mod:`scanner.testing` checks a check type against this contract.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from types import MappingProxyType
from typing import IO, TYPE_CHECKING, Any, NamedTuple, Protocol

import pluggy

if TYPE_CHECKING:
    from scanner.report import Report

PROJECT = "policyscan"

#: Marker for hook implementations in plugins: ``@hookimpl def register_check_types(): ...``
hookimpl = pluggy.HookimplMarker(PROJECT)

JSON = Any
"""A value made only of dict, list, str, int, float, bool and None."""


class Status(enum.StrEnum):
    """The status of one result. ``waived`` is only ever set by the waiver step."""

    PASS = "pass"
    FAIL = "fail"
    ERROR = "error"
    SKIP = "skip"
    WAIVED = "waived"


class Severity(enum.StrEnum):
    """Rule severity, ordered: ``Severity.HIGH.rank > Severity.LOW.rank``."""

    INFO = "info"
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"

    @property
    def rank(self) -> int:
        return _SEVERITY_ORDER.index(self)


_SEVERITY_ORDER = list(Severity)


@dataclass(frozen=True, slots=True)
class Target:
    """One scanned host.

    ``sources`` holds the target's source settings exactly as the inventory
    (or the command line) gave them, keyed by source name: ``registry``,
    ``smtp``, ``logs``, or a third-party plugin's own name. Relative paths in
    them are relative to ``base_dir``; use :meth:`path` to resolve one.
    """

    name: str
    labels: Mapping[str, str] = field(default_factory=dict)
    sources: Mapping[str, JSON] = field(default_factory=dict)
    base_dir: Path = Path(".")

    def path(self, relative: str) -> Path:
        """Resolve a path from the inventory against the inventory's folder."""
        p = Path(relative).expanduser()
        return p if p.is_absolute() else self.base_dir / p


@dataclass(frozen=True, slots=True)
class CollectRequest:
    """What one target needs from one check type: every check's parameters."""

    target: Target
    checks: Sequence[Mapping[str, JSON]]


@dataclass(frozen=True, slots=True)
class RunContext:
    """Settings of the whole run, handed to collectors and evaluators."""

    now: datetime
    """The one clock of the run (``--now``), timezone-aware UTC."""
    jobs: int = 2
    """Upper bound on concurrent work a collector may start (``--jobs``)."""
    progress: bool = False
    """True when collectors may draw progress on a terminal (stderr is a tty)."""
    lang: str = "en"
    """The language of what a person reads (``--lang``): check types translate their
    messages with ``scanner.i18n.translator(run.lang)``."""


class EvalContext(NamedTuple):
    """What an evaluator knows besides the parameters and the facts.

    (Immutable. A NamedTuple rather than a frozen dataclass because one is made
    for every check on every target: a quarter of a microsecond against two.)
    """

    run: RunContext
    target: Target
    combinator: str | None = None
    """The innermost combinator this check sits under (``all``/``any``/``not``), or None."""
    path: str = ""
    """Where the check sits in the rule, e.g. ``check.all[1]``."""


class Outcome(NamedTuple):
    """The verdict of one check on one target (immutable; a NamedTuple for speed, as
    hundreds of thousands are made in a fleet scan).

    ``fields`` are the check type's own values for ``${...}`` placeholders in
    remediation text (``key``, ``value``, ``endpoint``, ``signature`` ...);
    ``actual`` and ``expected`` are always available as placeholders too: the
    outcome's own values, unless ``fields`` gives texts for them (how they read
    for a person, in the run's language; the report keeps the values).

    ``examined`` is the proof behind a ``pass`` or ``fail``: what was really
    read, seen or negotiated (see "Proof of a verdict" above). Without it the
    engine turns the verdict into ``error``.
    """

    status: Status
    message: str
    expected: JSON = None
    actual: JSON = None
    evidence: Sequence[Mapping[str, JSON]] = ()
    fields: Mapping[str, JSON] = MappingProxyType({})
    examined: Mapping[str, JSON] | None = None


def has_proof(examined: object) -> bool:
    """True when ``examined`` is a mapping with at least one non-empty value (see above)."""
    return isinstance(examined, Mapping) and any(map(bool, examined.values()))


class Collector(Protocol):
    """Gathers facts for a batch of targets, and judges them check by check."""

    def collect(
        self, requests: Sequence[CollectRequest], ctx: RunContext
    ) -> Iterable[tuple[str, JSON]]:
        """Yield ``(target name, facts)`` once for every request."""
        ...

    def evaluate(self, params: Mapping[str, JSON], facts: JSON, ctx: EvalContext) -> Outcome:
        """Judge one check against the facts collected for its target."""
        ...


@dataclass(frozen=True, slots=True)
class CheckType:
    """A check type contributed by a plugin.

    ``source`` names the target setting the check reads (``registry``, ``smtp``,
    ``logs``...). A target that lacks it makes the rule ``skip`` with that
    reason, unless ``source_optional(params)`` says the parameters name the
    source themselves (e.g. ``smtp_tls`` with its own ``endpoints``).
    ``placeholders`` lists the ``${...}`` names its outcomes fill, so
    ``validate`` can report unknown ones.
    """

    name: str
    schema: Mapping[str, JSON]
    collector: Collector
    source: str
    description: str = ""
    placeholders: tuple[str, ...] = ()
    source_optional: Any = None
    """Optional callable ``(params) -> bool``: True when the params alone say where to look."""
    source_schema: Mapping[str, JSON] | None = None
    """JSON Schema of the target's ``source`` setting in inventory files (None: any value)."""
    process_parallel: bool = False
    """True when collect+evaluate are CPU work on local data that the engine may run in
    forked worker processes, batch by batch (the registry parser). Leave False for
    network collectors that must see the whole scan at once (one probe per endpoint)."""
    facts_schema: Mapping[str, JSON] | None = None
    """JSON Schema (draft 2020-12) of the facts ``collect`` yields for one target. ``policyscan
    collect`` saves facts to a file and ``scan --facts`` judges them later: each saved line is
    checked against this schema first, and facts that do not match are refused (exit 2), never
    handed to ``evaluate``. None: any plain JSON is accepted. Keep ``$ref`` out of it (it is
    embedded in ``policyscan schema facts``)."""
    replay: Callable[[Sequence[Mapping[str, JSON]]], tuple[JSON, JSON]] | None = None
    """Optional: facts from recordings the plugin's own command made (``policyscan probe --report
    json`` for ``smtp_tls``), for ``policyscan test`` fixtures. Given the recorded facts (one per
    recording), return ``(source, facts)``: the target's source setting that names them, and the
    facts ``collect`` would have yielded for that target. None: the check type cannot be replayed."""


@dataclass(frozen=True, slots=True)
class ReportOptions:
    """How a reporter should write: to a terminal (colour) or a file."""

    color: bool = False
    lang: str = "en"
    reports: tuple[tuple[str, str | None], ...] = ()
    """Every ``--report`` of the run as ``(format, path)`` (None: stdout), this one included,
    so a short report can say where the full one is."""


class ReportWriter(Protocol):
    def __call__(self, report: Report, stream: IO[str], options: ReportOptions) -> None: ...


@dataclass(frozen=True, slots=True)
class ResultSection:
    """A second (third...) place of a streamed document that every batch writes into.

    ``lead(report)`` is what stands between the previous section's runs and this
    one's (it gets the finished report, as ``head`` and ``tail`` do);
    ``write_results`` and ``separator`` work as :class:`ResultStream`'s do, over
    the same runs of results: each batch writes one part per section.
    """

    lead: Callable[[Report], bytes]
    write_results: Callable[[Report, Sequence[Any], IO[bytes]], None]
    separator: bytes = b""


@dataclass(frozen=True, slots=True)
class ResultStream:
    """A reporter's document in pieces, so a scan can render results where they are made.

    With ``Reporter.stream`` set, and every ``--report`` of the run having one,
    ``policyscan scan`` does not gather all results in one process: each
    worker renders its own batch of results with ``write_results`` into a part
    file, and the parent assembles the report as::

        head(report) + separator.join(every non-empty part) + tail(report)

    ``report`` is the finished report without its results: ``report.results``
    is empty and :meth:`~scanner.report.Report.summary` gives the counts of
    the whole run. ``write_results(report, results, out)`` writes a run of
    results, in report order (sorted by target, policy and rule; the runs are
    consecutive slices of the whole list, cut between targets), as bytes to
    ``out``, and nothing for an empty run. It may only read the report's
    fields known before the scan (``tool_version``, ``started_at``, ``now``,
    ``policies``, ``inputs``, ``targets``, ``waivers``, ``lang``), not
    ``finished_at`` or the summary. The assembled bytes must be exactly what
    ``write`` gives for the same report, encoded as UTF-8; the built-in JSON
    and JUnit reporters test that they are.
    """

    head: Callable[[Report], bytes]
    write_results: Callable[[Report, Sequence[Any], IO[bytes]], None]
    tail: Callable[[Report], bytes]
    separator: bytes = b""
    sections: tuple[ResultSection, ...] = ()
    """Further places of the document that results are rendered into, after the first
    (SARIF: results, then the errors as tool notifications). The document becomes
    ``head + runs + sections[0].lead + sections[0] runs + ... + tail``."""


@dataclass(frozen=True, slots=True)
class Reporter:
    """An output format for ``--report NAME[=PATH]``. ``write`` renders a finished report.

    ``stream`` (optional) lets a scan render the results in its worker
    processes, batch by batch; see :class:`ResultStream`.
    """

    name: str
    write: ReportWriter
    description: str = ""
    extension: str = ".txt"
    stream: ResultStream | None = None


class CommandRunner(Protocol):
    def __call__(self, args: Any, stdout: IO[str]) -> int: ...


@dataclass(frozen=True, slots=True)
class Command:
    """A sub-command a plugin adds to ``policyscan`` (``policyscan NAME ...``).

    ``arguments(parser)`` adds the command's options to its
    :class:`argparse.ArgumentParser` (give every option a ``help``, with its
    default); ``run(args, stdout)`` carries the command out and returns its
    exit code (SPEC §3: 0 ok, 1 a finding, 2 a usage error, 3 nothing could be
    checked). Raise :class:`scanner.errors.UsageError` for bad input: the
    CLI prints it on one line and exits 2, like its own commands. ``verdict``
    says the exit code is a verdict, so a report whose reader went away is
    exit 3, never 0. Import heavy modules inside ``run``: every command's
    parser is built when ``policyscan --help`` runs.
    """

    name: str
    help: str
    arguments: Callable[[Any], None]
    run: CommandRunner
    description: str = ""
    verdict: bool = False


@dataclass(frozen=True, slots=True)
class PolicyPack:
    """A policy pack a plugin ships: ``--policy pack:NAME`` (and ``extends: pack:NAME``) finds it.

    ``path`` is a policy file or a directory of policy files inside the
    installed plugin (e.g. ``Path(__file__).parent / "policies"``); a
    directory may also hold the pack's ``*.test.yaml`` policy tests.
    """

    name: str
    path: Path
    description: str = ""


__all__ = [
    "JSON",
    "CheckType",
    "CollectRequest",
    "Collector",
    "Command",
    "EvalContext",
    "Outcome",
    "PolicyPack",
    "ReportOptions",
    "Reporter",
    "ResultSection",
    "ResultStream",
    "RunContext",
    "Severity",
    "Status",
    "Target",
    "has_proof",
    "hookimpl",
]
