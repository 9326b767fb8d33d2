"""Property: every operator's verdict on generated exports equals a plain oracle's.

Hypothesis writes one to three files (UTF-16LE with BOM, or REGEDIT4 in cp1252)
that create keys with typed values (REG_SZ, EXPAND_SZ, MULTI_SZ, DWORD, QWORD,
BINARY, NONE, a DWORD stored empty), delete values (``"v"=-``) and keys
(``[-KEY]``), with key and value names in any case. The oracle is a direct
model of what importing those files in order sets -- a dictionary of keys and
values, the set of keys that exist, the branches each file covers -- and the
SPEC's rules written the plain way. The plugin (parser, facts through JSON,
judge) must reach the same status for every rule, and give proof exactly when
it passes or fails. The Wine-made exports in tests/data/reg/golden are judged
against their manifest the same way.
"""

from __future__ import annotations

import json
import re
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_registry_check import CT, GOLDEN, RUN, VALIDATOR

from scanner.api import CollectRequest, EvalContext, Status, Target, has_proof

BASE = r"HKEY_LOCAL_MACHINE\SOFTWARE\Prop"
KEYS = [BASE, BASE + r"\A", BASE + r"\A\X", BASE + r"\C", BASE + r"\C\Y"]
RULE_KEYS = [*KEYS, BASE + r"\A\Gone", r"HKEY_LOCAL_MACHINE\SOFTWARE", r"HKEY_LOCAL_MACHINE\SOFTWARE\Out"]
NAMES = ["V", "W", "@"]
INTS = [0, 1, 10, 16, 4294967295, 4294967296]
TEXTS = ["0", "1", "10", "a", "0001"]
LISTS = [["1"], ["a", "1"], ["10"]]
TYPES = ["REG_SZ", "REG_EXPAND_SZ", "REG_MULTI_SZ", "REG_DWORD", "REG_QWORD", "REG_BINARY", "REG_NONE"]

# -- the model: values as the oracle sees them -----------------------------------------------------

values = st.one_of(
    st.tuples(st.just("REG_SZ"), st.sampled_from(TEXTS)),
    st.tuples(st.just("REG_EXPAND_SZ"), st.sampled_from(TEXTS)),
    st.tuples(st.just("REG_MULTI_SZ"), st.sampled_from(LISTS)),
    st.tuples(st.just("REG_DWORD"), st.sampled_from([i for i in INTS if i <= 0xFFFFFFFF])),
    st.tuples(st.just("REG_QWORD"), st.sampled_from(INTS)),
    st.tuples(st.just("REG_BINARY"), st.sampled_from(["10", "0001", "de"])),
    st.tuples(st.just("REG_NONE"), st.sampled_from(["", "10"])),
    st.tuples(st.just("REG_DWORD"), st.just("")),  # stored empty (hex(4):): no number, stays hex
)
ops = st.one_of(
    st.tuples(st.just("key"), st.sampled_from(KEYS),
              st.lists(st.tuples(st.sampled_from(NAMES), st.one_of(values, st.just(None))), max_size=3)),
    st.tuples(st.just("delete"), st.sampled_from(KEYS), st.just([])),
)
files = st.lists(st.tuples(st.booleans(), st.lists(ops, min_size=1, max_size=6)), min_size=1, max_size=3)


def _recase(text: str, upper: bool) -> str:
    return text.upper() if upper else text


def _hexes(raw: bytes) -> str:
    return ",".join(f"{b:02x}" for b in raw)


def _encode_value(type_: str, data: Any, unicode: bool) -> str:
    def text(s: str) -> bytes:
        return s.encode("utf-16-le" if unicode else "cp1252") + (b"\0\0" if unicode else b"\0")

    if type_ == "REG_SZ":
        return f'"{data}"'
    if type_ == "REG_EXPAND_SZ":
        return "hex(2):" + _hexes(text(data))
    if type_ == "REG_MULTI_SZ":
        return "hex(7):" + _hexes(b"".join(text(s) for s in data) + (b"\0\0" if unicode else b"\0"))
    if type_ == "REG_DWORD":
        return f"dword:{data:08x}" if isinstance(data, int) else "hex(4):" + _hexes(bytes.fromhex(data))
    if type_ == "REG_QWORD":
        return "hex(b):" + _hexes(data.to_bytes(8, "little"))
    return ("hex:" if type_ == "REG_BINARY" else "hex(0):") + _hexes(bytes.fromhex(data))


