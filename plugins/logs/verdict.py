"""Judging one ``log_signatures`` check from a target's facts alone.

Status follows SPEC §4.1: ``fail`` when more lines match than ``max_count``
(a line matching several of the check's signatures counts once); else
``error`` when part of the evidence is missing (a glob matched nothing, a file
was read only in part or could not be decoded, a column does not exist, a
regex is invalid, a kind the rule names is not configured, or a kind it reads
had no file read whole); else ``pass``. ``skip`` when the rule names no kind
the target has.

The proof (``examined``) is what was read: ``{"files": N, "bytes": B, "with_lines": W,
"kinds": {kind: {"files", "bytes", "with_lines"}}, "matching_lines": M}``, counting only
files read to their end; ``with_lines`` counts those that hold at least one content line
(not blank, not a ``#`` header line of a W3C or CSV log; counting every line would cost
as much as the search itself). A ``pass`` needs every kind the rule reads to have such
a file and at least one content line in its files (an empty or header-only log is
what disabled logging leaves: ``error``, "no log lines in N file(s): is logging
enabled?"); a ``fail`` is proved by its matching lines. Text that does not decode
anywhere in a file is ``error`` naming the file and line (or byte offset).

Evidence (SPEC §7: objects with ``source``): per matching signature, its first
sample line ``{"source": "path:line", "signature": id, "pattern", "count",
"undated", "first_seen", "last_seen", "time", "text"}``, then further samples
``{"source", "signature", "time", "text"}`` (text cut at 300 characters, control
characters escaped). ``actual`` is the number of matching lines, ``expected``
the allowed ``max_count``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from plugins.logs.formats import iso_ms
from plugins.logs.messages import render_errors, translation
from plugins.logs.schema import parse_duration
from plugins.logs.signatures import signature_defs
from scanner.api import EvalContext, Outcome, Status
from scanner.i18n import N_

EVIDENCE_SAMPLES = 20
"""Sample lines in one result's evidence (over all its signatures and files)."""


_WINDOW_ONE = {"s": N_("within 1s"), "m": N_("within 1m"), "h": N_("within 1h"), "d": N_("within 1d"),
               "w": N_("within 1w")}
_WINDOW = {"s": N_("within {n}s"), "m": N_("within {n}m"), "h": N_("within {n}h"), "d": N_("within {n}d"),
           "w": N_("within {n}w")}


