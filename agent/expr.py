"""Condition expressions for rules, `when` and preflight checks: tokenizer, parser, printer, evaluator (never eval)."""

# Language (docs/expressions.md), with the choices this module makes:
#
#   condition := or
#   or        := and ("or" and)*
#   and       := not ("and" not)*
#   not       := "not" not | "exists" NAME | "(" or ")" | operand [tail]
#   tail      := CMP operand | ["not"] "like" operand | ["not"] "in" "[" literal ("," literal)* [","] "]"
#   CMP       := "==" | "=" | "!=" | "<>" | "<" | "<=" | ">" | ">="
#   operand   := NAME | STRING | NUMBER
#
# - Keywords (and, or, not, like, exists, in) are case-insensitive and reserved: they are not variable names.
# - NAME: an ASCII letter or "_" then letters, digits, "_", "-" or "."; the lookup gets it as written and must be
#   case-insensitive (agent.variables.Variables.lookup is). A missing name is "".
# - STRING: "..." or '...'; the quote is escaped by doubling it ("say ""hi""", 'O''Brien'), as in WQL/SQL.
#   Backslashes are ordinary characters, so Windows paths need no escaping ("C:\Windows").
# - NUMBER: an optional "-", digits, optionally "." and digits (4096, -5, 3.25). It is kept as written.
# - Comparison is numeric when both sides are numbers (same syntax, "+" and surrounding blanks allowed in values),
#   else case-insensitive text (casefold). `in` is "== any of".
# - like: "%" any run (also none), "_" exactly one character, everything else literal (including . [ ( \ ^ $);
#   case-insensitive character by character (so unlike ==, "ß" does not match "ss"); the whole value must match.
#   There is no escape: "_" matches a literal "%" or "_".
# - `exists X` is true when X is not empty (ConfigMgr deletes a variable when it is set to "").
# - A bare operand as a condition (`IsVM`, `not IsUEFI`) is true unless its text is "", "0" or "false"
#   (case-insensitive, surrounding blanks ignored).
# - Precedence: comparison > not > and > or. `a not like b` / `a not in [..]` are read as `not (a like b)` etc.

from __future__ import annotations

import contextlib
import functools
import re
from collections.abc import Callable
from typing import TYPE_CHECKING, NamedTuple, TypeAlias, TypeVar

from agent.errors import InputError
from agent.patterns import like as wildcard

if TYPE_CHECKING:
    from decimal import Decimal

__all__ = [
    "And",
    "Compare",
    "Exists",
    "Expr",
    "ExprError",
    "In",
    "Like",
    "Literal",
    "Name",
    "Not",
    "Or",
    "adopt",
    "check",
    "compare",
    "evaluate",
    "is_truthy",
    "like",
    "names",
    "parse",
    "tree_from_data",
    "tree_to_data",
    "unparse",
]

KEYWORDS = frozenset({"and", "or", "not", "like", "exists", "in"})
COMPARE_OPS = frozenset({"==", "!=", "<", "<=", ">", ">="})
_OP_SYNONYMS = {"=": "==", "<>": "!="}
_FALSY = frozenset({"", "0", "false"})


class ExprError(InputError):
    """An expression that does not parse; `column` is 1-based, `text` is the whole expression."""

    def __init__(self, text: str, column: int, detail: str) -> None:
        # No hint: callers prefix the file and path, and the detail already says what to write.
        super().__init__(f"column {column}: {detail}")
        self.text = text
        self.column = column
        self.detail = detail

    def pointer(self) -> str:
        """The expression and a caret under the offending column, for multi-line error output."""
        return f"{self.text}\n{' ' * (self.column - 1)}^"


# ---------------------------------------------------------------- tree

# Nodes are NamedTuples (a profile's conditions make thousands of them). Plain tuples compare by value
# alone, so Name("x") would equal Exists("x"): a node is equal only to a node of its own kind.


def _same_node(self: tuple[object, ...], other: object) -> bool:
    return type(self) is type(other) and tuple.__eq__(self, other) is True


def _other_node(self: tuple[object, ...], other: object) -> bool:
    return not _same_node(self, other)


class Name(NamedTuple):
    """A variable reference, kept as written."""

    name: str


