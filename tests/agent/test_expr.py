"""Tests for agent.expr: the condition language of rules, `when` and preflight checks."""

from __future__ import annotations

import json
import operator
import os
from collections.abc import Callable

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agent.errors import InputError
from agent.expr import (
    KEYWORDS,
    And,
    Compare,
    Exists,
    Expr,
    ExprError,
    In,
    Like,
    Literal,
    Name,
    Not,
    Or,
    check,
    compare,
    evaluate,
    like,
    names,
    parse,
    tree_from_data,
    tree_to_data,
    unparse,
)
from agent.variables import Variables

FUZZ = settings(
    max_examples=int(os.environ.get("PRESTART_FUZZ_EXAMPLES", "300")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)

FACTS = Variables(
    {
        "Make": "Dell Inc.",
        "Model": "Latitude 7440",
        "Memory": "16384",
        "IsVM": "False",
        "IsUEFI": "True",
        "IsOnBattery": "False",
        "SerialNumber": "ABC1234",
        "_SMSTSInWinPE": "true",
        "Empty": "",
        "Zero": "0",
    }
)


def run(text: str, variables: Variables = FACTS) -> bool:
    return check(text, variables.lookup)


# ---------------------------------------------------------------- semantics


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # the reference profiles' conditions
        ('IsVM == "True"', False),
        ('Model like "%Latitude%"', True),
        ('IsOnBattery != "True"', True),
        ("Memory >= 4096", True),
        ('IsUEFI == "True"', True),
        # numeric when both sides are numbers
        ('"10" > "9"', True),
        ("10 > 9", True),
        ("Memory > 9999", True),
        ("Memory < 4096", False),
        ('"1.50" == 1.5', True),
        ("-5 < 3", True),
        ('"  42 " == 42', True),
        ('"007" == 7', True),
        # text when either side is not a number
        ('"abc" < "abd"', True),
        ('"10" < "9a"', True),  # text: "1" sorts before "9"
        ('"9a" > "10"', True),
        ('"ABC" == "abc"', True),
        ('"Straße" == "STRASSE"', True),  # casefold, not lower
        ('"" < "a"', True),
        ('"" == 0', False),  # empty is not a number
        # case-insensitive names and keywords
        ('model LIKE "latitude%" AND memory >= 4096', True),
        ('MODEL like "LATITUDE 7440"', True),
        ("Not IsVM Or IsVM", True),
        # missing names are the empty string
        ('Missing == ""', True),
        ("Missing < 1", True),  # "" is not a number: text order, and "" sorts first
        ("Missing >= 4096", False),
        ('Missing like "%"', True),
        ('Missing like "_%"', False),
        # = and <> are synonyms of == and !=
        ('SerialNumber = "abc1234"', True),
        ('SerialNumber <> "abc1234"', False),
        # exists: set and not empty
        ("exists Model", True),
        ("exists Empty", False),
        ("exists Missing", False),
        ("not exists Missing", True),
        ("exists _SMSTSInWinPE", True),
        # in
        ('Make in ["Lenovo", "dell inc.", "HP"]', True),
        ('Make in ["Lenovo", "HP"]', False),
        ("Memory in [8192, 16384.0]", True),
        ('Make not in ["Lenovo"]', True),
        ("Missing in ['']", True),
        # bare operands are truthy unless "", "0" or "false"
        ("IsUEFI", True),
        ("IsVM", False),
        ("_SMSTSInWinPE", True),
        ("Empty", False),
        ("Zero", False),
        ("Missing", False),
        ("Model", True),
        ('"FALSE"', False),
        ("1", True),
        # precedence: not > and > or; comparison binds tighter than not
        ('not IsVM == "True"', True),
        ("IsUEFI or IsVM and Missing", True),  # or(IsUEFI, and(IsVM, Missing))
        ("(IsUEFI or IsVM) and Missing", False),
        ("not IsUEFI and IsVM", False),  # and(not IsUEFI, IsVM)
        ("not (IsUEFI and IsVM)", True),
        ("not not IsUEFI", True),
        ('Model not like "%Optiplex%"', True),
        # quoting
        ("'O''Brien' == \"o'brien\"", True),
        ('"say ""hi""" == \'say "hi"\'', True),
        ('"C:\\Windows" like "c:\\win%"', True),  # backslashes are plain characters
    ],
)
def test_semantics(text: str, expected: bool) -> None:
    assert run(text) is expected


