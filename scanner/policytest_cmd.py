"""``policyscan test PATH...``: policy unit tests (``*.test.yaml``, ``kind: PolicyTest``).

A test file names one policy and gives cases. Each case is fixture evidence for
one target — inline ``.reg`` text, inline log lines, recorded ``policyscan
probe`` documents — and the status (optionally a message fragment) each rule
must reach::

    apiVersion: policyscan/v1
    kind: PolicyTest
    policy: exchange-m365-tls12.yaml      # relative to this file, or pack:NAME
    now: 2026-11-30T00:00:00Z             # the run's clock (optional)
    inputs: {smtp_port: 25}               # policy input overrides (optional)
    cases:
      - name: TLS 1.2 enabled
        reg: |
          Windows Registry Editor Version 5.00

          [HKEY_LOCAL_MACHINE\\...\\TLS 1.2\\Client]
          "Enabled"=dword:00000001
        expect:
          EXO-TLS12-001: pass
          EXO-TLS12-002: {status: fail, message: DisabledByDefault}

A case may instead name a facts file written by ``policyscan collect``
(``facts: run.facts``): the engine then judges the saved facts from its
:class:`~scanner.facts_file.Snapshot` and no collector is called.

Fixtures become real files in a private temporary folder (``.reg`` text as
regedit writes it: UTF-16LE with a BOM and CRLF line ends), and the real
:class:`~scanner.engine.Engine` runs the policy on a target made of them, so
the real collectors and judges decide. A recorded probe document
(``policyscan probe --report json``) is handed to the ``smtp_tls`` judge as the
facts its collector would have gathered: nothing is probed.

Reading a test file runs no code: YAML goes through the one safe loader
(:mod:`scanner.yamlio`; ``!!python/...`` tags are refused), JSON through
:func:`json.loads`, and nothing beside the file (a ``conftest.py``, a ``.py``)
is ever imported. Only installed plugins run.

Every fixture path (``{file}``, ``{glob}``, ``probe: FILE``, ``facts``) is relative to the test
file and must stay in its folder once symlinks are resolved: a third-party pack's tests read
nothing outside the pack. Each report names, per test file, the policy's rules no case expects
anything of ("not tested").

Exit codes (SPEC §3): 0 every expectation met (rules left untested do not change it), 1 some not
met, 2 an invalid test or policy file (nothing is run), 3 no case ran.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import fnmatch
import io
import json
import os
import sys
import tempfile
import xml.etree.ElementTree as ET
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from dataclasses import replace as dc_replace
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from scanner.errors import LoadError, Problem
from scanner.yamlio import Marks, plain_scalar

API_VERSION = "policyscan/v1"
KIND = "PolicyTest"
STATUSES = ("pass", "fail", "error", "skip")
REPORT_FORMATS = ("console", "json", "junit")
TEST_SUFFIXES = (".test.yaml", ".test.yml")
DEFAULT_TARGET = "test"
LOG_KINDS = ("smtp_send", "smtp_receive", "message_tracking", "queue", "text")
ENCODINGS = ("utf-16le", "utf-16be", "utf-8", "utf-8-sig", "ascii", "cp1252")
PROBE_SCHEMA = "policyscan/probe/v1"
PROBE_CHECK_TYPE = "smtp_tls"
"""The check type a case's ``probe:`` recordings are replayed to (through its ``CheckType.replay``)."""

# --------------------------------------------------------------------------- the file format


def _content_schema(what: str) -> dict[str, Any]:
    return {
        "description": f"{what}: text (written as the encoding's default), or one of "
        "{text, encoding}, {base64} (exact bytes), {file} (a path relative to the test file)",
        "oneOf": [
            {"type": "string"},
            {
                "type": "object",
                "required": ["text"],
                "properties": {
                    "text": {"type": "string", "description": "The content, as text."},
                    "encoding": {"enum": list(ENCODINGS), "description": "How the text is written to the file."},
                },
                "additionalProperties": False,
            },
            {
                "type": "object",
                "required": ["base64"],
                "properties": {"base64": {"type": "string", "description": "The content's exact bytes, base64."}},
                "additionalProperties": False,
            },
            {
                "type": "object",
                "required": ["file"],
                "properties": {"file": {"type": "string", "minLength": 1,
                                        "description": "A file holding the content, relative to the test file."}},
                "additionalProperties": False,
            },
        ],
    }


NOW_PATTERN = (
    r"^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])"
    r"([T ]([01][0-9]|2[0-3])(:[0-5][0-9](:[0-5][0-9](\.[0-9]+)?)?)?(Z|[+-]([01][0-9]|2[0-3])(:?[0-5][0-9])?)?)?$"
)
"""What ``now`` may be: an ISO 8601 date, or date and time (``T`` or a space between; seconds, fraction and
offset optional; no offset is UTC) - a subset of what :func:`_parse_now` reads, so the schema refuses
``yesterday`` as the tool does. A day the month lacks (02-31) passes the pattern and is refused by the tool."""


def _now_schema(what: str) -> dict[str, Any]:
    return {"type": "string", "pattern": NOW_PATTERN,
            "description": f"{what}: an ISO 8601 date-time such as 2026-11-30T00:00:00Z (a date alone is "
                           "midnight; no offset is UTC)"}


FACTS_ALONE = ("reg", "logs", "probe")


def _facts_alone_schema() -> dict[str, Any]:
    """A case with ``facts`` has no ``reg``, ``logs`` or ``probe``: each is refused at its own key."""
    def refused(key: str) -> dict[str, Any]:
        why = f"facts: a facts file is the whole evidence of a case; not with {key}"
        return {"not": {"description": why}, "description": why}

    return {
        "description": "a case with facts has no reg, logs or probe",
        "properties": {key: refused(key) for key in FACTS_ALONE},
    }