class Literal(NamedTuple):
    """A string or number literal; `value` is the text (numbers as written)."""

    value: str
    is_number: bool = False


Operand: TypeAlias = Name | Literal


class Compare(NamedTuple):
    """`left op right` with op one of == != < <= > >=."""

    op: str
    left: Operand
    right: Operand


class Like(NamedTuple):
    """`left like pattern` (WQL wildcards % and _)."""

    left: Operand
    pattern: Operand


class In(NamedTuple):
    """`left in [v1, v2, ...]`."""

    left: Operand
    values: tuple[Literal, ...]


class Exists(NamedTuple):
    """`exists Name`: the variable is set and not empty."""

    name: str


class Not(NamedTuple):
    operand: Expr


class And(NamedTuple):
    """Two or more operands, all true."""

    operands: tuple[Expr, ...]


class Or(NamedTuple):
    """Two or more operands, any true."""

    operands: tuple[Expr, ...]


Expr: TypeAlias = Name | Literal | Compare | Like | In | Exists | Not | And | Or

for _node in (Name, Literal, Compare, Like, In, Exists, Not, And, Or):
    _node.__eq__ = _same_node  # type: ignore[method-assign]
    _node.__ne__ = _other_node  # type: ignore[assignment,method-assign]
    _node.__hash__ = tuple.__hash__  # type: ignore[method-assign]


# ---------------------------------------------------------------- tokenizer

# Token kinds: "name", "kw", "str", "num", "op", "(", ")", "[", "]", ",", "end".
_NAME_START = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_")
_NAME_CHARS = _NAME_START | frozenset("0123456789-.")
_DIGITS = frozenset("0123456789")
_NAME_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_.\-]*")
_NUMBER_RE = re.compile(r"-?[0-9]+(?:\.[0-9]+)?")


class _Token(NamedTuple):
    # A NamedTuple: a profile's conditions make tens of thousands of tokens.
    kind: str
    value: str
    column: int  # 1-based
    source: str  # as written, for messages


def _describe(token: _Token) -> str:
    if token.kind == "end":
        return "the end"
    shown = token.source if len(token.source) <= 20 else token.source[:17] + "..."
    return repr(shown)


# One regex for the common, valid case: `findall` splits the whole text at once. The first group is a whole
# token; the second catches any character that cannot start one (the lookahead sends `12abc` there too).
# Tokens from here carry no columns (0): only errors need them, and any text this cannot take whole, or that
# does not parse, is tokenized again by the careful scanner below, which gives the same tokens with columns,
# and the precise error.
_FAST_PATTERN = (
    r"([A-Za-z_][A-Za-z0-9_.\-]*|-?[0-9]+(?:\.[0-9]+)?(?![A-Za-z0-9_.\-])"
    r"|\"[^\"]*(?:\"\"[^\"]*)*\"|'[^']*(?:''[^']*)*'|[=!<>]=|<>|[=<>()\[\],])|(\S)"
)  # most frequent first; whitespace matches nothing, so findall steps over it
# Compiled on the first text to tokenize: a compiled profile from media brings its trees and tokenizes
# nothing.
_fast_findall: Callable[[str], list[tuple[str, str]]] | None = None
_END = _Token("end", "", 0, "")
# Tokens by their text: profiles repeat the same names, keywords and operators thousands of times, and
# a dictionary hit is several times cheaper than classifying the text again. Bounded: cleared when full.
_KNOWN_TOKENS: dict[str, _Token] = {}
_KNOWN_TOKENS_MAX = 65536


def _classify(text: str) -> _Token:
    """The token for one piece of text that _FAST_PATTERN took as a whole token."""
    first = text[0]
    if first in _DIGITS or first == "-":
        return _Token("num", text, 0, text)
    if first in _NAME_START:
        lowered = text.lower()
        return _Token("kw", lowered, 0, text) if lowered in KEYWORDS else _Token("name", text, 0, text)
    if first == '"' or first == "'":
        return _Token("str", text[1:-1].replace(first + first, first), 0, text)
    if first in "=!<>":
        return _Token("op", _OP_SYNONYMS.get(text, text), 0, text)
    return _Token(text, text, 0, text)  # ( ) [ ] ,


