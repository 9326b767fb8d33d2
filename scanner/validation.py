"""JSON Schema validation with ``file:line:col`` problems.

Wraps :mod:`jsonschema` so that every error points at the node it is about
(an unexpected key points at the key, a missing one at its parent), numbers
written where the schema wants a string are taken as the text that was
written (``version: 1.0`` stays ``"1.0"``), ``format: regex`` means an RE2
regex that compiles, and a number must be finite wherever it stands: ``.nan``
and ``.inf`` are refused whatever the schema says (``timeout: .nan`` would
otherwise pass every bound, since NaN compares false with everything).

jsonschema is imported only when a document is not certainly valid
(:mod:`scanner.fastcheck` answers that for valid files), which keeps
``policyscan scan`` and ``validate`` start-up ~150 ms shorter.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from datetime import date
from functools import cache
from typing import TYPE_CHECKING, Any

from scanner.errors import Problem
from scanner.fastcheck import fast_valid
from scanner.yamlio import Marks, Path_

if TYPE_CHECKING:
    import jsonschema
    from jsonschema import Draft202012Validator, FormatChecker


def _is_re2(value: object) -> bool:
    if not isinstance(value, str):
        return True
    return regex_error(value) is None


_DATE = re.compile(r"\d{4}-\d{2}-\d{2}\Z")


def _is_date(value: object) -> bool:
    """A calendar date written YYYY-MM-DD (RFC 3339 full-date)."""
    if isinstance(value, str):
        return bool(_DATE.match(value)) and bool(date.fromisoformat(value))
    return True


def _fast_date(value: Any) -> bool:
    try:
        return _is_date(value)
    except ValueError:
        return False


_FAST_FORMATS = {"regex": _is_re2, "date": _fast_date}


def regex_error(pattern: str) -> str | None:
    """Why ``pattern`` is not a valid RE2 regex (RE2's reason, as text), or None.

    Nothing is printed: RE2 is told not to log, so its ``re2.cc`` lines never
    reach the user's terminal.
    """
    try:
        pattern.encode("utf-8")
    except UnicodeEncodeError:
        return "the text is not valid Unicode (a lone surrogate?)"
    import re2

    options = re2.Options()
    options.log_errors = False  # the error comes back to us; RE2 must not also print it
    try:
        re2.compile(pattern, options)
    except Exception as exc:  # re2 raises its own error type, with a bytes message
        detail = exc.args[0] if exc.args else ""
        return detail.decode("utf-8", "replace") if isinstance(detail, bytes) else str(detail) or "invalid regex"
    return None


@cache
def format_checker() -> FormatChecker:
    """jsonschema's format checker with our ``regex`` (RE2) and ``date`` (YYYY-MM-DD)."""
    from jsonschema import FormatChecker

    checker = FormatChecker()
    checker.checks("regex", raises=(ValueError,))(_is_re2)
    checker.checks("date", raises=(ValueError,))(_is_date)
    return checker


_validators: dict[int, tuple[Any, Draft202012Validator]] = {}


def validator(schema: Mapping[str, Any]) -> Draft202012Validator:
    """A cached validator for ``schema`` (schemas are built once per run)."""
    key = id(schema)
    hit = _validators.get(key)
    if hit is None or hit[0] is not schema:
        from jsonschema import Draft202012Validator

        hit = (schema, Draft202012Validator(schema, format_checker=format_checker()))
        _validators[key] = hit
    return hit[1]


def dotted(path: Path_) -> str:
    out = ""
    for p in path:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else str(p))
    return out or "(document)"


_EXTRA = re.compile(r"\('([^']*)'")


