"""The facts file: what ``policyscan collect`` gathered, judged later by ``policyscan scan --facts``.

Format ``policyscan/facts/v1``: JSON Lines, UTF-8, one JSON object per line.

1. The header (line 1)::

     {"schema": "policyscan/facts/v1",
      "tool": {"name": "policyscan", "version": "1.0.0"},
      "plugins": {"registry": {"distribution": "policyscan", "version": "1.0.0"}, ...},
      "collected_at": "2026-11-26T10:00:00+00:00",      # the collection's --now
      "inventory": [{"name": "exch01", "labels": {...}, "base_dir": "/abs/folder",
                     "sources": {"registry": {"file": "exports/exch01.reg"}}}, ...],
      "policies": [{"id": ..., "version": ..., "sha256": ...}],
      "checks": [{"type": "registry", "params": {...}}, ...],   # every distinct check collected for
      "sources": {"/abs/folder/exports/exch01.reg": "<sha256>", ...}}  # each file the facts name

   Targets keep their sources exactly as the inventory wrote them (evidence
   names files that way) with ``base_dir``, the absolute folder they are
   relative to.
2. One line per (check type, target) that was collected::

     {"type": "registry", "target": "exch01", "checks": [0, 3, 4], "facts": {...}}

   ``checks`` are the indexes (in the header's ``checks``) of the checks the
   facts were gathered for; ``facts`` is what the collector yielded, checked
   against the check type's ``facts_schema`` when read. A collector that failed
   has ``"error": "collector 'x' failed: ..."`` instead of ``facts``.
3. The trailer (last line): ``{"end": {"facts": N, "targets": M}}``. A file
   without it, or whose counts differ, was cut short and is refused.

Reading (:func:`read_snapshot`) checks the whole file before anything is judged:
any problem is a :class:`FactsFileError` (exit 2) naming ``FILE:LINE``. (A scan
defers the schema check of the registry's many facts to its workers, where
each batch is checked before any of it is judged: the run still stops with
exit 2 and writes no report.) A
:class:`Snapshot` then stands in for the collectors (``Engine(..., snapshot=)``):
a check whose facts are not in it is ``error`` ("not collected"), never a pass.

Writing (:class:`FactsWriter`) streams: each batch of facts is encoded where
it was collected (a forked worker, for the registry) and spooled; the header,
which names the files read, is written first once everything is in, and the
file is replaced atomically.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
import tempfile
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any, NamedTuple

from scanner.api import JSON, CheckType, Target
from scanner.errors import UsageError

FORMAT = "policyscan/facts/v1"
_PREFIX = "policyscan/facts/"
DIALECT = "https://json-schema.org/draft/2020-12/schema"
_NAME_PATTERN = "^[A-Za-z0-9][A-Za-z0-9._:@-]*$"
NOT_COLLECTED = "not collected"


class FactsFileError(UsageError):
    """A facts file that cannot be used, on one line: ``FILE:LINE: what is wrong``."""

    def __init__(self, path: str | os.PathLike[str], line: int, message: str) -> None:
        self.path = str(path)
        self.line = line
        self.message = message
        super().__init__(f"{path}:{line}: {message}")

    def __reduce__(self) -> tuple[Any, ...]:  # raised in a scan worker, re-raised in the parent
        return (type(self), (self.path, self.line, self.message))


# ---------------------------------------------------------------- the checks table


def _plain(value: Any) -> Any:
    """``value`` as plain JSON types (policy parameters may be read-only mappings or tuples)."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def check_key(type_name: str, params: Mapping[str, Any]) -> str:
    """The canonical text of one check (type and parameters): equal checks have equal keys."""
    return json.dumps([type_name, _plain(params)], sort_keys=True, separators=(",", ":"), default=str)


class CheckTable:
    """Every distinct check of the collected policies, numbered; facts lines name theirs by number."""

    def __init__(self) -> None:
        self.entries: list[dict[str, Any]] = []
        self._index: dict[str, int] = {}
        self._by_id: dict[int, tuple[Any, int]] = {}

    def add(self, type_name: str, params: Mapping[str, Any]) -> int:
        key = check_key(type_name, params)
        index = self._index.get(key)
        if index is None:
            index = self._index[key] = len(self.entries)
            self.entries.append({"type": type_name, "params": json.loads(key)[1]})
        self._by_id[id(params)] = (params, index)  # holding params keeps their id from being reused
        return index

    def index_of(self, params: Mapping[str, Any]) -> int:
        """The number of a parameters object already :meth:`add`-ed."""
        return self._by_id[id(params)][1]


