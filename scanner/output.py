"""Writing reports: ``--report FORMAT[=PATH]`` specs, atomic files, the report schema.

* :func:`parse_report_spec` reads one ``--report`` value.
* :func:`check_report_specs` rejects unknown formats, two stdout reports and
  two reports into one file, before anything is scanned or written.
* :func:`write_reports` renders a finished report with every requested
  reporter: files are written atomically (a temporary file in the same
  directory, then :func:`os.replace`), so a CI job never reads half a report,
  and a reporter that raises leaves nothing behind (an existing file stays as
  it was). At most one report may go to stdout, as in InSpec.
* :func:`load_report_schema` / :func:`report_schema_errors` give and apply the
  JSON Schema of the SPEC §7 report (``policyscan schema report``).
* :func:`printable` makes untrusted text (evidence from hosts and logs) safe
  for terminals and XML by spelling control characters as ``\\xNN`` escapes.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import secrets
import shutil
import sys
import tempfile
import traceback
from collections.abc import Iterator, Mapping, Sequence
from importlib import resources
from typing import IO, Any, BinaryIO

from scanner.api import Reporter, ReportOptions
from scanner.report import Report
from scanner.report_dest import check_writable, destination, open_through, same_file_key

STDOUT = "-"

_FORMAT_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*\Z")

# C0 controls except TAB/LF/CR, DEL and C1 controls except NEL, surrogates and
# non-characters: illegal in XML 1.0 or able to drive a terminal. Astral
# characters are matched as one cheap range (a class listing each plane's
# non-characters is ten times slower) and sorted out in _escape_char.
UNPRINTABLE = (
    "\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x84\x86-\x9f\ud800-\udfff\ufdd0-\ufddf\ufffe\uffff\U00010000-\U0010ffff"
)
"""The characters :func:`printable` looks at, as the inside of a regex class (for callers'
own "is there anything to do?" checks)."""
_UNPRINTABLE_RE = re.compile(f"[{UNPRINTABLE}]")


class ReportSpecError(ValueError):
    """A ``--report`` value that cannot be honoured (the CLI exits with 2)."""


def _escape_char(m: re.Match[str]) -> str:
    char = m.group()
    code = ord(char)
    if code > 0xFFFF and code & 0xFFFE != 0xFFFE:
        return char  # an ordinary astral character (emoji, CJK extension...)
    if code <= 0xFF:
        return f"\\x{code:02x}"
    if code <= 0xFFFF:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"


def printable(text: str) -> str:
    """Return ``text`` with control characters written as ``\\x1b``-style escapes.

    Tabs and newlines stay. Everything else a terminal could act on, or XML 1.0
    cannot carry, becomes visible text instead of being dropped.
    """
    return _UNPRINTABLE_RE.sub(_escape_char, text)


def parse_report_spec(text: str) -> tuple[str, str | None]:
    """Split ``FORMAT[=PATH]`` into ``(format, path)``; path ``None`` means stdout.

    ``json``, ``json=-`` -> ``("json", None)``; ``junit=out/junit.xml`` ->
    ``("junit", "out/junit.xml")``. Only the first ``=`` splits, so a path may
    contain ``=``. The format is lower-cased.
    """
    fmt, sep, path = text.partition("=")
    fmt = fmt.strip().lower()
    if not _FORMAT_RE.match(fmt):
        raise ReportSpecError(f"--report {text!r}: expected FORMAT[=PATH], e.g. json=report.json")
    if sep and not path:
        raise ReportSpecError(f"--report {text!r}: empty PATH after '='; use {fmt}=- for stdout")
    return fmt, (None if not sep or path == STDOUT else path)


def check_report_specs(specs: Sequence[tuple[str, str | None]], reporters: Mapping[str, Reporter]) -> None:
    """Reject unknown formats, several stdout reports and one file named twice (:class:`ReportSpecError`).

    :func:`write_reports` calls it first; the CLI may call it before scanning,
    so a bad ``--report`` is a usage error (exit 2) rather than a late failure.
    A path naming our stdout (``/dev/stdout``, ``/dev/fd/1``) counts as stdout,
    and a symlink and the file it points to are one file.
    """
    known = ", ".join(sorted(reporters)) or "(none)"
    keys = {path: same_file_key(path) for _, path in specs if path is not None}
    to_stdout = [fmt for fmt, path in specs if path is None or keys[path] == "fd:1"]
    for fmt, _ in specs:
        if fmt not in reporters:
            raise ReportSpecError(f"unknown report format {fmt!r}; known formats: {known}")
    if len(to_stdout) > 1:
        raise ReportSpecError(
            f"only one report may go to stdout, got {len(to_stdout)} ({', '.join(to_stdout)}); "
            f"give the others a file: --report FORMAT=PATH"
        )
    seen: dict[str, str] = {}
    for fmt, path in specs:
        if path is None:
            continue
        key = keys[path]
        if key is None:
            continue
        if key in seen:
            raise ReportSpecError(f"two reports ({seen[key]} and {fmt}) would write the same file {path}")
        seen[key] = fmt


def check_report_paths(specs: Sequence[tuple[str, str | None]]) -> None:
    """Make sure every report file can be written, before anything is scanned.

    A regular (or new) file's folder is created if missing, and a file is
    created in it and removed again; a device, FIFO or descriptor must be
    writable (see :func:`scanner.report_dest.check_writable`). A report that
    cannot be written is a :class:`ReportSpecError` naming it, rather than a
    traceback once the scan is over.
    """
    for fmt, path in specs:
        if path is None:
            continue
        try:
            why = check_writable(destination(path))
        except OSError as exc:  # a symlink loop, a folder we may not look into
            why = exc.strerror or str(exc)
        if why is not None:
            raise ReportSpecError(f"--report {fmt}={path}: {why}")


def color_wanted(stream: IO[str], environ: Mapping[str, str] | None = None) -> bool:
    """True when ``stream`` is a terminal and ``NO_COLOR`` is unset or empty (no-color.org)."""
    env = os.environ if environ is None else environ
    if env.get("NO_COLOR"):
        return False
    isatty = getattr(stream, "isatty", None)
    try:
        return bool(isatty and isatty())
    except ValueError:  # a closed stream
        return False


def reader_went_away() -> None:
    """Point stdout at the null device after the reader of a pipe left (``| head``), so
    nothing more is written there and the interpreter's exit flush does not fail."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):  # stdout is not a file descriptor: nothing to silence
        pass
    finally:
        os.close(devnull)


