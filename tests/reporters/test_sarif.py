"""The sarif reporter: its content, its streamed pieces, and Microsoft's validator on every SARIF
the tests write (``sarif-multitool validate`` with the SARIF and GitHub rule sets; the validator
may be missing on a developer machine, never under CI)."""

from __future__ import annotations

import io
import json
import os
import re
import shlex
import shutil
import subprocess
import time
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft7Validator
from sample_reports import PLAIN, POLICY, SPANISH, T0, T1, WAIVER, big_report, result

from scanner.api import ReportOptions, RunContext, Severity, Status
from scanner.engine import BATCH, Engine
from scanner.output import write_reports
from scanner.plugin_host import load_plugins
from scanner.report import PolicyInfo, Report, RuleInfo, TargetInfo
from scanner.reporters import sarif
from scanner.streaming import scan_streamed
from scanner.waivers import apply_waivers
from tests.conftest import ROOT, run_cli
from tests.test_streaming import NOW, _loaded, fleet  # noqa: F401 - the fleet fixture is used here too

HOSTILE = "| `x` <script>alert(1)</script> @octocat \x1b[31m\n" + SPANISH


def rule_info(rule: str, severity: Severity = Severity.HIGH, **kw: Any) -> RuleInfo:
    fields: dict[str, Any] = {"title": f"Title of {rule}", "severity": severity, "check_type": "registry",
                              "description": f"What {rule} checks.", "remediation": {"en": "Set ${value} to 1.",
                                                                                      "es": "Ponga ${value} a 1."},
                              "references": ({"title": "docs", "url": "https://example.com/tls"},),
                              "tags": ("tls",), "line": 10}
    fields.update(kw)
    return RuleInfo(rule, **fields)


def report(results: list[Any], lang: str = "en", base_dir: str = "") -> Report:
    rules = [rule_info("EXO-001", line=7), rule_info("EXO-002", Severity.CRITICAL, line=21),
             rule_info("EXO-003", Severity.MEDIUM, line=35, description="", remediation={}, references=()),
             rule_info("EXO-004", Severity.INFO, line=0)]
    return Report("1.0.0", T0, T1, T0, [PolicyInfo(POLICY, "Exchange", "1.0.0", "a" * 64, "policies/x.yaml", rules)],
                  {}, [TargetInfo("exch01", {}, base_dir), TargetInfo(PLAIN, {}, base_dir)],
                  sorted(results, key=lambda r: r.sort_key), lang=lang)


def every_status() -> Report:
    return report([
        result("exch01", POLICY, "EXO-001", Status.PASS),
        result("exch01", POLICY, "EXO-002", Status.FAIL, severity=Severity.CRITICAL, message=HOSTILE,
               evidence=[{"source": "smtp://mail.contoso.com:25"}, {"source": "exports/exch01.reg:14"}]),
        result("exch01", POLICY, "EXO-003", Status.ERROR, severity=Severity.MEDIUM, message="not covered",
               evidence=[{"source": "exports/exch01.reg"}]),
        result("exch01", POLICY, "EXO-004", Status.SKIP, severity=Severity.INFO),
        result(PLAIN, POLICY, "EXO-001", Status.FAIL, evidence=[{"source": "smtp://mx:25"}]),
        result(PLAIN, POLICY, "EXO-002", Status.WAIVED, severity=Severity.CRITICAL, waiver=dict(WAIVER),
               evidence=[{"source": "live:HKLM\\X"}]),
        result(PLAIN, POLICY, "EXO-004", Status.FAIL, severity=Severity.INFO),
        result(PLAIN, "unknown-policy", "X-1", Status.FAIL, evidence=[{"source": "logs/a.log:3"}]),
    ])


def doc(rep: Report) -> dict[str, Any]:
    stream = io.StringIO()
    sarif.write(rep, stream, ReportOptions())
    return json.loads(stream.getvalue())


# ---------------------------------------------------------------- what the validator checks

