"""`file` source: a catalog in our schema, as JSON or YAML (by extension), relative to the media definition."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agent.catalog.model import Catalog, catalog_from_dict, catalog_from_json
from agent.errors import InputError, Problem

from .base import CatalogSource, unknown_keys


@dataclass(frozen=True)
class FileSource:
    path: Path
    name: str  # as written in the media definition
    kind: str = "file"

    def describe(self) -> str:
        return f"file:{self.name}"

    def fetch(self) -> Catalog:
        try:
            data = self.path.read_bytes()
        except OSError as exc:
            raise InputError(f"cannot read catalog source {self.path}: {exc.strerror}", "check the path") from None
        if self.path.suffix.lower() in (".yaml", ".yml"):
            from agent.yamlio import load_file

            return catalog_from_dict(load_file(self.path, fast=False).data, file=str(self.path))
        return catalog_from_json(data, file=str(self.path))


def parse(options: Any, *, base_dir: Path, path: str) -> tuple[CatalogSource | None, list[Problem]]:
    """`file: catalog.json` or `file: {path: catalog.yaml}`."""
    problems: list[Problem] = []
    if isinstance(options, dict):
        unknown_keys(options, {"path"}, path, problems)
        name = options.get("path")
        where = f"{path}.path"
    else:
        name, where = options, path
    if not isinstance(name, str) or not name:
        problems.append(Problem(where, "must be the path of a catalog file (JSON or YAML)"))
        return None, problems
    full = (base_dir / name).resolve()
    if not full.is_file():
        problems.append(Problem(where, f"{name} does not exist (relative to {base_dir})"))
    return (FileSource(full, name) if not problems else None), problems
