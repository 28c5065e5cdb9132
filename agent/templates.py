"""Value templates: `{Name}`, `{item.attr}`, filters (`|upper |lower |trim |left:N |right:N |default:TEXT`)."""

# Syntax (docs/expressions.md "Templates"), with the choices this module makes:
# - `{Name}`: a variable; same name rules as expressions (an ASCII letter or "_", then letters, digits, "_", "-",
#   "."). The lookup gets the name as written and must be case-insensitive. A missing name renders "".
# - `{item.attr}`: an attribute of the chosen/matched catalog item ("item." in any case); "" without an item.
# - Filters apply left to right: `{SerialNumber|right:8|upper}`. Filter names are case-insensitive; blanks around
#   names and filter names are ignored. `default:TEXT` replaces an empty value with TEXT taken verbatim up to the
#   next `|` or `}` (so TEXT cannot hold `|`, `{` or `}`). left:N / right:N take N >= 0 characters.
# - `{{` and `}}` are literal braces; a lone `}` is an error. Everything else is literal text, including `%NAME%`,
#   which the task sequence expands later.

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from typing import NamedTuple, Protocol

from agent.errors import InputError

__all__ = ["Filter", "HasAttr", "Placeholder", "Template", "TemplateError", "parse_template", "render"]

_NAME_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_.\-]*")
_ATTR_RE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.\-]*")
_NUMBER_RE = re.compile(r"[0-9]{1,6}")
_ITEM_PREFIX = "item."
FILTERS = ("upper", "lower", "trim", "left", "right", "default")
_NEEDS_ARG = frozenset({"left", "right", "default"})


class TemplateError(InputError):
    """A template that does not parse; `column` is 1-based, `text` is the whole template."""

    def __init__(self, text: str, column: int, detail: str) -> None:
        super().__init__(f"column {column}: {detail}")
        self.text = text
        self.column = column
        self.detail = detail


class HasAttr(Protocol):
    """What `{item.x}` needs: agent.catalog.model.Item satisfies it."""

    def attr(self, name: str) -> str: ...

class Filter(NamedTuple):
    name: str  # lower case, one of FILTERS
    arg: str = ""  # the digits for left/right, the text for default

    def apply(self, value: str) -> str:
        name = self.name
        if name == "upper":
            return value.upper()
        if name == "lower":
            return value.lower()
        if name == "trim":
            return value.strip()
        if name == "left":
            return value[: int(self.arg)]
        if name == "right":
            count = int(self.arg)
            return value[-count:] if count else ""
        if name == "default":
            return value if value else self.arg
        raise ValueError(f"unknown filter {name!r}")

    def text(self) -> str:
        return f"{self.name}:{self.arg}" if self.name in _NEEDS_ARG else self.name


class Placeholder(NamedTuple):
    """One `{...}`: a variable (`name`) or an item attribute (`attr`), then filters."""

    name: str | None
    attr: str | None
    filters: tuple[Filter, ...] = ()

    def render(self, lookup: Callable[[str], str], item: HasAttr | None) -> str:
        if self.name is not None:
            value = lookup(self.name)
        elif item is not None and self.attr is not None:
            value = item.attr(self.attr)
        else:
            value = ""
        for f in self.filters:
            value = f.apply(value)
        return value

    def text(self) -> str:
        head = self.name if self.name is not None else f"item.{self.attr}"
        return "{" + "|".join([head, *(f.text() for f in self.filters)]) + "}"


class Template(NamedTuple):
    """A parsed template: literal strings and placeholders in order."""

    source: str
    parts: tuple[str | Placeholder, ...]

    @property
    def names(self) -> frozenset[str]:
        """Variables the template reads, as written."""
        return frozenset(p.name for p in self.parts if isinstance(p, Placeholder) and p.name is not None)

    @property
    def item_attrs(self) -> frozenset[str]:
        """Item attributes the template reads, as written."""
        return frozenset(p.attr for p in self.parts if isinstance(p, Placeholder) and p.attr is not None)

    @property
    def is_constant(self) -> bool:
        """True when rendering never depends on variables or an item."""
        return not any(isinstance(p, Placeholder) for p in self.parts)

    def render(self, lookup: Callable[[str], str], item: HasAttr | None = None) -> str:
        """Substitute every placeholder; missing variables and attributes are ""."""
        return "".join(p if isinstance(p, str) else p.render(lookup, item) for p in self.parts)


