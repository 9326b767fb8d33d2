"""log_signatures: the attacker's findings of 2026-11-30 (decodability of the whole file, empty logs,
kind detection from the header block only, quoted fields over line breaks, per-match cost)."""

from __future__ import annotations

import codecs
import gzip
import time
from pathlib import Path

import pytest
from exchange_logs import run_checks, send_session, w3c, write

from scanner.api import Status

SOCKET = "TLS negotiation failed with error SocketError"
CHECK = {"forbid": [{"literal": SOCKET}]}
CLEAN = b"2026-11-29 10:00:00 hello world, nothing to see here\n"


def _one(tmp_path: Path, data: bytes, name: str = "x.log", check: dict | None = None) -> object:
    write(tmp_path / name, data)
    _, [o] = run_checks(tmp_path, [name], [check or CHECK])
    return o


# -- findings 1-3: the whole file is judged as text, not its head ----------------------------------

TAILS = {
    "random bytes after 20 KB": bytes(range(128, 256)) * 800,
    "a UTF-16LE line with BOM after 20 KB": codecs.BOM_UTF16_LE + (SOCKET + "\n").encode("utf-16-le"),
    "a UTF-16LE line without BOM after 20 KB": (SOCKET + "\n").encode("utf-16-le"),
    "a cp1252 line after 20 KB": "Conexión interrumpida por SocketError\n".encode("cp1252"),
    "an invalid UTF-8 sequence after 20 KB": b"ok \xc3\x28 broken\n",
}


@pytest.mark.parametrize("tail", list(TAILS), ids=list(TAILS))
@pytest.mark.parametrize("gzipped", [False, True], ids=["plain", "gz"])
def test_text_that_does_not_decode_anywhere_in_the_file_is_error_naming_the_line(
        tmp_path: Path, tail: str, gzipped: bool) -> None:
    data = CLEAN * 400 + TAILS[tail] + CLEAN
    name = "x.log.gz" if gzipped else "x.log"
    o = _one(tmp_path, gzip.compress(data) if gzipped else data, name)
    assert o.status is Status.ERROR, o
    assert f"{name}:401:" in o.message, o.message