def judge(params: Mapping[str, Any], facts: Any, ctx: EvalContext) -> Outcome:
    """The verdict of one check from its target's facts, in the run's language (``ctx.run.lang``)."""
    tr = translation(ctx.run.lang)
    _, ngettext = tr.gettext, tr.ngettext
    max_count = int(params.get("max_count", 0))
    kinds_present = list(facts.get("kinds", []))
    wanted = list(params.get("sources") or [])
    if wanted and not set(wanted) & set(kinds_present):
        unknown = [e for g in facts.get("globs", []) if g.get("kind") is None for e in render_errors(g, _)]
        if unknown:  # a glob of undetected kind matched nothing: it may have been these logs
            return Outcome(Status.ERROR, "; ".join(unknown), expected=max_count)
        return Outcome(Status.SKIP, _("the target has no {sources} logs").format(sources=", ".join(wanted)),
                       expected=max_count)
    kinds = set(wanted) if wanted else None
    errors: list[str] = []
    if wanted and (missing := [k for k in wanted if k not in kinds_present]):
        errors.append(_("no {kinds} logs are configured for this target (part of the evidence)").format(
            kinds=", ".join(missing)))
    index = {d["key"]: i for i, d in enumerate(facts.get("signatures", []))}
    mine = signature_defs(params)
    sig_ids: dict[int, str] = {}
    patterns: dict[int, str] = {}
    for d in mine:
        i = index.get(d["key"])
        if i is None:
            return Outcome(Status.ERROR, _("signature {signature} was not collected (facts from another policy?)")
                           .format(signature=repr(d["id"])), expected=max_count)
        sig_ids[i] = d["id"]
        patterns[i] = d["pattern"]
        errors.extend(render_errors(facts["signatures"][i], _))
    start: int | None = None
    if isinstance(params.get("within"), str):
        now_ms = int(ctx.run.now.timestamp() * 1000)
        start = now_ms - parse_duration(params["within"]) * 1000
    for g in facts.get("globs", []):
        if kinds is None or g.get("kind") is None or g["kind"] in kinds:
            errors.extend(render_errors(g, _))
    per_sig: dict[int, dict[str, Any]] = {
        i: {"count": 0, "undated": 0, "first": None, "last": None, "files": 0} for i in sig_ids
    }
    total = undated_total = 0
    samples: list[dict[str, Any]] = []
    proof: dict[str, dict[str, int]] = {}  # per kind: files read whole, and their bytes
    field = params.get("field")
    counted: set[str] = set()
    for f in facts.get("files", []):
        if f.get("error") and f.get("kind") is None:
            errors.extend(render_errors(f, _))  # a file of unknown kind could have been any kind
            continue
        if kinds is not None and f.get("kind") not in kinds:
            continue
        if f.get("error"):
            errors.extend(render_errors(f, _))
        elif f.get("skipped") or not _read_whole(f):
            errors.append(_("{path}: was not read whole ({read} of {size} bytes)").format(
                path=f["path"], read=f.get("read"), size=f.get("bytes")))
        else:
            got = proof.setdefault(str(f["kind"]), {"files": 0, "bytes": 0, "with_lines": 0})
            got["files"] += 1
            got["bytes"] += int(f["bytes"])
            got["with_lines"] += bool(f.get("has_lines"))
        if f.get("skipped") or f["path"] in counted:
            continue  # one file configured as two kinds this rule reads: its lines count once
        counted.add(f["path"])
        if field and field.lower() in f.get("missing_fields", []):
            errors.append(_("{path}: has no column {field} ({format} log)").format(
                path=f["path"], field=repr(field), format=f.get("format")))
        try:
            n, u = _count_file(f, set(sig_ids), start, per_sig)
        except _NoTimes:
            errors.append(_("{path}: collected without line times, so 'within' cannot be judged offline").format(
                path=f["path"]))
            continue
        total += n
        undated_total += u
        for i in sig_ids:
            for it in f.get("samples", {}).get(str(i), []):
                if start is None or it.get("time") is None or it["time"] >= start:
                    samples.append({"source": it["source"], "signature": sig_ids[i],
                                    "time": iso_ms(it.get("time")), "text": it["text"]})
    unread = [k for k in (kinds if kinds is not None else kinds_present) if k in kinds_present and k not in proof]
    if unread:  # every kind the rule reads must have had a file read whole: no proof, no pass
        errors.append(_("no {kinds} log file was read whole").format(kinds=", ".join(sorted(unread, key=str))))
    for k, p in sorted(proof.items()):  # logging disabled leaves empty or header-only files: no proof
        if not p["with_lines"]:
            errors.append(ngettext("no log lines in {files} {kind} file(s): is logging enabled?",
                                   "no log lines in {files} {kind} file(s): is logging enabled?",
                                   p["files"]).format(files=p["files"], kind=k))
    if not kinds_present and not errors:
        errors.append(_("no log files are configured for this target"))
    read_files = sum(p["files"] for p in proof.values())
    examined: dict[str, Any] = {"files": read_files, "bytes": sum(p["bytes"] for p in proof.values()),
                                "with_lines": sum(p["with_lines"] for p in proof.values()), "kinds": proof,
                                "matching_lines": total}
    evidence = _evidence(per_sig, sig_ids, patterns, samples)
    hit = [i for i in sig_ids if per_sig[i]["count"]]
    fields: dict[str, Any] = {"count": total, "undated": undated_total, "max_count": max_count,
                              "sources": ", ".join(sorted(kinds or kinds_present))}
    if hit:
        top = max(hit, key=lambda i: int(per_sig[i]["count"]))
        first_sample = next((s for s in samples if s["signature"] == sig_ids[top]), None)
        fields.update(signature=patterns[top], signature_id=sig_ids[top], first_seen=iso_ms(per_sig[top]["first"]),
                      last_seen=iso_ms(per_sig[top]["last"]))
        if first_sample:
            path, _sep, line = first_sample["source"].rpartition(":")
            fields.update(path=path, line=line)
    else:
        fields["signature"] = ", ".join(patterns.values())
    window = _window(str(params["within"]), _) if start is not None else ""
    matching = ngettext("{count} matching line(s)", "{count} matching line(s)", total).format(count=total)
    if total > max_count:
        parts = "; ".join(f"{_name(sig_ids[i], patterns[i])} ×{per_sig[i]['count']}" for i in hit)
        if not window:
            msg = _("{matching}, at most {max_count} allowed: {signatures}")
        elif not undated_total:
            msg = _("{matching} {window}, at most {max_count} allowed: {signatures}")
        else:
            msg = _("{matching} {window}, at most {max_count} allowed, {undated} of them undated: {signatures}")
        msg = msg.format(matching=matching, window=window, max_count=max_count, undated=undated_total,
                         signatures=parts)
        return Outcome(Status.FAIL, msg, max_count, total, evidence, fields, examined)
    if errors:
        msg = "; ".join(dict.fromkeys(errors))
        return Outcome(Status.ERROR, msg, max_count, total, evidence, fields)
    if not read_files:  # unreachable after the checks above; kept so that no path passes without proof
        return Outcome(Status.ERROR, _("no log file was read"), max_count, total, evidence, fields)
    files = ngettext("{count} file(s)", "{count} file(s)", read_files).format(count=read_files)
    if window:
        msg = _("{matching} {window} in {files}, at most {max_count} allowed")
    else:
        msg = _("{matching} in {files}, at most {max_count} allowed")
    msg = msg.format(matching=matching, window=window, files=files, max_count=max_count)
    return Outcome(Status.PASS, msg, max_count, total, evidence, fields, examined)