@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The folder every SARIF file of this module goes to; the validator test reads them all."""
    return tmp_path_factory.mktemp("sarif")


def keep(folder: Path, name: str, data: str | bytes) -> Path:
    path = folder / name
    path.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
    return path


def test_rules_carry_titles_descriptions_help_and_github_severities(written: Path) -> None:
    rep = every_status()
    keep(written, "every-status.sarif", sarif.document(rep))
    log = doc(rep)
    assert log["version"] == "2.1.0" and len(log["runs"]) == 1
    driver = log["runs"][0]["tool"]["driver"]
    assert (driver["name"], driver["version"]) == ("policyscan", "1.0.0")
    rules = {r["id"]: r for r in driver["rules"]}
    assert list(rules) == [f"{POLICY}/EXO-00{i}" for i in range(1, 5)]
    one = rules[f"{POLICY}/EXO-001"]
    assert one["name"] == "EXO-001"
    assert one["shortDescription"]["text"] == "Title of EXO-001"
    assert one["fullDescription"]["text"] == "What EXO-001 checks."
    assert "Set ${value} to 1." in one["help"]["text"] and "https://example.com/tls" in one["help"]["markdown"]
    assert one["helpUri"] == "https://example.com/tls"
    assert "security" in one["properties"]["tags"] and "tls" in one["properties"]["tags"]
    levels = {k: (r["defaultConfiguration"]["level"], r["properties"]["security-severity"]) for k, r in rules.items()}
    assert levels == {f"{POLICY}/EXO-001": ("error", "8.0"), f"{POLICY}/EXO-002": ("error", "9.5"),
                      f"{POLICY}/EXO-003": ("warning", "5.5"), f"{POLICY}/EXO-004": ("note", "0.0")}
    # no description or remediation in the policy: GitHub still gets both, from the title
    three = rules[f"{POLICY}/EXO-003"]
    assert three["fullDescription"]["text"] == three["help"]["text"] == "Title of EXO-003"
    # the report's language picks the remediation
    es = {r["id"]: r for r in doc(report([], lang="es"))["runs"][0]["tool"]["driver"]["rules"]}
    assert "Ponga ${value} a 1." in es[f"{POLICY}/EXO-001"]["help"]["text"]


def test_a_result_per_fail_and_waived_with_rule_index_level_and_suppression() -> None:
    run = doc(every_status())["runs"][0]
    rules = run["tool"]["driver"]["rules"]
    got = [(r["properties"]["target"], r["ruleId"], r["level"]) for r in run["results"]]
    assert got == [("exch01", f"{POLICY}/EXO-002", "error"), (PLAIN, f"{POLICY}/EXO-001", "error"),
                   (PLAIN, f"{POLICY}/EXO-002", "error"), (PLAIN, f"{POLICY}/EXO-004", "note"),
                   (PLAIN, "unknown-policy/X-1", "error")]
    for r in run["results"]:
        if "ruleIndex" in r:
            assert rules[r["ruleIndex"]]["id"] == r["ruleId"]
        else:  # a rule the report's policies do not list has no index to point at
            assert r["ruleId"] == "unknown-policy/X-1"
    hostile = run["results"][0]
    assert hostile["message"]["text"] == f"exch01: {HOSTILE}"  # JSON carries any text as it is
    waived = [r for r in run["results"] if "suppressions" in r]
    assert len(waived) == 1 and waived[0]["properties"]["target"] == PLAIN
    assert waived[0]["suppressions"] == [{"kind": "external", "status": "accepted", "justification": WAIVER["reason"],
                                          "properties": {"expires": WAIVER["expires"]}}]
    assert all("suppressions" not in r for r in run["results"] if r is not waived[0])


def test_errors_are_tool_notifications_and_make_the_execution_unsuccessful() -> None:
    run = doc(every_status())["runs"][0]
    (invocation,) = run["invocations"]
    assert invocation["executionSuccessful"] is False
    (note,) = invocation["toolExecutionNotifications"]
    assert note["level"] == "error"
    assert note["message"]["text"] == "exch01: not covered"
    assert note["associatedRule"] == {"id": f"{POLICY}/EXO-003", "index": 2}
    # the export named without a line is not a location: the rule's line in its policy is
    assert note["locations"][0]["physicalLocation"]["region"] == {"startLine": 35}
    assert all(r["properties"]["status"] != "error" for r in run["results"])
    clean = doc(report([result("exch01", POLICY, "EXO-001", Status.PASS)]))["runs"][0]
    assert clean["invocations"][0]["executionSuccessful"] is True
    assert clean["invocations"][0]["toolExecutionNotifications"] == [] and clean["results"] == []


def location(r: dict[str, Any]) -> tuple[str, str | None, int]:
    (loc,) = r["locations"]
    physical = loc["physicalLocation"]
    return physical["artifactLocation"]["uri"], physical["artifactLocation"].get("uriBaseId"), \
        physical["region"]["startLine"]


def test_locations_are_evidence_lines_else_the_rule_line_never_an_smtp_endpoint(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    inventory_dir = tmp_path / "fleet a"
    run = doc(report(every_status().results, base_dir=str(inventory_dir)))["runs"][0]
    assert run["originalUriBaseIds"] == {"%SRCROOT%": {"uri": tmp_path.as_uri() + "/"}}
    where = {(r["properties"]["target"], r["properties"]["rule"]): location(r) for r in run["results"]}
    # smtp:// is skipped for the next evidence item that is a file line, relative to the inventory's folder
    assert where[("exch01", "EXO-002")] == ("fleet%20a/exports/exch01.reg", "%SRCROOT%", 14)
    assert where[(PLAIN, "EXO-001")] == ("policies/x.yaml", "%SRCROOT%", 7)  # smtp only: the rule's line
    assert where[(PLAIN, "EXO-002")] == ("policies/x.yaml", "%SRCROOT%", 21)  # live registry: the rule's line
    assert where[(PLAIN, "EXO-004")] == ("policies/x.yaml", "%SRCROOT%", 1)  # line unknown: the file's first
    assert where[(PLAIN, "X-1")] == ("fleet%20a/logs/a.log", "%SRCROOT%", 3)
    # a file outside the working folder is an absolute file: URI, without a base
    elsewhere = tmp_path.parent / "elsewhere"
    far = doc(report(every_status().results, base_dir=str(elsewhere)))["runs"][0]["results"][0]
    assert location(far) == ((elsewhere / "exports" / "exch01.reg").as_uri(), None, 14)


def test_fingerprints_name_target_policy_and_rule_only() -> None:
    a = result("exch01", POLICY, "EXO-002", Status.FAIL, message="Enabled is 0")
    b = a._replace(message="Enabled is 7, another run", evidence=[{"source": "x.reg:99"}])
    fp = [doc(report([r]))["runs"][0]["results"][0]["partialFingerprints"] for r in (a, b)]
    assert fp[0] == fp[1] == {"policyscan/v1": sarif.fingerprint("exch01", POLICY, "EXO-002")}
    later = replace(report([a]), started_at=datetime(2027, 1, 1, tzinfo=UTC),
                    finished_at=datetime(2027, 1, 2, tzinfo=UTC))
    assert doc(later)["runs"][0]["results"][0]["partialFingerprints"] == fp[0]
    others = {sarif.fingerprint(*k) for k in [("exch01", POLICY, "EXO-002"), (PLAIN, POLICY, "EXO-002"),
                                               ("exch01", "other", "EXO-002"), ("exch01", POLICY, "EXO-003")]}
    assert len(others) == 4


def test_streamed_pieces_make_exactly_the_written_document(written: Path) -> None:
    """Each run writes its results and its errors into two sections; joined, they are ``write``'s bytes."""
    rep = every_status()
    whole = sarif.document(rep)
    stream = io.StringIO()
    sarif.write(rep, stream, ReportOptions())
    assert stream.getvalue().encode("utf-8") == whole
    (section,) = sarif.STREAM.sections
    results = rep.results
    for cut in range(len(results) + 1):
        for cut2 in range(cut, len(results) + 1):
            runs: list[bytes] = []
            notes: list[bytes] = []
            for part in (results[:cut], results[cut:cut2], results[cut2:]):
                for write, into in ((sarif.STREAM.write_results, runs), (section.write_results, notes)):
                    out = io.BytesIO()
                    write(rep, part, out)
                    if out.getvalue():
                        into.append(out.getvalue())
            assembled = (sarif.STREAM.head(rep) + sarif.STREAM.separator.join(runs) + section.lead(rep)
                         + section.separator.join(notes) + sarif.STREAM.tail(rep))
            assert assembled == whole, (cut, cut2)
    empty = report([])
    keep(written, "empty.sarif", sarif.document(empty))
    assert json.loads(sarif.document(empty))["runs"][0]["results"] == []


