r"""``policyscan fix --format reg``: a ``.reg`` file that sets the planned values.

As regedit writes them: ``Windows Registry Editor Version 5.00``, UTF-16LE
with a byte-order mark, CRLF line ends. One ``[KEY]`` section per key (a
section creates the key and its missing parents on import), then its values:

==============  ===========================================================
REG_DWORD       ``dword:0000000a``
REG_QWORD       ``hex(b):`` eight bytes, little-endian
REG_SZ          ``"text"`` with ``\\`` and ``\"`` escaped; text with a control
                character (a line break...) as ``hex(1):`` UTF-16LE + NUL,
                which no line-based reader can misread
REG_EXPAND_SZ   ``hex(2):`` UTF-16LE + NUL (``%SystemRoot%`` stays unexpanded)
REG_MULTI_SZ    ``hex(7):`` each string UTF-16LE + NUL, then a final NUL
REG_BINARY      ``hex:`` the bytes
==============  ===========================================================

Value names are quoted with ``\\`` and ``\"`` escaped; the default value is
``@``. Long hex data is wrapped at 76 columns with ``\`` as regedit does.
Comment lines (``;``) name the target and the rules each value serves; a
rule id with a line break could end a comment early, so comments carry only
the printable characters of what they quote.
"""

from __future__ import annotations

from plugins.registry.fixplan import Change

HEADER = "Windows Registry Editor Version 5.00"


def render(target: str, changes: list[Change], source: str) -> str:
    """The ``.reg`` text (LF line ends; :func:`encode_file` makes the file)."""
    lines = [HEADER, "", f"; policyscan fix for target {printable(target)}, from {printable(source)}.",
             "; Import after backing up the keys (reg export), then restart the server.", ""]
    if not changes:
        lines += ["; nothing to set", ""]
    key = None
    for c in changes:
        if c.key != key:
            if key is not None:
                lines.append("")
            key = c.key
            lines.append(f"[{c.key}]")
        lines.append(f"; {printable(', '.join(c.rules))}")
        lines.append(value_line(c))
    if key is not None:
        lines.append("")
    return "\n".join(lines) + "\n"


def encode_file(text: str) -> bytes:
    """``text`` as regedit writes a file: BOM, UTF-16LE, CRLF."""
    return b"\xff\xfe" + text.replace("\n", "\r\n").encode("utf-16-le")


def printable(text: str) -> str:
    """``text`` with control characters replaced by ``?`` (safe in a comment line)."""
    return "".join("?" if ord(ch) < 32 or ord(ch) == 127 else ch for ch in text)


def quote(text: str) -> str:
    """A ``.reg`` quoted string: ``\\`` and ``"`` escaped."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def value_line(c: Change) -> str:
    name = "@" if c.name == "" else quote(c.name)
    data = c.data
    if c.type == "REG_DWORD":
        assert isinstance(data, int)
        return f"{name}=dword:{data:08x}"
    if c.type == "REG_QWORD":
        assert isinstance(data, int)
        return _hex(name, "hex(b):", data.to_bytes(8, "little"))
    if c.type == "REG_SZ":
        assert isinstance(data, str)
        if any(ord(ch) < 32 or ord(ch) == 127 for ch in data):
            return _hex(name, "hex(1):", (data + "\0").encode("utf-16-le"))
        return f"{name}={quote(data)}"
    if c.type == "REG_EXPAND_SZ":
        assert isinstance(data, str)
        return _hex(name, "hex(2):", (data + "\0").encode("utf-16-le"))
    if c.type == "REG_MULTI_SZ":
        assert isinstance(data, tuple)
        return _hex(name, "hex(7):", "".join(s + "\0" for s in data).encode("utf-16-le") + b"\0\0")
    if c.type == "REG_BINARY":
        assert isinstance(data, bytes)
        return _hex(name, "hex:", data)
    raise ValueError(f"cannot write {c.type}")  # fixplan.WRITABLE lists what reaches here


def _hex(name: str, tag: str, raw: bytes) -> str:
    """``name=tag`` then the bytes, wrapped as regedit wraps them (continuation ``\\``, two-space indent)."""
    head = f"{name}={tag}"
    pieces = [f"{b:02x}" for b in raw]
    lines: list[str] = []
    line, on_line = head, 0
    for i, piece in enumerate(pieces):
        token = piece + ("," if i < len(pieces) - 1 else "")
        if len(line) + len(token) > 76 and on_line:
            lines.append(line + "\\")
            line, on_line = "  ", 0
        line += token
        on_line += 1
    lines.append(line)
    return "\n".join(lines)
