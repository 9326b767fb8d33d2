"""``policyscan fix``, proven on a real registry implementation (Wine's).

Each Wine test imports the scanned state into a Wine prefix (``regedit /S``),
applies what ``fix`` wrote (``regedit /S fix.reg`` or ``cmd /c fix.cmd``),
exports the branches again (``regedit /E``) and scans that export with the
same policy through the CLI: every fixable rule must now pass, the others
must still fail, and ``fix`` must have listed exactly those. One prefix
serves the module (wineboot costs seconds); the branches are reset before
each test. Without Wine these tests skip, except when ``CI`` is set: then a
missing Wine is a failure. The PowerShell script cannot run here; it is
compared with a checked-in golden file (``tests/data/fix/fixable.ps1``).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

DATA = Path(__file__).resolve().parent.parent / "data" / "fix"
POLICY = DATA / "fixable.yaml"
BASE = "HKEY_LOCAL_MACHINE\\SOFTWARE\\PolicyscanFixTest"
BASE2 = "HKEY_LOCAL_MACHINE\\SOFTWARE\\PolicyscanFixTest2"

SCANNED = f"""Windows Registry Editor Version 5.00

[{BASE}]
"Wrong"=dword:00000000
"Name"="old"
"Multi"=hex(7):61,00,00,00,00,00
"Big"=dword:00000001
"Keep"=dword:00000003
"Level"=dword:00000001
"Multi2"=dword:00000005
"Wrong2"=dword:00000000

[{BASE}\\Present]
@="old default"
"A"=dword:00000000
"""
#: Covers the second branch as absent (a [-KEY] line covers its branch); importing it deletes the key.
ABSENT = f"""Windows Registry Editor Version 5.00

[-{BASE2}]
"""
FIXABLE = {f"fix-test/FIX-{i:03d}" for i in range(1, 14)}
UNFIXABLE = {f"fix-test/NOFIX-{i:03d}" for i in range(1, 6)}


def _reg_bytes(text: str) -> bytes:
    return b"\xff\xfe" + text.replace("\n", "\r\n").encode("utf-16-le")


def _policyscan(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "scanner", *args], capture_output=True, text=True, timeout=120,
                          cwd=cwd)


def _find_wine() -> str | None:
    for name in ("wine64", "wine"):
        found = shutil.which(name)
        if found:
            return found
    return "/usr/lib/wine/wine64" if os.access("/usr/lib/wine/wine64", os.X_OK) else None


class Wine:
    """One Wine prefix: run programs in it, reset the test branches."""

    def __init__(self, binary: str, prefix: Path) -> None:
        self.binary = binary
        self.env = {k: v for k, v in os.environ.items() if k != "DISPLAY"}
        # no Mono/Gecko install prompts, no debug chatter, no display: the first wineboot cannot hang on a dialog
        self.env.update(WINEPREFIX=str(prefix), WINEDEBUG="-all", WINEDLLOVERRIDES="mscoree,mshtml=")

    def run(self, *args: str, cwd: Path | None = None, check: bool = True) -> subprocess.CompletedProcess[str]:
        # output through files, not pipes: Wine's background services (started by the first call, kept by the
        # persistent wineserver) inherit the descriptors, and a pipe would never see its end
        with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
            code = subprocess.run([self.binary, *args], stdin=subprocess.DEVNULL, stdout=out, stderr=err,
                                  env=self.env, cwd=cwd, timeout=180, check=False).returncode
            out.seek(0)
            err.seek(0)
            done = subprocess.CompletedProcess(args, code, out.read().decode(errors="replace"),
                                               err.read().decode(errors="replace"))
        if check and done.returncode != 0:
            raise AssertionError(f"wine {' '.join(args)} exited {done.returncode}: {done.stdout}{done.stderr}")
        return done

    def import_reg(self, path: Path) -> None:
        self.run("regedit", "/S", str(path))

    def export(self, key: str, path: Path) -> None:
        self.run("regedit", "/E", str(path), key)

    def reset(self, tmp: Path, scanned: str = SCANNED) -> list[Path]:
        """Delete the test branches, import the scanned state; return the scanned files."""
        for key in (BASE, BASE2):
            self.run("reg", "delete", key, "/f", check=False)
        files = [tmp / "scanned.reg", tmp / "absent.reg"]
        files[0].write_bytes(_reg_bytes(scanned))
        files[1].write_bytes(_reg_bytes(ABSENT))
        for f in files:
            self.import_reg(f)
        return files

    def server(self, option: str) -> None:
        """``wineserver -p`` (stay up between calls: each call then costs a fifth) or ``-k`` (stop it)."""
        server = Path(self.binary).with_name("wineserver")
        if not server.exists():
            server = Path(shutil.which("wineserver") or "/usr/lib/wine/wineserver")
        if server.exists():
            subprocess.run([str(server), option], env=self.env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL, timeout=60, check=False)


@pytest.fixture(scope="module")
def wine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Wine]:
    binary = _find_wine()
    if binary is None:
        if os.environ.get("CI"):
            pytest.fail("Wine is required in CI (apt-get install wine64): the fix tests need a real registry")
        pytest.skip("Wine is not installed (apt-get install wine64)")
    w = Wine(binary, tmp_path_factory.mktemp("wineprefix"))
    w.run("cmd", "/c", "echo", "ready")  # wineboot, once for the module
    w.server("-p")
    try:
        yield w
    finally:
        w.server("-k")
        w.server("-w")  # wait until it is gone


def _scan(files: list[Path], report: Path, policy: Path = POLICY) -> dict[str, str]:
    args = ["scan", "--policy", str(policy), "--target", "host1", "--report", f"json={report}"]
    for f in files:
        args += ["--reg", str(f)]
    done = _policyscan(*args)
    assert done.returncode in (0, 1), done.stderr
    doc = json.loads(report.read_text(encoding="utf-8"))
    return {f"{r['policy']}/{r['rule']}": r["status"] for r in doc["results"]}


def _listed(stderr: str) -> set[str]:
    """The ``policy/rule`` of every "not fixed" line of ``fix``'s stderr."""
    out = set()
    for line in stderr.splitlines():
        if line.startswith("policyscan fix: not fixed: "):
            out.add(line.split(" ")[5].rstrip(":"))
    return out