def test_the_cli_writes_sarif_that_points_at_real_lines(written: Path, tmp_path: Path) -> None:
    out, out_json = tmp_path / "out.sarif", tmp_path / "out.json"
    proc = run_cli("scan", "--policy", "policies", "--inventory", "examples/inventory.yaml",
                   "--report", f"sarif={out}", "--report", f"json={out_json}")
    assert proc.returncode == 1, proc.stderr
    keep(written, "cli-example.sarif", out.read_bytes())
    run, report_json = json.loads(out.read_text(encoding="utf-8"))["runs"][0], json.loads(out_json.read_text())
    summary = report_json["summary"]
    assert len(run["results"]) == summary["fail"] + summary["waived"] > 0
    assert len(run["invocations"][0]["toolExecutionNotifications"]) == summary["error"] > 0
    by_key = {(r["target"], r["policy"], r["rule"]): r for r in report_json["results"]}
    for r in run["results"]:
        p = r["properties"]
        source = by_key[(p["target"], p["policy"], p["rule"])]
        uri, base, line = location(r)
        assert base == "%SRCROOT%" and not uri.startswith("/")
        text = (ROOT / uri).read_bytes()
        lines = text.decode("utf-16" if text[:2] in (b"\xff\xfe", b"\xfe\xff") else "utf-8").splitlines()
        if uri.endswith(".reg"):  # the line GitHub shows is the value, or the key that lacks it
            ev = source["evidence"][0]
            shown = lines[line - 1]
            assert (f'"{ev["value"]}"' in shown) if ev.get("type") else shown.startswith("["), (shown, ev)
        elif uri.endswith(".yaml"):  # the rule in its policy file
            assert lines[line - 1].strip() == f"- id: {p['rule']}", lines[line - 1]
        else:
            assert uri.startswith("examples/logs/") and line <= len(lines)


