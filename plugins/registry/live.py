"""Reading the live registry of the machine running the scan (Windows only).

A target with ``registry: {live: true}`` is read through :mod:`winreg`; only
the keys and values the checks ask about are opened. The live registry covers
every key, so a key that cannot be opened is missing (or, when access is
denied, an ``error`` for the checks on it). ``winreg`` is imported only here and
only when needed, so this module loads on every platform; elsewhere the facts
say ``live registry needs Windows``. Errors are kept as :mod:`.messages` for the
evaluator to translate.
"""

from __future__ import annotations

import sys
from typing import Any

from plugins.registry import facts as regfacts
from plugins.registry import keys as regkeys
from plugins.registry import values as regvalues
from plugins.registry.messages import english, message
from scanner.i18n import N_

NEEDS_WINDOWS = N_("live registry needs Windows")


def _winreg() -> Any:
    if sys.platform != "win32":
        return None
    try:
        import winreg
    except ImportError:  # pragma: no cover - every CPython on Windows has it
        return None
    return winreg


def read(needs: regfacts.Needs, winreg: Any = None) -> dict[str, Any]:
    """Facts for ``needs`` from the live registry; ``winreg`` may be injected (tests)."""
    api = winreg if winreg is not None else _winreg()
    if api is None:
        return regfacts.failed([], message(NEEDS_WINDOWS), "live", source="live")
    out: dict[str, Any] = {}
    for norm, (written, names) in needs.items():
        out[norm] = _read_key(api, regkeys.long_form(written), names)
    return {"source": "live", "files": [], "error": None, "error_message": None, "error_source": None, "keys": out}


def _read_key(api: Any, key: str, names: dict[str, str]) -> dict[str, Any]:
    source = f"live:{key}"
    entry: dict[str, Any] = {"covered": True, "exists": True, "source": source, "values": {}}
    hive_name, _, sub = key.partition("\\")
    try:
        handle = api.OpenKey(getattr(api, hive_name), sub, 0, api.KEY_READ)
    except FileNotFoundError:
        entry["exists"] = False
        return entry
    except OSError as exc:
        _error(entry, message(N_("cannot open {key}: {reason}"), key=key, reason=str(exc.strerror or exc)))
        return entry
    with handle:
        for vid, written in names.items():
            try:
                data, number = api.QueryValueEx(handle, "" if vid == "" else written)
            except FileNotFoundError:
                continue
            except OSError as exc:
                _error(entry, message(N_("cannot read {key}\\{value}: {reason}"), key=key, value=written,
                                      reason=str(exc.strerror or exc)))
                continue
            type_, value = regvalues.from_live(number, data)
            entry["values"][vid] = {"name": "@" if vid == "" else written, "type": type_, "data": value,
                                    "source": source}
    return entry


def _error(entry: dict[str, Any], msg: dict[str, Any]) -> None:
    entry["error"], entry["error_message"] = english(msg), msg
