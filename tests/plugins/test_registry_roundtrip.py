"""Property: whatever registry content regedit exports, the parser reads back the same values.

The writer below follows regedit's exporter (Wine/ReactOS ``regproc.c``, which
matches Windows): UTF-16LE with BOM and CRLF, ``\\r\\n[key]\\r\\n`` before each
key, ``\\\\`` and ``\\"`` escapes in names and strings, ``dword:%08x`` for
4-byte DWORDs, ``hex:``/``hex(%x):`` otherwise, folded after the comma that
brings the line to 77 characters or more with ``\\`` and a two-space indent.
It is checked against a real Wine export first, so the property is about
files regedit really writes.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from plugins.registry import keys as regkeys
from plugins.registry.regfile import Tree

GOLDEN = Path(__file__).resolve().parent.parent / "data" / "reg" / "golden"
TYPE_NUMBERS = {"REG_NONE": 0, "REG_SZ": 1, "REG_EXPAND_SZ": 2, "REG_BINARY": 3, "REG_DWORD": 4,
                "REG_DWORD_BIG_ENDIAN": 5, "REG_MULTI_SZ": 7, "REG_QWORD": 11}


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"')


def _hex(prefix: str, raw: bytes) -> str:
    """regproc.c export_hex_data: wrap once the line reaches MAX_HEX_CHARS (77)."""
    out = [prefix]
    line_len = len(prefix)
    for i, byte in enumerate(raw):
        out.append(f"{byte:02x}")
        if i == len(raw) - 1:
            break
        out.append(",")
        line_len += 3
        if line_len >= 77:
            out.append("\\\r\n  ")
            line_len = 2
    return "".join(out)


def export_value(name: str | None, type_: str, data: Any) -> str:
    head = "@=" if name is None else f'"{_escape(name)}"='
    if type_ == "REG_SZ":
        return f'{head}"{_escape(data)}"'
    if type_ == "REG_DWORD":
        return f"{head}dword:{data:08x}"
    number = TYPE_NUMBERS[type_]
    if type_ == "REG_EXPAND_SZ":
        raw = (data + "\0").encode("utf-16-le")
    elif type_ == "REG_MULTI_SZ":
        raw = "".join(s + "\0" for s in data).encode("utf-16-le") + b"\0\0"
    elif type_ == "REG_QWORD":
        raw = data.to_bytes(8, "little")
    elif type_ == "REG_DWORD_BIG_ENDIAN":
        raw = data.to_bytes(4, "big")
    else:
        raw = bytes.fromhex(data)
    return _hex(head + ("hex:" if number == 3 else f"hex({number:x}):"), raw)


def export(keys: dict[str, list[tuple[str | None, str, Any]]]) -> bytes:
    text = "Windows Registry Editor Version 5.00\r\n"
    for key, values in keys.items():
        text += f"\r\n[{key}]\r\n"
        for name, type_, data in values:
            text += export_value(name, type_, data) + "\r\n"
    return b"\xff\xfe" + (text + "\r\n").encode("utf-16-le")


def test_writer_reproduces_a_real_wine_export_byte_for_byte() -> None:
    types = r"HKEY_LOCAL_MACHINE\SOFTWARE\PolicyscanFixture\Types"
    data = export({
        r"HKEY_LOCAL_MACHINE\SOFTWARE\PolicyscanFixture": [],
        types: [
            (None, "REG_SZ", "default value"),
            ("AllOnes", "REG_DWORD", 0xFFFFFFFF),
            ("Binary", "REG_BINARY", "00ff102030405060708090a0b0c0d0e0f0112233445566778899aabbccddeeff0011223344"),
            ("Expand", "REG_EXPAND_SZ", "%SystemRoot%\\system32"),
            ("Multi", "REG_MULTI_SZ",
             ["TLS 1.2", "TLS 1.3", "a long third string that makes regedit fold the hex line over several lines"]),
            ('Quote"And\\Backslash', "REG_SZ", "name with a quote and a backslash"),
            ("Qword", "REG_QWORD", 4294967296),
            ("Text", "REG_SZ", 'C:\\Program Files\\"quoted" ñ 日本'),
        ],
        types + r"\Sub Key With Spaces": [("Empty", "REG_SZ", "")],
    })
    assert data == (GOLDEN / "value-types.reg").read_bytes()


# Key segments: spaces, '/', dots, unicode; no backslash (the path separator) and no control characters.
_segment = st.text(
    st.characters(blacklist_categories=("Cc", "Cs"), blacklist_characters="\\"), min_size=1, max_size=12
).filter(lambda s: s.strip() == s and s.strip())
_name = st.text(st.characters(blacklist_categories=("Cc", "Cs")), min_size=1, max_size=16).filter(lambda s: s != "@")
_string = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\0\r\n"), max_size=40)
_data = st.one_of(
    st.tuples(st.just("REG_SZ"), _string),
    st.tuples(st.just("REG_EXPAND_SZ"), _string),
    st.tuples(st.just("REG_MULTI_SZ"), st.lists(_string.filter(bool), max_size=4)),
    st.tuples(st.just("REG_DWORD"), st.integers(0, 2**32 - 1)),
    st.tuples(st.just("REG_DWORD_BIG_ENDIAN"), st.integers(0, 2**32 - 1)),
    st.tuples(st.just("REG_QWORD"), st.integers(0, 2**64 - 1)),
    st.tuples(st.just("REG_BINARY"), st.binary(max_size=80).map(bytes.hex)),
    st.tuples(st.just("REG_NONE"), st.binary(max_size=6).map(bytes.hex)),
)
_values = st.lists(st.tuples(st.one_of(st.none(), _name), _data), max_size=6, unique_by=lambda v: (v[0] or "@").lower())
_keys = st.dictionaries(
    st.lists(_segment, min_size=1, max_size=3).map(lambda parts: "HKEY_LOCAL_MACHINE\\SOFTWARE\\" + "\\".join(parts)),
    _values,
    min_size=1,
    max_size=4,
)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_keys)
def test_whatever_regedit_writes_reads_back_the_same(model: dict[str, list[Any]]) -> None:
    by_norm: dict[str, str] = {}
    for key in model:
        by_norm.setdefault(regkeys.normalise(key) or "", key)
    model = {key: model[key] for key in by_norm.values()}  # keys equal but for case are one key
    data = export({key: [(name, *td) for name, td in values] for key, values in model.items()})
    tree = Tree()
    tree.load(data, "gen.reg")
    want = {
        (regkeys.normalise(key), name or "@", type_, repr(value))
        for key, values in model.items()
        for name, (type_, value) in values
    }
    got = {(regkeys.normalise(key), name, type_, repr(value)) for key, name, type_, value in tree.walk()}
    assert got == want
    assert set(tree.keys) == set(by_norm)
