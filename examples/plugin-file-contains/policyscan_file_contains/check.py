"""The ``file_contains`` check type: a literal text must appear in a target's text files.

Policy syntax::

    check:
      file_contains:
        contains: SchUseStrongCrypto    # a literal text (no regex), case-sensitive
        path: '*.config'                # optional: which of the target's files (a glob on the
                                        # path as the inventory gave it, or on the file name)
        min_count: 1                    # optional: at least this many occurrences (default 1)
        in: all                         # optional: all (default) or any of the selected files

Inventory: ``files: [conf/web.config, 'logs/*.txt']`` (paths or globs, relative to the inventory).

Every selected file must contain the text: one that does not makes the check
``fail``; one that is missing or cannot be read (not a regular file, too large,
not UTF-8/UTF-16 text or holding a NUL) makes it ``error`` unless another file
already fails (SPEC §4.1).
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from policyscan_file_contains.reading import MAX_BYTES, NotReadable, as_list, expand, line_of, read_text
from scanner.api import JSON, CollectRequest, EvalContext, Outcome, RunContext, Status

SOURCE = "files"

PARAMS_SCHEMA: dict[str, JSON] = {
    "type": "object",
    "description": "a literal text that must appear in every selected text file of the target",
    "required": ["contains"],
    "properties": {
        "contains": {
            "type": "string",
            "minLength": 1,
            "description": "the literal text to find (case-sensitive, no regex; may span lines with \\n)",
        },
        "path": {
            "type": "string",
            "minLength": 1,
            "description": "which of the target's files to judge: a glob (*, ?, [..]) matched against the path "
            "as the inventory gave it or against the file name; default: every file the target lists",
        },
        "in": {
            "enum": ["all", "any"],
            "default": "all",
            "description": "all: every selected file must hold the text (default); any: one file is enough, so "
            "`not:` of it means no file holds the text",
        },
        "min_count": {
            "type": "integer",
            "minimum": 1,
            "default": 1,
            "description": "the text must occur at least this many times in each file (default 1)",
        },
    },
    "additionalProperties": False,
}

SOURCE_SCHEMA: dict[str, JSON] = {
    "description": "text files of this target that file_contains checks read: a path or glob, or a list of "
    "them, relative to the inventory file (regular files: UTF-8 or UTF-16, with or without a byte order mark; "
    "at most 16 MiB each)",
    "oneOf": [
        {"type": "string", "minLength": 1},
        {"type": "array", "minItems": 1, "items": {"type": "string", "minLength": 1}},
    ],
}

_FILE_READ: dict[str, JSON] = {
    "type": "object",
    "required": ["path", "ok", "size", "sha256", "encoding", "counts", "first_line"],
    "properties": {
        "path": {"type": "string", "description": "the file, as the inventory named it (globs expanded)"},
        "ok": {"const": True, "description": "the file was read and decoded"},
        "size": {"type": "integer", "minimum": 0, "description": "bytes read"},
        "sha256": {"type": "string", "pattern": "^[0-9a-f]{64}$", "description": "SHA-256 of the bytes read"},
        "encoding": {"enum": ["utf-8", "utf-16-le", "utf-16-be"], "description": "how the bytes were decoded"},
        "counts": {"type": "object", "additionalProperties": {"type": "integer", "minimum": 0},
                   "description": "needle -> how many times it occurs"},
        "first_line": {"type": "object", "additionalProperties": {"type": "integer", "minimum": 1},
                       "description": "needle -> the line of its first occurrence (absent: not found)"},
    },
    "additionalProperties": False,
}

_FILE_UNREAD: dict[str, JSON] = {
    "type": "object",
    "required": ["path", "ok", "error"],
    "properties": {
        "path": {"type": "string", "description": "the file or glob, as the inventory named it"},
        "ok": {"const": False, "description": "the file could not be read"},
        "error": {"type": "string", "minLength": 1, "description": "why"},
    },
    "additionalProperties": False,
}

FACTS_SCHEMA: dict[str, JSON] = {
    "type": "object",
    "description": "what file_contains read for one target",
    "oneOf": [
        {
            "required": ["files", "needles"],
            "properties": {
                "files": {"type": "array", "items": {"oneOf": [_FILE_READ, _FILE_UNREAD]},
                          "description": "every file the target lists, in order"},
                "needles": {"type": "array", "items": {"type": "string"},
                            "description": "the texts the checks asked for"},
            },
            "additionalProperties": False,
        },
        {
            "required": ["error"],
            "properties": {"error": {"type": "string", "minLength": 1, "description": "why nothing was read"}},
            "additionalProperties": False,
        },
    ],
}

PLACEHOLDERS = ("file", "text", "count")


def _times(n: int) -> str:
    return f"{n} time{'' if n == 1 else 's'}"


def _others(n: int) -> str:
    return f" (and {n} other file{'' if n == 1 else 's'})" if n else ""


def _file_facts(shown: str, real: Any, needles: Sequence[str]) -> dict[str, JSON]:
    if real is None:
        return {"path": shown, "ok": False, "error": "no file matches this pattern"}
    try:
        read = read_text(real, MAX_BYTES)
    except OSError as exc:
        return {"path": shown, "ok": False, "error": exc.strerror or str(exc)}
    except NotReadable as exc:
        return {"path": shown, "ok": False, "error": str(exc)}
    counts: dict[str, JSON] = {}
    first: dict[str, JSON] = {}
    for needle in needles:
        counts[needle] = read.text.count(needle)
        at = read.text.find(needle)
        if at >= 0:
            first[needle] = line_of(read.text, at)
    return {"path": shown, "ok": True, "size": read.size, "sha256": read.sha256, "encoding": read.encoding,
            "counts": counts, "first_line": first}


class FileContainsCollector:
    """Reads each of a target's files once for all of its ``file_contains`` checks; judges each check."""

    def collect(self, requests: Sequence[CollectRequest], ctx: RunContext) -> Iterator[tuple[str, JSON]]:
        for request in requests:
            try:
                needles = sorted({str(c["contains"]) for c in request.checks if c.get("contains")})
                files = [_file_facts(shown, real, needles)
                         for shown, real in expand(as_list(request.target.sources.get(SOURCE)),
                                                   request.target.base_dir)]
                facts: JSON = {"files": files, "needles": needles}
            except Exception as exc:  # a bug must not stop the other targets of the batch
                facts = {"error": f"file_contains collector failed: {type(exc).__name__}: {exc}"}
            yield request.target.name, facts

    def evaluate(self, params: Mapping[str, JSON], facts: JSON, ctx: EvalContext) -> Outcome:
        return evaluate(params, facts)


