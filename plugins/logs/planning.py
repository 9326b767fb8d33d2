"""From checks and globs to scan tasks, and from task results back to one target's facts.

Each file is scanned once per kind it is configured as, for the union of the
signatures of every check that reads that kind. No file is skipped because of
``within``: an undated line, or lines out of order, may put a counted line
anywhere in it. Tasks run in this process when the data is small, else in a
process pool.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from plugins.logs.filescan import scan_task
from plugins.logs.formats import detect, iso_ms, not_text, sniff_encoding
from plugins.logs.matching import SAMPLE_CAP
from plugins.logs.messages import Text, errors_of, from_json, put_errors
from plugins.logs.schema import KINDS, parse_duration
from plugins.logs.signatures import scan_plan, signature_defs
from plugins.logs.sources import resolve
from plugins.logs.streams import GZ_BOUND, head_bytes
from scanner.api import CollectRequest, RunContext
from scanner.i18n import N_

SPLIT_MIN = 48 << 20
"""A plain file this large is split into byte ranges across the workers."""


@dataclass
class TargetPlan:
    """Everything known about one target before scanning, and the tasks to run."""

    defs: list[dict[str, Any]]
    globs: list[dict[str, Any]]
    files: list[dict[str, Any]]
    kinds: list[str]
    now: str
    keep_last: bool = False
    tasks: list[dict[str, Any]] = field(default_factory=list)

    def merge(self, results: dict[int, dict[str, Any]]) -> None:
        """Take in the scan results of this target's tasks."""
        for f in self.files:
            ids = f.pop("task_ids", [])
            if ids:
                f.update(_merge(f, [results[i] for i in ids]))

    def keep_samples(self) -> list[tuple[str, list[int]]]:
        """Keep a few samples of each signature over the target's files: those nearest the start of
        their files (cheapest to number) and, with windows, the newest; returns the ``(file, offsets)``
        whose line numbers still have to be counted."""
        per_sig: dict[str, list[tuple[dict[str, Any], dict[str, Any]]]] = {}
        for f in self.files:
            for s, items in f.get("samples", {}).items():
                per_sig.setdefault(s, []).extend((f, it) for it in items)
            f["samples"] = {}
        need: dict[str, set[int]] = {}
        for s, pairs in per_sig.items():
            # the samples nearest the start of their files: their line numbers are the cheapest to count
            order = sorted(range(len(pairs)), key=lambda k: (pairs[k][1]["line"] is None, pairs[k][1]["pos"], k))
            first = set(order[:SAMPLE_CAP])
            if self.keep_last:  # a window judges the newest lines: show those too
                first |= set(range(max(0, len(pairs) - SAMPLE_CAP), len(pairs)))
            kept = [pairs[k] for k in sorted(first)]
            for f, it in kept:
                f["samples"].setdefault(s, []).append(it)
                if it.get("line") is None:
                    need.setdefault(f["file"], set()).add(it["pos"])
        return [(p, sorted(offs)) for p, offs in need.items()]

    def facts(self, lines: dict[tuple[str, int], int]) -> dict[str, Any]:
        """The target's facts (plain JSON), sample lines filled in."""
        for f in self.files:
            for items in f.get("samples", {}).values():
                for it in items:
                    pos = it.pop("pos")
                    if it.get("line") is None:
                        it["line"] = lines[(f["file"], pos)]
                    it["source"] = f"{f['path']}:{it['line']}"
            f.pop("ranges", None)
            f.pop("file", None)
        return {
            "collected_at": self.now,
            "kinds": self.kinds,
            "globs": self.globs,
            "signatures": self.defs,
            "files": self.files,
        }


