"""A plugin that registers a check type name a built-in already owns (for tests)."""

from scanner.api import CheckType, hookimpl


@hookimpl
def register_check_types():
    return [CheckType(name="registry", schema={"type": "object"}, source="registry", collector=None)]
