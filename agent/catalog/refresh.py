"""Refresh at boot: take a newer signed catalog from the network, or keep the media's snapshot and say why."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any, Literal, NamedTuple

from agent.catalog.verify import LoadedCatalog, PublicKey, load_catalog_bytes, read_public_key
from agent.errors import PrestartError, Problem, ValidationFailed
from agent.log import get_logger

log = get_logger("prestart.catalog")

_NUMBERS = {
    "timeout": (0.1, 300.0),
    "connect_timeout": (0.1, 60.0),
    "read_timeout": (0.1, 60.0),
    "retries": (0, 10),
    "max_bytes": (1024, 256 * 1024 * 1024),
}


class RefreshSettings(NamedTuple):
    """Profile `catalog.refresh`: where to look and how long to try (seconds; `timeout` is the total budget)."""

    url: str
    timeout: float = 4.0
    connect_timeout: float = 2.0
    read_timeout: float = 3.0
    retries: int = 2
    max_bytes: int = 4 * 1024 * 1024

    @classmethod
    def from_profile(
        cls, mapping: Mapping[str, Any], *, path: str = "catalog.refresh", file: str = ""
    ) -> RefreshSettings:
        """Validate the profile mapping, collecting every problem (path, message)."""
        problems: list[Problem] = []
        if not isinstance(mapping, Mapping):
            raise ValidationFailed([Problem(path, "refresh must be a mapping with url and timeout", file=file)])
        known = {"url", *_NUMBERS}
        for key in mapping:
            if key not in known:
                hint = f"known: {', '.join(sorted(known))}"
                problems.append(Problem(f"{path}.{key}", "unknown key", file=file, hint=hint))
        url = mapping.get("url")
        if not isinstance(url, str) or not url.lower().startswith("https://") or len(url) <= len("https://"):
            problems.append(Problem(f"{path}.url", "url must be an https:// URL", file=file))
        values: dict[str, Any] = {}
        for key, (low, high) in _NUMBERS.items():
            if key not in mapping:
                continue
            value = mapping[key]
            whole = isinstance(low, int)
            ok_type = isinstance(value, int) if whole else isinstance(value, (int, float))
            if isinstance(value, bool) or not ok_type or not low <= value <= high:
                kind = "a whole number" if whole else "a number of seconds"
                problems.append(Problem(f"{path}.{key}", f"{key} must be {kind} from {low} to {high}", file=file))
            else:
                values[key] = value
        if problems:
            raise ValidationFailed(problems, f"profile {file}".strip())
        settings = cls(url=str(url), **values)
        # Per-attempt timeouts never exceed the whole budget.
        return cls(
            url=settings.url,
            timeout=settings.timeout,
            connect_timeout=min(settings.connect_timeout, settings.timeout),
            read_timeout=min(settings.read_timeout, settings.timeout),
            retries=settings.retries,
            max_bytes=settings.max_bytes,
        )


class RefreshResult(NamedTuple):
    """What the run uses, and a sentence for the log and the screen."""

    loaded: LoadedCatalog
    used: Literal["network", "snapshot"]
    reason: str


def refresh(
    settings: RefreshSettings,
    snapshot: LoadedCatalog,
    *,
    trust_key: Path | PublicKey,
    ca_bundle: Path | None,
    clock: Callable[[], float] = time.monotonic,
    now: datetime | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> RefreshResult:
    """Fetch `settings.url`; keep it only if signed by `trust_key`, unexpired and serial >= the snapshot's.

    Never raises for network or data problems: the snapshot is used and `reason` says why.
    """
    from agent import net

    def fallback(why: str) -> RefreshResult:
        reason = f"offline snapshot from {snapshot.catalog.generated_day()}: refresh failed: {why}"
        log.warning("catalog: %s", reason)
        return RefreshResult(snapshot, "snapshot", reason)

    limits = net.Limits(
        connect_timeout=settings.connect_timeout,
        read_timeout=settings.read_timeout,
        budget=settings.timeout,
        retries=settings.retries,
        max_bytes=settings.max_bytes,
        backoff_cap=max(0.1, settings.timeout / 4),
    )
    try:
        public = trust_key if isinstance(trust_key, PublicKey) else read_public_key(trust_key)
        with net.Client(ca_bundle=ca_bundle, limits=limits, clock=clock, sleep=sleep) as client:
            response = client.get(settings.url)
        loaded = load_catalog_bytes(
            response.body, file=net.where(response.url), trust_key=public, now=now, origin="network"
        )
    except ValidationFailed as exc:
        return fallback(f"the catalog from the network is invalid: {exc.problems[0] if exc.problems else exc}")
    except PrestartError as exc:
        return fallback(exc.message)
    except Exception as exc:  # never let a refresh end the run: the snapshot is good
        log.exception("catalog: unexpected error during refresh")
        return fallback(f"unexpected error ({type(exc).__name__})")
    fresh, old = loaded.catalog.serial, snapshot.catalog.serial
    if fresh < old:
        return fallback(f"the network catalog's serial {fresh} is older than the snapshot's {old}")
    day = loaded.catalog.generated_day()
    reason = f"catalog refreshed from {net.where(response.url)} (serial {fresh}, generated {day})"
    log.info("catalog: %s", reason)
    return RefreshResult(loaded, "network", reason)
