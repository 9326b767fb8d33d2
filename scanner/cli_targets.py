"""The single target that ``scan --target/--reg/--smtp/--logs`` describes (SPEC §2).

Its sources are checked exactly as an inventory's are: the target is written
as a one-target inventory and validated against the inventory schema, which
holds every check type's ``source_schema`` (:func:`scanner.schemas.inventory_schema`).
So ``--smtp ''`` or a ``--logs`` value the logs plugin refuses is a usage error
(exit 2) naming the option, never a target whose checks quietly find nothing.
"""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from scanner import filekind, schemas
from scanner.api import Target
from scanner.errors import UsageError
from scanner.plugin_host import PluginHost

DEFAULT_NAME = "localhost"

_OPTION = {"name": "--target", "registry": "--reg", "smtp": "--smtp", "logs": "--logs"}


def cli_target(
    name: str | None, reg: Sequence[str], smtp: Sequence[str], logs: Sequence[str], host: PluginHost
) -> Target:
    """The target of ``--target NAME --reg FILE... --smtp HOST... --logs SPEC...``.

    :class:`~scanner.errors.UsageError` when nothing is given, a ``--reg`` file
    does not exist, or a source fails its check type's schema.
    """
    for f in reg:
        _check_reg(f)
    sources: dict[str, Any] = {}
    if reg:
        sources["registry"] = {"files": list(reg)}
    if smtp:
        sources["smtp"] = list(smtp)
    if logs:
        sources["logs"] = list(logs)
    if not sources:
        raise UsageError("nothing to scan: give --inventory FILE, or at least one of --reg, --smtp, --logs")
    target_name = DEFAULT_NAME if name is None else name
    _check_sources(target_name, sources, host)
    return Target(name=target_name, sources=sources, base_dir=Path.cwd())


def _check_reg(f: str) -> None:
    """A ``--reg`` file must be a regular file: a FIFO or device is never opened (it would block)."""
    try:
        mode = os.stat(f).st_mode
    except (FileNotFoundError, NotADirectoryError, ValueError):  # ValueError: an embedded NUL
        raise UsageError(f"--reg {f}: no such file") from None
    except OSError as exc:  # permissions, a name too long
        raise UsageError(f"--reg {f}: {exc.strerror or exc}") from None
    if not stat.S_ISREG(mode):
        raise UsageError(f"--reg {f}: not a regular file ({filekind.kind(mode)})")


def _check_sources(name: str, sources: dict[str, Any], host: PluginHost) -> None:
    """Each value against its property of the inventory schema's target (the check types'
    ``source_schema``): the first problem is a :class:`UsageError` naming the option."""
    from scanner.validation import validate
    from scanner.yamlio import Marks

    target_schema = schemas.inventory_schema(host.check_types)["properties"]["targets"]["items"]
    properties = target_schema["properties"]
    for key, value in [("name", name), *sources.items()]:
        option = _OPTION[key]
        schema = properties.get(key)
        if schema is None:
            raise UsageError(f"{option}: no loaded plugin reads {key!r} sources")
        problems = validate(_copy(value), _branch(schema, value), Marks("(command line)"), coerce=False)
        if problems:
            raise UsageError(_say(option, value, problems[0].message))


def _copy(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _copy(v) for k, v in value.items()}
    return list(value) if isinstance(value, list) else value


_JSON_TYPE: dict[type, str] = {str: "string", list: "array", dict: "object"}


def _branch(schema: Mapping[str, Any], value: Any) -> Mapping[str, Any]:
    """The one ``oneOf``/``anyOf`` branch written for ``value``'s JSON type, when there is
    exactly one: its errors are the ones that explain the value (``'x' does not match``),
    not that a list "is not of type 'object'"."""
    for combinator in ("oneOf", "anyOf"):
        branches = schema.get(combinator)
        if not isinstance(branches, list):
            continue
        fitting = [b for b in branches if isinstance(b, Mapping) and b.get("type") == _JSON_TYPE.get(type(value))]
        if len(fitting) == 1:
            rest = {k: v for k, v in schema.items() if k != combinator}
            return {**rest, **fitting[0]}
    return schema


def _say(option: str, value: Any, message: str) -> str:
    """``[0]: '' is too short`` for ``--smtp ['']`` -> ``--smtp '': '' is too short``."""
    where, _, detail = message.partition(": ")
    detail = " ".join(detail.split()) or message
    index = re.match(r"\[(\d+)\]", where)
    if index is not None and isinstance(value, list) and int(index.group(1)) < len(value):
        return f"{option} {value[int(index.group(1))]!r}: {detail}"
    if isinstance(value, str):
        return f"{option} {value!r}: {detail}"
    return f"{option}: {detail}"
