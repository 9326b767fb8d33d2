"""The plugin hooks of policyscan: this module is their API reference.

policyscan finds plugins through the ``policyscan`` entry-point group. Each
entry point names a module (or object) whose ``@hookimpl`` functions implement
the hooks below. Built-ins are registered the same way in our own
``pyproject.toml``::

    [project.entry-points.policyscan]
    registry = "plugins.registry"

A third-party plugin does the same in its own packaging::

    [project.entry-points.policyscan]
    ssh_config = "policyscan_ssh.plugin"

Names are global: two plugins that register the same entry-point name, check
type name or reporter name stop start-up with an error naming both.
"""

from __future__ import annotations

import pluggy

from scanner.api import PROJECT, CheckType, Reporter

hookspec = pluggy.HookspecMarker(PROJECT)


@hookspec
def register_check_types() -> list[CheckType]:  # type: ignore[empty-body]
    """Return the check types this plugin contributes.

    Each :class:`~scanner.api.CheckType` carries its name (the key used under
    ``check:`` in a policy), the JSON Schema of its parameters, the target
    source it reads, and its collector. The policy loader validates every
    check against the schema of its type, ``policyscan schema policy``
    includes it, and ``policyscan plugins`` lists it.
    """


@hookspec
def register_reporters() -> list[Reporter]:  # type: ignore[empty-body]
    """Return the report formats this plugin contributes.

    Each :class:`~scanner.api.Reporter` is selected with
    ``--report NAME[=PATH]`` and renders a finished
    :class:`~scanner.report.Report` to a text stream. One that also has a
    :class:`~scanner.api.ResultStream` can be rendered batch by batch in the
    scan's worker processes (see :mod:`scanner.streaming`).
    """