def _tokenize(text: str) -> list[_Token] | None:
    """Tokens without columns for text the fast regex takes whole; None for anything else."""
    tokens: list[_Token] = []
    append = tokens.append
    known = _KNOWN_TOKENS
    global _fast_findall
    if _fast_findall is None:
        _fast_findall = re.compile(_FAST_PATTERN).findall
    for piece, other in _fast_findall(text):
        if other:
            return None
        token = known.get(piece)
        if token is None:
            if len(known) >= _KNOWN_TOKENS_MAX:
                known.clear()
            token = known[piece] = _classify(piece)
        append(token)
    append(_END)
    return tokens


def _tokenize_careful(text: str) -> list[_Token]:
    tokens: list[_Token] = []
    i = 0
    n = len(text)
    while i < n:
        ch = text[i]
        if ch.isspace():
            i += 1
            continue
        start = i
        if ch in _NAME_START:
            m = _NAME_RE.match(text, i)
            assert m is not None  # the first character matched
            word = m.group()
            i = m.end()
            kind = "kw" if word.lower() in KEYWORDS else "name"
            tokens.append(_Token(kind, word.lower() if kind == "kw" else word, start + 1, word))
            continue
        if ch in _DIGITS or (ch == "-" and i + 1 < n and text[i + 1] in _DIGITS):
            m = _NUMBER_RE.match(text, i)
            assert m is not None
            i = m.end()
            if i < n and (text[i] in _NAME_CHARS):
                raise ExprError(
                    text,
                    start + 1,
                    f"number {m.group()!r} runs into {text[i]!r}; put text in quotes",
                )
            tokens.append(_Token("num", m.group(), start + 1, m.group()))
            continue
        if ch in "\"'":
            quote = ch
            parts: list[str] = []
            i += 1
            while True:
                end = text.find(quote, i)
                if end < 0:
                    raise ExprError(text, start + 1, f"the text starting here has no closing {quote}")
                parts.append(text[i:end])
                if end + 1 < n and text[end + 1] == quote:  # doubled quote = one quote character
                    parts.append(quote)
                    i = end + 2
                    continue
                i = end + 1
                break
            tokens.append(_Token("str", "".join(parts), start + 1, text[start:i]))
            continue
        two = text[i : i + 2]
        if two in ("==", "!=", "<>", "<=", ">="):
            tokens.append(_Token("op", _OP_SYNONYMS.get(two, two), start + 1, two))
            i += 2
            continue
        if ch in "=<>":
            tokens.append(_Token("op", _OP_SYNONYMS.get(ch, ch), start + 1, ch))
            i += 1
            continue
        if ch in "()[],":
            tokens.append(_Token(ch, ch, start + 1, ch))
            i += 1
            continue
        if ch == "!":
            raise ExprError(text, start + 1, "unexpected '!'; write 'not' or '!='")
        raise ExprError(text, start + 1, f"unexpected character {ch!r}")
    tokens.append(_Token("end", "", n + 1, ""))
    return tokens


# ---------------------------------------------------------------- parser


MAX_DEPTH = 64  # nested '(' and 'not'; keeps hostile input from hitting Python's recursion limit


