"""Compiled signatures and the per-file tally of matching lines.

A :class:`Matchers` set is built once per worker process from the plain-JSON
definitions; :class:`Tally` counts matching lines per set of signatures they
matched (so a line that matches two signatures counts once for a rule that
forbids both), keeps every line's time for ``within`` windows, and a capped
sample of lines per signature.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping, Sequence
from typing import Any

SAMPLE_CAP = 5
"""Sample lines kept per signature per file (the first ones, and the last ones when windows apply)."""


_UNANCHORED: Any = None


def _raw_regexp(compiled: Any) -> Any:
    """The compiled RE2 object under the ``re2`` wrapper, when this version exposes it (else False:
    the wrapper's own search is used)."""
    global _UNANCHORED
    try:
        from re2 import _re2

        raw = compiled._regexp
        _UNANCHORED = _re2.RE2.Anchor.UNANCHORED
        raw.Match(_UNANCHORED, b"", 0, 0)
    except Exception:  # another wrapper version: no shortcut
        return False
    return raw


class Matchers:
    """Line verifiers for signature definitions (literal ``in`` tests or RE2 regexes)."""

    def __init__(self, defs: Sequence[Mapping[str, Any]]) -> None:
        import re2

        self.defs = defs
        self.fields = [d["field"].lower() if d.get("field") else None for d in defs]
        self.tests: list[Any] = []
        self.errors: dict[int, str] = {}
        for i, d in enumerate(defs):
            pattern = d["pattern"]
            if d["type"] == "literal" and not d["ignore_case"]:
                self.tests.append((False, pattern, False))
                continue
            try:  # a case-insensitive literal folds as RE2 folds (as the prefilter's search does)
                opts = re2.Options()
                opts.case_sensitive = not d["ignore_case"]
                opts.log_errors = False
                rx = re2.escape(pattern) if d["type"] == "literal" else pattern
                compiled = re2.compile(rx, opts)
                self.tests.append((True, compiled, _raw_regexp(compiled)))
            except Exception as exc:  # re2.error, or a pattern re2 cannot take
                self.errors[i] = f"regex {pattern!r} is not valid RE2: {exc}"
                self.tests.append((False, "\x00never\x00", False))

    def hit(self, i: int, subject: str) -> bool:
        is_re, test, raw = self.tests[i]
        if is_re:
            if raw:  # the wrapper's str search maps offsets both ways: ten times the cost of a match
                data = subject.encode("utf-8", "surrogatepass")
                return bool(raw.Match(_UNANCHORED, data, 0, len(data))[0][0] != -1)
            return test.search(subject) is not None
        return test in subject


class Tally:
    """Matching lines of one file (or one byte range of it)."""

    def __init__(self, keep_last: bool) -> None:
        """``keep_last``: a window applies, so keep every line's time and the last samples too
        (else only each group's first and last time)."""
        self.groups: dict[tuple[int, ...], list[Any]] = {}
        self.first: dict[int, list[tuple[int, int | None, str]]] = {}
        self.last: dict[int, deque[tuple[int, int | None, str]]] = {}
        self.keep_last = keep_last

    def add(self, sigs: tuple[int, ...], pos: int, ms: int | None, text: str) -> None:
        """Count one matching line; ``text`` is kept as is (escaped and cut only for output)."""
        g = self.groups.get(sigs)
        if g is None:
            g = self.groups[sigs] = [0, 0, []]
        g[0] += 1
        if ms is None:
            g[1] += 1
        elif self.keep_last:
            g[2].append(ms)
        elif not g[2]:
            g[2] = [ms, ms]
        else:
            g[2][0], g[2][1] = min(g[2][0], ms), max(g[2][1], ms)
        for s in sigs:
            first = self.first.setdefault(s, [])
            if len(first) < SAMPLE_CAP:
                first.append((pos, ms, text))
            elif self.keep_last:
                self.last.setdefault(s, deque(maxlen=SAMPLE_CAP)).append((pos, ms, text))

    def sample_positions(self) -> list[int]:
        seen = {p for lst in self.first.values() for p, _, _ in lst}
        seen |= {p for dq in self.last.values() for p, _, _ in dq}
        return sorted(seen)

    def to_json(self, line_of: Mapping[int, int]) -> dict[str, Any]:
        from plugins.logs.formats import shown

        """Plain JSON: groups with counts and sorted times; samples with their byte offset (``pos``)
        and line number when already known (else the collector counts lines for the samples it keeps)."""
        samples: dict[str, list[dict[str, Any]]] = {}
        for s, lst in self.first.items():
            items = list(lst) + list(self.last.get(s, ()))
            samples[str(s)] = [
                {"pos": p, "line": line_of.get(p), "time": ms, "text": shown(text)} for p, ms, text in items
            ]
        return {
            "groups": [
                {"sigs": list(k), "count": g[0], "undated": g[1], "times": sorted(g[2]),
                 "all_times": self.keep_last}
                for k, g in sorted(self.groups.items())
            ],
            "samples": samples,
        }
