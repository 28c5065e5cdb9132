"""The VBScript that UI++ evaluates after expanding %NAME%: conditions and string values, translated when clear."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import NamedTuple

# A name is mapped to a Prestart variable, or None when Prestart has nothing that means the same.
Mapper = Callable[[str], "str | None"]

_TOKEN = re.compile(
    r"""\s*(?:
        (?P<string>"(?:[^"]|"")*")
      | (?P<var>%[A-Za-z_][A-Za-z0-9_.-]*%)
      | (?P<number>-?\d+(?:\.\d+)?)
      | (?P<op><>|<=|>=|=|<|>|\(|\)|&|,)
      | (?P<word>[A-Za-z_][A-Za-z0-9_]*)
    )""",
    re.VERBOSE,
)
_PLACEHOLDER = re.compile(r"%([A-Za-z_][A-Za-z0-9_.-]*)%")


class Untranslatable(Exception):
    """The text means something Prestart cannot say, or something this reader does not understand."""


class Token(NamedTuple):
    kind: str
    text: str


def tokens(text: str) -> list[Token]:
    found: list[Token] = []
    pos = 0
    text = text.rstrip()
    while pos < len(text):
        if text[pos:].lstrip().startswith("'"):
            break  # a VBScript comment runs to the end of the line
        match = _TOKEN.match(text, pos)
        if match is None or match.end() == pos:
            raise Untranslatable(f"cannot read {text[pos:].strip()[:20]!r}")
        kind = match.lastgroup or ""
        found.append(Token(kind, match.group(kind)))
        pos = match.end()
    return found


def _quote(text: str) -> str:
    return '"' + text.replace('"', '""') + '"'


def template(text: str, mapper: Mapper) -> str:
    """Text with %NAME% as a Prestart template ({Name}); Untranslatable when a name has no counterpart."""

    def replace(match: re.Match[str]) -> str:
        name = mapper(match.group(1))
        if name is None:
            raise Untranslatable(f"%{match.group(1)}% has no Prestart counterpart")
        return "{" + name + "}"

    return _PLACEHOLDER.sub(replace, text.replace("{", "{{").replace("}", "}}"))


def value(text: str, mapper: Mapper) -> str:
    """A TSVar value: string literals joined by `&`, as a template. Functions and arithmetic are untranslatable."""
    parts = tokens(text)
    if not parts:
        raise Untranslatable("the value is empty")
    out = []
    for index, token in enumerate(parts):
        if index % 2 == 1:
            if token.text != "&":
                raise Untranslatable(f"{token.text!r} is not a string joined with &")
            continue
        if token.kind == "string":
            out.append(template(token.text[1:-1].replace('""', '"'), mapper))
        elif token.kind == "number":
            out.append(token.text)
        else:
            raise Untranslatable(f"{token.text!r} is VBScript that only UI++ can evaluate")
    if len(parts) % 2 == 0:
        raise Untranslatable("the value ends with &")
    return "".join(out)


class _Parser:
    """VBScript precedence: comparison binds tighter than Not, Not than And, And than Or."""

    def __init__(self, items: list[Token], mapper: Mapper) -> None:
        self.items = items
        self.pos = 0
        self.mapper = mapper
        self.names: set[str] = set()

    def peek(self) -> Token | None:
        return self.items[self.pos] if self.pos < len(self.items) else None

    def word(self, *words: str) -> bool:
        token = self.peek()
        if token is not None and token.kind == "word" and token.text.casefold() in words:
            self.pos += 1
            return True
        return False

    def parse(self) -> str:
        result = self.or_()
        if self.peek() is not None:
            raise Untranslatable(f"unexpected {self.peek().text!r}")  # type: ignore[union-attr]
        return result

    def or_(self) -> str:
        parts = [self.and_()]
        while self.word("or"):
            parts.append(self.and_())
        return " or ".join(parts)

    def and_(self) -> str:
        parts = [self.not_()]
        while self.word("and"):
            parts.append(self.not_())
        return " and ".join(f"({p})" if " or " in p else p for p in parts)

    def not_(self) -> str:
        if self.word("not"):
            inner = self.not_()
            return f"not ({inner})"
        return self.compare()

    def operand(self) -> tuple[str, bool]:
        """(Prestart operand, is it a name)."""
        token = self.peek()
        if token is None:
            raise Untranslatable("the condition ends too early")
        self.pos += 1
        if token.kind == "op" and token.text == "(":
            inner = self.or_()
            closing = self.peek()
            if closing is None or closing.text != ")":
                raise Untranslatable("a parenthesis is not closed")
            self.pos += 1
            return f"({inner})", False
        if token.kind == "string":
            inner = token.text[1:-1].replace('""', '"')
            whole = _PLACEHOLDER.fullmatch(inner)
            if whole:
                return self.name(whole.group(1)), True
            if "%" in inner:
                raise Untranslatable(f"{token.text} mixes text and variables")
            return _quote(inner), False
        if token.kind == "var":
            return self.name(token.text[1:-1]), True
        if token.kind == "number":
            return token.text, False
        if token.kind == "word" and token.text.casefold() in ("true", "false"):
            return _quote(token.text.capitalize()), False
        raise Untranslatable(f"{token.text!r} is VBScript that only UI++ can evaluate")

    def name(self, raw: str) -> str:
        mapped = self.mapper(raw)
        if mapped is None:
            raise Untranslatable(f"%{raw}% has no Prestart counterpart")
        self.names.add(mapped)
        return mapped

    def compare(self) -> str:
        left, _ = self.operand()
        token = self.peek()
        ops = {"=": "==", "<>": "!=", "<": "<", ">": ">", "<=": "<=", ">=": ">="}
        if token is not None and token.kind == "op" and token.text in ops:
            self.pos += 1
            right, _ = self.operand()
            return f"{left} {ops[token.text]} {right}"
        return left


def condition(text: str, mapper: Mapper) -> tuple[str, frozenset[str]]:
    """A UI++ Condition as a Prestart expression and the variables it reads; Untranslatable otherwise."""
    parser = _Parser(tokens(text), mapper)
    return parser.parse(), frozenset(parser.names)