class _Parser:
    __slots__ = ("depth", "pos", "text", "tokens")

    def __init__(self, text: str, tokens: list[_Token]) -> None:
        self.text = text
        self.tokens = tokens
        self.pos = 0
        self.depth = 0

    def peek(self) -> _Token:
        return self.tokens[self.pos]

    def take(self) -> _Token:
        token = self.tokens[self.pos]
        if token.kind != "end":
            self.pos += 1
        return token

    def is_kw(self, word: str) -> bool:
        token = self.tokens[self.pos]
        return token.kind == "kw" and token.value == word

    def fail(self, token: _Token, detail: str) -> ExprError:
        return ExprError(self.text, token.column, detail)

    def parse(self) -> Expr:
        if self.peek().kind == "end":
            raise self.fail(self.peek(), "expected a condition, found nothing")
        expr = self.parse_or()
        token = self.peek()
        if token.kind != "end":
            if token.kind == ")":
                raise self.fail(token, "unexpected ')' with no matching '('")
            raise self.fail(token, f"expected 'and', 'or' or the end, found {_describe(token)}")
        return expr

    # The loops below read self.tokens directly: they run for every token of every condition.
    def parse_or(self) -> Expr:
        first = self.parse_and()
        tokens = self.tokens
        token = tokens[self.pos]
        if token.value != "or" or token.kind != "kw":
            return first
        operands = [first]
        while token.value == "or" and token.kind == "kw":
            self.pos += 1
            operands.append(self.parse_and())
            token = tokens[self.pos]
        return Or(tuple(operands))

    def parse_and(self) -> Expr:
        first = self.parse_not()
        tokens = self.tokens
        token = tokens[self.pos]
        if token.value != "and" or token.kind != "kw":
            return first
        operands = [first]
        while token.value == "and" and token.kind == "kw":
            self.pos += 1
            operands.append(self.parse_not())
            token = tokens[self.pos]
        return And(tuple(operands))

    def parse_not(self) -> Expr:
        token = self.tokens[self.pos]
        if token.kind == "kw" or token.kind == "(":
            self.depth += 1
            if self.depth > MAX_DEPTH:
                raise self.fail(token, f"nested more than {MAX_DEPTH} levels deep; simplify the expression")
            try:
                return self.parse_group(token)
            finally:
                self.depth -= 1
        left = self.parse_operand(None)
        return self.parse_tail(left)

    def parse_group(self, token: _Token) -> Expr:
        if token.kind == "kw":
            if token.value == "not":
                self.take()
                return Not(self.parse_not())
            if token.value == "exists":
                self.take()
                name = self.take()
                if name.kind != "name":
                    raise self.fail(name, f"expected a variable name after 'exists', found {_describe(name)}")
                return Exists(name.value)
        if token.kind == "(":
            self.take()
            inner = self.parse_or()
            close = self.peek()
            if close.kind != ")":
                raise self.fail(
                    close,
                    f"expected ')' to close the '(' at column {token.column}, found {_describe(close)}",
                )
            self.take()
            return inner
        raise self.fail(token, f"expected a condition, found {_describe(token)}")

    def parse_operand(self, after: _Token | None) -> Operand:
        token = self.tokens[self.pos]
        kind = token.kind
        if kind == "name":
            self.pos += 1
            return Name(token.value)
        if kind == "str":
            self.pos += 1
            return Literal(token.value, False)
        if kind == "num":
            self.pos += 1
            return Literal(token.value, True)
        token = self.take()
        if after is None:
            raise self.fail(token, f"expected a condition, found {_describe(token)}")
        raise self.fail(token, f"expected a value after '{after.source}', found {_describe(token)}")

    def parse_tail(self, left: Operand) -> Expr:
        token = self.tokens[self.pos]
        if token.kind == "op":
            self.pos += 1
            return Compare(token.value, left, self.parse_operand(token))
        negate = False
        if token.kind == "kw" and token.value == "not":
            following = self.tokens[self.pos + 1]
            if following.kind == "kw" and following.value in ("like", "in"):
                self.take()
                negate = True
                token = self.peek()
        if token.kind == "kw" and token.value == "like":
            self.take()
            result: Expr = Like(left, self.parse_operand(token))
        elif token.kind == "kw" and token.value == "in":
            self.take()
            result = In(left, self.parse_list())
        else:
            if token.kind not in ("end", ")") and not (token.kind == "kw" and token.value in ("and", "or")):
                raise self.fail(
                    token,
                    f"expected a comparison ('==', '!=', '<', 'like', 'in' ...), 'and', 'or' or the end, "
                    f"found {_describe(token)}",
                )
            return left
        return Not(result) if negate else result

    def parse_list(self) -> tuple[Literal, ...]:
        opening = self.take()
        if opening.kind != "[":
            raise self.fail(opening, f"expected '[' after 'in', found {_describe(opening)}")
        values: list[Literal] = []
        while True:
            token = self.take()
            if token.kind == "str":
                values.append(Literal(token.value, False))
            elif token.kind == "num":
                values.append(Literal(token.value, True))
            elif token.kind == "]" and values:  # a trailing comma is fine
                break
            else:
                raise self.fail(token, f"expected a quoted text or a number in the list, found {_describe(token)}")
            separator = self.take()
            if separator.kind == "]":
                break
            if separator.kind != ",":
                raise self.fail(
                    separator,
                    f"expected ',' or ']' to close the '[' at column {opening.column}, found {_describe(separator)}",
                )
        return tuple(values)


