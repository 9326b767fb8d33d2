"""Overlays that must be refused: one posing as its base (its id), a blank or contradictory
``disable``, and a ``pack:NAME/FILE`` reference that leads out of its pack."""

from __future__ import annotations

import shutil
from pathlib import Path

from tests.conftest import run_cli
from tests.test_overlays import BASE, OVERLAY, _overlay, _problems
from tests.test_plugin_hooks import PLUGIN, POLICY, _site


def _line(path: Path, text: str) -> int:
    return next(n for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1) if text in line)


def test_an_overlay_may_not_take_its_bases_id(tmp_path: Path) -> None:
    overlay = _overlay(tmp_path, str(BASE), OVERLAY.replace("id: contoso-tls", "id: exchange-m365-tls12"))
    said = _problems(overlay)
    assert f"{overlay}:3:16: overlay id 'exchange-m365-tls12' is the id of the policy it extends ({BASE})" in said
    scan = run_cli("scan", "--policy", str(overlay), "--inventory", str(BASE.parents[1] / "examples/inventory.yaml"))
    assert scan.returncode == 2


def test_an_overlay_may_not_take_the_id_of_any_policy_of_its_chain(tmp_path: Path) -> None:
    shutil.copy(BASE, tmp_path / BASE.name)
    _overlay(tmp_path)  # contoso.yaml: contoso-tls extends the base
    top = tmp_path / "top.yaml"
    top.write_text(
        "apiVersion: policyscan/v1\nkind: Policy\n"
        "metadata: {id: exchange-m365-tls12, title: Top, version: '1'}\nextends: contoso.yaml\n",
        encoding="utf-8",
    )
    said = _problems(top)
    assert f"{top}:3:16: overlay id 'exchange-m365-tls12' is the id of the policy it extends" in said


def test_a_disable_reason_must_say_something(tmp_path: Path) -> None:
    text = OVERLAY.replace('"Contoso has no such receive connector; waived by CAB-123"', '"   "')
    overlay = _overlay(tmp_path, str(BASE), text)
    said = _problems(overlay)
    line = _line(overlay, "EXO-TLS12-LOG-005:")
    assert f"{overlay}:{line}:22: disable EXO-TLS12-LOG-005: the reason is blank" in said


def test_overriding_and_disabling_one_rule_is_a_contradiction(tmp_path: Path) -> None:
    text = OVERLAY.replace("  EXO-TLS12-LOG-005:", "  EXO-TLS12-002:")
    overlay = _overlay(tmp_path, str(BASE), text)
    said = _problems(overlay)
    where = _line(overlay, "EXO-TLS12-002:")
    line = _line(overlay, '  EXO-TLS12-002: "Contoso')
    assert (f"{overlay}:{line}:3: disables rule 'EXO-TLS12-002', which this overlay also overrides "
            f"(overrides at line {where})") in said


def _packed(tmp_path: Path) -> Path:
    site = _site(tmp_path, PLUGIN)
    (site / "packed").mkdir()
    (site / "packed" / "packed.yaml").write_text(POLICY.format(id="packed"), encoding="utf-8")
    return site


def test_a_pack_file_reference_may_not_leave_the_pack(tmp_path: Path) -> None:
    site = _packed(tmp_path)
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (outside / "base.yaml").write_text(POLICY.format(id="outside"), encoding="utf-8")
    depth = len(site.joinpath("packed").parts)
    overlay = tmp_path / "mine.yaml"
    for ref in (
        "pack:packed/../../elsewhere/base.yaml",
        "pack:packed/" + "../" * depth + str(outside / "base.yaml").lstrip("/"),
        f"pack:packed/{outside / 'base.yaml'}",
    ):
        overlay.write_text(
            f"apiVersion: policyscan/v1\nkind: Policy\nmetadata: {{id: mine, title: Mine, version: '1'}}\n"
            f"extends: {ref}\n", encoding="utf-8")
        out = run_cli("validate", str(overlay), pythonpath=site)
        assert out.returncode == 2, (ref, out.stdout + out.stderr)
        assert f"{overlay}:4:10: extends {ref!r}: a pack:NAME/FILE reference must name a file inside the pack" \
            in out.stdout + out.stderr


def test_a_link_in_a_pack_may_not_lead_out_of_it(tmp_path: Path) -> None:
    site = _packed(tmp_path)
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (outside / "base.yaml").write_text(POLICY.format(id="outside"), encoding="utf-8")
    (site / "packed" / "out").symlink_to(outside, target_is_directory=True)
    overlay = tmp_path / "mine.yaml"
    overlay.write_text("apiVersion: policyscan/v1\nkind: Policy\nmetadata: {id: mine, title: Mine, version: '1'}\n"
                       "extends: pack:packed/out/base.yaml\n", encoding="utf-8")
    out = run_cli("validate", str(overlay), pythonpath=site)
    assert out.returncode == 2
    assert "leads out of it" in out.stdout + out.stderr
    overlay.write_text(overlay.read_text(encoding="utf-8").replace("out/base.yaml", "packed.yaml"), encoding="utf-8")
    ok = run_cli("validate", str(overlay), pythonpath=site)
    assert ok.returncode == 0, ok.stdout + ok.stderr
