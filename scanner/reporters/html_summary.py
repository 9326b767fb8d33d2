"""The static part of the ``html`` report: provenance and the results by status.

Plain, escaped HTML that a reader sees before (and without) the page's script:
the run's provenance (tool, times, ``--now``, policies with path, version and
SHA-256, inputs, waiver file, baseline) and the status tiles with their bar.
Every text from the report goes through :func:`text` (HTML-escaped, quotes too).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from html import escape

from scanner.report import Report
from scanner.reporters import origins

STATUSES = ("pass", "fail", "error", "skip", "waived")
"""Statuses in the order of the page's codes (a row's status is an index into this)."""


def text(value: object) -> str:
    """``value`` as HTML text or attribute value: ``& < > " '`` escaped."""
    return escape(str(value), quote=True)


def _when(report: Report, name: str) -> str:
    return str(getattr(report, name).strftime("%Y-%m-%d %H:%M:%S UTC"))


def status_tiles(summary: Mapping[str, int], lab: Mapping[str, str]) -> str:
    total = summary["total"]
    tiles = []
    bars = []
    x = 0.0
    for s in STATUSES:
        n = summary.get(s, 0)
        share = f"{100 * n / total:.1f}%" if total else "0%"
        tiles.append(
            f'<div class="tile st-{s}"><span class="tile-n">{n:,}</span>'
            f'<span class="tile-l">{text(lab["status_" + s])}</span><span class="tile-p">{share}</span></div>'
        )
        if n:
            width = 1000 * n / total
            bars.append(
                f'<rect class="f-{s}" x="{x:.2f}" y="0" width="{width:.2f}" height="24">'
                f"<title>{text(lab['status_' + s])}: {n:,}</title></rect>"
            )
            x += width
    bar = (
        '<svg class="stackbar" viewBox="0 0 1000 24" preserveAspectRatio="none" role="img" '
        f'aria-label="{text(lab["by_status"])}">{"".join(bars)}</svg>'
    )
    return f'<div class="tiles">{"".join(tiles)}</div>{bar}'


def verdict(counts: Mapping[str, int], lab: Mapping[str, str]) -> tuple[str, str]:
    summary = {k: f"{v:,}" for k, v in counts.items()}
    if counts["fail"]:
        return "bad", lab["verdict_fail"].format(**summary)
    if counts["error"]:
        return "warn", lab["verdict_error"].format(**summary)
    if counts["pass"]:
        return "good", lab["verdict_pass"].format(**summary)
    return "warn", lab["verdict_empty"]


def provenance(report: Report, lab: Mapping[str, str]) -> str:
    def row(label: str, value: str) -> str:
        return f"<tr><th>{text(label)}</th><td>{value}</td></tr>"

    inputs = ", ".join(
        f"<code>{text(k)}={text(json.dumps(v, ensure_ascii=False))}</code>" for k, v in report.inputs.items()
    ) or text(lab["none"])
    waivers = text(lab["none"])
    if report.waivers is not None:
        waivers = (f'<code>{text(report.waivers.get("file"))}</code> '
                   f'<span class="hash">{text(lab["sha256"])} {text(report.waivers.get("sha256"))}</span>')
    rows = [
        row(lab["tool"], f"policyscan {text(report.tool_version)}"),
        row(lab["started"], text(_when(report, "started_at"))),
        row(lab["finished"], text(_when(report, "finished_at"))),
        row(lab["now"], text(_when(report, "now"))),
        row(lab["targets"], f"{len(report.targets):,}"),
        row(lab["inputs"], inputs),
        row(lab["waiver_file"], waivers),
        row(lab["language"], text(report.lang)),
    ]
    if report.facts is not None:  # results from a snapshot (scan --facts), not from the hosts
        f = report.facts
        tool = f.get("tool")
        version = tool.get("version") if isinstance(tool, Mapping) else None
        rows.insert(4, row(lab["facts"], f'<code>{text(f.get("file"))}</code> '
                           f'<span class="hash">{text(lab["sha256"])} {text(f.get("sha256"))}</span> '
                           f'{text(lab["facts_collected"].format(time=f.get("collected_at"), version=version))}'))
    if report.baseline is not None:
        b = report.baseline
        rows.append(row(lab["baseline"], f'<code>{text(b.get("file"))}</code> '
                        f'<span class="hash">{text(lab["sha256"])} {text(b.get("sha256"))}</span> '
                        f'{text(lab["baseline_known"].format(known=b.get("known")))}'))
    overlays = [origins.extends_line(p, report.lang) for p in report.policies if p.extends]
    if overlays:  # which policies change a base policy's rules, and which
        rows.append(row(lab["overlays"], "<br>".join(f"<code>{text(o)}</code>" for o in overlays)))
    policies = "".join(
        f'<tr><td><code>{text(p.id)}</code><div class="hash">{text(p.path)}</div></td>'
        f"<td>{text(p.title)}</td><td>{text(p.version)}</td>"
        f'<td class="num">{len(p.rules)}</td><td class="hash">{text(p.sha256)}</td></tr>'
        for p in report.policies
    )
    return (
        f'<section class="card prov"><h2>{text(lab["run"])}</h2><table class="kv">{"".join(rows)}</table></section>'
        f'<section class="card pols"><h2>{text(lab["policies"])}</h2><table class="grid"><thead><tr>'
        f'<th>{text(lab["policy"])}</th><th>{text(lab["policy_title"])}</th><th>{text(lab["version"])}</th>'
        f'<th>{text(lab["rules"])}</th><th>{text(lab["sha256"])}</th></tr></thead>'
        f"<tbody>{policies}</tbody></table></section>"
    )
