"""The README's plugin guide documents every hook ``scanner/hookspecs.py`` declares,
and every hook documents itself: a new hook cannot ship undocumented."""

from __future__ import annotations

import inspect
import re

import pluggy

from scanner import hookspecs
from tests.conftest import ROOT


def _hooks() -> dict[str, object]:
    marker = pluggy.HookspecMarker("policyscan")
    return {
        name: fn
        for name, fn in inspect.getmembers(hookspecs, inspect.isfunction)
        if hasattr(fn, marker.project_name + "_spec")
    }


def _guide() -> str:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    start = readme.index("## Writing a plugin")
    end = readme.index("\n## ", start + 1)
    return readme[start:end]


def test_the_hooks_are_found() -> None:
    assert {"register_check_types", "register_reporters", "register_policy_packs", "register_commands"} <= set(
        _hooks()
    )


def test_every_hook_has_a_docstring_naming_what_it_returns() -> None:
    for name, fn in _hooks().items():
        doc = inspect.getdoc(fn) or ""
        assert len(doc) > 80, f"{name}: document the hook in its docstring"
        returned = re.search(r"list\[(\w+)\]", str(inspect.signature(fn).return_annotation))
        assert returned and returned.group(1) in doc, f"{name}: the docstring should name {returned}"


def test_the_readme_plugin_guide_covers_every_hook_and_its_type() -> None:
    guide = _guide()
    for name, fn in _hooks().items():
        assert f"`{name}()`" in guide, f"README 'Writing a plugin' does not document the hook {name}()"
        returned = re.search(r"list\[(\w+)\]", str(inspect.signature(fn).return_annotation))
        assert returned and f"`{returned.group(1)}" in guide, f"README does not name {returned.group(1)}"
