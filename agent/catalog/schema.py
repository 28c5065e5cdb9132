"""The catalog's JSON Schema (2020-12), kept in schemas/catalog.schema.json and shipped inside the package."""

from __future__ import annotations

import json
from importlib import resources
from typing import Any


def catalog_json_schema() -> dict[str, Any]:
    text = resources.files("agent.catalog").joinpath("catalog.schema.json").read_text(encoding="utf-8")
    data: dict[str, Any] = json.loads(text)
    return data
