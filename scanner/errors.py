"""The exception tree of policyscan.

    PolicyscanError            base of every error we raise on purpose
    ├── UsageError             bad command line: exit 2
    ├── LoadError              invalid policy / inventory / waiver file(s): exit 2;
    │                          carries every problem found, each with file:line:col
    └── PluginError            a plugin could not be loaded, or two plugins claim one
                               name: start-up stops, exit 2

Anything else that escapes is a bug: the CLI writes a traceback file and exits 4.
"""

from __future__ import annotations

from dataclasses import dataclass


class PolicyscanError(Exception):
    """Base class of the errors policyscan raises on purpose."""


class UsageError(PolicyscanError):
    """The command line asks for something impossible (a missing file, a bad option)."""


class PluginError(PolicyscanError):
    """A plugin failed to load, or names collide between plugins."""


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong in an input file, with where it is."""

    file: str
    line: int
    col: int
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.col}: {self.message}"


class LoadError(PolicyscanError):
    """One or more input files are invalid; nothing may be scanned."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = sorted(problems, key=lambda p: (p.file, p.line, p.col, p.message))
        super().__init__("\n".join(str(p) for p in self.problems))
