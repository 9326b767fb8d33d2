"""The console reporter: summary, failures by target, colour only on request."""

from __future__ import annotations

import io

from sample_reports import (
    BASELINE,
    DOTTED,
    PLAIN,
    POLICY,
    REMEDIATION,
    SKIP_REASON,
    SPANISH,
    WAIVER,
    result,
    sample_report,
)

from scanner.api import ReportOptions, Status
from scanner.reporters import console


def render(report=None, color: bool = False) -> str:
    stream = io.StringIO()
    console.write(report or sample_report(), stream, ReportOptions(color=color))
    return stream.getvalue()


def test_summary_line_counts_every_status_targets_and_policies() -> None:
    first = render().splitlines()[0]
    assert first == "9 results: 3 pass, 2 fail, 1 error, 2 skip, 1 waived (2 targets, 2 policies)"


def test_failures_and_errors_grouped_by_target_in_order_with_details() -> None:
    lines = render().splitlines()
    assert lines.index(DOTTED) < lines.index(PLAIN)
    block = "\n".join(lines[lines.index(DOTTED) : lines.index(PLAIN)])
    assert "FAIL   high      corp.exchange-tls12/EXO-002  SCHANNEL TLS 1.2 is enabled for the client side" in block
    assert "         Enabled is 0, expected 1" in block
    assert f"remediation: {REMEDIATION}" in block
    assert "evidence: exports/exch01.reg:14; logs/send.LOG:7" in block
    assert "ERROR  medium    corp.exchange-tls12/EXO-003" in block
    assert "not covered by the export" in block
    # the second target's failure: non-ASCII kept, multi-line remediation indented under its label
    text = render()
    assert SPANISH in text
    assert "remediation: Disable TLS 1.0.\n                      Then restart." in text


def test_remediation_only_for_failures_and_passes_not_listed() -> None:
    text = render()
    assert text.count("remediation:") == 2  # two fails; the error and the waived result have none shown
    assert "EXO-001" not in text  # a pass
    assert f"{BASELINE}/BASE-1" not in text


def test_waived_and_skipped_listed_briefly() -> None:
    text = render()
    assert "Waived (1):" in text
    assert f"  {PLAIN}  {POLICY}/EXO-002  {WAIVER['reason']} (expires {WAIVER['expires']})" in text
    assert f"Skipped (2):\n  2 x {SKIP_REASON}" in text


def test_no_ansi_without_colour_and_ansi_with_colour() -> None:
    plain = render(color=False)
    coloured = render(color=True)
    assert "\x1b" not in plain
    assert "\x1b[1;31m2 fail\x1b[0m" in coloured
    assert "\x1b[0m" in coloured
    # stripping the codes gives the same words
    import re

    assert re.sub(r"\x1b\[[0-9;]*m", "", coloured) == plain


def test_control_characters_from_hosts_cannot_reach_the_terminal() -> None:
    hostile = result(PLAIN, POLICY, "EXO-009", Status.FAIL, message="bad\x1b[2Jclear\rover\x07",
                     remediation="fix\x00it")
    text = render(sample_report([hostile]))
    assert "\x1b" not in text and "\x07" not in text and "\r" not in text and "\x00" not in text
    assert "bad\\x1b[2Jclear\\rover\\x07" in text
    assert "fix\\x00it" in text


def test_single_policy_rule_ids_without_policy_prefix() -> None:
    report = sample_report([result(PLAIN, POLICY, "EXO-002", Status.FAIL, message="m")])
    text = render(report)
    assert "  FAIL   high      EXO-002  Title of EXO-002" in text
    assert f"{POLICY}/EXO-002" not in text


def test_empty_report_says_nothing_was_checked() -> None:
    text = render(sample_report([]))
    assert text.startswith("0 results: 0 pass, 0 fail, 0 error, 0 skip, 0 waived")
    assert "Nothing was checked" in text


def test_output_is_deterministic() -> None:
    assert render() == render()


def test_registered_as_console_reporter() -> None:
    (reporter,) = console.register_reporters()
    assert reporter.name == "console" and reporter.write is console.write and reporter.extension == ".txt"


def test_spanish_labels_with_lang_es() -> None:
    """With ``--lang es`` the summary, status words and labels are Spanish (scanner/locale/es)."""
    import dataclasses

    text = render(dataclasses.replace(sample_report(), lang="es"))
    assert text.splitlines()[0] == (
        "9 resultados: 3 correcto, 2 fallo, 1 error, 2 omitido, 1 exento (2 destinos, 2 políticas)"
    )
    assert "FALLO  alta      corp.exchange-tls12/EXO-002" in text
    assert "evidencia: exports/exch01.reg:14; logs/send.LOG:7" in text
    assert f"corrección: {REMEDIATION}" in text
    assert "Exentos (1):" in text and "Omitidos (2):" in text and "(vence el 2026-12-31)" in text
    for english in ("results:", "evidence:", "remediation:", "Waived", "Skipped"):
        assert english not in text


def test_spanish_console_from_the_command_line() -> None:
    from tests.conftest import POLICIES, ROOT, run_cli

    out = run_cli("scan", "--policy", str(POLICIES), "--inventory", str(ROOT / "examples" / "inventory.yaml"),
                  "--lang", "es")
    assert out.returncode == 1
    assert "resultados:" in out.stdout and "evidencia:" in out.stdout and "corrección:" in out.stdout
