"""``collect --out`` / ``scan --facts`` refuse what they cannot trust, and say where results come from.

* a facts path that is not a regular file or a pipe (``/dev/zero``, a folder) is refused unread;
  a line longer than :data:`~scanner.facts_file.MAX_LINE` is refused after reading at most that much;
* a key twice in one object of a facts line is refused (``FILE:LINE``), never "the last one wins";
* registry value data must have the shape of its type (facts schema);
* ``collect --out -`` writes the JSON Lines to stdout; a folder as ``--out`` names ``--out``;
* ``scan --facts`` given twice is a usage error;
* every report judged from facts says so (JSON ``facts``, console, Markdown, HTML, SARIF).
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
from pathlib import Path

import pytest

from plugins.registry.facts_schema import FACTS_SCHEMA
from scanner import facts_file
from scanner.facts_file import FactsFileError, _duplicate_key, _lines, _schema_problem
from tests.conftest import POLICIES, ROOT, run_cli

NOW = "2026-11-26T10:00:00Z"


@pytest.fixture(scope="module")
def collected(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[str]]:
    """A facts file of the examples (registry and logs), and the --policy arguments that judge it."""
    where = tmp_path_factory.mktemp("facts")
    pol = where / "policies"
    shutil.copytree(POLICIES, pol)
    examples = where / "examples"
    shutil.copytree(ROOT / "examples", examples, ignore=shutil.ignore_patterns("plugin-file-contains"))
    facts = where / "facts.jsonl"
    out = run_cli("collect", "--policy", str(pol), "--inventory", str(examples / "inventory.yaml"),
                  "--out", str(facts), "--now", NOW)
    assert out.returncode == 0, out.stderr
    return facts, ["--policy", str(pol)]


def _scan(facts: Path | str, policy: list[str], *more: str):
    return run_cli("scan", *policy, "--facts", str(facts), *more)


def _edited(facts: Path, tmp_path: Path, edit) -> tuple[Path, int]:
    """A copy of ``facts`` whose first registry line with a REG_DWORD value went through ``edit`` (bytes)."""
    lines = facts.read_bytes().split(b"\n")
    for i, line in enumerate(lines):
        if b'"type":"REG_DWORD","data":' in line:
            lines[i] = edit(line)
            out = tmp_path / "edited.jsonl"
            out.write_bytes(b"\n".join(lines))
            return out, i + 1
    raise AssertionError("no REG_DWORD value in the facts")


# ---------------------------------------------------------------- 1. bounded reading


@pytest.mark.skipif(not os.path.exists("/dev/zero"), reason="needs /dev/zero")
def test_a_device_or_a_folder_is_refused_before_reading(collected, tmp_path):
    _, policy = collected
    out = run_cli("scan", *policy, "--facts", "/dev/zero", timeout=20)  # was: memory without bound
    assert out.returncode == 2
    assert "--facts /dev/zero: not a regular file or a pipe (a character device)" in out.stderr
    out = _scan(tmp_path, policy)
    assert out.returncode == 2
    assert f"--facts {tmp_path}: not a regular file or a pipe (a directory)" in out.stderr


def test_a_line_longer_than_the_limit_is_refused_after_reading_at_most_the_limit():
    read = []

    class Counting(io.BytesIO):
        def readline(self, size: int | None = -1) -> bytes:
            data = super().readline(size)
            read.append(len(data))
            return data

    def fail(line: int, message: str) -> FactsFileError:
        return FactsFileError("f.jsonl", line, message)

    ok = list(_lines(Counting(b"a\n" + b"b" * 99 + b"\n"), fail, limit=100))
    assert ok == [b"a\n", b"b" * 99 + b"\n"]
    read.clear()
    with pytest.raises(FactsFileError) as err:
        list(_lines(Counting(b"a\n" + b"x" * 10_000), fail, limit=100))
    assert str(err.value) == "f.jsonl:2: line longer than 100 bytes (the limit of a facts line): refused unread"
    assert max(read) == 101
    assert facts_file.MAX_LINE == 64 << 20


def test_scan_refuses_a_line_over_64_mib(collected, tmp_path):
    facts, policy = collected
    big = tmp_path / "big.jsonl"
    with big.open("wb") as f:
        f.write(facts.read_bytes().split(b"\n")[0] + b"\n")
        f.write(b" " * (facts_file.MAX_LINE + 10))  # one line, no newline
    out = _scan(big, policy)
    assert out.returncode == 2
    assert f"{big}:2: line longer than 67,108,864 bytes" in out.stderr


# ---------------------------------------------------------------- 3. duplicate keys


def test_a_key_twice_in_a_facts_line_is_refused(collected, tmp_path):
    facts, policy = collected
    marker = b'"type":"REG_DWORD","data":'
    edited, line = _edited(facts, tmp_path, lambda b: b.replace(marker, marker + b'0,"data":', 1))
    out = _scan(edited, policy)
    assert out.returncode == 2
    assert f"{edited}:{line}: key 'data' appears twice in one object" in out.stderr


def test_a_key_twice_in_the_header_is_refused(collected, tmp_path):
    facts, policy = collected
    lines = facts.read_bytes().split(b"\n")
    lines[0] = lines[0].replace(b'"collected_at":', b'"collected_at":"2020-01-01T00:00:00+00:00","collected_at":', 1)
    edited = tmp_path / "header.jsonl"
    edited.write_bytes(b"\n".join(lines))
    out = _scan(edited, policy)
    assert out.returncode == 2
    assert f"{edited}:1: key 'collected_at' appears twice" in out.stderr


def test_duplicate_check_is_exact_for_lines_written_otherwise():
    import orjson

    for text, twice in [
        (b'{"a": 1, "b": {"c": 2}}\n', None),  # not orjson's spacing: checked key by key, nothing twice
        (b'{"a":1,"b":{"c":2,"c":3}}\n', "c"),
        (b'{"a":"x\\":","a" :2}\n', "a"),
        (b'{"a":[{"k":1},{"k":2}]}\n', None),  # the same key in two objects is fine
    ]:
        assert _duplicate_key(text, orjson.loads(text)) == twice, text


def test_a_line_policyscan_wrote_but_spaced_differently_is_still_read(collected, tmp_path):
    facts, policy = collected
    edited, _ = _edited(facts, tmp_path, lambda b: b.replace(b'":', b'" :'))
    out = _scan(edited, policy, "--report", "json=-")
    assert out.returncode in (0, 1), out.stderr


# ---------------------------------------------------------------- 4. registry value data by type


@pytest.mark.parametrize(("type_", "data", "good"), [
    ("REG_DWORD", 1, True), ("REG_DWORD", 0xFFFFFFFF, True), ("REG_DWORD", 1 << 32, False), ("REG_DWORD", -1, False),
    ("REG_DWORD", "1", False), ("REG_DWORD", True, False), ("REG_DWORD", "0102", True),  # 2 bytes: kept as hex
    ("REG_DWORD", "01020304", False),  # 4 bytes are an integer, never hex
    ("REG_DWORD_BIG_ENDIAN", 7, True),
    ("REG_QWORD", (1 << 64) - 1, True), ("REG_QWORD", 1 << 64, False), ("REG_QWORD", "0102030405060708", False),
    ("REG_SZ", "on", True), ("REG_SZ", 1, False), ("REG_EXPAND_SZ", ["a"], False),
    ("REG_MULTI_SZ", ["a", "b"], True), ("REG_MULTI_SZ", "a", False), ("REG_MULTI_SZ", [1], False),
    ("REG_BINARY", "00ff", True), ("REG_BINARY", "0", False), ("REG_BINARY", "ZZ", False), ("REG_BINARY", 1, False),
    ("REG_NONE", "", True), ("REG_UNKNOWN_99", "ab", True), ("reg_sz", "x", False),
])
def test_registry_value_data_must_match_its_type(type_, data, good):
    facts = {"source": "files", "files": ["a.reg"], "error": None, "keys": {"k": {
        "covered": True, "exists": True, "source": "a.reg:1", "branch": None,
        "values": {"v": {"name": "V", "type": type_, "data": data, "source": "a.reg:2"}}}}}
    assert (_schema_problem(FACTS_SCHEMA, facts) is None) is good


def test_scan_refuses_a_string_as_dword_data(collected, tmp_path):
    facts, policy = collected
    marker = b'"type":"REG_DWORD","data":'
    edited, line = _edited(facts, tmp_path, lambda b: b.replace(marker + b"1,", marker + b'"1",', 1))
    out = _scan(edited, policy)
    assert out.returncode == 2
    assert f"{edited}:{line}: registry facts for" in out.stderr and "do not match" in out.stderr


# ---------------------------------------------------------------- 5. collect --out


def test_collect_out_dash_writes_to_stdout(collected, tmp_path):
    facts, policy = collected
    examples = facts.parent / "examples"
    out = run_cli("collect", *policy, "--inventory", str(examples / "inventory.yaml"), "--out", "-", "--now", NOW,
                  cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert not (tmp_path / "-").exists()
    assert "into stdout" in out.stderr
    assert out.stdout == facts.read_text(encoding="utf-8")


def test_collect_out_folder_names_out(collected, tmp_path):
    facts, policy = collected
    out = run_cli("collect", *policy, "--inventory", str(facts.parent / "examples" / "inventory.yaml"),
                  "--out", str(tmp_path))
    assert out.returncode == 2
    assert f"--out {tmp_path}: " in out.stderr and "--report" not in out.stderr


# ---------------------------------------------------------------- 6. --facts once


def test_facts_given_twice_is_a_usage_error(collected):
    facts, policy = collected
    out = run_cli("scan", *policy, "--facts", str(facts), "--facts", str(facts))
    assert out.returncode == 2
    assert "--facts given 2 times" in out.stderr


# ---------------------------------------------------------------- 2. reports say they come from facts


def test_every_report_says_it_was_judged_from_facts(collected, tmp_path):
    facts, policy = collected
    out = _scan(facts, policy, "--report", f"json={tmp_path / 'r.json'}", "--report", f"sarif={tmp_path / 'r.sarif'}",
                "--report", f"markdown={tmp_path / 'r.md'}", "--report", f"html={tmp_path / 'r.html'}",
                "--report", "console")
    assert out.returncode in (0, 1), out.stderr
    doc = json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))
    header = json.loads(facts.read_text(encoding="utf-8").splitlines()[0])
    assert doc["facts"] == {"file": str(facts), "sha256": hashlib.sha256(facts.read_bytes()).hexdigest(),
                            "collected_at": NOW, "tool": header["tool"], "sources": header["sources"]}
    from scanner.validation import validator

    schema = json.loads((ROOT / "scanner" / "schemas" / "report.schema.json").read_text(encoding="utf-8"))
    assert not list(validator(schema).iter_errors(doc))
    assert f"judged from facts {facts} collected at {NOW}" in out.stdout
    sarif = json.loads((tmp_path / "r.sarif").read_text(encoding="utf-8"))
    said = sarif["runs"][0]["properties"]["policyscan"]["facts"]
    assert said["file"] == str(facts) and said["collected_at"] == NOW and said["sha256"] == doc["facts"]["sha256"]
    md = (tmp_path / "r.md").read_text(encoding="utf-8").splitlines()
    assert md[0].startswith("## ") and "judged from facts" in md[2] and NOW in md[2]
    html = (tmp_path / "r.html").read_text(encoding="utf-8")
    assert "Judged from facts" in html and doc["facts"]["sha256"] in html


def test_a_live_report_has_null_facts_and_no_facts_line(tmp_path):
    out = run_cli("scan", "--policy", str(POLICIES), "--inventory", str(ROOT / "examples" / "inventory.yaml"),
                  "--report", f"json={tmp_path / 'r.json'}", "--report", "console", "--now", NOW)
    assert out.returncode in (0, 1), out.stderr
    assert json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))["facts"] is None
    assert "judged from facts" not in out.stdout


def test_the_facts_line_is_translated(collected):
    facts, policy = collected
    out = _scan(facts, policy, "--lang", "es")
    assert out.returncode in (0, 1), out.stderr
    assert f"evaluado a partir de los hechos {facts} recopilados el {NOW}" in out.stdout
