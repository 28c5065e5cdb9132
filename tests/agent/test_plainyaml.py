"""agent.plainyaml: whatever it reads equals what PyYAML reads, and the shapes answers files take are read."""

from __future__ import annotations

import ast
import os
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st

from agent import plainyaml
from agent.errors import InputError
from agent.plainyaml import NOT_PLAIN, load
from agent.yamlio import load_text, read_text

FUZZ = settings(
    max_examples=int(os.environ.get("PRESTART_FUZZ_EXAMPLES", "300")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)


def _same(ours: Any, theirs: Any) -> bool:
    """Equal with equal types all the way down (`1 != True`, `"1" != 1`), dict keys in the same order."""
    if type(ours) is not type(theirs):
        return False
    if isinstance(ours, dict):
        return len(ours) == len(theirs) and all(
            _same(k, k2) and _same(v, v2) for (k, v), (k2, v2) in zip(ours.items(), theirs.items(), strict=True)
        )
    if isinstance(ours, list):
        return len(ours) == len(theirs) and all(_same(a, b) for a, b in zip(ours, theirs, strict=True))
    return bool(ours == theirs)


def _agrees_with_pyyaml(text: str) -> None:
    """The contract: NOT_PLAIN, or what PyYAML reads without raising, both as `yaml.safe_load` and as the
    agent's own PyYAML path (the C loader with duplicate-key and line tracking)."""
    ours = load(text)
    if ours is NOT_PLAIN:
        return
    assert _same(ours, yaml.safe_load(text)), (ours, yaml.safe_load(text))
    assert _same(ours, load_text(text, "t.yaml", fast=False).data)


def test_strict_equality_tells_types_apart() -> None:
    assert _same({"a": [1, "x", None]}, {"a": [1, "x", None]})
    assert not _same(1, True) and not _same("1", 1) and not _same(0, False) and not _same([1], (1,))
    assert not _same({"a": 1, "b": 2}, {"b": 2, "a": 1})


def test_the_spec_answers_files_are_plain(spec_dir: Path) -> None:
    files = sorted((spec_dir / "answers").glob("*.yaml"))
    assert len(files) >= 3
    for path in files:
        text = read_text(path)
        ours = load(text)
        assert ours is not NOT_PLAIN, path.name
        assert _same(ours, yaml.safe_load(text)), path.name


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("deployment: win11-lab\n", {"deployment": "win11-lab"}),
        ("apps: [7zip, m365]      # a comment\n", {"apps": ["7zip", "m365"]}),
        ("apps: [ a ,b, 'c, d]' , \"e\" ]\nnone: []\n", {"apps": ["a", "b", "c, d]", "e"], "none": []}),
        ("apps:\n- 7zip\n- 'm 365'  # c\nnext: 1\n", {"apps": ["7zip", "m 365"], "next": 1}),
        ('apps:  # indented list\n  - a\n\n  # between\n  - "b"\n', {"apps": ["a", "b"]}),
        ("a: yes\nb: No\nc: TRUE\nd: off\ne: On\n", {"a": True, "b": False, "c": True, "d": False, "e": True}),
        ("a: null\nb:\nc: Null  # x\n", {"a": None, "b": None, "c": None}),
        ("a: 0\nb: 42\nc: 12345678901234567890\n", {"a": 0, "b": 42, "c": 12345678901234567890}),
        ("a: y\nb: n\nc: 7zip\nd: 2HL3\ne: de-DE\n", {"a": "y", "b": "n", "c": "7zip", "d": "2HL3", "e": "de-DE"}),
        ("a: 'it''s'\nb: \"say 'hi' # no comment\"\nc: ''\n", {"a": "it's", "b": "say 'hi' # no comment", "c": ""}),
        ("'yes': 1\n\"2\": x\nkey with spaces : v a l  \n", {"yes": 1, "2": "x", "key with spaces": "v a l"}),
        ("user: Müller\nMüller: ü\npath: a/b.c@d_e\n", {"user": "Müller", "Müller": "ü", "path": "a/b.c@d_e"}),
        ("# first\r\na: 1\r\nb:\r\n  - x\r\n", {"a": 1, "b": ["x"]}),
        ("a: b", {"a": "b"}),
        ("a: a - b\n", {"a": "a - b"}),
    ],
)
def test_the_shapes_of_answers_files_are_read_without_pyyaml(text: str, expected: dict[str, Any]) -> None:
    """So the fast path cannot quietly become `always NOT_PLAIN`."""
    assert _same(load(text), expected)
    assert _same(yaml.safe_load(text), expected)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "# only a comment\n",
        "---\na: 1\n",
        "a: 1\n...\n",
        "%YAML 1.1\n---\na: 1\n",
        "a: &x 1\nb: *x\n",
        "a: !!str 1\n",
        "a: |\n  text\n",
        "a: >\n  text\n",
        "? a\n: b\n",
        "a:\n  b: c\n",
        "a: b\n  continued\n",
        "  a: 1\n",
        "a: {b: c}\n",
        "a: [b, [c]]\n",
        "a: [b,]\n",
        "a: [b\n",
        "a:\n- b\n  - c\n",
        "a:\n-\n",
        "a:\n- [b]\n",
        "a:\n  - b\nc: 1\n  - d\n",
        "- a\n- b\n",
        "a: 1\na: 2\n",
        "a:\tb\n",
        "a: b\rc: d\n",
        "a: \x85b\n",
        "a: b\u2028c: d\n",
        "\ufeffa: b\n",
        "a: \xa0b\n",
        "a: \x7f\n",
        "a: ~\n",
        "a: oN\n",
        "a: tRUE\n",
        "a: nULL\n",
        "a: 007\n",
        "a: 012\n",
        "a: 0x1F\n",
        "a: 0b101\n",
        "a: 1_000\n",
        "a: 1.5\n",
        "a: 1.0e-5\n",
        "a: 1e5\n",
        "a: .inf\n",
        "a: -1\n",
        "a: +1\n",
        "a: 2026-11-20\n",
        "a: 1:30\n",
        "a: 1 2\n",
        "a: b:c\n",
        "a: b: c\n",
        "a: b:\n",
        "a:b\n",
        "a: b#c\n",
        "a: 'b'#c\n",
        'a: "x\\\\y"\n',
        "a: 'b\n",
        "yes: 1\n",
        "null: 1\n",
        "1: a\n",
        "a: _b\n",
        "a: @b\n",
        "a: `b\n",
        "k" * 1025 + ": v\n",
        "a: " + "9" * 5000 + "\n",
    ],
)
def test_anything_else_is_left_to_pyyaml(text: str) -> None:
    assert load(text) is NOT_PLAIN


