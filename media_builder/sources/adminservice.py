"""`adminservice` source: task sequence deployments targeted at a collection, from ConfigMgr's AdminService."""

# Reads (docs/adminservice.md):
#   GET {url}/wmi/SMS_Advertisement?$filter=CollectionID eq '<coll>'&$select=AdvertisementID,PackageID,CollectionID
#     (or SMS_DeploymentInfo with DeploymentID, TargetID, CollectionID)
#   GET {url}/wmi/SMS_TaskSequencePackage?$filter=PackageID eq 'A' or ...&$select=PackageID,Name,Description
# following @odata.nextLink. Deployments of anything that is not a task sequence drop out at the join.
# Authentication is NTLM (requests-ntlm, builder only); credentials come from the environment and are redacted
# from every message.

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode, urljoin

from agent import net
from agent.catalog.model import Catalog, catalog_from_dict
from agent.errors import DataError, Problem, SourceUnavailable

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

# What each deployment class calls the deployment id and the package id.
CLASSES: Mapping[str, tuple[str, str]] = {
    "SMS_Advertisement": ("AdvertisementID", "PackageID"),
    "SMS_DeploymentInfo": ("DeploymentID", "TargetID"),
}
_ID = re.compile(r"^[A-Za-z0-9]{1,16}$")  # site-coded ids such as CM100017; nothing that could break a $filter
_BATCH = 25  # package ids per $filter, keeping URLs well under IIS's limits
_MAX_PAGES = 1000


@dataclass(frozen=True)
class AdminServiceSource:
    url: str  # https://provider/AdminService
    collection: str
    deployment_class: str = "SMS_Advertisement"
    list_name: str = "deployments"
    ca_bundle: Path | None = None
    username_env: str = "PRESTART_CM_USER"
    password_env: str = "PRESTART_CM_PASSWORD"
    timeout: float = FetchLimits.timeout
    path: str = "catalog.sources[?].adminservice"
    sequences: bool = False  # also read each task sequence's XML (lazy property: one GET per package)
    kind: str = "adminservice"

    def describe(self) -> str:
        return f"adminservice:{net.where(self.url)} collection {self.collection}"

    def fetch(self) -> Catalog:
        user = secret_from_env(self.username_env, what="AdminService user, DOMAIN\\name", path=self.path)
        password = secret_from_env(self.password_env, what="AdminService password", path=self.path)
        try:
            from requests_ntlm import HttpNtlmAuth  # type: ignore[import-not-found,unused-ignore]
        except ImportError:
            raise SourceUnavailable(
                "the adminservice source needs NTLM support", "pip install requests-ntlm (builder machines only)"
            ) from None
        limits = FetchLimits().within(self.timeout)
        secrets = [password, user]
        with net.Client(
            ca_bundle=self.ca_bundle,
            limits=limits,
            auth=HttpNtlmAuth(user, password),
            headers={"Accept": "application/json"},
            secrets=secrets,
        ) as client:
            id_field, package_field = CLASSES[self.deployment_class]
            deployments = list(
                self._query(
                    client,
                    self.deployment_class,
                    f"CollectionID eq '{self.collection}'",
                    [id_field, package_field, "CollectionID"],
                )
            )
            package_ids = sorted({str(d.get(package_field, "")) for d in deployments if d.get(package_field)})
            packages: dict[str, Mapping[str, Any]] = {}
            for start in range(0, len(package_ids), _BATCH):
                batch = package_ids[start : start + _BATCH]
                where = " or ".join(f"PackageID eq '{p}'" for p in batch if _ID.match(p))
                if not where:
                    continue
                for row in self._query(client, "SMS_TaskSequencePackage", where, ["PackageID", "Name", "Description"]):
                    packages[str(row.get("PackageID", ""))] = row
            sequences = self._sequences(client, sorted(packages)) if self.sequences else {}
        items: list[dict[str, Any]] = []
        seen: set[str] = set()
        for deployment in deployments:
            advert, package = str(deployment.get(id_field, "")), str(deployment.get(package_field, ""))
            ts = packages.get(package)
            if not advert or ts is None or advert in seen:
                continue  # not a task sequence deployment, or listed twice
            seen.add(advert)
            items.append(
                {
                    "id": advert,
                    "advertisement_id": advert,
                    "package_id": package,
                    "label": str(ts.get("Name") or package),
                    "description": str(ts.get("Description") or ""),
                    "collection_id": str(deployment.get("CollectionID") or self.collection),
                }
            )
            if package in sequences:
                items[-1]["sequence"] = sequences[package]
        if not items:
            raise DataError(
                f"{self.path}: no task sequence deployments target collection {self.collection} "
                f"at {net.where(self.url)}",
                "deploy a task sequence to that collection (available to media and PXE), or fix `collection`",
            )
        return catalog_from_dict({"schema": 1, "lists": {self.list_name: items}}, file=self.describe())

    def _sequences(self, client: net.Client, package_ids: list[str]) -> dict[str, str]:
        """Each package's `Sequence` XML. WMI lazy properties come only with a per-key GET, never in a query."""
        found: dict[str, str] = {}
        for package in package_ids:
            if not _ID.match(package):
                continue
            response = client.get(f"{self.url.rstrip('/')}/wmi/SMS_TaskSequencePackage('{package}')")
            try:
                doc = json.loads(response.body)
            except (UnicodeDecodeError, json.JSONDecodeError):
                raise DataError(f"{net.where(response.url)} did not answer JSON", "check the provider") from None
            rows = doc.get("value") if isinstance(doc, dict) else None
            row = rows[0] if isinstance(rows, list) and rows and isinstance(rows[0], dict) else doc
            sequence = row.get("Sequence") if isinstance(row, dict) else None
            if isinstance(sequence, str) and sequence.strip():
                found[package] = sequence
        return found

    def _query(self, client: net.Client, cls: str, where: str, select: list[str]) -> Iterator[Mapping[str, Any]]:
        """Yield every row of an OData query, following @odata.nextLink (same host only, bounded)."""
        query = urlencode({"$filter": where, "$select": ",".join(select)}, quote_via=quote, safe="$,'")
        url: str | None = f"{self.url.rstrip('/')}/wmi/{cls}?{query}"
        pages = 0
        while url:
            pages += 1
            if pages > _MAX_PAGES:
                raise DataError(f"{net.where(self.url)}: more than {_MAX_PAGES} pages for {cls}", "narrow the query")
            response = client.get(url)
            try:
                doc = json.loads(response.body)
            except (UnicodeDecodeError, json.JSONDecodeError) as exc:
                raise DataError(
                    f"{net.where(response.url)} did not answer JSON ({exc})", "is `url` the AdminService root?"
                ) from None
            rows = doc.get("value") if isinstance(doc, dict) else None
            if not isinstance(rows, list):
                raise DataError(
                    f"{net.where(response.url)}: the answer has no `value` array", "is `url` the AdminService root?"
                )
            for row in rows:
                if isinstance(row, dict):
                    yield row
            link = doc.get("@odata.nextLink")
            if link is not None and not isinstance(link, str):
                raise DataError(f"{net.where(response.url)}: @odata.nextLink is not a URL", "check the provider")
            if link:
                link = urljoin(response.url, link)
                if not net.same_origin(response.url, link):
                    raise DataError(
                        f"{net.where(response.url)}: @odata.nextLink points to another host ({net.where(link)})",
                        "the provider must page on its own host",
                    )
            url = link or None


