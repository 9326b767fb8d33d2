"""Required literals of an RE2 pattern, read conservatively: anything not fully understood gives up.

The prefilter may only skip a line when no match of the signature can be in
it, so this reader accepts a small, well-understood part of RE2 syntax
(https://github.com/google/re2/wiki/Syntax) and raises :class:`GiveUp` on
everything else (the signature then runs as a regex over every line or over
the raw bytes). Understood: literal characters (``]`` and ``}`` included),
escaped punctuation, ``\\a \\f \\t \\n \\r \\v``, ``\\xHH``, ``\\x{H...}``,
``\\Q...\\E`` (without backslashes inside), ``. ^ $``, ``\\d \\D \\s \\S \\w \\W
\\b \\B \\A \\z``, ``\\pN \\p{Name} \\PN \\P{Name}``, character classes (POSIX
``[:name:]`` inside, ``]`` first), groups ``(...)``, ``(?:...)``,
``(?P<n>...)``, ``(?<n>...)``, flags ``(?imsU-imsU)`` and ``(?flags:...)`` with
their scope, alternation and the repetitions ``* + ? {n} {n,} {n,m}`` (lazy or
not). The stdlib's ``re`` parser is not used: it reads ``(?i:...)`` and
``[[:space:]]`` differently from RE2.
"""

from __future__ import annotations

import re
import string
from dataclasses import dataclass

_PUNCT = frozenset(string.punctuation)
_CONTROL = {"a": "\a", "f": "\f", "t": "\t", "n": "\n", "r": "\r", "v": "\v"}
_CLASS_ESC = frozenset("dDsSwW")
_POSIX = frozenset(("alnum", "alpha", "ascii", "blank", "cntrl", "digit", "graph", "lower", "print", "punct",
                    "space", "upper", "word", "xdigit"))
_REPEAT = re.compile(r"\{([0-9]+)(,([0-9]*))?\}")
_NAME = re.compile(r"[A-Za-z0-9_]+>")
_FLAGS = re.compile(r"([imsU]*)(?:-([imsU]+))?([:)])")


class GiveUp(Exception):
    """The pattern uses syntax this reader does not fully understand."""


@dataclass(frozen=True, slots=True)
class Reading:
    """What a conservative reading found.

    ``alts``: one of these strings is in every match (None: no such literal
    found); ``folded``: some of them are case-insensitive (search them folded);
    ``line_safe``: the regex means the same on a raw multi-line buffer under
    ``(?m)`` as on one line (no ``$``, ``\\A``, ``\\z``, and ``^`` only in
    multi-line mode).
    """

    alts: list[str] | None
    folded: bool
    line_safe: bool


# an option: (alternative literals, any of them case-insensitive), or None for "nothing required"
_Opt = tuple[list[str], bool] | None


def _best(options: list[_Opt]) -> _Opt:
    """The option whose shortest literal is longest (fewest, rarest hits)."""
    good = [o for o in options if o and o[0]]
    if not good:
        return None
    return max(good, key=lambda o: (min(len(a) for a in o[0]), -len(o[0])))


