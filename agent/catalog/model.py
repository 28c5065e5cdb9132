"""Catalog model: named lists of items (id, label, value, roles, group, requires, free attributes)."""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any, NamedTuple

from agent.catalog.schema import CATALOG, CATALOG_SCHEMA
from agent.errors import DataError, Problem, ValidationFailed
from agent.schemakit import MISSING, hides


def _text(value: Any) -> str:
    """Attribute values as task sequence text: booleans the Windows way, None as empty."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "True" if value else "False"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def parse_time(text: str) -> datetime:
    """An ISO 8601 date-time with a zone (`2026-11-20T08:00:00Z`) as an aware UTC datetime; ValueError otherwise."""
    if not isinstance(text, str) or "T" not in text:
        raise ValueError("expected an ISO 8601 date-time such as 2026-11-20T08:00:00Z")
    parsed = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    if parsed.tzinfo is None:
        # A time without a zone means different instants on different machines: refuse it.
        raise ValueError("the date-time needs a zone, e.g. a trailing Z for UTC")
    try:
        return parsed.astimezone(UTC)
    except OverflowError:  # 0001-01-01T00:00:00+01:00 is before year 1 in UTC
        raise ValueError("the date-time is out of range (years 1 to 9999 in UTC)") from None


def timestamp(text: str) -> float:
    """parse_time(text).timestamp(): seconds since the epoch; ValueError for what parse_time refuses."""
    return parse_time(text).timestamp()


def age_days(text: str, now: float | None = None) -> int:
    """Whole days from the date-time `text` to `now` (default: this moment), as timedelta.days counts them."""
    return int(((time.time() if now is None else now) - timestamp(text)) // 86400)


class Item(NamedTuple):
    """One choice. `attrs` holds every attribute as given, so `{item.anything}` works.

    Items of lookup-only lists (such as `machines`) may have no id; their `id` is then "".
    A NamedTuple: a catalog may hold tens of thousands of items, all built when it loads.
    """

    id: str
    label: str
    value: str
    roles: tuple[str, ...] | None = None
    group: str = ""
    requires: str = ""
    attrs: Mapping[str, Any] = MappingProxyType({})

    def attr(self, name: str) -> str:
        """An attribute as text; unknown attributes are empty. Names are case-insensitive."""
        attrs = self.attrs
        if name in attrs:
            value = attrs[name]
            return value if type(value) is str else _text(value)
        folded = name.casefold()
        for key, value in attrs.items():
            if key.casefold() == folded:
                return _text(value)
        return ""

    def offered_to(self, role: str) -> bool:
        """Items without roles are for everyone; others only for the roles they name."""
        return self.roles is None or role.casefold() in {r.casefold() for r in self.roles}


class Catalog(NamedTuple):
    """A whole catalog: metadata and lists by name."""

    schema: int = CATALOG_SCHEMA
    serial: int = 0
    generated: str = ""
    source: str = ""
    not_after: str | None = None
    lists: Mapping[str, tuple[Item, ...]] = MappingProxyType({})

    def items(self, name: str) -> tuple[Item, ...]:
        return self.lists.get(name, ())

    def expires(self) -> float | None:
        """`not_after` in seconds since the epoch (validated when the catalog was built), or None."""
        return None if not self.not_after else timestamp(self.not_after)

    def expired(self, now: float) -> bool:
        """Whether the catalog has expired at `now`, in seconds since the epoch (time.time())."""
        expires = self.expires()
        return expires is not None and now > expires

    def generated_day(self) -> str:
        """The day the catalog was generated (`2026-11-20`), for messages such as "offline snapshot from ..."."""
        return self.generated[:10] if self.generated else "an unknown date"

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "schema": self.schema,
            "serial": self.serial,
            "generated": self.generated,
            "source": self.source,
        }
        if self.not_after is not None:
            data["not_after"] = self.not_after
        data["lists"] = {name: [dict(item.attrs) for item in items] for name, items in self.lists.items()}
        return data

    def to_json(self) -> bytes:
        """The catalog as UTF-8 JSON bytes (the exact bytes a signature covers)."""
        return (json.dumps(self.to_dict(), ensure_ascii=False, indent=2) + "\n").encode("utf-8")


def _item(raw: Mapping[str, Any]) -> Item:
    """An item from its attributes, which the schema has checked. Positional, and text kept as it is
    without a call: a catalog of 10,000 items is built at every start."""
    ident = raw.get("id", "")
    label = raw.get("label", ident)
    value = raw.get("value", ident)
    group = raw.get("group", "")
    requires = raw.get("requires", "")
    roles = raw.get("roles")
    return Item(
        ident,
        label if type(label) is str else _text(label),
        value if type(value) is str else _text(value),
        None if roles is None else tuple(roles),
        group if type(group) is str else _text(group),
        requires if type(requires) is str else _text(requires),
        raw,
    )


def _check_unique_ids(name: str, items: list[Item], problems: list[Problem], file: str) -> None:
    """Report ids used twice in a list (case-insensitively)."""
    ids = [item.id.casefold() for item in items if item.id]
    if len(set(ids)) == len(ids):
        return  # the usual case, told by one set; the loop below only runs to name the duplicates
    seen: set[str] = set()
    for index, item in enumerate(items):
        if not item.id:
            continue  # lookup-only lists (machines) may leave ids out
        folded = item.id.casefold()
        if folded in seen:
            problems.append(Problem(f"lists.{name}[{index}].id", f"duplicate id {item.id!r}", file=file))
        seen.add(folded)


def _check_requires(name: str, items: list[Item], problems: list[Problem], file: str) -> None:
    """Report `requires` expressions that do not parse (the agent evaluates them for every item shown)."""
    with_requires = [(index, item.requires) for index, item in enumerate(items) if item.requires]
    if not with_requires:
        return
    from agent.expr import ExprError, parse

    for index, text in with_requires:
        try:
            parse(text)
        except ExprError as exc:
            problems.append(Problem(f"lists.{name}[{index}].requires", str(exc), file=file))


def _check_time(data: Mapping[str, Any], key: str, problems: list[Problem], file: str) -> None:
    """A date-time the schema's pattern let through may still be no date (month 13, February 30th)."""
    value = data.get(key)
    if value:
        try:
            timestamp(value)
        except ValueError as exc:
            problems.append(Problem(key, f"{value!r} is not a date-time: {exc}", file=file))