def _located(err: jsonschema.ValidationError, marks: Marks, base: Path_) -> tuple[Path_, Problem]:
    path: Path_ = (*base, *err.absolute_path)
    message = err.message
    if err.validator == "additionalProperties" and isinstance(err.instance, dict):
        allowed = set(err.schema.get("properties", {})) if isinstance(err.schema, Mapping) else set()
        extras = sorted(k for k in err.instance if k not in allowed)
        if extras:
            key_path = (*path, f"<key:{extras[0]}>")
            line, col = marks.at(key_path) if marks.has(key_path) else marks.at(path)
            known = ", ".join(sorted(allowed)) or "none"
            text = f"{dotted(path)}: unknown key {extras[0]!r} (allowed: {known})"
            return (*path, extras[0]), Problem(marks.file, line, col, text)
    if err.validator == "not" and isinstance(err.validator_value, Mapping) and err.validator_value.get("description"):
        # a schema that forbids something says why in the forbidden schema's description
        message = str(err.validator_value["description"])
    elif err.validator == "format" and err.validator_value == "regex":
        message = f"not a valid RE2 regex: {regex_error(str(err.instance))}"
    elif err.validator == "oneOf" and err.context:
        from jsonschema.exceptions import best_match

        best = best_match(err.context)
        message = best.message
    line, col = marks.at(path)
    return path, Problem(marks.file, line, col, f"{dotted(path)}: {message}")


def _set(doc: Any, path: Path_, value: Any) -> None:
    cur = doc
    for p in path[:-1]:
        cur = cur[p]
    cur[path[-1]] = value


def _non_finite(value: Any, path: Path_, out: list[Path_]) -> None:
    """Append the path of every NaN or infinity inside ``value``."""
    if isinstance(value, float):
        if not math.isfinite(value):
            out.append(path)
    elif isinstance(value, dict):
        for k, v in value.items():
            _non_finite(v, (*path, k), out)
    elif isinstance(value, list):
        for i, v in enumerate(value):
            _non_finite(v, (*path, i), out)


def _schema_errors(doc: Any, schema: Mapping[str, Any], marks: Marks, base: Path_, coerce: bool) -> list[Any]:
    if fast_valid(schema, doc, _FAST_FORMATS) is True:
        return []  # the common case, without jsonschema's cost; anything else gets the full treatment
    v = validator(schema)
    for _ in range(50):
        errors = list(v.iter_errors(doc))
        fixed = False
        if coerce:
            for err in errors:
                want = err.validator_value if err.validator == "type" else None
                wants_str = want == "string" or (isinstance(want, list) and "string" in want)
                full = (*base, *err.absolute_path)
                text = marks.raw(full) if wants_str and err.absolute_path else None
                if text is not None:
                    _set(doc, tuple(err.absolute_path), text)
                    fixed = True
        if not fixed:
            return errors
    return []  # pragma: no cover


def non_finite(doc: Any, marks: Marks, base: Path_ = ()) -> list[Problem]:
    """A problem for every NaN or infinity in ``doc`` (found at ``base`` in its file).

    Refused wherever they stand, whatever a schema says: NaN compares false with
    every bound, so ``timeout: .nan`` would pass ``exclusiveMinimum: 0``.
    """
    if not marks.non_finite:
        return []  # the loader saw no '.nan', '.inf' or overflowing number in the text
    bad: list[Path_] = []
    _non_finite(doc, base, bad)
    return [
        marks.problem(
            path,
            f"{dotted(path)}: {marks.raw(path) or 'this number'} is not a finite number "
            "(write it in quotes if it is text)",
        )
        for path in bad
    ]


def schema_problems(
    doc: Any, schema: Mapping[str, Any], marks: Marks, base: Path_ = (), *, coerce: bool = True
) -> list[tuple[Path_, Problem]]:
    """What in ``doc`` breaks ``schema``, each with its path inside the file.

    Errors about a NaN or an infinity are left to :func:`non_finite`, which says
    it better than "nan is not of type 'integer'"; a caller of this function
    must run that too (:func:`validate` does both).
    """
    found = [
        _located(e, marks, base)
        for e in _schema_errors(doc, schema, marks, base, coerce)
        if not (isinstance(e.instance, float) and not math.isfinite(e.instance))
    ]
    return sorted(found, key=lambda f: (f[1].line, f[1].col, f[1].message))


def validate(
    doc: Any, schema: Mapping[str, Any], marks: Marks, base: Path_ = (), *, coerce: bool = True
) -> list[Problem]:
    """Validate ``doc`` (found at ``base`` inside its file); fix up numbers-as-text in place."""
    found = [problem for _, problem in schema_problems(doc, schema, marks, base, coerce=coerce)]
    return sorted([*found, *non_finite(doc, marks, base)], key=lambda p: (p.line, p.col, p.message))