# ---------------------------------------------------------------- the snapshot


class Entry(NamedTuple):
    """The saved facts of one (check type, target)."""

    raw: bytes | None
    """The line as read (its ``facts`` are parsed when used), or None for in-memory facts."""
    value: Any
    """In-memory facts (when ``raw`` is None)."""
    error: str | None
    """The collector's failure, instead of facts."""
    checks: frozenset[int] | None
    """The checks (numbers in :attr:`Snapshot.checks`) the facts were collected for; None: any."""
    line: int = 0
    """Its line in the facts file."""


@dataclass
class Snapshot:
    """Facts collected earlier, standing in for the collectors (see the module docstring)."""

    targets: list[Target]
    collected_at: datetime
    entries: dict[tuple[str, str], Entry] = field(default_factory=dict)
    checks: list[dict[str, Any]] | None = None
    """The header's table of checks collected for (None: an in-memory snapshot, good for any check)."""
    header: dict[str, Any] = field(default_factory=dict)
    path: str | None = None
    sha256: str | None = None
    """The SHA-256 (hex) of the facts file as read (None: an in-memory snapshot)."""
    deferred: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    """Check types (and their facts schemas) whose lines :meth:`check_targets` checks, batch by batch."""
    _keys: dict[str, int] | None = None

    def provenance(self) -> dict[str, Any] | None:
        """What a report says of the facts it was judged from (its ``facts``): the file as given, its
        SHA-256, when and by what policyscan the facts were collected, the SHA-256 of each file they
        name. None for an in-memory snapshot."""
        if self.path is None or not self.header:
            return None
        return {
            "file": self.path,
            "sha256": self.sha256,
            "collected_at": self.collected_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "tool": dict(self.header["tool"]),
            "sources": dict(self.header["sources"]),
        }

    def check_targets(self, names: Iterable[str]) -> None:
        """Check the facts of the :attr:`deferred` check types for the targets ``names`` against their
        schemas (:class:`FactsFileError` naming the line). The engine calls it for each batch before
        judging any of it, where the batch is judged (a forked worker, for the registry); the run
        then stops before any report is written."""
        for name in names:
            for type_name, schema in self.deferred.items():
                e = self.entries.get((type_name, name))
                if e is None or e.raw is None:
                    continue
                problem = _schema_problem(schema, _loads(e.raw)["facts"])
                if problem is not None:
                    raise FactsFileError(self.path or "(facts)", e.line, _mismatch(type_name, name, problem))

    def entry(self, type_name: str, target_name: str) -> Entry | None:
        return self.entries.get((type_name, target_name))

    def facts_for(self, type_name: str, target_name: str) -> Any:
        """The facts collected for ``type_name`` on ``target_name``.

        :class:`KeyError` when none were collected (no line for them), or when
        the collector failed there (see :meth:`failure`).
        """
        e = self.entries[(type_name, target_name)]
        if e.error is not None:
            raise KeyError((type_name, target_name))
        return e.value if e.raw is None else _loads(e.raw)["facts"]

    def failure(self, type_name: str, target_name: str) -> str | None:
        """Why the collector failed for ``type_name`` on ``target_name`` (None: it did not, or no line)."""
        e = self.entries.get((type_name, target_name))
        return None if e is None else e.error

    def check_id(self, type_name: str, params: Mapping[str, Any]) -> int | None:
        """The number of this check in the file's table; None when it was not collected for
        (or when the snapshot has no table: in-memory facts answer every check)."""
        if self.checks is None:
            return None
        if self._keys is None:
            self._keys = {check_key(c["type"], c["params"]): i for i, c in enumerate(self.checks)}
        return self._keys.get(check_key(type_name, params))


