"""log_signatures in the run's language: every message it makes reads in Spanish with ``--lang es``.

Messages about reading a file are made by the collector (before the language is
known, possibly in a worker process): the facts keep their template and fields
(``errors``) next to the English ``error``, and the verdict formats them in the
run's language. Log lines, paths and patterns are evidence: never translated.
"""

from __future__ import annotations

import json
import os
import pickle
import shutil
from pathlib import Path
from typing import Any

from exchange_logs import NOW, gz, send_session, w3c, write

from plugins.logs.collector import LogCollector
from plugins.logs.messages import Text
from scanner.api import CollectRequest, EvalContext, RunContext, Target
from scanner.i18n import N_
from tests.conftest import POLICIES, ROOT, run_cli

SOCKET = "TLS negotiation failed with error SocketError"
ENGLISH = ("matching line", "allowed", "within", "is not text", "undecodable", "read whole", "no file matches",
           "truncated gzip", "is logging enabled", "not valid")


def _english_in(message: str) -> list[str]:
    return [w for w in ENGLISH if w in message]


def _scan(tmp_path: Path, lang: str) -> dict[str, dict[str, Any]]:
    report = tmp_path / f"r-{lang}.json"
    out = run_cli("scan", "--policy", str(POLICIES), "--target", "exch02",
                  "--logs", f"smtp_send={tmp_path / 'SmtpSend' / '*.LOG'}", "--logs", f"text={tmp_path / 'app.log'}",
                  "--lang", lang, "--now", "2026-11-26T10:00:00Z", "--report", f"json={report}", cwd=tmp_path)
    assert out.returncode == 1, out.stderr  # the example log fails two rules
    doc = json.loads(report.read_text(encoding="utf-8"))
    return {r["rule"]: r for r in doc["results"] if r["check_type"] == "log_signatures"}


def test_a_real_scan_in_spanish_says_fail_and_error_in_spanish(tmp_path: Path) -> None:
    (tmp_path / "SmtpSend").mkdir()
    shutil.copy(ROOT / "examples" / "logs" / "exch02" / "SmtpSend" / "SEND2026112010-1.LOG", tmp_path / "SmtpSend")
    (tmp_path / "app.log").write_bytes(os.urandom(1) + bytes(range(256)) * 8)  # binary: not a text log
    es = _scan(tmp_path, "es")

    fail = es["EXO-TLS12-LOG-003"]  # SocketError in the send log, within 7d
    assert fail["status"] == "fail"
    assert fail["message"].startswith("2 líneas coincidentes en los últimos 7 días, se permiten como máximo 0: ")
    assert not _english_in(fail["message"]), fail["message"]
    # the log line itself is evidence: as written in the log
    assert any(e.get("text", "").endswith(SOCKET) for e in fail["evidence"])

    error = es["TLS-HARD-LOG-004"]  # reads the text log, which is binary
    assert error["status"] == "error"
    assert "app.log: no es texto: " in error["message"]
    assert "no se pueden decodificar como utf-8" in error["message"]
    assert not _english_in(error["message"]), error["message"]

    passed = es["TLS-HARD-LOG-002"]
    assert passed["status"] == "pass" and passed["message"] == (
        "0 líneas coincidentes en los últimos 7 días en 1 archivo, se permiten como máximo 0")
    assert es["TLS-HARD-LOG-001"]["message"] == "el destino no tiene registros smtp_receive"

    en = _scan(tmp_path, "en")  # the default language reads as before
    assert en["EXO-TLS12-LOG-003"]["message"].startswith("2 matching line(s) within 7d, at most 0 allowed: ")
    assert "app.log: is not text: " in en["TLS-HARD-LOG-004"]["message"]
    assert en["TLS-HARD-LOG-002"]["message"] == "0 matching line(s) within 7d in 1 file(s), at most 0 allowed"


