"""A VariableStore that writes one JSON object of name to value (the `json:` sink)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path

from agent import files
from agent.errors import InputError
from hooks.base import check_commit


class JsonFileStore:
    """Variables as a JSON object in one file, written atomically on commit."""

    name = "json"

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    def read_all(self) -> dict[str, str]:
        # A sink is an output; existing engine variables come from the engine, not from it.
        return {}

    def commit(self, variables: Mapping[str, str]) -> None:
        files.write_bytes(self.path, render_json(variables))


def render_json(variables: Mapping[str, str]) -> bytes:
    """The JSON file's bytes; refuses the set when any name or value breaks the rules."""
    check_commit(variables)
    return (json.dumps(dict(variables), indent=2, ensure_ascii=False, sort_keys=False) + "\n").encode("utf-8")


def read_json_variables(path: str | Path) -> dict[str, str]:
    """Read a JSON object of variables (for `--variables` inputs and tests)."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InputError(f"{path}: cannot read variables: {exc}", "give a JSON object of name to text value") from exc
    if not isinstance(data, dict):
        raise InputError(f"{path}: variables must be a JSON object", "give a JSON object of name to text value")
    return {str(k): "" if v is None else str(v) for k, v in data.items()}
