"""The ``logs`` plugin: the ``log_signatures`` check type.

Finds forbidden signatures (literals or RE2 regexes) in Exchange W3C logs (SMTP
send/receive protocol logs, message tracking, any log with a ``#Fields``
header), ``Get-Queue`` exports (Format-List text or Export-Csv) and plain text
logs, plain or ``.gz``, UTF-8 (BOM or not) or UTF-16 with BOM, CRLF or LF.

All signatures of all rules for one target are found in one pass over each
file: a literal prefilter runs over raw bytes first, and only candidate lines
are decoded and parsed. Facts per target (plain JSON)::

    {"collected_at": ISO, "kinds": [kind, ...],
     "globs": [{"kind": k|null, "glob": g, "files": n, "error": str|null}],
     "signatures": [{"key", "id", "type": literal|regex, "pattern", "ignore_case", "field"}],
     "files": [{"path", "kind", "format", "bytes", "signatures": [sig index],
                "groups": [{"sigs": [sig index], "count", "undated", "times": [epoch ms],
                            "all_times": bool}],  # every dated line's time, or first and last only
                "samples": {sig index: [{"source": "path:line", "line", "time", "text"}]},
                "missing_fields": [...], "error": str|null, "skipped": null|{"last", "window_start"}}]}

A group counts the lines that matched exactly that set of signatures, so a rule
counts a line once however many of its signatures it matches. This module
imports nothing heavy (no re2, no multiprocessing).
"""

from __future__ import annotations

from scanner.api import CheckType, hookimpl


@hookimpl
def register_check_types() -> list[CheckType]:
    """Contribute ``log_signatures``."""
    from plugins.logs.collector import check_type

    return [check_type()]