def snapshot_from_facts(
    facts: Mapping[tuple[str, str], Any], targets: Sequence[Target], collected_at: datetime
) -> Snapshot:
    """An in-memory snapshot: ``{(check type, target name): facts}`` (policy unit tests).

    Facts are used as given, for any check of their type; a (type, target) not
    in ``facts`` is "not collected" (``error``).
    """
    if collected_at.tzinfo is None:
        collected_at = collected_at.replace(tzinfo=UTC)
    entries = {(t, n): Entry(None, f, None, None) for (t, n), f in facts.items()}
    return Snapshot(list(targets), collected_at.astimezone(UTC), entries)


# ---------------------------------------------------------------- schemas


def header_schema(check_types: Mapping[str, CheckType]) -> dict[str, Any]:
    """JSON Schema of the header line (the inventory's sources as the check types define them)."""
    sources: dict[str, Any] = {}
    for ct in check_types.values():
        sources.setdefault(ct.source, dict(ct.source_schema) if ct.source_schema is not None else {})
    return {
        "type": "object",
        "description": "The header (line 1): what was collected, by what, when, for which targets and checks.",
        "required": ["schema", "tool", "plugins", "collected_at", "inventory", "policies", "checks", "sources"],
        "properties": {
            "schema": {"const": FORMAT, "description": f"The format of the file: {FORMAT}."},
            "tool": {
                "type": "object",
                "description": "The program that wrote the file.",
                "required": ["name", "version"],
                "properties": {
                    "name": {"const": "policyscan", "description": "Always policyscan."},
                    "version": {"type": "string", "description": "The policyscan version that collected."},
                },
            },
            "plugins": {
                "type": "object",
                "description": "The plugins loaded when collecting, by plugin name; all of them must be loaded "
                "to judge the file.",
                "additionalProperties": {
                    "type": "object",
                    "required": ["version"],
                    "properties": {
                        "distribution": {"type": "string", "description": "The Python distribution the plugin "
                                         "comes from."},
                        "version": {"type": "string", "description": "The version of that distribution."},
                    },
                },
            },
            "collected_at": {"type": "string", "minLength": 1,
                             "description": "When the facts were collected (ISO 8601; the collection's --now): "
                             "the clock a scan of these facts judges by."},
            "inventory": {
                "type": "array",
                "description": "The targets collected from, as the inventory named them.",
                "items": {
                    "type": "object",
                    "required": ["name", "labels", "base_dir", "sources"],
                    "properties": {
                        "name": {"type": "string", "pattern": _NAME_PATTERN,
                                 "description": "The target's name (facts lines name their target by it)."},
                        "labels": {"type": "object", "additionalProperties": {"type": "string"},
                                   "description": "The target's labels (LABEL: VALUE) that policies select by."},
                        "base_dir": {"type": "string", "minLength": 1,
                                     "description": "The absolute folder the target's relative source paths "
                                     "are relative to."},
                        "sources": {
                            "type": "object",
                            "description": "The target's sources exactly as the inventory wrote them "
                            "(evidence names files that way), by source name.",
                            "properties": {k: sources[k] for k in sorted(sources)},
                            "additionalProperties": False,
                        },
                    },
                    "additionalProperties": False,
                },
            },
            "policies": {
                "type": "array",
                "description": "The policies the facts were collected for: a scan warns about a policy that "
                "is not among them or has changed since.",
                "items": {
                    "type": "object",
                    "required": ["id", "sha256"],
                    "properties": {
                        "id": {"type": "string", "description": "The policy's id."},
                        "version": {"type": ["string", "null"], "description": "The policy's version (null: "
                                    "none)."},
                        "sha256": {"type": "string", "description": "The SHA-256 of the policy as loaded: it "
                                   "differs when the policy changed."},
                    },
                },
            },
            "checks": {
                "type": "array",
                "description": "Every distinct check (type and parameters) collected for, numbered by its "
                "position; facts lines name theirs by number.",
                "items": {
                    "type": "object",
                    "required": ["type", "params"],
                    "properties": {
                        "type": {"type": "string", "description": "The check type."},
                        "params": {"type": "object", "description": "The check's parameters, as the policy "
                                   "gave them (inputs resolved)."},
                    },
                    "additionalProperties": False,
                },
            },
            "sources": {"type": "object", "additionalProperties": {"type": "string", "pattern": "^[0-9a-f]{64}$"},
                        "description": "The SHA-256 (hex) of each file the facts name, by absolute path."},
        },
        "additionalProperties": False,
    }


