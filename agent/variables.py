"""Task sequence variables: case-insensitive names, ConfigMgr's naming and size rules."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping, MutableMapping

# ConfigMgr: letters, digits, underscore, hyphen; 1-256 chars; starts with a letter.
# Names starting with "_" are read-only engine variables (we may read, never write).
_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_-]{0,255}")
MAX_VALUE = 4000


def name_problem(name: str) -> str | None:
    """Why `name` cannot be written as a task sequence variable, or None when it can."""
    if not name:
        return "variable name is empty"
    if name.startswith("_"):
        return f"variable {name!r} starts with '_' and is read-only in a task sequence"
    if len(name) > 256:
        return f"variable name is {len(name)} characters; ConfigMgr allows at most 256"
    if not _NAME.fullmatch(name):
        return f"variable name {name!r} must start with a letter and hold only letters, digits, '_' and '-'"
    return None


def value_problem(name: str, value: str) -> str | None:
    """Why `value` cannot be stored in variable `name`, or None when it can."""
    if len(value) > MAX_VALUE:
        return f"value of {name} is {len(value)} characters; ConfigMgr allows at most {MAX_VALUE}"
    return None


class Variables(MutableMapping[str, str]):
    """A mapping with case-insensitive keys that remembers the spelling first used."""

    __slots__ = ("_data",)

    def __init__(self, initial: Mapping[str, str] | Iterable[tuple[str, str]] = ()) -> None:
        self._data: dict[str, tuple[str, str]] = {}
        items = initial.items() if isinstance(initial, Mapping) else initial
        for key, value in items:
            self[key] = value

    def __getitem__(self, key: str) -> str:
        return self._data[key.casefold()][1]

    def __setitem__(self, key: str, value: str) -> None:
        folded = key.casefold()
        old = self._data.get(folded)
        self._data[folded] = (old[0] if old else key, value)

    def __delitem__(self, key: str) -> None:
        del self._data[key.casefold()]

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and key.casefold() in self._data

    def __iter__(self) -> Iterator[str]:
        return (name for name, _ in self._data.values())

    def __len__(self) -> int:
        return len(self._data)

    def lookup(self, name: str) -> str:
        """The value of `name`, or "" when it is not set (docs/expressions.md: a missing name is empty)."""
        entry = self._data.get(name.casefold())
        return entry[1] if entry else ""

    def spelled(self, name: str) -> tuple[str, str] | None:
        """(name as first spelled, value) for `name` in any case, or None."""
        return self._data.get(name.casefold())

    def as_dict(self) -> dict[str, str]:
        return {name: value for name, value in self._data.values()}

    def __repr__(self) -> str:
        return f"Variables({self.as_dict()!r})"
