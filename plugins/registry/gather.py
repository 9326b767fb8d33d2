"""Gathering a target's registry facts from its ``registry:`` source setting.

``{file: X}`` or ``{files: [X, Y]}`` load ``.reg`` exports (paths relative to
the inventory, merged in order as importing them one after another would);
``{live: true}`` reads the running machine's registry (Windows only). Any
problem with the source (unreadable file, malformed line) becomes facts with an
``error``, never an exception: the scan goes on with the next target.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from plugins.registry import facts as regfacts
from plugins.registry import live
from plugins.registry.messages import message
from plugins.registry.regfile import RegFileError, Tree
from scanner.api import Target
from scanner.i18n import N_


def file_names(setting: Any) -> list[str] | None:
    """The export files a ``registry:`` setting names, in order; None when it names none."""
    if not isinstance(setting, Mapping):
        return None
    if isinstance(setting.get("file"), str):
        return [setting["file"]]
    files = setting.get("files")
    if isinstance(files, list) and files and all(isinstance(f, str) for f in files):
        return list(files)
    return None


def facts_for(target: Target, checks: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """The registry facts of one target for its checks."""
    needs = regfacts.needs_of(checks)
    setting = target.sources.get("registry")
    if isinstance(setting, Mapping) and setting.get("live") is True:
        return live.read(needs)
    names = file_names(setting)
    if names is None:
        return regfacts.failed([], message(N_("registry source of {target} names no file: {setting}"),
                                           target=target.name, setting=repr(setting)))
    tree = Tree()
    for name in names:
        try:
            data = target.path(name).read_bytes()
        except OSError as exc:
            return regfacts.failed(names, message(N_("cannot read {file}: {reason}"), file=name,
                                                  reason=str(exc.strerror or exc)), name)
        try:
            tree.load(data, name)
        except RegFileError as exc:
            return regfacts.failed(names, exc.message, exc.where)
    return regfacts.from_tree(tree, needs, names)
