"""Values of different kinds never compare equal, whatever the operator (SPEC 4.1).

SCHANNEL reads ``Enabled`` as a REG_DWORD and ignores a REG_SZ ``"1"``: a rule
``equals: 1`` that passed on it was a false pass on a server whose TLS setting
is not in effect. Every operator is checked against the same class: the kind of
the operand (number, string, list of strings) against the kind of the value
found (DWORD/QWORD, SZ/EXPAND_SZ, MULTI_SZ, binary as hex).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from test_registry_check import APP, scan, utf16

from scanner.api import Status

KINDS_REG = utf16(
    "Windows Registry Editor Version 5.00\n\n"
    f"[{APP}]\n"
    '"SzOne"="1"\n'
    '"SzZero"="0"\n'
    '"ExpandOne"=hex(2):31,00,00,00\n'
    '"DwOne"=dword:00000001\n'
    '"DwZero"=dword:00000000\n'
    '"QwOne"=hex(b):01,00,00,00,00,00,00,00\n'
    '"MultiOne"=hex(7):31,00,00,00,00,00\n'
    '"BinTen"=hex:10\n'
)

F, P, E = Status.FAIL, Status.PASS, Status.ERROR

CASES: list[tuple[dict[str, Any], Status, str]] = [
    # the finding: a REG_SZ "1" does not equal the number 1
    ({"value": "SzOne", "equals": 1}, F, 'SzOne is "1" (REG_SZ), expected 1 (REG_DWORD)'),
    ({"value": "ExpandOne", "equals": 1}, F, 'ExpandOne is "1" (REG_EXPAND_SZ), expected 1 (REG_DWORD)'),
    ({"value": "SzOne", "in": [1, 4294967295]}, F,
     'SzOne is "1" (REG_SZ), expected one of [1, 4294967295] (REG_DWORD)'),
    ({"value": "SzOne", "equals": 4294967296}, F, 'SzOne is "1" (REG_SZ), expected 4294967296 (REG_QWORD)'),
    # the safe reading: a value of another kind is not "anything but" the operand either
    ({"value": "SzZero", "not_equals": 0}, F, 'SzZero is "0" (REG_SZ), expected anything but 0 (REG_DWORD)'),
    ({"value": "SzOne", "not_equals": 0}, F, 'SzOne is "1" (REG_SZ), expected anything but 0 (REG_DWORD)'),
    ({"value": "SzZero", "not_in": [0]}, F, 'SzZero is "0" (REG_SZ), expected none of [0] (REG_DWORD)'),
    ({"value": "SzOne", "min": 1}, F, 'SzOne is "1" (REG_SZ), expected at least 1 (REG_DWORD)'),
    ({"value": "SzOne", "max": 1}, F, 'SzOne is "1" (REG_SZ), expected at most 1 (REG_DWORD)'),
    ({"value": "MultiOne", "min": 0}, F, 'MultiOne is ["1"] (REG_MULTI_SZ), expected at least 0 (REG_DWORD)'),
    # and the other way round: a number is not the string "1", whatever the rule's type
    ({"value": "DwOne", "equals": "1"}, F, 'DwOne is 1 (REG_DWORD), expected "1" (REG_SZ)'),
    ({"value": "DwOne", "type": "REG_DWORD", "equals": "1"}, F, 'DwOne is 1 (REG_DWORD), expected "1" (REG_SZ)'),
    ({"value": "QwOne", "in": ["1", "0x1"]}, F, 'QwOne is 1 (REG_QWORD), expected one of ["1", "0x1"] (REG_SZ)'),
    ({"value": "DwZero", "not_equals": "1"}, F, 'DwZero is 0 (REG_DWORD), expected anything but "1" (REG_SZ)'),
    # binary data is hex: a number is not its digits
    ({"value": "BinTen", "equals": 10}, F, 'BinTen is "10" (REG_BINARY, 1 byte), expected 10 (REG_DWORD)'),
    ({"value": "BinTen", "equals": "10"}, P, 'BinTen is "10" (required: "10")'),
    # lists and strings
    ({"value": "MultiOne", "equals": "1"}, F, 'MultiOne is ["1"] (REG_MULTI_SZ), expected "1" (REG_SZ)'),
    ({"value": "SzOne", "equals": ["1"]}, F, 'SzOne is "1" (REG_SZ), expected ["1"] (REG_MULTI_SZ)'),
    ({"value": "MultiOne", "equals": ["1"]}, P, 'MultiOne is ["1"] (required: ["1"])'),
    # a regex searches strings; the digits of a number only when the rule names its type
    ({"value": "DwOne", "matches": "^1$"}, F,
     'DwOne is 1 (REG_DWORD), expected a match for "^1$" (REG_SZ; add type: REG_DWORD to search its decimal digits)'),
    ({"value": "DwOne", "type": "REG_DWORD", "matches": "^1$"}, P, 'DwOne is 1 (required: a match for "^1$")'),
    ({"value": "BinTen", "matches": "^10$"}, F,
     'BinTen is "10" (REG_BINARY, 1 byte), expected a match for "^10$" (REG_SZ; add type: REG_BINARY to search '
     "its hex digits)"),
    ({"value": "SzOne", "matches": "^1$"}, P, 'SzOne is "1" (required: a match for "^1$")'),
    ({"value": "MultiOne", "matches": "^1$"}, P, 'MultiOne is ["1"] (required: a match for "^1$")'),
    # same kinds still compare, and mixed lists use the operands of the value's kind
    ({"value": "SzOne", "equals": "1"}, P, 'SzOne is "1" (required: "1")'),
    ({"value": "DwOne", "equals": 1}, P, "DwOne is 1 (required: 1)"),
    ({"value": "QwOne", "equals": 1}, P, "QwOne is 1 (required: 1)"),
    ({"value": "SzOne", "in": [1, "1"]}, P, 'SzOne is "1" (required: one of [1, "1"])'),
    ({"value": "SzZero", "not_in": [0, "1"]}, P, 'SzZero is "0" (required: none of [0, "1"])'),
    ({"value": "DwZero", "not_in": [0, "1"]}, F, 'DwZero is 0, expected none of [0, "1"]'),
    ({"value": "DwZero", "not_equals": 1}, P, "DwZero is 0 (required: anything but 1)"),
]


@pytest.mark.parametrize(("params", "status", "message"), CASES)
def test_operand_and_value_of_different_kinds_never_compare(
    tmp_path: Path, params: dict[str, Any], status: Status, message: str
) -> None:
    (outcome,) = scan(tmp_path, {"k.reg": KINDS_REG}, [{"key": APP, **params}])
    assert (outcome.status, outcome.message) == (status, message)
    assert outcome.examined is not None and outcome.examined["source"].startswith("k.reg:")


def test_the_seed_false_pass_enabled_as_a_string_fails(tmp_path: Path) -> None:
    """The reported case: no ``type`` in the rule, ``equals: 1``, ``"Enabled"="1"`` in the export."""
    tls12 = r"HKEY_LOCAL_MACHINE\SYSTEM\CurrentControlSet\Control\SecurityProviders\SCHANNEL\Protocols\TLS 1.2"
    data = utf16(f'Windows Registry Editor Version 5.00\n\n[{tls12}\\Client]\n"Enabled"="1"\n')
    (outcome,) = scan(tmp_path, {"x.reg": data}, [{"key": tls12 + r"\Client", "value": "Enabled", "equals": 1}])
    assert (outcome.status, outcome.message) == (Status.FAIL, 'Enabled is "1" (REG_SZ), expected 1 (REG_DWORD)')
    assert outcome.evidence[0]["type"] == "REG_SZ" and outcome.actual == "1"


@pytest.mark.parametrize(
    "params",
    [{"value": "DwOne", "equals": True}, {"value": "DwOne", "in": [1, None]}, {"value": "DwOne", "min": "1"}],
)
def test_operands_of_no_kind_are_errors_not_verdicts(tmp_path: Path, params: dict[str, Any]) -> None:
    """Parameters the schema would refuse (the loader validates first), seen only with hand-made facts."""
    from test_registry_check import CT, RUN

    from scanner.api import CollectRequest, EvalContext, Target

    (tmp_path / "k.reg").write_bytes(KINDS_REG)
    target = Target("t", sources={"registry": {"file": "k.reg"}}, base_dir=tmp_path)
    checks = [{"key": APP, **params}]
    [(_, facts)] = CT.collector.collect([CollectRequest(target, checks)], RUN)
    outcome = CT.collector.evaluate(checks[0], facts, EvalContext(RUN, target))
    assert outcome.status is Status.ERROR and outcome.examined is None