# Trees by their text: a rule's condition is evaluated many times, and trees from a compiled profile
# (`adopt`) are put here so that the boot never parses them. Bounded: cleared when full.
_PARSED: dict[str, Expr] = {}
_PARSED_MAX = 65536


def parse(text: str) -> Expr:
    """Parse a condition; raises ExprError (with a 1-based column) when it is not valid. Memoised."""
    tree = _PARSED.get(text)
    if tree is not None:
        return tree
    tokens = _tokenize(text)
    tree = None
    if tokens is not None:
        with contextlib.suppress(ExprError):  # parsed again below with columns, for the precise error
            tree = _Parser(text, tokens).parse()
    if tree is None:
        tree = _Parser(text, _tokenize_careful(text)).parse()
    if len(_PARSED) >= _PARSED_MAX:
        _PARSED.clear()
    _PARSED[text] = tree
    return tree


# ---------------------------------------------------------------- trees as data (compiled profiles)

# `prestart compile` stores every condition's tree beside the profile, and the agent builds the trees
# from that at boot instead of parsing the text. Plain JSON values:
#   Name "X"  ->  "X"                Literal  ->  ["text"] or ["42", 1] for a number
#   Compare   ->  ["c", op, l, r]    Like     ->  ["k", left, pattern]
#   In        ->  ["i", left, [values], [1 per number, else 0]]
#   Exists    ->  ["e", name]        Not      ->  ["!", operand]
#   And / Or  ->  ["a" | "o", operand, operand, ...]


def tree_to_data(expr: Expr) -> object:
    """The tree as plain JSON values (see above); `tree_from_data` reads it back."""
    if isinstance(expr, Name):
        return expr.name
    if isinstance(expr, Literal):
        return [expr.value, 1] if expr.is_number else [expr.value]
    if isinstance(expr, Compare):
        return ["c", expr.op, tree_to_data(expr.left), tree_to_data(expr.right)]
    if isinstance(expr, Like):
        return ["k", tree_to_data(expr.left), tree_to_data(expr.pattern)]
    if isinstance(expr, In):
        return ["i", tree_to_data(expr.left), [v.value for v in expr.values], [int(v.is_number) for v in expr.values]]
    if isinstance(expr, Exists):
        return ["e", expr.name]
    if isinstance(expr, Not):
        return ["!", tree_to_data(expr.operand)]
    if isinstance(expr, And | Or):
        return ["a" if isinstance(expr, And) else "o", *map(tree_to_data, expr.operands)]
    raise TypeError(f"not an expression node: {expr!r}")


_new = tuple.__new__  # positional construction without NamedTuple's keyword handling


def tree_from_data(data: object) -> Expr:
    """The tree `tree_to_data` wrote; ValueError when `data` is not one (a compiled profile from
    elsewhere: the caller checks the profile in full instead)."""
    if type(data) is not list or not data:
        return _operand(data)
    kind = data[0]
    size = len(data)
    if kind == "c" and size == 4 and type(data[1]) is str and data[1] in COMPARE_OPS:  # the most frequent first
        return _new(Compare, (data[1], _operand(data[2]), _operand(data[3])))
    if (kind == "a" or kind == "o") and size >= 3:
        operands = tuple(map(tree_from_data, data[1:]))
        return _new(And, (operands,)) if kind == "a" else _new(Or, (operands,))
    if kind == "k" and size == 3:
        return _new(Like, (_operand(data[1]), _operand(data[2])))
    if kind == "!" and size == 2:
        return _new(Not, (tree_from_data(data[1]),))
    if kind == "e" and size == 2 and type(data[1]) is str:
        return _new(Exists, (_checked_name(data[1]),))
    if kind == "i" and size == 4 and type(data[2]) is list and type(data[3]) is list and len(data[2]) == len(data[3]):
        values = tuple(_literal(v, n) for v, n in zip(data[2], data[3], strict=True))
        return _new(In, (_operand(data[1]), values))
    return _operand(data)  # a literal standing alone as a condition, or not a tree at all