def _one_or_many(item: Mapping[str, Any]) -> dict[str, Any]:
    return {"anyOf": [item, {"type": "array", "minItems": 1, "items": item}]}


def policytest_schema() -> dict[str, Any]:
    """The JSON Schema of a ``kind: PolicyTest`` file (``policyscan schema test``)."""
    status = {"enum": list(STATUSES)}
    inputs = {"type": "object", "description": "policy input overrides: NAME: VALUE"}
    probe_doc = {
        "type": "object",
        "required": ["schema", "facts"],
        "properties": {
            "schema": {"const": PROBE_SCHEMA, "description": f"The probe report's format: {PROBE_SCHEMA}."},
            "facts": {"type": "object", "description": "The recorded probe facts."},
        },
        "description": "a document written by `policyscan probe HOST --report json`",
    }
    case = {
        "type": "object",
        "required": ["name", "expect"],
        "properties": {
            "name": {"type": "string", "minLength": 1, "description": "unique in the file"},
            "description": {"type": "string", "description": "What the case shows."},
            "target": {
                "type": "object",
                "description": f"The target the case is judged on (default: named {DEFAULT_TARGET}, no labels).",
                "properties": {
                    "name": {"type": "string", "pattern": "^[A-Za-z0-9][A-Za-z0-9._:@-]*$",
                             "description": "The target's name."},
                    "labels": {"type": "object", "additionalProperties": {"type": "string"},
                               "description": "The target's labels (LABEL: VALUE), for the policy's selectors."},
                },
                "additionalProperties": False,
            },
            "inputs": inputs,
            "now": _now_schema("overrides the file's now"),
            "reg": {
                **_one_or_many(_content_schema("a .reg export")),
                "description": ".reg exports, merged in order; text is written UTF-16LE with a BOM and CRLF",
            },
            "logs": {
                "type": "object",
                "minProperties": 1,
                "propertyNames": {"enum": list(LOG_KINDS)},
                "additionalProperties": {
                    "anyOf": [
                        _one_or_many(_content_schema("a log file")),
                        {
                            "type": "object",
                            "required": ["glob"],
                            "properties": {"glob": {"type": "string", "minLength": 1,
                                                    "description": "Log files, relative to the test file."}},
                            "additionalProperties": False,
                        },
                    ]
                },
                "description": "log files per kind: inline text (UTF-8), or {glob} relative to the test file",
            },
            "probe": {
                **_one_or_many({"anyOf": [{"type": "string", "minLength": 1}, probe_doc]}),
                "description": "recorded `policyscan probe --report json` documents (a file or inline)",
            },
            "facts": {
                "type": "string",
                "minLength": 1,
                "description": "a facts file written by `policyscan collect` (relative to the test file); "
                               "not with reg, logs or probe",
            },
            "expect": {
                "type": "object",
                "minProperties": 1,
                "description": "rule id (or a glob over the policy's rule ids): status, or {status, message}",
                "additionalProperties": {
                    "anyOf": [
                        status,
                        {
                            "type": "object",
                            "required": ["status"],
                            "properties": {
                                "status": {**status, "description": "The status the rule must have."},
                                "message": {"type": "string", "minLength": 1,
                                            "description": "a fragment the result's message must contain"},
                            },
                            "additionalProperties": False,
                        },
                    ]
                },
            },
        },
        "dependentSchemas": {"facts": _facts_alone_schema()},
        "additionalProperties": False,
    }
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://policyscan.dev/schemas/policytest-v1.json",
        "title": "policyscan PolicyTest",
        "description": "Unit tests of a policy (`policyscan test`): cases of made-up evidence, each with the "
        "status every rule it names must have.",
        "type": "object",
        "required": ["apiVersion", "kind", "policy", "cases"],
        "properties": {
            "apiVersion": {"const": API_VERSION, "description": f"Always {API_VERSION}."},
            "kind": {"const": KIND, "description": f"Always {KIND}."},
            "description": {"type": "string", "description": "What the tests cover."},
            "policy": {"type": "string", "minLength": 1,
                       "description": "the policy file, relative to the test file, or pack:NAME"},
            "inputs": inputs,
            "now": _now_schema("the run's clock for every case"),
            "cases": {"type": "array", "minItems": 1, "items": case,
                      "description": "The test cases, each judged on its own evidence."},
        },
        "additionalProperties": False,
    }


# --------------------------------------------------------------------------- loaded form


@dataclass
class Expectation:
    rule: str
    status: str
    message: str | None
    line: int
    key: str
    """The key as written (a rule id or a glob)."""


@dataclass
class Case:
    name: str
    line: int
    index: int
    raw: Mapping[str, Any]
    inputs: dict[str, Any]
    now: datetime
    expectations: list[Expectation] = field(default_factory=list)
    now_given: bool = True
    """False when neither the file nor the case sets ``now`` (a facts case then uses the collection time)."""
    snapshot: Any = None
    """The :class:`~scanner.facts_file.Snapshot` of a ``facts:`` case."""


