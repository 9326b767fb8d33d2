"""Every human-facing string of the ``html`` report, in one place.

The page's static part (:mod:`scanner.reporters.html_report`) and its script
(:mod:`scanner.reporters.html_script`, which receives this mapping as data)
take their headings, labels and button texts from :func:`labels` only: the
English :data:`LABELS` (marked with ``N_`` for the ``policyscan`` gettext
catalog) translated into the report's language (``--lang``, :mod:`scanner.i18n`).
``{name}`` fields are filled with :meth:`str.format` in Python and by the
script's ``fmt`` in the page, after translation.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from types import MappingProxyType

from scanner.i18n import N_, translated

LABELS: Mapping[str, str] = {
    "title": N_("policyscan report"),
    "subtitle": N_("Compliance scan of {targets} target(s) against {policies} policy pack(s)"),
    "verdict_fail": N_("{fail} failed, {error} error(s) in {total} results"),
    "verdict_error": N_("No failures, but {error} error(s) in {total} results: not everything was checked"),
    "verdict_pass": N_("No failures and no errors in {total} results"),
    "verdict_empty": N_("Nothing was checked"),
    "run": N_("Run"),
    "tool": N_("Tool"),
    "started": N_("Started"),
    "finished": N_("Finished"),
    "now": N_("Judged at (--now)"),
    "targets": N_("Targets"),
    "inputs": N_("Inputs"),
    "none": N_("none"),
    "waiver_file": N_("Waiver file"),
    "baseline": N_("Baseline"),
    "baseline_known": N_("{known} known failure(s) not gated"),
    "facts": N_("Judged from facts"),
    "facts_collected": N_("collected at {time} by policyscan {version}"),
    "language": N_("Language"),
    "policies": N_("Policies"),
    "overlays": N_("Overlays"),
    "policy": N_("Policy"),
    "policy_title": N_("Title"),
    "version": N_("Version"),
    "rules": N_("Rules"),
    "sha256": N_("SHA-256"),
    "summary": N_("Summary"),
    "by_status": N_("Results by status"),
    "by_severity": N_("Results by severity"),
    "failing_rules": N_("Failing rules, by targets affected"),
    "no_failing_rules": N_("No rule fails on any target."),
    "targets_affected": N_("{n} target(s)"),
    "matrix": N_("Targets × rules"),
    "matrix_help": N_(
        "Each column is a rule: on top, its share of the whole fleet by status; below, one row per target,"
        " worst targets first. Click a cell to see its result."
    ),
    "matrix_all": N_("All {n} targets"),
    "matrix_page": N_("Targets {first}–{last} of {total}"),
    "results": N_("Results"),
    "status": N_("Status"),
    "severity": N_("Severity"),
    "target": N_("Target"),
    "rule": N_("Rule"),
    "message": N_("Message"),
    "all_policies": N_("All policies"),
    "all_rules": N_("All rules"),
    "target_filter": N_("Target name contains…"),
    "search": N_("Search messages, evidence, remediation…"),
    "reset": N_("Reset filters"),
    "showing": N_("Showing {first}–{last} of {shown} matching results ({total} in all)"),
    "page_of": N_("{first}–{last} of {total}"),
    "no_rows": N_("No result matches these filters."),
    "previous": N_("‹ Previous"),
    "next": N_("Next ›"),
    "loading": N_("Reading results… {done} of {total}"),
    "noscript": N_("The charts, filters and result details need JavaScript; the summary above is complete without it."),
    "expected": N_("Expected"),
    "actual": N_("Actual"),
    "evidence": N_("Evidence"),
    "remediation": N_("Remediation"),
    "waiver": N_("Waiver"),
    "waiver_text": N_("{reason} (expires {expires})"),
    "outcome": N_("Real outcome"),
    "description": N_("Description"),
    "rationale": N_("Rationale"),
    "references": N_("References"),
    "tags": N_("Tags"),
    "check_type": N_("Check type"),
    "target_labels": N_("Target labels"),
    "details_hint": N_("Click a row for its details."),
    "status_pass": N_("Pass"),
    "status_fail": N_("Fail"),
    "status_error": N_("Error"),
    "status_skip": N_("Skip"),
    "status_waived": N_("Waived"),
    "severity_info": N_("Info"),
    "severity_low": N_("Low"),
    "severity_medium": N_("Medium"),
    "severity_high": N_("High"),
    "severity_critical": N_("Critical"),
}
"""English labels; keys are stable, values are what a reader sees."""


_in_lang = translated(LABELS)


@cache
def labels(lang: str = "en") -> Mapping[str, str]:
    """The labels in ``lang`` (English for a language, or a label, the catalogs do not translate)."""
    return MappingProxyType(_in_lang(lang))
