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
type, reporter, policy pack or command name stop start-up with an error naming
both. A command may not take the name of a built-in command.
"""

from __future__ import annotations

import pluggy

from scanner.api import PROJECT, CheckType, Command, PolicyPack, Reporter

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


@hookspec
def register_policy_packs() -> list[PolicyPack]:  # type: ignore[empty-body]
    """Return the policy packs this plugin ships.

    Each :class:`~scanner.api.PolicyPack` names a policy file or directory
    installed with the plugin. ``--policy pack:NAME`` (for ``scan``,
    ``collect``, ``rules``, ``test``...), ``validate pack:NAME`` and an
    overlay's ``extends: pack:NAME`` find it by name, and ``policyscan
    plugins`` lists it.
    """


@hookspec
def register_commands() -> list[Command]:  # type: ignore[empty-body]
    """Return the sub-commands this plugin adds to ``policyscan``.

    Each :class:`~scanner.api.Command` adds its options to its own parser and
    runs with the parsed arguments, returning an exit code (SPEC §3). The
    built-in ``probe`` (smtp plugin) and ``fix`` (registry plugin) commands
    are registered this way; ``policyscan --help`` and ``policyscan plugins``
    list every command.
    """
