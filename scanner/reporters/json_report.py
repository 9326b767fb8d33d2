"""The ``json`` reporter: the SPEC §7 document, as :meth:`Report.to_json` builds it.

UTF-8, ``ensure_ascii=False``, two-space indent, keys in the model's fixed
order (no sorting: ``schema``, ``tool``, ... ``results`` read top-down). The
document validates against ``scanner/schemas/report.schema.json``
(``policyscan schema report``).

Speed: a scan of 10,000 targets gives hundreds of thousands of results. The
standard library's indenting encoder is pure Python (only the compact encoder
is in C), so when ``orjson`` is importable it does the encoding; its output is
the same text (``OPT_INDENT_2``). Anything orjson refuses (an integer beyond
64 bits, a non-string key) falls back to the standard library.
"""

from __future__ import annotations

import io
import json
from typing import IO, Any

from scanner.api import Reporter, ReportOptions, hookimpl
from scanner.output import paused_gc
from scanner.report import Report

try:  # optional accelerator; the output is the same text either way
    import orjson as _orjson
except ImportError:  # pragma: no cover - depends on the environment
    _orjson = None  # type: ignore[assignment]

_CHUNK = 1 << 20


def render(document: Any, use_orjson: bool = True) -> bytes:
    """Return ``document`` as indented UTF-8 JSON with a final newline."""
    if use_orjson and _orjson is not None:
        try:
            return _orjson.dumps(document, option=_orjson.OPT_INDENT_2 | _orjson.OPT_APPEND_NEWLINE)
        except (TypeError, _orjson.JSONEncodeError):
            pass  # e.g. an int beyond 64 bits or a non-string key; the standard library copes
    try:
        return (json.dumps(document, indent=2, ensure_ascii=False) + "\n").encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate (an undecodable file name): escape it as \udcXX
        return (json.dumps(document, indent=2, ensure_ascii=True) + "\n").encode("ascii")


def _byte_buffer(stream: IO[str]) -> io.BufferedIOBase | io.RawIOBase | None:
    """The binary buffer under a text stream, if any: writing the UTF-8 bytes there skips
    decoding and re-encoding hundreds of MB, and keeps the report UTF-8 (RFC 8259) even
    when the text layer has another encoding (a Windows console, LANG=C)."""
    buffer = getattr(stream, "buffer", None)
    return buffer if isinstance(buffer, io.BufferedIOBase | io.RawIOBase) else None


def write(report: Report, stream: IO[str], options: ReportOptions) -> None:
    """Write the JSON report of ``report`` to ``stream`` (``options`` is not used: JSON has no colour)."""
    with paused_gc():
        data = render(report.to_json())
    buffer = _byte_buffer(stream)
    if buffer is not None:
        stream.flush()
        buffer.write(data)
        buffer.flush()
    else:
        text = data.decode("utf-8")
        for start in range(0, len(text), _CHUNK):
            stream.write(text[start : start + _CHUNK])


@hookimpl
def register_reporters() -> list[Reporter]:
    return [
        Reporter(
            name="json",
            write=write,
            description="The full report as JSON (SPEC §7; schema: policyscan schema report)",
            extension=".json",
        )
    ]