def test_a_fleet_streamed_with_two_jobs_equals_the_gathered_document(fleet: Path, tmp_path: Path,  # noqa: F811
                                                                     written: Path) -> None:
    host, targets, policies, waivers, skeleton = _loaded(fleet, 600)
    assert len(targets) > 2 * BATCH
    run = RunContext(now=NOW, jobs=2)
    gathered = apply_waivers(Engine(policies, host.check_types, run).scan(targets), waivers, NOW)
    a, b = tmp_path / "a.sarif", tmp_path / "b.sarif"
    write_reports(replace(skeleton, results=gathered), [("sarif", str(a))], host.reporters, io.StringIO())
    finished, _ = scan_streamed(Engine(policies, host.check_types, run), targets, skeleton, [("sarif", str(b))],
                                host.reporters, io.StringIO(), waivers)
    end = re.compile(rb'"endTimeUtc": "[^"]*"')
    assert end.sub(b"", a.read_bytes()) == end.sub(b"", b.read_bytes())
    log = json.loads(b.read_bytes())["runs"][0]
    summary = finished.summary()
    assert summary["waived"] and summary["error"] and summary["fail"]
    assert len(log["results"]) == summary["fail"] + summary["waived"]
    assert sum("suppressions" in r for r in log["results"]) == summary["waived"]
    assert len(log["invocations"][0]["toolExecutionNotifications"]) == summary["error"]
    # through the real command line too, with --jobs 2, on 300 targets (two batches; the
    # validator below takes about 4 s per MB, and 700 targets make 10 MB)
    text = (fleet / "inventory.yaml").read_text()
    head, *hosts = re.split(r"\n(?=  - name: )", text)
    inventory = tmp_path / "inventory-300.yaml"
    inventory.write_text(head + "".join("\n" + h for h in hosts[:300]) + "\n")
    for folder in ("exports", "logs"):
        (tmp_path / folder).symlink_to(fleet / folder)
    c = tmp_path / "c.sarif"
    proc = run_cli("scan", "--policy", "policies", "--inventory", str(inventory), "--jobs", "2",
                   "--waivers", str(fleet / "waivers.yaml"), "--now", "2026-11-26T10:00:00Z",
                   "--report", f"sarif={c}", timeout=300)
    assert proc.returncode == 1, proc.stderr
    keep(written, "fleet.sarif", c.read_bytes())
    cli_log = json.loads(c.read_bytes())["runs"][0]
    names = sorted(re.search(r"name: (\S+)", h)[1] for h in hosts[:300])  # type: ignore[index]
    seen = {r["properties"]["target"] for r in cli_log["results"]}
    assert min(seen) <= names[BATCH - 1] < max(seen)  # results from both batches
    assert len({tuple(r["partialFingerprints"].values()) for r in cli_log["results"]}) == len(cli_log["results"])
    assert not list(tmp_path.glob(".*parts"))