def write_lines(unicode: bool, file_ops: list[Any], salt: int) -> tuple[list[str], list[list[Any]]]:
    """The lines of one file, and after each line the ops that the lines so far import (a cut there)."""
    lines = ["Windows Registry Editor Version 5.00" if unicode else "REGEDIT4", ""]
    done: list[Any] = []
    states: list[list[Any]] = [[], []]
    for i, (what, key, vals) in enumerate(file_ops):
        written = _recase(key, (i + salt) % 3 == 0)
        if what == "delete":
            done.append((what, key, []))
            lines += [f"[-{written}]", ""]
            states += [list(done), list(done)]
            continue
        lines.append(f"[{written}]")
        done.append((what, key, []))
        states.append(list(done))
        for j, (name, value) in enumerate(vals):
            shown = "@" if name == "@" else f'"{_recase(name, (i + j) % 2 == 1).lower() if j % 3 else name}"'
            lines.append(f"{shown}=-" if value is None else f"{shown}={_encode_value(*value, unicode)}")
            done[-1] = (what, key, vals[: j + 1])
            states.append(list(done))
        lines.append("")
        states.append(list(done))
    return lines, states


def encode(unicode: bool, text: str) -> bytes:
    return b"\xff\xfe" + text.encode("utf-16-le") if unicode else text.encode("cp1252")


def write_file(unicode: bool, file_ops: list[Any], salt: int) -> bytes:
    lines, _ = write_lines(unicode, file_ops, salt)
    return encode(unicode, "\r\n".join(lines) + "\r\n")


class Oracle:
    """What importing the files in order sets, kept the plain way."""

    def __init__(self, model: list[tuple[bool, list[Any]]]) -> None:
        self.values: dict[str, dict[str, tuple[str, Any]]] = {}
        self.exists: set[str] = set()
        self.branches: list[set[str]] = []
        for _, file_ops in model:
            named = {key.lower() for _, key, _ in file_ops}
            self.branches.append({k for k in named if not any(k.startswith(o + "\\") for o in named)})
            for what, key, vals in file_ops:
                k = key.lower()
                if what == "delete":
                    for gone in [e for e in self.exists if e == k or e.startswith(k + "\\")]:
                        self.exists.discard(gone)
                        self.values.pop(gone, None)
                    continue
                parts = k.split("\\")
                self.exists.update("\\".join(parts[:n]) for n in range(1, len(parts) + 1))
                mine = self.values.setdefault(k, {})
                for name, value in vals:
                    vid = "" if name == "@" else name.lower()
                    if value is None:
                        mine.pop(vid, None)
                    else:
                        mine[vid] = value

    def covered(self, k: str) -> bool:
        return any(k == b or k.startswith(b + "\\") for bs in self.branches for b in bs)

    def judge(self, rule: dict[str, Any]) -> Status:
        k, name = rule["key"].lower(), rule.get("value")
        ops = [o for o in ("equals", "not_equals", "in", "not_in", "min", "max", "matches", "exists") if o in rule]
        op = ops[0] if ops else None
        operand = rule.get(op) if op else None
        exists = k in self.exists
        if not self.covered(k) and (name is not None or not exists):
            return Status.ERROR
        found = self.values.get(k, {}).get("" if name == "@" else (name or "").lower()) if exists else None
        if name is None or found is None:
            present = exists if name is None else False
            if op == "exists":
                return Status.PASS if present is operand else Status.FAIL
            if present:
                return Status.PASS
            return {"fail": Status.FAIL, "pass": Status.PASS, "skip": Status.SKIP}[rule.get("when_missing", "fail")]
        type_, data = found
        if op == "exists":
            return Status.FAIL if operand is False or rule.get("type", type_) != type_ else Status.PASS
        if rule.get("type", type_) != type_:
            return Status.FAIL
        if op is None:
            return Status.PASS
        return Status.PASS if self._holds(op, operand, type_, data, "type" in rule) else Status.FAIL

    @staticmethod
    def _holds(op: str, operand: Any, type_: str, data: Any, typed: bool) -> bool:
        if isinstance(data, int):
            kind = int
        elif isinstance(data, list):
            kind = list
        else:
            kind = str  # text, or hex for everything but SZ/EXPAND_SZ: both compared as strings
        def same(o: Any) -> bool:
            return isinstance(o, kind) and not isinstance(o, bool)
        if op in ("equals", "not_equals"):
            return same(operand) and (data == operand) == (op == "equals")
        if op in ("in", "not_in"):
            mine = [o for o in operand if same(o)]
            return bool(mine) and (data in mine) == (op == "in")
        if op in ("min", "max"):
            return kind is int and (data >= operand if op == "min" else data <= operand)
        texts = data if kind is list else [data] if type_ in ("REG_SZ", "REG_EXPAND_SZ") or typed else []
        return any(re.search(operand, str(t)) for t in texts)