@pytest.mark.parametrize(
    ("value", "pattern", "expected"),
    [
        ("Latitude 7440", "%Latitude%", True),
        ("Latitude 7440", "latitude%", True),
        ("Latitude 7440", "%7440", True),
        ("Latitude 7440", "Latitude", False),  # whole value must match
        ("Latitude 7440", "Latitude 744_", True),
        ("Latitude 7440", "Latitude 74_", False),
        ("abc", "a_c", True),
        ("ac", "a_c", False),
        ("ac", "a%c", True),
        ("", "%", True),
        ("", "", True),
        ("x", "", False),
        # regex metacharacters are literal
        ("v1.2", "v1.2", True),
        ("v1x2", "v1.2", False),
        ("[abc]", "[abc]", True),
        ("a", "[abc]", False),
        ("f(x)", "f(x)%", True),
        ("a+b", "a+b", True),
        ("aab", "a+b", False),
        ("^$|\\", "^$|\\", True),
        ("line1\nline2", "line1%", True),  # % spans newlines
        ("100%", "100_", True),  # no escapes: _ matches a literal %
        ("STRASSE", "%straße%", False),  # per character: `_` is one character of the value as written
        ("ß", "_", True),
        ("Ärger", "äRGER", True),
    ],
)
def test_like(value: str, pattern: str, expected: bool) -> None:
    assert like(value, pattern) is expected


def test_like_with_a_variable_pattern() -> None:
    variables = Variables({"Model": "Latitude 7440", "Pattern": "lat%"})
    assert check("Model like Pattern", variables.lookup)


def test_compare_reusable_with_synonyms() -> None:
    assert compare("10", ">", "9")
    assert compare("abc", "=", "ABC")
    assert compare("abc", "<>", "abd")
    with pytest.raises(ValueError):
        compare("a", "=>", "b")


@given(
    st.integers(-(10**20), 10**20),
    st.integers(-(10**20), 10**20),
    st.sampled_from(
        sorted(
            {
                "==": operator.eq,
                "!=": operator.ne,
                "<": operator.lt,
                "<=": operator.le,
                ">": operator.gt,
                ">=": operator.ge,
            }.items()
        )
    ),
)
@FUZZ
def test_compare_numbers_like_python(a: int, b: int, op: tuple[str, Callable[[int, int], bool]]) -> None:
    assert compare(str(a), op[0], str(b)) is op[1](a, b)


@given(st.text(max_size=30), st.data())
@FUZZ
def test_like_matches_value_with_wildcards_put_in(value: str, data: st.DataObject) -> None:
    # Replacing any characters by "_" or any runs by "%" still matches; the value itself always matches
    # unless it holds wildcard characters of its own (which then act as wildcards, still matching).
    assert like(value, value)
    chars = list(value)
    for i in range(len(chars)):
        if data.draw(st.booleans()):
            chars[i] = data.draw(st.sampled_from(["_", "%"]))
    assert like(value, "".join(chars))


def test_evaluate_calls_lookup_with_names_as_written() -> None:
    seen: list[str] = []

    def lookup(name: str) -> str:
        seen.append(name)
        return ""

    evaluate(parse('ModeL == "x" or exists _SMSTSLogPath'), lookup)
    assert seen == ["ModeL", "_SMSTSLogPath"]


def test_names() -> None:
    tree = parse('Make == Model or exists Foo and not (Bar like "x%") or Baz in [1] or "lit" == 1 or Qux')
    assert names(tree) == frozenset({"Make", "Model", "Foo", "Bar", "Baz", "Qux"})
    assert names(parse("1 == 1")) == frozenset()


def test_name_characters() -> None:
    assert parse("OSD-Name.v2_x == 1") == Compare("==", Name("OSD-Name.v2_x"), Literal("1", True))
    assert parse("_SMSTSInWinPE") == Name("_SMSTSInWinPE")
    # `a-5` is one name; `a -5` is a name then a number
    assert parse("a-5") == Name("a-5")


# ---------------------------------------------------------------- trees and printing


def test_tree_shapes() -> None:
    assert parse("a or b or c") == Or((Name("a"), Name("b"), Name("c")))
    assert parse("a and b or c and d") == Or((And((Name("a"), Name("b"))), And((Name("c"), Name("d")))))
    assert parse("(a and b) and c") == And((And((Name("a"), Name("b"))), Name("c")))
    assert parse("not a == 1") == Not(Compare("==", Name("a"), Literal("1", True)))
    assert parse("a not like 'x'") == Not(Like(Name("a"), Literal("x")))
    assert parse("a in ['x', 2,]") == In(Name("a"), (Literal("x"), Literal("2", True)))
    assert parse("EXISTS Foo") == Exists("Foo")
    assert parse("a = b") == parse("a == b")
    assert parse("a <> b") == parse("a != b")