_LINE_TYPE = "The check type whose collector gathered the facts."
_LINE_BASE: dict[str, Any] = {
    "type": "object",
    "description": "The facts one check type collected on one target (or why its collector failed there).",
    "required": ["type", "target", "checks"],
    "properties": {
        "type": {"type": "string", "description": _LINE_TYPE},
        "target": {"type": "string", "description": "The target's name (in the header's inventory)."},
        "checks": {"type": "array", "items": {"type": "integer", "minimum": 0},
                   "description": "The checks the facts were gathered for: indexes in the header's checks. "
                   "A check not listed is an error (not collected) when judged."},
        "facts": {"description": "What the collector yielded: plain JSON in the shape of the check type's "
                  "facts schema."},
        "error": {"type": "string", "description": "Why the collector failed (instead of facts): every check "
                  "of this type on the target is then an error."},
    },
    "additionalProperties": False,
    "oneOf": [{"required": ["facts"]}, {"required": ["error"]}],
}

TRAILER_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "The trailer (last line): a file without it, or whose counts differ, was cut short.",
    "required": ["end"],
    "properties": {
        "end": {
            "type": "object",
            "description": "The counts of what the file holds.",
            "required": ["facts", "targets"],
            "properties": {
                "facts": {"type": "integer", "minimum": 0, "description": "The number of facts lines."},
                "targets": {"type": "integer", "minimum": 0, "description": "The number of targets in the "
                            "header's inventory."},
            },
            "additionalProperties": False,
        }
    },
    "additionalProperties": False,
}


def facts_line_schema(check_types: Mapping[str, CheckType]) -> dict[str, Any]:
    """JSON Schema of a facts line, each check type's ``facts_schema`` applied to its lines."""
    schema: dict[str, Any] = json.loads(json.dumps(_LINE_BASE))
    schema["properties"]["type"] = {"enum": sorted(check_types), "description": _LINE_TYPE}
    schema["allOf"] = [
        {"if": {"properties": {"type": {"const": name}}},
         "then": {"properties": {"facts": {"description": f"The {name} facts.", **ct.facts_schema}}}}
        for name, ct in sorted(check_types.items())
        if ct.facts_schema is not None
    ]
    return schema


def file_schema(check_types: Mapping[str, CheckType]) -> dict[str, Any]:
    """``policyscan schema facts``: the schema every line of a facts file matches (header, facts, trailer)."""
    return {
        "$schema": DIALECT,
        "$id": "https://policyscan.dev/schemas/facts-v1.json",
        "title": "policyscan facts file (JSON Lines: every line matches this schema)",
        "description": f"Format {FORMAT}: line 1 the header, then one line per (check type, target), "
        "then the trailer {\"end\": ...}.",
        "oneOf": [
            {"title": "header", **header_schema(check_types)},
            {"title": "facts", **facts_line_schema(check_types)},
            {"title": "trailer", **TRAILER_SCHEMA},
        ],
    }


def policy_warnings(snapshot: Snapshot, policies: Sequence[Any], lang: str = "en") -> list[str]:
    """Policies judged from a facts file collected with another version of them (or without them):
    checks it has no facts for will be ``error`` ("not collected"). In ``lang``."""
    from scanner.i18n import translator

    if not snapshot.header:
        return []
    _ = translator(lang).gettext
    collected = {p["id"]: p for p in snapshot.header.get("policies", [])}
    out = []
    for p in policies:
        was = collected.get(p.id)
        if was is None:
            out.append(_("policy {policy} was not among the policies the facts were collected for; "
                         "its checks that were not collected are errors").format(policy=p.id))
        elif was["sha256"] != p.sha256:
            out.append(_("policy {policy} changed since the facts were collected (sha256 {then}... then, "
                         "{now}... now); its checks that were not collected are errors").format(
                policy=p.id, then=was["sha256"][:12], now=p.sha256[:12]))
    return out


# ---------------------------------------------------------------- reading


