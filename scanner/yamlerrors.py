"""Saying what is wrong with text that is not YAML, on the line where the mistake is.

The YAML scanner reports where it *noticed* a problem, which is often lines
after the mistake, in its own words: an unclosed quote is found at the end of
the file, a key without its ``:`` on the line after, a tab "cannot start any
token". :func:`explain` turns the common cases back into the line a person
must fix and a message that names the mistake:

- a tab in the indentation: ``7:1: a tab character indents this line; YAML
  allows only spaces``;
- a quote never closed: located where it opened;
- a quote that runs on past its line and makes a later line fail: located
  where it opened, naming the line where the parse failed;
- a key without ``:`` (``severity high``): located on that line, also when its
  text ran on into the next line.

Anything else keeps the scanner's own words and position.
"""

from __future__ import annotations

import re

import yaml

from scanner.errors import Problem

_BREAKS = re.compile("\r\n|\r|\n|\x85|\u2028|\u2029")  # the line breaks YAML knows


def _line(text: str, index: int) -> str:
    lines = _BREAKS.split(text)
    return lines[index] if 0 <= index < len(lines) else ""


def _tab(text: str, mark: yaml.Mark, file: str) -> Problem | None:
    line = _line(text, mark.line)
    indent = line[: len(line) - len(line.lstrip(" \t"))]
    if "\t" in indent:
        col = indent.index("\t") + 1
        return Problem(file, mark.line + 1, col, "a tab character indents this line; YAML allows only spaces")
    if 0 <= mark.column < len(line) and line[mark.column] == "\t":
        message = "a tab character here; YAML indents and separates with spaces"
        return Problem(file, mark.line + 1, mark.column + 1, message)
    return None


def _runaway(text: str, failed: yaml.Mark) -> yaml.ScalarToken | None:
    """The last scalar before ``failed`` if it began on an earlier line and ends on that line.

    A quoted one usually means a missing closing quote (the scanner took every
    line up to the next quote as text); a plain one, a key whose ``:`` is
    missing (its text ran on into the next line, and that line's ``:`` failed).
    """
    last: yaml.ScalarToken | None = None
    try:
        for token in yaml.scan(text, Loader=yaml.SafeLoader):
            if (token.start_mark.line, token.start_mark.column) >= (failed.line, failed.column):
                break
            if isinstance(token, yaml.ScalarToken):
                last = token
    except yaml.YAMLError:
        pass
    if last is not None and last.start_mark.line < last.end_mark.line == failed.line:
        return last
    return None


def explain(exc: yaml.MarkedYAMLError, text: str, file: str) -> Problem:
    """One located problem for ``exc``, raised while reading ``text`` from ``file``."""
    context = str(exc.context or "")
    problem = str(exc.problem or "")
    where = exc.problem_mark or exc.context_mark
    if where is None:
        return Problem(file, 1, 1, f"invalid YAML: {' '.join(filter(None, (context, problem)))}")
    if "tab" in problem or "cannot start any token" in problem:
        tab = _tab(text, where, file)
        if tab is not None:
            return tab
    opened = exc.context_mark
    if "quoted scalar" in context and "end of stream" in problem and opened is not None:
        quote = _line(text, opened.line)[opened.column : opened.column + 1] or "quote"
        return Problem(
            file, opened.line + 1, opened.column + 1, f"invalid YAML: the {quote} opened here is never closed"
        )
    if "simple key" in context and "':'" in problem and opened is not None:
        return Problem(
            file,
            opened.line + 1,
            opened.column + 1,
            "invalid YAML: this line is not 'key: value' (is the ':' after the key missing?)",
        )
    what = " ".join(filter(None, (context, problem)))
    failed = exc.problem_mark
    runaway = _runaway(text, failed) if failed is not None else None
    if failed is not None and runaway is not None:
        start, quote = runaway.start_mark, runaway.style
        if quote in ("'", '"'):
            return Problem(
                file,
                start.line + 1,
                start.column + 1,
                f"invalid YAML: the {quote} opened here is not closed on its line; the text runs on to "
                f"line {failed.line + 1}, where the parse fails ({what}). Is the closing {quote} missing?",
            )
        if "mapping values are not allowed" in problem:
            return Problem(
                file,
                start.line + 1,
                start.column + 1,
                f"invalid YAML: this line is not 'key: value' (is the ':' after the key missing?); "
                f"its text runs on into line {failed.line + 1}, where the parse fails",
            )
    return Problem(file, where.line + 1, where.column + 1, f"invalid YAML: {what}")