def _merge(f: dict[str, Any], parts: list[dict[str, Any]]) -> dict[str, Any]:
    """Join the results of a file's byte ranges; map local signature indexes to the target's."""
    ids = f["signatures"]
    groups: dict[tuple[int, ...], dict[str, Any]] = {}
    samples: dict[str, list[dict[str, Any]]] = {}
    errors = [from_json(e) for e in errors_of(f)] + [from_json(e) for p in parts for e in errors_of(p)]
    for part in parts:
        for g in part["groups"]:
            key = tuple(ids[i] for i in g["sigs"])
            got = groups.setdefault(key, {"sigs": list(key), "count": 0, "undated": 0, "times": [],
                                          "all_times": g["all_times"]})
            got["count"] += g["count"]
            got["undated"] += g["undated"]
            got["times"].extend(g["times"])
        for s, items in part["samples"].items():
            samples.setdefault(str(ids[int(s)]), []).extend(items)
    for g in groups.values():
        g["times"].sort()
        if not g["all_times"] and g["times"]:
            g["times"] = [g["times"][0], g["times"][-1]]
    missing = sorted({m for p in parts for m in p.get("missing_fields", [])})
    read = sum(int(p.get("read") or 0) for p in parts)
    if not errors and read < (f.get("bytes") or 0):
        errors.append(Text(N_("{path}: read only {read} of its {size} bytes"), path=f["file"], read=read,
                           size=f["bytes"]))
    out = {
        "read": read,
        "has_lines": any(p.get("has_lines") for p in parts),
        "groups": sorted(groups.values(), key=lambda g: g["sigs"]),
        "samples": samples,
        "missing_fields": missing,
    }
    put_errors(out, errors)
    return out


def plan_target(req: CollectRequest, ctx: RunContext, gz_bound: int | None) -> TargetPlan:
    """Resolve globs, detect kinds, and make one scan task per file (or per byte range)."""
    defs: list[dict[str, Any]] = []
    by_key: dict[str, int] = {}
    checks: list[tuple[set[str] | None, list[int], int | None]] = []
    for params in req.checks:
        idx = []
        for d in signature_defs(params):
            if d["key"] not in by_key:
                by_key[d["key"]] = len(defs)
                defs.append(d)
            idx.append(by_key[d["key"]])
        within = params.get("within")
        secs = parse_duration(within) if isinstance(within, str) else None
        want = set(params["sources"]) if params.get("sources") else None
        checks.append((want, idx, secs))
    _mark_bad_regexes(defs)
    keep_last = any(c[2] is not None for c in checks)
    now_ms = int(ctx.now.timestamp() * 1000)
    plan = TargetPlan(defs, [], [], [], iso_ms(now_ms) or "", keep_last)
    kinds: set[str] = set()
    seen: set[tuple[Path, str | None]] = set()
    for entry in resolve(req.target):
        if entry.kind:
            kinds.add(entry.kind)
        nothing = None if entry.files else Text(N_("{glob}: no file matches this glob"),
                                                 glob=str(req.target.path(entry.glob)))
        glob: dict[str, Any] = {"kind": entry.kind, "glob": entry.glob, "files": len(entry.files)}
        put_errors(glob, list(entry.errors) or ([nothing] if nothing else []))
        plan.globs.append(glob)
        for path in entry.files:
            f = _describe(path, entry.kind, req.target.base_dir)
            if (path, f["kind"]) in seen:  # the same file as the same kind: read once
                continue
            seen.add((path, f["kind"]))
            plan.files.append(f)
            if f.get("format") is None:  # not read at all (an error says why)
                continue
            kinds.add(f["kind"])
            readers = [c for c in checks if c[0] is None or f["kind"] in c[0]]
            f["signatures"] = sorted({i for c in readers for i in c[1]})
            if not f["signatures"]:
                continue
            _add_tasks(plan, f, defs, any(c[2] is not None for c in readers), gz_bound, ctx.jobs)
    plan.kinds = sorted(kinds, key=KINDS.index)
    return plan


def _mark_bad_regexes(defs: list[dict[str, Any]]) -> None:
    import re2

    opts = re2.Options()
    opts.log_errors = False  # the message goes into the result, not to stderr
    for d in defs:
        if d["type"] == "regex":
            try:
                re2.compile(d["pattern"], opts)
            except Exception as exc:
                put_errors(d, [Text(N_("regex {pattern} is not valid RE2: {reason}"), pattern=repr(d["pattern"]),
                                    reason=str(exc))])