def catalog_from_dict(data: Any, *, file: str = "catalog") -> Catalog:
    """Build a Catalog, collecting every problem as (path, message) before failing.

    The structure is checked by the catalog's schema (agent/catalog/schema.py, the same description
    that prints schemas/catalog.schema.json); what a schema cannot say (duplicate ids, `requires`
    syntax, real dates) is checked here.
    """
    problems: list[Problem] = []
    CATALOG.check(data, "", lambda path, message, hint: problems.append(Problem(path, message, file=file, hint=hint)))
    if problems:
        # Every problem in one pass: the meaning checks also run, on what is left without the wrong parts,
        # except where they would only repeat a structural problem.
        data = CATALOG.clean(data)
        if data is MISSING:
            raise ValidationFailed(problems, f"catalog {file}")
    structural = [p.path for p in problems]
    meaning: list[Problem] = []
    for key in ("generated", "not_after"):
        _check_time(data, key, meaning, file)
    lists: dict[str, tuple[Item, ...]] = {}
    for name, raw_items in data["lists"].items():
        items = [_item(raw) for raw in raw_items]
        _check_unique_ids(name, items, meaning, file)
        _check_requires(name, items, meaning, file)
        lists[name] = tuple(items)
    problems += [p for p in meaning if not any(hides(path, p.path) for path in structural)]
    if problems:
        raise ValidationFailed(problems, f"catalog {file}")
    return Catalog(
        schema=CATALOG_SCHEMA,
        serial=data.get("serial", 0),
        generated=data.get("generated", ""),
        source=data.get("source", ""),
        not_after=data.get("not_after"),
        lists=lists,
    )


def catalog_from_json(data: bytes, *, file: str = "catalog") -> Catalog:
    """Parse catalog JSON bytes; malformed JSON is a DataError naming the line, a bad shape ValidationFailed."""
    return catalog_from_dict(parse_json(data, file=file), file=file)


def parse_json(data: bytes, *, file: str = "catalog") -> Any:
    """Catalog JSON bytes as Python data; malformed JSON is a DataError naming the line and column."""
    from agent import safejson

    try:
        return safejson.loads(data.decode("utf-8-sig"))
    except safejson.JsonProblem as exc:
        raise DataError(f"{file}: the catalog {exc}", "fix the catalog at its source, or fetch it again") from None
    except UnicodeDecodeError as exc:
        raise DataError(f"{file}: the catalog is not UTF-8 text ({exc.reason})", "save the catalog as UTF-8") from None
    except json.JSONDecodeError as exc:
        raise DataError(
            f"{file}:{exc.lineno}: the catalog is not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})",
            "fix the JSON, or fetch the catalog again",
        ) from None
