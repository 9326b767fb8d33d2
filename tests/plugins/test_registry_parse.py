"""The .reg parser (plugins/registry/regfile.py) on real regedit exports and byte-exact files.

The golden files in tests/data/reg/golden were written by Wine's ``regedit /e``
(see the README there); every other file here is written byte by byte by the
test, so encodings, line ends and folding are exactly what is asserted.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from plugins.registry import keys as regkeys
from plugins.registry.regfile import RegFileError, Tree

GOLDEN = Path(__file__).resolve().parent.parent / "data" / "reg" / "golden"
MANIFEST = json.loads((GOLDEN / "manifest.json").read_text(encoding="utf-8"))
TLS = r"HKEY_LOCAL_MACHINE\SYSTEM\CurrentControlSet\Control\SecurityProviders\SCHANNEL\Protocols"


def utf16(text: str) -> bytes:
    """A 5.00 export as regedit writes it: BOM, UTF-16LE, CRLF."""
    return b"\xff\xfe" + text.replace("\n", "\r\n").encode("utf-16-le")


def parse(*files: tuple[str, bytes]) -> Tree:
    tree = Tree()
    for name, data in files:
        tree.load(data, name)
    return tree


def values(tree: Tree) -> dict[tuple[str, str], tuple[str, object]]:
    return {(key.lower(), name): (type_, data) for key, name, type_, data in tree.walk()}


@pytest.mark.parametrize("name", sorted(MANIFEST))
def test_golden_exports_match_the_manifest_exactly(name: str) -> None:
    data = (GOLDEN / name).read_bytes()
    assert data[:2] == b"\xff\xfe"  # the fixtures really are UTF-16LE with BOM
    tree = parse((name, data))
    got = sorted(json.dumps(list(v)) for v in tree.walk())
    want = sorted(json.dumps(v) for v in MANIFEST[name]["values"])
    assert got == want
    assert list(tree.files[0].branches) == [regkeys.normalise(MANIFEST[name]["export"])]
    assert tree.files[0].branches[regkeys.normalise(MANIFEST[name]["export"])] == 3
    for deleted in MANIFEST[name]["deleted_keys"]:
        assert regkeys.normalise(deleted) not in tree.keys


def test_golden_folded_hex_lines_are_joined() -> None:
    tree = parse(("v.reg", (GOLDEN / "value-types.reg").read_bytes()))
    got = values(tree)
    key = r"hkey_local_machine\software\policyscanfixture\types"
    assert got[(key, "Multi")][1][2].startswith("a long third string")
    assert got[(key, "Quote\"And\\Backslash")] == ("REG_SZ", "name with a quote and a backslash")
    source = tree.keys[key].values["multi"]
    assert source[2] == 12  # the line where the folded value starts


FOLDED = utf16(
    "Windows Registry Editor Version 5.00\n"
    "\n"
    "[HKEY_LOCAL_MACHINE\\SOFTWARE\\Contoso\\Key With Spaces/And Slash]\n"
    '@="default value"\n'
    '"Path"="C:\\\\Program Files\\\\Contoso"\n'
    '"Quote"="say \\"hi\\""\n'
    '"Esc\\"aped\\\\Name"=dword:0000000a\n'
    '"Expand"=hex(2):25,00,53,00,79,00,73,00,74,00,65,00,6d,00,52,00,6f,00,6f,00,74,00,\\\n'
    "  25,00,00,00\n"
    '"Multi"=hex(7):61,00,00,00,62,00,\\\n'
    "\n"
    "  ; a comment inside the run\n"
    "  00,00,00,00\n"
    '"Big"=hex(b):00,00,00,00,01,00,00,00\n'
    '"BigEndian"=hex(5):00,00,01,02\n'
    '"Blob"=hex:DE,AD,be,ef\n'
    '"Nothing"=hex(0):\n'
    '"EmptyDword"=hex(4):\n'
    '"DwordHex"=hex(4):01,00,00,00\n'
    '"AllOnes"=dword:ffffffff\n'
    '"Short"=dword:1 ; a comment after a value\n'
    '"Gone"="soon"\n'
    '"Gone"=-\n'
    '"Spaced" = "around equals"\n'
    '"Unicode ñ 日本"="texte accentué €"\n'
    '"Semicolon"="a;b"\n'
)


def test_utf16_export_with_folding_escapes_and_every_type() -> None:
    tree = parse(("f.reg", FOLDED))
    key = r"hkey_local_machine\software\contoso\key with spaces/and slash"
    got = {name: td for (k, name), td in values(tree).items() if k == key}
    assert got == {
        "@": ("REG_SZ", "default value"),
        "Path": ("REG_SZ", "C:\\Program Files\\Contoso"),
        "Quote": ("REG_SZ", 'say "hi"'),
        'Esc"aped\\Name': ("REG_DWORD", 10),
        "Expand": ("REG_EXPAND_SZ", "%SystemRoot%"),
        "Multi": ("REG_MULTI_SZ", ["a", "b"]),
        "Big": ("REG_QWORD", 4294967296),
        "BigEndian": ("REG_DWORD_BIG_ENDIAN", 258),
        "Blob": ("REG_BINARY", "deadbeef"),
        "Nothing": ("REG_NONE", ""),
        "EmptyDword": ("REG_DWORD", ""),
        "DwordHex": ("REG_DWORD", 1),
        "AllOnes": ("REG_DWORD", 4294967295),
        "Short": ("REG_DWORD", 1),
        "Spaced": ("REG_SZ", "around equals"),
        "Unicode ñ 日本": ("REG_SZ", "texte accentué €"),
        "Semicolon": ("REG_SZ", "a;b"),
    }
    k = tree.keys[key]
    assert k.display == "HKEY_LOCAL_MACHINE\\SOFTWARE\\Contoso\\Key With Spaces/And Slash"
    assert (k.file, k.line) == (0, 3)
    assert k.values["multi"][2] == 10 and k.values["big"][2] == 14
    assert k.values[""][2] == 4


def test_regedit4_is_ansi_with_single_byte_hex_strings() -> None:
    text = (
        b"REGEDIT4\r\n\r\n"
        b"[HKEY_CURRENT_USER\\Software\\Caf\xe9]\r\n"
        b'"Name \x80"="na\xefve"\r\n'
        b'"Expand"=hex(2):25,54,45,4d,50,25,5c,e9,00\r\n'
        b'"Multi"=hex(7):6f,6e,65,00,74,77,6f,00,00\r\n'
    )
    tree = parse(("old.reg", text))
    key = "hkey_current_user\\software\\café"
    assert values(tree) == {
        (key, "Name €"): ("REG_SZ", "naïve"),
        (key, "Expand"): ("REG_EXPAND_SZ", "%TEMP%\\é"),
        (key, "Multi"): ("REG_MULTI_SZ", ["one", "two"]),
    }
    assert tree.files[0].unicode is False


@pytest.mark.parametrize("newline", ["\n", "\r", "\r\n"])
@pytest.mark.parametrize("bom", [b"", b"\xef\xbb\xbf"])
def test_utf8_500_files_with_any_line_end(newline: str, bom: bytes) -> None:
    text = (
        "Windows Registry Editor Version 5.00\n\n[HKEY_LOCAL_MACHINE\\SOFTWARE\\Ñu]\n"
        '"Enabled"=dword:00000001\n"Wide"=hex(2):41,00,42,00,00,00\n'
    )
    tree = parse(("u.reg", bom + text.replace("\n", newline).encode()))
    assert values(tree) == {
        ("hkey_local_machine\\software\\ñu", "Enabled"): ("REG_DWORD", 1),
        ("hkey_local_machine\\software\\ñu", "Wide"): ("REG_EXPAND_SZ", "AB"),
    }
    assert tree.keys["hkey_local_machine\\software\\ñu"].values["enabled"][2] == 4


def test_key_deletion_removes_the_subtree_and_later_lines_recreate() -> None:
    data = utf16(
        "Windows Registry Editor Version 5.00\n\n"
        f"[{TLS}\\TLS 1.0]\n\n"
        f"[{TLS}\\TLS 1.0\\Client]\n"
        '"Enabled"=dword:00000001\n\n'
        f"[-{TLS}\\TLS 1.0]\n"
        '"Ignored"=dword:00000001\n\n'
        f"[{TLS}\\TLS 1.1\\Server]\n"
        '"Enabled"=dword:00000001\n'
        "@=\"x\"\n"
        "@=-\n"
    )
    tree = parse(("d.reg", data))
    norm = regkeys.normalise(TLS)
    assert sorted(tree.keys) == [f"{norm}\\tls 1.1\\server"]
    assert values(tree) == {(f"{norm}\\tls 1.1\\server", "Enabled"): ("REG_DWORD", 1)}
    # both top-level lines are branches: TLS 1.0 (known absent after import) and TLS 1.1\Server
    assert tree.files[0].branches == {f"{norm}\\tls 1.0": 3, f"{norm}\\tls 1.1\\server": 11}


def test_files_merge_in_order_with_deletions_across_files() -> None:
    first = utf16(
        "Windows Registry Editor Version 5.00\n\n"
        f"[{TLS}]\n\n"
        f"[{TLS}\\TLS 1.0\\Server]\n"
        '"Enabled"=dword:00000001\n\n'
        f"[{TLS}\\TLS 1.2\\Server]\n"
        '"Enabled"=dword:00000000\n"DisabledByDefault"=dword:00000001\n'
    )
    second = (
        "Windows Registry Editor Version 5.00\r\n\r\n"
        f"[-{TLS}\\TLS 1.0]\r\n\r\n"
        f"[{TLS.upper()}\\TLS 1.2\\SERVER]\r\n"
        '"ENABLED"=dword:00000001\r\n"DisabledByDefault"=-\r\n'
    ).encode()
    tree = parse(("a.reg", first), ("b.reg", second))
    norm = regkeys.normalise(TLS)
    assert values(tree) == {(f"{norm}\\tls 1.2\\server", "ENABLED"): ("REG_DWORD", 1)}
    server = tree.keys[f"{norm}\\tls 1.2\\server"]
    assert (server.file, server.line, server.values["enabled"][1:]) == (1, 5, (1, 6))
    assert tree.branch_of(f"{norm}\\tls 1.0\\client") == "b.reg:3"
    assert tree.branch_of(f"{norm}\\tls 1.3") == "a.reg:3"
    assert tree.branch_of(r"hkey_local_machine\software") is None
    assert tree.implied(f"{norm}\\tls 1.2") and not tree.implied(f"{norm}\\tls 1.0")


def test_hive_abbreviations_and_case_normalise_to_one_key() -> None:
    data = (
        b'Windows Registry Editor Version 5.00\n\n[HKLM\\Software\\A]\n"v"="1"\n\n'
        b'[hkey_local_machine\\SOFTWARE\\a\\]\n"w"="2"\n'
    )
    tree = parse(("h.reg", data))
    assert list(tree.keys) == ["hkey_local_machine\\software\\a"]
    assert sorted(tree.keys["hkey_local_machine\\software\\a"].values) == ["v", "w"]


BROKEN = [
    (b"Windows Registry Editor Version 4.00\r\n", 1, "bad header"),
    (b"", 1, "bad header"),
    (b"REGEDIT4\n\n[HKEY_LOCAL_MACHINE\\SOFTWARE\\X\n", 3, "without closing ']'"),
    (b"REGEDIT4\n\n[HKEY_LOCAL_MACHINE\\X]\n\"a\"=dword:123456789\n", 4, "bad dword"),
    (b"REGEDIT4\n\n[HKEY_LOCAL_MACHINE\\X]\n\"a\"=hex:01,zz\n", 4, "bad hex data"),
    (b"REGEDIT4\n\n[HKEY_LOCAL_MACHINE\\X]\n\"a\"=hex:01,\\\n  02,0g\n", 5, "bad hex continuation"),
    (b"REGEDIT4\n\n[HKEY_LOCAL_MACHINE\\X]\n\"a\"=\"unterminated\n", 4, "unparsable value line"),
    (b"REGEDIT4\n\n[HKEY_LOCAL_MACHINE\\X]\n\"a\"\n", 4, "without '='"),
    (b"REGEDIT4\n\n[HKEY_LOCAL_MACHINE\\X]\nEnabled=1\n", 4, "unexpected line"),
    (b"REGEDIT4\n\n[HKEY_LOCAL_MACHINE\\X] trailing\n", 3, "text after ']'"),
    (b"REGEDIT4\n\n[HKEY_NOWHERE\\X]\n", 3, "unknown hive"),
    (b"REGEDIT4\n\n[HKEY_LOCAL_MACHINE\\A\\\\B]\n", 3, "empty key name"),
    # damaged text: a value name garbled into replacement characters would read as "missing"
    (utf16('Windows Registry Editor Version 5.00\n\n[HKEY_LOCAL_MACHINE\\X]\n"Enab')
     + b"\x00\xd8" + utf16('led"=dword:1\n')[2:], 4, "not UTF-16-LE"),
    (utf16('Windows Registry Editor Version 5.00\n\n[HKEY_LOCAL_MACHINE\\X]\n"a"=dword:1\n')[:-1], 5,
     "cut short"),
    (b'\xef\xbb\xbfWindows Registry Editor Version 5.00\n\n[HKEY_LOCAL_MACHINE\\X]\n"\xff"=dword:1\n', 4,
     "not UTF-8"),
]


@pytest.mark.parametrize(("data", "line", "what"), BROKEN)
def test_malformed_lines_name_file_and_line(data: bytes, line: int, what: str) -> None:
    with pytest.raises(RegFileError) as info:
        parse(("exports/broken.reg", data))
    assert str(info.value).startswith(f"exports/broken.reg:{line}: ")
    assert what in str(info.value)


def test_malformed_utf16_line_number_counts_crlf_once() -> None:
    data = utf16("Windows Registry Editor Version 5.00\n\n[HKEY_LOCAL_MACHINE\\X]\n\"ok\"=dword:1\n\"bad\"=hex(2):4g\n")
    with pytest.raises(RegFileError, match=r"^x\.reg:5: bad hex data"):
        parse(("x.reg", data))


@pytest.mark.timeout(10)
@pytest.mark.parametrize(
    "line",
    [
        '"a"=hex:' + " " * 20000 + "x",
        '"a"=hex:' + "0," * 10000 + " " * 10000 + "x",
        '"a"' + " " * 20000 + "=x",
        '"' + "\\" * 20001,
        "[" + "]" * 20000 + "x",
    ],
)
def test_hostile_lines_fail_fast(line: str) -> None:
    """A malformed line costs linear time: regexes must not backtrack through long runs."""
    import time

    start = time.perf_counter()
    with pytest.raises(RegFileError, match=r"^h\.reg:3: "):
        parse(("h.reg", f"REGEDIT4\n\n{line}\n".encode()))
    assert time.perf_counter() - start < 0.5


@pytest.mark.parametrize(
    ("written", "meant"),
    [
        (r"C:\\Program Files\\", "C:\\Program Files\\"),
        (r"say \"hi\"", 'say "hi"'),
        (r"a\\nb", "a\\nb"),  # an escaped backslash, then a plain n
        (r"a\\\nb", "a\\\nb"),  # an escaped backslash, then a newline escape
        (r"x\ty\0z\rw", "x\\ty\0z\rw"),  # unknown escapes stay as written
        (r"\\\"", '\\"'),
    ],
)
def test_string_escapes(written: str, meant: str) -> None:
    from plugins.registry.values import unescape

    assert unescape(written) == meant
    tree = parse(("e.reg", f'REGEDIT4\n\n[HKEY_USERS\\S]\n"v"="{written}"\n'.encode()))
    assert values(tree)[("hkey_users\\s", "v")] == ("REG_SZ", meant)


# -- files cut short (a copy interrupted, a disk full): never read as complete -------------------

_SCH = f"Windows Registry Editor Version 5.00\n\n[{TLS}\\TLS 1.0]\n\n[{TLS}\\TLS 1.0\\Server]\n"
CUT = [
    # the reported case: the real value 00000001 cut two bytes (one UTF-16 character) early
    (utf16(_SCH + '"DisabledByDefault"=dword:00000001\n"Enabled"=dword:0000000'), 7, "file ends inside a line"),
    (utf16(_SCH + '"Enabled"=dword:0000'), 6, "file ends inside a line"),
    (utf16(_SCH + '"Enabled"=dword:00000001'), 6, "file ends inside a line"),  # complete digits, no line end
    (utf16(_SCH + '"Name"="abc'), 6, "file ends inside a line"),  # closing quote missing
    (utf16(_SCH + '"Name"="abc"'), 6, "file ends inside a line"),
    (utf16(_SCH[: _SCH.rindex("]")]), 5, "file ends inside a line"),  # [...\TLS 1.0\Server cut before ']'
    (utf16(_SCH.rstrip("\n")), 5, "file ends inside a line"),  # a key line without its line end
    (utf16(_SCH + '"Enabled"=dword:0000000') + b"0", 6, "cut short"),  # odd byte count: mid-character
    (utf16(_SCH + '"Enabled"=hex(4):01,00,\\\n'), 6, "file ends inside the hex value 'Enabled'"),
    (utf16(_SCH + '"Enabled"=hex(4):01,00,\\\n  00,\\\n\n'), 6, "file ends inside the hex value"),
    (utf16(_SCH + '"Enabled"=hex(4):01,00,\\'), 6, "file ends inside a line"),
    (f"REGEDIT4\n\n[{TLS}\\TLS 1.0\\Server]\n\"Enabled\"=dword:0000000".encode("cp1252"), 4,
     "file ends inside a line"),
    (f"REGEDIT4\r\n\r\n[{TLS}\\TLS 1.0\\Server]\r\n\"Enabled\"=dword:00".encode("cp1252"), 4,
     "file ends inside a line"),
    (f"\ufeffWindows Registry Editor Version 5.00\n\n[{TLS}]\n\"Enabled\"=dword:0".encode(), 4,
     "file ends inside a line"),
    (b"REGEDIT4", 1, "file ends inside a line"),
    # fixed-size types written as hex with another byte count: a malformed value, not a number
    (utf16(_SCH + '"Enabled"=hex(4):01,00\n'), 6, "hex(4) (REG_DWORD) with 2 byte(s), expected 4"),
    (utf16(_SCH + '"Enabled"=hex(4):01,00,00,00,00\n'), 6, "with 5 byte(s), expected 4"),
    (utf16(_SCH + '"Enabled"=hex(5):01\n'), 6, "hex(5) (REG_DWORD_BIG_ENDIAN) with 1 byte(s)"),
    (utf16(_SCH + '"Big"=hex(b):01,00,00,00,00,00,00\n'), 6, "hex(b) (REG_QWORD) with 7 byte(s), expected 8"),
    (utf16(_SCH + '"Big"=hex(0000000b):01,00,00,00,00,00,00,00,00\n'), 6, "with 9 byte(s), expected 8"),
    (utf16(_SCH + '"Enabled"=hex(4):01,00,\\\n  00\n\n'), 6, "hex(4) (REG_DWORD) with 3 byte(s), expected 4"),
]


@pytest.mark.parametrize(("data", "line", "what"), CUT)
def test_a_file_cut_short_or_a_partial_fixed_size_value_is_an_error_not_a_value(
    data: bytes, line: int, what: str
) -> None:
    with pytest.raises(RegFileError) as info:
        parse(("cut.reg", data))
    assert str(info.value).startswith(f"cut.reg:{line}: "), str(info.value)
    assert what in str(info.value)
    if "inside a line" in what:
        assert str(info.value).endswith("the export is cut short")


@pytest.mark.parametrize(
    "ending",
    ['"Enabled"=dword:0\n', '"Enabled"=dword:0000000\n', '"Enabled"=dword:0 ; hand-written\n',
     '"Enabled"=dword:00000000\r\n\r\n', '"Enabled"=hex(4):00,00,\\\n  00,00\n', '"Enabled"=hex(4):00,00,00,00\n'],
)
def test_a_complete_file_keeps_short_dwords_and_whole_hex_values(ending: str) -> None:
    """regedit imports ``dword:`` with 1 to 8 digits; a complete line means what it spells."""
    tree = parse(("ok.reg", utf16(_SCH + ending)))
    assert values(tree)[((TLS + "\\TLS 1.0\\Server").lower(), "Enabled")] == ("REG_DWORD", 0)
