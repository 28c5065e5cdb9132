"""The catalog model and the JSON Schema agree: the reference catalog passes both, bad catalogs fail both."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jsonschema  # type: ignore[import-untyped,unused-ignore]
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agent.catalog.model import (
    _check_unique_ids,
    _item_checked,
    age_days,
    catalog_from_dict,
    catalog_from_json,
    parse_time,
    timestamp,
)
from agent.errors import DataError, Problem, ValidationFailed

SCHEMA_FILE = Path(__file__).resolve().parents[3] / "agent" / "catalog" / "catalog.schema.json"


@pytest.fixture(scope="module")
def validator() -> jsonschema.Draft202012Validator:
    schema = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def test_reference_catalog_passes_model_and_schema(spec_dir: Path, validator: jsonschema.Draft202012Validator) -> None:
    raw = json.loads((spec_dir / "catalog.json").read_text(encoding="utf-8"))
    validator.validate(raw)
    catalog = catalog_from_dict(raw)
    assert catalog.serial == 7
    assert [i.id for i in catalog.items("deployments")] == ["win11-lab", "win11-core", "win10-legacy"]
    lab = catalog.items("deployments")[0]
    assert lab.attr("advertisement_id") == "CM120045" and lab.offered_to("kiosk")
    assert not catalog.items("deployments")[1].offered_to("kiosk")
    assert catalog.items("applications")[0].offered_to("kiosk")  # no roles: everyone
    # lookup-only lists need no ids
    assert catalog.items("machines")[1].attr("NAME") == "LAB-0043"


def _item(**attrs: Any) -> dict[str, Any]:
    return {"schema": 1, "lists": {"x": [{"id": "a", **attrs}]}}


BAD: dict[str, Any] = {
    "unknown top key": {"lists": {}, "colour": "red"},
    "schema 2": {"schema": 2, "lists": {}},
    "negative serial": {"serial": -1, "lists": {}},
    "serial as text": {"serial": "7", "lists": {}},
    "no lists": {"schema": 1},
    "lists not a mapping": {"lists": []},
    "list not an array": {"lists": {"x": {"id": "a"}}},
    "item not a mapping": {"lists": {"x": ["a"]}},
    "empty id": {"lists": {"x": [{"id": ""}]}},
    "numeric id": {"lists": {"x": [{"id": 5}]}},
    "roles not a list": _item(roles="technician"),
    "label a list": _item(label=["a"]),
    "label a boolean": _item(label=True),
    "nested free attribute": _item(tags=["a", "b"]),
    "not_after without zone": {"lists": {}, "not_after": "2026-12-01T00:00:00"},
    "generated as a date": {"lists": {}, "generated": "2026-11-20"},
}


@pytest.mark.parametrize("name", sorted(BAD))
def test_model_and_schema_refuse_the_same_bad_catalogs(name: str, validator: jsonschema.Draft202012Validator) -> None:
    doc = BAD[name]
    assert list(validator.iter_errors(doc)), f"schema accepted {name}"
    with pytest.raises(ValidationFailed):
        catalog_from_dict(doc, file="bad.json")


def test_every_problem_is_reported_with_its_path() -> None:
    doc = {"serial": -1, "lists": {"x": [{"id": "a", "roles": "t"}, {"id": "A"}, {"label": "no id but fine"}]}}
    with pytest.raises(ValidationFailed) as caught:
        catalog_from_dict(doc, file="cat.json")
    paths = {p.path for p in caught.value.problems}
    assert paths == {"serial", "lists.x[0].roles", "lists.x[1].id"}
    assert all(p.file == "cat.json" for p in caught.value.problems)


def test_bad_requires_expression_is_a_problem() -> None:
    with pytest.raises(ValidationFailed) as caught:
        catalog_from_dict(_item(requires="Memory >= "), file="c.json")
    assert caught.value.problems[0].path == "lists.x[0].requires"


def test_malformed_json_names_the_line() -> None:
    with pytest.raises(DataError) as caught:
        catalog_from_json(b'{\n "lists": {\n  "x": [,]\n }\n}', file="cat.json")
    assert "cat.json:3" in caught.value.message


def test_expiry() -> None:
    catalog = catalog_from_dict({"lists": {}, "not_after": "2026-12-01T00:00:00+01:00"})
    assert not catalog.expired(datetime(2026, 11, 30, 23, 0, tzinfo=UTC).timestamp())
    assert catalog.expired(datetime(2026, 11, 30, 23, 0, 1, tzinfo=UTC).timestamp())


def test_age_in_days_counts_whole_days_as_timedelta_does() -> None:
    now = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)
    for generated, days in (("2026-11-20T12:00:00Z", 1), ("2026-11-20T12:00:01Z", 0), ("2026-11-22T00:00:00Z", -1)):
        assert age_days(generated, now.timestamp()) == days == (now - parse_time(generated)).days


def test_timestamp_edges() -> None:
    assert timestamp("1970-01-01T00:00:00Z") == 0.0
    assert timestamp("2024-02-29T00:00:00Z") == datetime(2024, 2, 29, tzinfo=UTC).timestamp()
    for bad in ("2023-02-29T00:00:00Z", "2026-11-20T24:00:00Z", "2026-11-20T23:59:60Z", "2026-11-20T08:00:00"):
        with pytest.raises(ValueError):
            timestamp(bad)
    assert timestamp("2026-11-20T08:00Z") == timestamp("2026-11-20T08:00:00Z")  # datetime's other forms still read


def test_round_trip_keeps_free_attributes(spec_dir: Path) -> None:
    raw = json.loads((spec_dir / "catalog.json").read_text(encoding="utf-8"))
    catalog = catalog_from_dict(raw)
    again = catalog_from_json(catalog.to_json())
    assert again == catalog


# Attribute values a catalog item may carry, plus a few it may not, so both tiers meet bad items too.
_values = st.one_of(st.text(max_size=4), st.integers(-3, 3), st.booleans(), st.none(), st.lists(st.text(max_size=2)))
_raw_item = st.one_of(
    st.dictionaries(st.sampled_from(["id", "label", "value", "group", "roles", "requires", "x", ""]), _values),
    st.fixed_dictionaries(
        {"id": st.text(min_size=1, max_size=3)},
        optional={k: st.text(max_size=3) for k in ("label", "value", "group", "x")},
    ),
    st.integers(),
)


_plain_item = _raw_item.filter(lambda r: isinstance(r, dict) and all(type(v) is str for v in r.values()))


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.lists(_raw_item, max_size=12), st.lists(_plain_item, max_size=6)))
def test_bulk_items_match_one_by_one_checking(raw_items: list[Any]) -> None:
    """The bulk fast path builds exactly the items (and problems) the careful path builds, in catalog order."""
    doc = {"lists": {"x": raw_items}}
    try:
        fast = catalog_from_dict(doc).items("x")
        fast_problems: list[str] = []
    except ValidationFailed as exc:
        fast, fast_problems = (), [str(p) for p in exc.problems]
    # From JSON (keys always text, so their check is skipped): the same items and problems.
    try:
        from_json = catalog_from_json(json.dumps(doc).encode()).items("x")
        json_problems: list[str] = []
    except ValidationFailed as exc:
        from_json, json_problems = (), [str(p) for p in exc.problems]
    assert (from_json, json_problems) == (fast, fast_problems)
    careful_problems: list[Problem] = []
    careful = [
        item
        for index, raw in enumerate(raw_items)
        if (item := _item_checked(raw, f"lists.x[{index}]", careful_problems, "catalog")) is not None
    ]
    _check_unique_ids("x", raw_items, careful, careful_problems, "catalog")
    assert fast_problems == [str(p) for p in careful_problems]
    if not careful_problems:
        assert [(i.id, i.label, i.value, i.roles, i.group, i.requires, dict(i.attrs)) for i in fast] == [
            (i.id, i.label, i.value, i.roles, i.group, i.requires, dict(i.attrs)) for i in careful
        ]
