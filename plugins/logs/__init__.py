"""The ``logs`` plugin: the ``log_signatures`` check type.

Finds forbidden signatures (literals or RE2 regexes) in Exchange W3C logs (SMTP
send/receive protocol logs, message tracking, any log with a ``#Fields``
header), ``Get-Queue`` exports (Format-List text or Export-Csv) and plain text
logs, plain or ``.gz`` (one or more members), UTF-8 (BOM or not) or UTF-16
(either byte order, BOM or not), CRLF or LF. The whole of every file is judged
as text, in the same pass as the search: an undecodable byte (Windows ANSI,
random bytes), a NUL, broken or misaligned UTF-16, or 8-bit lines appended to a
UTF-16 file anywhere in it is ``error`` naming ``file:line`` (or the byte
offset), never an empty pass; a signature found anyway still fails. A file with
no content line (empty, blank or header-only: logging disabled) proves nothing:
``error`` ("no log lines in N file(s)"). A W3C log's kind comes from its header
block; one with ``#Fields`` but no ``#Log-type`` needs ``KIND=``.

All signatures of all rules for one target are found in one pass over each
file (per kind it is configured as): a literal prefilter runs over raw bytes
first, and only candidate lines are decoded and parsed. The prefilter's
literals come from a conservative reading of RE2 syntax
(:mod:`plugins.logs.literals`); a property test checks prefiltered counts
against a plain RE2 search of every line. Facts per target (plain JSON)::

    {"collected_at": ISO, "kinds": [kind, ...],
     "globs": [{"kind": k|null, "glob": g, "files": n, "error": str|null}],
     "signatures": [{"key", "id", "type": literal|regex, "pattern", "ignore_case", "field"}],
     "files": [{"path", "kind", "format", "bytes", "read", "has_lines", "encoding", "bom", "gzip",
                "signatures": [sig index],
                "groups": [{"sigs": [sig index], "count", "undated", "times": [epoch ms],
                            "all_times": bool}],  # every dated line's time, or first and last only
                "samples": {sig index: [{"source": "path:line", "line", "time", "text"}]},
                "missing_fields": [...], "error": str|null}]}

An entry with an ``error`` (English, its problems joined with ``"; "``) also has
``errors``: each problem as ``{"msgid": template, "args": {...}}`` (a field may
itself be one), which the verdict formats in the run's language (``--lang``;
catalogs in ``plugins/logs/locale``, gettext domain ``policyscan-logs``; see
:mod:`plugins.logs.messages`). Log lines, paths and patterns are never translated.

``bytes`` is the file's size when listed and ``read`` the bytes of it read
(compressed, for gzip): a file counts as proof only when it was read whole.
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
