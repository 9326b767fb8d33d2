"""One pass over one log file (or one byte range of it) for every signature that reads it.

The prefilter runs over raw bytes before any decoding, CSV parsing or regex:
each case-sensitive anchor is found with ``find`` over the memory-mapped file
(or the current chunk), case-insensitive anchors and anchorless regexes with
RE2 over the same bytes; only the lines holding a hit are decoded, split into
columns and verified. :func:`scan_task` is the unit of work a worker process runs.
"""

from __future__ import annotations

import codecs
import json
import re
from pathlib import Path
from typing import Any

from plugins.logs.fastfind import Finder
from plugins.logs.formats import parse_stamp, split_csv
from plugins.logs.linenumbers import Lines
from plugins.logs.matching import Matchers, Tally, _raw_regexp
from plugins.logs.messages import Text, put_errors
from plugins.logs.streams import Chunks
from scanner.i18n import N_

_MATCHERS: dict[str, Matchers] = {}
USE_MEMMEM = True
BLOCK = 1 << 20
"""Bytes scanned per prefilter round: small enough that all anchor passes over a block hit the CPU
cache (measured about 10% less CPU than whole-file passes), and a round's candidates stay few."""
BLOCK_EVERY = 1 << 20
"""The same when some signature must test every line."""
MANY_ANCHORS = 16
"""Above this many case-sensitive anchors, one RE2 alternation replaces a memmem pass per anchor
(5,000 literal signatures: 34 s for 15 MB before)."""
RECORD_LINES = 50
"""Lines a quoted CSV value may span (Export-Csv's multi-line LastError, a W3C quoted context)."""
_CHECK_STEP = 64 << 10
"""Bytes judged as text at a time: small copies stay in the allocator's reused memory (1 MB
copies cost fresh pages each time, measured twice the search's own CPU time)."""


def _matchers(defs: list[dict[str, Any]]) -> Matchers:
    key = json.dumps(defs, sort_keys=True)
    if key not in _MATCHERS:
        _MATCHERS[key] = Matchers(defs)
    return _MATCHERS[key]


_CONTENT = re.compile(rb"(?m)^[ \t\r\f\v]*[^\s#]")
_CONTENT_TEXT = re.compile(rb"(?m)^[ \t\r\f\v]*\S")


def has_content(data: bytes, fmt: str) -> bool:
    """A region holds a content line: not blank and, in W3C and CSV logs, not a ``#`` header line.
    (Counting every line would cost about as much as the whole search, so only presence is judged.)"""
    rx = _CONTENT_TEXT if fmt in ("text", "queue_list") else _CONTENT
    return rx.search(data) is not None


def _why_not_utf8(data: bytes, at: int) -> Text:
    """What an undecodable byte says about the file: Windows ANSI, UTF-16, or just not text."""
    ls = data.rfind(b"\n", 0, at) + 1
    le = data.find(b"\n", at)
    line = data[ls : le if le != -1 else len(data)]
    if data[at : at + 2] in (b"\xff\xfe", b"\xfe\xff"):
        return Text(N_("is not valid UTF-8 (a UTF-16 byte-order mark inside the file: two encodings mixed)"))
    try:
        line.decode("cp1252")
    except UnicodeDecodeError:
        return Text(N_("is not valid UTF-8 or UTF-16 text (undecodable bytes)"))
    return Text(N_("is not valid UTF-8 or UTF-16: looks like a Windows ANSI (cp1252) file; save it as UTF-8"))


def _first_match(rx: Any) -> Any:
    """``search(buf, start, hi)``: where ``rx`` first matches in ``buf[start:hi]``, or -1. The RE2
    object under the wrapper is called directly when this wrapper version exposes it (the
    wrapper's match objects cost several microseconds a hit)."""
    raw = _raw_regexp(rx)
    if raw:
        from plugins.logs import matching

        anchor = matching._UNANCHORED
        return lambda buf, start, hi: int(raw.Match(anchor, buf, start, hi)[0][0])

    def search(buf: Any, start: int, hi: int) -> int:
        hit = rx.search(buf, start, hi)
        return -1 if hit is None else int(hit.start())

    return search