def _window(within: str, gettext: Any) -> str:
    """``within 7d`` in the reader's language ("en los últimos 7 días"); a value this cannot read, as written."""
    m = re.fullmatch(r"0*([1-9][0-9]*)([smhdw])", within.strip())
    if not m:
        return str(gettext("within {within}")).format(within=within)
    n = int(m.group(1))
    if n == 1:
        return str(gettext(_WINDOW_ONE[m.group(2)]))
    return str(gettext(_WINDOW[m.group(2)])).format(n=n)


def _read_whole(f: Mapping[str, Any]) -> bool:
    """The file was read to its end: as many bytes read as it had when listed (a file with no
    signature to look for was not read at all)."""
    read, size = f.get("read"), f.get("bytes")
    return isinstance(read, int) and isinstance(size, int) and read >= size and bool(f.get("signatures"))


class _NoTimes(Exception):
    """The facts keep only first/last times for a file (no check had a window when collected)."""


def _name(sig_id: str, pattern: str) -> str:
    return repr(pattern) if sig_id == pattern else f"{sig_id} ({pattern!r})"


def _ms(iso: str) -> int:
    from plugins.logs.formats import parse_stamp

    return parse_stamp(iso) or 0


def _count_file(f: Mapping[str, Any], mine: set[int], start: int | None,
                per_sig: dict[int, dict[str, Any]]) -> tuple[int, int]:
    """Lines of one file that match any of ``mine`` (each line once), and how many are undated."""
    import bisect

    total = undated = 0
    for g in f.get("groups", []):
        sigs = [s for s in g["sigs"] if s in mine]
        if not sigs:
            continue
        times = g["times"]
        if start is None:
            lo, n = 0, g["count"]
        elif not g.get("all_times", True):
            raise _NoTimes
        else:
            lo = bisect.bisect_left(times, start)
            n = len(times) - lo + g["undated"]
        total += n
        undated += g["undated"]
        for s in sigs:
            p = per_sig[s]
            p["count"] += n
            p["undated"] += g["undated"]
            if n:
                p["files"] += 1
            if lo < len(times):
                p["first"] = times[lo] if p["first"] is None else min(p["first"], times[lo])
                p["last"] = times[-1] if p["last"] is None else max(p["last"], times[-1])
    return total, undated


def _evidence(per_sig: dict[int, dict[str, Any]], ids: dict[int, str], patterns: dict[int, str],
              samples: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per signature that matched: its first sample line carrying the signature's count, undated
    count and first/last times, then more sample lines; at most :data:`EVIDENCE_SAMPLES` lines."""
    out: list[dict[str, Any]] = []
    for i, p in per_sig.items():
        if not p["count"]:
            continue
        mine = [dict(s) for s in samples if s["signature"] == ids[i]]
        head = {"source": mine[0]["source"] if mine else "", "signature": ids[i], "pattern": patterns[i],
                "count": p["count"], "undated": p["undated"],
                "first_seen": iso_ms(p["first"]), "last_seen": iso_ms(p["last"])}
        if mine:
            head.update(time=mine[0]["time"], text=mine[0]["text"])
        out.append(head)
        out.extend(mine[1:])
    return _cap(out)


def _cap(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Keep every signature's head item and as many further samples as fit under the cap."""
    heads = sum(1 for it in items if "count" in it)
    room = max(0, EVIDENCE_SAMPLES - heads)
    out = []
    for it in items:
        if "count" in it:
            out.append(it)
        elif room:
            out.append(it)
            room -= 1
    return out