@dataclass
class TestFile:
    path: Path
    display: str
    policy_ref: str
    cases: list[Case]
    policies: dict[str, Any]
    """Loaded policy per inputs key (see :func:`_inputs_key`)."""
    probes: dict[tuple[int, int], dict[str, Any]] = field(default_factory=dict)
    """(case index, probe index) -> the probe facts."""

    @property
    def policy_id(self) -> str:
        return next(iter(self.policies.values())).id if self.policies else ""

    @property
    def folder(self) -> Path:
        """The test file's folder (symlinks resolved): fixture paths are relative to it and stay inside it."""
        return self.path.resolve().parent

    @property
    def untested(self) -> list[str]:
        """The policy's rules (in its order) that no case of this file expects anything of."""
        policy = self.policies.get(_inputs_key({})) or next(iter(self.policies.values()), None)
        if policy is None:
            return []
        expected = {e.rule for case in self.cases for e in case.expectations}
        return [r.id for r in policy.rules if r.id not in expected]


@dataclass
class Outcome:
    expectation: Expectation
    status: str | None
    message: str

    @property
    def ok(self) -> bool:
        if self.status != self.expectation.status:
            return False
        return self.expectation.message is None or self.expectation.message in self.message


@dataclass
class CaseRun:
    test: TestFile
    case: Case
    outcomes: list[Outcome]

    @property
    def ok(self) -> bool:
        return all(o.ok for o in self.outcomes)


# --------------------------------------------------------------------------- finding and loading


def test_files(path: Path) -> list[Path]:
    """``path`` itself, or every ``*.test.yaml``/``*.test.yml`` under a directory (symlinks followed, once)."""
    from scanner.loader import files_under

    return files_under(path, lambda name: name.lower().endswith(TEST_SUFFIXES))


def _parse_now(text: str) -> datetime | None:
    try:
        ts = datetime.fromisoformat(text.replace("Z", "+00:00") if text.endswith("Z") else text)
    except ValueError:
        return None
    try:
        return ts.replace(tzinfo=UTC) if ts.tzinfo is None else ts.astimezone(UTC)
    except OverflowError:
        return None


def _override_text(value: Any) -> str:
    """An input value as ``--input NAME=VALUE`` text that reads back as the same YAML value."""
    if isinstance(value, str):
        return value if plain_scalar(value) == value else json.dumps(value)
    return json.dumps(value)


def _inputs_key(inputs: Mapping[str, Any]) -> str:
    return json.dumps(inputs, sort_keys=True)


def load_test_file(path: Path, host: Any, problems: list[Problem], confine: Path | None = None) -> TestFile | None:
    """Read and check one test file; every problem goes to ``problems`` (None when unusable)."""
    from scanner.loader import _read

    doc = _read(path, problems)
    if doc is None:
        return None
    return check_test_doc(path, doc.data, doc.marks, host, problems, confine=confine)


def check_test_doc(
    path: Path, data: Any, marks: Marks, host: Any, problems: list[Problem], known: Mapping[str, Any] | None = None,
    confine: Path | None = None,
) -> TestFile | None:
    """Validate a PolicyTest document already read (``policyscan validate`` uses this too).

    ``known`` maps the real path of policies already loaded without input overrides to
    their :class:`~scanner.policy.Policy` (``validate`` has just checked them): reused, not read again."""
    from scanner.validation import validate

    display = marks.file
    found = validate(data, policytest_schema(), marks)
    if found:
        problems.extend(found)
        return None
    before = len(problems)
    file_now: datetime = datetime.now(UTC)
    if "now" in data:
        parsed = _parse_now(data["now"])
        if parsed is None:
            problems.append(marks.problem(("now",), f"now {data['now']!r} is not an ISO 8601 time"))
        else:
            file_now = parsed
    cases: list[Case] = []
    names: dict[str, int] = {}
    for i, raw in enumerate(data["cases"]):
        line = marks.at(("cases", i))[0]
        if raw["name"] in names:
            problems.append(marks.problem(("cases", i, "name"),
                                          f"duplicate case name {raw['name']!r} (first on line {names[raw['name']]})"))
        names.setdefault(raw["name"], line)
        now = file_now
        if "now" in raw:
            parsed = _parse_now(raw["now"])
            if parsed is None:
                problems.append(marks.problem(("cases", i, "now"), f"now {raw['now']!r} is not an ISO 8601 time"))
            else:
                now = parsed
        inputs = {**(data.get("inputs") or {}), **(raw.get("inputs") or {})}
        cases.append(Case(raw["name"], line, i, raw, inputs, now, now_given="now" in data or "now" in raw))
    test = TestFile(path, display, data["policy"], cases, {})
    _load_policies(test, data, marks, host, problems, known or {}, confine)
    if test.policies:
        rule_ids = [r.id for r in next(iter(test.policies.values())).rules]
        for case in cases:
            case.expectations = _expectations(case, rule_ids, marks, problems)
    for case in cases:
        _check_fixtures(test, case, marks, host, problems)
    return test if len(problems) == before else None


