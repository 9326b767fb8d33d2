"""A scan whose reports are rendered where the results are made.

A fleet scan makes hundreds of thousands of results. Gathering them in the
parent process and rendering every report there afterwards costs more than
judging them: each result would be serialised in a worker, rebuilt in the
parent, then walked once per report format. When a ``--report`` of a run
names a reporter with a :class:`~scanner.api.ResultStream` (the built-in
``json`` and ``junit`` have one), :func:`scan_streamed` does this instead:

1. each batch of targets is judged in a worker (see
   :meth:`scanner.engine.Engine.map_batches`), waivers are applied there, and
   every streamed report's rendering of that batch is written to a part file
   beside the report; the number of results per (status, severity) goes back
   to the parent, and the results themselves only when a report without a
   stream (``console``) was asked for too;
2. once every batch is done the parent knows the summary, and assembles each
   streamed report as ``head + parts + tail`` into a temporary file that
   replaces the report atomically, as :func:`scanner.output.write_atomic`
   does; then the other reports are written from the gathered results.

The bytes are the same as :func:`scanner.output.write_reports` writes for the
same results (tested). Part files live in a hidden folder next to each report
(next to the file a symlink points to; so assembling them is a copy inside
one file system) and are removed however the scan ends. A report into a
device, FIFO or descriptor (``/dev/null``, ``/dev/stdout``) keeps its parts in
a private temporary folder and its assembled bytes are written straight
through, never renamed over it (:mod:`scanner.report_dest`). A streamed
reporter that raises stops the scan (exit 4) and no report is written or
replaced.
"""

from __future__ import annotations

import operator
import os
import shutil
import tempfile
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from scanner.api import Reporter, ResultStream, Severity, Status, Target
from scanner.baseline import Baseline, gate_counts_of
from scanner.engine import Engine, pack_results, unpack_results
from scanner.output import atomic_file, reader_went_away, write_reports
from scanner.policy import WaiverSet
from scanner.redact import Redactor
from scanner.report import Report, Result
from scanner.report_dest import destination, open_through

StatusCounts = Counter[tuple[Status, Severity]]
_KNOWN = "known:"
"""Prefix of a batch tally's status for a baseline's known failures (counted apart, for the gate)."""
_STATUS_AND_SEVERITY = operator.itemgetter(5, 4)  # Result is a NamedTuple: (..., severity, status, ...)


def can_stream(specs: Sequence[tuple[str, str | None]], reporters: Mapping[str, Reporter]) -> bool:
    """True when at least one requested report can be rendered batch by batch."""
    return any(reporters[fmt].stream is not None for fmt, _ in specs)


@dataclass(frozen=True)
class _Output:
    fmt: str
    path: str | None  # None: stdout
    stream: ResultStream
    parts: Path  # the folder of this report's part files