@pytest.mark.parametrize(
    ("text", "canonical"),
    [
        ("a = 'x'", 'a == "x"'),
        ("a <> 1", "a != 1"),
        ("((a))", "a"),
        ("(a or b) and (c or d)", "(a or b) and (c or d)"),
        ("(a and b) or (c and d)", "a and b or c and d"),
        ("NOT (A AND B)", "not (A and B)"),
        ("x LIKE 'it''s'", 'x like "it\'s"'),
        ('x in ["a""b"]', 'x in ["a""b"]'),
        ("not (a == 1)", "not a == 1"),
    ],
)
def test_unparse_is_canonical(text: str, canonical: str) -> None:
    assert unparse(parse(text)) == canonical
    assert parse(canonical) == parse(text)


def test_parse_is_memoised() -> None:
    assert parse("Memory >= 4096") is parse("Memory >= 4096")


# ---------------------------------------------------------------- errors


@pytest.mark.parametrize(
    ("text", "column", "fragment"),
    [
        ("", 1, "expected a condition"),
        ("   ", 4, "expected a condition"),
        ("Memory >= ", 11, "expected a value after '>='"),
        ("Memory >= 4096 and", 19, "expected a condition"),
        ("IsVM == 'True", 9, "no closing '"),
        ('(IsVM == "True"', 16, "expected ')' to close the '(' at column 1"),
        ('IsVM == "True")', 15, "unexpected ')'"),
        ("IsVM True", 6, "expected a comparison"),
        ("exists 'x'", 8, "expected a variable name after 'exists'"),
        ("Make in 'Dell'", 9, "expected '[' after 'in'"),
        ("Make in []", 10, "expected a quoted text or a number"),
        ("Make in ['a' 'b']", 14, "expected ',' or ']'"),
        ("Make in [Model]", 10, "expected a quoted text or a number"),
        ("Memory >= 4096MB", 11, "runs into 'M'"),
        ("a && b", 3, "unexpected character '&'"),
        ("!a", 1, "write 'not' or '!='"),
        ("a == == b", 6, "expected a value after '=='"),
        ("and a", 1, "found 'and'"),
        ("a like", 7, "expected a value after 'like'"),
        ("1IsVM", 1, "runs into 'I'"),
    ],
)
def test_error_columns(text: str, column: int, fragment: str) -> None:
    with pytest.raises(ExprError) as caught:
        parse(text)
    error = caught.value
    assert error.column == column
    assert error.text == text
    assert fragment in str(error)
    assert str(error).startswith(f"column {column}: ")
    assert isinstance(error, InputError)  # exit code 13 via the error hierarchy
    assert error.pointer().splitlines()[-1] == " " * (column - 1) + "^"


def test_deep_nesting_is_an_error_not_a_crash() -> None:
    with pytest.raises(ExprError, match="nested more than"):
        parse("(" * 10_000 + "a" + ")" * 10_000)
    with pytest.raises(ExprError, match="nested more than"):
        parse("not " * 10_000 + "a")
    assert parse("(" * 60 + "a" + ")" * 60) == Name("a")


# ---------------------------------------------------------------- properties

_LETTERS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_"
_NAME = st.builds(operator.add, st.sampled_from(_LETTERS), st.text(_LETTERS + "0123456789-.", max_size=8)).filter(
    lambda n: n.lower() not in KEYWORDS
)
_NUMBER = st.builds(
    lambda sign, whole, frac: Literal(f"{sign}{whole}{frac}", True),
    st.sampled_from(["", "-"]),
    st.integers(0, 10**6),
    st.sampled_from(["", ".5", ".25", ".0", ".125"]),
)
_STRING = st.text(max_size=12).map(lambda v: Literal(v, False))
_LITERAL = _NUMBER | _STRING
_OPERAND = _NAME.map(Name) | _LITERAL
_LEAF = st.one_of(
    _OPERAND,
    st.builds(Compare, st.sampled_from(["==", "!=", "<", "<=", ">", ">="]), _OPERAND, _OPERAND),
    st.builds(Like, _OPERAND, _OPERAND),
    st.builds(In, _OPERAND, st.lists(_LITERAL, min_size=1, max_size=4).map(tuple)),
    st.builds(Exists, _NAME),
)
TREES: st.SearchStrategy[Expr] = st.recursive(
    _LEAF,
    lambda children: st.one_of(
        st.builds(Not, children),
        st.lists(children, min_size=2, max_size=4).map(lambda ops: And(tuple(ops))),
        st.lists(children, min_size=2, max_size=4).map(lambda ops: Or(tuple(ops))),
    ),
    max_leaves=12,
)

