"""The facts the registry collector hands to the evaluator, and building them.

Facts are plain JSON and small: only the keys and values the checks of a
target ask about are kept; the parsed tree is dropped right after. Shape::

    {
      "source": "files",                   # or "live"
      "files": ["exports/exch01.reg"],     # as the inventory / command line names them
      "error": null,                       # or "exports/exch01.reg:7: bad hex data ...":
                                           #   every registry check of the target is then `error`
      "error_message": null,               # with an error: the same as a template and fields, which
                                           #   the evaluator translates (see messages.py)
      "error_source": null,                # with an error: "exports/exch01.reg:7" (or the files)
      "keys": {
        "hkey_local_machine\\system\\...\\client": {   # normalised key (see keys.py)
          "covered": true,                 # inside a branch some loaded file exported
          "exists": true,
          "source": "exports/exch01.reg:12",   # its last key line (or, for a key that exists only
                                               #   because a subkey was written, that subkey's line);
                                               #   when missing: the line of the covering branch (or
                                               #   its [-KEY] line); when not covered: the file list;
                                               #   live: "live:HKEY_...\\Key"
          "branch": {"key": "HKEY_...\\Protocols",   # for a key without a key line of its own: the
                     "source": "exports/exch01.reg:3"},  # last loaded branch covering it, as written,
                                                         #   and its line; null when none covers it, for
                                                         #   a key written by a key line (that line is
                                                         #   the proof) and for live facts
          "values": {                      # only the values asked about that exist
            "enabled": {"name": "Enabled", "type": "REG_DWORD", "data": 1,
                        "source": "exports/exch01.reg:14"}
          }
        }
      }
    }

A live key that could not be opened also has ``"error": "cannot open ...: Access is denied"`` (and its
``"error_message"``).
A key above the exported branches whose subkeys were exported is ``covered: false,
exists: true`` (the import creates it; its values are unknown).

Value ids are lower-cased names, ``""`` for the default value ``@``. Data is
represented as :mod:`plugins.registry.values` describes.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from plugins.registry.checkspec import spec
from plugins.registry.messages import Message, english

if TYPE_CHECKING:
    from plugins.registry.regfile import Tree

#: What the checks of one target need: normalised key -> (key as written, {value id: name as written}).
Needs = dict[str, tuple[str, dict[str, str]]]


_needs_memo: dict[tuple[int, ...], tuple[list[Mapping[str, Any]], Needs]] = {}


def needs_of(checks: Iterable[Mapping[str, Any]]) -> Needs:
    """The keys and values asked about by a target's registry checks.

    Every target of a fleet usually carries the very same parameter objects (the
    policy's), so the answer is remembered per list of parameter objects.
    Callers must not modify the mapping they get.
    """
    checks = list(checks)
    memo_key = tuple(map(id, checks))
    hit = _needs_memo.get(memo_key)
    if hit is not None and all(a is b for a, b in zip(hit[0], checks, strict=True)):
        return hit[1]
    needs = _needs_of(checks)
    if len(_needs_memo) > 256:
        _needs_memo.clear()
    _needs_memo[memo_key] = (checks, needs)  # holding the params keeps their ids from being reused
    return needs


def _needs_of(checks: Iterable[Mapping[str, Any]]) -> Needs:
    needs: Needs = {}
    for params in checks:
        c = spec(params)
        if c.norm is None:
            continue  # evaluate() reports the bad key
        entry = needs.get(c.norm)
        if entry is None:
            entry = needs[c.norm] = (c.key, {})
        if c.vid is not None and c.vid not in entry[1]:
            entry[1][c.vid] = c.value  # type: ignore[assignment]  # vid is set exactly when value is
    return needs


def failed(files: list[str], message: Message, where: str | None = None, source: str = "files") -> dict[str, Any]:
    """Facts saying that nothing could be read: every check becomes ``error`` with ``message``.

    ``message`` is kept as is (``error_message``, translated when judged) and in English
    (``error``). ``where`` (``file:line`` of a malformed line, else the files) becomes the
    evidence source.
    """
    where = where or ", ".join(files) or None
    return {"source": source, "files": files, "error": english(message), "error_message": message,
            "error_source": where, "keys": {}}


def from_tree(tree: Tree, needs: Needs, files: list[str]) -> dict[str, Any]:
    """Facts for ``needs`` from a loaded tree."""
    out: dict[str, Any] = {}
    for norm, (_, vids) in needs.items():
        key = tree.find(norm)
        if key is not None and key.norm is not None:  # written by a key line: covered by that line's file
            values = {}
            for vid in vids:
                value = key.values.get(vid)
                if value is not None:
                    name, type_, data = tree.convert(value)
                    values[vid] = {"name": name, "type": type_, "data": data, "source": tree.where(*value[1:])}
            out[norm] = {"covered": True, "exists": True, "source": tree.where(key.file, key.line),
                         "branch": None, "values": values}
            continue
        cover = tree.covering(norm)
        branch = None if cover is None else {"key": cover[2], "source": f"{cover[0]}:{cover[1]}"}
        # a key that exists because a key below it was written: that line; else the branch, else the files
        source = tree.where(key.file, key.line) if key else branch["source"] if branch else ", ".join(files)
        out[norm] = {"covered": branch is not None, "exists": key is not None, "source": source,
                     "branch": branch, "values": {}}
    return {"source": "files", "files": files, "error": None, "error_message": None, "error_source": None,
            "keys": out}