def scan_streamed(
    engine: Engine,
    targets: Sequence[Target],
    report: Report,
    specs: Sequence[tuple[str, str | None]],
    reporters: Mapping[str, Reporter],
    stdout: IO[str],
    waivers: WaiverSet | None = None,
    progress: Callable[[int, int], None] | None = None,
    baseline: Baseline | None = None,
    redactor: Redactor | None = None,
) -> tuple[Report, StatusCounts]:
    """Scan ``targets`` and write every report of ``specs``; return the finished report and
    the number of results per (status, severity) that gate the exit code (a ``baseline``'s
    known failures are in the reports but not in these counts).

    ``report`` carries what is known before the scan (``finished_at`` and the
    summary are filled in here). Reports whose reporter has a ``stream`` are
    rendered in the workers; the others (``console``) are written afterwards by
    :func:`scanner.output.write_reports` from results the workers send back, and
    only then does the finished report hold the results. A ``redactor`` (``--redact``)
    masks every result in the worker, after waivers and before any report or count.
    """
    streams = [(fmt, path) for fmt, path in specs if reporters[fmt].stream is not None]
    gathered = [(fmt, path) for fmt, path in specs if reporters[fmt].stream is None]
    # results cross from the workers only when a report needs them, packed with marshal
    pack = bool(gathered) and engine.runs_in_workers(len(targets))
    outputs: list[_Output] = []
    try:
        for fmt, path in streams:
            stream = reporters[fmt].stream
            assert stream is not None
            outputs.append(_Output(fmt, path, stream, _parts_folder(fmt, path)))
        counts: StatusCounts = Counter()
        results: list[Result] = []
        render = _BatchRenderer(report, outputs, waivers, engine.run.now, keep=bool(gathered), pack=pack,
                                baseline=baseline, redactor=redactor)
        known: StatusCounts = Counter()
        for batch_counts, kept in engine.map_batches(targets, render, progress):
            for (status, severity), n in batch_counts:
                if status.startswith(_KNOWN):
                    known[(Status(status[len(_KNOWN):]), Severity(severity))] += n
                else:
                    counts[(Status(status), Severity(severity))] += n
            if kept is not None:
                results.extend(unpack_results(kept) if pack else kept)
        by_status: Counter[str] = Counter()
        for (status, _), n in counts.items():
            by_status[status.value] += n
        finished = replace(report, finished_at=datetime.now(UTC), results=results, counts=dict(by_status))
        if baseline is not None:
            finished.baseline = baseline.summary(
                sum(known.values()), sum(n for (status, _), n in known.items() if status is Status.ERROR))
        _assemble_all(outputs, finished, stdout)
        if gathered:
            write_reports(finished, gathered, reporters, stdout, run_specs=specs)
        return finished, gate_counts_of(counts, known)
    finally:
        for out in outputs:
            shutil.rmtree(out.parts, ignore_errors=True)


class _BatchRenderer:
    """Runs in the worker that judged a batch: waivers, one part file per streamed report,
    then the batch's counts, and its results when a gathered report needs them."""

    def __init__(
        self,
        report: Report,
        outputs: Sequence[_Output],
        waivers: WaiverSet | None,
        now: datetime,
        keep: bool = False,
        pack: bool = False,
        baseline: Baseline | None = None,
        redactor: Redactor | None = None,
    ) -> None:
        self.report = report
        self.outputs = outputs
        self.waivers = waivers
        self.now = now
        self.keep = keep
        self.pack = pack
        self.baseline = baseline
        self.redactor = redactor

    def __call__(self, index: int, results: list[Result]) -> tuple[list[tuple[tuple[str, str], int]], Any]:
        if self.waivers is not None:
            from scanner.waivers import apply_waivers

            results = apply_waivers(results, self.waivers, self.now, self.report.lang)
        if self.redactor is not None:
            results = self.redactor.results(results)
        for out in self.outputs:
            for section, (_, write_results, _) in enumerate(_sections(out.stream)):
                part = out.parts / _part_name(section, index)
                with open(part, "wb") as f:
                    write_results(self.report, results, f)
                    empty = f.tell() == 0
                if empty:  # an empty run has no part: the separator goes between non-empty ones
                    part.unlink()
        # counted by member (cheap), sent as plain strings (they pickle more cheaply than enum members)
        counts = Counter(map(_STATUS_AND_SEVERITY, results))
        tally = [((status.value, severity.value), n) for (status, severity), n in counts.items()]
        if self.baseline is not None:  # known failures of the baseline: in the reports, not in the gate
            known = Counter(map(_STATUS_AND_SEVERITY, filter(self.baseline.is_known, results)))
            tally += [((_KNOWN + status.value, severity.value), n) for (status, severity), n in known.items()]
        kept = (pack_results(results) if self.pack else results) if self.keep else None
        return tally, kept


_Section = tuple[Callable[[Report], bytes] | None, Callable[[Report, Sequence[Any], IO[bytes]], None], bytes]


def _sections(stream: ResultStream) -> list[_Section]:
    """``(lead, write_results, separator)`` of each place of the document results go into
    (the first has no lead: the head stands before it)."""
    return [(None, stream.write_results, stream.separator)] + [
        (s.lead, s.write_results, s.separator) for s in stream.sections
    ]


def _part_name(section: int, index: int) -> str:
    return f"{index:08d}" if section == 0 else f"{index:08d}.{section}"


def _parts(out: _Output, section: int) -> list[Path]:
    """The part files of one section, in batch order."""
    return sorted(p for p in out.parts.iterdir() if p.suffix == ("" if section == 0 else f".{section}"))


