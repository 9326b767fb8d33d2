"""``policyscan collect`` and ``policyscan scan --facts``: offline results identical to the live scan.

For every check type (registry, log_signatures, smtp_tls against a real
aiosmtpd server, and the third-party test plugin's line_count): collect, scan
the facts file, compare the JSON results with a live scan's (statuses,
messages, evidence, remediation: everything but the timestamps); then take
the sources away (delete the files, stop the server) and scan the facts again.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pytest

from tests.conftest import PLUGIN_SITE, POLICIES, ROOT, run_cli

NOW = "2026-11-26T10:00:00Z"


def _report(path: Path) -> dict:
    doc = json.loads(path.read_text(encoding="utf-8"))
    for key in ("started_at", "finished_at", "facts"):  # facts: null live, the facts file offline (below)
        doc.pop(key)
    return doc


def _live_and_offline(tmp_path: Path, target_args: list[str], policy: list[str], *, pythonpath: Path | None = None,
                      now: str | None = NOW) -> tuple[dict, dict, Path]:
    clock = ["--now", now] if now else []
    facts = tmp_path / "facts.jsonl"
    out = run_cli("collect", *policy, *target_args, "--out", str(facts), *clock, pythonpath=pythonpath)
    assert out.returncode == 0, out.stderr
    live = run_cli("scan", *policy, *target_args, "--report", f"json={tmp_path / 'live.json'}", *clock,
                   pythonpath=pythonpath)
    assert live.returncode in (0, 1, 3), live.stderr
    offline = run_cli("scan", *policy, "--facts", str(facts), "--report", f"json={tmp_path / 'offline.json'}",
                      pythonpath=pythonpath)
    assert offline.returncode == live.returncode, offline.stderr
    # the one difference: a report judged from a snapshot says so
    assert json.loads((tmp_path / "live.json").read_text(encoding="utf-8"))["facts"] is None
    said = json.loads((tmp_path / "offline.json").read_text(encoding="utf-8"))["facts"]
    assert said["file"] == str(facts) and said["sha256"] == hashlib.sha256(facts.read_bytes()).hexdigest()
    assert said["tool"]["name"] == "policyscan" and said["collected_at"]
    assert said["sources"] == json.loads(facts.read_text(encoding="utf-8").splitlines()[0])["sources"]
    return _report(tmp_path / "live.json"), _report(tmp_path / "offline.json"), facts


def _policies(tmp_path: Path) -> Path:
    """A copy of the shipped packs: the judged policies must not change between two runs."""
    where = tmp_path / "policies"
    if not where.exists():
        shutil.copytree(POLICIES, where)
    return where


def _copy_examples(tmp_path: Path) -> Path:
    where = tmp_path / "examples"
    shutil.copytree(ROOT / "examples", where, ignore=shutil.ignore_patterns("plugin-file-contains"))
    return where


def test_registry_and_logs_facts_give_the_live_results_even_with_the_files_gone(tmp_path):
    pol = _policies(tmp_path)
    examples = _copy_examples(tmp_path)
    policy = ["--policy", str(pol)]
    live, offline, facts = _live_and_offline(tmp_path, ["--inventory", str(examples / "inventory.yaml")], policy)
    assert offline == live
    kinds = {r["check_type"] for r in live["results"]}
    assert {"registry", "log_signatures"} <= kinds
    assert {r["status"] for r in live["results"]} >= {"pass", "fail"}
    assert any(r["evidence"] for r in live["results"] if r["check_type"] == "registry")
    assert any(r["evidence"] for r in live["results"] if r["check_type"] == "log_signatures")

    header = json.loads(facts.read_text().splitlines()[0])
    assert header["schema"] == "policyscan/facts/v1"
    assert header["collected_at"] == "2026-11-26T10:00:00+00:00"
    assert {p["id"] for p in header["policies"]} == {"exchange-m365-tls12", "exchange-tls-hardening"}
    assert set(header["plugins"]) >= {"registry", "logs", "smtp"}
    exported = examples / "exports" / "exch01-schannel.reg"

    assert header["sources"][str(exported)] == hashlib.sha256(exported.read_bytes()).hexdigest()
    assert any(p.endswith(".LOG") for p in header["sources"])

    shutil.rmtree(examples)  # the sources are gone: the facts still give the same verdicts
    again = run_cli("scan", *policy, "--facts", str(facts), "--report", f"json={tmp_path / 'again.json'}")
    assert again.returncode in (0, 1, 3), again.stderr
    assert _report(tmp_path / "again.json") == live


def test_registry_target_options_and_streamed_batches(tmp_path):
    # --reg (the command-line target) and more than one batch of targets through forked workers
    pol = _policies(tmp_path)
    reg = ROOT / "examples" / "exports" / "exch01-schannel.reg"
    live, offline, _ = _live_and_offline(tmp_path, ["--reg", str(reg), "--target", "one"],
                                         ["--policy", str(pol)])
    assert offline == live
    inv = ["apiVersion: policyscan/v1", "kind: Inventory", "targets:"]
    inv += [f"  - {{name: t{i:04d}, labels: {{role: exchange}}, registry: {{file: {reg}}}}}" for i in range(600)]
    (tmp_path / "inv.yaml").write_text("\n".join(inv) + "\n")
    many = tmp_path / "many"
    many.mkdir()
    live, offline, facts = _live_and_offline(many, ["--inventory", str(tmp_path / "inv.yaml"), "--jobs", "2"],
                                             ["--policy", str(pol)])
    assert offline == live
    assert len(live["results"]) > 600
    assert len(facts.read_text().splitlines()) == 600 + 2  # header, one registry line per target, trailer
    # a bad line in a late batch: checked in the worker judging that batch, and the whole run stops there
    lines = facts.read_text().splitlines()
    bad = json.loads(lines[550])
    bad["facts"]["keys"] = []
    lines[550] = json.dumps(bad)
    facts.write_text("\n".join(lines) + "\n")
    report = many / "bad.json"
    res = run_cli("scan", "--policy", str(pol), "--facts", str(facts), "--jobs", "2", "--report", f"json={report}",
                  "--report", f"junit={many / 'bad.xml'}")
    assert res.returncode == 2, res.stderr
    assert f"policyscan: error: {facts}:551: registry facts for " in res.stderr
    assert not report.exists() and not (many / "bad.xml").exists()
    assert not [p for p in many.iterdir() if p.name.startswith(".")]  # no part files left behind


def test_logs_window_is_judged_at_the_collection_time_by_default(tmp_path):
    pol = _policies(tmp_path)
    examples = _copy_examples(tmp_path)
    policy = ["--policy", str(pol)]
    inventory = ["--inventory", str(examples / "inventory.yaml")]
    live, offline, facts = _live_and_offline(tmp_path, inventory, policy, now="2026-11-21T12:00:00Z")
    assert offline == live and offline["now"].startswith("2026-11-21T12:00:00")
    logs = {(r["target"], r["rule"]): r["status"] for r in live["results"] if r["check_type"] == "log_signatures"}
    # a year later the 7-day windows hold no line: --now given with --facts overrides the collection time
    later = run_cli("scan", *policy, "--facts", str(facts), "--now", "2027-11-21T12:00:00Z",
                    "--report", f"json={tmp_path / 'later.json'}")
    assert later.returncode in (0, 1, 3), later.stderr
    moved = {(r["target"], r["rule"]): r["status"] for r in _report(tmp_path / "later.json")["results"]
             if r["check_type"] == "log_signatures"}
    assert moved != logs
    assert "fail" in logs.values()


def test_smtp_facts_give_the_live_results_with_the_server_stopped(tmp_path):
    pol = _policies(tmp_path)
    from tests.plugins.smtp_servers import aiosmtpd_server, make_cert, tls_context

    weak = make_cert(tmp_path, "weak", ["localhost"], key="rsa1024", days=(-30, 10), ips=("127.0.0.1",))
    server = aiosmtpd_server(tls_context(weak, ["TLSv1.0", "TLSv1.1", "TLSv1.2"]))
    try:
        # no --now: the certificate is judged at the real time, and offline at the collection time
        live, offline, facts = _live_and_offline(
            tmp_path, ["--smtp", server.endpoint, "--target", "mx"], ["--policy", str(pol)], now=None)
    finally:
        server.stop()
    smtp = [r for r in live["results"] if r["check_type"] == "smtp_tls"]
    assert {r["status"] for r in smtp} >= {"pass", "fail"}
    assert any(r["evidence"] for r in smtp)
    # The live scan probed the server a second time: the same verdicts, messages and evidence, but
    # its transcripts' timings (milliseconds per event and stage, and so the order connections ended
    # in) are its own. The clock of each is its own start too.
    assert _untimed(offline) == _untimed(live)
    # With the server stopped, the same facts give exactly the same report.
    again = run_cli("scan", "--policy", str(pol), "--facts", str(facts),
                    "--report", f"json={tmp_path / 'again.json'}")
    assert again.returncode in (0, 1), again.stderr
    assert _report(tmp_path / "again.json") == offline
    line = json.loads(facts.read_text().splitlines()[1])
    assert line["type"] == "smtp_tls" and line["facts"]["probes"]  # transcripts and all


def _untimed(report: dict) -> dict:
    """The report without the times a second probe of a server cannot repeat."""
    report = json.loads(json.dumps(report))
    report.pop("now")
    for result in report["results"]:
        for ev in result["evidence"]:
            for conn in ev.get("transcript") or []:
                conn.pop("stages", None)
                for event in conn.get("events") or []:
                    event[0] = None
            if ev.get("transcript"):
                ev["transcript"].sort(key=lambda c: json.dumps(c, sort_keys=True))
    return report


PLUGIN_POLICY = """\
apiVersion: policyscan/v1
kind: Policy
metadata: {id: lines, title: Line limits, version: 2026.1}
rules:
  - id: L-001
    title: short files
    severity: high
    check: {line_count: {max: 3}}
    remediation: {en: "Trim ${file} to ${expected} lines (found ${actual})"}
  - id: L-002
    title: not empty
    severity: low
    check: {not: {line_count: {max: 0}}}
