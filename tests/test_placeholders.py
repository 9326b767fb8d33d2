"""``${...}`` placeholders: a compiled :class:`Template` fills exactly as :func:`render_map` does."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from scanner.placeholders import Template, render_map

VALUES = {"actual": 0, "expected": [1, 4294967295], "key": "HKLM\\X", "target": "exch01",
          "inputs": {"port": 25, "host": "mx"}, "none": None, "flag": True, "dollar": "$${x}"}

# templates built from the pieces that matter: text, '$', '$$', '${', '}', known and unknown names
PIECES = st.sampled_from(["a", " ", "$", "$$", "${", "}", "{", "${actual}", "${expected}", "${inputs.port}",
                          "${inputs.nope}", "${nope}", "${}", "${bad name}", "${dollar}", "${none}", "${flag}", "é"])


@given(st.lists(PIECES, max_size=12).map("".join))
def test_template_fills_like_render_map(template: str) -> None:
    assert Template(template).fill(VALUES) == render_map(template, VALUES)


def test_examples() -> None:
    t = Template("Set ${key} to ${expected} (found ${actual}) on ${target}:${inputs.port}; $$5, ${nope} stays, ${")
    assert t.fill(VALUES) == "Set HKLM\\X to [1, 4294967295] (found 0) on exch01:25; $5, ${nope} stays, ${"
    assert Template("plain").fill({}) == "plain"


@given(st.lists(PIECES, max_size=12).map("".join), st.sampled_from(["en", "es"]))
def test_template_fills_like_render_map_in_every_language(template: str, lang: str) -> None:
    assert Template(template).fill(VALUES, lang) == render_map(template, VALUES, lang)


def test_values_read_naturally() -> None:
    """A missing value is "absent" in the run's language, a map of endpoints is text, not JSON."""
    smtp = {"mx:25": {"TLSv1.0": "accepted", "TLSv1.2": "accepted"}, "mx2:25": {"TLSv1.0": None}}
    t = Template("found ${actual}; was ${none}")
    assert t.fill({"actual": smtp, "none": None}) == (
        "found mx:25: TLSv1.0 accepted, TLSv1.2 accepted; mx2:25: TLSv1.0 absent; was absent"
    )
    assert t.fill({"actual": smtp, "none": None}, "es") == (
        "found mx:25: TLSv1.0 accepted, TLSv1.2 accepted; mx2:25: TLSv1.0 ausente; was ausente"
    )
    assert Template("${x}").fill({"x": {"a": [1, 2]}}) == "a: 1, 2"
    assert Template("${x}").fill({"x": 0}) == "0"
