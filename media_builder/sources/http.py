"""`http` source: a catalog in our schema over HTTPS, with an optional bearer token from the environment."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agent import net
from agent.catalog.model import Catalog, catalog_from_json
from agent.errors import Problem

from .base import (
    CatalogSource,
    FetchLimits,
    env_name,
    https_url,
    optional_file,
    positive_number,
    secret_from_env,
    unknown_keys,
)


@dataclass(frozen=True)
class HttpSource:
    url: str
    ca_bundle: Path | None = None
    token_env: str = ""  # the NAME of the variable; the token itself is read at fetch time and never stored
    timeout: float = FetchLimits.timeout
    path: str = "catalog.sources[?]"
    kind: str = "http"

    def describe(self) -> str:
        return f"http:{net.where(self.url)}"

    def fetch(self) -> Catalog:
        headers: dict[str, str] = {"Accept": "application/json"}
        secrets: list[str] = []
        if self.token_env:
            token = secret_from_env(self.token_env, what="bearer token", path=self.path)
            headers["Authorization"] = f"Bearer {token}"
            secrets.append(token)
        limits = FetchLimits().within(self.timeout)
        with net.Client(ca_bundle=self.ca_bundle, limits=limits, headers=headers, secrets=secrets) as client:
            response = client.get(self.url)
        return catalog_from_json(response.body, file=net.where(response.url))


def parse(options: Any, *, base_dir: Path, path: str) -> tuple[CatalogSource | None, list[Problem]]:
    """`http: {url, token_env?, ca_bundle?, timeout?}`; `http: URL` is short for `{url: URL}`."""
    problems: list[Problem] = []
    if isinstance(options, str):
        options = {"url": options}
    if not isinstance(options, dict):
        return None, [Problem(path, "must be a URL or a mapping with url, token_env, ca_bundle, timeout")]
    unknown_keys(options, {"url", "token_env", "ca_bundle", "timeout"}, path, problems)
    url = https_url(options, "url", path, problems)
    token_env = env_name(options, "token_env", "", path, problems) if "token_env" in options else ""
    ca_bundle = optional_file(options, "ca_bundle", base_dir, path, problems)
    timeout = positive_number(options, "timeout", FetchLimits.timeout, path, problems)
    if problems:
        return None, problems
    return HttpSource(url, ca_bundle, token_env, timeout, path), problems
