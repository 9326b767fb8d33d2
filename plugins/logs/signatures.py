"""Signatures: one definition per distinct (pattern, ignore_case, field), shared by all rules.

:func:`signature_defs` turns the ``forbid`` lists of every check of a target into
plain-JSON definitions with a stable ``key``; checks that ask for the same
signature share one definition, so each is searched once. :func:`anchors` works
out the literal byte strings a matching line must contain (at least one of
them), which is what lets the scanner skip everything else before decoding.
"""

from __future__ import annotations

import bisect
import json
from collections.abc import Mapping, Sequence
from typing import Any

from plugins.logs.literals import GiveUp, Reading, read

ANCHOR_MIN = 3
"""Shorter required literals are not worth a prefilter pass: such regexes scan every line."""


def signature_defs(check: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The signature definitions of one check (its ``forbid`` items with the check's options)."""
    out = []
    for item in check.get("forbid", []):
        is_regex = "regex" in item
        pattern = str(item["regex"] if is_regex else item["literal"])
        d: dict[str, Any] = {
            "type": "regex" if is_regex else "literal",
            "pattern": pattern,
            "ignore_case": bool(check.get("ignore_case", False)),
            "field": check.get("field"),
        }
        d["key"] = json.dumps([d["type"], pattern, d["ignore_case"], d["field"]], ensure_ascii=False)
        d["id"] = str(item.get("id") or pattern)
        out.append(d)
    return out


def _literal_folds(text: str) -> bool:
    """Whether a case-insensitive search for this text can match other characters than its own."""
    return any(not (ch.isascii() and not ch.isalpha()) for ch in text)


def _reading(defn: Mapping[str, Any]) -> Reading:
    """The signature read conservatively (:mod:`plugins.logs.literals`); GiveUp when not understood."""
    if defn["type"] == "literal":
        return Reading([defn["pattern"]], bool(defn["ignore_case"]) and _literal_folds(defn["pattern"]), True)
    return read(defn["pattern"], bool(defn["ignore_case"]))


def anchors(defn: Mapping[str, Any]) -> tuple[list[bytes], bool] | None:
    """Required literals of a signature as UTF-8 bytes, and whether they are searched case-folded.

    None when no useful literal exists or the pattern uses syntax the
    conservative reader does not understand: the scanner then runs the regex
    over raw bytes or tests every line. In ``field`` mode a raw line holds a
    ``"`` doubled, so anchors are cut at quotes.
    """
    try:
        r = _reading(defn)
    except GiveUp:
        return None
    if not r.alts:
        return None
    alts = r.alts
    if defn["field"]:
        alts = [max(a.split('"'), key=len) for a in alts]
    if any("\ufffd" in a for a in alts):
        return None  # a replacement character may stand for invalid bytes in the raw file
    out = [a.encode("utf-8") for a in alts]
    if any(len(a) < ANCHOR_MIN for a in out):
        return None
    return out, r.folded


def scan_plan(defs: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """How to find candidate lines for these signatures (plain JSON, sent to worker processes).

    ``exact``: anchor -> signature indexes (case-sensitive ``find`` passes; an
    anchor that contains another is served by the shorter one's hits);
    ``folded``: case-insensitive anchors; ``raw``: signatures whose regex runs
    over raw bytes; ``every``: signatures that must see every line.
    """
    exact: dict[bytes, set[int]] = {}
    folded: dict[bytes, set[int]] = {}
    raw: list[int] = []
    every: list[int] = []
    for i, d in enumerate(defs):
        got = anchors(d)
        if got is None:
            if d["type"] == "regex" and not d["field"] and _line_safe(d):
                raw.append(i)
            else:
                every.append(i)
            continue
        table = folded if got[1] else exact
        for a in got[0]:
            table.setdefault(a.lower() if got[1] else a, set()).add(i)
    for table in (exact, folded):
        _merge_contained(table)
    return {
        "exact": [[a.decode("latin-1"), sorted(s)] for a, s in sorted(exact.items())],
        "folded": [[a.decode("latin-1"), sorted(s)] for a, s in sorted(folded.items())],
        "raw": raw,
        "every": every,
    }


def _merge_contained(table: dict[bytes, set[int]]) -> None:
    """Serve an anchor that contains another by the shorter one's hits: its signatures move to the
    shorter anchor. Each anchor is searched once in all of them joined (linear, not pairwise:
    5,000 literals took 16 s pairwise)."""
    keys = sorted(table, key=len)
    if any(b"\x00" in k for k in keys):  # the separator: pairwise, as the simple definition says
        for a in keys:
            for b in list(table):
                if b != a and a in b and b in table:
                    table[a] |= table.pop(b)
        return
    blob = b"\x00".join(keys)
    starts, at = [], 0
    for k in keys:
        starts.append(at)
        at += len(k) + 1
    for a in keys:
        if a not in table:
            continue  # absorbed by a shorter one, which absorbed whatever contains it too
        pos = blob.find(a)
        while pos != -1:
            j = bisect.bisect_right(starts, pos) - 1
            b = keys[j]
            if b != a and b in table:
                table[a] |= table.pop(b)
            pos = blob.find(a, starts[j + 1]) if j + 1 < len(keys) else -1


def _line_safe(defn: Mapping[str, Any]) -> bool:
    """True when the regex means the same on a raw chunk under ``(?m)`` as on one line (no ``$``,
    ``\\A``, ``\\z``, ``^`` only in multi-line mode), as far as the conservative reader can tell."""
    try:
        return _reading(defn).line_safe
    except GiveUp:
        return False