scalars = st.one_of(st.sampled_from(INTS), st.sampled_from(TEXTS))
operands = st.one_of(scalars, st.sampled_from(LISTS))
rules = st.builds(
    lambda key, name, op, when, type_: {
        "key": key, **({"value": name} if name else {}), **({} if op is None or (not name and op[0] != "exists")
                                                          else {op[0]: op[1]}),
        **({"when_missing": when} if when else {}), **({"type": type_} if type_ and name else {}),
    },
    st.sampled_from(RULE_KEYS),
    st.one_of(st.none(), st.sampled_from(NAMES)),
    st.one_of(
        st.none(),
        st.tuples(st.sampled_from(["equals", "not_equals"]), operands),
        st.tuples(st.sampled_from(["in", "not_in"]), st.lists(operands, min_size=1, max_size=3)),
        st.tuples(st.sampled_from(["min", "max"]), st.sampled_from(INTS)),
        st.tuples(st.just("matches"), st.sampled_from(["^1$", "0", "a", "^$", "^de"])),
        st.tuples(st.just("exists"), st.booleans()),
    ),
    st.one_of(st.none(), st.sampled_from(["fail", "pass", "skip"])),
    st.one_of(st.none(), st.sampled_from(TYPES)),
)


def collect(folder: Path, names: list[str], checks: list[dict[str, Any]]) -> tuple[Target, Any]:
    target = Target("t", sources={"registry": {"files": names}}, base_dir=folder)
    [(_, facts)] = CT.collector.collect([CollectRequest(target, checks)], RUN)
    return target, json.loads(json.dumps(facts))


def judge_all(folder: Path, names: list[str], checks: list[dict[str, Any]]) -> list[Any]:
    target, facts = collect(folder, names, checks)
    from plugins.registry import keytree

    small, keytree._SCAN_LIMIT = keytree._SCAN_LIMIT, -1
    try:  # the shortcut for small trees (a scan instead of the tree of children) must find the same facts
        assert collect(folder, names, checks)[1] == facts
    finally:
        keytree._SCAN_LIMIT = small
    assert facts["error"] is None, facts["error"]
    return [CT.collector.evaluate(rule, facts, EvalContext(RUN, target)) for rule in checks]


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(model=files, checks=st.lists(rules, min_size=1, max_size=12))
def test_every_operator_agrees_with_the_oracle(model: list[tuple[bool, list[Any]]], checks: list[dict]) -> None:
    for rule in checks:
        assert not list(VALIDATOR.iter_errors(rule)), rule
    oracle = Oracle(model)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        names = []
        for i, (unicode, file_ops) in enumerate(model):
            names.append(f"f{i}.reg")
            (folder / names[-1]).write_bytes(write_file(unicode, file_ops, i))
        outcomes = judge_all(folder, names, checks)
    for rule, outcome in zip(checks, outcomes, strict=True):
        assert outcome.status is oracle.judge(rule), (rule, outcome.message)
        proved = outcome.status in (Status.PASS, Status.FAIL)
        assert has_proof(outcome.examined) is proved, (rule, outcome)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(model=files, checks=st.lists(rules, min_size=1, max_size=12), data=st.data())