@contextlib.contextmanager
def atomic_file(path: str | os.PathLike[str]) -> Iterator[BinaryIO]:
    """A binary file that becomes ``path`` only when the ``with`` block ends without an exception.

    A regular (or new) file is replaced: a temporary file beside it (beside
    the file a symlink points to, so the link stays a link) is renamed over it
    with :func:`os.replace`; missing parent directories are created. A device,
    FIFO, socket or descriptor (``/dev/null``, ``/dev/stdout``) is never
    renamed over: what the block wrote is kept in a private temporary file and
    written straight through once the block succeeds
    (:mod:`scanner.report_dest`). On any exception nothing is written and an
    existing ``path`` is left untouched. The rename is what makes readers
    safe; there is no ``fsync`` (it costs about 15% of the time of a 170 MB
    report and only matters if the machine loses power).
    """
    dest = destination(path)
    if dest.target is None:
        with tempfile.TemporaryFile() as spool:
            # the caller may close what it is given (a TextIOWrapper does): give it its own descriptor
            with open(os.dup(spool.fileno()), "wb") as f:
                yield f
            spool.seek(0)
            with open_through(dest) as out:
                shutil.copyfileobj(spool, out, 1 << 20)
        return
    target = dest.target
    target.parent.mkdir(parents=True, exist_ok=True)
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    while True:
        tmp = target.with_name(f".{target.name}.{secrets.token_hex(4)}.tmp")
        try:
            fd = os.open(tmp, flags, 0o666)  # the umask applies, as for any new file
            break
        except FileExistsError:  # pragma: no cover - 32 random bits collided
            continue
    try:
        with open(fd, "wb") as f:
            yield f
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_atomic(path: str | os.PathLike[str], reporter: Reporter, report: Report, options: ReportOptions) -> None:
    """Render ``report`` as UTF-8 into ``path`` through :func:`atomic_file`."""
    with atomic_file(path) as raw, io.TextIOWrapper(raw, encoding="utf-8", newline="") as stream:
        reporter.write(report, stream, options)