def _facts(tmp_path: Path) -> tuple[Target, list[dict[str, Any]], dict[str, Any]]:
    rows = send_session("2025-03-04T11:20", "S1", "socketerror") + send_session("2025-03-05T11:20", "S2", "tls12")
    write(tmp_path / "SEND1.LOG", w3c("smtp_send", rows))
    write(tmp_path / "empty" / "app.log", b"\r\n")
    logs = {"smtp_send": ["SEND1.LOG"], "message_tracking": ["nothing/*.LOG"], "text": ["empty/*.log"]}
    checks: list[dict[str, Any]] = [
        {"sources": ["smtp_send"], "within": "7d", "forbid": [{"literal": SOCKET}]},
        {"sources": ["smtp_send"], "within": "1d", "forbid": [{"literal": "never written anywhere"}]},
        {"sources": ["message_tracking"], "forbid": [{"literal": SOCKET}]},
        {"sources": ["text"], "forbid": [{"literal": SOCKET}]},
        {"sources": ["smtp_receive"], "forbid": [{"literal": SOCKET}]},
    ]
    target = Target("ex01", sources={"logs": logs}, base_dir=tmp_path)
    [(_, facts)] = LogCollector().collect([CollectRequest(target, checks)], RunContext(now=NOW, jobs=1))
    saved = json.loads(json.dumps(facts))  # plain JSON, as a saved facts file
    assert saved == facts
    return target, checks, saved


def _judge(target: Target, checks: list[dict[str, Any]], facts: dict[str, Any], lang: str) -> list[str]:
    ctx = EvalContext(run=RunContext(now=NOW, jobs=1, lang=lang), target=target)
    return [LogCollector().evaluate(c, facts, ctx).message for c in checks]


def test_the_same_facts_read_in_english_then_spanish_then_english(tmp_path: Path) -> None:
    target, checks, facts = _facts(tmp_path)
    en = [
        "1 matching line(s) within 7d, at most 0 allowed: 'TLS negotiation failed with error SocketError' ×1",
        "0 matching line(s) within 1d in 1 file(s), at most 0 allowed",
        "nothing/*.LOG: no file matches this glob; no message_tracking log file was read whole",
        "no log lines in 1 text file(s): is logging enabled?",
        "the target has no smtp_receive logs",
    ]
    es = [
        "1 línea coincidente en los últimos 7 días, se permiten como máximo 0: "
        "'TLS negotiation failed with error SocketError' ×1",
        "0 líneas coincidentes en el último día en 1 archivo, se permiten como máximo 0",
        "nothing/*.LOG: ningún archivo coincide con este patrón; "
        "no se leyó completo ningún archivo de registro message_tracking",
        "no hay líneas de registro en 1 archivo text: ¿está activado el registro?",
        "el destino no tiene registros smtp_receive",
    ]
    for lang, want in (("en", en), ("es", es), ("en", en), ("es", es)):  # no cached language leaks over
        got = _judge(target, checks, facts, lang)
        assert [m.replace(str(tmp_path) + os.sep, "") for m in got] == want, lang


def test_a_collector_error_keeps_its_template_and_reads_in_each_language(tmp_path: Path) -> None:
    data = gz(w3c("smtp_send", send_session("2025-03-04T11:20", "S1", "tls12") * 40))
    write(tmp_path / "SEND2.LOG.gz", data[: len(data) // 2])
    target = Target("ex01", sources={"logs": ["smtp_send=SEND2.LOG.gz"]}, base_dir=tmp_path)
    check: dict[str, Any] = {"forbid": [{"literal": SOCKET}]}
    [(_, facts)] = LogCollector().collect([CollectRequest(target, [check])], RunContext(now=NOW, jobs=1))
    facts = json.loads(json.dumps(facts))
    f = facts["files"][0]
    assert "truncated gzip member" in f["error"]  # the English text stays in the facts
    assert f["errors"][0]["msgid"] == "{path}: truncated gzip member (read {size} bytes of content)"
    [en] = _judge(target, [check], facts, "en")
    [es] = _judge(target, [check], facts, "es")
    assert "SEND2.LOG.gz: truncated gzip member (read " in en
    assert "SEND2.LOG.gz: miembro gzip truncado (se leyeron " in es and not _english_in(es), es
    # facts saved before messages kept their templates read as their English text
    del f["errors"]
    [old] = _judge(target, [check], facts, "es")
    assert "SEND2.LOG.gz: truncated gzip member (read " in old


def test_a_text_survives_a_trip_to_a_worker_process() -> None:
    inner = Text(N_("a directory"))
    t = Text(N_("{path}: matched by {glob} but not a regular file ({what}), so not read"), path="x", glob="'*'",
             what=inner)
    back = pickle.loads(pickle.dumps(t))
    assert back == t == "x: matched by '*' but not a regular file (a directory), so not read"
    assert isinstance(back, Text) and back.to_json() == t.to_json()
    assert t.to_json()["args"]["what"] == {"msgid": "a directory", "args": {}}