_TOKENS = st.sampled_from(
    [
        "a",
        "Model",
        "_x",
        "1",
        "-2",
        "3.5",
        "'s'",
        '"t"',
        "'",
        '"',
        "(",
        ")",
        "[",
        "]",
        ",",
        "==",
        "=",
        "!=",
        "<>",
        "<",
        "<=",
        ">",
        ">=",
        "!",
        "and",
        "OR",
        "not",
        "like",
        "in",
        "exists",
        "%",
        "-",
        ".",
        "\n",
        "",
    ]
)
_SOUPS = st.lists(_TOKENS, max_size=12).flatmap(lambda parts: st.sampled_from([" ".join(parts), "".join(parts)]))


@given(TREES)
@FUZZ
def test_unparse_parse_round_trip(tree: Expr) -> None:
    text = unparse(tree)
    assert parse(text) == tree
    assert unparse(parse(text)) == text


@given(TREES, st.dictionaries(_NAME, st.sampled_from(["", "0", "1", "10", "True", "abc", "9a"]), max_size=6))
@FUZZ
def test_evaluate_never_raises_and_agrees_after_round_trip(tree: Expr, values: dict[str, str]) -> None:
    variables = Variables(values)
    assert evaluate(tree, variables.lookup) is evaluate(parse(unparse(tree)), variables.lookup)


@given(st.text() | _SOUPS)
@FUZZ
def test_any_text_parses_or_raises_expr_error(text: str) -> None:
    try:
        tree = parse(text)
    except ExprError as error:
        assert 1 <= error.column <= len(text) + 1
        return
    assert parse(unparse(tree)) == tree
    evaluate(tree, lambda name: "")


# ---------------------------------------------------------------- many rules (speed: bench/bench_headless.py)


def test_two_thousand_distinct_rules_evaluate() -> None:
    rules = [
        f'(Model like "%Model{i}%" or Make in ["Dell Inc.", "HP{i}"]) and Memory >= {i * 10} and not exists Var{i}'
        for i in range(2000)
    ]
    results = [check(rule, FACTS.lookup) for rule in rules]
    assert results[0] is True and results[-1] is False


def test_nodes_of_different_kinds_are_never_equal() -> None:
    """Nodes are tuples underneath; `Name("x")` and `Exists("x")` hold the same value but mean different things."""
    assert Name("x") != Exists("x")
    assert (Name("x") == Exists("x")) is False
    assert Name("x") == Name("x") and hash(Name("x")) == hash(Name("x"))
    assert len({Name("x"), Exists("x"), Literal("x"), Literal("x", True)}) == 4
    assert parse("x") != parse("exists x") and parse("not x") == Not(Name("x"))
    assert And((Name("a"), Name("b"))) != Or((Name("a"), Name("b")))


def test_known_tokens_stay_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    import agent.expr as expr

    monkeypatch.setattr(expr, "_KNOWN_TOKENS", {})
    monkeypatch.setattr(expr, "_KNOWN_TOKENS_MAX", 50)
    monkeypatch.setattr(expr, "_PARSED", {})
    monkeypatch.setattr(expr, "_PARSED_MAX", 40)
    for i in range(500):
        assert expr.parse(f'Model == "M{i}" and Memory >= {i}') == expr.And(
            (
                expr.Compare("==", expr.Name("Model"), expr.Literal(f"M{i}")),
                expr.Compare(">=", expr.Name("Memory"), expr.Literal(str(i), True)),
            )
        )
        assert len(expr._KNOWN_TOKENS) <= 50
        assert len(expr._PARSED) <= 40


@pytest.mark.parametrize(
    ("left", "op", "right", "expected"),
    [
        ("0.1", "==", ".1", True),
        ("5.", "==", "5", True),
        ("2.50", "==", "2.5", True),
        (" +5 ", "==", "5", True),
        ("-0", "==", "0", True),
        ("12345678901234567890", "<", "12345678901234567891", True),
        ("10", ">", "9.5", True),
        ("9.99", "<", "10", True),
        ("1e3", "==", "1000", False),  # not a number here: compared as text
    ],
)
def test_whole_numbers_and_fractions_compare_exactly(left: str, op: str, right: str, expected: bool) -> None:
    assert compare(left, op, right) is expected