def _loads(data: bytes) -> Any:
    import orjson

    return orjson.loads(data)


def _schema_problem(schema: Mapping[str, Any], value: Any) -> str | None:
    """Why ``value`` does not match ``schema`` (None: it does). The fast check first."""
    from scanner.fastcheck import fast_valid

    if fast_valid(schema, value) is True:
        return None
    from jsonschema.exceptions import best_match

    from scanner.validation import validator

    err = best_match(validator(schema).iter_errors(value))
    if err is None:
        return None
    where = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in err.absolute_path).lstrip(".")
    return f"{where or '(top)'}: {err.message}" if len(err.message) < 300 else f"{where or '(top)'}: invalid"


MAX_LINE = 64 << 20
"""The longest line a facts file may have (64 MiB, newline included): a longer one is refused
without being read whole, so a stray device or a runaway file cannot take the memory."""


def _lines(f: IO[bytes], fail: Any, limit: int | None = None, digest: Any = None) -> Iterator[bytes]:
    """The lines of ``f``, each read with a bound: one longer than ``limit`` bytes (default
    :data:`MAX_LINE`) is refused (``fail(line, message)``) after reading at most ``limit + 1`` bytes of it.
    Every line read is fed to ``digest`` (a hashlib object) when given."""
    limit = MAX_LINE if limit is None else limit
    line_no = 0
    while True:
        data = f.readline(limit + 1)
        if not data:
            return
        line_no += 1
        if digest is not None:
            digest.update(data)
        if len(data) > limit:
            raise fail(line_no, f"line longer than {limit:,} bytes (the limit of a facts line): refused unread")
        yield data


def _duplicate_key(data: bytes, parsed: Any) -> str | None:
    """A key that appears twice in one object of the JSON line ``data`` (which orjson parsed into
    ``parsed``, keeping the last), or None.

    Fast path: a line exactly as ``orjson.dumps`` writes it (every line ``policyscan collect``
    writes) cannot hold a duplicate, since dumping what was parsed gives the line back only if no
    key was dropped. Any other line (hand-edited, another tool) is parsed again, key by key.
    """
    import orjson

    try:
        if orjson.dumps(parsed) == data.rstrip(b"\r\n"):
            return None
    except (TypeError, orjson.JSONEncodeError):
        pass
    found: list[str] = []

    def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, value in items:
            if key in out and not found:
                found.append(key)
            out[key] = value
        return out

    try:
        json.loads(data, object_pairs_hook=pairs)
    except ValueError:
        return None  # orjson read it: leave the verdict to it
    return found[0] if found else None


def _parse_time(text: str) -> datetime:
    ts = datetime.fromisoformat(text.replace("Z", "+00:00") if text.endswith("Z") else text)
    return ts.replace(tzinfo=UTC) if ts.tzinfo is None else ts.astimezone(UTC)


def read_snapshot(
    path: str | os.PathLike[str], host: Any, jobs: int = 1, defer: Iterable[str] = ()
) -> Snapshot:
    """Read and check a whole facts file; :class:`FactsFileError` (``FILE:LINE: ...``) on any problem.

    ``host`` is the :class:`~scanner.plugin_host.PluginHost`: a line of a check type
    no loaded plugin provides, or whose facts do not match its ``facts_schema``, is refused.
    Every line is checked before this returns; with ``jobs`` above 1 a large file's facts
    are checked against their schemas in that many forked processes. The facts of the check
    types in ``defer`` (the ``process_parallel`` ones, for a scan) are checked against their
    schemas later, by :meth:`Snapshot.check_targets`, in the scan's workers: the rest of each
    of their lines (JSON, type, target, checks) is checked here.
    """
    shown = str(path)
    try:
        if not _readable_kind(mode := os.stat(path).st_mode):  # checked before opening: a device is never read
            raise UsageError(f"--facts {shown}: not a regular file or a pipe ({_kind(mode)})")
        f = open(path, "rb")  # noqa: SIM115 - closed below
        if not _readable_kind(mode := os.fstat(f.fileno()).st_mode):  # replaced meanwhile
            f.close()
            raise UsageError(f"--facts {shown}: not a regular file or a pipe ({_kind(mode)})")
    except OSError as exc:
        raise UsageError(f"--facts {shown}: {exc.strerror or exc}") from None
    with f:
        return _read(shown, f, host.check_types, set(host.plugins), jobs, frozenset(defer))


