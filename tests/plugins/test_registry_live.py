"""``registry: {live: true}``: reading the running machine's registry through ``winreg``.

The real ``winreg`` module exists only on Windows, and these tests run on
Linux, so the live reader is tested with an injected fake ``winreg`` module:
an in-memory registry that behaves like ``winreg`` does (``OpenKey`` raises
``FileNotFoundError`` for a missing key, ``QueryValueEx`` returns
``(data, type)`` with ints for DWORD/QWORD, str, list of str, bytes; ``""`` is
the default value; names are case-insensitive). On Linux, the collector itself
must answer ``live registry needs Windows`` for every rule.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Collection
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import pytest

from plugins.registry import facts as regfacts
from plugins.registry import live, register_check_types
from scanner.api import CollectRequest, EvalContext, RunContext, Status, Target

CT = register_check_types()[0]
RUN = RunContext(now=datetime(2026, 11, 26, tzinfo=UTC))
CLIENT = r"SYSTEM\CurrentControlSet\Control\SecurityProviders\SCHANNEL\Protocols\TLS 1.2\Client"
HKLM = 0x80000002


class FakeKey:
    def __init__(self, values: dict[str, tuple[Any, int]]) -> None:
        self.values = values
        self.closed = False

    def __enter__(self) -> FakeKey:
        return self

    def __exit__(self, *exc: object) -> None:
        self.closed = True


def fake_winreg(tree: dict[str, dict[str, tuple[Any, int]]], denied: Collection[str] = ()) -> Any:
    opened: list[FakeKey] = []

    def open_key(hive: int, sub: str, reserved: int, access: int) -> FakeKey:
        assert (hive, reserved, access) == (HKLM, 0, 0x20019)
        if sub.lower() in denied:
            raise PermissionError(13, "Access is denied")
        for name, values in tree.items():
            if name.lower() == sub.lower():
                key = FakeKey({k.lower(): v for k, v in values.items()})
                opened.append(key)
                return key
        raise FileNotFoundError(2, "The system cannot find the file specified")

    def query_value_ex(key: FakeKey, name: str) -> tuple[Any, int]:
        assert not key.closed
        if name.lower() not in key.values:
            raise FileNotFoundError(2, "The system cannot find the file specified")
        return key.values[name.lower()]

    return SimpleNamespace(HKEY_LOCAL_MACHINE=HKLM, HKEY_CURRENT_USER=0x80000001, KEY_READ=0x20019,
                           OpenKey=open_key, QueryValueEx=query_value_ex, opened=opened)


def needs(*checks: dict[str, Any]) -> regfacts.Needs:
    return regfacts.needs_of(checks)


def test_live_reader_reads_values_of_every_type_through_winreg() -> None:
    api = fake_winreg({
        CLIENT: {"Enabled": (1, 4), "DisabledByDefault": (-1 & 0xFFFFFFFF, 4), "": ("dflt", 1),
                 "Multi": (["a", "b"], 7), "Blob": (b"\xde\xad", 3), "Big": (2**40, 11), "None": (None, 0)},
    })
    key = "HKLM\\" + CLIENT
    got = live.read(needs(*({"key": key, "value": v} for v in
                            ("enabled", "DisabledByDefault", "@", "Multi", "Blob", "Big", "None", "Gone"))), api)
    assert got["source"] == "live" and got["error"] is None
    entry = got["keys"]["hkey_local_machine\\" + CLIENT.lower()]
    source = "live:HKEY_LOCAL_MACHINE\\" + CLIENT
    assert entry["source"] == source and entry["exists"] and entry["covered"]
    assert {vid: (v["name"], v["type"], v["data"]) for vid, v in entry["values"].items()} == {
        "enabled": ("enabled", "REG_DWORD", 1),
        "disabledbydefault": ("DisabledByDefault", "REG_DWORD", 0xFFFFFFFF),
        "": ("@", "REG_SZ", "dflt"),
        "multi": ("Multi", "REG_MULTI_SZ", ["a", "b"]),
        "blob": ("Blob", "REG_BINARY", "dead"),
        "big": ("Big", "REG_QWORD", 2**40),
        "none": ("None", "REG_NONE", ""),
    }
    assert all(v["source"] == source for v in entry["values"].values())
    assert api.opened and all(k.closed for k in api.opened)


def test_live_missing_and_denied_keys_become_facts_not_exceptions() -> None:
    api = fake_winreg({}, denied={r"software\secret"})
    got = live.read(needs({"key": r"HKLM\SOFTWARE\Absent"}, {"key": r"HKLM\SOFTWARE\Secret", "value": "x"}), api)
    absent = got["keys"][r"hkey_local_machine\software\absent"]
    assert (absent["exists"], absent["covered"], absent["values"]) == (False, True, {})
    secret = got["keys"][r"hkey_local_machine\software\secret"]
    assert secret["error"] == r"cannot open HKEY_LOCAL_MACHINE\SOFTWARE\Secret: Access is denied"


def test_live_facts_are_judged_like_file_facts() -> None:
    api = fake_winreg({CLIENT: {"Enabled": (0, 4)}}, denied={r"software\secret"})
    checks = [
        {"key": "HKLM\\" + CLIENT, "value": "Enabled", "type": "REG_DWORD", "equals": 1},
        {"key": "HKLM\\" + CLIENT, "value": "DisabledByDefault", "equals": 0},
        {"key": r"HKLM\SOFTWARE\Absent", "exists": False},
        {"key": r"HKLM\SOFTWARE\Secret", "value": "x", "when_missing": "pass"},
    ]
    facts = json.loads(json.dumps(live.read(regfacts.needs_of(checks), api)))
    ctx = EvalContext(run=RUN, target=Target("localhost"))
    got = [CT.collector.evaluate(c, facts, ctx) for c in checks]
    assert [(o.status, o.message) for o in got] == [
        (Status.FAIL, "Enabled is 0, expected 1"),
        (Status.FAIL, f"value DisabledByDefault is missing under HKLM\\{CLIENT}"),
        (Status.PASS, r"key HKLM\SOFTWARE\Absent is missing"),
        (Status.ERROR, r"cannot open HKEY_LOCAL_MACHINE\SOFTWARE\Secret: Access is denied"),
    ]
    assert got[0].evidence[0]["source"] == "live:HKEY_LOCAL_MACHINE\\" + CLIENT


@pytest.mark.skipif(sys.platform == "win32", reason="on Windows the real winreg is read")
def test_live_source_off_windows_is_an_error_for_every_rule() -> None:
    checks = [{"key": "HKLM\\" + CLIENT, "value": "Enabled", "equals": 1}, {"key": r"HKCU\Software"}]
    target = Target("localhost", sources={"registry": {"live": True}})
    [(name, facts)] = CT.collector.collect([CollectRequest(target, checks)], RUN)
    assert name == "localhost" and facts["error"] == "live registry needs Windows"
    ctx = EvalContext(run=RUN, target=target)
    outcomes = [CT.collector.evaluate(c, facts, ctx) for c in checks]
    assert [(o.status, o.message) for o in outcomes] == [(Status.ERROR, "live registry needs Windows")] * 2
    assert outcomes[0].evidence[0]["source"] == "live"