def test_an_export_cut_short_reads_as_its_complete_lines_or_not_at_all(
    model: list[tuple[bool, list[Any]]], checks: list[dict], data: st.DataObject
) -> None:
    """Property: cut the last file at any byte (a copy interrupted, a disk full).

    Cut at a line end, the files read exactly as the export of the lines before
    the cut would (the oracle of that shorter model: nothing lost is invented);
    cut anywhere else -- inside a line, inside a UTF-16 character -- every rule
    of the target is ``error``, so a cut can never make a rule pass that the
    whole export fails by reading a partial line as a value.
    """
    unicode, last = model[-1]
    lines, states = write_lines(unicode, last, len(model) - 1)
    whole = encode(unicode, "\r\n".join(lines) + "\r\n")
    cut = data.draw(st.integers(0, len(whole) - 1), label="cut at byte")
    prefix = whole[:cut]
    body = prefix[2:] if unicode else prefix
    whole_chars = not unicode or (cut >= 2 and len(body) % 2 == 0)  # else cut inside the BOM or a character
    text = body.decode("utf-16-le" if unicode else "cp1252") if whole_chars else ""
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        names = [f"f{i}.reg" for i in range(len(model))]
        for i, (uni, file_ops) in enumerate(model[:-1]):
            (folder / names[i]).write_bytes(write_file(uni, file_ops, i))
        (folder / names[-1]).write_bytes(prefix)
        target, facts = collect(folder, names, checks)
        outcomes = [CT.collector.evaluate(rule, facts, EvalContext(RUN, target)) for rule in checks]
    if not text.endswith(("\r", "\n")):
        assert facts["error"] is not None and facts["error"].startswith(f"{names[-1]}:"), facts["error"]
        assert {o.status for o in outcomes} == {Status.ERROR}, [o.message for o in outcomes]
        return
    complete = text.replace("\r\n", "\n").replace("\r", "\n").count("\n")
    oracle = Oracle([*model[:-1], (unicode, states[complete - 1])])
    assert facts["error"] is None, facts["error"]
    for rule, outcome in zip(checks, outcomes, strict=True):
        assert outcome.status is oracle.judge(rule), (rule, outcome.message, complete)


MANIFEST = json.loads((GOLDEN / "manifest.json").read_text(encoding="utf-8"))


def _other_kind(data: Any) -> Any:
    return str(data) if isinstance(data, int) else ["x"] if isinstance(data, str) else 1


@pytest.mark.parametrize("name", sorted(MANIFEST))
def test_wine_exports_judge_as_their_manifest_says(tmp_path: Path, name: str) -> None:
    (tmp_path / name).write_bytes((GOLDEN / name).read_bytes())
    entry = MANIFEST[name]
    checks: list[dict[str, Any]] = []
    expected: list[Status] = []
    for key, value, type_, data in entry["values"]:
        checks += [
            {"key": key, "value": value, "type": type_, "equals": data},
            {"key": key, "value": value, "equals": data},
            {"key": key, "value": value, "not_equals": data},
            {"key": key, "value": value, "equals": _other_kind(data)},
            {"key": key, "value": value, "not_equals": _other_kind(data)},
            {"key": key, "value": value + "-absent", "when_missing": "pass"},
        ]
        expected += [Status.PASS, Status.PASS, Status.FAIL, Status.FAIL, Status.FAIL, Status.PASS]
    for key in entry["deleted_keys"]:
        checks.append({"key": key, "exists": False})
        expected.append(Status.PASS)
    outside = entry["export"].rsplit("\\", 1)[0] + r"\NotExported"
    checks.append({"key": outside, "exists": False})
    expected.append(Status.ERROR)
    outcomes = judge_all(tmp_path, [name], checks)
    assert [o.status for o in outcomes] == expected, [o.message for o in outcomes]
    assert all(has_proof(o.examined) for o in outcomes[:-1])
