"""Catalog model: named lists of items (id, label, value, roles, group, requires, free attributes)."""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from itertools import chain, compress
from operator import itemgetter
from types import MappingProxyType
from typing import Any, NamedTuple

from agent.errors import DataError, Problem, ValidationFailed

CATALOG_SCHEMA = 1
_KNOWN_TOP = {"schema", "serial", "generated", "source", "not_after", "lists"}
# Keys whose values the agent interprets; every other key of an item is a free attribute.
_TEXT_KEYS = ("label", "value", "group", "requires")
# Lists and objects cannot become task sequence text, so free attributes are scalars only.
_SCALARS = (str, int, float, bool, type(None))


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


def _build_items(
    name: str, raw_items: list[Any], problems: list[Problem], file: str, *, text_keys: bool = False
) -> list[Item]:
    """Items of one list, in order. Written for speed: a 10,000-item catalog is loaded at every boot.

    Three tiers: items without `roles` or `requires` are checked in bulk at C speed
    (`set(map(type, ...))`); if that finds anything unusual, each goes through `_fast_item`; whatever
    that cannot take (and every item with roles or requires) goes through `_item_checked`, which
    reports problems.
    """
    if set(map(type, raw_items)) == _ONLY_DICT:
        plain = list(map(_CAREFUL_KEYS.isdisjoint, raw_items))
    else:
        plain = [type(raw) is dict and _CAREFUL_KEYS.isdisjoint(raw) for raw in raw_items]
    bulk = _plain_items(list(compress(raw_items, plain)), text_keys=text_keys)
    if bulk is None:
        checked = (
            (_fast_item(raw) if is_plain else None) or _item_checked(raw, f"lists.{name}[{index}]", problems, file)
            for index, (raw, is_plain) in enumerate(zip(raw_items, plain, strict=True))
        )
        return [item for item in checked if item is not None]
    if len(bulk) == len(raw_items):
        return bulk
    # Splice the few careful items between runs of bulk-built ones, keeping catalog order.
    items: list[Item] = []
    taken = 0  # bulk items already copied
    previous = 0  # raw index after the last careful item
    for index in [i for i, is_plain in enumerate(plain) if not is_plain]:
        run = index - previous
        items += bulk[taken : taken + run]
        taken += run
        previous = index + 1
        item = _item_checked(raw_items[index], f"lists.{name}[{index}]", problems, file)
        if item is not None:
            items.append(item)
    items += bulk[taken:]
    return items


def _plain_items(raw_items: list[dict[str, Any]], *, text_keys: bool = False) -> list[Item] | None:
    """Plain items (text attributes, a non-blank id), checked together; None when any is not plain.

    `text_keys`: the items come from JSON, whose keys are always text, so only the values are checked.
    """
    if not text_keys and set(map(type, chain.from_iterable(raw_items))) - _ONLY_TEXT:
        return None
    if set(map(type, chain.from_iterable(map(dict.values, raw_items)))) - _ONLY_TEXT:
        return None
    ids = [raw.get("id", "") for raw in raw_items]
    if not all(map(str.strip, ids)):
        return None  # an item without an id, or with a blank one
    return [
        _new_item(Item, (ident, raw.get("label", ident), raw.get("value", ident), None, raw.get("group", ""), "", raw))
        for raw, ident in zip(raw_items, ids, strict=True)
    ]


def _fast_item(raw: dict[str, Any]) -> Item | None:
    """One item without roles or requires whose attributes may be numbers or booleans; None = check carefully."""
    for key, value in raw.items():
        kind = type(value)
        if type(key) is not str or (kind is not str and (key in _TEXT_KEYS or kind not in _FREE_KINDS)):
            return None
    ident = raw.get("id", "")
    if type(ident) is not str or ("id" in raw and not ident.strip()):
        return None
    label = raw.get("label", ident)
    value = raw.get("value", ident)
    group = raw.get("group", "")
    return _new_item(Item, (ident, _text(label), _text(value), None, _text(group), "", raw))


_ONLY_TEXT = {str}
_ONLY_DICT = {dict}
_FREE_KINDS = (int, float, bool, type(None))  # besides text, what a free attribute may be
# Keys that need the careful path: role lists, `requires` expressions, and an empty attribute name.
_CAREFUL_KEYS = frozenset({"roles", "requires", ""})
_ITEM_ID = itemgetter(0)  # Item.id, without the property lookup
_new_item = tuple.__new__  # positional construction without NamedTuple's keyword handling