def write_reports(
    report: Report,
    specs: Sequence[tuple[str, str | None]],
    reporters: Mapping[str, Reporter],
    stdout: IO[str],
    run_specs: Sequence[tuple[str, str | None]] | None = None,
) -> None:
    """Write ``report`` once per ``(format, path)`` spec; ``path`` None means ``stdout``.

    Reporters learn every report of the run (``ReportOptions.reports``): ``run_specs``
    when some were written elsewhere (a streamed scan's), else ``specs``.

    Every spec is checked before anything is written (:class:`ReportSpecError`).
    Colour is used only for ``console`` on a terminal with ``NO_COLOR`` unset.
    A reporter that raises does not stop the others: the first exception is
    raised once every report has been attempted. A stdout whose reader went
    away (``| head``) is not an error: the scan's verdict still decides the
    exit code (a CI gate must not go green because its pipe closed early).
    """
    check_report_specs(specs, reporters)
    everything = tuple(run_specs if run_specs is not None else specs)
    first_error: BaseException | None = None
    files = [(fmt, path) for fmt, path in specs if path is not None]
    children = _fork_writers(report, files[1:], reporters, everything) if len(files) > 1 else []
    if children:
        specs = [spec for spec in specs if spec not in files[1:]]
    for fmt, path in specs:
        reporter = reporters[fmt]
        try:
            if path is None:
                options = ReportOptions(color=fmt == "console" and color_wanted(stdout), lang=report.lang,
                                        reports=everything)
                try:
                    reporter.write(report, stdout, options)
                    stdout.flush()
                except BrokenPipeError:
                    reader_went_away()
            else:
                write_atomic(path, reporter, report, ReportOptions(color=False, lang=report.lang, reports=everything))
        except Exception as exc:
            exc.add_note(f"while writing the {fmt} report to {path or 'stdout'}")
            if first_error is None:
                first_error = exc
    for child_error in _wait_writers(children):
        if first_error is None:
            first_error = child_error
    if first_error is not None:
        raise first_error


class ReportWriteError(RuntimeError):
    """A report written in a worker process failed; the message carries its traceback."""


def _fork_writers(
    report: Report,
    files: Sequence[tuple[str, str | None]],
    reporters: Mapping[str, Reporter],
    everything: tuple[tuple[str, str | None], ...] = (),
) -> list[tuple[int, int, str, str]]:
    """Write the extra report files in forked children, one each, alongside the parent.

    A fleet report of hundreds of thousands of results takes seconds per
    format; on two cores JSON and JUnit are written at the same time. Each child
    writes atomically as :func:`write_atomic` does and reports a failure through
    a pipe. Without ``fork`` (Windows) nothing is forked and the parent writes all.
    """
    if not hasattr(os, "fork") or (os.cpu_count() or 1) < 2:
        return []
    sys.stdout.flush()
    sys.stderr.flush()
    children = []
    for fmt, path in files:
        assert path is not None
        read_end, write_end = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child: write one report, say how it went, leave without cleanup handlers
            os.close(read_end)
            code = 0
            try:
                options = ReportOptions(color=False, lang=report.lang, reports=everything)
                write_atomic(path, reporters[fmt], report, options)
            except BaseException:
                os.write(write_end, traceback.format_exc().encode("utf-8", "replace"))
                code = 1
            finally:
                os._exit(code)
        os.close(write_end)
        children.append((pid, read_end, fmt, path))
    return children


def _wait_writers(children: Sequence[tuple[int, int, str, str]]) -> list[BaseException]:
    errors: list[BaseException] = []
    for pid, read_end, fmt, path in children:
        with os.fdopen(read_end, "rb") as pipe:
            text = pipe.read().decode("utf-8", "replace")
        _, status = os.waitpid(pid, 0)
        if status != 0:
            errors.append(ReportWriteError(f"the {fmt} report to {path} failed:\n{text or f'exit status {status}'}"))
    return errors


def load_report_schema() -> dict[str, Any]:
    """Return the JSON Schema (draft 2020-12) of the SPEC §7 JSON report."""
    text = resources.files("scanner").joinpath("schemas", "report.schema.json").read_text(encoding="utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema


def report_schema_errors(document: Any) -> list[str]:
    """Validate a loaded JSON report; return readable errors (``path: message``), empty when valid."""
    from jsonschema import Draft202012Validator  # heavy import, only when validating

    validator = Draft202012Validator(load_report_schema())
    errors = sorted(validator.iter_errors(document), key=lambda e: list(map(str, e.absolute_path)))
    return [f"{'/'.join(map(str, e.absolute_path)) or '(report)'}: {e.message}" for e in errors]
