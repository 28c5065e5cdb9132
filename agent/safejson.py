"""JSON from outside the agent: deep nesting, numbers past Python's digit limit and lone surrogates are data errors."""

from __future__ import annotations

import json
import re

# The stdlib parser recurses once per level and gives up near 1,000 levels with RecursionError (a crash
# unless caught); a depth check of every document would cost every boot a walk of the catalog, so that limit
# is the one we state (docs/security.md).
MAX_DEPTH = 1000
# `"\ud800"` decodes to a lone surrogate, which no UTF-8 file, receipt or task sequence variable can carry.
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89abcdefABCDEF][0-9a-fA-F]{2}")


class JsonProblem(ValueError):
    """Why outside JSON cannot be used; the caller wraps it in its own error with the file name."""


def loads(text: str) -> object:
    """json.loads for outside text: JsonProblem (a ValueError) for anything it refuses, never RecursionError."""
    try:
        data = json.loads(text)
    except RecursionError:
        raise JsonProblem(f"nested too deeply (more than about {MAX_DEPTH} levels); flatten it") from None
    except json.JSONDecodeError:
        raise
    except ValueError as exc:  # e.g. an integer of more than 4,300 digits
        raise JsonProblem(f"holds a number Python cannot read ({str(exc).split(';')[0]})") from None
    if _SURROGATE_ESCAPE.search(text):
        _refuse_surrogates(data)
    return data


def _refuse_surrogates(data: object) -> None:
    stack = [data]
    while stack:
        value = stack.pop()
        if isinstance(value, str):
            try:
                value.encode("utf-8")
            except UnicodeEncodeError:
                raise JsonProblem("holds a lone UTF-16 surrogate (a \\udXXX escape without its pair)") from None
        elif isinstance(value, dict):
            stack.extend(value.keys())
            stack.extend(value.values())
        elif isinstance(value, list):
            stack.extend(value)


def too_deep(data: object, limit: int) -> bool:
    """True when `data` (lists and dicts) nests deeper than `limit`; iterative, for small documents only."""
    stack = [(data, 0)]
    while stack:
        value, depth = stack.pop()
        if depth > limit:
            return True
        if isinstance(value, dict):
            stack.extend((item, depth + 1) for item in value.values())
        elif isinstance(value, list):
            stack.extend((item, depth + 1) for item in value)
    return False
