"""The prefilter never changes a count: prefiltered counting equals a plain RE2 search of every line.

Patterns are generated from RE2 syntax the stdlib parser reads otherwise or not
at all (scoped flags, POSIX classes, ``\\Q...\\E``, ``\\p{..}``), with
repetitions, alternations, case folding (``ignore_case`` and ``(?i)``, the
Kelvin sign and long s), over lines with CRLF, invalid UTF-8 and near misses.
"""

from __future__ import annotations

import re

import pytest
import re2
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from plugins.logs import filescan
from plugins.logs.filescan import Region
from plugins.logs.signatures import scan_plan

# a small vocabulary shared by patterns and lines, so that generated patterns often match generated lines
WORDS = ["tls", "TLS", "Tls", "fail", "a", "k", "K", "\u212a", "s", "S", "ſ", "é", "É", " ", "0", "-", "."]
LITERAL = st.sampled_from(WORDS)
ESCAPED = st.sampled_from([r"\.", r"\-", r"\]", "]", "}", r"\x41", r"\x{e9}", r"\x{212a}", r"\Qa.b\E", r"\Qk\E",
                           r"\t", r"\ ", "x{,2}", r"\{", r"\\"])
CLASS = st.sampled_from(["[[:space:]]", "[[:alpha:]]", "[^[:digit:]]", "[a-c]", "[^x]", "[]a]", r"[\d]", r"[^\]]",
                         "[[:^space:]]", "[[:word:]]", r"[\p{Lu}k]", "[.]", "[k]", "[[a]", r"[\x{212a}s]"])
SPECIAL = st.sampled_from([r"\d", r"\s", r"\w", r"\W", r"\b", r"\B", r"\pL", r"\p{Lu}", r"\PL", r"\P{Greek}", ".",
                           "^", "$", r"\A", r"\z", r"\C"])
OPEN = st.sampled_from(["(", "(?:", "(?i:", "(?-i:", "(?s:", "(?m:", "(?i-m:", "(?P<g>", "(?<h>"])
FLAG = st.sampled_from(["(?i)", "(?-i)", "(?m)", "(?s)", "(?-m)", "(?U)"])
REPEAT = st.sampled_from(["*", "+", "?", "{2}", "{1,3}", "{0,}", "*?", "+?", "??", "{0}", "{1}", "{2,}"])


ITEM: st.SearchStrategy[str] = st.deferred(lambda: st.one_of(
    LITERAL, LITERAL, LITERAL, ESCAPED, CLASS, SPECIAL,
    st.tuples(OPEN, SEQUENCE).map(lambda t: f"{t[0]}{t[1]})"),
    st.tuples(OPEN, SEQUENCE, SEQUENCE).map(lambda t: f"{t[0]}{t[1]}|{t[2]})"),
    st.tuples(ITEM, REPEAT).map("".join),
    st.tuples(FLAG, ITEM).map("".join),
))
SEQUENCE = st.lists(ITEM, min_size=1, max_size=4).map("".join)
POSIX = st.sampled_from(["[[:space:]]", "[[:alpha:]]", "[[:^space:]]", "[^[:digit:]]", "[[:word:]]"])
TRICKY_ITEM = st.one_of(
    LITERAL, POSIX, st.sampled_from(["[[a]", "]", " "]),
    st.tuples(st.sampled_from(["(?i:", "(?-i:", "(?i)", "(?:"]), st.lists(LITERAL, min_size=1, max_size=3))
    .map(lambda t: t[0] + "".join(t[1]) + ("" if t[0] == "(?i)" else ")")),
)
TRICKY = st.lists(TRICKY_ITEM, min_size=1, max_size=4).map("".join)
"""Short patterns of syntax Python's parser accepts but reads otherwise than RE2."""
PATTERNS = st.one_of(TRICKY, TRICKY, TRICKY, SEQUENCE, st.tuples(SEQUENCE, SEQUENCE).map("|".join),
                     st.tuples(TRICKY, TRICKY).map("|".join))
PIECES = [w.encode() for w in WORDS] + [b"\xff", b"\xc3(", b"\r", b"a.b", b"x{,2}", b"}", b"]", b"\\", b"\t",
                                         b"tls fail", b"TLS FAIL", b"A", b"ks"]


_SKELETON = [("[[:space:]]", " "), ("[[:alpha:]]", "a"), ("[[:^space:]]", "x"), ("[^[:digit:]]", "x"),
             ("[[:word:]]", "w"), ("[[a]", "["), ("(?i:", ""), ("(?-i:", ""), ("(?i)", ""), ("(?:", ""), (")", "")]