def _readable_kind(mode: int) -> bool:
    import stat

    return stat.S_ISREG(mode) or stat.S_ISFIFO(mode)


def _kind(mode: int) -> str:
    import stat

    for test, name in ((stat.S_ISDIR, "a directory"), (stat.S_ISCHR, "a character device"),
                       (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket")):
        if test(mode):
            return name
    return "not a file"


def _read(
    shown: str, f: IO[bytes], check_types: Mapping[str, CheckType], plugins: set[str], jobs: int = 1,
    defer: frozenset[str] = frozenset(),
) -> Snapshot:
    def fail(line: int, message: str) -> FactsFileError:
        return FactsFileError(shown, line, message)

    def parse(line_no: int, data: bytes) -> Any:
        if not data.endswith(b"\n"):
            raise fail(line_no, "the file ends in the middle of a line (cut short?)")
        try:
            obj = _loads(data)
        except ValueError as exc:
            raise fail(line_no, f"not a JSON object: {exc}") from None
        twice = _duplicate_key(data, obj)
        if twice is not None:
            raise fail(line_no, f"key {twice!r} appears twice in one object (which one counts is ambiguous)")
        return obj

    digest = hashlib.sha256()
    lines = _lines(f, fail, digest=digest)
    first = next(lines, b"")
    if not first.strip():
        raise fail(1, f"empty: not a policyscan facts file (expected a {FORMAT} header)")
    header = parse(1, first)
    fmt = header.get("schema") if isinstance(header, dict) else None
    if not isinstance(fmt, str) or not fmt.startswith(_PREFIX):
        raise fail(1, f"not a policyscan facts file (expected a header with \"schema\": \"{FORMAT}\")")
    if fmt != FORMAT:
        raise fail(1, f"unknown facts format {fmt!r} (this policyscan reads {FORMAT})")
    collected_with = header.get("plugins")
    missing = sorted(set(collected_with) - plugins) if isinstance(collected_with, dict) else []
    if missing:
        raise fail(1, f"collected with plugin(s) not loaded here: {', '.join(missing)} (install them to judge "
                      "these facts)")
    problem = _schema_problem(header_schema(check_types), header)
    if problem is not None:
        raise fail(1, f"bad header: {problem}")
    try:
        collected_at = _parse_time(header["collected_at"])
    except (ValueError, OverflowError):
        raise fail(1, f"bad header: collected_at {header['collected_at']!r} is not an ISO 8601 time") from None
    targets: dict[str, Target] = {}
    for t in header["inventory"]:
        if t["name"] in targets:
            raise fail(1, f"bad header: target {t['name']!r} is in the inventory twice")
        targets[t["name"]] = Target(t["name"], dict(t["labels"]), dict(t["sources"]), Path(t["base_dir"]))
    n_checks = len(header["checks"])
    for i, c in enumerate(header["checks"]):
        if c["type"] not in check_types:
            raise fail(1, f"bad header: checks[{i}] is of check type {c['type']!r}, which no loaded plugin provides")

    entries: dict[tuple[str, str], Entry] = {}
    schemas = {name: ct.facts_schema for name, ct in check_types.items()}
    to_check: list[tuple[int, str, str]] = []  # (line, type, target) of facts checked against their schema
    from scanner.fastcheck import fast_valid

    line_no = 1
    trailer = None
    for data in lines:
        line_no += 1
        if trailer is not None:
            if data.strip():
                raise fail(line_no, "a line after the trailer {\"end\": ...}")
            continue
        obj = parse(line_no, data)
        if isinstance(obj, dict) and "end" in obj:
            problem = _schema_problem(TRAILER_SCHEMA, obj)
            if problem is not None:
                raise fail(line_no, f"bad trailer: {problem}")
            trailer = (line_no, obj["end"])
            continue
        if fast_valid(_LINE_BASE, obj) is not True:
            problem = _schema_problem(_LINE_BASE, obj)
            if problem is not None:
                raise fail(line_no, f"bad facts line: {problem}")
        type_name, target = obj["type"], obj["target"]
        if type_name not in check_types:
            raise fail(line_no, f"facts of check type {type_name!r}, which no loaded plugin provides")
        if target not in targets:
            raise fail(line_no, f"facts for target {target!r}, which is not in the header's inventory")
        if (type_name, target) in entries:
            raise fail(line_no, f"{type_name} facts for target {target!r} a second time")
        checks = obj["checks"]
        if any(i >= n_checks for i in checks):
            raise fail(line_no, f"checks {checks} name a check the header's table ({n_checks}) does not have")
        if "error" in obj:
            entries[(type_name, target)] = Entry(None, None, obj["error"], frozenset(checks), line_no)
            continue
        if schemas[type_name] is not None and type_name not in defer:
            to_check.append((line_no, type_name, target))
        entries[(type_name, target)] = Entry(bytes(data), None, None, frozenset(checks), line_no)
    if trailer is None:
        raise fail(line_no, "no trailer {\"end\": ...}: the file was cut short (or is still being written)")
    end_line, end = trailer
    if end["facts"] != len(entries) or end["targets"] != len(targets):
        raise fail(end_line, f"the trailer counts {end['facts']} facts line(s) and {end['targets']} target(s), "
                             f"the file has {len(entries)} and {len(targets)}: lines are missing")
    bad = _check_facts(to_check, entries, schemas, jobs)
    if bad is not None:
        raise fail(*bad)
    deferred = {t: schema for t in sorted(defer) if (schema := schemas.get(t)) is not None}
    return Snapshot(list(targets.values()), collected_at, entries, list(header["checks"]), header, shown,
                    digest.hexdigest(), deferred)


def _mismatch(type_name: str, target: str, problem: str) -> str:
    return f"{type_name} facts for {target!r} do not match the check type's facts schema: {problem}"


_CHECKING: tuple[Mapping[tuple[str, str], Entry], Mapping[str, Any]] | None = None
_PARALLEL_FROM = 1024
"""Facts lines from which their schema checks are spread over ``jobs`` forked processes."""


def _check_facts(
    lines: Sequence[tuple[int, str, str]], entries: Mapping[tuple[str, str], Entry], schemas: Mapping[str, Any],
    jobs: int,
) -> tuple[int, str] | None:
    """The first (line, message) whose facts do not match their check type's facts schema, or None."""
    global _CHECKING
    _CHECKING = (entries, schemas)
    try:
        if jobs < 2 or len(lines) < _PARALLEL_FROM or not hasattr(os, "fork"):
            return _check_chunk(lines)
        import multiprocessing

        size = -(-len(lines) // (jobs * 4))
        chunks = [lines[i : i + size] for i in range(0, len(lines), size)]
        with multiprocessing.get_context("fork").Pool(jobs) as pool:
            found = [bad for bad in pool.map(_check_chunk, chunks) if bad is not None]
        return min(found) if found else None
    finally:
        _CHECKING = None


def _check_chunk(lines: Sequence[tuple[int, str, str]]) -> tuple[int, str] | None:
    assert _CHECKING is not None
    entries, schemas = _CHECKING
    for line_no, type_name, target in lines:
        raw = entries[(type_name, target)].raw
        assert raw is not None
        problem = _schema_problem(schemas[type_name], _loads(raw)["facts"])
        if problem is not None:
            return line_no, _mismatch(type_name, target, problem)
    return None


# ---------------------------------------------------------------- writing


class Collected(NamedTuple):
    """The facts of one (check type, target), as collect gathered them."""

    type_name: str
    target: str
    facts: Any
    """The facts, or an object with a ``message`` when the collector failed."""
    checks: Sequence[Mapping[str, Any]]
    """The parameters of the checks they were gathered for."""


class Chunk(NamedTuple):
    """A run of encoded facts lines (what a worker sends back)."""

    data: bytes
    lines: int
    sources: dict[str, str]


_PATH_KEYS = ("file", "files", "path", "paths")
_hashed: dict[str, str | None] = {}


def _named_files(facts: Any) -> Iterator[str]:
    """The files facts name: strings under ``file``/``files``/``path``/``paths``, at the top level
    or in objects listed there (registry ``files``, logs ``files[].path``, the test plugin's ``file``)."""
    if not isinstance(facts, Mapping):
        return
    for key in _PATH_KEYS:
        value = facts.get(key)
        for item in value if isinstance(value, list) else [value]:
            if isinstance(item, str):
                yield item
            elif isinstance(item, Mapping):
                for sub in _PATH_KEYS:
                    if isinstance(item.get(sub), str):
                        yield item[sub]


def _sha256(path: str) -> str | None:
    if path in _hashed:
        return _hashed[path]
    digest: str | None = None
    try:  # only a regular file is hashed; a FIFO or device is never opened (opening a FIFO blocks)
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK) if stat.S_ISREG(os.stat(path).st_mode) else -1
        if fd >= 0:
            with os.fdopen(fd, "rb") as f:
                if stat.S_ISREG(os.fstat(f.fileno()).st_mode):  # still one once open (no swap in between)
                    digest = hashlib.file_digest(f, "sha256").hexdigest()
    except OSError:
        digest = None
    if len(_hashed) > 100_000:
        _hashed.clear()
    _hashed[path] = digest
    return digest


def encode(items: Iterable[Collected], targets: Mapping[str, Target], table: CheckTable) -> Chunk:
    """Facts lines for ``items``, and the SHA-256 of every file they name (see :func:`_named_files`)."""
    import orjson

    from scanner.engine import CollectFailed

    out: list[bytes] = []
    sources: dict[str, str] = {}
    for item in items:
        checks = sorted({table.index_of(p) for p in item.checks})
        line: dict[str, Any] = {"type": item.type_name, "target": item.target, "checks": checks}
        if isinstance(item.facts, CollectFailed):
            line["error"] = item.facts.message
        else:
            line["facts"] = item.facts
            target = targets.get(item.target)
            for named in _named_files(item.facts):
                resolved = str(target.path(named) if target is not None else Path(named))
                digest = _sha256(resolved)
                if digest is not None:
                    sources[resolved] = digest
        try:
            data = orjson.dumps(line)
        except TypeError as exc:
            data = orjson.dumps({"type": item.type_name, "target": item.target, "checks": checks,
                                 "error": f"collector {item.type_name!r} gave facts that are not plain JSON: {exc}"})
        out.append(data)
    return Chunk(b"\n".join(out) + b"\n" if out else b"", len(out), sources)


def target_json(t: Target) -> dict[str, JSON]:
    return {"name": t.name, "labels": dict(t.labels), "base_dir": str(t.base_dir.resolve()),
            "sources": _plain(t.sources)}


class FactsWriter:
    """Spools encoded chunks, then writes header + lines + trailer to ``path`` atomically
    (or, when ``stream`` is given, to that binary stream: ``collect --out -`` writes to stdout)."""

    def __init__(self, path: str, stream: IO[bytes] | None = None) -> None:
        self.path = path
        self.stream = stream
        self.count = 0
        self.sources: dict[str, str] = {}
        self._spool = tempfile.TemporaryFile()  # noqa: SIM115 - closed by finish/close

    def add(self, chunk: Chunk) -> None:
        self._spool.write(chunk.data)
        self.count += chunk.lines
        self.sources.update(chunk.sources)

    def finish(self, header: Mapping[str, Any]) -> None:
        """Write the file: ``header`` (its ``sources`` are the files the facts named), the lines, the trailer."""
        import shutil

        import orjson

        from scanner.output import atomic_file

        head = {"schema": FORMAT, **header, "sources": dict(sorted(self.sources.items()))}
        end = {"end": {"facts": self.count, "targets": len(head["inventory"])}}

        def write(out: IO[bytes]) -> None:
            out.write(orjson.dumps(head) + b"\n")
            self._spool.seek(0)
            shutil.copyfileobj(self._spool, out, 1 << 20)
            out.write(orjson.dumps(end) + b"\n")

        try:
            if self.stream is not None:
                write(self.stream)
                self.stream.flush()
            else:
                with atomic_file(self.path) as out:
                    write(out)
        finally:
            self.close()

    def close(self) -> None:
        self._spool.close()
