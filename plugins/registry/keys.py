"""Registry key paths: hive names and the normalised form keys are compared in.

Windows compares key paths and value names case-insensitively, and a hive may
be written long (``HKEY_LOCAL_MACHINE``) or short (``HKLM``). The normalised
form of a key is its path with the hive spelled long, then lower-cased, with
no trailing backslash: ``hkey_local_machine\\system\\currentcontrolset``.
"""

from __future__ import annotations

#: Long hive name for every accepted spelling (upper-case).
HIVES: dict[str, str] = {
    "HKEY_LOCAL_MACHINE": "HKEY_LOCAL_MACHINE",
    "HKLM": "HKEY_LOCAL_MACHINE",
    "HKEY_CURRENT_USER": "HKEY_CURRENT_USER",
    "HKCU": "HKEY_CURRENT_USER",
    "HKEY_CLASSES_ROOT": "HKEY_CLASSES_ROOT",
    "HKCR": "HKEY_CLASSES_ROOT",
    "HKEY_USERS": "HKEY_USERS",
    "HKU": "HKEY_USERS",
    "HKEY_CURRENT_CONFIG": "HKEY_CURRENT_CONFIG",
    "HKCC": "HKEY_CURRENT_CONFIG",
}

_LOWER_HIVES = {name.lower(): long.lower() for name, long in HIVES.items()}


def normalise(path: str) -> str | None:
    """The normalised form of ``path``; None when its hive is unknown or a key name in it is empty
    (``HKLM\\A\\\\B``: Windows has no such key, so no export can say anything about it)."""
    low = path.lower().rstrip("\\")
    head, sep, rest = low.partition("\\")
    hive = _LOWER_HIVES.get(head)
    if hive is None or "\\\\" in low or (sep and not rest):
        return None
    return hive + sep + rest


def long_form(path: str) -> str:
    """``path`` with its hive spelled long, other parts as written (``HKLM\\X`` -> ``HKEY_LOCAL_MACHINE\\X``)."""
    head, sep, rest = path.rstrip("\\").partition("\\")
    return HIVES.get(head.upper(), head) + sep + rest


def is_under(key: str, branch: str) -> bool:
    """True when normalised ``key`` is ``branch`` or lies below it."""
    return key == branch or key.startswith(branch + "\\")


def value_id(name: str) -> str:
    """The normalised value name: lower-cased, the default value (``@``) as ``""``."""
    return "" if name == "@" else name.lower()


_SHORT = {"HKEY_LOCAL_MACHINE": "HKLM", "HKEY_CURRENT_USER": "HKCU", "HKEY_CLASSES_ROOT": "HKCR",
          "HKEY_USERS": "HKU", "HKEY_CURRENT_CONFIG": "HKCC"}


def short_form(path: str) -> str:
    """``path`` with its hive spelled short, as ``reg.exe`` accepts it (``HKEY_LOCAL_MACHINE\\X`` -> ``HKLM\\X``)."""
    head, sep, rest = long_form(path).partition("\\")
    return _SHORT.get(head, head) + sep + rest
