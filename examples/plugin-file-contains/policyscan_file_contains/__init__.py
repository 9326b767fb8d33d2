"""policyscan-file-contains: a complete third-party policyscan plugin.

Installed with ``pip install ./examples/plugin-file-contains``, it is found
through its entry point (``[project.entry-points.policyscan]`` in its
``pyproject.toml``) and adds, through the four hooks of
:mod:`scanner.hookspecs`:

- the check type ``file_contains`` (:mod:`.check`): a literal text in a target's
  text files (inventory source ``files``), with a facts schema;
- the policy pack ``file-contains-demo`` (``policies/``, with its policy tests);
- the sub-command ``policyscan file-contains`` (:mod:`.command`).

Start-up imports only the schemas and small helpers; the command imports its
work when it runs.
"""

from __future__ import annotations

from pathlib import Path

from policyscan_file_contains.check import (
    FACTS_SCHEMA,
    PARAMS_SCHEMA,
    PLACEHOLDERS,
    SOURCE,
    SOURCE_SCHEMA,
    FileContainsCollector,
)
from policyscan_file_contains.command import FILE_CONTAINS
from scanner.api import CheckType, Command, PolicyPack, hookimpl

__version__ = "1.0.0"

PACK_DIR = Path(__file__).resolve().parent / "policies"

FILE_CONTAINS_CHECK = CheckType(
    name="file_contains",
    schema=PARAMS_SCHEMA,
    collector=FileContainsCollector(),
    source=SOURCE,
    description="A literal text in a target's text files (example third-party plugin)",
    placeholders=PLACEHOLDERS,
    source_schema=SOURCE_SCHEMA,
    facts_schema=FACTS_SCHEMA,
)


@hookimpl
def register_check_types() -> list[CheckType]:
    return [FILE_CONTAINS_CHECK]


@hookimpl
def register_policy_packs() -> list[PolicyPack]:
    return [PolicyPack("file-contains-demo", PACK_DIR,
                       "demo: Exchange config files force strong crypto (file_contains)")]


@hookimpl
def register_commands() -> list[Command]:
    return [FILE_CONTAINS]
