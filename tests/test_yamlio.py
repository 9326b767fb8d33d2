"""The one YAML loader: YAML 1.2 scalars, no unsafe tags, bounded aliases, positions."""

from __future__ import annotations

import math
import time

import pytest

from scanner.yamlio import MAX_NODES, YamlError, load_yaml_text, plain_scalar


def load(text: str):
    ((data, marks),) = load_yaml_text(text, "f.yaml")
    return data, marks


def test_yaml_12_scalars_only_true_false_are_booleans():
    data, _ = load(
        "a: no\nb: yes\nc: on\nd: off\ne: true\nf: False\ng: 2026-12-31\nh: 1.0.0\ni: 0x1f\n"
        "j: 0o17\nk: 1.5\nl: ~\nm:\nn: '12'\no: !!str 7\np: .inf\nq: 1_000\n"
    )
    assert data == {
        "a": "no",
        "b": "yes",
        "c": "on",
        "d": "off",
        "e": True,
        "f": False,
        "g": "2026-12-31",
        "h": "1.0.0",
        "i": 31,
        "j": 15,
        "k": 1.5,
        "l": None,
        "m": None,
        "n": "12",
        "o": "7",
        "p": math.inf,
        "q": "1_000",
    }


def test_numbers_remember_their_text_for_string_fields():
    _, marks = load("version: 1.10\nport: 25\n")
    assert marks.raw(("version",)) == "1.10"
    assert marks.raw(("port",)) == "25"


def test_positions_point_at_values_and_keys():
    _, marks = load("rules:\n  - id: A\n    severity: high\n")
    assert marks.at(("rules", 0, "severity")) == (3, 15)
    assert marks.at(("rules", 0, "<key:severity>")) == (3, 5)
    assert marks.at(("rules", 0, "missing", "deeper")) == (2, 5)


@pytest.mark.parametrize(
    ("text", "where", "words"),
    [
        ("a: 1\nb: 2\na: 3\n", "f.yaml:3:1", "duplicate key 'a'"),
        ("x: !!python/object/apply:os.system ['true']\n", "f.yaml:1:4", "unsupported tag"),
        ("x: !custom 1\n", "f.yaml:1:4", "unsupported tag '!custom'"),
        ("x: !!int nope\n", "f.yaml:1:4", "not a valid int"),
        ("x: [1, 2\n", "f.yaml:2:1", "invalid YAML"),
        ("base: &b {a: 1}\nx:\n  <<: *b\n", "f.yaml:3:3", "merge keys"),
        ("? [a, b]\n: 1\n", "f.yaml:1:3", "mapping keys must be scalars"),
        # the line to fix, in words that name the mistake
        ("a:\n  b: 1\n\tc: 2\n", "f.yaml:3:1", "a tab character indents this line; YAML allows only spaces"),
        ("a:\n  b: 1\n  \tc: 2\n", "f.yaml:3:3", "a tab character indents this line"),
        ("a: 1\nb: 'x\nc: 2\n", "f.yaml:2:4", "invalid YAML: the ' opened here is never closed"),
        (
            "a: 'x\nb: 1\nc: 'y'\n",
            "f.yaml:1:4",
            "the ' opened here is not closed on its line; the text runs on to line 3",
        ),
        ("a: 1\nb 2\nc: 3\n", "f.yaml:2:1", "this line is not 'key: value' (is the ':' after the key missing?)"),
        ("r:\n  - id R\n    t: x\n", "f.yaml:2:5", "(is the ':' after the key missing?); its text runs on into line 3"),
    ],
)
def test_bad_yaml_is_one_located_problem(text, where, words):
    with pytest.raises(YamlError) as info:
        load_yaml_text(text, "f.yaml")
    assert str(info.value).startswith(where + ": ")
    assert words in str(info.value)


def test_alias_bomb_is_refused_quickly():
    lines = ["a: &a [x, x, x, x, x, x, x, x, x, x]"]
    for i in range(1, 10):
        prev, cur = chr(96 + i), chr(97 + i)
        lines.append(f"{cur}: &{cur} [" + ", ".join([f"*{prev}"] * 10) + "]")
    start = time.perf_counter()
    with pytest.raises(YamlError) as info:
        load_yaml_text("\n".join(lines) + "\n", "bomb.yaml")
    assert time.perf_counter() - start < 1.0
    assert "alias" in str(info.value)
    assert str(MAX_NODES) in str(info.value)


def test_small_aliases_are_fine():
    data, _ = load("x: &x {a: 1}\ny: *x\n")
    assert data == {"x": {"a": 1}, "y": {"a": 1}}


def test_a_legitimate_multi_line_quote_is_not_blamed():
    with pytest.raises(YamlError) as info:
        load_yaml_text("a: 'x\n  y'\nb: c: d\n", "f.yaml")
    assert str(info.value) == "f.yaml:3:5: invalid YAML: mapping values are not allowed in this context"


def test_marks_know_whether_the_text_can_hold_a_non_finite_number():
    assert not load("a: 1.5\nb: 1e30\nc: x.n\n")[1].non_finite
    for text in ("a: .nan\n", "a: -.Inf\n", "a: 1e400\n", "a: " + "9" * 400 + ".0\n"):
        assert load(text)[1].non_finite, text


def test_plain_scalar_reads_text_as_yaml_12_would():
    assert plain_scalar("true") is True and plain_scalar("yes") == "yes"
    assert plain_scalar("0x10") == 16 and plain_scalar("1_000") == "1_000"
    assert math.isnan(plain_scalar(".nan")) and plain_scalar("nan") == "nan"


def test_deep_nesting_is_refused_with_a_position_not_a_crash():
    deep = "".join(" " * i + "k:\n" for i in range(150)) + " " * 150 + "k: 1\n"
    with pytest.raises(YamlError) as info:
        load_yaml_text(deep, "f.yaml")
    assert str(info.value) == "f.yaml:102:102: nested more than 100 levels deep; refused"
    with pytest.raises(YamlError) as info:  # the alias-size walk meets it first
        load_yaml_text("x: &x [1]\ny: *x\nz:\n" + "- " * 150 + "1\n", "f.yaml")
    assert "nested more than 100 levels deep" in str(info.value)


def test_keys_that_are_not_strings_stay_as_written():
    data, marks = load("0x10: a\n16: b\ntrue: c\n~: d\n")
    assert data == {"0x10": "a", "16": "b", "true": "c", "~": "d"}
    assert marks.at(("true",)) == (3, 7)


def test_utf16_and_utf32_files_with_a_bom_are_read(tmp_path):
    from scanner.yamlio import load_yaml

    for encoding in ("utf-16-le", "utf-16-be", "utf-32-le", "utf-8"):
        path = tmp_path / f"{encoding}.yaml"
        path.write_bytes("\ufeffa: é\nb: 2\n".encode(encoding))
        ((data, _),) = load_yaml(path)
        assert data == {"a": "é", "b": 2}, encoding
    bad = tmp_path / "bad.yaml"
    bad.write_bytes(b"a: 1\nb: \xff\n")
    with pytest.raises(YamlError) as info:
        load_yaml(bad)
    assert str(info.value) == f"{bad}:2:1: file is not valid UTF-8"