def test_a_big_file_split_across_workers_is_judged_whole(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from plugins.logs import planning, workers

    monkeypatch.setattr(planning, "SPLIT_MIN", 1 << 16)
    monkeypatch.setattr(workers, "PARALLEL_MIN", 1 << 16)
    write(tmp_path / "x.log", CLEAN * 4000 + b"\xff\xfe garbage\n" + CLEAN * 10)
    _, [o] = run_checks(tmp_path, ["x.log"], [CHECK], jobs=2)
    assert o.status is Status.ERROR and "x.log:4001:" in o.message, o.message


def test_utf16_with_utf8_lines_appended_is_error_and_a_found_match_still_fails(tmp_path: Path) -> None:
    head = codecs.BOM_UTF16_LE + ("hello\n" * 50).encode("utf-16-le")
    o = _one(tmp_path, head + (SOCKET + "\n").encode("utf-8"))
    assert o.status is Status.ERROR and "8-bit text inside" in o.message, o.message
    o = _one(tmp_path, ("hello\n" * 50).encode("utf-16-le") + b"some appended line of ASCII text\n", "nobom.log")
    assert o.status is Status.ERROR, o
    # appended after the signature: the proven match still fails
    o = _one(tmp_path, codecs.BOM_UTF16_LE + (SOCKET + "\n").encode("utf-16-le") + b"an appended line of text\n",
             "fail.log")
    assert o.status is Status.FAIL, o


@pytest.mark.parametrize("data", [
    codecs.BOM_UTF16_LE + b"x" + "hello\nworld\n".encode("utf-16-le"),  # misaligned by one byte
    codecs.BOM_UTF16_LE + "hello\nworld\n".encode("utf-16-le") + b"x",  # odd byte count
    codecs.BOM_UTF16_LE + "hello\n".encode("utf-16-le") + b"\x00\xd8" + "world\n".encode("utf-16-le"),
], ids=["misaligned", "odd", "lone-surrogate"])
def test_broken_utf16_is_error(tmp_path: Path, data: bytes) -> None:
    o = _one(tmp_path, data)
    assert o.status is Status.ERROR and "UTF-16" in o.message, o


def test_cp1252_log_is_error_saying_so_and_ascii_only_is_fine(tmp_path: Path) -> None:
    line = "2026-11-29 11:00:00 Conexión cerrada: conexión interrumpida por SocketError\n"
    check = {"forbid": [{"literal": "conexión interrumpida"}]}
    o = _one(tmp_path, (line * 3).encode("cp1252"), check=check)
    assert o.status is Status.ERROR and "x.log:1:" in o.message and "cp1252" in o.message, o.message
    o = _one(tmp_path, b"plain ASCII text only\n", "ascii.log", check=check)
    assert o.status is Status.PASS, o  # ASCII is valid UTF-8


def test_a_match_followed_by_nul_bytes_fails(tmp_path: Path) -> None:
    o = _one(tmp_path, b"hello\n" + SOCKET.encode() + b"\n" + b"\0" * 100_000)
    assert o.status is Status.FAIL, o
    o = _one(tmp_path, CLEAN * 400 + b"\0" * 100 + b"\n" + CLEAN, "nul.log")
    assert o.status is Status.ERROR and "nul.log:401:" in o.message, o


# -- finding 5: empty logs never pass --------------------------------------------------------------

HEADER_ONLY = w3c("smtp_send", [])


@pytest.mark.parametrize("name,data", [
    ("empty.log", b""),
    ("blank.log", b"\n\r\n   \n\n"),
    ("SEND.LOG", HEADER_ONLY),
    ("empty.log.gz", gzip.compress(b"")),
], ids=["0-byte", "blank-lines", "header-only", "empty-gz"])
def test_a_log_with_no_content_line_is_error(tmp_path: Path, name: str, data: bytes) -> None:
    o = _one(tmp_path, data, name)
    assert o.status is Status.ERROR and "no log lines in 1" in o.message and "logging enabled" in o.message, o


def test_examined_counts_files_with_content_lines(tmp_path: Path) -> None:
    rows = send_session("2025-03-04T11:20", "08DD", "tls12")
    write(tmp_path / "SEND1.LOG", w3c("smtp_send", rows) + b"\r\n")
    write(tmp_path / "SEND2.LOG", HEADER_ONLY)
    _, [o] = run_checks(tmp_path, ["SEND*.LOG"], [CHECK])
    assert o.status is Status.PASS and o.examined["kinds"]["smtp_send"] == {
        "files": 2, "bytes": o.examined["bytes"], "with_lines": 1}, o.examined


# -- findings 6-7: the kind comes from the header block, and an unknown W3C kind is error ---------

def test_a_w3c_log_without_log_type_in_a_plain_glob_is_error(tmp_path: Path) -> None:
    rows = send_session("2025-03-04T11:20", "08DD", "socketerror")
    write(tmp_path / "SEND1.LOG", w3c("smtp_send", send_session("2025-03-04T11:20", "08DC", "tls12")))
    data = b"\n".join(ln for ln in w3c("smtp_send", rows).split(b"\n") if b"#Log-type" not in ln)
    write(tmp_path / "SEND2.LOG", data)
    check = {"sources": ["smtp_send"], "field": "context", "forbid": [{"literal": SOCKET}]}
    _, [o] = run_checks(tmp_path, ["SEND*"], [check])
    assert o.status is Status.ERROR and "SEND2.LOG" in o.message and "KIND=" in o.message, o
    _, [o] = run_checks(tmp_path, ["smtp_send=SEND*"], [check])
    assert o.status is Status.FAIL, o  # told the kind, it is read


@pytest.mark.parametrize("smuggle", ["end", "cr"])
def test_a_log_type_line_outside_the_header_block_is_data(tmp_path: Path, smuggle: str) -> None:
    rows = send_session("2025-03-04T11:20", "08DD", "socketerror")
    data = w3c("smtp_send", rows)
    if smuggle == "end":
        data += b"#Log-type: Connectivity Log\r\n"
    else:
        data = data.replace(b"220 AM0PR02", b"220 evil\r#Log-type: Connectivity Log\r\n,x 220 AM0PR02", 1)
    check = {"sources": ["smtp_send"], "field": "context", "forbid": [{"literal": SOCKET}]}
    o = _one(tmp_path, data, "SEND.LOG", check)
    assert o.status is Status.FAIL, o


# -- finding 10: a matching line costs little more than a non-matching one -------------------------

def test_matching_lines_are_cheap(tmp_path: Path) -> None:
    line = ("2026-11-20T09:15:00.201Z,Out,08DD5A1BE8E25D94,8,10.0.0.10:1,52.1.1.1:25,*,,"
            "TLS protocol SP_PROT_TLS1_2_CLIENT negotiation succeeded\r\n")
    n = 40_000
    data = w3c("smtp_send", [])[:-2] + b"\r\n" + line.encode() * n
    write(tmp_path / "SEND.LOG", data)
    checks = [{"forbid": [{"literal": "SP_PROT_TLS1_2_CLIENT"}], "max_count": 10**9},
              {"forbid": [{"regex": "SP_PROT_TLS1_[0-9]_CLIENT"}], "max_count": 10**9}]
    t0 = time.process_time()
    _, outs = run_checks(tmp_path, ["SEND.LOG"], checks)
    per_line = (time.process_time() - t0) / n / len(checks)
    assert [o.actual for o in outs] == [n, n] and all(o.status is Status.PASS for o in outs)
    assert per_line < 22e-6, f"{per_line * 1e6:.1f} us per matching line"  # was 30 us (35-75 us through the CLI)


# -- low findings ----------------------------------------------------------------------------------

@pytest.mark.parametrize("extra", [-1, 1], ids=["fewer", "more"])
def test_a_row_with_another_number_of_values_than_fields_is_error_under_field(tmp_path: Path, extra: int) -> None:
    rows = send_session("2025-03-04T11:20", "08DD", "tls12")
    bad = rows[-1][:-1] if extra < 0 else [*rows[-1], SOCKET]
    if extra < 0:
        bad[-1] = SOCKET  # the signature in the last value present
    data = w3c("smtp_send", [*rows, bad])
    check = {"field": "context", "forbid": [{"literal": SOCKET}]}
    o = _one(tmp_path, data, "SEND.LOG", check)
    assert o.status is Status.ERROR and f"SEND.LOG:{5 + len(rows) + 1}:" in o.message, o


def test_within_zero_is_refused() -> None:
    import jsonschema

    from plugins.logs.schema import PARAMS_SCHEMA, parse_duration

    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"within": "0d", "forbid": [{"literal": "x"}]}, PARAMS_SCHEMA)
    with pytest.raises(ValueError):
        parse_duration("00h")
    assert parse_duration("07d") == 7 * 86400


