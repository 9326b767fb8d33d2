"""``Get-Queue | Format-List`` output: records of ``Name : value`` properties.

PowerShell wraps a long value (``LastError`` above all) onto indented
continuation lines, so a signature can be split across two physical lines.
Each property, with its continuation lines joined, is one logical line: it is
counted once and reported at the line where the property starts. Because a
wrap may fall on a space or inside a word, a value is tested joined both with
and without a space at each wrap. The prefilter runs over each whole record
after its continuation lines are joined.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from plugins.logs.filescan import Region
    from plugins.logs.streams import Chunks

_PROP = re.compile(r"^([A-Za-z][A-Za-z0-9]*)\s*: ?(.*)$")


class _Prop:
    __slots__ = ("line", "name", "pos", "spaced", "tight")

    def __init__(self, name: str, value: str, line: int, pos: int) -> None:
        self.name, self.spaced, self.tight, self.line, self.pos = name, value, value, line, pos


def scan_records(reader: Chunks, region: Region, line_of: dict[int, int]) -> int | None:
    """Tally the matching properties of every record in the file; returns the line of the first
    text that does not decode (see :meth:`Region.check_text`), if any."""
    from plugins.logs.linenumbers import Lines

    record: list[_Prop] = []
    names: set[str] = set()
    line_no, pos = 0, 0
    bad_line = None
    for buf, lo, hi in reader.chunks():
        if region.bad is None:
            region.check_text(buf, lo, hi, pos - lo)
            if region.bad is not None:
                bad_line = Lines(buf, lo, line_no + 1).at(region.bad[0] - pos + lo)
        else:
            region.check_text(buf, lo, hi, pos - lo)
        for raw in bytes(buf[lo:hi]).splitlines(keepends=True):
            line_no += 1
            text = raw.decode("utf-8", "replace").rstrip("\r\n")
            m = _PROP.match(text)
            if m:
                record.append(_Prop(m.group(1), m.group(2).rstrip(), line_no, pos))
                names.add(m.group(1).lower())
            elif text.strip() and text[:1].isspace() and record:
                piece = text.strip()
                record[-1].spaced += " " + piece
                record[-1].tight += piece
            elif not text.strip():
                _flush(record, region, line_of)
                record = []
            pos += len(raw)
    _flush(record, region, line_of)
    region.missing_fields |= {f for f in region.m.fields if f is not None and f not in names}
    return bad_line


def _flush(record: list[_Prop], region: Region, line_of: dict[int, int]) -> None:
    if not record:
        return
    joined = "\n".join(f"{p.name} : {p.spaced}\n{p.tight}" for p in record).encode("utf-8", "replace")
    sigs = set(region.every) | {i for _, s in region.raw for i in s}
    sigs |= {i for a, s in region.exact if a in joined for i in s}
    if region.folded_re is not None and region.folded_re.search(joined):
        sigs |= set(region.folded_sigs)  # RE2 folds as the signatures do (K, k and the Kelvin sign)
    if not sigs:
        return
    for p in record:
        region.verify_property(p.name, p.spaced, p.tight, sigs, p.pos)
        line_of[p.pos] = p.line