def _skeleton(pattern: str) -> str:
    """A string that a short pattern of :data:`TRICKY` syntax likely matches (in some case)."""
    for token, stand_in in _SKELETON:
        pattern = pattern.replace(token, stand_in)
    return pattern


def lines_for(patterns: list[str]) -> st.SearchStrategy[list[bytes]]:
    """Lines of pieces: the vocabulary, and the words and skeletons of the patterns in other cases
    (so that lines often match, nearly match or match only when folded)."""
    words = {w for p in patterns for w in re.findall(r"[^\W\d_]+", p)} | {_skeleton(p) for p in patterns}
    extra = {v.encode() for w in words for v in (w, w.upper(), w.lower(), w.swapcase(), w.title())}
    piece = st.sampled_from(sorted(set(PIECES) | extra))
    return st.lists(st.lists(piece, max_size=6).map(b"".join), min_size=1, max_size=6)


def _compiles(pattern: str) -> bool:
    opts = re2.Options()
    opts.log_errors = False
    try:
        re2.compile(pattern, opts)
    except re2.error:
        return False
    return True


def _signature(kind: str, pattern: str, ignore_case: bool) -> dict[str, object]:
    return {"type": kind, "pattern": pattern, "ignore_case": ignore_case, "field": None, "key": pattern, "id": pattern}


def plain_counts(defs: list[dict[str, object]], data: bytes) -> list[int]:
    """The oracle: decode each line (LF or CRLF), search it with RE2, count the lines that match."""
    lines = data.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    out = []
    for d in defs:
        opts = re2.Options()
        opts.case_sensitive = not d["ignore_case"]
        pattern = str(d["pattern"])
        rx = re2.compile(re2.escape(pattern) if d["type"] == "literal" else pattern, opts)
        out.append(sum(1 for ln in lines if rx.search(ln.decode("utf-8", "replace").rstrip("\r"))))
    return out


def prefiltered_counts(defs: list[dict[str, object]], data: bytes, block: int) -> list[int]:
    task = {"format": "text", "fields": [], "defs": defs, "plan": scan_plan(defs), "keep_last": False}
    old = filescan.BLOCK, filescan.BLOCK_EVERY
    filescan.BLOCK = filescan.BLOCK_EVERY = block
    try:
        region = Region(task)
        region.scan(data, 0, len(data))
    finally:
        filescan.BLOCK, filescan.BLOCK_EVERY = old
    out = [0] * len(defs)
    for sigs, g in region.tally.groups.items():
        for s in sigs:
            out[s] += g[0]
    return out


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.filter_too_much, HealthCheck.too_slow])
@given(
    sigs=st.lists(st.tuples(st.sampled_from(["regex", "regex", "literal"]), PATTERNS, st.booleans()),
                  min_size=1, max_size=3),
    data=st.data(),
    crlf=st.booleans(),
    last_eol=st.booleans(),
    block=st.sampled_from([1 << 20, 16, 5]),
)
def test_prefiltered_counts_equal_a_plain_re2_search_of_every_line(
    sigs: list[tuple[str, str, bool]], data: st.DataObject, crlf: bool, last_eol: bool, block: int
) -> None:
    defs = []
    for kind, pattern, ci in sigs:
        assume(_compiles(pattern))
        defs.append(_signature(kind, pattern, ci))
    lines = data.draw(lines_for([p for _, p, _ in sigs]))
    eol = b"\r\n" if crlf else b"\n"
    text = eol.join(lines) + (eol if last_eol else b"")
    assert prefiltered_counts(defs, text, block) == plain_counts(defs, text)


@pytest.mark.parametrize(("pattern", "text"), [
    ("(?i:tls negotiation failed)", b"x,TLS negotiation failed with error SocketError\r\nnothing here\r\n"),
    ("TLS[[:space:]]negotiation failed", b"x,TLS negotiation failed with error SocketError\r\n"),
    (r"(?i)tls|\d{9}", b"TLS\n"),
    (r"^\B", b"ab\n"),                    # an empty match after the last line end is on no line
    (r"(?-m)^tls", b"x\ntls\n"),           # begin-of-text: not the same on a raw buffer
    ("a.b", b"a\xffb\r\n"),               # invalid UTF-8 reads as U+FFFD, which '.' matches
    ("(?i)k|(?-i)zz", "\u212a\n".encode()),  # RE2 folds the Kelvin sign to k
])
def test_known_cases(pattern: str, text: bytes) -> None:
    defs = [_signature("regex", pattern, False)]
    assert prefiltered_counts(defs, text, 1 << 20) == plain_counts(defs, text)
