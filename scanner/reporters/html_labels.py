"""Every human-facing string of the ``html`` report, in one place.

The page's static part (:mod:`scanner.reporters.html_report`) and its script
(:mod:`scanner.reporters.html_script`, which receives this mapping as data)
take their headings, labels and button texts from :data:`LABELS` only, so a
localisation pass can wrap these values (gettext) and pick a language with
``--lang``. ``{name}`` fields are filled with :meth:`str.format` in Python and
by the script's ``fmt`` in the page.
"""

from __future__ import annotations

from collections.abc import Mapping

LABELS: Mapping[str, str] = {
    "title": "policyscan report",
    "subtitle": "Compliance scan of {targets} target(s) against {policies} policy pack(s)",
    "verdict_fail": "{fail} failed, {error} error(s) in {total} results",
    "verdict_error": "No failures, but {error} error(s) in {total} results: not everything was checked",
    "verdict_pass": "No failures and no errors in {total} results",
    "verdict_empty": "Nothing was checked",
    "run": "Run",
    "tool": "Tool",
    "started": "Started",
    "finished": "Finished",
    "now": "Judged at (--now)",
    "targets": "Targets",
    "inputs": "Inputs",
    "none": "none",
    "waiver_file": "Waiver file",
    "baseline": "Baseline",
    "baseline_known": "{known} known failure(s) not gated",
    "language": "Language",
    "policies": "Policies",
    "policy": "Policy",
    "policy_title": "Title",
    "version": "Version",
    "rules": "Rules",
    "sha256": "SHA-256",
    "summary": "Summary",
    "by_status": "Results by status",
    "by_severity": "Results by severity",
    "failing_rules": "Failing rules, by targets affected",
    "no_failing_rules": "No rule fails on any target.",
    "targets_affected": "{n} target(s)",
    "matrix": "Targets × rules",
    "matrix_help": (
        "Each column is a rule: on top, its share of the whole fleet by status; below, one row per target,"
        " worst targets first. Click a cell to see its result."
    ),
    "matrix_all": "All {n} targets",
    "matrix_page": "Targets {first}–{last} of {total}",
    "results": "Results",
    "status": "Status",
    "severity": "Severity",
    "target": "Target",
    "rule": "Rule",
    "message": "Message",
    "all_policies": "All policies",
    "all_rules": "All rules",
    "target_filter": "Target name contains…",
    "search": "Search messages, evidence, remediation…",
    "reset": "Reset filters",
    "showing": "Showing {first}–{last} of {shown} matching results ({total} in all)",
    "page_of": "{first}–{last} of {total}",
    "no_rows": "No result matches these filters.",
    "previous": "‹ Previous",
    "next": "Next ›",
    "loading": "Reading results… {done} of {total}",
    "noscript": "The charts, filters and result details need JavaScript; the summary above is complete without it.",
    "expected": "Expected",
    "actual": "Actual",
    "evidence": "Evidence",
    "remediation": "Remediation",
    "waiver": "Waiver",
    "waiver_text": "{reason} (expires {expires})",
    "outcome": "Real outcome",
    "description": "Description",
    "rationale": "Rationale",
    "references": "References",
    "tags": "Tags",
    "check_type": "Check type",
    "target_labels": "Target labels",
    "details_hint": "Click a row for its details.",
    "status_pass": "Pass",
    "status_fail": "Fail",
    "status_error": "Error",
    "status_skip": "Skip",
    "status_waived": "Waived",
    "severity_info": "Info",
    "severity_low": "Low",
    "severity_medium": "Medium",
    "severity_high": "High",
    "severity_critical": "Critical",
}
"""English labels; keys are stable, values are what a reader sees."""


def labels(lang: str = "en") -> Mapping[str, str]:
    """The labels for ``lang`` (only English so far: every language gets it)."""
    return LABELS
