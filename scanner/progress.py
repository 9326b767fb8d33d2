"""Progress on a terminal: one line on stderr, redrawn at most ten times a second.

Long work (thousands of targets, hundreds of SMTP endpoints) shows how far it
got, but only for a person at a terminal: never in a pipe or a CI log, where
the redrawn line would be noise. Collectors get the decision in
``RunContext.progress`` and may use :class:`Progress` themselves.
"""

from __future__ import annotations

import os
import sys
import time
from typing import IO


def progress_wanted(stream: IO[str] | None = None) -> bool:
    """True when ``stream`` (stderr) is a terminal and this is not a CI run."""
    out = stream or sys.stderr
    try:
        return out.isatty() and not os.environ.get("CI")
    except ValueError:  # a closed stream
        return False


class Progress:
    """``label done/total`` on one redrawn line; does nothing when ``enabled`` is False."""

    def __init__(self, label: str, total: int, enabled: bool, stream: IO[str] | None = None) -> None:
        self.label = label
        self.total = total
        self.done = 0
        self.enabled = enabled and total > 0
        self.stream = stream or sys.stderr
        self._last = 0.0

    def advance(self, n: int = 1) -> None:
        self.done += n
        if not self.enabled:
            return
        now = time.monotonic()
        if self.done >= self.total or now - self._last >= 0.1:
            self._last = now
            self.stream.write(f"\r\x1b[K{self.label} {self.done}/{self.total}")
            if self.done >= self.total:
                self.stream.write("\n")
            self.stream.flush()