def test_a_key_pyyaml_refuses_for_its_length_is_not_plain() -> None:
    with pytest.raises(yaml.YAMLError):
        yaml.safe_load("k" * 1025 + ": v\n")
    assert load("k" * 1000 + ": v\n") == {"k" * 1000: "v"}


def test_it_imports_nothing() -> None:
    """It runs before anything else a headless boot reads, so it costs nothing to import."""
    tree = ast.parse(Path(plainyaml.__file__).read_text(encoding="utf-8"))
    imported = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    imported |= {node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    assert imported <= {"__future__", "re"}


def test_load_text_reads_plain_yaml_without_lines_and_reloads_give_them() -> None:
    fast = load_text("a: 1\nb: [x]\n", "t.yaml")
    assert fast.data == {"a": 1, "b": ["x"]} and fast.lines == {}
    full = load_text("a: 1\nb: [x]\n", "t.yaml", fast=False)
    assert full.data == fast.data and full.line("b") == 2
    with pytest.raises(InputError, match=r"line 2: a: duplicate key 'a'"):
        load_text("a: 1\na: 2\n", "t.yaml")


# -- differential: a grammar of answers-like documents, in and out of the subset -------------------------

# In-subset pieces (tricky ones too: `yes` is True, `y` a string, `0` an int) and out-of-subset ones.
_SCALARS = [
    "win11-lab", "de-DE", "7zip", "2HL3", "m365", "Müller", "a b", "a  b", "a/b.c@d_e", "a - b", "x", "é",
    "٣", "1٣", "Ⅻ", "yes", "Yes", "YES", "No", "no", "On", "off", "OFF", "true", "True", "False", "y", "n",
    "Y", "null", "Null", "NULL", "0", "1", "42", "'it''s'", "''", "' a '", '"x"', '"a # b"', "\"it's\"",
    "[a, b]", "[]", "[ ]", "[a,b , 'c,d']", "['[x]', \"y\"]",
]  # fmt: skip
_ODD_SCALARS = [
    "oN", "tRUE", "~", "nULL", "007", "012", "0x1F", "0b101", "0o17", "1_000", "1.5", "1.0e-5", "1e5", ".inf",
    ".NaN", "-1", "+1", "-", "2026-11-20", "2026-11-20 10:00:00", "1:30", "190:20:30", "1 2", "a  #c", "a #c",
    "a#c", "a:b", "a: b", "a:", "'a'b'", "'a", '"x\\y"', "[a, [b]]", "[a,]", "[a", "{a: b}", "&a x", "*a",
    "!!str 1", "|", ">", "? x", "@a", "`a", "%a", "_a", "a\tb", "a\u00a0b", "a\x85b",
]  # fmt: skip
_KEYS = ["deployment", "language", "apps", "confirm", "a", "a b", "7zip", "Müller", "de-DE", "x_y", "'quoted'",
         "'yes'", '"dq"', "'it''s'", "k" * 1000]  # fmt: skip
_ODD_KEYS = ["yes", "No", "null", "1", "007", "1.5", "~", "-a", "? a", "&a k", "a:b", "a#b", "[a]", "", " a",
             "k" * 1030]  # fmt: skip
_SEPARATORS, _ODD_SEPARATORS = [": ", ":  ", " : "], [":", ":\t", ":: ", " :x"]
_COMMENTS = ["", "", "  # c", " #", "   # x: [y]"]
_ODD_COMMENTS = ["#c", "\t# t", " \r"]
_LINE_ENDS = ["\n", "\r\n"]
_ODD_LINE_ENDS = ["\r", "\x85", "\u2028"]
_EXTRA_LINES = ["", "   ", "# c", "  # indented comment"]
_ODD_LINES = ["---", "...", "%YAML 1.1", "\t", "- stray", "  nested: 1", "  continued"]


def _piece(draw: st.DrawFn, good: list[Any], odd: list[Any], clean: bool) -> Any:
    """A good piece; in a document that is not meant to be clean, an odd one time in six."""
    return draw(st.sampled_from(good if clean else good * max(1, round(5 * len(odd) / len(good))) + odd))


def _scalar(draw: st.DrawFn, clean: bool) -> str:
    return str(_piece(draw, _SCALARS, _ODD_SCALARS, clean))


def _comment(draw: st.DrawFn, clean: bool) -> str:
    return str(_piece(draw, _COMMENTS, _ODD_COMMENTS, clean))


def _entry(draw: st.DrawFn, key: str, clean: bool) -> list[str]:
    """A `key: value` line, or a `key:` line and the block sequence under it."""
    if draw(st.integers(0, 3)) == 0:
        indents = ["", " ", "  ", "    "]
        first = draw(st.sampled_from(indents))
        mixed = _piece(draw, [False], [True], clean)
        dash = _piece(draw, ["- ", "-  "], ["-", "-\t", "--"], clean)
        lines = [f"{key}:{_comment(draw, clean)}"]
        for _ in range(draw(st.integers(0, 4))):
            indent = draw(st.sampled_from(indents)) if mixed else first
            lines.append(f"{indent}{dash}{_scalar(draw, clean)}{_comment(draw, clean)}")
        return lines
    shape = draw(st.integers(0, 5))
    if shape == 0:
        value = ""
    elif shape == 1:
        value = "[" + ", ".join(_scalar(draw, clean) for _ in range(draw(st.integers(0, 4)))) + "]"
    else:
        value = _scalar(draw, clean)
    return [f"{key}{_piece(draw, _SEPARATORS, _ODD_SEPARATORS, clean)}{value}{_comment(draw, clean)}"]


@st.composite
def _documents(draw: st.DrawFn) -> str:
    """An answers-like document; half of them are built from good pieces only (most of those are plain)."""
    clean = draw(st.booleans())
    lines: list[str] = []
    keys = st.sampled_from(_KEYS if clean else _KEYS * 2 + _ODD_KEYS)
    # Keys are drawn unique (Hypothesis repeats draws often); a duplicate is added on purpose below.
    for key in draw(st.lists(keys, max_size=6, unique=True)):
        lines += _entry(draw, key, clean)
        kind = draw(st.integers(0, 9))
        if kind == 0:
            lines.append(_piece(draw, _EXTRA_LINES, _ODD_LINES, clean))
        elif kind == 1 and not clean:
            lines.append(draw(st.text(max_size=12)))
    if lines and not clean and draw(st.booleans()):  # a line again: a duplicate key, or an item under a scalar
        lines.append(draw(st.sampled_from(lines)))
    end = _piece(draw, _LINE_ENDS, _ODD_LINE_ENDS, clean)
    return str(end.join(lines) + draw(st.sampled_from(["", end])))


@FUZZ
@given(_documents())
@example("deployment: win11-lab\nlanguage: de-DE\napps: [7zip, m365]      # listed out of catalog order\n")
@example("apps:\n- a\n- 'b'\nconfirm: 2HL3\r\n")
def test_plain_documents_read_as_pyyaml_reads_them(text: str) -> None:
    event("plain" if load(text) is not NOT_PLAIN else "left to PyYAML")  # ~45% plain: --hypothesis-show-statistics
    _agrees_with_pyyaml(text)


@FUZZ
@given(st.text() | st.text(alphabet=st.sampled_from(list("ab7yYnN0_.@/ü -:#'\"[],{}&*!|>?%~\n\r\t"))))
def test_any_text_is_refused_or_read_as_pyyaml_reads_it(text: str) -> None:
    _agrees_with_pyyaml(text)  # and `load` never raised
