"""Patterns from profiles in bounded time: validation regexes through the `regex` module with a timeout, `like`
through a wildcard matcher that never backtracks more than once per character."""

from __future__ import annotations

from types import ModuleType

# Per check: a field is checked on every key press, so this is what one key can cost at worst.
REGEX_TIMEOUT = 0.25
# Longest validation pattern a profile may carry; real ones are a few dozen characters.
MAX_PATTERN = 1000


class PatternTimeout(Exception):
    """A validation pattern took longer than REGEX_TIMEOUT on one value."""


def _regex() -> ModuleType:
    # Imported on first use: most profiles have no regex at all, and the agent's start counts.
    import regex

    return regex


def pattern_problem(pattern: str) -> str | None:
    """Why a profile's `validate.regex` cannot be used, or None: syntax, size, or nested repetition such as
    `([A-Za-z]+\\s?)+`, which can take exponential time in a backtracking engine."""
    if len(pattern) > MAX_PATTERN:
        return f"the pattern is {len(pattern)} characters; at most {MAX_PATTERN}"
    regex = _regex()
    try:
        regex.compile(pattern)
    except (regex.error, OverflowError, RecursionError, ValueError) as exc:
        return f"not a valid pattern: {exc}"
    nested = _nested_repeat(pattern)
    if nested:
        return (
            f"a repeated group holds another repetition ({nested}): such patterns can take minutes on one value; "
            "rewrite it without the outer repeat, e.g. `[A-Za-z][A-Za-z ]*` instead of `([A-Za-z]+\\s?)+`"
        )
    return None


def fullmatch(pattern: str, value: str) -> bool:
    """True when `value` matches `pattern` entirely; PatternTimeout after REGEX_TIMEOUT seconds."""
    regex = _regex()
    try:
        return regex.fullmatch(pattern, value, timeout=REGEX_TIMEOUT) is not None
    except TimeoutError:
        raise PatternTimeout(pattern) from None


def _nested_repeat(pattern: str) -> str:
    """The first repetition (`*`, `+`, `{n,}`) inside a repeated group, as text; "" when there is none."""
    import re._parser as sre  # type: ignore[import-not-found]  # the stdlib parse; `regex` takes the same syntax

    try:
        tree = sre.parse(pattern)
    except Exception:  # syntax only `regex` knows: nothing to say about nesting
        return ""

    def walk(items: sre.SubPattern, inside_repeat: bool) -> str:
        for op, arg in items:
            name = str(op)
            if name in ("MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT"):
                low, high, body = arg
                unbounded = high is sre.MAXREPEAT or high > 1
                if inside_repeat and unbounded:
                    return f"`{'*' if low == 0 else '+'}` inside a repeat"
                found = walk(body, inside_repeat or unbounded)
                if found:
                    return found
            elif name == "SUBPATTERN":
                found = walk(arg[-1], inside_repeat)
                if found:
                    return found
            elif name == "BRANCH":
                for branch in arg[1]:
                    found = walk(branch, inside_repeat)
                    if found:
                        return found
        return ""

    return walk(tree, False)


def like(value: str, pattern: str) -> bool:
    """WQL LIKE on the whole value: `%` any run (also none), `_` one character, case-insensitive character by
    character. Greedy with one remembered `%`: at most len(value) x len(pattern) steps, whatever the input."""
    v = p = 0
    star = -1
    mark = 0
    n, m = len(value), len(pattern)
    while v < n:
        if p < m and pattern[p] != "%" and (pattern[p] == "_" or _same(pattern[p], value[v])):
            v += 1
            p += 1
        elif p < m and pattern[p] == "%":
            star, mark = p, v
            p += 1
        elif star >= 0:
            mark += 1
            v, p = mark, star + 1
        else:
            return False
    while p < m and pattern[p] == "%":
        p += 1
    return p == m


def _same(a: str, b: str) -> bool:
    return a == b or a.lower() == b.lower() or a.upper() == b.upper()
