"""Every regex parameter of every built-in check type is an RE2 regex checked by ``validate``.

Validation compiles a parameter with RE2 when its check type's schema says
``format: regex``; a regex parameter without it would reach the scan
unchecked (and RE2's own log lines, ``re2.cc:...``, would reach the terminal).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from scanner.plugin_host import load_plugins
from tests.conftest import run_cli

REGEX_NAMES = {"regex", "matches", "pattern_regex"}


def _regex_like(schema: Any, path: str = "") -> Iterator[tuple[str, Mapping[str, Any]]]:
    """Every property schema in ``schema`` that names or describes a regex."""
    if isinstance(schema, Mapping):
        for name, sub in (schema.get("properties") or {}).items():
            if not isinstance(sub, Mapping) or sub.get("type") != "string":
                continue  # e.g. a dependentSchemas entry that only forbids the name
            text = str(sub.get("description", "")).lower()
            if name in REGEX_NAMES or "regex" in text or "re2" in text:
                yield f"{path}.{name}", sub
        for value in schema.values():
            yield from _regex_like(value, path)
    elif isinstance(schema, list):
        for value in schema:
            yield from _regex_like(value, path)


def test_every_regex_parameter_of_the_built_in_check_types_is_format_regex():
    host = load_plugins()
    built_in = {name for name, owner in host.check_type_owner.items() if owner in ("registry", "smtp", "logs")}
    found = {(name, where): sub for name, ct in host.check_types.items() if name in built_in
             for where, sub in _regex_like(ct.schema)}
    assert {name for name, _ in found} >= {"registry", "log_signatures"}
    missing = sorted(f"{name}{where}" for (name, where), sub in found.items() if sub.get("format") != "regex")
    assert not missing, f"regex parameters without format: regex (not checked by validate): {missing}"


def test_a_log_signature_regex_that_is_not_re2_is_located_and_nothing_else_is_printed(tmp_path: Path):
    policy = tmp_path / "logs.yaml"
    policy.write_text(
        "apiVersion: policyscan/v1\nkind: Policy\nmetadata: {id: l, title: l, version: '1'}\nrules:\n"
        "  - id: L1\n    title: t\n    severity: low\n    check:\n      log_signatures:\n        forbid:\n"
        "          - regex: '(\\w)\\1'\n"
        "          - {id: old, regex: 'SP_PROT_(SSL3'}\n"
    )
    out = run_cli("validate", str(policy))
    assert out.returncode == 2
    assert out.stderr.splitlines() == [
        f"{policy}:11:20: rules[0].check.log_signatures.forbid[0].regex: not a valid RE2 regex: "
        "invalid escape sequence: \\1",
        f"{policy}:12:30: rules[0].check.log_signatures.forbid[1].regex: not a valid RE2 regex: "
        "missing ): SP_PROT_(SSL3",
        "2 problem(s) in 1 file(s)",
    ]