def _parts_folder(fmt: str, path: str | None) -> Path:
    """Beside the file a report replaces (beside a symlink's target); a private temporary
    folder for stdout and for what is written straight through (a device, FIFO or descriptor)."""
    target = destination(path).target if path is not None else None
    if target is None:
        return Path(tempfile.mkdtemp(prefix=f"policyscan-{fmt}-"))
    target.parent.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".parts", dir=target.parent))


def _assemble_all(outputs: Sequence[_Output], report: Report, stdout: IO[str]) -> None:
    """Assemble every report; files at the same time, in threads (the copying and the
    freeing of a replaced report's blocks happen in the kernel, without the GIL).
    Every report is attempted; the first failure is raised afterwards."""
    files = [out for out in outputs if out.path is not None]
    in_threads = files if len(files) > 1 else []
    errors: list[BaseException] = []
    if in_threads:
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(len(in_threads)) as pool:
            futures = [pool.submit(_assemble, out, report, stdout) for out in in_threads]
        errors.extend(e for e in (f.exception() for f in futures) if e is not None)
    for out in outputs:
        if out.path is None or not in_threads:
            try:
                _assemble(out, report, stdout)
            except Exception as exc:
                errors.append(exc)
    if errors:
        raise errors[0]


def _assemble(out: _Output, report: Report, stdout: IO[str]) -> None:
    """``head + parts + tail`` into the report's file (atomically) or onto stdout."""
    if out.path is None:
        try:
            stdout.flush()
            buffer = getattr(stdout, "buffer", None)
            if buffer is not None:
                _write_document(out, report, buffer.fileno() if _has_fileno(buffer) else None, buffer)
                buffer.flush()
            else:  # a text-only stream (tests, an embedding program)
                for data in _pieces(out, report):
                    stdout.write(data.decode("utf-8"))
        except BrokenPipeError:  # the reader left (| head): the verdict still decides the exit code
            reader_went_away()
        return
    dest = destination(out.path)
    if dest.replaced:
        with atomic_file(out.path) as f:
            _write_document(out, report, f.fileno(), f)
        return
    with open_through(dest) as through:  # a device, FIFO or descriptor: never renamed over
        _write_document(out, report, through.fileno(), through)


def _has_fileno(stream: object) -> bool:
    try:
        stream.fileno()  # type: ignore[attr-defined]
    except (AttributeError, OSError, ValueError):
        return False
    return True


def _pieces(out: _Output, report: Report) -> list[bytes]:
    """The whole document in memory (text-only streams only; files are copied part by part)."""
    pieces = [out.stream.head(report)]
    for section, (lead, _, separator) in enumerate(_sections(out.stream)):
        if lead is not None:
            pieces.append(lead(report))
        for i, part in enumerate(_parts(out, section)):
            pieces.append((separator if i else b"") + part.read_bytes())
    pieces.append(out.stream.tail(report))
    return pieces


def _write_document(out: _Output, report: Report, fd: int | None, f: IO[bytes]) -> None:
    f.write(out.stream.head(report))
    for section, (lead, _, separator) in enumerate(_sections(out.stream)):
        if lead is not None:
            f.write(lead(report))
        for i, part in enumerate(_parts(out, section)):
            if i:
                f.write(separator)
            with open(part, "rb") as src:
                if fd is None:
                    shutil.copyfileobj(src, f)
                else:
                    f.flush()
                    _copy_to_fd(src, fd)
            part.unlink()
    f.write(out.stream.tail(report))


def _copy_to_fd(src: IO[bytes], fd: int) -> None:
    """Append ``src`` to ``fd``: in the kernel where it can (``copy_file_range``, ``sendfile``)."""
    size = os.fstat(src.fileno()).st_size
    copy = getattr(os, "copy_file_range", None)
    done = 0
    if copy is not None:
        try:
            while done < size:
                n = copy(src.fileno(), fd, size - done)
                if n == 0:
                    break
                done += n
        except OSError:
            pass  # e.g. across file systems on an older kernel, or a pipe: copy by hand
    if done < size:
        src.seek(done)
        while chunk := src.read(1 << 20):
            view = memoryview(chunk)
            while view:
                view = view[os.write(fd, view) :]