def _fail(text: str, index: int, detail: str) -> TemplateError:
    return TemplateError(text, index + 1, detail)


def _placeholder(text: str, start: int, end: int) -> Placeholder:
    """Parse text[start:end], the inside of the braces whose `{` is at start - 1."""
    segments: list[tuple[int, str]] = []
    seg_start = start
    for i in range(start, end + 1):
        if i == end or text[i] == "|":
            segments.append((seg_start, text[seg_start:i]))
            seg_start = i + 1
    head_at, head = segments[0]
    stripped = head.strip()
    head_col = head_at + (len(head) - len(head.lstrip()))
    if not stripped:
        raise _fail(text, head_at, "expected a variable name or item.attribute inside '{}'")
    name: str | None = None
    attr: str | None = None
    if stripped[: len(_ITEM_PREFIX)].lower() == _ITEM_PREFIX:
        attr = stripped[len(_ITEM_PREFIX) :]
        if not _ATTR_RE.fullmatch(attr):
            raise _fail(text, head_col + len(_ITEM_PREFIX), f"expected an attribute name after 'item.', found {attr!r}")
    elif _NAME_RE.fullmatch(stripped):
        name = stripped
    else:
        raise _fail(
            text,
            head_col,
            f"{stripped!r} is not a variable name (a letter or '_', then letters, digits, '_', '-', '.')",
        )
    filters: list[Filter] = []
    for seg_at, segment in segments[1:]:
        filters.append(_filter(text, seg_at, segment))
    return Placeholder(name, attr, tuple(filters))


def _filter(text: str, at: int, segment: str) -> Filter:
    word, colon, arg = segment.partition(":")
    lead = len(word) - len(word.lstrip())
    fname = word.strip().lower()
    col = at + lead
    if fname not in FILTERS:
        shown = word.strip()
        what = f"unknown filter {shown!r}" if shown else "expected a filter name after '|'"
        raise _fail(text, col, f"{what}; use one of {', '.join(FILTERS)}")
    arg_at = at + len(word) + 1
    if fname in ("left", "right"):
        digits = arg.strip()
        if not colon or not _NUMBER_RE.fullmatch(digits):
            raise _fail(
                text,
                arg_at if colon else col,
                f"filter '{fname}' needs a whole number of characters, e.g. {fname}:8",
            )
        return Filter(fname, str(int(digits)))
    if fname == "default":
        if not colon:
            raise _fail(text, col, "filter 'default' needs a text, e.g. default:UNKNOWN")
        return Filter(fname, arg)
    if colon:
        raise _fail(text, at + len(word), f"filter '{fname}' takes no ':' argument")
    return Filter(fname)


_BRACE = re.compile(r"[{}]")


@functools.lru_cache(maxsize=8192)
def parse_template(text: str) -> Template:
    """Parse a template; raises TemplateError (with a 1-based column). Memoised."""
    if "{" not in text and "}" not in text:  # most values in `set:` are plain text
        return Template(text, (text,) if text else ())
    parts: list[str | Placeholder] = []
    literal: list[str] = []
    i = 0
    n = len(text)
    while i < n:
        brace = _BRACE.search(text, i)
        if brace is None:
            literal.append(text[i:])
            break
        if brace.start() > i:
            literal.append(text[i : brace.start()])
            i = brace.start()
        ch = text[i]
        if ch == "{":
            if text.startswith("{{", i):
                literal.append("{")
                i += 2
                continue
            close = i + 1
            while close < n and text[close] not in "{}":
                close += 1
            if close >= n:
                raise _fail(text, i, "this '{' is not closed; add '}' (or write '{{' for a literal brace)")
            if text[close] == "{":
                raise _fail(text, close, f"expected '}}' to close the '{{' at column {i + 1}, found '{{'")
            if literal:
                parts.append("".join(literal))
                literal = []
            parts.append(_placeholder(text, i + 1, close))
            i = close + 1
            continue
        if ch == "}":
            if text.startswith("}}", i):
                literal.append("}")
                i += 2
                continue
            raise _fail(text, i, "unmatched '}'; write '}}' for a literal brace")
    if literal:
        parts.append("".join(literal))
    return Template(text, tuple(parts))


def render(text: str, lookup: Callable[[str], str], item: HasAttr | None = None) -> str:
    """Parse (memoised) and render `text`."""
    return parse_template(text).render(lookup, item)
