"""A small structural schema: one description both validates data and prints a JSON Schema."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from agent.yamlio import join

Report = Callable[[str, str, str], None]  # (path, message, hint)


class _Missing:
    """What `Node.clean` returns for a value that is wrong as a whole: the key is dropped."""

    def __repr__(self) -> str:
        return "MISSING"


MISSING: Any = _Missing()


class Node:
    """Base of schema nodes. Plain classes, not dataclasses: the agent validates catalogs with them at every
    start, and `dataclasses` would bring `inspect` (and `ast`, `dis`, `tokenize`) along."""

    description: str = ""

    def __repr__(self) -> str:
        fields = ", ".join(f"{k}={v!r}" for k, v in vars(self).items() if v not in ("", (), None, False, 0))
        return f"{type(self).__name__}({fields})"

    def check(self, value: Any, path: str, report: Report) -> None:
        raise NotImplementedError

    def json(self) -> dict[str, Any]:
        raise NotImplementedError

    def valid(self, value: Any) -> bool:
        """Whether `check` would report nothing; nodes answer it without building paths, so the common case
        (a catalog of 10,000 good items, checked at every start) costs a quick pass and no messages."""
        found: list[str] = []
        self.check(value, "", lambda p, m, h: found.append(p))
        return not found

    def clean(self, value: Any) -> Any:
        """`value` with every part `check` would report removed (MISSING when the value itself is wrong).

        The meaning checks run on what is left, so a wrong type or an unknown key does not hide an
        expression, template or duplicate id problem elsewhere in the same file.
        """
        found: list[str] = []
        self.check(value, "", lambda p, m, h: found.append(p))
        return MISSING if found else value

    def placeholder(self) -> Any:
        """A value that passes `check`, standing in for a required one that is missing or wrong."""
        return None

    def _with_doc(self, schema: dict[str, Any]) -> dict[str, Any]:
        if self.description:
            schema["description"] = self.description
        return schema


def _type_name(value: Any) -> str:
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "a number"
    if isinstance(value, float):
        return "a number"
    if isinstance(value, str):
        return "text"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return type(value).__name__


class Str(Node):
    def __init__(
        self,
        *,
        description: str = "",
        enum: tuple[str, ...] = (),
        min_length: int = 0,
        scalar_ok: bool = False,
        numbers_ok: bool = False,
        pattern: str = "",
        pattern_says: str = "",
        example: str = "",
    ) -> None:
        self.description = description
        self.enum = enum
        self.min_length = min_length
        self.scalar_ok = scalar_ok  # numbers and booleans are accepted and read as text (YAML's `0`)
        self.numbers_ok = numbers_ok  # numbers are accepted as text, booleans are not (a catalog's label: 7)
        self.pattern = pattern  # a regular expression the whole text must match
        self._regex = re.compile(pattern) if pattern else None
        self._any_text = not enum and not min_length and not pattern  # every text passes
        self.pattern_says = pattern_says  # the rule the pattern holds, in words ("1-64 letters, ...")
        self.example = example  # a value that passes, for the hint

    def check(self, value: Any, path: str, report: Report) -> None:
        if isinstance(value, str) or (
            (self.scalar_ok or (self.numbers_ok and not isinstance(value, bool))) and isinstance(value, (int, float))
        ):
            text = value if isinstance(value, str) else str(value)
            if self.enum and text not in self.enum:
                report(path, f"{text!r} is not one of {', '.join(self.enum)}", f"use one of: {', '.join(self.enum)}")
            elif len(text) < self.min_length:
                report(path, "must not be empty", "")
            elif self._regex is not None and not self._regex.fullmatch(text):
                report(path, f"{text!r}: {self.pattern_says or 'does not match ' + self.pattern}",
                       f"e.g. {self.example!r}" if self.example else "")
            return
        report(path, f"expected text{' or a number' if self.numbers_ok else ''}, found {_type_name(value)}",
               "quote the value")

    def valid(self, value: Any) -> bool:
        if type(value) is str and self._any_text:
            return True
        if not isinstance(value, str):
            if not isinstance(value, (int, float)) or not (
                self.scalar_ok or (self.numbers_ok and not isinstance(value, bool))
            ):
                return False
            value = str(value)
        if self.enum and value not in self.enum:
            return False
        return len(value) >= self.min_length and (self._regex is None or self._regex.fullmatch(value) is not None)

    def placeholder(self) -> Any:
        return self.enum[0] if self.enum else self.example or "_" * self.min_length

    def json(self) -> dict[str, Any]:
        kind: Any = "string"
        if self.scalar_ok:
            kind = ["string", "number", "boolean"]
        elif self.numbers_ok:
            kind = ["string", "number"]
        schema: dict[str, Any] = {"type": kind}
        if self.enum:
            schema = {"enum": list(self.enum)}
        if self.min_length:
            schema["minLength"] = self.min_length
        if self.pattern:
            schema["pattern"] = self.pattern
        return self._with_doc(schema)


class Int(Node):
    def __init__(self, *, description: str = "", minimum: int | None = None, maximum: int | None = None) -> None:
        self.description = description
        self.minimum = minimum
        self.maximum = maximum

    def check(self, value: Any, path: str, report: Report) -> None:
        if not isinstance(value, int) or isinstance(value, bool):
            report(path, f"expected a whole number, found {_type_name(value)}", "")
            return
        if self.minimum is not None and value < self.minimum:
            report(path, f"must be at least {self.minimum}", "")
        if self.maximum is not None and value > self.maximum:
            report(path, f"must be at most {self.maximum}", "")

    def placeholder(self) -> Any:
        return self.minimum if self.minimum is not None else 0

    def json(self) -> dict[str, Any]:
        schema: dict[str, Any] = {"type": "integer"}
        if self.minimum is not None:
            schema["minimum"] = self.minimum
        if self.maximum is not None:
            schema["maximum"] = self.maximum
        return self._with_doc(schema)


class Num(Node):
    def __init__(self, *, description: str = "", minimum: float | None = None) -> None:
        self.description = description
        self.minimum = minimum

    def check(self, value: Any, path: str, report: Report) -> None:
        if not isinstance(value, (int, float)) or isinstance(value, bool):
            report(path, f"expected a number, found {_type_name(value)}", "")
        elif self.minimum is not None and value < self.minimum:
            report(path, f"must be at least {self.minimum:g}", "")

    def placeholder(self) -> Any:
        return self.minimum if self.minimum is not None else 0

    def json(self) -> dict[str, Any]:
        schema: dict[str, Any] = {"type": "number"}
        if self.minimum is not None:
            schema["minimum"] = self.minimum
        return self._with_doc(schema)


class Bool(Node):
    def __init__(self, *, description: str = "") -> None:
        self.description = description

    def check(self, value: Any, path: str, report: Report) -> None:
        if not isinstance(value, bool):
            report(path, f"expected true or false, found {_type_name(value)}", "write true or false without quotes")

    def placeholder(self) -> Any:
        return False

    def json(self) -> dict[str, Any]:
        return self._with_doc({"type": "boolean"})


class Scalar(Node):
    """Text, a number, true/false or null: what a free attribute may hold."""

    def __init__(self, *, description: str = "") -> None:
        self.description = description

    def check(self, value: Any, path: str, report: Report) -> None:
        if not self.valid(value):
            report(path, f"expected text, a number, true/false or null, found {_type_name(value)}", "")

    def valid(self, value: Any) -> bool:
        return value is None or isinstance(value, (str, int, float))  # bool is an int

    def json(self) -> dict[str, Any]:
        return self._with_doc({"type": ["string", "number", "boolean", "null"]})


class Anything(Node):
    def __init__(self, *, description: str = "") -> None:
        self.description = description

    def check(self, value: Any, path: str, report: Report) -> None:
        return

    def valid(self, value: Any) -> bool:
        return True

    def clean(self, value: Any) -> Any:
        return value

    def json(self) -> dict[str, Any]:
        return self._with_doc({})


class List(Node):
    def __init__(self, item: Node, *, description: str = "", min_items: int = 0) -> None:
        self.item = item
        self.description = description
        self.min_items = min_items

    def check(self, value: Any, path: str, report: Report) -> None:
        if not isinstance(value, list):
            report(path, f"expected a list, found {_type_name(value)}", "start each entry with '- '")
            return
        if len(value) < self.min_items:
            report(path, f"needs at least {self.min_items} entr{'y' if self.min_items == 1 else 'ies'}", "")
        if all(map(self.item.valid, value)):
            return
        for index, entry in enumerate(value):
            self.item.check(entry, join(path, index), report)

    def valid(self, value: Any) -> bool:
        return isinstance(value, list) and len(value) >= self.min_items and all(map(self.item.valid, value))

    def clean(self, value: Any) -> Any:
        if not isinstance(value, list) or len(value) < self.min_items:
            return MISSING
        # A wrong entry becomes a placeholder rather than going: the entries after it keep their index,
        # so the meaning checks name the same paths (and lines) as the structural check.
        cleaned = [self.item.clean(entry) for entry in value]
        return [self.item.placeholder() if entry is MISSING else entry for entry in cleaned]

    def placeholder(self) -> Any:
        return [self.item.placeholder() for _ in range(self.min_items)]

    def json(self) -> dict[str, Any]:
        schema: dict[str, Any] = {"type": "array", "items": self.item.json()}
        if self.min_items:
            schema["minItems"] = self.min_items
        return self._with_doc(schema)


class MapOf(Node):
    """A mapping with free keys (variable names, list names) and one kind of value."""

    def __init__(
        self, value: Node, *, description: str = "", key_pattern: str = "", key_says: str = "", check_keys: bool = False
    ) -> None:
        self.value = value
        self.description = description
        # Searched, not fully matched, as JSON Schema's propertyNames pattern is: anchor it with ^...$.
        self.key_pattern = key_pattern
        self.key_says = key_says  # the rule in words, for the problem
        # Whether check() holds keys to the pattern; the profile checks its variable names itself, later,
        # with messages about task sequence variables, so for it the pattern only goes into the JSON Schema.
        self.check_keys = check_keys

    def check(self, value: Any, path: str, report: Report) -> None:
        if not isinstance(value, dict):
            report(path, f"expected a mapping, found {_type_name(value)}", "write `key: value` lines")
            return
        for key, entry in value.items():
            if not self._key_ok(key):
                report(join(path, str(key)), f"{key!r}: {self.key_says or 'does not match ' + self.key_pattern}", "")
                continue
            if not self.value.valid(entry):
                self.value.check(entry, join(path, str(key)), report)

    def _key_ok(self, key: Any) -> bool:
        return not self.check_keys or (isinstance(key, str) and re.search(self.key_pattern, key) is not None)

    def valid(self, value: Any) -> bool:
        return isinstance(value, dict) and all(self._key_ok(k) and self.value.valid(v) for k, v in value.items())

    def clean(self, value: Any) -> Any:
        if not isinstance(value, dict):
            return MISSING
        cleaned = {
            key: self.value.clean(entry)
            for key, entry in value.items()
            if self._key_ok(key)
        }
        return {key: entry for key, entry in cleaned.items() if entry is not MISSING}

    def placeholder(self) -> Any:
        return {}

    def json(self) -> dict[str, Any]:
        schema: dict[str, Any] = {"type": "object", "additionalProperties": self.value.json()}
        if self.key_pattern:
            schema["propertyNames"] = {"pattern": self.key_pattern}
        return self._with_doc(schema)


class Obj(Node):
    """A mapping with known keys; unknown keys are problems (typos must not pass silently), unless `extra`
    says what any other key holds (a catalog item's free attributes); such keys must be non-empty text."""

    def __init__(
        self, props: Mapping[str, Node], *, required: Sequence[str] = (), description: str = "",
        extra: Node | None = None,
    ) -> None:  # fmt: skip
        self.props = props
        self.required = required
        self.description = description
        self.extra = extra
        # Keys whose node takes any text: valid() passes their text values without a call (a catalog's
        # label, value and group, 30,000 of them in a 10,000-item catalog).
        self._any_text = frozenset(k for k, n in props.items() if isinstance(n, Str) and n._any_text)

    def check(self, value: Any, path: str, report: Report) -> None:
        if not isinstance(value, dict):
            report(path, f"expected a mapping, found {_type_name(value)}", "")
            return
        for key in self.required:
            if key not in value:
                # At the key's own path (its line is the mapping's): the problem is that one key.
                report(join(path, key), f"missing required key {key!r}", f"add `{key}:`")
        for key, entry in value.items():
            node = self.props.get(key) if isinstance(key, str) else None
            if node is None and self.extra is not None:
                if not isinstance(key, str) or not key:
                    report(path, f"attribute name {key!r} must be non-empty text", "")
                    continue
                node = self.extra
            if node is None:
                close = _closest(str(key), self.props)
                hint = f"did you mean {close!r}?" if close else f"known keys: {', '.join(self.props)}"
                report(join(path, str(key)), f"unknown key {key!r}", hint)
                continue
            node.check(entry, join(path, key), report)

    def valid(self, value: Any) -> bool:
        if not isinstance(value, dict):
            return False
        for key in self.required:
            if key not in value:
                return False
        props, extra, any_text = self.props, self.extra, self._any_text
        for key, entry in value.items():
            if type(entry) is str and key in any_text:
                continue
            node = props.get(key)
            if node is None:
                if extra is None or not isinstance(key, str) or not key:
                    return False
                node = extra
            if not node.valid(entry):
                return False
        return True

    def clean(self, value: Any) -> Any:
        if not isinstance(value, dict):
            return MISSING
        cleaned: dict[str, Any] = {}
        for key, entry in value.items():
            node = self.props.get(key) if isinstance(key, str) else None
            if node is None and self.extra is not None and isinstance(key, str) and key:
                node = self.extra
            if node is not None:
                kept = node.clean(entry)
                if kept is not MISSING:
                    cleaned[key] = kept
        for key in self.required:
            if key not in cleaned:
                cleaned[key] = self.props[key].placeholder()
        return cleaned

    def placeholder(self) -> Any:
        return {key: self.props[key].placeholder() for key in self.required}

    def json(self) -> dict[str, Any]:
        schema: dict[str, Any] = {
            "type": "object",
            "properties": {k: v.json() for k, v in self.props.items()},
            "additionalProperties": False if self.extra is None else self.extra.json(),
        }
        if self.extra is not None:
            schema["propertyNames"] = {"minLength": 1}
        if self.required:
            schema["required"] = list(self.required)
        return self._with_doc(schema)


class OneOf(Node):
    """Alternatives told apart by their Python type (e.g. a preset name or a mapping)."""

    def __init__(self, options: Sequence[Node], *, description: str = "", names: Sequence[str] = ()) -> None:
        self.options = options
        self.description = description
        self.names = names

    def check(self, value: Any, path: str, report: Report) -> None:
        best: list[tuple[str, str, str]] | None = None
        for option in self.options:
            found: list[tuple[str, str, str]] = []
            option.check(value, path, lambda p, m, h, found=found: found.append((p, m, h)))  # type: ignore[misc]
            if not found:
                return
            if best is None or len(found) < len(best):
                best = found
        for p, m, h in best or []:
            report(p, m, h)

    def clean(self, value: Any) -> Any:
        for option in self.options:
            found: list[str] = []
            option.check(value, "", lambda p, m, h, found=found: found.append(p))  # type: ignore[misc]
            if not found:
                return value
        return MISSING

    def placeholder(self) -> Any:
        return self.options[0].placeholder()

    def json(self) -> dict[str, Any]:
        return self._with_doc({"anyOf": [o.json() for o in self.options]})


def hides(structural: str, path: str) -> bool:
    """True when a meaning problem at `path` may only repeat the structural problem at `structural`.

    That is a problem inside the wrong part (it was checked on a placeholder), or on the mapping that
    holds it (`pages[1]` "needs fields" when `pages[1].fields` had the wrong type).
    """
    if not structural:
        return True
    if path == structural or path.startswith((structural + ".", structural + "[")):
        return True
    parent, _, _ = structural.rpartition(".")
    return path == parent


def _closest(word: str, choices: Mapping[str, Any]) -> str | None:
    import difflib

    found = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.75)
    return found[0] if found else None


def json_schema(root: Node, *, title: str, schema_id: str) -> dict[str, Any]:
    """A JSON Schema (2020-12) document for editors."""
    doc = {"$schema": "https://json-schema.org/draft/2020-12/schema", "$id": schema_id, "title": title}
    doc.update(root.json())
    return doc
