"""The plugin host: the only module that talks to pluggy.

It reads the ``policyscan`` entry-point group itself (pluggy's own loader
silently skips a second entry point whose name is taken), loads every plugin
into a fresh :class:`pluggy.PluginManager`, rejects hook-name typos with
``check_pending()``, and collects the check types and reporters each plugin
registers, and the policy packs and sub-commands they ship. Two plugins
claiming one name — entry point, check type, reporter, pack or command — stop
start-up with a :class:`~scanner.errors.PluginError` naming
both.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from importlib.metadata import EntryPoint, entry_points
from typing import Any

import pluggy

from scanner import hookspecs
from scanner.api import PROJECT, CheckType, Command, PolicyPack, Reporter
from scanner.errors import PluginError


@dataclass(frozen=True, slots=True)
class PluginInfo:
    name: str
    value: str
    distribution: str
    version: str
    check_types: tuple[str, ...] = ()
    reporters: tuple[str, ...] = ()
    packs: tuple[str, ...] = ()
    commands: tuple[str, ...] = ()


@dataclass
class PluginHost:
    """Loaded plugins, their check types, reporters, policy packs and commands."""

    plugins: dict[str, PluginInfo] = field(default_factory=dict)
    check_types: dict[str, CheckType] = field(default_factory=dict)
    reporters: dict[str, Reporter] = field(default_factory=dict)
    packs: dict[str, PolicyPack] = field(default_factory=dict)
    commands: dict[str, Command] = field(default_factory=dict)
    check_type_owner: dict[str, str] = field(default_factory=dict)
    reporter_owner: dict[str, str] = field(default_factory=dict)
    pack_owner: dict[str, str] = field(default_factory=dict)
    command_owner: dict[str, str] = field(default_factory=dict)


_dist_names: dict[str, tuple[str, str]] = {}


def _dist(ep: EntryPoint) -> tuple[str, str]:
    """(name, version) of the distribution that declares ``ep``.

    Reading a distribution's METADATA parses an e-mail-style header block
    (~5 ms); our six built-ins share one distribution, so it is read once.
    """
    dist = getattr(ep, "dist", None)
    if dist is None:
        return ("?", "?")
    where = str(getattr(dist, "_path", id(dist)))
    known = _dist_names.get(where)
    if known is None:
        meta = dist.metadata
        known = _dist_names[where] = (meta["Name"] or "?", meta["Version"] or "?")
    return known


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


def load_plugins(extra: Mapping[str, Any] | None = None, reserved_commands: Iterable[str] = ()) -> PluginHost:
    """Load every plugin of the ``policyscan`` group (plus ``extra`` objects, for tests).

    ``reserved_commands`` are the CLI's own command names: a plugin may not take one.
    """
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

    _collect(pm.hook.register_check_types, "check type", CheckType, host.check_types, host.check_type_owner)
    _collect(pm.hook.register_reporters, "reporter", Reporter, host.reporters, host.reporter_owner)
    _collect(pm.hook.register_policy_packs, "policy pack", PolicyPack, host.packs, host.pack_owner)
    _collect(pm.hook.register_commands, "command", Command, host.commands, host.command_owner)
    for name in sorted(set(host.commands) & set(reserved_commands)):
        raise PluginError(f"plugin {host.command_owner[name]!r} registers the command {name!r}, a built-in command")
    for name, info in list(host.plugins.items()):

        def owned(owners: dict[str, str], plugin: str = name) -> tuple[str, ...]:
            return tuple(sorted(k for k, v in owners.items() if v == plugin))

        host.plugins[name] = PluginInfo(
            info.name,
            info.value,
            info.distribution,
            info.version,
            owned(host.check_type_owner),
            owned(host.reporter_owner),
            owned(host.pack_owner),
            owned(host.command_owner),
        )
    return host


_NAME_RULES: dict[str, tuple[re.Pattern[str], str]] = {
    "check type": (re.compile(r"[a-z][a-z0-9_]*"), "lower-case letters, digits and _, starting with a letter"),
    "reporter": (re.compile(r"[a-z][a-z0-9_]*"), "lower-case letters, digits and _, starting with a letter"),
    "command": (re.compile(r"[a-z][a-z0-9-]*"), "lower-case letters, digits and -, starting with a letter"),
    "policy pack": (re.compile(r"[a-z0-9][a-z0-9._-]*"),
                    "lower-case letters, digits, '.', '_' and '-', starting with a letter or digit, no '..'"),
}
"""What a plugin may call what it registers: a name is typed on a command line (``--report NAME``,
``policyscan NAME``), written in policy files (a check type) and in ``pack:NAME/FILE`` references."""


def name_problem(what: str, name: Any) -> str | None:
    """Why ``name`` is not a valid name for a ``what`` ("check type", "reporter", "command",
    "policy pack"), or None."""
    pattern, allowed = _NAME_RULES[what]
    if not isinstance(name, str) or not pattern.fullmatch(name):
        return f"not a valid {what} name (use {allowed})"
    if what == "policy pack" and ".." in name:
        return f"not a valid {what} name (no '..')"
    if what == "command" and name == "help":
        return "'help' is reserved for policyscan's own help"
    return None


def _collect(hook: Any, what: str, cls: type, registry: dict[str, Any], owners: dict[str, str]) -> None:
    """Call each plugin's implementation of ``hook`` and file what it returns by name."""
    for impl in hook.get_hookimpls():
        owner = impl.plugin_name
        for returned in _call(owner, hook.name, impl.function):
            if not isinstance(returned, cls):
                raise PluginError(f"plugin {owner!r} returned {returned!r} from {hook.name}, not a {cls.__name__}")
            item: Any = returned
            if what == "check type" and item.name in ("all", "any", "not"):
                raise PluginError(f"plugin {owner!r} registers check type {item.name!r}, a reserved combinator name")
            why = name_problem(what, item.name)
            if why is not None:
                raise PluginError(f"plugin {owner!r} registers the {what} {item.name!r}: {why}")
            if item.name in registry:
                raise PluginError(f"two plugins register the {what} {item.name!r}: {owners[item.name]!r} and {owner!r}")
            registry[item.name] = item
            owners[item.name] = owner


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