# Name nodes by their text, checked once: profiles use a few names thousands of times. Bounded.
_NAME_NODES: dict[str, Name] = {}


def _operand(data: object) -> Operand:
    if type(data) is str:
        node = _NAME_NODES.get(data)
        if node is None:
            node = _new(Name, (_checked_name(data),))
            if len(_NAME_NODES) < _KNOWN_TOKENS_MAX:
                _NAME_NODES[data] = node
        return node
    if type(data) is list:
        size = len(data)
        if size == 1:
            return _literal(data[0], 0)
        if size == 2:
            return _literal(data[0], data[1])
    raise ValueError(f"not an expression tree: {data!r}")


def _checked_name(text: str) -> str:
    if not _NAME_RE.fullmatch(text) or text.casefold() in KEYWORDS:
        raise ValueError(f"not a variable name: {text!r}")
    return text


def _literal(value: object, is_number: object) -> Literal:
    if type(value) is not str or (is_number != 0 and (is_number != 1 or not _NUMBER_RE.fullmatch(value))):
        raise ValueError(f"not a literal: {value!r}")
    return _new(Literal, (value, is_number == 1))


def adopt(trees: dict[str, object]) -> None:
    """Trees from a compiled profile (text -> `tree_to_data`), so that `parse` finds them without
    parsing. ValueError when one is not a tree; nothing is adopted then."""
    built = {text: tree_from_data(data) for text, data in trees.items()}
    if len(_PARSED) + len(built) > _PARSED_MAX:
        _PARSED.clear()
    _PARSED.update(built)


# ---------------------------------------------------------------- printer


def _quote(value: str) -> str:
    return '"' + value.replace('"', '""') + '"'


def _operand_text(operand: Operand) -> str:
    if isinstance(operand, Name):
        return operand.name
    if operand.is_number:
        return operand.value
    return _quote(operand.value)


def _wrap(expr: Expr, wrap: bool) -> str:
    text = unparse(expr)
    return f"({text})" if wrap else text


def unparse(expr: Expr) -> str:
    """Canonical text: `==`/`!=`, double quotes, lower-case keywords, only the parentheses the tree needs."""
    if isinstance(expr, Name | Literal):
        return _operand_text(expr)
    if isinstance(expr, Compare):
        return f"{_operand_text(expr.left)} {expr.op} {_operand_text(expr.right)}"
    if isinstance(expr, Like):
        return f"{_operand_text(expr.left)} like {_operand_text(expr.pattern)}"
    if isinstance(expr, In):
        return f"{_operand_text(expr.left)} in [{', '.join(_operand_text(v) for v in expr.values)}]"
    if isinstance(expr, Exists):
        return f"exists {expr.name}"
    if isinstance(expr, Not):
        return "not " + _wrap(expr.operand, isinstance(expr.operand, And | Or))
    if isinstance(expr, And):
        # A nested And keeps its parentheses so that the printed text parses back to the same tree.
        return " and ".join(_wrap(op, isinstance(op, And | Or)) for op in expr.operands)
    if isinstance(expr, Or):
        return " or ".join(_wrap(op, isinstance(op, Or)) for op in expr.operands)
    raise TypeError(f"not an expression node: {expr!r}")


# ---------------------------------------------------------------- semantics

# annotations only: the comparison helpers are typed by it
_T = TypeVar("_T", "int | Decimal", str)

_NUMERIC_VALUE = re.compile(r"\s*[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)\s*")


@functools.lru_cache(maxsize=8192)
def _number(text: str) -> int | Decimal | None:
    # Whole numbers as int, the rest as Decimal, never float: "0.1" stays exact, and 20-digit serial
    # numbers compare correctly. int and Decimal compare exactly with each other.
    if not _NUMERIC_VALUE.fullmatch(text):
        return None
    stripped = text.strip()
    if "." not in stripped:
        return int(stripped)
    from decimal import Decimal  # only rules that compare fractions need it

    return Decimal(stripped)