"""


def test_third_party_plugin_facts(tmp_path):
    pol = _policies(tmp_path)
    (tmp_path / "p.yaml").write_text(PLUGIN_POLICY)
    (tmp_path / "short.txt").write_text("a\nb\n")
    (tmp_path / "long.txt").write_text("a\nb\nc\nd\ne\n")
    (tmp_path / "inv.yaml").write_text(
        "apiVersion: policyscan/v1\nkind: Inventory\ntargets:\n"
        "  - {name: short, textfile: short.txt}\n  - {name: long, textfile: long.txt}\n"
        "  - {name: gone, textfile: missing.txt}\n")
    live, offline, facts = _live_and_offline(tmp_path, ["--inventory", str(tmp_path / "inv.yaml")],
                                             ["--policy", str(tmp_path / "p.yaml")], pythonpath=PLUGIN_SITE)
    assert offline == live
    st = {(r["target"], r["rule"]): r["status"] for r in live["results"]}
    assert st[("short", "L-001")] == "pass" and st[("long", "L-001")] == "fail" and st[("gone", "L-001")] == "error"
    (tmp_path / "short.txt").unlink()
    (tmp_path / "long.txt").unlink()
    again = run_cli("scan", "--policy", str(tmp_path / "p.yaml"), "--facts", str(facts),
                    "--report", f"json={tmp_path / 'again.json'}", pythonpath=PLUGIN_SITE)
    assert again.returncode == 1, again.stderr
    assert _report(tmp_path / "again.json") == live
    # the plugin is not installed where the facts are judged: refused, not half-used
    missing = run_cli("scan", "--policy", str(pol), "--facts", str(facts))
    assert missing.returncode == 2
    assert f"{facts}:1: collected with plugin(s) not loaded here: linecount" in missing.stderr


def test_a_check_without_facts_is_an_error_never_a_pass(tmp_path):
    pol = _policies(tmp_path)
    reg = ROOT / "examples" / "exports" / "exch01-schannel.reg"
    facts = tmp_path / "facts.jsonl"
    (tmp_path / "p.yaml").write_text(PLUGIN_POLICY)
    # facts for the registry only; the policy also asks for line_count on a target that has the source
    out = run_cli("collect", "--policy", str(pol), "--reg", str(reg), "--out", str(facts), "--now", NOW)
    assert out.returncode == 0, out.stderr
    lines = facts.read_text().splitlines()
    header = json.loads(lines[0])
    header["inventory"][0]["sources"]["textfile"] = "x.txt"
    facts.write_text("\n".join([json.dumps(header), *lines[1:]]) + "\n")
    res = run_cli("scan", "--policy", str(tmp_path / "p.yaml"), "--facts", str(facts), "--report", "json",
                  pythonpath=PLUGIN_SITE)
    assert res.returncode == 3, res.stderr
    results = json.loads(res.stdout)["results"]
    assert [r["status"] for r in results] == ["error", "error"]
    assert all("not collected" in r["message"] for r in results)
    assert "was not among the policies the facts were collected for" in res.stderr


def test_a_changed_check_is_not_collected(tmp_path):
    reg = ROOT / "examples" / "exports" / "exch01-schannel.reg"
    policy = tmp_path / "p.yaml"
    rule = ("apiVersion: policyscan/v1\nkind: Policy\nmetadata: {{id: p, title: P, version: '1'}}\nrules:\n"
            "  - id: R\n    title: r\n    severity: high\n    check: {{registry: {{key: '{key}', value: Enabled, "
            "when_missing: pass}}}}\n")
    base = r"HKLM\SYSTEM\CurrentControlSet\Control\SecurityProviders\SCHANNEL\Protocols"
    policy.write_text(rule.format(key=base + r"\TLS 1.2\Client"))
    facts = tmp_path / "facts.jsonl"
    assert run_cli("collect", "--policy", str(policy), "--reg", str(reg), "--out", str(facts)).returncode == 0
    # the policy now asks about a key the facts were not gathered for: when_missing: pass must not pass
    policy.write_text(rule.format(key=base + r"\TLS 9.9\Client"))
    res = run_cli("scan", "--policy", str(policy), "--facts", str(facts), "--report", "json")
    assert res.returncode == 3, res.stderr
    (result,) = json.loads(res.stdout)["results"]
    assert result["status"] == "error" and "not collected" in result["message"]
    assert "changed since the facts were collected" in res.stderr


def _facts(tmp_path: Path) -> Path:
    pol = _policies(tmp_path)
    reg = ROOT / "examples" / "exports"
    facts = tmp_path / "facts.jsonl"
    inv = tmp_path / "inv.yaml"
    inv.write_text("apiVersion: policyscan/v1\nkind: Inventory\ntargets:\n"
                   f"  - {{name: a, registry: {{file: {reg / 'exch01-schannel.reg'}}}}}\n"
                   f"  - {{name: b, registry: {{file: {reg / 'exch02-schannel.reg'}}}}}\n")
    out = run_cli("collect", "--policy", str(pol), "--inventory", str(inv), "--out", str(facts), "--now", NOW)
    assert out.returncode == 0, out.stderr
    return facts


def _edit(lines: list[str], how: str) -> tuple[list[str], int]:
    """The lines of a facts file broken as ``how`` says, and the line number the error must name."""
    if how == "version":
        header = json.loads(lines[0])
        header["schema"] = "policyscan/facts/v9"
        return [json.dumps(header), *lines[1:]], 1
    if how == "truncated":
        return lines[:-1], len(lines) - 1
    if how == "cut-mid-line":
        return [*lines[:-2], lines[-2][: len(lines[-2]) // 2]], len(lines) - 1
    if how == "bad-facts":
        line = json.loads(lines[1])
        line["facts"]["keys"] = {"hklm\\x": {"covered": "yes"}}
        return [lines[0], json.dumps(line), *lines[2:]], 2
    if how == "twice":
        return [lines[0], lines[1], lines[1], *lines[2:]], 3
    if how == "unknown-target":
        line = json.loads(lines[1])
        line["target"] = "zz"
        return [lines[0], json.dumps(line), *lines[2:]], 2
    if how == "target-twice":
        header = json.loads(lines[0])
        header["inventory"].append(header["inventory"][0])
        return [json.dumps(header), *lines[1:]], 1
    raise AssertionError(how)


@pytest.mark.parametrize("how", ["version", "truncated", "cut-mid-line", "bad-facts", "twice", "unknown-target",
                                 "target-twice"])
def test_a_broken_facts_file_is_refused_with_its_line(tmp_path, how):
    pol = _policies(tmp_path)
    facts = _facts(tmp_path)
    lines, bad_line = _edit(facts.read_text().splitlines(), how)
    text = "\n".join(lines) + ("" if how == "cut-mid-line" else "\n")
    facts.write_text(text)
    report = tmp_path / "r.json"
    res = run_cli("scan", "--policy", str(pol), "--facts", str(facts), "--report", f"json={report}")
    assert res.returncode == 2, res.stderr
    errors = [line for line in res.stderr.splitlines() if not line.startswith("policyscan: warning: ")]
    assert errors == [errors[0]] and errors[0].startswith(f"policyscan: error: {facts}:{bad_line}: "), res.stderr
    assert not report.exists()


def test_facts_excludes_target_options(tmp_path):
    pol = _policies(tmp_path)
    facts = _facts(tmp_path)
    res = run_cli("scan", "--policy", str(pol), "--facts", str(facts), "--reg", str(facts))
    assert res.returncode == 2 and "--facts cannot be combined" in res.stderr
    missing = run_cli("scan", "--policy", str(pol), "--facts", str(tmp_path / "nope.jsonl"))
    assert missing.returncode == 2 and "nope.jsonl" in missing.stderr


def test_schema_facts_is_a_json_schema_every_line_matches(tmp_path):
    pol = _policies(tmp_path)
    from jsonschema import Draft202012Validator

    out = run_cli("schema", "facts", pythonpath=PLUGIN_SITE)
    assert out.returncode == 0, out.stderr
    schema = json.loads(out.stdout)
    Draft202012Validator.check_schema(schema)
    validator = Draft202012Validator(schema)
    examples = _copy_examples(tmp_path)
    facts = tmp_path / "facts.jsonl"
    res = run_cli("collect", "--policy", str(pol), "--inventory", str(examples / "inventory.yaml"),
                  "--out", str(facts), "--now", NOW)
    assert res.returncode == 0, res.stderr
    lines = facts.read_text().splitlines()
    assert len(lines) > 3
    for text in lines:
        errors = list(validator.iter_errors(json.loads(text)))
        assert not errors, (text[:200], errors[0].message)
    broken = json.loads(lines[1])
    broken["facts"]["keys"] = "nope"
    assert list(validator.iter_errors(broken))
