"""The CatalogSource protocol every backend implements, and the registry that finds a source by its key."""

from __future__ import annotations

import importlib
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from agent import net
from agent.catalog.model import Catalog
from agent.errors import Problem, SourceUnavailable


@runtime_checkable
class CatalogSource(Protocol):
    """A configured backend. `describe()` is safe to log (no secrets); `fetch()` returns a validated Catalog."""

    @property
    def kind(self) -> str: ...

    def describe(self) -> str: ...

    def fetch(self) -> Catalog: ...


class SourceModule(Protocol):
    """What a source module exports: `parse` turns the media definition's options into a source."""

    def parse(
        self, options: Any, *, base_dir: Path, path: str
    ) -> tuple[CatalogSource | None, list[Problem]]: ...


# Media definition key -> module (imported lazily: adminservice pulls in NTLM support only when used).
REGISTRY: Mapping[str, str] = {
    "file": "media_builder.sources.file",
    "http": "media_builder.sources.http",
    "adminservice": "media_builder.sources.adminservice",
}


def module_for(kind: str) -> SourceModule:
    module: SourceModule = importlib.import_module(REGISTRY[kind])
    return module


def secret_from_env(name: str, *, what: str, path: str) -> str:
    """Credentials come only from the environment; the message names the variable, never a value."""
    value = os.environ.get(name, "")
    if not value:
        raise SourceUnavailable(
            f"{path}: environment variable {name} ({what}) is not set",
            f"set {name} in the environment of prestart-media; credentials never go in the media definition",
        )
    return value


def env_name(options: Mapping[str, Any], key: str, default: str, path: str, problems: list[Problem]) -> str:
    value = options.get(key, default)
    if not isinstance(value, str) or not value.replace("_", "").isalnum():
        problems.append(Problem(f"{path}.{key}", "must be the NAME of an environment variable (letters, digits, _)"))
        return default
    return value


def https_url(options: Mapping[str, Any], key: str, path: str, problems: list[Problem]) -> str:
    value = options.get(key)
    if not isinstance(value, str) or not value.startswith("https://") or len(value) <= len("https://"):
        problems.append(Problem(f"{path}.{key}", "must be an https:// URL"))
        return ""
    return value


def optional_file(
    options: Mapping[str, Any], key: str, base_dir: Path, path: str, problems: list[Problem]
) -> Path | None:
    value = options.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or not value:
        problems.append(Problem(f"{path}.{key}", "must be a file path"))
        return None
    full = (base_dir / value).resolve()
    if not full.is_file():
        problems.append(Problem(f"{path}.{key}", f"{value} does not exist (relative to {base_dir})"))
    return full


def positive_number(options: Mapping[str, Any], key: str, default: float, path: str, problems: list[Problem]) -> float:
    value = options.get(key, default)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
        problems.append(Problem(f"{path}.{key}", "must be a number of seconds greater than 0"))
        return default
    return float(value)


def unknown_keys(options: Mapping[str, Any], known: set[str], path: str, problems: list[Problem]) -> None:
    for key in options:
        if key not in known:
            problems.append(Problem(f"{path}.{key}", "unknown key", hint=f"known: {', '.join(sorted(known))}"))


@dataclass(frozen=True)
class FetchLimits:
    """Build-time network limits (more generous than at boot; the builder waits for a slow provider)."""

    timeout: float = 60.0
    connect_timeout: float = 10.0
    read_timeout: float = 30.0
    retries: int = 2
    max_bytes: int = 64 * 1024 * 1024

    def within(self, budget: float) -> net.Limits:
        """These limits for agent.net, with `budget` seconds for the whole fetch (a source's `timeout`)."""
        return net.Limits(
            connect_timeout=self.connect_timeout,
            read_timeout=self.read_timeout,
            budget=budget,
            retries=self.retries,
            max_bytes=self.max_bytes,
            total=budget,  # a paged source (AdminService) gets `timeout` for all its pages together
        )


@dataclass(frozen=True)
class SourceConfig:
    """One validated entry of `catalog.sources`."""

    kind: str
    path: str  # e.g. catalog.sources[1].adminservice
    source: CatalogSource


def parse_sources(
    raw: Any, *, base_dir: Path, path: str = "catalog.sources"
) -> tuple[list[SourceConfig], list[Problem]]:
    """Validate the list of sources (each a one-key mapping such as `- file: catalog.json`); collect every problem."""
    problems: list[Problem] = []
    configs: list[SourceConfig] = []
    if not isinstance(raw, list) or not raw:
        return [], [Problem(path, "must be a list of sources (file, http, adminservice)")]
    for index, entry in enumerate(raw):
        where = f"{path}[{index}]"
        if not isinstance(entry, dict) or len(entry) != 1:
            problems.append(Problem(where, f"each source is a mapping with one key: {', '.join(REGISTRY)}"))
            continue
        ((kind, options),) = entry.items()
        if kind not in REGISTRY:
            problems.append(Problem(f"{where}.{kind}", f"unknown source; known: {', '.join(REGISTRY)}"))
            continue
        source, found = module_for(kind).parse(options, base_dir=base_dir, path=f"{where}.{kind}")
        problems.extend(found)
        if source is not None:
            configs.append(SourceConfig(kind, f"{where}.{kind}", source))
    return configs, problems
