"""The facts the registry collector hands to the evaluator, and building them.

Facts are plain JSON and small: only the keys and values the checks of a
target ask about are kept; the parsed tree is dropped right after. Shape::

    {
      "source": "files",                   # or "live"
      "files": ["exports/exch01.reg"],     # as the inventory / command line names them
      "error": null,                       # or "exports/exch01.reg:7: bad hex data ...":
                                           #   every registry check of the target is then `error`
      "keys": {
        "hkey_local_machine\\system\\...\\client": {   # normalised key (see keys.py)
          "covered": true,                 # inside a branch some loaded file exported
          "exists": true,
          "source": "exports/exch01.reg:12",   # key line; when missing: the line of the covering
                                               #   branch (or its [-KEY] line); uncovered: the file list
          "error": null,                   # live only: why this key could not be read
          "values": {                      # only the values asked about that exist
            "enabled": {"name": "Enabled", "type": "REG_DWORD", "data": 1,
                        "source": "exports/exch01.reg:14"}
          }
        }
      }
    }

Value ids are lower-cased names, ``""`` for the default value ``@``. Data is
represented as :mod:`plugins.registry.values` describes.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from plugins.registry import keys as regkeys

if TYPE_CHECKING:
    from plugins.registry.regfile import Tree

#: What the checks of one target need: normalised key -> (key as written, {value id: name as written}).
Needs = dict[str, tuple[str, dict[str, str]]]


def needs_of(checks: Iterable[Mapping[str, Any]]) -> Needs:
    """The keys and values asked about by a target's registry checks."""
    needs: Needs = {}
    for params in checks:
        key = params.get("key")
        norm = regkeys.normalise(key) if isinstance(key, str) else None
        if norm is None:
            continue  # evaluate() reports the bad key
        entry = needs.setdefault(norm, (key, {}))  # type: ignore[arg-type]
        value = params.get("value")
        if isinstance(value, str):
            entry[1].setdefault(regkeys.value_id(value), value)
    return needs


def failed(files: list[str], message: str, source: str = "files") -> dict[str, Any]:
    """Facts saying that nothing could be read: every check becomes ``error`` with ``message``."""
    return {"source": source, "files": files, "error": message, "keys": {}}


def from_tree(tree: Tree, needs: Needs, files: list[str]) -> dict[str, Any]:
    """Facts for ``needs`` from a loaded tree."""
    out: dict[str, Any] = {}
    where: list[tuple[dict[str, Any], int, int]] = []  # (dict whose "source" to fill, file, offset)
    for norm, (_, vids) in needs.items():
        entry: dict[str, Any] = {"covered": True, "exists": True, "source": None, "values": {}}
        out[norm] = entry
        sections = tree.keys.get(norm)
        if sections:
            where.append((entry, sections[-1][0], sections[-1][1]))
            if vids:
                values = entry["values"]
                for vid, raw in tree.values(norm, vids).items():
                    name, type_, data = tree.convert(raw)
                    item = values[vid] = {"name": name, "type": type_, "data": data, "source": None}
                    where.append((item, raw[-2], raw[-1]))
            continue
        entry["exists"] = tree.has_descendant(norm)
        branch = tree.branch_of(norm)
        if branch is None:
            entry["covered"] = False
            entry["source"] = ", ".join(files)
        else:
            where.append((entry, *branch))
    _fill_sources(tree, where)
    return {"source": "files", "files": files, "error": None, "keys": out}


def _fill_sources(tree: Tree, where: list[tuple[dict[str, Any], int, int]]) -> None:
    by_file: dict[int, list[tuple[dict[str, Any], int]]] = {}
    for item, fidx, offset in where:
        by_file.setdefault(fidx, []).append((item, offset))
    for fidx, items in by_file.items():
        reg = tree.files[fidx]
        lines = reg.lines([offset for _, offset in items])
        for item, offset in items:
            item["source"] = f"{reg.name}:{lines[offset]}"
