"""``policyscan rules``: the table, and one rule in full (item 6 of the authoring kit)."""

from __future__ import annotations

from tests.conftest import POLICIES, run_cli


def test_one_rule_in_full_gives_every_language_and_the_check() -> None:
    out = run_cli("rules", "--policy", str(POLICIES), "EXO-TLS12-002")
    assert out.returncode == 0, out.stderr
    text = out.stdout
    assert text.startswith("exchange-m365-tls12/EXO-TLS12-002  (policy ")
    for part in ("severity: high", "check types: registry", "  [en] SCHANNEL TLS 1.2 Client DisabledByDefault is 0",
                 "  [es] SCHANNEL TLS 1.2 Cliente", "rationale:", "references:", "https://learn.microsoft.com/",
                 '"value": "DisabledByDefault"', "remediation:", "  [en] Back up the registry first",
                 "  [es] Haga primero una copia de seguridad", "defined at: exchange-m365-tls12 (",
                 "exchange-m365-tls12.yaml:"):
        assert part in text, part
    assert "POLICY  RULE" not in text  # not the table


def test_policy_slash_rule_and_several_rules() -> None:
    out = run_cli("rules", "--policy", str(POLICIES), "exchange-m365-tls12/EXO-TLS12-001", "EXO-TLS12-002")
    assert out.returncode == 0, out.stderr
    assert out.stdout.count("defined at: ") == 2


def test_an_unknown_rule_is_a_usage_error_with_a_suggestion() -> None:
    out = run_cli("rules", "--policy", str(POLICIES), "EXO-TLS12-02")
    assert out.returncode == 2
    assert "no loaded policy has a rule 'EXO-TLS12-02' (did you mean" in out.stderr
    assert out.stdout == ""  # nothing half-printed


def test_without_a_rule_the_table_lists_every_rule() -> None:
    out = run_cli("rules", "--policy", str(POLICIES))
    assert out.returncode == 0
    lines = out.stdout.splitlines()
    assert lines[0].split()[:5] == ["POLICY", "RULE", "SEVERITY", "CHECK", "TITLE"]
    assert any(" EXO-TLS12-002 " in f" {line} " for line in lines)
