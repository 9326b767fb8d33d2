"""Gathering a target's registry facts from its ``registry:`` source setting.

``{file: X}`` or ``{files: [X, Y]}`` load ``.reg`` exports (paths relative to
the inventory, merged in order as importing them one after another would);
``{live: true}`` reads the running machine's registry (Windows only). Any
problem with the source (unreadable file, malformed line) becomes facts with an
``error``, never an exception: the scan goes on with the next target.
"""

from __future__ import annotations

import stat
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from plugins.registry import facts as regfacts
from plugins.registry import live
from plugins.registry.messages import Message, message
from plugins.registry.regfile import RegFileError, Tree
from scanner.api import Target
from scanner.filekind import NotRegularFile, read_regular
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
            data = read_export(target.path(name))
        except NotRegular as exc:
            return regfacts.failed(names, message(N_("cannot read {file}: not a regular file ({what})"), file=name,
                                                  what=exc.what), name)
        except OSError as exc:
            return regfacts.failed(names, message(N_("cannot read {file}: {reason}"), file=name,
                                                  reason=str(exc.strerror or exc)), name)
        try:
            tree.load(data, name)
        except RegFileError as exc:
            return regfacts.failed(names, exc.message, exc.where)
    return regfacts.from_tree(tree, needs, names)


class NotRegular(Exception):
    """An export path names something that is not a regular file (a FIFO, a device, a directory)."""

    def __init__(self, mode: int) -> None:
        self.what: Message = kind_of(mode)
        super().__init__(self.what["template"])


def kind_of(mode: int) -> Message:
    """What a file that is not a regular file is, as a message (``a FIFO``)."""
    if stat.S_ISDIR(mode):
        return message(N_("a directory"))
    if stat.S_ISFIFO(mode):
        return message(N_("a FIFO"))
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return message(N_("a device"))
    if stat.S_ISSOCK(mode):
        return message(N_("a socket"))
    return message(N_("a special file"))


def read_export(path: Path) -> bytes:
    """The bytes of a regular file; :class:`NotRegular` for anything else (never opened blocking:
    :func:`scanner.filekind.read_regular`)."""
    try:
        return read_regular(path)
    except NotRegularFile as exc:
        raise NotRegular(exc.mode) from None
