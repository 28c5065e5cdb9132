"""Build the media's catalog: validate `catalog.sources`, fetch and merge them in order, sign, write."""

# Serial (docs/catalog.md): unless given, the UTC build minute as yyyymmddHHMM (e.g. 202611200800), or the newest
# source's serial when that is larger. It only grows, so refresh at boot can prefer the newer of two catalogs.

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from agent import files
from agent.catalog.model import Catalog, Item, catalog_from_json
from agent.errors import InputError, Problem, ValidationFailed
from media_builder import signing
from media_builder.sources.base import SourceConfig, parse_sources

SIGNED_NAME = "catalog.json"


def default_serial(now: datetime) -> int:
    return int(now.astimezone(UTC).strftime("%Y%m%d%H%M"))


def _stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def build_catalog(
    configs: Sequence[SourceConfig],
    *,
    serial: int | None = None,
    now: datetime,
    valid_days: int | None = None,
) -> Catalog:
    """Fetch every source in order; a later list replaces an earlier list of the same name."""
    lists: dict[str, tuple[Item, ...]] = {}
    newest = 0
    for config in configs:
        part = config.source.fetch()
        newest = max(newest, part.serial)
        lists.update(part.lists)
    final_serial = serial if serial is not None else max(default_serial(now), newest)
    not_after = _stamp(now + timedelta(days=valid_days)) if valid_days else None
    catalog = Catalog(
        serial=final_serial,
        generated=_stamp(now),
        source="; ".join(c.source.describe() for c in configs),
        not_after=not_after,
        lists=lists,
    )
    # Round-trip through the validator: what we sign is exactly what the agent will accept.
    return catalog_from_json(catalog.to_json(), file="built catalog")


def signed_bytes(catalog: Catalog, key_path: Path) -> bytes:
    """The signed catalog file for `catalog`, signed with the private key at `key_path`."""
    return signing.sign_payload(catalog.to_json(), signing.load_private_key(key_path))


def _build_signed(
    sources_raw: Any,
    signing_key: Path,
    base_dir: Path,
    serial: int | None,
    valid_days: int | None,
    check: Callable[[Catalog], None] | None = None,
) -> tuple[Catalog, bytes]:
    configs, problems = parse_sources(sources_raw, base_dir=base_dir)
    key_path = Path(base_dir) / signing_key
    if not key_path.is_file():
        hint = "create one with: prestart-media keygen DIR"
        problems.append(Problem("catalog.signing_key", f"{signing_key} does not exist", hint=hint))
    if problems:
        raise ValidationFailed(problems, "media definition")
    signing.load_private_key(key_path)  # refuse a readable key before any network traffic
    catalog = build_catalog(configs, serial=serial, now=datetime.now(UTC), valid_days=valid_days)
    if check is not None:
        check(catalog)  # the secret scan, on what is about to be signed
    return catalog, signed_bytes(catalog, key_path)


def cmd_keygen(directory: Path) -> int:
    """`prestart-media keygen DIR`."""
    private, public = signing.keygen(Path(directory))
    print(f"wrote {private} (private, mode 0600: keep it off media and out of version control)")
    print(f"wrote {public} (public: the media builder copies it to media as the trusted key)")
    return 0


def write_signed(
    sources_raw: Any,
    signing_key: Path,
    base_dir: Path,
    out: Path,
    *,
    serial: int | None = None,
    valid_days: int | None = None,
    check: Callable[[Catalog], None] | None = None,
) -> Catalog:
    """Fetch, merge, sign and write `out` atomically; the building block of fetch and publish."""
    catalog, data = _build_signed(sources_raw, signing_key, base_dir, serial, valid_days, check)
    files.write_bytes(out, data)  # the umask decides, as for every file the tools write
    return catalog


def cmd_fetch(
    sources: Sequence[Any], key: Path, base: Path, check: Callable[[Catalog], None], out: Path, *,
    serial: int | None = None, valid_days: int | None = None,
) -> int:
    """`prestart-media fetch MEDIA -o FILE`: the signed snapshot of the catalog MEDIA describes (its sources,
    signing key, folder and secret check, read by the caller: this module does not read media definitions)."""
    catalog = write_signed(sources, key, base, out, serial=serial, valid_days=valid_days, check=check)
    counts = ", ".join(f"{name}: {len(items)}" for name, items in catalog.lists.items())
    print(f"wrote signed catalog {out} (serial {catalog.serial}; {counts})")
    return 0


def cmd_publish(
    sources: Sequence[Any], key: Path, base: Path, check: Callable[[Catalog], None], out_dir: Path, *,
    serial: int | None = None, valid_days: int | None = None,
) -> int:
    """`prestart-media publish MEDIA DIR`: DIR/catalog.json (signed) for any static web server or CDN."""
    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise InputError(f"{out_dir} is not a folder", "give the folder your web server serves")
    target = out_dir / SIGNED_NAME
    catalog = write_signed(sources, key, base, target, serial=serial, valid_days=valid_days, check=check)
    print(f"wrote {target} (serial {catalog.serial}); serve it over HTTPS at the profile's catalog.refresh.url")
    return 0