@FUZZ
@given(st.text(alphabet=st.sampled_from(list("ab_1-.\"' =!<>()[],\t%xANDorNot9é")), max_size=30) | st.text(max_size=20))
def test_fast_tokenizer_agrees_with_the_careful_one(text: str) -> None:
    """Where the fast tokenizer takes a text, its tokens are the careful one's (less the columns, which
    only errors need); where the careful one finds an error, the fast one declines."""
    from agent.expr import _Parser, _tokenize, _tokenize_careful

    fast = _tokenize(text)
    try:
        careful = _tokenize_careful(text)
    except ExprError:
        assert fast is None
        return
    if fast is None:
        return
    assert [(t.kind, t.value, t.source) for t in fast] == [(t.kind, t.value, t.source) for t in careful]
    # The same tree, or the same error: parse() retries with the careful tokens for the columns.
    try:
        expected: object = _Parser(text, careful).parse()
    except ExprError as exc:
        expected = str(exc)
    try:
        got: object = parse(text)
    except ExprError as exc:
        got = str(exc)
    assert got == expected


# ---------------------------------------------------------------- trees as data (compiled profiles)


@given(TREES)
@FUZZ
def test_trees_survive_json_as_data(tree: Expr) -> None:
    data = json.loads(json.dumps(tree_to_data(tree)))
    assert tree_from_data(data) == tree
    assert unparse(tree_from_data(data)) == unparse(tree)


def test_tree_data_is_compact_and_plain() -> None:
    tree = parse('Memory >= 8 and not exists OSDComputerName or Make in ["Dell", 3]')
    assert tree_to_data(tree) == [
        "o",
        ["a", ["c", ">=", "Memory", ["8", 1]], ["!", ["e", "OSDComputerName"]]],
        ["i", "Make", ["Dell", "3"], [0, 1]],
    ]
    # Literals that look like node kinds are still literals.
    for text in ('x == "a"', 'x == "c"', 'x like "!"', 'x in ["e", "o"]', '"a"', '"o"', '"c"', '"!"', '"e"', '"k"',
                 '"i"', '"a" and "o"', "not 1", "-2.5"):
        assert tree_from_data(json.loads(json.dumps(tree_to_data(parse(text))))) == parse(text)


@pytest.mark.parametrize(
    "data",
    [None, 3, [], ["c", "~", "a", "b"], ["c", "==", "a"], ["a", "x"], ["!", 1], ["e", 1], ["k", "x"],
     ["i", "x", ["a"], []], ["i", "x", "a", [0]], ["c", "==", ["a", ["b"]], "x"], ["c", "==", ["e", "y"], "x"],
     ["c", ["=="], "a", "b"],
     {"c": 1}, ["zz", "a", "b", "c", "d"], "and", "9x", ["e", "not"], ["i", "x", ["a"], [2]], ["i", "x", ["a"], [1]]],
)
def test_data_that_is_not_a_tree_is_refused(data: object) -> None:
    with pytest.raises(ValueError, match=r"not (an expression tree|an operand|a variable name|a literal)"):
        tree_from_data(data)


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-3, 3)
    | st.sampled_from(["c", "a", "o", "!", "e", "k", "i", "==", "x", "1"]),
    lambda inner: st.lists(inner, max_size=5),
    max_leaves=12,
)


@given(_JSON)
@FUZZ
def test_any_json_is_a_tree_or_refused(data: object) -> None:
    try:
        tree = tree_from_data(data)
    except ValueError:
        return
    assert parse(unparse(tree)) == tree


def test_adopted_trees_are_used_without_parsing(monkeypatch: pytest.MonkeyPatch) -> None:
    import agent.expr as expr

    monkeypatch.setattr(expr, "_PARSED", {})
    expr.adopt({"Memory >= 4096": tree_to_data(parse("Memory >= 4096"))})
    monkeypatch.setattr(expr, "_tokenize", None)  # any parsing would fail now
    assert check("Memory >= 4096", FACTS.lookup) is True
    with pytest.raises(ValueError):
        expr.adopt({"a": ["c", "~", "x", "y"], "b": "x"})
    assert "b" not in expr._PARSED  # all or nothing