def _export_and_scan(wine: Wine, tmp: Path, policy: Path = POLICY) -> dict[str, str]:
    after = [tmp / "after.reg", tmp / "after2.reg"]
    wine.export(BASE, after[0])
    if wine.run("reg", "query", BASE2, check=False).returncode == 0:
        wine.export(BASE2, after[1])
    else:
        after[1].write_bytes(_reg_bytes(ABSENT))
    return _scan(after, tmp / "after.json", policy)


def test_reg_fix_makes_every_fixable_rule_pass(wine: Wine, tmp_path: Path) -> None:
    files = wine.reset(tmp_path)
    before = _scan(files, tmp_path / "before.json")
    assert {r for r, s in before.items() if s == "fail"} == FIXABLE | UNFIXABLE
    fix = _policyscan("fix", "--from", str(tmp_path / "before.json"), "--format", "reg",
                      "--output", str(tmp_path / "fix.reg"))
    assert fix.returncode == 1, fix.stderr
    assert _listed(fix.stderr) == UNFIXABLE
    assert "remediation: Raise Level to 10 or more." in fix.stderr
    raw = (tmp_path / "fix.reg").read_bytes()
    assert raw.startswith(b"\xff\xfeW\x00i\x00n\x00") and b"\r\x00\n\x00" in raw and b"\n\x00" not in raw.replace(
        b"\r\x00\n\x00", b"")
    wine.import_reg(tmp_path / "fix.reg")
    after = _export_and_scan(wine, tmp_path)
    assert {r for r in FIXABLE if after[r] != "pass"} == set()
    assert {r for r in UNFIXABLE if after[r] != "fail"} == set()
    assert after["fix-test/PASS-001"] == "pass"


def test_cmd_fix_backs_up_then_sets(wine: Wine, tmp_path: Path) -> None:
    files = wine.reset(tmp_path)
    _scan(files, tmp_path / "before.json")
    fix = _policyscan("fix", "--from", str(tmp_path / "before.json"), "--format", "cmd",
                      "--output", str(tmp_path / "fix.cmd"))
    assert fix.returncode == 1, fix.stderr
    assert _listed(fix.stderr) == UNFIXABLE
    text = (tmp_path / "fix.cmd").read_bytes()
    assert b"\r\n" in text and b"\n" not in text.replace(b"\r\n", b"")
    done = wine.run("cmd", "/c", "fix.cmd", cwd=tmp_path)
    assert "Restart the server" in done.stdout
    assert "does not exist yet" in done.stdout and "PolicyscanFixTest2" in done.stdout
    backups = list(tmp_path.glob("policyscan-backup-host1-*/*.reg"))
    assert len(backups) == 1, done.stdout  # the base key holds every other existing key
    old = backups[0].read_bytes().decode("utf-16")
    assert '"Wrong"=dword:00000000' in old and '"Name"="old"' in old and '@="old default"' in old
    after = _export_and_scan(wine, tmp_path)
    assert {r for r in FIXABLE if after[r] != "pass"} == set()
    assert {r for r in UNFIXABLE if after[r] != "fail"} == set()
    # a second run (Wine's %TIME% has minutes only: the same stamp) gets a folder of its own, so the
    # first backup, the only one holding the values from before the fix, is never overwritten
    wine.run("cmd", "/c", "fix.cmd", cwd=tmp_path)
    folders = sorted(tmp_path.glob("policyscan-backup-host1-*"))
    assert len(folders) == 2, folders
    assert backups[0].read_bytes().decode("utf-16") == old


