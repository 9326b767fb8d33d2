"""Registry value types, and turning value data into the JSON the checks compare.

How data is represented (the same for ``.reg`` files and the live registry):

===========================  ===========================================
type                         data
===========================  ===========================================
REG_DWORD, REG_QWORD,        an integer (unsigned); a DWORD/QWORD whose
REG_DWORD_BIG_ENDIAN         byte count is wrong stays lower-case hex
REG_SZ, REG_EXPAND_SZ        a string (cut at the first NUL)
REG_MULTI_SZ                 a list of strings
everything else              lower-case hex of the bytes, no separators
===========================  ===========================================

In a ``.reg`` file ``hex(1)``/``hex(2)``/``hex(7)`` bytes are UTF-16LE in a
``Windows Registry Editor Version 5.00`` file and single-byte ANSI (cp1252)
in a ``REGEDIT4`` file.
"""

from __future__ import annotations

from typing import Any

#: Type names by type number (``hex(b)`` is type 11, REG_QWORD).
TYPE_NAMES: dict[int, str] = {
    0: "REG_NONE",
    1: "REG_SZ",
    2: "REG_EXPAND_SZ",
    3: "REG_BINARY",
    4: "REG_DWORD",
    5: "REG_DWORD_BIG_ENDIAN",
    6: "REG_LINK",
    7: "REG_MULTI_SZ",
    8: "REG_RESOURCE_LIST",
    9: "REG_FULL_RESOURCE_DESCRIPTOR",
    10: "REG_RESOURCE_REQUIREMENTS_LIST",
    11: "REG_QWORD",
}

#: Integer-valued types, and the ones compared as strings.
INTEGER_TYPES = frozenset({"REG_DWORD", "REG_QWORD", "REG_DWORD_BIG_ENDIAN"})
STRING_TYPES = frozenset({"REG_SZ", "REG_EXPAND_SZ"})



def type_name(number: int) -> str:
    """``REG_QWORD`` for 11; ``REG_UNKNOWN_<n>`` for a number Windows does not name."""
    return TYPE_NAMES.get(number) or f"REG_UNKNOWN_{number}"


def unescape(text: str) -> str:
    """Undo ``.reg`` string escapes: ``\\\\``, ``\\"``, ``\\n``, ``\\r``, ``\\0``; others stay as written."""
    if "\\" not in text:
        return text
    parts = text.split("\\\\")  # an escaped backslash never starts another escape
    for i, part in enumerate(parts):
        if "\\" in part:
            parts[i] = part.replace('\\"', '"').replace("\\n", "\n").replace("\\r", "\r").replace("\\0", "\0")
    return "\\".join(parts)


def _text(raw: bytes, unicode: bool) -> str:
    if unicode:
        raw = raw[: len(raw) & ~1]
        return raw.decode("utf-16-le", "replace")
    return raw.decode("cp1252", "replace")


def from_bytes(number: int, raw: bytes, unicode: bool = True) -> tuple[str, Any]:
    """``(type name, data)`` for the raw bytes of a value of type ``number``."""
    name = type_name(number)
    if number in (1, 2):
        return name, _text(raw, unicode).split("\0", 1)[0]
    if number == 7:
        text = _text(raw, unicode).rstrip("\0")
        return name, text.split("\0") if text else []
    if number == 4 and len(raw) == 4:
        return name, int.from_bytes(raw, "little")
    if number == 5 and len(raw) == 4:
        return name, int.from_bytes(raw, "big")
    if number == 11 and len(raw) == 8:
        return name, int.from_bytes(raw, "little")
    return name, raw.hex()


def from_live(number: int, data: Any) -> tuple[str, Any]:
    """``(type name, data)`` for what ``winreg.QueryValueEx`` returned."""
    if isinstance(data, bytes | bytearray):
        return from_bytes(number, bytes(data))
    name = type_name(number)
    if data is None:
        return name, ""
    if isinstance(data, int) and number in (4, 5, 11):
        return name, data & (0xFFFFFFFF if number != 11 else 0xFFFFFFFFFFFFFFFF)
    if isinstance(data, list):
        return name, [str(item) for item in data]
    return name, data if isinstance(data, str | int) else str(data)
