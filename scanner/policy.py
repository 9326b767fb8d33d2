"""The loaded, validated form of policies, targets and waivers.

These are what the loader builds and the engine runs; they hold no YAML and
no file positions.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from scanner.api import Severity


@dataclass(frozen=True, slots=True)
class CheckNode:
    """One node of a rule's check tree: a combinator or a check of one type."""

    kind: str
    """``all``, ``any``, ``not`` or ``check``."""
    path: str
    """Where it sits in the rule, e.g. ``check.all[1]``."""
    type_name: str = ""
    params: Mapping[str, Any] = field(default_factory=dict)
    children: tuple[CheckNode, ...] = ()

    def leaves(self) -> list[CheckNode]:
        if self.kind == "check":
            return [self]
        out: list[CheckNode] = []
        for c in self.children:
            out.extend(c.leaves())
        return out


@dataclass(frozen=True, slots=True)
class Rule:
    id: str
    title: str
    severity: Severity
    check: CheckNode
    remediation: Mapping[str, str] = field(default_factory=dict)
    """Language code → text (a plain string in the file is stored as ``en``)."""
    message: Mapping[str, str] = field(default_factory=dict)
    labels: Mapping[str, str] = field(default_factory=dict)
    """``applies_to.labels``: all must equal the target's."""
    description: str = ""
    """The English description (else the first language's); ``descriptions`` has every language."""
    references: Sequence[Mapping[str, Any]] = ()
    tags: Sequence[str] = ()
    rationale: str = ""
    """The English rationale (else the first language's); ``rationales`` has every language."""
    line: int = 0
    """The line of the rule in its policy file (1-based; 0 when built in code)."""
    titles: Mapping[str, str] = field(default_factory=dict)
    """Language code → title (``title`` is the English one); empty when built in code."""
    source: str = ""
    """The file the rule is written in (a base policy's, for a rule an overlay inherits)."""
    source_policy: str = ""
    """The id of the policy that defines the rule (the base's, for an inherited rule)."""
    descriptions: Mapping[str, str] = field(default_factory=dict)
    """Language code → description (a plain string in the file is stored as ``en``)."""
    rationales: Mapping[str, str] = field(default_factory=dict)
    """Language code → rationale (a plain string in the file is stored as ``en``)."""
    changes: tuple[Mapping[str, Any], ...] = ()
    """What overlays changed, in order: ``{"policy", "file", "line", "set": [fields]}`` or
    ``{"policy", "file", "line", "disabled": reason}``."""
    disabled: str = ""
    """Why the rule does not run (an overlay's ``disable``); "" when it runs. Its results are ``skip``."""

    def origin(self) -> str:
        """Where the rule comes from, for a person: ``policy (file:line)``, then each overlay change."""
        parts = [f"{self.source_policy} ({self.source}:{self.line})"]
        for c in self.changes:
            where = f"{c['policy']} ({c['file']}:{c['line']})"
            if "disabled" in c:
                parts.append(f"disabled by {where}: {c['disabled']}")
            else:
                parts.append(f"{', '.join(c['set'])} set by {where}")
        return "; ".join(parts)


@dataclass(frozen=True, slots=True)
class BaseRef:
    """A policy an overlay extends, as the report names it."""

    id: str
    version: str
    sha256: str
    path: str


@dataclass(frozen=True, slots=True)
class Policy:
    id: str
    title: str
    version: str
    sha256: str
    path: str
    rules: tuple[Rule, ...]
    inputs: Mapping[str, Any] = field(default_factory=dict)
    """Effective inputs: the file's defaults with ``--input`` overrides applied."""
    description: str = ""
    references: Sequence[Mapping[str, Any]] = ()
    titles: Mapping[str, str] = field(default_factory=dict)
    """Language code → title (``title`` is the English one); empty when built in code."""
    descriptions: Mapping[str, str] = field(default_factory=dict)
    """Language code → description (``description`` is the English one)."""
    extends: tuple[BaseRef, ...] = ()
    """For an overlay: the policies it builds on, nearest first (its base, the base's base, ...)."""


EVERY_TARGET: tuple[str, ...] = ("*",)
"""A waiver's ``targets`` when it names none: every target. (An empty tuple matches no target.)"""


@dataclass(frozen=True, slots=True)
class Waiver:
    rule: str
    reason: str
    expires: str
    policy: str | None = None
    targets: tuple[str, ...] = ()
    line: int = 0


@dataclass(frozen=True, slots=True)
class WaiverSet:
    path: str
    sha256: str
    waivers: tuple[Waiver, ...]