def _load_policies(
    test: TestFile, data: Mapping[str, Any], marks: Marks, host: Any, problems: list[Problem], known: Mapping[str, Any],
    confine: Path | None = None,
) -> None:
    """The policy once as written (from ``known`` when ``validate`` has just loaded it), then, to run
    cases, once more per set of input overrides; inputs are checked by name and type first, so a bad
    one is reported at the test file's line. With ``known`` (validate) no override is built."""
    from scanner.loader import PACK_PREFIX, load_policies

    def load(overrides: Mapping[str, Any]) -> Any:
        try:
            loaded = load_policies([given], host, {k: _override_text(v) for k, v in overrides.items()})
        except LoadError as exc:
            problems.extend(exc.problems)
            return None
        if len(loaded) != 1:
            problems.append(marks.problem(("policy",), f"policy {ref!r} holds {len(loaded)} policies; name one"))
            return None
        return loaded[0]

    ref = test.policy_ref
    given = ref if ref.startswith(PACK_PREFIX) else str(test.path.parent / ref)
    if not ref.startswith(PACK_PREFIX) and not Path(given).is_file():
        problems.append(marks.problem(("policy",), f"policy {ref!r}: no such file (relative to the test file)"))
        return
    if confine is not None and not ref.startswith(PACK_PREFIX) and not Path(os.path.realpath(given)).is_relative_to(
            os.path.realpath(confine)):  # a pack's tests read nothing outside the pack
        problems.append(marks.problem(("policy",), f"policy {ref!r}: outside the pack's folder {confine} (a "
                                                   "pack's tests name its own policies, or pack:NAME)"))
        return
    validating = os.path.realpath(given) in known
    base = known[os.path.realpath(given)] if validating else load({})
    if base is None:
        return
    test.policies[_inputs_key({})] = base
    for case in test.cases:
        key = _inputs_key(case.inputs)
        if key in test.policies:
            continue
        where: tuple[str | int, ...] = ("cases", case.index, "inputs") if case.raw.get("inputs") else ("inputs",)
        unknown = sorted(set(case.inputs) - set(base.inputs))
        if unknown:
            problems.append(marks.problem(where, f"input {unknown[0]!r}: the policy declares no such input "
                                                 f"(declared: {', '.join(sorted(base.inputs)) or 'none'})"))
            return
        bad = [(k, v) for k, v in case.inputs.items() if not _same_kind(v, base.inputs[k])]
        if bad:
            name, value = bad[0]
            problems.append(marks.problem(where, f"input {name!r}: {value!r} is not of the type of its "
                                                 f"default {base.inputs[name]!r}"))
            return
        policy = base if validating else load(case.inputs)
        if policy is None:
            return
        test.policies[key] = policy


def _same_kind(value: Any, default: Any) -> bool:
    if isinstance(default, bool) or isinstance(value, bool):
        return type(value) is type(default)
    if isinstance(default, float):
        return isinstance(value, int | float)
    return type(value) is type(default)


def _expectations(case: Case, rule_ids: Sequence[str], marks: Marks, problems: list[Problem]) -> list[Expectation]:
    """The case's expectations, one per rule; a key may be a rule id or a glob over the rule ids.

    An id written exactly wins over a glob; two globs that give one rule different expectations,
    or a key that names no rule of the policy, make the file invalid."""
    out: dict[str, Expectation] = {}
    from_glob: dict[str, str] = {}
    expect = case.raw["expect"]
    known = set(rule_ids)
    # exact ids first, then globs in the order written
    keys = sorted(expect, key=lambda k: 0 if k in known else 1)
    for key in keys:
        spec = expect[key]
        status, message = (spec, None) if isinstance(spec, str) else (spec["status"], spec.get("message"))
        path: tuple[str | int, ...] = ("cases", case.index, "expect", f"<key:{key}>")
        line = marks.at(path)[0]
        if key in known:
            out[key] = Expectation(key, status, message, line, key)
            continue
        matched = [r for r in rule_ids if fnmatch.fnmatchcase(r, key)] if any(c in key for c in "*?[") else []
        if not matched:
            problems.append(marks.problem(path, f"case {case.name!r}: rule {key!r} is not a rule of the policy "
                                                f"(rules: {', '.join(rule_ids)})"))
            continue
        for rule in matched:
            if rule in out and rule not in from_glob:
                continue  # written exactly: that wins
            if rule in out and (out[rule].status, out[rule].message) != (status, message):
                problems.append(marks.problem(path, f"case {case.name!r}: {key!r} and {from_glob[rule]!r} expect "
                                                    f"different things of rule {rule}"))
                continue
            out[rule] = Expectation(rule, status, message, line, key)
            from_glob[rule] = key
    order = {r: i for i, r in enumerate(rule_ids)}
    return sorted(out.values(), key=lambda e: order[e.rule])


_OUTSIDE = ("outside the test file's folder: a fixture path is relative to the test file and must stay in its "
            "folder (no absolute path, no '..', no symlink out of it)")


def _inside(folder: Path, rel: str) -> bool:
    """Whether ``folder / rel``, symlinks resolved, is ``folder`` or under it (``folder`` is resolved)."""
    return Path(os.path.realpath(folder / rel)).is_relative_to(folder)


def _glob_inside(folder: Path, pattern: str) -> bool:
    """Whether a log glob stays in ``folder``: relative, no ``..``, and every file it matches now
    (``**`` and hidden files included, symlinks resolved) is inside."""
    import glob as globmod

    parts = Path(pattern).parts
    if Path(pattern).is_absolute() or ".." in parts:
        return False
    lead: list[str] = []  # the folders before the first wildcard
    for part in parts:
        if globmod.has_magic(part):
            break
        lead.append(part)
    if not _inside(folder, str(Path(*lead))):
        return False
    return all(_inside(folder, m) for m in globmod.glob(str(folder / pattern), recursive=True, include_hidden=True))


