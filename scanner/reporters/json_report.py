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
from collections.abc import Iterator, Mapping, Sequence
from typing import IO, Any

from scanner.api import Reporter, ReportOptions, ResultStream, hookimpl
from scanner.gcpause import paused_gc
from scanner.report import Report, Result

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


_RESULTS_PER_BLOCK = 1000
_EMPTY_RESULTS = b'"results": []'
_SEPARATOR = b","


def head(report: Report) -> bytes:
    """The document up to and including the ``[`` that opens ``results``."""
    envelope = render(report.to_json(with_results=False))
    return envelope[: envelope.rindex(_EMPTY_RESULTS) + len(_EMPTY_RESULTS) - 1]


def _blocks(results: Sequence[Result]) -> Iterator[bytes]:
    """The results as they sit in the document, a thousand at a time: each result on new
    lines, four spaces deep. Blocks are joined with ``,`` (:data:`_SEPARATOR`).

    (A thousand results make about 800 KB: small enough for the allocator to reuse
    the memory of the last block, where one block per batch of 256 targets, 8 MB,
    costs fresh pages every time.)
    """
    for start in range(0, len(results), _RESULTS_PER_BLOCK):
        yield _block(results[start : start + _RESULTS_PER_BLOCK])


def _block(results: Sequence[Result]) -> bytes:
    if _orjson is not None:
        # Wrapped in one more list, orjson indents the results four deep as the document
        # has them, and takes enums, tuples and other mappings as they are (see _plain):
        # no dict copy of each result's parts, no re-indenting pass over the bytes.
        try:
            block = _orjson.dumps([[_fields(r) for r in results]], default=_plain, option=_orjson.OPT_INDENT_2)
            return block[_NESTED_OPEN:-_NESTED_CLOSE]
        except (TypeError, _orjson.JSONEncodeError):
            pass  # as in render(): the standard library copes
    block = render([r.to_json() for r in results], use_orjson=False)
    # a top-level list renders its items two spaces deep; in the document they sit four deep
    return b"\n  " + block[2 : block.rindex(b"\n]")].replace(b"\n", b"\n  ")


def write_results(_report: Report, results: Sequence[Result], out: IO[bytes]) -> None:
    """A run of results (:data:`STREAM`); runs are joined with ``,``; an empty run writes nothing."""
    for i, block in enumerate(_blocks(results)):
        if i:
            out.write(_SEPARATOR)
        out.write(block)


_NESTED_OPEN = len(b"[\n  [")
_NESTED_CLOSE = len(b"\n  ]\n]")


def _fields(r: Result) -> dict[str, Any]:
    """What :meth:`Result.to_json` gives, with its values left as they are for orjson."""
    # a literal after unpacking: twice as fast as dict(zip(...)), and this runs for every result
    target, policy, rule, title, severity, status, outcome, message, expected, actual, evidence, remediation, \
        waiver, check_type, _references = r
    return {
        "target": target, "policy": policy, "rule": rule, "title": title, "severity": severity, "status": status,
        "outcome": outcome, "message": message, "expected": expected, "actual": actual, "evidence": evidence,
        "remediation": remediation, "waiver": waiver, "check_type": check_type,
    }  # fmt: skip


def _plain(value: Any) -> Any:
    """orjson's ``default``: any other mapping as a dict; anything else is refused."""
    if isinstance(value, Mapping):
        return dict(value)
    raise TypeError(f"not JSON: {type(value).__name__}")


def tail(report: Report) -> bytes:
    """What closes ``results`` and the document."""
    return b"\n  ]\n}\n" if report.results or report.summary()["total"] else b"]\n}\n"


def chunks(report: Report) -> Iterator[bytes]:
    """The document in pieces: the envelope, then the results a thousand at a time.

    The bytes are exactly ``render(report.to_json())``; streaming keeps memory flat
    (no dict for every result, no single 200 MB buffer) on fleet-sized reports.
    A streamed scan assembles the same pieces from its workers (:data:`STREAM`).
    """
    yield head(report)
    for i, block in enumerate(_blocks(report.results)):
        if i:
            yield _SEPARATOR
        yield block
    yield tail(report)


STREAM = ResultStream(head=head, write_results=write_results, tail=tail, separator=_SEPARATOR)


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
            stream=STREAM,
        )
    ]