class Region:
    """The scanning state of one file: format, columns, compiled signatures, tally."""

    def __init__(self, task: dict[str, Any]) -> None:
        import re2

        self.task = task
        self.fmt: str = task["format"]
        self.set_fields(task.get("fields") or [])
        self.m = _matchers(task["defs"])
        plan = task["plan"]
        self.exact = [(a.encode("latin-1"), tuple(s)) for a, s in plan["exact"]]
        self.exact_re = None
        if len(self.exact) > MANY_ANCHORS:  # one RE2 pass for all, not one memmem pass per anchor
            opts = re2.Options()
            opts.max_mem = 1 << 28  # room for the DFA of thousands of literals (else a slow fallback)
            opts.log_errors = False
            self.exact_re = re2.compile(b"|".join(re2.escape(a) for a, _ in self.exact), opts)
        self.folded: dict[bytes, tuple[int, ...]] = {a.encode("latin-1"): tuple(s) for a, s in plan["folded"]}
        self.folded_re = None
        # one case-folded pass for all folded anchors; a hit makes its line a candidate for every
        # folded signature (a line may hold several anchors; verification sorts them out)
        self.folded_sigs = tuple(sorted({i for s in self.folded.values() for i in s}))
        if self.folded:
            alt = b"|".join(re2.escape(a) for a in self.folded)
            opts = re2.Options()
            opts.case_sensitive = False
            self.folded_re = re2.compile(alt, opts)
        self.raw = []
        for i in plan["raw"]:
            if i in self.m.errors:
                continue
            opts = re2.Options()
            opts.case_sensitive = not task["defs"][i]["ignore_case"]
            opts.log_errors = False
            self.raw.append((re2.compile(b"(?m)" + task["defs"][i]["pattern"].encode(), opts), (i,)))
        self.every = tuple(plan["every"])
        self.tally = Tally(bool(task.get("keep_last")))
        self.missing_fields: set[str] = set()
        if self.fmt != "queue_list":  # a column the header lacks was not looked at, hits or not
            self.missing_fields = {f for f in self.m.fields if f is not None and f not in self.fields}
        self.hdr_seen = 0
        self.bad: tuple[int, Text] | None = None
        self.has_lines = False
        self._stamp_of: str | None = None
        self._stamp_ms: int | None = None
        """Some content line was read (an empty or header-only log proves nothing)."""
        self.block_utf8 = True
        """The block being scanned is valid UTF-8 (set by :meth:`check_text`)."""
        # Columns are looked up by name only for a field restriction, and the time only decides a count
        # under a window: then every candidate line takes in the headers before it. Otherwise (evidence
        # times only) a row that does not fit the known header triggers the same search, which is cheaper.
        self.exact_header = bool(task.get("keep_last")) or any(d.get("field") for d in task["defs"])

    def set_fields(self, fields: list[str]) -> None:
        self.header = [f.strip().lower() for f in fields]
        self.ncols = len(fields)
        self.fields = {f.strip().lower(): i for i, f in enumerate(fields)}
        self.date_col = self.fields.get("date-time")

    # -- the prefilter -------------------------------------------------------------
    def candidates(self, buf: Any, lo: int, hi: int) -> dict[int, tuple[int, set[int]]]:
        cands: dict[int, tuple[int, set[int]]] = {}

        def mark(pos: int, sigs: tuple[int, ...]) -> int:
            ls = buf.rfind(b"\n", lo, pos) + 1 or lo
            ls = max(ls, lo)
            le = buf.find(b"\n", pos, hi)
            le = hi if le == -1 else le
            got = cands.get(ls)
            if got is None:
                cands[ls] = (le, set(sigs))
            else:
                got[1].update(sigs)
            return le + 1

        finder = Finder(buf) if USE_MEMMEM else None
        try:
            find = finder.find if finder is not None else buf.find
            if self.exact_re is not None:
                search = _first_match(self.exact_re)
                start = lo
                while start < hi and (at := search(buf, start, hi)) != -1:
                    ls = buf.rfind(b"\n", lo, at) + 1 or lo
                    le = buf.find(b"\n", at, hi)
                    line = bytes(buf[max(ls, lo) : hi if le == -1 else le])
                    sigs = tuple(i for a, s in self.exact if a in line for i in s)
                    start = mark(at, sigs)
            for anchor, sigs in ([] if self.exact_re is not None else self.exact):
                pos = find(anchor, lo, hi)
                while pos != -1:
                    pos = find(anchor, mark(pos, sigs), hi)
        finally:
            if finder is not None:
                finder.close()
        every = self.every
        raw = self.raw
        if raw and not self.block_utf8:
            # RE2 over raw bytes never matches invalid UTF-8, which a line decodes to U+FFFD: test every line
            every = tuple(sorted(set(every) | {i for _, s in raw for i in s}))
            raw = []
        for rx, sigs in ([(self.folded_re, self.folded_sigs)] if self.folded_re else []) + raw:
            start = lo
            search = _first_match(rx)
            while start < hi and (at := search(buf, start, hi)) != -1:
                if at == hi and buf[hi - 1 : hi] == b"\n":
                    break  # an empty match after the last line end is on no line
                start = mark(at, sigs)
        if every:
            pos = lo
            while pos < hi:
                pos = mark(pos, every)
        return cands

    # -- verification of candidate lines ---------------------------------------------
    def scan(self, buf: Any, lo: int, hi: int, offset: int = 0) -> None:
        """Scan ``buf[lo:hi]`` in line-aligned blocks (so candidate bookkeeping stays bounded
        however large the file); ``offset`` is where ``buf`` starts in the decoded content.
        Each block is also checked to be text (strict UTF-8, no NUL) and its content lines counted."""
        step = BLOCK_EVERY if self.every else BLOCK
        start = lo
        while start < hi:
            end = buf.find(b"\n", min(hi, start + step) - 1, hi) + 1 if start + step < hi else hi
            end = end or hi
            self.check_text(buf, start, end, offset)
            self._scan_block(buf, start, end, offset)
            start = end

    def check_text(self, buf: Any, lo: int, hi: int, offset: int = 0) -> None:
        """Judge ``buf[lo:hi]`` as text (the whole file is judged, block by block: strict UTF-8, no
        NUL) and note whether it holds a content line. The first problem is kept in :attr:`bad` as
        ``(offset, reason)``; scanning goes on, so a signature found anywhere still fails."""
        ok = True
        pos = lo
        while pos < hi:
            end = min(hi, pos + _CHECK_STEP)
            data = buf[pos:end]  # a small copy: no fresh pages per block, and bytes' own fast tests
            if not data.isascii():
                try:
                    used = codecs.utf_8_decode(data, "strict", end == hi)[1]
                except UnicodeDecodeError as exc:
                    ok = False
                    if self.bad is None:
                        self.bad = (offset + pos + exc.start, _why_not_utf8(data, exc.start))
                    used = len(data)
                if 0 < used < len(data):  # a character cut at the step's end starts the next step
                    end = pos + used
                    data = data[:used]
            if self.bad is None and (nul := data.find(b"\0")) != -1:
                self.bad = (offset + pos + nul,
                            Text(N_("holds NUL bytes (binary data, or UTF-16 text inside a UTF-8 file)")))
            if not self.has_lines:
                self.has_lines = has_content(data, self.fmt)
            pos = end
        self.block_utf8 = ok

    def _scan_block(self, buf: Any, lo: int, hi: int, offset: int) -> None:
        cands = self.candidates(buf, lo, hi)
        done = lo  # candidate lines before this were read as part of a record spanning lines
        for ls in sorted(cands):
            le, sigs = cands[ls]
            if ls < done:
                continue
            raw = buf[ls:le]
            if raw.startswith(b"#") and self.fmt in ("w3c", "queue_csv"):
                continue
            text = raw.decode("utf-8", "replace").rstrip("\r")
            # an open quote: a quoted value with a line break, as Export-Csv writes; read the record
            if self.fmt in ("w3c", "queue_csv") and text.count('"') % 2 and \
                    (record := self._record(buf, ls, le)) is not None:
                ls, done, text = record
            row = None
            if self.fmt == "w3c":
                if self.exact_header:
                    self.advance_header(buf, ls)
                row = split_csv(text)
                if not self.exact_header and not self._dated_as_before(row):
                    self.advance_header(buf, ls)
            elif self.fmt == "queue_csv":
                row = split_csv(text)
                if [c.strip().lower() for c in row] == self.header:
                    continue
            self.verify(text, sigs, offset + ls, row)

    def _record(self, buf: Any, ls: int, le: int) -> tuple[int, int, str] | None:
        """The CSV record that the line ``buf[ls:le]`` (with an odd number of quotes) belongs to,
        as ``(start, end, text)``: the lines from here on, or up to here, that close the quote and
        make as many values as the header names (at most :data:`RECORD_LINES` lines)."""
        def line_at(a: int, b: int) -> str:
            return bytes(buf[a:b]).decode("utf-8", "replace").rstrip("\r")

        size = len(buf)
        # forward: this line opens the quoted value
        text, end = line_at(ls, le), le
        for _ in range(RECORD_LINES):
            if end >= size:
                break
            nxt = buf.find(b"\n", end + 1)
            nxt = size if nxt == -1 else nxt
            text += "\n" + line_at(end + 1, nxt)
            end = nxt
            if text.count('"') % 2 == 0:
                if len(split_csv(text)) == self.ncols:
                    return ls, end, text
                break
        # backward: this line closes a value opened on an earlier line
        text, start = line_at(ls, le), ls
        for _ in range(RECORD_LINES):
            if start <= 0:
                break
            prev = buf.rfind(b"\n", 0, start - 1) + 1
            piece = line_at(prev, start - 1)
            if piece.startswith("#"):
                break
            text, start = piece + "\n" + text, prev
            if text.count('"') % 2 == 0:
                if len(split_csv(text)) == self.ncols:
                    return start, le, text
                break
        return None

    def _dated_as_before(self, row: list[str]) -> bool:
        """The row fits the header known so far: as many columns, and a time in the date column."""
        if len(row) != self.ncols:
            return False
        return self.date_col is None or self.stamp(row[self.date_col]) is not None

    def stamp(self, text: str) -> int | None:
        """:func:`parse_stamp`, remembered for the last text (a row's time is asked twice)."""
        if text is not self._stamp_of:
            self._stamp_of, self._stamp_ms = text, parse_stamp(text)
        return self._stamp_ms

    def advance_header(self, buf: Any, upto: int) -> None:
        """Take in the last ``#Fields`` line of ``buf`` before ``upto`` not yet seen: a header that
        repeats after a service restart may name other columns, or the same ones in another order.
        Searched only up to candidate lines (and chunk ends), so a file without hits costs nothing."""
        lo = self.hdr_seen
        if upto <= lo:
            return
        last = 0 if lo == 0 and bytes(buf[0:8]) == b"#Fields:" else -1
        finder = Finder(buf) if USE_MEMMEM and upto - lo > 1 << 16 else None  # a Finder costs microseconds
        try:
            find = finder.find if finder is not None else buf.find
            pos = max(0, lo - 1)
            while (h := find(b"\n#Fields:", pos, upto)) != -1:
                last, pos = h + 1, h + 1
        finally:
            if finder is not None:
                finder.close()
        self.hdr_seen = upto
        if last != -1:
            end = buf.find(b"\n", last)
            line = bytes(buf[last : end if end != -1 else len(buf)]).decode("utf-8", "replace").rstrip("\r")
            self.set_fields([f.strip() for f in line.split(":", 1)[1].split(",")])

    def verify(self, text: str, sigs: set[int], pos: int, row: list[str] | None = None) -> None:
        matched = []
        for s in sorted(sigs):
            field = self.m.fields[s]
            if field is None:
                ok = self.m.hit(s, text)
            elif self.fmt in ("w3c", "queue_csv"):
                if row is None:
                    row = split_csv(text)
                col = self.fields.get(field)
                if col is None:
                    self.missing_fields.add(field)
                    continue
                if len(row) != self.ncols and self.bad is None:  # which value is the field's? cannot tell
                    self.bad = (pos, Text(N_("a row has {values} values where the header names {columns} columns, "
                                             "so its field values cannot be told (a cut or malformed row, or a "
                                             "quoted value spanning lines)"), values=len(row), columns=self.ncols))
                ok = col < len(row) and self.m.hit(s, row[col])
            else:
                self.missing_fields.add(field)
                continue
            if ok:
                matched.append(s)
        if not matched:
            return
        ms: int | None = None
        if self.fmt == "w3c":
            if self.date_col is not None:
                row = row if row is not None else split_csv(text)
                ms = self.stamp(row[self.date_col]) if self.date_col < len(row) else None
        elif self.fmt == "text":
            ms = parse_stamp(text)
        self.tally.add(tuple(matched), pos, ms, text)

    def verify_property(self, name: str, spaced: str, tight: str, sigs: set[int], pos: int) -> None:
        """Verify one Format-List property (value joined with and without spaces at wraps)."""
        matched = []
        for s in sorted(sigs):
            field = self.m.fields[s]
            if field is None:
                ok = self.m.hit(s, f"{name} : {spaced}") or self.m.hit(s, f"{name} : {tight}")
            elif field == name.lower():
                ok = self.m.hit(s, spaced) or self.m.hit(s, tight)
            else:
                continue
            if ok:
                matched.append(s)
        if matched:
            self.tally.add(tuple(matched), pos, None, f"{name} : {spaced}")


