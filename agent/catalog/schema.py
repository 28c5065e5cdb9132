"""The catalog's JSON Schema (2020-12), shipped inside the package; schemas/catalog.schema.json is a copy
for editors (a test keeps the two equal)."""

from __future__ import annotations

import json
from importlib import resources
from typing import Any


def catalog_json_schema() -> dict[str, Any]:
    text = resources.files("agent.catalog").joinpath("catalog.schema.json").read_text(encoding="utf-8")
    data: dict[str, Any] = json.loads(text)
    return data