def test_a_large_report_is_fast() -> None:
    """50,000 results (8,000 of them fail or waived, 4,000 errors), each target with its own export."""
    rep = big_report(2000, 25)
    start = time.perf_counter()
    data = sarif.document(rep)
    elapsed = time.perf_counter() - start
    assert elapsed < 3.0, f"{elapsed:.2f}s for 50,000 results"
    run, summary = json.loads(data)["runs"][0], rep.summary()
    assert len(run["results"]) == summary["fail"] + summary["waived"] == 8_000
    assert len(run["invocations"][0]["toolExecutionNotifications"]) == summary["error"] == 4_000


def test_registered_as_sarif_reporter_with_a_stream() -> None:
    reporter = load_plugins().reporters["sarif"]
    assert reporter.write is sarif.write and reporter.stream is sarif.STREAM and reporter.extension == ".sarif"


# ---------------------------------------------------------------- Microsoft's validator

def _multitool() -> str:
    found = shutil.which("sarif-multitool")
    if found is None:
        message = "sarif-multitool is not installed (npm install -g @microsoft/sarif-multitool)"
        if os.environ.get("CI"):
            pytest.fail(message + ": under CI it must be")
        pytest.skip(message)
    return found


def _schema(tool: str) -> dict[str, Any]:
    """The SARIF 2.1.0 JSON Schema the validator's package ships (the validator skips a file
    it cannot deserialize, e.g. an unknown ``level``, without a word: the schema does not)."""
    package = Path(tool).resolve().parent
    found = sorted(package.rglob("sarif-2.1.0.json"))
    assert found, f"no sarif-2.1.0.json in {package}"
    return json.loads(found[0].read_text(encoding="utf-8-sig"))


_ERROR = re.compile(r"^(?P<file>.*?)(?:\(\d+(?:,\d+)?\))?\s*:\s*error\s+(?P<rule>[A-Z]+[0-9.A-Za-z]*)\s*:(?P<text>.*)$")


def validate(paths: list[Path]) -> dict[str, list[str]]:
    """``sarif-multitool validate`` with the SARIF and GitHub rules, plus the JSON Schema: the
    errors per file name (every file gets an entry)."""
    tool = _multitool()
    schema = Draft7Validator(_schema(tool))
    errors: dict[str, list[str]] = {p.name: [] for p in paths}
    for p in paths:
        try:
            errors[p.name] += [f"schema: {e.json_path}: {e.message}"[:300] for e in schema.iter_errors(json.loads(
                p.read_bytes()))]
        except ValueError as exc:
            errors[p.name].append(f"not JSON: {exc}")
    # the npm command runs the real tool through a shell: each argument is quoted for it
    args = ["validate", "--rule-kind", "Sarif;Gh", *map(str, paths)]
    proc = subprocess.run([tool, *map(shlex.quote, args)], capture_output=True, text=True, timeout=300, check=False,
                          env={**os.environ, "DOTNET_SYSTEM_GLOBALIZATION_INVARIANT": "1"})
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert f"Done. {len(paths)} files scanned." in proc.stdout, proc.stdout
    for line in proc.stdout.splitlines():
        m = _ERROR.match(line)
        if m:
            errors.setdefault(Path(m["file"]).name, []).append(f"{m['rule']}:{m['text']}"[:300])
    return errors