def scan_task(task: dict[str, Any]) -> dict[str, Any]:
    """Scan one file (or one byte range of it) as the task says; returns plain JSON.

    Samples of a memory-mapped file carry only their byte offset: the collector
    counts lines for the few samples it keeps (:func:`count_lines`), so a file
    whose hits are never shown is never counted.
    """
    path = Path(task["path"])
    reader = Chunks(path, task.get("gz_bound") or (1 << 30), task.get("encoding") or "utf-8", task.get("bom") or 0)
    region = Region(task)
    line_of: dict[int, int] = {}
    read = 0
    bad_line: int | None = None
    try:
        if task["format"] == "queue_list":
            from plugins.logs.queuelist import scan_records

            bad_line = scan_records(reader, region, line_of)
        else:
            mapped = reader.mapped_region()
            if mapped is not None:
                buf, start, hi = mapped
                lo = start
                if task.get("range"):
                    lo, hi = task["range"]
                region.scan(buf, lo, hi)
                read = hi - lo + (start if lo == start else 0)  # the first range also read the BOM
                if region.bad is not None:
                    bad_line = Lines(buf, 0, 1).at(region.bad[0])
            else:
                base, line = 0, 1
                for chunk, lo, hi in reader.chunks():
                    lines = Lines(chunk, lo, line)
                    known = region.bad
                    region.scan(chunk, lo, hi, base)
                    if region.bad is not known and region.bad is not None:
                        bad_line = lines.at(region.bad[0] - base)
                    if region.fmt == "w3c":
                        region.advance_header(chunk, hi)  # a header after the chunk's last hit
                    for p in region.tally.sample_positions():
                        if base <= p < base + hi and p not in line_of:
                            line_of[p] = lines.at(p - base)
                    line = lines.at(hi)
                    base += hi
                    region.hdr_seen = 0
    finally:
        reader.close()
    out = region.tally.to_json(line_of)
    out["missing_fields"] = sorted(region.missing_fields)
    problems: list[str] = [reader.error] if reader.error else []
    if reader.bad is not None:  # UTF-16 that does not decode: where in the file, in bytes
        problems.append(_at_offset(path, reader.bad))
    elif region.bad is not None:
        if bad_line is not None:
            problems.append(Text(N_("{path}:{line}: {problem}"), path=str(path), line=bad_line, problem=region.bad[1]))
        else:
            problems.append(_at_offset(path, region.bad))
    put_errors(out, problems)
    out["has_lines"] = region.has_lines
    out["read"] = read or reader.consumed
    return out


def _at_offset(path: Path, bad: tuple[int, Text]) -> Text:
    return Text(N_("{path}: {problem} at byte offset {offset}"), path=str(path), problem=bad[1], offset=bad[0])