def _check_paths(test: TestFile, case: Case, marks: Marks, problems: list[Problem]) -> bool:
    """Every path the case reads (``{file}``, ``{glob}``, ``probe: FILE``, ``facts``) stays in the test file's
    folder once symlinks are resolved; each one that does not is a problem at its key. True when all do."""
    raw = case.raw
    folder = test.folder
    base: tuple[str | int, ...] = ("cases", case.index)
    bad: list[tuple[tuple[str | int, ...], str, str]] = []
    for j, item in enumerate(_as_list(raw.get("reg"))):
        if isinstance(item, dict) and "file" in item and not _inside(folder, item["file"]):
            where = (*base, "reg", j) if isinstance(raw["reg"], list) else (*base, "reg")
            bad.append(((*where, "file"), "file", item["file"]))
    for kind, value in (raw.get("logs") or {}).items():
        if isinstance(value, dict) and "glob" in value:
            if not _glob_inside(folder, value["glob"]):
                bad.append(((*base, "logs", kind, "glob"), "glob", value["glob"]))
            continue
        for j, item in enumerate(_as_list(value)):
            if isinstance(item, dict) and "file" in item and not _inside(folder, item["file"]):
                where = (*base, "logs", kind, j) if isinstance(value, list) else (*base, "logs", kind)
                bad.append(((*where, "file"), "file", item["file"]))
    probes = raw.get("probe")
    for j, item in enumerate(_as_list(probes)):
        if isinstance(item, str) and not _inside(folder, item):
            bad.append(((*base, "probe", j) if isinstance(probes, list) else (*base, "probe"), "probe", item))
    if "facts" in raw and not _inside(folder, raw["facts"]):
        bad.append(((*base, "facts"), "facts", raw["facts"]))
    for where, key, value in bad:
        problems.append(marks.problem(where, f"{key} {value!r}: {_OUTSIDE}"))
    return not bad


def _check_regular(test: TestFile, case: Case, marks: Marks, problems: list[Problem]) -> bool:
    """Every fixture file the case names (``{file}``, ``probe: FILE``, ``facts``) is a regular file when it
    exists: a FIFO, device or directory is a problem at its key, never opened (a FIFO would block the run).
    True when none is. A missing file is left to what reads it."""
    from scanner.filekind import not_regular

    raw = case.raw
    folder = test.folder
    base: tuple[str | int, ...] = ("cases", case.index)
    bad: list[tuple[tuple[str | int, ...], str, str, str]] = []
    for j, item in enumerate(_as_list(raw.get("reg"))):
        if isinstance(item, dict) and "file" in item and (what := not_regular(folder / item["file"])):
            where = (*base, "reg", j) if isinstance(raw["reg"], list) else (*base, "reg")
            bad.append(((*where, "file"), "file", item["file"], what))
    for kind, value in (raw.get("logs") or {}).items():
        if isinstance(value, dict) and "glob" in value:
            continue  # the logs plugin reads only the regular files a glob matches and names the rest
        for j, item in enumerate(_as_list(value)):
            if isinstance(item, dict) and "file" in item and (what := not_regular(folder / item["file"])):
                where = (*base, "logs", kind, j) if isinstance(value, list) else (*base, "logs", kind)
                bad.append(((*where, "file"), "file", item["file"], what))
    probes = raw.get("probe")
    for j, item in enumerate(_as_list(probes)):
        if isinstance(item, str) and (what := not_regular(folder / item)):
            bad.append(((*base, "probe", j) if isinstance(probes, list) else (*base, "probe"), "probe", item, what))
    if isinstance(raw.get("facts"), str) and (what := not_regular(folder / raw["facts"])):
        bad.append(((*base, "facts"), "facts", raw["facts"], what))
    for where, key, value, what in bad:
        problems.append(marks.problem(where, f"{key} {value!r}: not a regular file ({what}); a fixture must be "
                                             "a regular file in the test file's folder"))
    return not bad


def _check_facts(test: TestFile, case: Case, marks: Marks, host: Any, problems: list[Problem]) -> None:
    """A ``facts:`` case: the whole facts file is read and checked now (a bad one is exit 2)."""
    from scanner.errors import UsageError
    from scanner.facts_file import read_snapshot

    raw = case.raw
    where: tuple[str | int, ...] = ("cases", case.index, "facts")
    mixed = [k for k in ("reg", "logs", "probe") if k in raw]
    if mixed:
        problems.append(marks.problem(where, f"facts: a facts file is the whole evidence of a case; "
                                             f"not with {', '.join(mixed)}"))
        return
    try:
        snapshot = read_snapshot(test.folder / raw["facts"], host)
    except UsageError as exc:
        problems.append(marks.problem(where, f"facts {raw['facts']!r}: {exc}"))
        return
    wanted = (raw.get("target") or {}).get("name")
    names = [t.name for t in snapshot.targets]
    if wanted is None and len(names) != 1:
        problems.append(marks.problem(where, f"facts {raw['facts']!r} holds {len(names)} targets "
                                             f"({', '.join(names) or 'none'}); name one with target: {{name: ...}}"))
        return
    if wanted is not None and wanted not in names:
        problems.append(marks.problem(("cases", case.index, "target", "name"),
                                      f"target {wanted!r} is not in facts {raw['facts']!r} "
                                      f"(targets: {', '.join(names) or 'none'})"))
        return
    case.snapshot = snapshot