def _shown_path(path: Path, base: Path) -> str:
    """The path as evidence shows it: relative to the inventory's folder when inside it."""
    try:
        return str(path.relative_to(base))
    except ValueError:
        return str(path)


def _describe(path: Path, kind: str | None, base: Path) -> dict[str, Any]:
    f: dict[str, Any] = {"path": _shown_path(path, base), "file": str(path), "kind": kind, "format": None,
                         "bytes": None, "signatures": [],
                         "groups": [], "samples": {}, "missing_fields": [], "error": None}
    try:
        f["bytes"] = path.stat().st_size
        with path.open("rb") as fh:
            first = fh.read(2)
    except OSError as exc:
        put_errors(f, [Text(N_("{path}: cannot be read: {reason}"), path=str(path), reason=str(exc.strerror or exc))])
        return f
    head = head_bytes(path)
    f["gzip"] = first == b"\x1f\x8b"
    f["encoding"], f["bom"] = sniff_encoding(head)
    if problem := not_text(head, f["encoding"], f["bom"]):
        # still read: a signature found in it is still a fail
        put_errors(f, [Text(N_("{path}: {problem}"), path=str(path), problem=problem)])
    detected, fmt, fields = detect(head[f["bom"]:].decode(f["encoding"], "replace"))
    if kind is None and detected is None:
        put_errors(f, [Text(N_("{path}: looks like a W3C log (#Fields) but has no #Log-type header: cannot tell "
                               "the log kind; give KIND=... (e.g. smtp_send=GLOB)"), path=str(path))])
        return f
    f["kind"] = kind or detected
    f["format"] = fmt
    f["fields"] = fields
    return f


def _add_tasks(plan: TargetPlan, f: dict[str, Any], defs: list[dict[str, Any]], keep_last: bool,
               gz_bound: int | None, jobs: int) -> None:
    local = [defs[i] for i in f["signatures"]]
    base = {
        "path": f["file"], "kind": f["kind"], "format": f["format"],
        "fields": f["fields"], "defs": local, "plan": scan_plan(local), "keep_last": keep_last,
        "gz_bound": gz_bound or GZ_BOUND, "bytes": f["bytes"], "encoding": f["encoding"], "bom": f["bom"],
    }
    ranges = None
    if jobs > 1 and f["bytes"] >= SPLIT_MIN and not f["gzip"] and f["encoding"] == "utf-8" \
            and f["format"] != "queue_list":
        ranges = _split(Path(f["file"]), f["bytes"], jobs, f["bom"])
    f["task_ids"] = []
    for r in ranges or [[]]:
        task = dict(base, id=_next_id(), range=r)
        if r:
            task["bytes"] = r[1] - r[0]
        plan.tasks.append(task)
        f["task_ids"].append(task["id"])
    if ranges:
        f["ranges"] = ranges


_counter = [0]


def _next_id() -> int:
    _counter[0] += 1
    return _counter[0]


def _split(path: Path, size: int, parts: int, bom: int) -> list[list[int]]:
    """Byte ranges that end at line ends (the first starts after the BOM)."""
    cuts = [0]
    with path.open("rb") as fh:
        for k in range(1, parts):
            fh.seek(max(cuts[-1], size * k // parts))
            fh.readline()
            pos = fh.tell()
            if pos >= size:
                break
            cuts.append(pos)
    cuts.append(size)
    cuts[0] = min(bom, cuts[1])
    return [[a, b] for a, b in itertools.pairwise(cuts) if b > a]


def safe_scan(task: dict[str, Any]) -> dict[str, Any]:
    """Scan one task; whatever goes wrong becomes an error naming the file, never a crash."""
    try:
        return scan_task(task)
    except Exception as exc:  # a bug or an unforeseen file: the file's rules become errors
        out: dict[str, Any] = {"groups": [], "samples": {}, "missing_fields": []}
        put_errors(out, [Text(N_("{path}: could not be scanned: {reason}"), path=str(task["path"]),
                              reason=f"{type(exc).__name__}: {exc}")])
        return out


__all__ = ["TargetPlan", "plan_target", "safe_scan"]
