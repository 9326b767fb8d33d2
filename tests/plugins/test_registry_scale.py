"""The .reg parser and coverage stay linear in the size of the export, whatever its shape.

Each shape here took seconds to minutes when a [-KEY] line or a new top-level
branch scanned every key seen before (quadratic); each now takes well under a
second. ``bench/regparse.py`` measures 100 MB exports.
"""

from __future__ import annotations

import time

import pytest

from plugins.registry import facts as regfacts
from plugins.registry import keys as regkeys
from plugins.registry.regfile import RegFileError, Tree
from plugins.registry.regsyntax import MAX_DEPTH

HEAD = "Windows Registry Editor Version 5.00\r\n\r\n"
SOFT = r"HKEY_LOCAL_MACHINE\SOFTWARE"
BOUND = 5.0  # seconds: generous; each shape takes about 0.1-0.5 s on a loaded 2-core machine


def utf16(text: str) -> bytes:
    return b"\xff\xfe" + text.encode("utf-16-le")


def load_and_judge(text: str, needs: list[str]) -> tuple[Tree, dict[str, object], float]:
    """Parse ``text`` (UTF-16LE with BOM, as regedit writes) and build the facts for ``needs``; the time taken."""
    data = utf16(text)
    start = time.perf_counter()
    tree = Tree()
    tree.load(data, "big.reg")
    wanted = {regkeys.normalise(k) or "": (k, {"v": "v"}) for k in needs}
    facts = regfacts.from_tree(tree, wanted, ["big.reg"])
    return tree, facts["keys"], time.perf_counter() - start


def test_many_top_level_sections() -> None:
    n = 40_000
    text = HEAD + "".join(f'[{SOFT}\\K{i}]\r\n"v"=dword:{i:08x}\r\n\r\n' for i in range(n))
    tree, keys, took = load_and_judge(text, [rf"{SOFT}\K{n - 1}", rf"{SOFT}\Other"])
    assert took < BOUND, took
    assert len(tree.files[0].branches) == n
    assert keys[rf"{SOFT}\k{n - 1}".lower()]["values"]["v"]["data"] == n - 1
    assert keys[rf"{SOFT}\other".lower()]["covered"] is False


def test_many_key_deletions() -> None:
    n = 20_000
    text = HEAD + "".join(f"[{SOFT}\\K{i}\\Sub]\r\n\r\n" for i in range(n))
    text += "".join(f"[-{SOFT}\\K{i}]\r\n" for i in range(n))
    tree, keys, took = load_and_judge(text, [rf"{SOFT}\K7\Sub", rf"{SOFT}\K7"])
    assert took < BOUND, took
    assert tree.keys == {}
    deleted_at = f"big.reg:{3 + 2 * n + 7}"  # [-...\K7] covers ...\K7\Sub: known absent after the import
    assert keys[rf"{SOFT}\k7\sub".lower()] == {
        "covered": True, "exists": False, "source": deleted_at, "values": {},
        "branch": {"key": rf"{SOFT}\K7", "source": deleted_at}}
    assert keys[rf"{SOFT}\k7".lower()]["exists"] is False  # deleted, with its subtree


def test_deep_nesting_up_to_the_windows_limit() -> None:
    levels = MAX_DEPTH - 1  # below SOFTWARE
    paths = [SOFT + "".join(f"\\Level{d:03d}" for d in range(depth)) for depth in range(1, levels + 1)]
    text = HEAD + "".join(f'[{p}]\r\n"v"=dword:{i:08x}\r\n\r\n' for i, p in enumerate(paths))
    tree, keys, took = load_and_judge(text, [paths[-1], paths[-1] + r"\Below"])
    assert took < BOUND, took
    assert list(tree.files[0].branches) == [regkeys.normalise(paths[0])]
    assert keys[paths[-1].lower()]["values"]["v"]["data"] == levels - 1
    assert keys[paths[-1].lower() + r"\below"]["covered"] is True


def test_deeper_than_windows_allows_is_a_malformed_line() -> None:
    path = SOFT + "\\x" * MAX_DEPTH
    with pytest.raises(RegFileError, match=r"^d\.reg:3: key more than 512 levels deep"):
        Tree().load(utf16(HEAD + f"[{path}]\r\n"), "d.reg")


def test_many_values_in_one_key() -> None:
    n = 100_000
    text = HEAD + f"[{SOFT}\\Big]\r\n" + "".join(f'"v{i}"=dword:{i:08x}\r\n' for i in range(n)) + '"v"="last"\r\n'
    tree, keys, took = load_and_judge(text, [rf"{SOFT}\Big"])
    assert took < BOUND, took
    assert len(tree.keys[rf"{SOFT}\big".lower()].values) == n + 1
    assert keys[rf"{SOFT}\big".lower()]["values"]["v"]["data"] == "last"


def test_many_parents_created_by_subkeys_then_deleted() -> None:
    """Keys that exist only because a subkey was written, deleted from the top: each costs its subtree once."""
    n = 20_000
    text = HEAD + "".join(f"[{SOFT}\\A\\B{i}\\C\\D]\r\n" for i in range(n)) + f"[-{SOFT}\\A]\r\n[{SOFT}\\A\\B1\\X]\r\n"
    tree, keys, took = load_and_judge(text, [rf"{SOFT}\A\B1", rf"{SOFT}\A\B2"])
    assert took < BOUND, took
    assert list(tree.keys) == [rf"{SOFT}\a\b1\x".lower()]
    assert keys[rf"{SOFT}\a\b1".lower()]["exists"] is True  # created again by ...\B1\X
    assert keys[rf"{SOFT}\a\b2".lower()]["exists"] is False
