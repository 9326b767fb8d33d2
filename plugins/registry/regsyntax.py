r"""The line grammar of ``.reg`` exports: decoding a file, and parsing one line on its own.

A line's meaning never depends on the lines around it (a hex continuation is
recognised by the loader, which knows a run is open), so each distinct line is
parsed once per process and remembered in a bounded memo (:func:`parse_line`):
exports of similar hosts share most of their lines.

Accepted: ``[KEY]`` / ``[-KEY]`` (hive long or short, at most :data:`MAX_DEPTH`
levels below it, as Windows allows), ``"name"="text"`` (escapes ``\\``,
``\"``), ``@=`` default values, ``dword:``, ``hex:`` and ``hex(0)``..``hex(b)``
(continued with ``\``), ``"name"=-`` deletions, ``;`` comments.

What is wrong with a line is a :mod:`plugins.registry.messages` message (translated
when a check is judged, in the run's language), the line itself a field of it.
"""

from __future__ import annotations

import re
from typing import Any

from plugins.registry import keys as regkeys
from plugins.registry.messages import Message, english, message
from plugins.registry.values import type_name, unescape
from scanner.i18n import N_

# Possessive quantifiers (*+) everywhere a run is followed by a different token: a
# malformed line fails in linear time instead of backtracking through its spaces.
_STR = r'[^"\\]*+(?:\\.[^"\\]*+)*+'
_BYTES = r"[ \t]*+(?:[0-9a-fA-F]{1,2}+[ \t]*+,[ \t]*+)*+(?:[0-9a-fA-F]{1,2}+[ \t]*+)?+"
_COMMENT = r"(?:;.*)?"
_VALUE_LINE = re.compile(
    rf'(?:"({_STR})"|(@))[ \t]*+=[ \t]*+'
    rf'(?:"({_STR})"[ \t]*+|dword:([0-9a-fA-F]{{1,8}}+)[ \t]*+'
    rf"|hex(?:\(([0-9a-fA-F]{{1,8}}+)\))?+:({_BYTES})(\\)?+[ \t]*+|(-)[ \t]*+){_COMMENT}"
)
MORE_HEX = re.compile(rf"({_BYTES})(\\)?+[ \t]*+{_COMMENT}")
"""A continuation line of a hex value (stripped): ``(bytes, '\\' when it continues)``."""
HEADERS = {"Windows Registry Editor Version 5.00": True, "REGEDIT4": False}
"""Accepted first lines: True when hex strings are UTF-16LE (5.00), False for ANSI (REGEDIT4)."""

MAX_DEPTH = 512
"""Levels below the hive a key may have: Windows' own limit (Registry Element Size Limits)."""

# Parsed line kinds (first item of a parsed line).
BLANK, KEY, VALUE, DELETE, HEX_START, BAD = range(6)
# Value data kinds.
SZ, DWORD, HEX = range(3)

memo: dict[str, tuple[Any, ...]] = {}
"""Parsed lines by line: look a line up here first, call :func:`parse_line` on a miss."""
_MEMO_LIMIT = 100_000
_MEMO_LINE = 300


class Undecodable(ValueError):
    """Bytes that are not text in the file's encoding: ``line`` is where they start, ``message`` what is wrong."""

    def __init__(self, line: int, what: Message) -> None:
        super().__init__(english(what))
        self.line = line
        self.message = what


def decode(data: bytes) -> str:
    """The text of a ``.reg`` file: UTF-16 with BOM, UTF-8, else the ANSI code page; LF line ends.

    UTF-16 and UTF-8 must decode strictly (:class:`Undecodable` otherwise): a value
    name garbled into replacement characters would read as a missing value, and
    a missing value can pass (``exists: false``, ``when_missing: pass``). An odd
    byte count in UTF-16 (a file cut short) is refused the same way. A file with
    neither BOM nor valid UTF-8 is ANSI (what regedit reads for ``REGEDIT4``).
    """
    if data[:2] == b"\xff\xfe":
        text = _strict(data, 2, "utf-16-le")
    elif data[:2] == b"\xfe\xff":
        text = _strict(data, 2, "utf-16-be")
    elif data[:3] == b"\xef\xbb\xbf":
        text = _strict(data, 3, "utf-8")
    elif len(data) > 1 and data[1] == 0 and data[0] != 0:
        text = _strict(data, 0, "utf-16-le")
    else:
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            text = data.decode("cp1252", "replace")
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    return text


def _strict(data: bytes, skip: int, codec: str) -> str:
    try:
        return data[skip:].decode(codec)
    except UnicodeDecodeError as exc:
        before = data[skip : skip + exc.start].decode(codec, "replace")
        line = before.replace("\r\n", "\n").replace("\r", "\n").count("\n") + 1
        raise Undecodable(line, message(N_("bytes that are not {encoding} at byte {offset} ({reason}): "
                                           "the file is damaged or cut short"),
                                        encoding=codec.upper(), offset=skip + exc.start, reason=exc.reason)) from None


