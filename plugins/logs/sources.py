"""Which files a target's ``logs`` source names, and what kind each one is.

A source is a mapping ``{kind: [glob, ...]}`` (inventory) or a list of
``[KIND=]GLOB`` strings (command line). Relative globs are relative to the
target's ``base_dir``. ``**`` matches any depth without following symlinked
directories, so a symlink loop cannot make the walk loop.
"""

from __future__ import annotations

import glob as globmod
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from plugins.logs.messages import Text
from plugins.logs.schema import _WORD_EQ, KINDS, split_kind
from scanner.i18n import N_


@dataclass(frozen=True, slots=True)
class Entry:
    """One configured glob: its kind (None: detect from each file) and the files it matched."""

    kind: str | None
    glob: str
    files: tuple[Path, ...]
    errors: tuple[str, ...] = ()
    """Why the glob was not even looked at (a ``WORD=`` that is not a kind), or what it matched
    that is not a regular file (its regular files are still read): :class:`Text` s."""

    @property
    def error(self) -> str | None:
        """:attr:`errors` in English, joined (None when there is none)."""
        return "; ".join(self.errors) or None


def entries(target: Any) -> list[tuple[str | None, str, Text | None]]:
    """``(kind or None, glob, error)`` of the target's ``logs`` source, in the order given."""
    src = target.sources.get("logs")
    out: list[tuple[str | None, str, Text | None]] = []
    if isinstance(src, dict):
        for kind, globs in src.items():
            for g in [globs] if isinstance(globs, str) else list(globs or []):
                out.append((str(kind), str(g), None))
        return out
    specs = [src] if isinstance(src, str) else [str(s) for s in src] if isinstance(src, list | tuple) else []
    for spec in specs:
        try:
            out.append((*split_kind(spec), None))
        except ValueError:
            out.append((None, spec, _bad_spec(spec)))
    return out


def not_regular(target: Any, pattern: str) -> list[str]:
    """What a glob matches that is not a regular file (a FIFO, a device, a directory, a broken
    link): never read, and never silently left out."""
    full = str(target.path(pattern))
    if "**" in full:
        return []  # the walk lists files only; directories are how it descends
    found = globmod.glob(full) if globmod.has_magic(full) else [full] if os.path.lexists(full) else []
    return sorted(p for p in found if not os.path.isfile(p))


def expand(target: Any, pattern: str) -> tuple[Path, ...]:
    """The regular files a glob matches, sorted; ``**`` never follows symlinked directories."""
    full = str(target.path(pattern))
    if "**" not in full:
        found = globmod.glob(full) if globmod.has_magic(full) else [full]
        return tuple(sorted(Path(p) for p in found if os.path.isfile(p)))
    head, _, rest = full.partition("**")
    root = head.rstrip("/\\") or "."
    roots = [r for r in globmod.glob(root) if os.path.isdir(r)] if globmod.has_magic(root) else [root]
    rx = re.compile(_translate("**" + rest))
    out: set[Path] = set()
    for r in roots:
        for dirpath, _dirs, files in os.walk(r, followlinks=False):
            for name in files:
                p = os.path.join(dirpath, name)
                rel = os.path.relpath(p, r).replace(os.sep, "/")
                if rx.fullmatch(rel) and os.path.isfile(p):
                    out.add(Path(p))
    return tuple(sorted(out))


def _translate(pattern: str) -> str:
    """A glob with ``**`` as a regex over ``/``-separated relative paths."""
    pattern = pattern.replace("\\", "/").lstrip("/")
    out, i = [], 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif pattern.startswith("**", i):
            out.append(".*")
            i += 2
        elif pattern[i] == "*":
            out.append("[^/]*")
            i += 1
        elif pattern[i] == "?":
            out.append("[^/]")
            i += 1
        elif pattern[i] == "[" and (j := pattern.find("]", i + 2)) != -1:
            body = pattern[i + 1 : j]
            out.append("[" + ("^" + body[1:] if body.startswith("!") else body) + "]")
            i = j + 1
        else:
            out.append(re.escape(pattern[i]))
            i += 1
    return "".join(out)


def resolve(target: Any) -> list[Entry]:
    """Every configured glob of the target with the files it matches; a glob that also matches
    something that is not a regular file has an error naming it."""
    out = []
    for kind, g, err in entries(target):
        files = () if err else expand(target, g)
        errors: tuple[str, ...] = (err,) if err else ()
        if err is None and (odd := not_regular(target, g)):
            errors = tuple(Text(N_("{path}: matched by {glob} but not a regular file ({what}), so not read"),
                                path=p, glob=repr(g), what=_what(p)) for p in odd)
        out.append(Entry(kind, g, files, errors))
    return out


def _bad_spec(spec: str) -> Text:
    """Why ``[KIND=]GLOB`` was refused (as :func:`plugins.logs.schema.split_kind` says it)."""
    m = _WORD_EQ.match(spec)
    kind = m.group(1) if m else ""
    if kind and kind not in KINDS:
        return Text(N_("{spec}: {kind} is not a log kind; KIND=GLOB takes one of {kinds}"), spec=repr(spec),
                    kind=repr(kind), kinds=", ".join(KINDS))
    return Text(N_("{spec}: no glob after {kind}="), spec=repr(spec), kind=kind)


def _what(path: str) -> Text:
    import stat

    try:
        mode = os.stat(path).st_mode
    except OSError:
        return Text(N_("a broken link"))
    if stat.S_ISDIR(mode):
        return Text(N_("a directory"))
    if stat.S_ISFIFO(mode):
        return Text(N_("a FIFO"))
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return Text(N_("a device"))
    return Text(N_("a special file"))
