"""The plugin host: the only module that talks to pluggy.

It reads the ``policyscan`` entry-point group itself (pluggy's own loader
silently skips a second entry point whose name is taken), loads every plugin
into a fresh :class:`pluggy.PluginManager`, rejects hook-name typos with
``check_pending()``, and collects the check types and reporters each plugin
registers. Two plugins claiming one name — entry point, check type or
reporter — stop start-up with a :class:`~scanner.errors.PluginError` naming
both.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from importlib.metadata import EntryPoint, entry_points
from typing import Any

import pluggy

from scanner import hookspecs
from scanner.api import PROJECT, CheckType, Reporter
from scanner.errors import PluginError


@dataclass(frozen=True, slots=True)
class PluginInfo:
    name: str
    value: str
    distribution: str
    version: str
    check_types: tuple[str, ...] = ()
    reporters: tuple[str, ...] = ()


@dataclass
class PluginHost:
    """Loaded plugins, their check types and their reporters."""

    plugins: dict[str, PluginInfo] = field(default_factory=dict)
    check_types: dict[str, CheckType] = field(default_factory=dict)
    reporters: dict[str, Reporter] = field(default_factory=dict)
    check_type_owner: dict[str, str] = field(default_factory=dict)
    reporter_owner: dict[str, str] = field(default_factory=dict)


def _dist(ep: EntryPoint) -> tuple[str, str]:
    dist = getattr(ep, "dist", None)
    if dist is None:
        return ("?", "?")
    return (dist.metadata["Name"] or "?", dist.version or "?")


def _describe(ep: EntryPoint) -> str:
    name, version = _dist(ep)
    return f"{ep.value!r} from {name} {version}"


def _unique_entry_points(eps: Iterable[EntryPoint]) -> list[EntryPoint]:
    by_name: dict[str, EntryPoint] = {}
    for ep in eps:
        seen = by_name.get(ep.name)
        if seen is None:
            by_name[ep.name] = ep
        elif (seen.value, _dist(seen)) != (ep.value, _dist(ep)):
            raise PluginError(
                f"two plugins claim the entry-point name {ep.name!r} in group {PROJECT!r}: "
                f"{_describe(seen)} and {_describe(ep)}"
            )
    return [by_name[n] for n in sorted(by_name)]


def load_plugins(extra: Mapping[str, Any] | None = None) -> PluginHost:
    """Load every plugin of the ``policyscan`` group (plus ``extra`` objects, for tests)."""
    pm = pluggy.PluginManager(PROJECT)
    pm.add_hookspecs(hookspecs)
    host = PluginHost()
    for ep in _unique_entry_points(entry_points(group=PROJECT)):
        try:
            obj = ep.load()
        except Exception as exc:  # a broken plugin names itself, it never crashes us silently
            raise PluginError(f"plugin {ep.name!r} ({_describe(ep)}) failed to load: {exc}") from exc
        pm.register(obj, name=ep.name)
        dname, dversion = _dist(ep)
        host.plugins[ep.name] = PluginInfo(ep.name, ep.value, dname, dversion)
    for name, obj in (extra or {}).items():
        if name in host.plugins:
            raise PluginError(f"two plugins claim the name {name!r}")
        pm.register(obj, name=name)
        host.plugins[name] = PluginInfo(name, repr(obj), "(registered in-process)", "")
    try:
        pm.check_pending()
    except pluggy.PluginValidationError as exc:
        raise PluginError(f"plugin {exc.plugin!r} implements an unknown hook: {exc}") from exc

    for impl in pm.hook.register_check_types.get_hookimpls():
        owner = impl.plugin_name
        items = _call(owner, "register_check_types", impl.function)
        for ct in items:
            if not isinstance(ct, CheckType):
                raise PluginError(f"plugin {owner!r} returned {ct!r} from register_check_types, not a CheckType")
            if ct.name in ("all", "any", "not"):
                raise PluginError(f"plugin {owner!r} registers check type {ct.name!r}, a reserved combinator name")
            if ct.name in host.check_types:
                raise PluginError(
                    f"two plugins register the check type {ct.name!r}: {host.check_type_owner[ct.name]!r} and {owner!r}"
                )
            host.check_types[ct.name] = ct
            host.check_type_owner[ct.name] = owner
    for impl in pm.hook.register_reporters.get_hookimpls():
        owner = impl.plugin_name
        for rep in _call(owner, "register_reporters", impl.function):
            if not isinstance(rep, Reporter):
                raise PluginError(f"plugin {owner!r} returned {rep!r} from register_reporters, not a Reporter")
            if rep.name in host.reporters:
                raise PluginError(
                    f"two plugins register the reporter {rep.name!r}: {host.reporter_owner[rep.name]!r} and {owner!r}"
                )
            host.reporters[rep.name] = rep
            host.reporter_owner[rep.name] = owner
    for name, info in list(host.plugins.items()):
        host.plugins[name] = PluginInfo(
            info.name,
            info.value,
            info.distribution,
            info.version,
            tuple(sorted(k for k, v in host.check_type_owner.items() if v == name)),
            tuple(sorted(k for k, v in host.reporter_owner.items() if v == name)),
        )
    return host


def _call(owner: str, hook: str, fn: Any) -> list[Any]:
    try:
        result = fn()
    except Exception as exc:
        raise PluginError(f"plugin {owner!r} failed in {hook}(): {exc}") from exc
    if result is None:
        return []
    if not isinstance(result, (list, tuple)):
        raise PluginError(f"plugin {owner!r}: {hook}() must return a list, got {type(result).__name__}")
    return list(result)