def test_cmd_fix_stops_when_the_backup_fails(wine: Wine, tmp_path: Path) -> None:
    files = wine.reset(tmp_path)
    _scan(files, tmp_path / "before.json")
    _policyscan("fix", "--from", str(tmp_path / "before.json"), "--format", "cmd", "--output", str(tmp_path / "f.cmd"))
    script = (tmp_path / "f.cmd").read_text(encoding="ascii")
    # a backup folder that cannot hold files: reg export fails, and nothing may change
    script = script.replace('"%BACKUP%\\01-', '"%BACKUP%\\no\\such\\dir\\01-', 1)
    (tmp_path / "f.cmd").write_text(script, encoding="ascii", newline="")
    done = wine.run("cmd", "/c", "f.cmd", cwd=tmp_path, check=False)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "nothing was changed" in done.stdout + done.stderr
    after = _export_and_scan(wine, tmp_path)
    assert after["fix-test/FIX-001"] == "fail"


HOSTILE_NAMES = ['q"uote', "pct%PATH%x%1", "amp&pipe|lt<gt>", "caret^end^", "bang!x!", "back\\slash\\",
                 "paren(x)", "br]acket"]
HOSTILE_POLICY = """apiVersion: policyscan/v1
kind: Policy
metadata: {id: hostile, title: Hostile names, version: 1.0.0}
rules:
"""


def _hostile_policy(tmp: Path) -> tuple[Path, dict[str, str]]:
    """A policy whose values have names and data that break naive quoting; rule -> kind."""
    rules = []
    kinds = {}
    for i, name in enumerate(HOSTILE_NAMES, 1):
        rules.append({"id": f"H-{i:02d}", "title": "hostile name", "severity": "high",
                      "check": {"registry": {"key": "HKLM\\SOFTWARE\\PolicyscanFixTest\\x]y", "value": name,
                                             "equals": f"{name} & echo pwned > pwned.txt & %CD% ^"}}})
        kinds[f"hostile/H-{i:02d}"] = "quote" if '"' in name else "plain"
    rules.append({"id": "H-90", "title": "a line break in the data", "severity": "high",
                  "check": {"registry": {"key": "HKLM\\SOFTWARE\\PolicyscanFixTest", "value": "nl",
                                         "equals": "line1\r\nline2\n[HKEY_LOCAL_MACHINE\\SOFTWARE\\Evil]"}}})
    kinds["hostile/H-90"] = "newline-data"
    rules.append({"id": "H-91", "title": "a line break in the name", "severity": "high",
                  "check": {"registry": {"key": "HKLM\\SOFTWARE\\PolicyscanFixTest", "value": "a\nb", "equals": 1}}})
    kinds["hostile/H-91"] = "newline-name"
    rules.append({"id": "H-92", "title": "quotes PowerShell also reads", "severity": "high",
                  "check": {"registry": {"key": "HKLM\\SOFTWARE\\PolicyscanFixTest", "value": "it's",
                                         "equals": "\u2019; Remove-Item C:\\ -Recurse; '"}}})
    kinds["hostile/H-92"] = "nonascii"
    rules.append({"id": "H-93", "title": "a double quote in the data", "severity": "high",
                  "check": {"registry": {"key": "HKLM\\SOFTWARE\\PolicyscanFixTest", "value": "dq",
                                         "equals": '" & echo pwned > pwned.txt & "'}}})
    kinds["hostile/H-93"] = "quote"
    path = tmp / "hostile.yaml"
    path.write_text(HOSTILE_POLICY + "".join("  - " + json.dumps(r) + "\n" for r in rules), encoding="utf-8")
    return path, kinds


@pytest.mark.parametrize("fmt", ["reg", "cmd"])
def test_hostile_names(wine: Wine, tmp_path: Path, fmt: str) -> None:
    policy, kinds = _hostile_policy(tmp_path)
    files = wine.reset(tmp_path)
    before = _scan(files, tmp_path / "before.json", policy)
    assert set(before.values()) == {"fail"}
    out = tmp_path / ("fix." + fmt)
    fix = _policyscan("fix", "--from", str(tmp_path / "before.json"), "--format", fmt, "--output", str(out))
    assert fix.returncode == 1
    refused = {"newline-name"} if fmt == "reg" else {"newline-name", "newline-data", "quote", "nonascii"}
    expect_listed = {r for r, k in kinds.items() if k in refused}
    assert _listed(fix.stderr) == expect_listed
    if fmt == "reg":
        wine.import_reg(out)
    else:
        wine.run("cmd", "/c", out.name, cwd=tmp_path)
    assert not (tmp_path / "pwned.txt").exists()
    assert wine.run("reg", "query", "HKLM\\SOFTWARE\\Evil", check=False).returncode != 0
    after = _export_and_scan(wine, tmp_path, policy)
    assert {r for r in kinds if r not in expect_listed and after[r] != "pass"} == set()
    assert {r for r in expect_listed if after[r] != "fail"} == set()
