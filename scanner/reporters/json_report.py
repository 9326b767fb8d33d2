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
from collections.abc import Iterator
from typing import IO, Any

from scanner.api import Reporter, ReportOptions, hookimpl
from scanner.gcpause import paused_gc
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


_RESULTS_PER_CHUNK = 5000
_EMPTY_RESULTS = b'"results": []'


def chunks(report: Report) -> Iterator[bytes]:
    """The document in pieces: the envelope, then the results a few thousand at a time.

    The bytes are exactly ``render(report.to_json())``; streaming keeps memory flat
    (no dict for every result, no single 200 MB buffer) on fleet-sized reports.
    """
    head = render(report.to_json(with_results=False))
    cut = head.rindex(_EMPTY_RESULTS) + len(_EMPTY_RESULTS) - 2
    yield head[:cut]
    results = report.results
    if not results:
        yield head[cut:]
        return
    yield b"[\n"
    for start in range(0, len(results), _RESULTS_PER_CHUNK):
        block = render([r.to_json() for r in results[start : start + _RESULTS_PER_CHUNK]])
        # a top-level list renders its items two spaces deep; in the document they sit four deep
        items = block[2 : block.rindex(b"\n]")].replace(b"\n", b"\n  ")
        yield (b",\n  " if start else b"  ") + items
    yield b"\n  " + head[cut + 1 :]


def write(report: Report, stream: IO[str], options: ReportOptions) -> None:
    """Write the JSON report of ``report`` to ``stream`` (``options`` is not used: JSON has no colour)."""
    buffer = _byte_buffer(stream)
    if buffer is not None:
        stream.flush()
    with paused_gc():
        for data in chunks(report):
            if buffer is not None:
                buffer.write(data)
            else:
                text = data.decode("utf-8")
                for start in range(0, len(text), _CHUNK):
                    stream.write(text[start : start + _CHUNK])
    if buffer is not None:
        buffer.flush()


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
