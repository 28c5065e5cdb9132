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
    age_days,
    catalog_from_dict,
    catalog_from_json,
    parse_time,
    timestamp,
)
from agent.catalog.schema import catalog_json_schema
from agent.errors import DataError, ValidationFailed

SCHEMA_FILE = Path(__file__).resolve().parents[3] / "schemas" / "catalog.schema.json"


@pytest.fixture(scope="module")
def validator() -> jsonschema.Draft202012Validator:
    schema = catalog_json_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def test_the_schema_file_for_editors_is_the_one_the_agent_validates_with() -> None:
    assert json.loads(SCHEMA_FILE.read_text(encoding="utf-8")) == catalog_json_schema()


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


# Attribute values a catalog item may carry, plus a few it may not, and top-level values good and bad.
_values = st.one_of(
    st.text(max_size=4), st.integers(-3, 3), st.floats(allow_nan=False, allow_infinity=False), st.booleans(),
    st.none(), st.lists(st.text(max_size=2), max_size=2),
)
_raw_item = st.one_of(
    st.dictionaries(st.sampled_from(["id", "label", "value", "group", "roles", "requires", "x", ""]), _values),
    st.fixed_dictionaries(
        {"id": st.text(min_size=1, max_size=3)},
        optional={k: st.text(max_size=3) for k in ("label", "value", "group", "x")}
        | {"roles": st.lists(st.text(max_size=2), max_size=2)},
    ),
    st.integers(),
)
_top = st.fixed_dictionaries(
    {"lists": st.dictionaries(st.text(max_size=2), st.lists(_raw_item, max_size=6), max_size=2)},
    optional={
        "schema": st.sampled_from([1, 2, "1"]),
        "serial": st.one_of(st.integers(-2, 9), st.text(max_size=1)),
        "generated": st.sampled_from(["", "2026-11-20T08:00:00Z", "2026-11-20", "2026-11-20T08:00"]),
        "source": st.one_of(st.text(max_size=3), st.integers()),
        "not_after": st.sampled_from(["2026-12-01T00:00:00+01:00", "tomorrow"]),
    },
)  # fmt: skip


@settings(max_examples=400, deadline=None)
@given(_top)
def test_the_agent_and_the_json_schema_agree_on_every_catalog(doc: dict[str, Any]) -> None:
    """One description: whatever the JSON Schema accepts, the agent's structural check accepts, and back.

    (The agent refuses more only for what a schema cannot say: duplicate ids and `requires` syntax,
    which these generated catalogs never get wrong in a way the schema would see.)
    """
    schema_ok = not list(jsonschema.Draft202012Validator(catalog_json_schema()).iter_errors(doc))
    try:
        catalog = catalog_from_dict(doc)
    except ValidationFailed as exc:
        meaning_only = all("duplicate id" in p.message or p.path.endswith(".requires") for p in exc.problems)
        assert not schema_ok or meaning_only, exc.problems
        return
    assert schema_ok
    for name, raw_items in doc["lists"].items():
        assert [(i.id, i.label, i.value, i.roles) for i in catalog.items(name)] == [
            (
                raw.get("id", ""),
                _as_text(raw.get("label", raw.get("id", ""))),
                _as_text(raw.get("value", raw.get("id", ""))),
                None if raw.get("roles") is None else tuple(raw["roles"]),
            )
            for raw in raw_items
        ]


def _as_text(value: Any) -> str:
    """What a task sequence variable holds for an item's text: numbers as written, no trailing .0."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)