def parse_line(line: str) -> tuple[Any, ...]:
    """:func:`parse` through the memo (short lines only: long ones rarely repeat)."""
    parsed = memo.get(line)
    if parsed is None:
        parsed = parse(line)
        if len(line) <= _MEMO_LINE:
            if len(memo) >= _MEMO_LIMIT:
                memo.clear()
            memo[line] = parsed
    return parsed


def parse(line: str) -> tuple[Any, ...]:
    """One line on its own, as a tuple whose first item is its kind:

    ``(BLANK,)``; ``(KEY, deletes, normalised key, key as written)``;
    ``(VALUE, value id, name, data kind, raw data, hex type or None)``;
    ``(HEX_START, ...)`` the same for a hex value continued on the next line;
    ``(DELETE, value id)``; ``(BAD, what is wrong)`` (a :data:`~plugins.registry.messages.Message`).
    """
    text = line.strip()
    if not text or text[0] == ";":
        return (BLANK,)
    if text[0] == "[":
        close = text.rfind("]")  # as regedit: the last ']' ends the path; a comment may follow
        rest = text[close + 1 :].lstrip(" \t")
        if close < 0 or (rest and rest[0] != ";"):
            return (BAD, _diagnose(text))
        deletes = text[1:2] == "-"
        path = text[2 if deletes else 1 : close]
        norm = regkeys.normalise(path)
        if norm is None or not path.strip("\\"):
            shown = path if len(path) <= 70 else path[:67] + "..."
            if regkeys.normalise(path.partition("\\")[0]) is None:
                return (BAD, message(N_("unknown hive in key [{key}]"), key=shown))
            return (BAD, message(N_("empty key name in key [{key}]"), key=shown))
        if norm.count("\\") > MAX_DEPTH:
            return (BAD, message(N_("key more than {depth} levels deep (Windows' limit): {line}"), depth=MAX_DEPTH,
                                 line=short(text)))
        return (KEY, deletes, norm, path.rstrip("\\"))
    m = _VALUE_LINE.fullmatch(text) if text[0] in "\"@" else None
    if m is None:
        return (BAD, _diagnose(text))
    name, default, sz, dword, htype, hexdata, more, delete = m.groups()
    if default:
        name, vid = "@", ""
    else:
        if "\\" in name:
            name = unescape(name)
        vid = name.lower()  # a value literally named "@" stays "@"; only @= is the default value
    if delete:
        return (DELETE, vid)
    if sz is not None:
        return (VALUE, vid, name, SZ, sz, None)
    if dword is not None:
        return (VALUE, vid, name, DWORD, dword, None)
    if not more and htype is not None:
        wrong = wrong_size(htype, hexdata, text)
        if wrong is not None:
            return (BAD, wrong)
    return (HEX_START if more else VALUE, vid, name, HEX, hexdata, htype)


_SIZES = {4: 4, 5: 4, 11: 8}
"""Bytes of the fixed-size types: REG_DWORD, REG_DWORD_BIG_ENDIAN, REG_QWORD."""


def wrong_size(htype: str | None, data: str, line: str) -> Message | None:
    """What is wrong with the byte count of ``hex(htype):data`` (the value of ``line``), or None.

    Only the fixed-size types have a count to check; a part of one (``01,00``)
    is what a damaged file leaves, never a number to compare.
    """
    number = int(htype, 16) if htype else 3
    size = _SIZES.get(number)
    if size is None:
        return None
    count = len(hex_bytes(data))
    if count in (size, 0):  # no data at all is how regedit writes a value stored empty
        return None
    return message(N_("hex({code}) ({type}) with {count} byte(s), expected {size}: the value is malformed: {line}"),
                   code=htype, type=type_name(number), count=count, size=size, line=short(line))


def hex_bytes(raw: str) -> bytes:
    """The bytes of ``hex:`` data as written (``de,ad, be``)."""
    return bytes(int(p, 16) for p in raw.replace(" ", "").replace("\t", "").split(",") if p)


def short(text: str) -> str:
    """``text`` quoted for a message, cut at 70 characters."""
    return repr(text if len(text) <= 70 else text[:67] + "...")


def _diagnose(text: str) -> Message:
    """Say what is wrong with a line the grammar did not accept."""
    line = short(text)
    if text.startswith("["):
        if "]" not in text:
            return message(N_("key line without closing ']': {line}"), line=line)
        return message(N_("text after ']': {line}"), line=line)
    if text.startswith(('"', "@")):
        rest = text.partition("=")[2].strip()
        if not rest:
            return message(N_("value line without '=' and data: {line}"), line=line)
        if rest.startswith("dword:"):
            return message(N_("bad dword (1 to 8 hex digits expected): {line}"), line=line)
        if rest.startswith("hex"):
            return message(N_("bad hex data (comma-separated bytes, '\\' to continue): {line}"), line=line)
        return message(N_("unparsable value line: {line}"), line=line)
    return message(N_("unexpected line (not a key, a value or a comment): {line}"), line=line)