def _selected(entries: Sequence[Any], pattern: str | None) -> list[Mapping[str, Any]]:
    chosen = [e for e in entries if isinstance(e, Mapping) and isinstance(e.get("path"), str)]
    if pattern is None:
        return chosen
    return [e for e in chosen
            if fnmatch.fnmatchcase(e["path"], pattern) or fnmatch.fnmatchcase(e["path"].rsplit("/", 1)[-1], pattern)]


def evaluate(params: Mapping[str, JSON], facts: JSON) -> Outcome:
    """Judge one check from the facts alone: every selected file (``in: any``: one of them) must hold
    the text at least ``min_count`` times."""
    needle = str(params["contains"])
    want = int(params.get("min_count", 1))
    pattern = params.get("path")
    expected = want  # ${expected}: the least number of occurrences; ${actual}: how many were found
    if not isinstance(facts, Mapping):
        return Outcome(Status.ERROR, "no facts were collected for this target", expected=expected)
    if facts.get("error"):
        return Outcome(Status.ERROR, str(facts["error"]), expected=expected)
    entries = facts.get("files")
    if not isinstance(entries, list):
        return Outcome(Status.ERROR, "no facts were collected for this target", expected=expected)
    selected = _selected(entries, pattern if isinstance(pattern, str) else None)
    if not selected:
        what = f"no file of the target matches '{pattern}'" if pattern else "the target lists no file"
        return Outcome(Status.ERROR, f"{what}: nothing to check", expected=expected)

    passed: list[tuple[str, int, int]] = []  # (path, count, first line)
    failed: list[tuple[str, int]] = []
    errors: list[str] = []
    examined: list[str] = []
    size = 0
    for entry in selected:
        path = entry["path"]
        if entry.get("ok") is not True:
            errors.append(f"{path}: {entry.get('error') or 'not read'}")
            continue
        count = (entry.get("counts") or {}).get(needle)
        if not isinstance(count, int):
            errors.append(f"{path}: the facts hold no count for '{needle}' (collected for other checks)")
            continue
        examined.append(path)
        size += int(entry.get("size") or 0)
        if count >= want:
            passed.append((path, count, int((entry.get("first_line") or {}).get(needle) or 0)))
        else:
            failed.append((path, count))

    proof: dict[str, JSON] = {"files": examined, "bytes": size}
    evidence: list[dict[str, JSON]] = [
        {"source": f"{p}:{line}", "count": n} for p, n, line in passed
    ] + [{"source": p, "count": n} for p, n in failed]
    if params.get("in") == "any":
        if passed:
            return _passed(needle, passed, expected, evidence, proof)
        if errors:
            return Outcome(Status.ERROR, "; ".join(errors), expected=expected, evidence=evidence)
        path, count = failed[0]
        many = f"any of {len(failed)} files" if len(failed) > 1 else path
        message = (f"'{needle}' not found in {many}" if all(n == 0 for _, n in failed)
                   else f"'{needle}' found fewer than {_times(want)} in {many}")
        return Outcome(Status.FAIL, message, expected=expected, actual=max(n for _, n in failed), evidence=evidence,
                       fields={"file": path, "text": needle, "count": count}, examined=proof)
    if failed:
        path, count = failed[0]
        others = _others(len(failed) - 1)
        message = (f"'{needle}' not found in {path}{others}" if count == 0
                   else f"'{needle}' found {_times(count)} in {path}{others}, at least {want} required")
        return Outcome(Status.FAIL, message, expected=expected, actual=count, evidence=evidence,
                       fields={"file": path, "text": needle, "count": count}, examined=proof)
    if errors:
        return Outcome(Status.ERROR, "; ".join(errors), expected=expected, evidence=evidence)
    return _passed(needle, passed, expected, evidence, proof)


def _passed(needle: str, passed: Sequence[tuple[str, int, int]], expected: int,
            evidence: list[dict[str, JSON]], proof: dict[str, JSON]) -> Outcome:
    path, count, line = passed[0]
    return Outcome(Status.PASS, f"'{needle}' found {_times(count)}, first at {path}:{line}{_others(len(passed) - 1)}",
                   expected=expected, actual=count, evidence=evidence,
                   fields={"file": path, "text": needle, "count": count}, examined=proof)