def test_a_missing_validator_skips_on_a_developer_machine_and_fails_under_ci(monkeypatch) -> None:
    monkeypatch.setattr(shutil, "which", lambda _name: None)
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception):
        _multitool()
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="under CI it must be"):
        _multitool()


BROKEN = {
    "$schema": sarif.SARIF_SCHEMA, "version": "2.1.0",
    "runs": [{"tool": {"driver": {"name": "policyscan", "version": "1", "rules": [{"id": "p/R-1"}]}},
              "results": [{"ruleId": "p/R-1", "ruleIndex": 4, "message": {"text": "fail."},
                           "locations": [{"physicalLocation": {"artifactLocation": {"uri": "a.reg"},
                                                               "region": {"startLine": 0}}}]}]}],
}


def test_the_validator_rejects_a_broken_sarif_file(tmp_path: Path) -> None:
    """The check below can fail: a rule index past the rules, line 0, a rule without help."""
    broken = keep(tmp_path, "broken.sarif", json.dumps(BROKEN))
    unknown_level = json.loads(json.dumps(BROKEN))
    unknown_level["runs"][0]["results"][0] |= {"ruleIndex": 0, "level": "fatal"}
    odd = keep(tmp_path, "odd.sarif", json.dumps(unknown_level))
    errors = validate([broken, odd])
    assert any(e.startswith("SARIF1009") for e in errors["broken.sarif"]), errors  # ruleIndex out of range
    assert any(e.startswith("GH") for e in errors["broken.sarif"]), errors  # GitHub's own requirements
    assert any("startLine" in e for e in errors["broken.sarif"]), errors
    assert any("'fatal' is not one of" in e for e in errors["odd.sarif"]), errors


def test_microsofts_validator_accepts_every_sarif_these_tests_wrote(written: Path) -> None:
    keep(written, "every-status.sarif", sarif.document(every_status()))
    keep(written, "empty.sarif", sarif.document(report([])))
    paths = sorted(written.glob("*.sarif"))
    names = {p.name for p in paths}
    # written by the tests above; when one of them was deselected, validate what there is
    assert names, "no SARIF was written"
    assert validate(paths) == {name: [] for name in names}


def test_only_web_links_become_help_uris() -> None:
    """A policy from elsewhere may name javascript: or data: URLs; SARIF viewers render helpUri as a link."""
    from scanner.api import Severity
    from scanner.report import RuleInfo
    from scanner.reporters.sarif import _rule

    refs = ({"title": "x", "url": "javascript:alert(7)"}, {"title": "d", "url": "data:text/html,<script>1</script>"},
            {"title": "MS", "url": "https://learn.microsoft.com/x"})
    rule = _rule("p", RuleInfo("R", "t", Severity.HIGH, "registry", references=refs), "en")
    assert rule["helpUri"] == "https://learn.microsoft.com/x"
    text = json.dumps(rule)
    assert "javascript:" not in text and "data:text" not in text


def test_a_relative_export_name_is_a_file_location_not_a_uri_scheme(tmp_path: Path) -> None:
    """Found by the black-box review: "a.reg:29" matched the URI-scheme test ("a.reg:"), so a scan
    with --reg a.reg pointed every registry result at the policy file instead of the export."""
    import shutil as _shutil

    from tests.conftest import POLICIES, ROOT, run_cli

    _shutil.copy(ROOT / "examples" / "exports" / "exch02-schannel.reg", tmp_path / "a.reg")
    proc = run_cli("scan", "--policy", str(POLICIES / "exchange-m365-tls12.yaml"), "--reg", "a.reg",
                   "--report", "sarif=o.sarif", cwd=tmp_path)
    assert proc.returncode == 1, proc.stderr
    results = json.loads((tmp_path / "o.sarif").read_text())["runs"][0]["results"]
    registry = [r for r in results if r["ruleId"].endswith(("TLS12-001", "TLS12-002"))]
    assert registry and all(r["locations"][0]["physicalLocation"]["artifactLocation"]
                            == {"uri": "a.reg", "uriBaseId": "%SRCROOT%"} for r in registry)
