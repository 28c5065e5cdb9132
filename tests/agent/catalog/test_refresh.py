"""Refresh at boot against real HTTPS servers on 127.0.0.1: every fault ends on the snapshot, saying why, in time."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import trustme

from agent.catalog.refresh import RefreshResult, RefreshSettings, refresh
from agent.catalog.verify import LoadedCatalog, load_catalog
from agent.errors import ValidationFailed
from agent.log import WARNING
from tests.agent.catalog.conftest import catalog_doc
from tests.agent.catalog.loopback import Pki, Reply, Seen, blackhole, https_server

if TYPE_CHECKING:
    from tests.conftest import LogCapture

BUDGET = 2.0
SLACK = 0.6  # thread scheduling and TLS set-up on a busy 2-core CI machine


@pytest.fixture
def snapshot(tmp_path: Path, keys: tuple[Path, Path], sign: Callable[..., bytes]) -> LoadedCatalog:
    path = tmp_path / "snapshot.json"
    path.write_bytes(sign(catalog_doc(serial=7)))
    return load_catalog(path, trust_key=keys[1])


def settings(url: str, **kw: Any) -> RefreshSettings:
    values: dict[str, Any] = {"url": url, "timeout": BUDGET, "connect_timeout": 0.5, "read_timeout": 0.5}
    values.update(kw)
    return RefreshSettings.from_profile(values)


def run(url: str, snapshot: LoadedCatalog, keys: tuple[Path, Path], pki: Pki, **kw: Any) -> tuple[RefreshResult, float]:
    start = time.monotonic()
    result = refresh(settings(url, **kw), snapshot, trust_key=keys[1], ca_bundle=pki.bundle)
    took = time.monotonic() - start
    assert took < BUDGET + SLACK, f"refresh took {took:.2f} s, budget {BUDGET} s"
    return result, took


def test_newer_signed_catalog_is_taken(
    pki: Pki, keys: tuple[Path, Path], sign: Callable[..., bytes], snapshot: LoadedCatalog
) -> None:
    with https_server(pki.cert, Reply(body=sign(catalog_doc(serial=8)))) as server:
        result, _ = run(server.url(), snapshot, keys, pki)
    assert result.used == "network" and result.loaded.catalog.serial == 8
    assert result.loaded.signed and result.loaded.origin == "network"
    assert "refreshed" in result.reason and "serial 8" in result.reason


def test_same_serial_is_taken(
    pki: Pki, keys: tuple[Path, Path], sign: Callable[..., bytes], snapshot: LoadedCatalog
) -> None:
    with https_server(pki.cert, Reply(body=sign(catalog_doc(serial=7)))) as server:
        result, _ = run(server.url(), snapshot, keys, pki)
    assert result.used == "network"


def test_proxy_from_environment_is_ignored(
    pki: Pki,
    keys: tuple[Path, Path],
    sign: Callable[..., bytes],
    snapshot: LoadedCatalog,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in ("HTTPS_PROXY", "https_proxy", "ALL_PROXY"):
        monkeypatch.setenv(name, "http://127.0.0.1:9")  # discard port: any use of it would fail
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    with https_server(pki.cert, Reply(body=sign(catalog_doc(serial=9)))) as server:
        result, _ = run(server.url(), snapshot, keys, pki)
    assert result.used == "network", result.reason


def _tampered(sign: Callable[..., bytes]) -> bytes:
    envelope = json.loads(sign(catalog_doc(serial=9)))
    payload = base64.b64decode(envelope["payload"]).replace(b"Windows 11", b"Windows 99")
    envelope["payload"] = base64.b64encode(payload).decode()
    return json.dumps(envelope).encode()


def _expired(sign: Callable[..., bytes]) -> bytes:
    past = (datetime.now(UTC) - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    return sign(catalog_doc(serial=9, not_after=past))


# name -> (reply builder, words the reason must contain, the most requests the server may see)
MATRIX: dict[str, tuple[Callable[[Callable[..., bytes]], Reply | list[Reply]], tuple[str, ...], int]] = {
    "500": (lambda s: Reply(status=500), ("answered 500", "three times"), 3),
    "503 with Retry-After": (
        lambda s: Reply(status=503, headers={"Retry-After": "0"}),
        ("answered 503", "three times"),
        3,
    ),
    "503 asking for more than the budget": (
        lambda s: Reply(status=503, headers={"Retry-After": "120"}),
        ("answered 503", "retry after 120 s, beyond the time budget"),
        1,
    ),
    "read timeout": (lambda s: Reply(delay=5, body=b"{}"), ("did not answer within 0.5 s",), 3),
    "slow drip body": (
        lambda s: Reply(body=s(catalog_doc(serial=9)), drip=0.2, piece=8),
        ("within the 2 s time budget",),
        1,
    ),
    "truncated body": (
        lambda s: Reply(body=s(catalog_doc(serial=9)), truncate_at=40),
        ("closed the connection after 40 bytes",),
        3,
    ),
    "truncated JSON": (lambda s: Reply(body=s(catalog_doc(serial=9))[:60]), ("not valid JSON",), 1),
    "invalid JSON": (lambda s: Reply(body=b"<html>maintenance</html>"), ("not valid JSON",), 1),
    "oversized body (declared)": (lambda s: Reply(body=b"x" * 5000), ("more than the 4096-byte limit",), 1),
    "oversized body (streamed)": (
        lambda s: Reply(body=b"x" * 50_000, length=False),
        ("more than the 4096-byte limit",),
        1,
    ),
    "bad signature": (lambda s: Reply(body=_tampered(s)), ("signature is not valid",), 1),
    "older serial": (lambda s: Reply(body=s(catalog_doc(serial=6))), ("serial 6 is older than the snapshot's 7",), 1),
    "expired catalog": (lambda s: Reply(body=_expired(s)), ("expired",), 1),
    "unsigned catalog": (lambda s: Reply(body=json.dumps(catalog_doc(serial=9)).encode()), ("is not signed",), 1),
    "404": (lambda s: Reply(status=404), ("answered 404",), 1),
}


@pytest.mark.parametrize("fault", list(MATRIX))
def test_fault_matrix_falls_back_to_snapshot(
    fault: str,
    pki: Pki,
    keys: tuple[Path, Path],
    sign: Callable[..., bytes],
    snapshot: LoadedCatalog,
    logs: LogCapture,
) -> None:
    make, words, max_requests = MATRIX[fault]
    size = {"max_bytes": 4096} if fault.startswith("oversized") else {}
    with https_server(pki.cert, make(sign)) as server:
        result, _ = run(server.url(), snapshot, keys, pki, **size)
        requests_seen = len(server.seen)
    assert result.used == "snapshot"
    assert result.loaded is snapshot
    assert result.reason.startswith("offline snapshot from 2026-11-20: refresh failed: "), result.reason
    for word in words:
        assert word in result.reason, result.reason
    assert 1 <= requests_seen <= max_requests
    assert result.reason in logs.text(WARNING)  # the log says why, too


def _pki_fault(pki: Pki, kind: str) -> trustme.LeafCert:
    if kind == "unknown CA":
        return trustme.CA().issue_cert("127.0.0.1")
    if kind == "expired certificate":
        now = datetime.now(UTC)
        return pki.ca.issue_cert("127.0.0.1", not_before=now - timedelta(days=30), not_after=now - timedelta(days=1))
    return pki.ca.issue_cert("deploy.contoso.example")  # valid, but for another name


@pytest.mark.parametrize(
    ("kind", "words"),
    [
        ("unknown CA", "unable to get local issuer certificate"),
        ("expired certificate", "certificate has expired"),
        ("wrong host name", "certificate verify failed"),
    ],
)
def test_tls_errors_are_not_retried(
    kind: str, words: str, pki: Pki, keys: tuple[Path, Path], sign: Callable[..., bytes], snapshot: LoadedCatalog
) -> None:
    with https_server(_pki_fault(pki, kind), Reply(body=sign(catalog_doc(serial=9)))) as server:
        start = time.monotonic()
        result, _ = run(server.url(), snapshot, keys, pki)
        took = time.monotonic() - start
    assert result.used == "snapshot"
    assert "TLS error" in result.reason and words in result.reason, result.reason
    assert took < 0.5  # one handshake, no backoff


def test_connect_timeout(pki: Pki, keys: tuple[Path, Path], snapshot: LoadedCatalog) -> None:
    with blackhole() as url:
        result, took = run(url, snapshot, keys, pki)
    assert result.used == "snapshot"
    assert "could not connect" in result.reason and "within 0.5 s" in result.reason, result.reason
    assert took >= 1.0  # it did retry, within the budget


def test_connection_refused(pki: Pki, keys: tuple[Path, Path], snapshot: LoadedCatalog) -> None:
    with https_server(pki.cert, Reply()) as server:
        url = server.url()
    result, _ = run(url, snapshot, keys, pki)  # the server is gone now
    assert result.used == "snapshot" and "could not connect" in result.reason


def test_redirect_to_another_host_is_refused(
    pki: Pki, keys: tuple[Path, Path], sign: Callable[..., bytes], snapshot: LoadedCatalog
) -> None:
    def script(seen: Seen, state: Any) -> Reply:
        if seen.headers["host"].startswith("localhost"):
            return Reply(body=sign(catalog_doc(serial=9)))
        return Reply(status=302, headers={"Location": f"https://localhost:{seen.headers['host'].split(':')[1]}/c"})

    with https_server(pki.cert, script) as server:
        result, _ = run(server.url(), snapshot, keys, pki)
        assert len(server.seen) == 1
    assert result.used == "snapshot" and "redirected to another host" in result.reason


def test_redirect_on_the_same_host_is_followed(
    pki: Pki, keys: tuple[Path, Path], sign: Callable[..., bytes], snapshot: LoadedCatalog
) -> None:
    def script(seen: Seen, state: Any) -> Reply:
        if seen.path == "/catalog.json":
            return Reply(status=301, headers={"Location": "/v2/catalog.json"})
        return Reply(body=sign(catalog_doc(serial=9)))

    with https_server(pki.cert, script) as server:
        result, _ = run(server.url(), snapshot, keys, pki)
    assert result.used == "network", result.reason


def test_recovers_after_one_503(
    pki: Pki, keys: tuple[Path, Path], sign: Callable[..., bytes], snapshot: LoadedCatalog
) -> None:
    replies = [Reply(status=503, headers={"Retry-After": "0"}), Reply(body=sign(catalog_doc(serial=9)))]
    with https_server(pki.cert, replies) as server:
        result, _ = run(server.url(), snapshot, keys, pki)
        assert len(server.seen) == 2
    assert result.used == "network"


def test_plain_http_url_is_refused_by_the_profile() -> None:
    with pytest.raises(ValidationFailed) as caught:
        RefreshSettings.from_profile({"url": "http://deploy.contoso.example/c.json", "timeout": 4, "retries": -1})
    assert {p.path for p in caught.value.problems} == {"catalog.refresh.url", "catalog.refresh.retries"}


def test_reference_profile_settings(spec_dir: Path) -> None:
    import yaml

    profile = yaml.safe_load((spec_dir / "technician.yaml").read_text(encoding="utf-8"))
    found = RefreshSettings.from_profile(profile["catalog"]["refresh"])
    assert found.url == "https://deploy.contoso.example/prestart/catalog.json" and found.timeout == 4
    assert found.connect_timeout <= found.timeout and found.read_timeout <= found.timeout