def parse(options: Any, *, base_dir: Path, path: str) -> tuple[CatalogSource | None, list[Problem]]:
    """`adminservice: {url, collection, class?, list?, ca_bundle?, username_env?, password_env?, timeout?,
    sequences?}`."""
    if not isinstance(options, dict):
        return None, [Problem(path, "must be a mapping with at least url and collection")]
    problems: list[Problem] = []
    known = {"url", "collection", "class", "list", "ca_bundle", "username_env", "password_env", "timeout", "sequences"}
    unknown_keys(options, known, path, problems)
    for secret in ("username", "password", "token"):
        if secret in options:
            problems.append(
                Problem(
                    f"{path}.{secret}",
                    "credentials never go in the media definition",
                    hint=f"use {secret}_env: NAME and set NAME in the environment",
                )
            )
    url = https_url(options, "url", path, problems)
    collection = options.get("collection")
    if not isinstance(collection, str) or not _ID.match(collection):
        problems.append(Problem(f"{path}.collection", "must be a collection id such as CM100017"))
    cls = options.get("class", "SMS_Advertisement")
    if cls not in CLASSES:
        problems.append(Problem(f"{path}.class", f"must be one of {', '.join(CLASSES)}"))
    list_name = options.get("list", "deployments")
    if not isinstance(list_name, str) or not list_name:
        problems.append(Problem(f"{path}.list", "must be a list name"))
    ca_bundle = optional_file(options, "ca_bundle", base_dir, path, problems)
    username_env = env_name(options, "username_env", "PRESTART_CM_USER", path, problems)
    password_env = env_name(options, "password_env", "PRESTART_CM_PASSWORD", path, problems)
    timeout = positive_number(options, "timeout", FetchLimits.timeout, path, problems)
    sequences = options.get("sequences", False)
    if not isinstance(sequences, bool):
        problems.append(Problem(f"{path}.sequences", "must be true or false"))
    if problems:
        return None, problems
    return (
        AdminServiceSource(
            url, str(collection), str(cls), str(list_name), ca_bundle, username_env, password_env, timeout, path,
            sequences=bool(sequences),
        ),
        problems,
    )