def _check_fixtures(test: TestFile, case: Case, marks: Marks, host: Any, problems: list[Problem]) -> None:
    """What the schema cannot say: base64 that decodes, probe documents that are probe documents."""
    raw = case.raw
    if not _check_paths(test, case, marks, problems):
        return  # nothing outside the test file's folder is read
    if not _check_regular(test, case, marks, problems):
        return  # a FIFO or device is never opened: reading it would block
    base: tuple[str | int, ...] = ("cases", case.index)
    contents: list[tuple[tuple[str | int, ...], Any]] = []
    for j, item in enumerate(_as_list(raw.get("reg"))):
        contents.append(((*base, "reg", j) if isinstance(raw["reg"], list) else (*base, "reg"), item))
    for kind, value in (raw.get("logs") or {}).items():
        if isinstance(value, dict) and "glob" in value:
            continue
        for j, item in enumerate(_as_list(value)):
            contents.append(((*base, "logs", kind, j) if isinstance(value, list) else (*base, "logs", kind), item))
    for where, item in contents:
        if isinstance(item, dict) and "text" in item and "encoding" in item:
            try:
                item["text"].encode(item["encoding"], "strict")
            except UnicodeEncodeError as exc:
                problems.append(marks.problem((*where, "text"), f"the text cannot be written as {item['encoding']}: "
                                                                f"{exc.object[exc.start:exc.end]!r} has no byte there"))
        if isinstance(item, dict) and "base64" in item:
            try:
                base64.b64decode(item["base64"], validate=True)
            except (binascii.Error, ValueError):
                problems.append(marks.problem((*where, "base64"), "not valid base64"))
    if "facts" in raw:
        _check_facts(test, case, marks, host, problems)
    probes = raw.get("probe")
    for j, item in enumerate(_as_list(probes)):
        where = (*base, "probe", j) if isinstance(probes, list) else (*base, "probe")
        doc: Any = item
        if isinstance(item, str):
            from scanner.filekind import read_regular

            try:  # checked a regular file above; read so that one swapped for a FIFO is refused, not waited on
                doc = json.loads(read_regular(test.folder / item))
            except OSError as exc:
                problems.append(marks.problem(where, f"probe {item!r}: cannot read: {exc.strerror or exc}"))
                continue
            except ValueError as exc:
                problems.append(marks.problem(where, f"probe {item!r}: not JSON: {exc}"))
                continue
        facts = doc.get("facts") if isinstance(doc, dict) else None
        if not isinstance(doc, dict) or doc.get("schema") != PROBE_SCHEMA or not isinstance(facts, dict) \
                or not isinstance(facts.get("endpoint"), str):
            problems.append(marks.problem(where, f"not a recorded probe document (schema {PROBE_SCHEMA} with "
                                                 "facts naming an endpoint): write one with "
                                                 "`policyscan probe HOST --report json=FILE`"))
            continue
        ct = host.check_types.get(PROBE_CHECK_TYPE)
        if ct is None or ct.replay is None:
            problems.append(marks.problem(where, f"no loaded check type {PROBE_CHECK_TYPE!r} replays recorded "
                                                 "probes"))
            continue
        schema = ct.facts_schema
        if schema is not None:  # what the collector would have yielded, as a facts file is checked
            from scanner.fastcheck import fast_valid
            from scanner.validation import validator

            replayed = ct.replay([facts])[1]  # jsonschema only when the fast check is not sure it is valid
            err = None if fast_valid(schema, replayed) else next(iter(validator(schema).iter_errors(replayed)), None)
            if err is not None:
                at = ".".join(str(x) for x in list(err.absolute_path)[2:]) or "facts"
                problems.append(marks.problem(where, f"recorded probe facts do not match the smtp_tls facts "
                                                     f"schema at {at}: {err.message}"))
                continue
        test.probes[(case.index, j)] = facts


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


# --------------------------------------------------------------------------- running a case


_DEFAULT_ENCODING = {"reg": "utf-16le", "logs": "utf-8"}


def _content_bytes(item: Any, what: str, base: Path) -> bytes | Path:
    """The bytes of one fixture file, or the path of an existing file it names."""
    if isinstance(item, str):
        item = {"text": item}
    if "file" in item:
        return base / item["file"]
    if "base64" in item:
        return base64.b64decode(item["base64"], validate=True)
    encoding = item.get("encoding") or _DEFAULT_ENCODING[what]
    text: str = item["text"]
    if what == "reg":
        text = text.replace("\r\n", "\n").replace("\n", "\r\n")  # regedit ends every line with CRLF
    bom = {"utf-16le": b"\xff\xfe", "utf-16be": b"\xfe\xff"}.get(encoding, b"")
    return bom + text.encode(encoding, "strict")