def _item_checked(raw: Any, path: str, problems: list[Problem], file: str) -> Item | None:
    if not isinstance(raw, Mapping):
        problems.append(Problem(path, "an item must be a mapping", file=file))
        return None
    ident = raw.get("id", "")
    if not isinstance(ident, str) or ("id" in raw and not ident.strip()):
        problems.append(Problem(f"{path}.id", "an id must be non-empty text", file=file))
        return None
    roles_raw = raw.get("roles")
    roles: tuple[str, ...] | None = None
    if roles_raw is not None:
        if not isinstance(roles_raw, list) or not all(isinstance(r, str) and r for r in roles_raw):
            problems.append(Problem(f"{path}.roles", "roles must be a list of role names", file=file))
        else:
            roles = tuple(roles_raw)
    for key, value in raw.items():
        if not isinstance(key, str) or not key:
            problems.append(Problem(f"{path}", f"attribute name {key!r} must be non-empty text", file=file))
        elif key in _TEXT_KEYS and (not isinstance(value, (str, int, float)) or isinstance(value, bool)):
            problems.append(Problem(f"{path}.{key}", f"{key} must be text", file=file))
        elif key not in ("roles", "id") and not isinstance(value, _SCALARS):
            problems.append(
                Problem(f"{path}.{key}", "an attribute must be text, a number, true/false or null", file=file)
            )
    requires = _text(raw.get("requires")) if isinstance(raw.get("requires"), (str, int, float)) else ""
    if requires:
        from agent.expr import ExprError, parse

        try:
            parse(requires)
        except ExprError as exc:
            problems.append(Problem(f"{path}.requires", str(exc), file=file))
    label = raw.get("label", ident)
    value = raw.get("value", ident)
    return Item(
        id=ident,
        label=_text(label) if isinstance(label, _SCALARS) else "",
        value=_text(value) if isinstance(value, _SCALARS) else "",
        roles=roles,
        group=_text(raw.get("group")) if isinstance(raw.get("group"), _SCALARS) else "",
        requires=requires,
        attrs=dict(raw),
    )


def _check_unique_ids(name: str, raw_items: list[Any], items: list[Item], problems: list[Problem], file: str) -> None:
    """Report ids used twice (case-insensitively); the set comparison keeps the clean case in C."""
    ids = list(filter(None, map(_ITEM_ID, items)))
    if len(set(map(str.casefold, ids))) == len(ids):
        return
    seen: set[str] = set()
    for index, raw in enumerate(raw_items):
        ident = raw.get("id") if isinstance(raw, Mapping) else None
        if not isinstance(ident, str) or not ident.strip():
            continue
        if ident.casefold() in seen:
            problems.append(Problem(f"lists.{name}[{index}].id", f"duplicate id {ident!r}", file=file))
        seen.add(ident.casefold())


def _time_field(data: Mapping[str, Any], key: str, problems: list[Problem], file: str) -> str | None:
    value = data.get(key)
    if value is None:
        return None
    try:
        timestamp(value)
    except (ValueError, TypeError) as exc:
        problems.append(Problem(key, f"{value!r} is not a date-time: {exc}", file=file))
        return None
    return str(value)


def catalog_from_dict(data: Any, *, file: str = "catalog", from_json: bool = False) -> Catalog:
    """Build a Catalog, collecting every problem as (path, message) before failing.

    `from_json`: `data` came from json.loads (every key is text), which spares a check of 10,000 items.
    """
    problems: list[Problem] = []
    if not isinstance(data, Mapping):
        raise ValidationFailed([Problem("", "a catalog must be a JSON object", file=file)], f"catalog {file}")
    for key in data:
        if key not in _KNOWN_TOP:
            problems.append(
                Problem(str(key), "unknown key", file=file, hint=f"known keys: {', '.join(sorted(_KNOWN_TOP))}")
            )
    schema = data.get("schema", CATALOG_SCHEMA)
    if schema != CATALOG_SCHEMA or isinstance(schema, bool):
        problems.append(
            Problem("schema", f"schema {schema!r} is not supported; this agent reads {CATALOG_SCHEMA}", file=file)
        )
    serial = data.get("serial", 0)
    if not isinstance(serial, int) or isinstance(serial, bool) or serial < 0:
        problems.append(Problem("serial", "serial must be a whole number of 0 or more", file=file))
        serial = 0
    for key in ("generated", "source"):
        if key in data and not isinstance(data[key], str):
            problems.append(Problem(key, f"{key} must be text", file=file))
    generated = _time_field(data, "generated", problems, file) if data.get("generated") else ""
    not_after = _time_field(data, "not_after", problems, file)
    if "lists" not in data:
        problems.append(Problem("lists", "a catalog needs `lists`: a mapping of list name to items", file=file))
    lists_raw = data.get("lists", {})
    lists: dict[str, tuple[Item, ...]] = {}
    if not isinstance(lists_raw, Mapping):
        problems.append(Problem("lists", "lists must be a mapping of list name to items", file=file))
        lists_raw = {}
    for name, raw_items in lists_raw.items():
        if not isinstance(name, str) or not name:
            problems.append(Problem("lists", f"list name {name!r} must be non-empty text", file=file))
            continue
        if not isinstance(raw_items, list):
            problems.append(Problem(f"lists.{name}", "a list must be a JSON array of items", file=file))
            continue
        items = _build_items(name, raw_items, problems, file, text_keys=from_json)
        _check_unique_ids(name, raw_items, items, problems, file)
        lists[name] = tuple(items)
    if problems:
        raise ValidationFailed(problems, f"catalog {file}")
    return Catalog(
        schema=CATALOG_SCHEMA,
        serial=serial,
        generated=generated or "",
        source=_text(data.get("source")),
        not_after=not_after,
        lists=lists,
    )


def catalog_from_json(data: bytes, *, file: str = "catalog") -> Catalog:
    """Parse catalog JSON bytes; malformed JSON is a DataError naming the line, a bad shape ValidationFailed."""
    return catalog_from_dict(parse_json(data, file=file), file=file, from_json=True)


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
