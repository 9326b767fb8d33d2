"""``policyscan fix --from REPORT.json --format reg|cmd|powershell [--output PATH]``.

Reads a JSON report (:func:`scanner.diff.read_report`: a file that is not one
is a usage error, exit 2), plans the values its failed ``registry`` results
expect (:mod:`plugins.registry.fixplan`: what is fixable and which type is
written), and writes them as:

* ``reg``: a ``.reg`` file to import after the scanned export
  (:mod:`plugins.registry.fixreg`);
* ``cmd``: a batch file using reg.exe (:mod:`plugins.registry.fixcmd`);
* ``powershell``: a script with ``-WhatIf`` (:mod:`plugins.registry.fixps`).

The scripts back the affected keys up (``reg export``) before changing
anything and end by saying a restart is needed; a ``.reg`` file cannot, so
its header says to back up first.

One target per file: a ``.reg`` file cannot be made conditional on the host
it is imported on, and a report's target names need not be computer names,
so a guard on ``%COMPUTERNAME%`` could not be trusted either. Without
``--output`` (stdout) or with ``--output FILE``, the report must have fixes
for at most one target; with ``--output DIR`` (an existing directory, or a
path ending in ``/``) each target gets ``DIR/<target>.reg|.cmd|.ps1`` (the
name reduced to letters, digits, ``-_.``; a clash gets ``-2``, ``-3``...).
Files are written atomically.

Every failed or errored result that is not turned into a fix is listed on
stderr with its target, rule, the reason, and the report's own remediation
text; then ``fix`` exits 1 (SPEC §3). Waived results are never fixed (they
are listed as such, and do not change the exit code). A value that one
format cannot carry safely (see each module's ``refusal``) is refused for
that format only, with the format that can.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import IO

from plugins.registry import fixcmd, fixps, fixreg
from plugins.registry.fixplan import Change, Plan, Unfixed, plan_fixes
from scanner.diff import read_report
from scanner.errors import UsageError

#: format -> (file extension, renderer, refusal, encoder of the rendered text)
FORMATS: dict[str, tuple[str, Callable[[str, list[Change], str], str], Callable[[Change], str | None] | None,
                         Callable[[str], bytes]]] = {
    "reg": (".reg", fixreg.render, None, fixreg.encode_file),
    "cmd": (".cmd", fixcmd.render, fixcmd.refusal, lambda t: t.replace("\n", "\r\n").encode("ascii")),
    "powershell": (".ps1", fixps.render, fixps.refusal, lambda t: b"\xef\xbb\xbf" + t.replace("\n", "\r\n").encode()),
}


def run_fix_command(report_path: str, fmt: str, output: str | None, stdout: IO[str]) -> int:
    """Write the fix for ``report_path`` in ``fmt`` to ``output`` (a file, a directory, or None: stdout)."""
    if fmt not in FORMATS:
        raise UsageError(f"unknown fix format {fmt!r} (known: {', '.join(FORMATS)})")
    report = read_report(report_path)
    plan, remediations = plan_fixes(list(report.doc["results"]))
    ext, render, refusal, encode = FORMATS[fmt]
    if refusal is not None:
        for changes in list(plan.changes.values()):
            for change in list(changes):
                why = refusal(change)
                if why is not None:
                    plan.refuse(change, f"--format {fmt}: {why}", remediations)
        plan.changes = {t: cs for t, cs in plan.changes.items() if cs}
        plan.unfixed.sort(key=lambda u: (u.target, u.rule))
    source = os.path.basename(report_path)
    targets = list(plan.changes)
    to_dir = output is not None and (os.path.isdir(output) or output.endswith(("/", os.sep)))
    if not to_dir and len(targets) > 1:
        raise UsageError(f"{report_path}: fixes for {len(targets)} targets ({_names(targets)}): "
                         f"give --output DIR for one file per target")
    written: list[str] = []
    if to_dir:
        assert output is not None
        for target, name in zip(targets, _file_names(targets, ext), strict=True):
            path = str(Path(output) / name)
            _write_file(path, encode(render(target, plan.changes[target], source)))
            written.append(path)
    else:
        target = targets[0] if targets else (_only_target(report.doc) or "")
        data = encode(render(target, plan.changes.get(target, []), source))
        if output is None:
            _write_stdout(stdout, data, fmt)
        else:
            _write_file(output, data)
            written.append(output)
    _tell(plan, written, fmt)
    return 1 if plan.unfixed else 0


def _only_target(doc: object) -> str | None:
    targets = doc.get("targets") if isinstance(doc, dict) else None
    if isinstance(targets, list) and len(targets) == 1 and isinstance(targets[0], dict):
        return str(targets[0].get("name", ""))
    return None


def _names(targets: list[str]) -> str:
    shown = ", ".join(_line(t) for t in targets[:5])
    return shown + (", ..." if len(targets) > 5 else "")


def _file_names(targets: list[str], ext: str) -> list[str]:
    """A safe, distinct file name per target (case-insensitively distinct, as on Windows)."""
    used: set[str] = set()
    out = []
    for t in targets:
        base = "".join(ch if ch.isascii() and (ch.isalnum() or ch in "-_.") else "_" for ch in t).strip(".") or "target"
        base = base[:100]
        if base.split(".")[0].upper() in {"CON", "PRN", "AUX", "NUL", *(f"COM{i}" for i in range(10)),
                                          *(f"LPT{i}" for i in range(10))}:
            base = "_" + base
        name, n = base, 1
        while name.lower() in used:
            n += 1
            name = f"{base}-{n}"
        used.add(name.lower())
        out.append(name + ext)
    return out


def _write_file(path: str, data: bytes) -> None:
    from scanner.output import atomic_file

    try:
        with atomic_file(path) as f:
            f.write(data)
    except OSError as exc:
        raise UsageError(f"cannot write {path}: {exc.strerror or exc}") from None


def _write_stdout(stdout: IO[str], data: bytes, fmt: str) -> None:
    buffer = getattr(stdout, "buffer", None)
    if buffer is not None:
        stdout.flush()
        buffer.write(data)
        buffer.flush()
        return
    text = data.decode("utf-16" if fmt == "reg" else "utf-8-sig").replace("\r\n", "\n")
    stdout.write(text)


def _line(text: str) -> str:
    """``text`` on one line, printable only (report text may hold terminal escapes)."""
    return "".join(ch if ch.isprintable() else "?" for ch in " ".join(str(text).split()))


def _tell(plan: Plan, written: list[str], fmt: str) -> None:
    err = sys.stderr
    for u in plan.waived:
        print(f"policyscan fix: waived, not fixed: {_line(u.target)} {_line(u.rule)}", file=err)
    for u in _dedupe(plan.unfixed):
        print(f"policyscan fix: not fixed: {_line(u.target)} {_line(u.rule)}: {_line(u.reason)}", file=err)
        if u.remediation:
            print(f"    remediation: {_line(u.remediation)}", file=err)
    count = sum(len(cs) for cs in plan.changes.values())
    where = f" to {', '.join(written)}" if written else ""
    rules = len({(u.target, u.rule) for u in plan.unfixed})
    print(f"policyscan fix: {count} value(s) for {len(plan.changes)} target(s) written as {fmt}{where}"
          + (f"; {rules} failed rule(s) could not be fixed (listed above)" if rules else ""), file=err)


def _dedupe(items: list[Unfixed]) -> list[Unfixed]:
    return list(dict.fromkeys(items))