def compare(left: str, op: str, right: str) -> bool:
    """Compare two values: numerically when both are numbers, else as case-insensitive text."""
    na = _number(left) if left else None
    nb = _number(right) if na is not None and right else None
    if na is not None and nb is not None:
        return _ordered(na, _OP_SYNONYMS.get(op, op), nb)
    return _ordered(left.casefold(), _OP_SYNONYMS.get(op, op), right.casefold())


def _ordered(a: _T, op: str, b: _T) -> bool:
    if op == "==":
        return a == b
    if op == "!=":
        return a != b
    if op == "<":
        return a < b
    if op == "<=":
        return a <= b
    if op == ">":
        return a > b
    if op == ">=":
        return a >= b
    raise ValueError(f"unknown comparison operator {op!r}")


@functools.lru_cache(maxsize=4096)
def _like_matcher(pattern: str) -> Callable[[str], bool]:
    """A matcher for one pattern. The common shapes (`%x%`, `x%`, `%x`, `x`) on ASCII text skip the regex:
    profiles with thousands of `Model like "%...%"` rules would otherwise spend most of a run compiling."""
    core = pattern.strip("%")
    if "_" not in pattern and "%" not in core and core.isascii():
        needle = core.lower()
        head, tail = pattern.startswith("%"), pattern.endswith("%")

        def fast(value: str) -> bool:
            if not value.isascii():
                return wildcard(value, pattern)
            text = value.lower()
            if head and tail:
                return needle in text
            if head:
                return text.endswith(needle)
            if tail:
                return text.startswith(needle)
            return text == needle

        return fast
    # Not a regex: `%a%a%a%a%b` on 200 characters took 25 s in a backtracking engine (issue 19).
    return lambda value: wildcard(value, pattern)


def like(value: str, pattern: str) -> bool:
    """WQL LIKE: `%` any run, `_` one character, case-insensitive, whole value. Patterns are compiled once."""
    return _like_matcher(pattern)(value)


def is_truthy(value: str) -> bool:
    """A bare value used as a condition: false for "", "0" and "false" (any case), else true."""
    return value.strip().casefold() not in _FALSY


def _value(operand: Operand, lookup: Callable[[str], str]) -> str:
    if isinstance(operand, Name):
        return lookup(operand.name)
    return operand.value


def evaluate(expr: Expr, lookup: Callable[[str], str]) -> bool:
    """Evaluate a parsed condition; `lookup(name)` returns a variable's text ("" when missing)."""
    if isinstance(expr, Compare):
        return compare(_value(expr.left, lookup), expr.op, _value(expr.right, lookup))
    if isinstance(expr, And):
        for operand in expr.operands:  # noqa: SIM110 - a loop, not all(genexpr): rules run thousands of times
            if not evaluate(operand, lookup):
                return False
        return True
    if isinstance(expr, Or):
        for operand in expr.operands:  # noqa: SIM110
            if evaluate(operand, lookup):
                return True
        return False
    if isinstance(expr, Not):
        return not evaluate(expr.operand, lookup)
    if isinstance(expr, Like):
        return like(_value(expr.left, lookup), _value(expr.pattern, lookup))
    if isinstance(expr, In):
        value = _value(expr.left, lookup)
        return any(compare(value, "==", v.value) for v in expr.values)
    if isinstance(expr, Exists):
        return lookup(expr.name) != ""
    if isinstance(expr, Name):
        return is_truthy(lookup(expr.name))
    if isinstance(expr, Literal):
        return is_truthy(expr.value)
    raise TypeError(f"not an expression node: {expr!r}")


def check(text: str, lookup: Callable[[str], str]) -> bool:
    """Parse (memoised) and evaluate `text`."""
    return evaluate(parse(text), lookup)


def names(expr: Expr) -> frozenset[str]:
    """Every variable name the expression reads, as written."""
    found: set[str] = set()
    stack: list[Expr] = [expr]
    while stack:
        node = stack.pop()
        if isinstance(node, Name | Exists):
            found.add(node.name)
        elif isinstance(node, Compare):
            stack.extend((node.left, node.right))
        elif isinstance(node, Like):
            stack.extend((node.left, node.pattern))
        elif isinstance(node, In):
            stack.append(node.left)
        elif isinstance(node, Not):
            stack.append(node.operand)
        elif isinstance(node, And | Or):
            stack.extend(node.operands)
    return frozenset(found)