# -- finding 8: a quoted value with a line break is one value ------------------------------------

DROPPED = "421 4.4.2 Connection dropped due to SocketError"


@pytest.mark.parametrize("where", ["second", "first"])
def test_a_quoted_csv_value_spanning_lines_is_searched_under_field(tmp_path: Path, where: str) -> None:
    cell = f"451 4.4.397 Error\r\n{DROPPED}" if where == "second" else f"{DROPPED}\r\nand more text"
    data = ('"Identity","NextHopDomain","LastError"\r\n"EXCH02\\11","fabrikam","none"\r\n'
            f'"EXCH02\\12","contoso","{cell}"\r\n"EXCH02\\13","tailspin","none"\r\n').encode()
    check = {"sources": ["queue"], "field": "LastError", "forbid": [{"literal": DROPPED}]}
    o = _one(tmp_path, data, "queues.csv", check)
    assert o.status is Status.FAIL and o.actual == 1, o
    assert o.evidence[0]["source"] == "queues.csv:3", o.evidence


def test_a_quoted_w3c_context_spanning_lines_is_searched_under_field(tmp_path: Path) -> None:
    rows = send_session("2025-03-04T11:20", "08DD", "tls12")
    data = w3c("smtp_send", rows)
    data += b'2025-03-04T11:21:00.000Z,Outbound,08DE,1,10.0.0.1:1,52.1.1.1:25,*,,"Remote said\r\n' \
            + SOCKET.encode() + b'"\r\n'
    check = {"field": "context", "forbid": [{"literal": SOCKET}]}
    o = _one(tmp_path, data, "SEND.LOG", check)
    assert o.status is Status.FAIL and o.actual == 1, o
    assert o.evidence[0]["source"] == f"SEND.LOG:{5 + len(rows) + 1}", o.evidence


