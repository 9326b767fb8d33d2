"""Signatures: one definition per distinct (pattern, ignore_case, field), shared by all rules.

:func:`signature_defs` turns the ``forbid`` lists of every check of a target into
plain-JSON definitions with a stable ``key``; checks that ask for the same
signature share one definition, so each is searched once. :func:`anchors` works
out the literal byte strings a matching line must contain (at least one of
them), which is what lets the scanner skip everything else before decoding.
"""

from __future__ import annotations

import importlib
import json
from collections.abc import Mapping, Sequence
from typing import Any

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


def _parser() -> Any:
    """The stdlib's regex parser (``re._parser``): RE2 syntax is close to a subset of it."""
    return importlib.import_module("re._parser")


def _best(options: list[list[str] | None]) -> list[str] | None:
    """Pick the alternative set whose shortest member is longest (fewest, rarest hits)."""
    good = [o for o in options if o]
    if not good:
        return None
    return max(good, key=lambda alts: (min(len(a) for a in alts), -len(alts)))


def _required(items: Any, c: Any) -> list[str] | None:
    """Literal strings one of which every match of this parsed sequence contains."""
    options: list[list[str] | None] = []
    run: list[str] = []

    def close() -> None:
        if run:
            options.append(["".join(run)])
            run.clear()

    for op, av in items:
        if op is c.LITERAL:
            run.append(chr(av))
            continue
        close()
        if op is c.SUBPATTERN:
            options.append(_required(av[-1], c))
        elif op in (c.MAX_REPEAT, c.MIN_REPEAT, getattr(c, "POSSESSIVE_REPEAT", None)) and av[0] >= 1:
            options.append(_required(av[2], c))
        elif op is c.BRANCH:
            alts: list[str] = []
            for branch in av[1]:
                sub = _required(branch, c)
                if not sub:
                    alts = []
                    break
                alts.extend(sub)
            options.append(alts or None)
    close()
    return _best(options)


def anchors(defn: Mapping[str, Any]) -> tuple[list[bytes], bool] | None:
    """Required literals of a signature as UTF-8 bytes, and whether they are case-insensitive.

    None when no useful literal exists: the scanner then runs the regex over raw
    bytes or tests every line. In ``field`` mode a raw line holds a ``"`` doubled,
    so anchors are cut at quotes.
    """
    ci = bool(defn["ignore_case"])
    if defn["type"] == "literal":
        alts = [defn["pattern"]]
    else:
        sre = _parser()
        try:
            parsed = sre.parse(defn["pattern"])
        except Exception:  # RE2-only syntax such as \pN: no anchors, the regex itself filters
            return None
        if parsed.state.flags & sre.SRE_FLAG_IGNORECASE:
            ci = True
        found = _required(list(parsed), sre._constants if hasattr(sre, "_constants") else _consts())
        if not found:
            return None
        alts = found
    if defn["field"]:
        alts = [max(a.split('"'), key=len) for a in alts]
    if ci and any(not a.isascii() for a in alts):
        return None  # case folding beyond ASCII: leave it to the regex engine
    out = [a.encode("utf-8") for a in alts]
    if any(len(a) < ANCHOR_MIN for a in out):
        return None
    return out, ci


def _consts() -> Any:
    return importlib.import_module("re._constants")


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
            pattern = d["pattern"]
            if d["type"] == "regex" and not d["field"] and pattern.isascii() and not _line_anchored(pattern):
                raw.append(i)
            else:
                every.append(i)
            continue
        table = folded if got[1] else exact
        for a in got[0]:
            table.setdefault(a.lower() if got[1] else a, set()).add(i)
    for table in (exact, folded):
        for a in sorted(table, key=len):
            for b in list(table):
                if b != a and a in b and b in table:
                    table[a] |= table.pop(b)
    return {
        "exact": [[a.decode("latin-1"), sorted(s)] for a, s in sorted(exact.items())],
        "folded": [[a.decode("latin-1"), sorted(s)] for a, s in sorted(folded.items())],
        "raw": raw,
        "every": every,
    }


def _line_anchored(pattern: str) -> bool:
    """True when the regex means something else on a raw chunk (``(?m)``) than on one line.

    ``^`` is safe under ``(?m)``; ``$`` is not (a CRLF line ends in ``\\r``), nor are
    start/end-of-text assertions.
    """
    return any(tok in pattern for tok in ("$", "\\A", "\\z"))