class _Reader:
    """A recursive-descent reader; ``ci``/``multi`` are RE2's parser flags, saved at '(' and restored
    at ')' (a ``(?i)`` holds to the end of its group, across '|')."""

    def __init__(self, pattern: str, ci: bool) -> None:
        self.p = pattern
        self.i = 0
        self.ci = ci
        self.multi = True  # the raw-buffer search runs under a (?m) prefix
        self.line_safe = True

    def peek(self, k: int = 0) -> str:
        j = self.i + k
        return self.p[j] if j < len(self.p) else ""

    def alternation(self) -> _Opt:
        branches = [self.sequence()]
        while self.peek() == "|":
            self.i += 1
            branches.append(self.sequence())
        if len(branches) == 1:
            return branches[0]
        alts: list[str] = []
        folded = False
        for b in branches:
            if not b:
                return None  # a branch with no required literal: nothing is required of the whole
            alts.extend(b[0])
            folded |= b[1]
        return alts, folded

    def sequence(self) -> _Opt:
        options: list[_Opt] = []
        run: list[str] = []
        run_ci = False

        def close() -> None:
            nonlocal run_ci
            if run:
                options.append((["".join(run)], run_ci))
            run.clear()
            run_ci = False

        while self.i < len(self.p) and self.peek() not in "|)":
            if self.peek() == "(" and self.peek(1) == "?" and (m := _FLAGS.match(self.p, self.i + 2)) \
                    and m.group(3) == ")":
                self._flags(m)  # (?flags): to the end of the enclosing group
                self.i = m.end()
                continue
            atom = self.atom()
            if isinstance(atom, list):  # \Q...\E: literal characters; a repetition takes the last one
                for ch in atom[:-1]:
                    run.append(ch)
                    run_ci |= self._folds(ch)
                atom = atom[-1]
            lo = self.repeat()
            if isinstance(atom, str):
                if lo == 0:
                    close()
                    continue
                run.append(atom)
                run_ci |= self._folds(atom)
                if lo is not None:  # one copy is required; what follows need not be adjacent to it
                    close()
                continue
            close()
            if lo is None or lo >= 1:
                options.append(atom)
        close()
        return _best(options)

    def _folds(self, ch: str) -> bool:
        """Whether this literal character, read now, may match other characters (case folding)."""
        return self.ci and not (ch.isascii() and not ch.isalpha())

    def _flags(self, m: re.Match[str]) -> None:
        on, off = m.group(1), m.group(2) or ""
        if not on and not off:
            raise GiveUp
        if set(on) & set(off):
            raise GiveUp
        if "i" in on:
            self.ci = True
        if "i" in off:
            self.ci = False
        if "m" in on:
            self.multi = True
        if "m" in off:
            self.multi = False

    def repeat(self) -> int | None:
        """The minimum count of a repetition operator here (consumed), or None when there is none."""
        c = self.peek()
        lo: int | None = None
        if c in ("*", "?"):
            lo, self.i = 0, self.i + 1
        elif c == "+":
            lo, self.i = 1, self.i + 1
        elif c == "{":
            m = _REPEAT.match(self.p, self.i)
            if not m:
                raise GiveUp  # RE2 reads a '{' that is no repetition as a literal: not worth the risk
            lo, self.i = int(m.group(1)), m.end()
        else:
            return None
        if self.peek() == "?":
            self.i += 1
        if self.peek() and self.peek() in "*+?{":
            raise GiveUp  # RE2 refuses repeated repetitions; do not guess
        return lo

    def atom(self) -> str | list[str] | _Opt:
        """A literal character (str), \\Q...\\E characters (list), or what another atom requires."""
        c = self.peek()
        if not c or c in "*+?{":
            raise GiveUp  # repetition of nothing
        self.i += 1
        if c == "(":
            return self.group()
        if c == "[":
            self.char_class()
            return None
        if c == ".":
            return None
        if c == "^":
            self.line_safe &= self.multi
            return None
        if c == "$":
            self.line_safe = False
            return None
        if c == "\\":
            return self.escape()
        return c

    def group(self) -> _Opt:
        saved = self.ci, self.multi
        if self.peek() == "?":
            if self.p.startswith("?P<", self.i) or self.p.startswith("?<", self.i):
                m = _NAME.match(self.p, self.i + (3 if self.peek(1) == "P" else 2))
                if not m:
                    raise GiveUp
                self.i = m.end()
            else:
                m = _FLAGS.match(self.p, self.i + 1)
                if not m or m.group(3) != ":":
                    raise GiveUp
                if m.group(1) or m.group(2):
                    self._flags(m)
                self.i = m.end()
        got = self.alternation()
        if self.peek() != ")":
            raise GiveUp
        self.i += 1
        self.ci, self.multi = saved
        return got

    def escape(self) -> str | list[str] | None:
        c = self.peek()
        if not c:
            raise GiveUp
        self.i += 1
        if c in _PUNCT:
            return c
        if c in _CONTROL:
            return _CONTROL[c]
        if c in _CLASS_ESC or c in "bB":
            return None
        if c in "Az":
            self.line_safe = False
            return None
        if c in "pP":
            if self.peek() == "{":
                end = self.p.find("}", self.i)
                if end == -1:
                    raise GiveUp
                self.i = end + 1
            elif self.peek().isascii() and self.peek().isalpha():
                self.i += 1
            else:
                raise GiveUp
            return None
        if c == "x":
            return self.hex_escape()
        if c == "Q":
            end = self.p.find("\\E", self.i)
            body = self.p[self.i :] if end == -1 else self.p[self.i : end]
            if "\\" in body or not body:
                raise GiveUp
            self.i = len(self.p) if end == -1 else end + 2
            return list(body)
        raise GiveUp

    def hex_escape(self) -> str:
        if self.peek() == "{":
            end = self.p.find("}", self.i)
            if end == -1:
                raise GiveUp
            digits = self.p[self.i + 1 : end]
            self.i = end + 1
        else:
            digits = self.p[self.i : self.i + 2]
            self.i += 2
        if not 1 <= len(digits) <= 6 or any(d not in string.hexdigits for d in digits):
            raise GiveUp
        code = int(digits, 16)
        if code > 0x10FFFF or 0xD800 <= code <= 0xDFFF:
            raise GiveUp
        return chr(code)

    def char_class(self) -> None:
        """Skip a character class (its '[' is consumed), delimited as RE2 delimits it."""
        if self.peek() == "^":
            self.i += 1
        first = True
        while self.i < len(self.p) and (self.peek() != "]" or first):
            first = False
            if self.p.startswith("[:", self.i) and (end := self.p.find(":]", self.i + 2)) != -1:
                if self.p[self.i + 2 : end].removeprefix("^") not in _POSIX:
                    raise GiveUp
                self.i = end + 2
                continue
            if self.peek() == "\\":
                nxt = self.peek(1)
                if nxt in ("p", "P", "x") and self.peek(2) == "{":
                    end = self.p.find("}", self.i)
                    if end == -1:
                        raise GiveUp
                    self.i = end + 1
                    continue
                if not nxt or nxt == "Q":
                    raise GiveUp
                self.i += 2
                continue
            self.i += 1
        if self.peek() != "]":
            raise GiveUp
        self.i += 1


def read(pattern: str, ignore_case: bool) -> Reading:
    """Read an RE2 pattern; :class:`GiveUp` when it uses syntax not understood here."""
    r = _Reader(pattern, ignore_case)
    got = r.alternation()
    if r.i != len(r.p):
        raise GiveUp  # an unmatched ')'
    return Reading(got[0] if got else None, bool(got and got[1]), r.line_safe)