@pytest.mark.parametrize("odd", ["fifo", "dev-zero-link", "directory"])
def test_a_glob_matching_something_not_a_regular_file_is_error_naming_it(tmp_path: Path, odd: str) -> None:
    import os

    write(tmp_path / "a.log", CLEAN)
    other = tmp_path / "b.log"
    if odd == "fifo":
        os.mkfifo(other)
    elif odd == "dev-zero-link":
        other.symlink_to("/dev/zero")
    else:
        other.mkdir()
    _, [o] = run_checks(tmp_path, ["*.log"], [CHECK])
    assert o.status is Status.ERROR and "b.log" in o.message and "not a regular file" in o.message, o
    _, [o] = run_checks(tmp_path, ["b.log"], [CHECK])
    assert o.status is Status.ERROR and "not a regular file" in o.message, o


def test_a_gzip_bomb_is_stopped_at_the_bound_with_memory_flat(tmp_path: Path) -> None:
    import zlib

    from plugins.logs.collector import LogCollector
    from plugins.logs.streams import Chunks

    c = zlib.compressobj(9, zlib.DEFLATED, 31)
    path = tmp_path / "bomb.log.gz"
    with path.open("wb") as f:
        for _ in range(200):
            f.write(c.compress(b"hello world\n" * 100_000))
        f.write(c.flush())
    stream = Chunks(path, gz_bound=100 << 20)
    biggest = max(hi - lo for _, lo, hi in stream.raw_blocks())
    assert biggest <= 4 << 20, biggest  # was the whole bound (100 MB here, 1 GiB by default) in one piece
    assert stream.error and "decompression bound" in stream.error
    _, [o] = run_checks(tmp_path, ["bomb.log.gz"], [CHECK], collector=LogCollector(gz_bound=100 << 20))
    assert o.status is Status.ERROR and "decompression bound" in o.message, o


def test_thousands_of_literals_are_planned_and_found_fast(tmp_path: Path) -> None:
    import random

    rng = random.Random(5)
    words = ["".join(rng.choice("abcdefghij") for _ in range(10)) for _ in range(5000)]
    check = {"forbid": [{"literal": f"sig {w} error"} for w in words]}
    data = CLEAN * 20_000 + f"2026-11-29 10:00:01 sig {words[4321]} error\n".encode()
    t0 = time.process_time()
    o = _one(tmp_path, data, check=check)
    spent = time.process_time() - t0
    assert o.status is Status.FAIL and o.actual == 1, o
    assert spent < 6, f"{spent:.1f} s"  # was 28 s: pairwise anchor merging and a memmem pass per literal


def test_anchor_merging_matches_the_pairwise_definition() -> None:
    import random

    from plugins.logs.signatures import _merge_contained

    rng = random.Random(3)
    for _ in range(200):
        keys = {"".join(rng.choice("ab") for _ in range(rng.randint(1, 5))).encode() for _ in range(12)}
        table = {k: {i} for i, k in enumerate(sorted(keys))}
        want = {k: set(v) for k, v in table.items()}
        for a in sorted(want, key=len):
            for b in list(want):
                if b != a and a in b and b in want:
                    want[a] |= want.pop(b)
        _merge_contained(table)
        assert table == want