def _materialise(
    test: TestFile, case: Case, folder: Path, host: Any
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Write the case's fixtures into ``folder``; return the target's sources and recorded facts per check type."""
    raw = case.raw
    base = test.folder  # every path under it: checked when the file was read (_check_paths)
    sources: dict[str, Any] = {}
    recorded: dict[str, Any] = {}
    regs = []
    for j, item in enumerate(_as_list(raw.get("reg"))):
        got = _content_bytes(item, "reg", base)
        if isinstance(got, bytes):
            p = folder / f"export-{j + 1}.reg"
            p.write_bytes(got)
            got = p
        regs.append(str(got))
    if regs:
        sources["registry"] = {"files": regs}
    logs: dict[str, list[str]] = {}
    for kind, value in (raw.get("logs") or {}).items():
        if isinstance(value, dict) and "glob" in value:
            logs[kind] = [str(base / value["glob"])]
            continue
        for j, item in enumerate(_as_list(value)):
            got = _content_bytes(item, "logs", base)
            if isinstance(got, bytes):
                (folder / kind).mkdir(exist_ok=True)
                p = folder / kind / f"{j + 1}.log"
                p.write_bytes(got)
                got = p
            logs.setdefault(kind, []).append(str(got))
    if logs:
        sources["logs"] = logs
    probes = [facts for (i, _), facts in sorted(test.probes.items()) if i == case.index]
    if probes:  # checked when the file was read: the check type is loaded and replays
        ct = host.check_types[PROBE_CHECK_TYPE]
        sources[ct.source], recorded[PROBE_CHECK_TYPE] = ct.replay(probes)
    return sources, recorded


class _Recorded:
    """A collector that hands the real judge recorded facts: nothing is collected."""

    def __init__(self, real: Any, facts: Any) -> None:
        self.real = real
        self.facts = facts

    def collect(self, requests: Sequence[Any], ctx: Any) -> Iterator[tuple[str, Any]]:
        for request in requests:
            yield request.target.name, self.facts

    def evaluate(self, params: Mapping[str, Any], facts: Any, ctx: Any) -> Any:
        return self.real.evaluate(params, facts, ctx)


def run_case(test: TestFile, case: Case, host: Any) -> CaseRun:
    from scanner.api import RunContext, Target
    from scanner.engine import Engine

    policy = test.policies[_inputs_key(case.inputs)]
    spec = case.raw.get("target") or {}
    if case.snapshot is not None:
        return _run_snapshot_case(test, case, host, policy, spec)
    with tempfile.TemporaryDirectory(prefix="policyscan-test-") as tmp:
        folder = Path(tmp)
        sources, recorded = _materialise(test, case, folder, host)
        check_types = dict(host.check_types)
        for type_name, facts in recorded.items():
            check_types[type_name] = dc_replace(check_types[type_name],
                                                collector=_Recorded(check_types[type_name].collector, facts))
        target = Target(name=spec.get("name", DEFAULT_TARGET), labels=dict(spec.get("labels") or {}),
                        sources=sources, base_dir=folder)
        engine = Engine([policy], check_types, RunContext(now=case.now, jobs=1), lang="en")
        results = {r.rule: r for r in engine.scan([target])}
    return CaseRun(test, case, _outcomes(test, case, results, folder))


def _run_snapshot_case(test: TestFile, case: Case, host: Any, policy: Any, spec: Mapping[str, Any]) -> CaseRun:
    """A ``facts:`` case: the engine judges the saved facts, and no collector is called."""
    from scanner.api import RunContext
    from scanner.engine import Engine

    snapshot = case.snapshot
    name = spec.get("name") or snapshot.targets[0].name
    target = next(t for t in snapshot.targets if t.name == name)
    if "labels" in spec:
        target = dc_replace(target, labels=dict(spec["labels"]))
    now = case.now if case.now_given else snapshot.collected_at
    engine = Engine([policy], host.check_types, RunContext(now=now, jobs=1), lang="en", snapshot=snapshot)
    results = {r.rule: r for r in engine.scan([target])}
    return CaseRun(test, case, _outcomes(test, case, results, None))


def _outcomes(test: TestFile, case: Case, results: Mapping[str, Any], folder: Path | None) -> list[Outcome]:
    outcomes = []
    for e in case.expectations:
        r = results.get(e.rule)
        # messages name fixture files relative to the case's folder, so they do not change between runs
        message = "" if r is None else r.message
        for prefix in ([str(folder) + os.sep] if folder else []) + [str(test.folder) + os.sep]:
            message = message.replace(prefix, "")
        outcomes.append(Outcome(e, None if r is None else str(r.status), message))
    return outcomes


# --------------------------------------------------------------------------- reports


def _describe(o: Outcome) -> str:
    want = o.expectation.status + (f" with message containing {o.expectation.message!r}"
                                   if o.expectation.message else "")
    return f"expected {want}, got {o.status} (message: {o.message})"


def _tests(runs: Sequence[CaseRun]) -> list[TestFile]:
    """The test files of ``runs``, in order, each once."""
    return list({id(r.test): r.test for r in runs}.values())


UNTESTED_NOTE = "no case expects anything of these rules; the exit code does not change"


def render_console(runs: Sequence[CaseRun], files: int) -> str:
    out = io.StringIO()
    for k, run in enumerate(runs):
        met = sum(o.ok for o in run.outcomes)
        word = "PASS" if run.ok else "FAIL"
        out.write(f"{word}  {run.test.display}:{run.case.line}: {run.case.name} "
                  f"({met}/{len(run.outcomes)} expectations met)\n")
        for o in run.outcomes:
            if not o.ok:
                out.write(f"  {run.test.display}:{o.expectation.line}: case {run.case.name}: "
                          f"rule {o.expectation.rule}: {_describe(o)}\n")
        untested = run.test.untested
        if untested and (k + 1 == len(runs) or runs[k + 1].test is not run.test):  # after the file's last case
            out.write(f"NOTE  {run.test.display}: not tested: {', '.join(untested)} ({UNTESTED_NOTE})\n")
    failed = sum(not r.ok for r in runs)
    expectations = sum(len(r.outcomes) for r in runs)
    unmet = sum(not o.ok for r in runs for o in r.outcomes)
    out.write(f"{len(runs)} case(s) in {files} file(s): {len(runs) - failed} passed, {failed} failed; "
              f"{expectations - unmet}/{expectations} expectations met\n")
    return out.getvalue()


def render_json(runs: Sequence[CaseRun], files: int) -> str:
    doc = {
        "schema": "policyscan/test-report/v1",
        "summary": {
            "files": files,
            "cases": len(runs),
            "passed": sum(r.ok for r in runs),
            "failed": sum(not r.ok for r in runs),
            "expectations": sum(len(r.outcomes) for r in runs),
            "unmet": sum(not o.ok for r in runs for o in r.outcomes),
        },
        "cases": [
            {
                "file": r.test.display,
                "line": r.case.line,
                "policy": r.test.policy_id,
                "name": r.case.name,
                "passed": r.ok,
                "expectations": [
                    {"rule": o.expectation.rule, "line": o.expectation.line, "expected": o.expectation.status,
                     "message_contains": o.expectation.message, "actual": o.status, "message": o.message,
                     "met": o.ok}
                    for o in r.outcomes
                ],
            }
            for r in runs
        ],
        "test_files": [
            {"file": t.display, "policy": t.policy_id, "untested": t.untested}
            for t in _tests(runs)
        ],
    }
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"


def render_junit(runs: Sequence[CaseRun], files: int) -> str:
    """One ``<testsuite>`` per test file, one ``<testcase>`` per (case, rule) expectation; the policy's rules
    no case expects anything of are a ``untested`` property of the suite and a skipped ``<testcase>`` each."""
    from scanner.output import printable

    root = ET.Element("testsuites", name="policyscan test")
    total = failures = skipped = 0
    by_file: dict[str, list[CaseRun]] = {}
    for r in runs:
        by_file.setdefault(r.test.display, []).append(r)
    for display, file_runs in by_file.items():
        untested = file_runs[0].test.untested
        n = sum(len(r.outcomes) for r in file_runs) + len(untested)
        bad = sum(not o.ok for r in file_runs for o in r.outcomes)
        suite = ET.SubElement(root, "testsuite", name=display, tests=str(n), failures=str(bad), errors="0",
                              skipped=str(len(untested)))
        total, failures, skipped = total + n, failures + bad, skipped + len(untested)
        if untested:
            props = ET.SubElement(suite, "properties")
            ET.SubElement(props, "property", name="untested", value=" ".join(untested))
        for r in file_runs:
            for o in r.outcomes:
                tc = ET.SubElement(suite, "testcase", classname=r.test.policy_id,
                                   name=f"{r.case.name}: {o.expectation.rule}",
                                   file=display, line=str(o.expectation.line))
                if not o.ok:
                    fail = ET.SubElement(tc, "failure", message=printable(_describe(o)))
                    fail.text = printable(f"{display}:{o.expectation.line}: case {r.case.name}: "
                                          f"rule {o.expectation.rule}\nexpected: {o.expectation.status}"
                                          + (f" (message containing {o.expectation.message!r})"
                                             if o.expectation.message else "")
                                          + f"\nactual: {o.status}\nmessage: {o.message}\n")
        for rule in untested:
            tc = ET.SubElement(suite, "testcase", classname=file_runs[0].test.policy_id, name=f"not tested: {rule}",
                               file=display)
            ET.SubElement(tc, "skipped", message=f"no case of {display} expects anything of rule {rule}")
    root.set("tests", str(total))
    root.set("failures", str(failures))
    root.set("errors", "0")
    root.set("skipped", str(skipped))
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


_RENDER = {"console": render_console, "json": render_json, "junit": render_junit}


# --------------------------------------------------------------------------- the command


def _specs(items: Sequence[str]) -> list[tuple[str, str | None]]:
    from scanner.errors import UsageError
    from scanner.output import ReportSpecError, check_report_paths, parse_report_spec

    try:
        specs = [parse_report_spec(i) for i in items] or [("console", None)]
    except ReportSpecError as exc:
        raise UsageError(str(exc)) from None
    for fmt, _ in specs:
        if fmt not in REPORT_FORMATS:
            raise UsageError(f"--report {fmt}: policyscan test writes {', '.join(REPORT_FORMATS)}")
    if sum(path is None for _, path in specs) > 1:
        raise UsageError("at most one --report may go to stdout")
    paths = [p for _, p in specs if p is not None]
    if len(set(paths)) != len(paths):
        raise UsageError("two reports would write the same file")
    try:
        check_report_paths(specs)
    except ReportSpecError as exc:
        raise UsageError(str(exc)) from None
    return specs


def load_tests(paths: Sequence[str], host: Any) -> tuple[list[TestFile], int, list[Problem]]:
    """Every test file under ``paths``, checked; (usable files, files found, problems)."""
    problems: list[Problem] = []
    tests: list[TestFile] = []
    count = 0
    from scanner.loader import PACK_PREFIX, pack_path

    for given in paths:
        found = pack_path(given, host)  # a path, or pack:NAME: the tests an installed plugin ships with its pack
        if found is None:
            known = ", ".join(f"{PACK_PREFIX}{n}" for n in sorted(host.packs)) or "none"
            problems.append(Problem(given, 1, 1, f"no installed plugin ships this policy pack (known packs: {known})"))
            continue
        p = found if not given.startswith(PACK_PREFIX) or found.is_dir() else found.parent
        if not p.exists():
            problems.append(Problem(given, 1, 1, "no such file or directory"))
            continue
        for f in test_files(p):
            count += 1
            test = load_test_file(f, host, problems, confine=p if given.startswith(PACK_PREFIX) else None)
            if test is not None:
                tests.append(test)
    return tests, count, problems


def run_tests(args: argparse.Namespace, stdout: IO[str]) -> int:
    """``policyscan test``: exit 0 all met, 1 some not met, 2 invalid files, 3 nothing ran."""
    from scanner.output import atomic_file
    from scanner.plugin_host import load_plugins

    specs = _specs(args.report)
    host = load_plugins()
    tests, count, problems = load_tests(args.paths, host)
    if problems:
        problems = list(dict.fromkeys(problems))  # two tests of one broken policy: its problems once
        for problem in sorted(problems, key=lambda p: (p.file, p.line, p.col)):
            print(problem, file=sys.stderr)
        print(f"policyscan: {len(problems)} problem(s) in the test files; no test was run", file=sys.stderr)
        return 2
    runs = [run_case(test, case, host) for test in tests for case in test.cases]
    for fmt, path in specs:
        text = _RENDER[fmt](runs, count)
        if path is None:
            stdout.write(text)
            stdout.flush()
        else:
            with atomic_file(path) as raw:
                raw.write(text.encode("utf-8"))
    if not runs:
        print(f"policyscan: no test case found in {', '.join(args.paths)} (*.test.yaml, kind: PolicyTest)",
              file=sys.stderr)
        return 3
    return 0 if all(r.ok for r in runs) else 1
