"""The catalog's structure, once: it validates every catalog the agent and the builder read, and prints
schemas/catalog.schema.json (2020-12) for editors and other tools."""

from __future__ import annotations

from typing import Any

from agent.schemakit import Int, List, MapOf, Obj, Scalar, Str, json_schema

CATALOG_SCHEMA = 1  # the format version this agent reads

# The JSON Schema's pattern and the agent's check are the same text; datetime.fromisoformat then refuses
# what the pattern cannot (a 13th month, February 30th).
DATETIME_PATTERN = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]+)?)?([Zz]|[+-][0-9]{2}:[0-9]{2})$"
_DATETIME_SAYS = "not an ISO 8601 date-time with a zone"
_DATETIME_EXAMPLE = "2026-11-20T08:00:00Z"


def _text(description: str = "") -> Str:
    """An item's interpreted text: text or a number (`label: 7`), never true/false or a list."""
    return Str(numbers_ok=True, description=description)


ITEM = Obj(
    {
        "id": Str(
            pattern=r"^[\s\S]*\S[\s\S]*$", pattern_says="an id must be non-empty text", example="win11-lab",
            description="Unique in its list (case-insensitive); lookup-only lists may omit it.",
        ),
        "label": _text("What the wizard shows (default: the id)."),
        "value": _text("What the variable is set to (default: the id)."),
        "group": _text("A heading the wizard groups items under."),
        "requires": _text("An expression; false shows the item disabled."),
        "roles": List(Str(min_length=1), description="Who is offered the item (default: everyone)."),
    },
    extra=Scalar(description="A free attribute, reachable as {item.NAME}."),
    description="One choice. Keys other than the known ones are free attributes, reachable as {item.NAME}.",
)  # fmt: skip

CATALOG = Obj(
    {
        "schema": Int(
            minimum=CATALOG_SCHEMA, maximum=CATALOG_SCHEMA, description="Format version; this agent reads 1."
        ),
        "serial": Int(
            minimum=0, description="Grows with every build; refresh takes only a serial at least the snapshot's."
        ),
        "generated": Str(
            pattern=f"^$|{DATETIME_PATTERN}", pattern_says=_DATETIME_SAYS, example=_DATETIME_EXAMPLE,
            description="When the catalog was built (UTC); empty for a catalog built without a date.",
        ),
        "source": Str(description="Where it came from, e.g. file:catalog.json; never a secret."),
        "not_after": Str(
            pattern=DATETIME_PATTERN, pattern_says=_DATETIME_SAYS, example=_DATETIME_EXAMPLE,
            description="After this instant the agent refuses the catalog (exit 13).",
        ),
        "lists": MapOf(
            List(ITEM), key_pattern=r"^[\s\S]+$", key_says="a list name must be non-empty text", check_keys=True,
            description="Named lists of items.",
        ),
    },
    required=("lists",),
    description="Named lists of items the agent offers (docs/catalog.md). The agent validates catalogs with "
    "this same description (agent/catalog/schema.py); duplicate ids and `requires` syntax are checked by the "
    "agent only.",
)  # fmt: skip


def catalog_json_schema() -> dict[str, Any]:
    return json_schema(
        CATALOG, title="Prestart catalog", schema_id="https://prestart.invalid/schemas/catalog.schema.json"
    )
