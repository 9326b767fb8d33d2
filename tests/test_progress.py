"""Progress lines: drawn on a terminal, never in a pipe or a CI log."""

from __future__ import annotations

import io
import os
import pty

from scanner.progress import Progress, progress_wanted


def test_progress_only_on_a_terminal_and_not_in_ci(monkeypatch):
    master, slave = pty.openpty()
    try:
        tty = os.fdopen(slave, "w")
        monkeypatch.delenv("CI", raising=False)
        assert progress_wanted(tty) is True
        monkeypatch.setenv("CI", "true")
        assert progress_wanted(tty) is False
        assert progress_wanted(io.StringIO()) is False
        tty.close()
    finally:
        os.close(master)


def test_progress_line_counts_and_ends_with_a_newline():
    out = io.StringIO()
    line = Progress("probed SMTP endpoints", 3, True, out)
    for _ in range(3):
        line.advance()
    text = out.getvalue()
    assert text.endswith("\rprobed SMTP endpoints 3/3\n".replace("\r", "\r\x1b[K"))
    quiet = io.StringIO()
    off = Progress("x", 3, False, quiet)
    off.advance(3)
    assert quiet.getvalue() == "" and off.done == 3
