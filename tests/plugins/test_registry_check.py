"""The ``registry`` check type end to end: real .reg files -> collect -> JSON facts -> evaluate.

Every scan here writes real files, collects through the plugin's collector,
round-trips the facts through ``json.dumps``/``json.loads`` (as ``collect``
then ``scan --facts`` would) and evaluates each check from those facts alone.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator, FormatChecker

from plugins.registry import register_check_types
from scanner.api import CollectRequest, EvalContext, Outcome, RunContext, Status, Target

GOLDEN = Path(__file__).resolve().parent.parent / "data" / "reg" / "golden"
CT = register_check_types()[0]
RUN = RunContext(now=datetime(2026, 11, 26, tzinfo=UTC))
VALIDATOR = Draft202012Validator(CT.schema, format_checker=FormatChecker())
TLS = r"HKEY_LOCAL_MACHINE\SYSTEM\CurrentControlSet\Control\SecurityProviders\SCHANNEL\Protocols"
SHORT = r"HKLM\SYSTEM\CurrentControlSet\Control\SecurityProviders\SCHANNEL\Protocols"
APP = r"HKEY_LOCAL_MACHINE\SOFTWARE\Contoso\App"
EVIDENCE_FIELDS = {"source", "key", "value", "type", "operator", "required_type", "expected", "combinator"}


def utf16(text: str) -> bytes:
    return b"\xff\xfe" + text.replace("\n", "\r\n").encode("utf-16-le")


APP_REG = utf16(
    "Windows Registry Editor Version 5.00\n"
    "\n"
    f"[{APP}]\n"
    '"Enabled"=dword:00000001\n'
    '"Name"="Contoso"\n'
    '"Number"="1"\n'
    '"Multi"=hex(7):61,00,00,00,62,00,00,00,00,00\n'
    '"Blob"=hex:de,ad,be,ef\n'
    '"Big"=hex(b):00,00,00,00,01,00,00,00\n'
    '@="default"\n'
    "\n"
    f"[{APP}\\Empty]\n"
)


def scan(
    tmp_path: Path,
    files: dict[str, bytes],
    checks: list[dict[str, Any]],
    source: Any = None,
    combinator: str | None = None,
) -> list[Outcome]:
    """Write ``files``, collect for one target, round-trip the facts through JSON, evaluate every check."""
    for name, data in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(data)
    for params in checks:
        assert not list(VALIDATOR.iter_errors(params)), params  # the core validates before we see them
    setting = source if source is not None else {"file": next(iter(files))}
    target = Target("exch01", sources={"registry": setting}, base_dir=tmp_path)
    collected = list(CT.collector.collect([CollectRequest(target, checks)], RUN))
    assert [name for name, _ in collected] == ["exch01"]
    facts = json.loads(json.dumps(collected[0][1]))
    ctx = EvalContext(run=RUN, target=target, combinator=combinator)
    return [CT.collector.evaluate(params, facts, ctx) for params in checks]


def one(tmp_path: Path, params: dict[str, Any], files: dict[str, bytes] | None = None) -> Outcome:
    return scan(tmp_path, files or {"app.reg": APP_REG}, [params])[0]


# -- registration and schemas ------------------------------------------------------------


def test_check_type_is_registered_through_the_entry_point() -> None:
    from importlib.metadata import entry_points

    (ep,) = [ep for ep in entry_points(group="policyscan") if ep.name == "registry"]
    module = ep.load()
    (check_type,) = module.register_check_types()
    assert (check_type.name, check_type.source) == ("registry", "registry")
    assert {"key", "value", "type", "operator"} <= set(check_type.placeholders)


@pytest.mark.parametrize(
    "params",
    [
        {"key": SHORT, "value": "Enabled", "type": "REG_DWORD", "equals": 1, "when_missing": "skip"},
        {"key": TLS.lower()},
        {"key": "hkcu\\Software", "exists": False},
        {"key": "HKU\\S-1-5-18", "value": "@", "matches": "^C:\\\\"},
        {"key": "HKCC\\System", "value": "x", "in": [1, "0x2", ["a"]]},
    ],
)
def test_schema_accepts_valid_parameters(params: dict[str, Any]) -> None:
    assert not list(VALIDATOR.iter_errors(params))


@pytest.mark.parametrize(
    ("params", "why"),
    [
        ({"value": "Enabled"}, "'key' is a required property"),
        ({"key": APP, "value": "Enabled", "equals": 1, "min": 0}, "at most one operator"),
        ({"key": APP, "equals": 1}, "'value' is a dependency of 'equals'"),
        ({"key": APP, "type": "REG_DWORD"}, "'value' is a dependency of 'type'"),
        ({"key": APP, "value": "x", "type": "DWORD"}, "is not one of"),
        ({"key": APP, "when_missing": "ignore"}, "is not one of"),
        ({"key": APP, "valeu": "x"}, "Additional properties"),
        ({"key": "HKEY_NOWHERE\\X"}, "does not match"),
        ({"key": APP, "value": "x", "matches": "(unclosed"}, "is not a 'regex'"),
        ({"key": APP, "value": "x", "min": "5"}, "is not of type 'integer'"),
    ],
)
def test_schema_rejects_invalid_parameters(params: dict[str, Any], why: str) -> None:
    messages = [e.message for e in VALIDATOR.iter_errors(params)]
    assert any(why in m for m in messages), messages


def test_source_schema_accepts_file_files_or_live_only() -> None:
    v = Draft202012Validator(CT.source_schema)
    assert v.is_valid({"file": "exports/exch01.reg"})
    assert v.is_valid({"files": ["a.reg", "b.reg"]})
    assert v.is_valid({"live": True})
    for bad in ({}, {"file": ""}, {"files": []}, {"live": False}, {"file": "a", "live": True}, "a.reg"):
        assert not v.is_valid(bad), bad


# -- the seed article's state -------------------------------------------------------------


def test_seed_failure_export_fails_tls12_client_and_server(tmp_path: Path) -> None:
    client, server = scan(
        tmp_path,
        {"exports/exch01.reg": (GOLDEN / "schannel-seed-failure.reg").read_bytes()},
        [
            {"key": SHORT + r"\TLS 1.2\Client", "value": "DisabledByDefault", "type": "REG_DWORD", "equals": 0},
            {"key": SHORT + r"\TLS 1.2\Server", "value": "Enabled", "type": "REG_DWORD", "equals": 1},
        ],
    )
    assert client.status is Status.FAIL
    assert (client.actual, client.expected, client.message) == (1, 0, "DisabledByDefault is 1, expected 0")
    assert client.evidence[0]["source"] == "exports/exch01.reg:28"
    assert server.status is Status.FAIL and server.actual is None
    assert server.message == f"key {SHORT}\\TLS 1.2\\Server is missing"
    assert server.evidence[0]["source"] == "exports/exch01.reg:3"  # the exported branch: known absent
    assert server.evidence[0]["type"] is None


# -- operators ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("params", "status", "message"),
    [
        ({"value": "Enabled", "equals": 1}, Status.PASS, "Enabled is 1 (required: 1)"),
        ({"value": "Enabled", "equals": 0}, Status.FAIL, "Enabled is 1, expected 0"),
        ({"value": "Enabled", "equals": "0x1"}, Status.FAIL, 'Enabled is 1 (REG_DWORD), expected "0x1" (REG_SZ)'),
        ({"value": "Enabled", "equals": "one"}, Status.FAIL, 'Enabled is 1 (REG_DWORD), expected "one" (REG_SZ)'),
        ({"value": "Enabled", "not_equals": 0}, Status.PASS, "Enabled is 1 (required: anything but 0)"),
        ({"value": "Enabled", "not_equals": 1}, Status.FAIL, "Enabled is 1, expected anything but 1"),
        ({"value": "Enabled", "in": [0, 1]}, Status.PASS, "Enabled is 1 (required: one of [0, 1])"),
        ({"value": "Enabled", "in": [0, 2]}, Status.FAIL, "Enabled is 1, expected one of [0, 2]"),
        ({"value": "Enabled", "not_in": [0, 2]}, Status.PASS, "Enabled is 1 (required: none of [0, 2])"),
        ({"value": "Enabled", "not_in": [1]}, Status.FAIL, "Enabled is 1, expected none of [1]"),
        ({"value": "Enabled", "min": 1}, Status.PASS, "Enabled is 1 (required: at least 1)"),
        ({"value": "Enabled", "min": 2}, Status.FAIL, "Enabled is 1, expected at least 2"),
        ({"value": "Enabled", "max": 1}, Status.PASS, "Enabled is 1 (required: at most 1)"),
        ({"value": "Enabled", "max": 0}, Status.FAIL, "Enabled is 1, expected at most 0"),
        ({"value": "Big", "min": 4294967296}, Status.PASS, "Big is 4294967296 (required: at least 4294967296)"),
        ({"value": "Name", "min": 1}, Status.FAIL, 'Name is "Contoso" (REG_SZ), expected at least 1 (REG_DWORD)'),
        ({"value": "Name", "equals": "Contoso"}, Status.PASS, 'Name is "Contoso" (required: "Contoso")'),
        ({"value": "Name", "equals": "contoso"}, Status.FAIL, 'Name is "Contoso", expected "contoso"'),
        ({"value": "Number", "equals": 1}, Status.FAIL, 'Number is "1" (REG_SZ), expected 1 (REG_DWORD)'),
        ({"value": "Number", "equals": "1"}, Status.PASS, 'Number is "1" (required: "1")'),
        ({"value": "Name", "matches": "^Cont"}, Status.PASS, 'Name is "Contoso" (required: a match for "^Cont")'),
        ({"value": "Name", "matches": "^ont"}, Status.FAIL, 'Name is "Contoso", expected a match for "^ont"'),
        ({"value": "Enabled", "type": "REG_DWORD", "matches": "^[01]$"}, Status.PASS,
         'Enabled is 1 (required: a match for "^[01]$")'),
        ({"value": "Multi", "matches": "^b$"}, Status.PASS, 'Multi is ["a", "b"] (required: a match for "^b$")'),
        ({"value": "Multi", "equals": ["a", "b"]}, Status.PASS, 'Multi is ["a", "b"] (required: ["a", "b"])'),
        ({"value": "Multi", "equals": "a"}, Status.FAIL, 'Multi is ["a", "b"] (REG_MULTI_SZ), expected "a" (REG_SZ)'),
        ({"value": "Blob", "equals": "DE,AD,BE,EF"}, Status.PASS, 'Blob is "deadbeef" (required: "DE,AD,BE,EF")'),
        ({"value": "@", "equals": "default"}, Status.PASS, '@ is "default" (required: "default")'),
        ({"value": "Enabled", "exists": True}, Status.PASS, "Enabled exists (REG_DWORD 1)"),
        ({"value": "Enabled", "exists": False}, Status.FAIL, "Enabled exists (REG_DWORD 1), expected it to be absent"),
        ({"value": "Gone", "exists": False}, Status.PASS, f"value Gone is missing under {APP}, as required"),
        ({"value": "Gone", "exists": True}, Status.FAIL, f"value Gone is missing under {APP}"),
        ({"value": "Gone", "exists": True, "when_missing": "pass"}, Status.FAIL, f"value Gone is missing under {APP}"),
        ({"value": "Enabled"}, Status.PASS, "Enabled is 1"),
        ({}, Status.PASS, f"key {APP} exists"),
        ({"exists": False}, Status.FAIL, f"key {APP} exists, expected it to be absent"),
    ],
)
def test_operators(tmp_path: Path, params: dict[str, Any], status: Status, message: str) -> None:
    outcome = one(tmp_path, {"key": APP, **params})
    assert (outcome.status, outcome.message) == (status, message)
    op = next((k for k in params if k not in ("value", "when_missing", "type")), None)
    assert outcome.expected == params.get(op) if op else outcome.expected is None


def test_actual_is_the_value_in_its_compared_form(tmp_path: Path) -> None:
    checks = [{"key": APP, "value": v} for v in ("Enabled", "Name", "Multi", "Blob", "Big", "Gone")]
    got = [o.actual for o in scan(tmp_path, {"app.reg": APP_REG}, checks)]
    assert got == [1, "Contoso", ["a", "b"], "deadbeef", 4294967296, None]


@pytest.mark.parametrize(("mode", "status"), [("fail", Status.FAIL), ("pass", Status.PASS), ("skip", Status.SKIP)])
def test_when_missing_for_a_missing_value_and_a_missing_key(tmp_path: Path, mode: str, status: Status) -> None:
    value, key = scan(tmp_path, {"app.reg": APP_REG}, [
        {"key": APP, "value": "Gone", "equals": 1, "when_missing": mode},
        {"key": APP + r"\Nope", "value": "Enabled", "equals": 1, "when_missing": mode},
    ])
    suffix = "" if mode == "fail" else f" (when_missing: {mode})"
    assert (value.status, value.message) == (status, f"value Gone is missing under {APP}{suffix}")
    assert (key.status, key.message) == (status, f"key {APP}\\Nope is missing{suffix}")
    assert value.actual is None and key.actual is None
    assert value.evidence[0]["source"] == "app.reg:3" and key.evidence[0]["source"] == "app.reg:3"


def test_default_when_missing_is_fail_for_key_checks(tmp_path: Path) -> None:
    outcome = one(tmp_path, {"key": APP + r"\Nope"})
    assert (outcome.status, outcome.message) == (Status.FAIL, f"key {APP}\\Nope is missing")


def test_type_mismatch_fails_before_the_operator(tmp_path: Path) -> None:
    outcome = one(tmp_path, {"key": APP, "value": "Number", "type": "REG_DWORD", "equals": 1})
    assert (outcome.status, outcome.message) == (Status.FAIL, "Number: type is REG_SZ, expected REG_DWORD")
    assert outcome.evidence[0]["type"] == "REG_SZ" and outcome.evidence[0]["required_type"] == "REG_DWORD"
    assert outcome.fields["type"] == "REG_DWORD"
    good = one(tmp_path, {"key": APP, "value": "Big", "type": "REG_QWORD", "min": 1})
    assert good.status is Status.PASS
    exists = one(tmp_path, {"key": APP, "value": "Enabled", "type": "REG_SZ", "exists": True})
    assert (exists.status, exists.message) == (Status.FAIL, "Enabled: type is REG_DWORD, expected REG_SZ")
    absent = one(tmp_path, {"key": APP, "value": "Enabled", "type": "REG_SZ", "exists": False})
    assert absent.message == "Enabled exists (REG_DWORD 1), expected it to be absent"


# -- coverage ------------------------------------------------------------------------------


def test_keys_outside_the_exported_branch_are_errors_not_missing(tmp_path: Path) -> None:
    value, key, ancestor, ancestor_value, empty = scan(tmp_path, {"exports/app.reg": APP_REG}, [
        {"key": r"HKLM\SOFTWARE\Other", "value": "Enabled", "equals": 1, "when_missing": "pass"},
        {"key": r"HKLM\SOFTWARE\Other", "exists": False},
        {"key": r"HKLM\SOFTWARE\Contoso"},  # above the branch, but the branch proves it exists
        {"key": r"HKLM\SOFTWARE\Contoso", "value": "x", "exists": False},
        {"key": APP + r"\Empty", "value": "x", "when_missing": "skip"},
    ])
    message = (r'HKLM\SOFTWARE\Other is not covered by the export (exports/app.reg); export it on the host with: '
               r'reg export "HKLM\SOFTWARE\Other" software-other.reg /y (or the same for its parent, if the key '
               "does not exist) and add that file to the target's registry files")
    assert (value.status, value.message) == (Status.ERROR, message)
    assert (key.status, key.message) == (Status.ERROR, message)
    assert value.evidence[0]["source"] == "exports/app.reg"
    assert (ancestor.status, ancestor.message) == (Status.PASS, r"key HKLM\SOFTWARE\Contoso exists")
    assert ancestor_value.status is Status.ERROR and "not covered" in ancestor_value.message
    assert (empty.status, empty.evidence[0]["source"]) == (Status.SKIP, "exports/app.reg:12")


def test_implicit_parent_keys_exist_and_have_no_values(tmp_path: Path) -> None:
    data = f"REGEDIT4\n\n[{APP}]\n\n[{APP}\\A\\B\\C]\n\"v\"=dword:1\n".encode()
    parent, value = scan(tmp_path, {"a.reg": data}, [
        {"key": APP + r"\A\B"}, {"key": APP + r"\A\B", "value": "v", "equals": 1}])
    assert parent.status is Status.PASS
    assert (value.status, value.message) == (Status.FAIL, f"value v is missing under {APP}\\A\\B")


# -- broken and unreadable sources ----------------------------------------------------------


def test_malformed_line_makes_every_registry_rule_of_the_target_error(tmp_path: Path) -> None:
    broken = APP_REG + utf16('"Bad"=hex:0g\n')[2:]
    outcomes = scan(tmp_path, {"exports/app.reg": broken}, [
        {"key": APP, "value": "Enabled", "equals": 1},
        {"key": APP},
        {"key": r"HKLM\SOFTWARE\Other", "when_missing": "pass"},
    ])
    assert {o.status for o in outcomes} == {Status.ERROR}
    for o in outcomes:
        assert o.message.startswith("exports/app.reg:13: bad hex data"), o.message
        assert o.evidence[0]["source"] == "exports/app.reg:13"


def test_unreadable_file_is_an_error_naming_the_path(tmp_path: Path) -> None:
    (tmp_path / "present.reg").write_bytes(APP_REG)
    (outcome,) = scan(tmp_path, {"present.reg": APP_REG}, [{"key": APP}],
                      source={"files": ["present.reg", "missing/exch02.reg"]})
    assert outcome.status is Status.ERROR
    assert outcome.message.startswith("cannot read missing/exch02.reg: ")
    assert outcome.evidence[0]["source"] == "missing/exch02.reg"


# -- merging, case, evidence, facts ---------------------------------------------------------


def test_merged_files_apply_deletions_in_order(tmp_path: Path) -> None:
    base = (GOLDEN / "schannel-seed-failure.reg").read_bytes()
    fix = (
        "Windows Registry Editor Version 5.00\n\n"
        f"[-{TLS}\\TLS 1.0]\n\n"
        f"[{TLS}\\TLS 1.2\\Client]\n"
        '"DisabledByDefault"=dword:00000000\n'
        '"Enabled"=-\n'
    ).encode()
    tls10, client, enabled, tls11 = scan(tmp_path, {"base.reg": base, "fix.reg": fix}, [
        {"key": SHORT + r"\TLS 1.0\Server", "exists": False},
        {"key": SHORT + r"\TLS 1.2\Client", "value": "DisabledByDefault", "equals": 0},
        {"key": SHORT + r"\TLS 1.2\Client", "value": "Enabled", "exists": False},
        {"key": SHORT + r"\TLS 1.1\Server", "value": "Enabled", "equals": 1},
    ], source={"files": ["base.reg", "fix.reg"]})
    assert (tls10.status, tls10.evidence[0]["source"]) == (Status.PASS, "fix.reg:3")
    assert (client.status, client.evidence[0]["source"]) == (Status.PASS, "fix.reg:6")
    assert (enabled.status, enabled.evidence[0]["source"]) == (Status.PASS, "fix.reg:5")
    assert (tls11.status, tls11.evidence[0]["source"]) == (Status.PASS, "base.reg:23")


def test_key_paths_and_value_names_are_case_insensitive(tmp_path: Path) -> None:
    outcomes = scan(tmp_path, {"app.reg": APP_REG}, [
        {"key": r"hklm\software\CONTOSO\app", "value": "ENABLED", "equals": 1},
        {"key": r"HKEY_LOCAL_MACHINE\Software\Contoso\App\\", "value": "enabled", "equals": 1},
        {"key": r"HKLM\SOFTWARE\Contoso\App", "value": "name", "equals": "Contoso"},
    ])
    assert [o.status for o in outcomes] == [Status.PASS] * 3
    assert outcomes[0].evidence[0]["key"] == r"HKEY_LOCAL_MACHINE\software\CONTOSO\app"
    assert outcomes[0].evidence[0]["source"] == "app.reg:4"


def test_evidence_carries_exactly_what_a_fix_needs(tmp_path: Path) -> None:
    files = {"exports/exch01.reg": (GOLDEN / "schannel-seed-failure.reg").read_bytes()}
    params = {"key": SHORT + r"\TLS 1.2\Client", "value": "Enabled", "type": "REG_DWORD", "equals": 1}
    (outcome,) = scan(tmp_path, files, [params], combinator="all")
    assert outcome.status is Status.FAIL
    assert list(outcome.evidence) == [{
        "source": "exports/exch01.reg:29",
        "key": TLS + r"\TLS 1.2\Client",
        "value": "Enabled",
        "type": "REG_DWORD",
        "operator": "equals",
        "required_type": "REG_DWORD",
        "expected": 1,
        "combinator": "all",
    }]
    assert dict(outcome.fields) == {
        "key": TLS + r"\TLS 1.2\Client", "value": "Enabled", "type": "REG_DWORD", "operator": "equals"}
    (missing,) = scan(tmp_path, files, [{"key": SHORT + r"\TLS 1.2\Server", "value": "Enabled"}])
    assert set(missing.evidence[0]) == EVIDENCE_FIELDS
    assert missing.evidence[0]["combinator"] is None and missing.evidence[0]["operator"] is None


def test_facts_are_small_plain_json_and_judge_the_same_after_a_round_trip(tmp_path: Path) -> None:
    (tmp_path / "app.reg").write_bytes(APP_REG)
    checks = [
        {"key": APP, "value": "Enabled", "equals": 1},
        {"key": APP.lower(), "value": "multi", "matches": "a"},
        {"key": APP + r"\Nope", "value": "x"},
        {"key": r"HKLM\SOFTWARE\Other"},
    ]
    target = Target("t", sources={"registry": {"file": "app.reg"}}, base_dir=tmp_path)
    [(_, facts)] = CT.collector.collect([CollectRequest(target, checks)], RUN)
    text = json.dumps(facts, sort_keys=True)
    assert json.loads(text) == facts
    assert facts["keys"] == {
        APP.lower(): {"covered": True, "exists": True, "source": "app.reg:3", "branch": None, "values": {
            "enabled": {"name": "Enabled", "type": "REG_DWORD", "data": 1, "source": "app.reg:4"},
            "multi": {"name": "Multi", "type": "REG_MULTI_SZ", "data": ["a", "b"], "source": "app.reg:7"},
        }},
        APP.lower() + r"\nope": {"covered": True, "exists": False, "source": "app.reg:3", "values": {},
                                 "branch": {"key": APP, "source": "app.reg:3"}},
        r"hkey_local_machine\software\other": {"covered": False, "exists": False, "source": "app.reg",
                                               "branch": None, "values": {}},
    }
    ctx = EvalContext(run=RUN, target=target)
    for params in checks:
        assert CT.collector.evaluate(params, facts, ctx) == CT.collector.evaluate(params, json.loads(text), ctx)


def test_one_batch_yields_every_target_once(tmp_path: Path) -> None:
    (tmp_path / "a.reg").write_bytes(APP_REG)
    targets = [Target(f"h{i}", sources={"registry": {"file": "a.reg" if i else "nope.reg"}}, base_dir=tmp_path)
               for i in range(3)]
    got = dict(CT.collector.collect([CollectRequest(t, [{"key": APP}]) for t in targets], RUN))
    assert list(got) == ["h0", "h1", "h2"]
    assert got["h0"]["error"].startswith("cannot read nope.reg") and got["h1"]["error"] is None


def test_facts_missing_a_key_are_an_error_not_a_pass(tmp_path: Path) -> None:
    facts = {"source": "files", "files": ["a.reg"], "error": None, "keys": {}}
    ctx = EvalContext(run=RUN, target=Target("t"))
    outcome = CT.collector.evaluate({"key": APP, "value": "x", "when_missing": "pass"}, facts, ctx)
    assert outcome.status is Status.ERROR and "no facts were collected" in outcome.message


def test_remembered_verdicts_match_fresh_judgement(tmp_path: Path) -> None:
    """A check judges each (type, data) it has seen once, for every later target: the outcomes
    must be exactly those of judging afresh, whatever the order the values come in."""
    import copy

    datas = ["dword:00000001", "dword:00000000", "dword:00000005", '"1"', '"01"', "hex(b):01,00,00,00,00,00,00,00",
             "hex(7):31,00,00,00,00,00", None]
    targets = []
    for i, data in enumerate(datas * 2):
        body = f"[{APP}]\n" + (f'"Enabled"={data}\n' if data is not None else "")
        (tmp_path / f"t{i}.reg").write_bytes(utf16("Windows Registry Editor Version 5.00\n\n" + body))
        targets.append(Target(f"t{i}", sources={"registry": {"file": f"t{i}.reg"}}, base_dir=tmp_path))
    checks = [
        {"key": APP, "value": "Enabled", "type": "REG_DWORD", "equals": 1},
        {"key": APP, "value": "Enabled", "in": [1, "0x5"]},
        {"key": APP, "value": "Enabled", "min": 1, "when_missing": "skip"},
        {"key": APP, "value": "Enabled", "matches": "^0?1$"},
        {"key": APP, "value": "Enabled", "not_equals": 0, "when_missing": "pass"},
    ]
    facts = dict(CT.collector.collect([CollectRequest(t, checks) for t in targets], RUN))
    for params in checks:
        remembered = [CT.collector.evaluate(params, facts[t.name], EvalContext(RUN, t)) for t in targets]
        fresh = [CT.collector.evaluate(copy.deepcopy(params), facts[t.name], EvalContext(RUN, t)) for t in targets]
        assert remembered == fresh
        assert {o.evidence[0]["source"].split(":")[0] for o in remembered} == {f"t{i}.reg" for i in range(16)}


def test_an_export_cut_inside_a_line_makes_the_targets_rules_error_not_pass(tmp_path: Path) -> None:
    """The reported false pass: ``"Enabled"=dword:0000000`` at the end of a cut copy read as 0."""
    tls10 = r"HKEY_LOCAL_MACHINE\SYSTEM\CurrentControlSet\Control\SecurityProviders\SCHANNEL\Protocols\TLS 1.0"
    cut = utf16(f'Windows Registry Editor Version 5.00\n\n[{tls10}]\n\n[{tls10}\\Server]\n'
                '"DisabledByDefault"=dword:00000001\n"Enabled"=dword:0000000')
    outcomes = scan(tmp_path, {"cut.reg": cut}, [
        {"key": tls10 + r"\Server", "value": "Enabled", "equals": 0},
        {"key": tls10 + r"\Server", "value": "Gone", "exists": False},
        {"key": tls10 + r"\Client", "when_missing": "pass"},
    ])
    assert [o.status for o in outcomes] == [Status.ERROR] * 3
    for o in outcomes:
        assert o.message == "cut.reg:7: file ends inside a line ('\"Enabled\"=dword:0000000' has no line break): " \
                            "the export is cut short", o.message
        assert o.evidence[0]["source"] == "cut.reg:7"
