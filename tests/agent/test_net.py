"""agent.net: the only HTTP code. Lazy import, HTTPS only, secrets redacted, Retry-After read both ways."""

from __future__ import annotations

import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

import pytest

from agent import net
from tests.agent.catalog.loopback import Reply, https_server, make_pki

REPO = Path(__file__).resolve().parents[2]


def test_loading_catalog_code_does_not_import_requests() -> None:
    code = (
        "import sys, agent.net, agent.catalog.verify, agent.catalog.refresh, agent.catalog.model\n"
        "assert 'requests' not in sys.modules, 'requests was imported'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=REPO, timeout=60)


@pytest.mark.parametrize("url", ["http://deploy.example/c.json", "ftp://x/y", "https:///nohost", "catalog.json"])
def test_only_https(url: str) -> None:
    with pytest.raises(net.NetError) as caught:
        net.get(url, ca_bundle=None)
    assert caught.value.kind == "url" and "https" in caught.value.hint


def test_missing_ca_bundle(tmp_path: Path) -> None:
    with pytest.raises(net.SourceUnavailable, match="CA bundle"):
        net.get("https://127.0.0.1:9/c", ca_bundle=tmp_path / "none.pem")


def test_secrets_and_query_strings_stay_out_of_errors(tmp_path: Path) -> None:
    pki = make_pki(tmp_path)
    with https_server(pki.cert, Reply(status=401)) as server:
        with pytest.raises(net.NetError) as caught:
            net.get(
                server.url("/c.json?sig=QUERYSECRET"),
                ca_bundle=pki.bundle,
                headers={"Authorization": "Bearer HEADERSECRET"},
                secrets=["HEADERSECRET"],
            )
        assert server.seen[0].headers["authorization"] == "Bearer HEADERSECRET"
    text = f"{caught.value} {caught.value.hint}"
    assert "401" in text and "QUERYSECRET" not in text and "HEADERSECRET" not in text
    assert caught.value.attempts == 1  # 401 is not retried


def test_redact() -> None:
    assert net.redact("user alice password hunter2", ["hunter2", ""]) == "user alice password [redacted]"


def test_retry_after_forms() -> None:
    now = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)
    assert net.retry_after("3") == 3.0
    assert net.retry_after(format_datetime(now + timedelta(seconds=30), usegmt=True), now) == 30.0
    assert net.retry_after("soon") is None and net.retry_after(None) is None


def test_origin_rules() -> None:
    assert net.same_origin("https://a.example/x", "https://A.example:443/y")
    assert not net.same_origin("https://a.example/x", "https://b.example/x")
    assert not net.same_origin("https://a.example/x", "https://a.example:8443/x")
    assert not net.same_origin("https://a.example/x", "http://a.example/x")
    assert net.where("https://u:p@h.example:8443/p/c.json?t=1#f") == "https://h.example:8443/p/c.json"


# A server with a valid certificate that sends its status line and headers a byte every 0.2 s: requests'
# timeouts are per read, so only a budget over the whole call stops it (issue 19).
SLOW_HEADERS = net.Limits(connect_timeout=1, read_timeout=1, budget=2, retries=2)


def test_headers_sent_a_byte_at_a_time_cannot_outlast_the_budget(tmp_path: Path) -> None:
    pki = make_pki(tmp_path)
    with https_server(pki.cert, Reply(header_drip=0.2)) as server:
        start = time.monotonic()
        with pytest.raises(net.NetError) as caught:
            net.get(server.url(), ca_bundle=pki.bundle, limits=SLOW_HEADERS)
        took = time.monotonic() - start
    assert took < SLOW_HEADERS.budget + 1, took
    assert caught.value.kind == "budget" and "2 s time budget" in caught.value.message


def test_a_post_whose_answer_drips_in_ends_within_its_timeout(tmp_path: Path) -> None:
    pki = make_pki(tmp_path)
    with https_server(pki.cert, Reply(header_drip=0.2)) as server:
        start = time.monotonic()
        with pytest.raises(net.NetError) as caught:
            net.post_json(server.url("/audit"), {"receipt": 1}, ca_bundle=pki.bundle, timeout=1.5)
        took = time.monotonic() - start
        assert server.seen and server.seen[0].method == "POST"
    assert took < 2.5, took
    assert caught.value.kind == "budget"


def test_an_auth_plugin_that_chokes_on_the_answer_is_a_net_error(tmp_path: Path) -> None:
    # requests-ntlm raises plain exceptions (struct.error, ValueError) on a malformed challenge.
    def broken_auth(request: object) -> object:
        raise ValueError("malformed NTLM challenge")

    pki = make_pki(tmp_path)
    with https_server(pki.cert, Reply(status=200, body=b"{}")) as server, pytest.raises(net.NetError) as caught:
        net.get(server.url(), ca_bundle=pki.bundle, auth=broken_auth)
    assert caught.value.kind == "protocol" and "could not be read" in caught.value.message


def test_a_client_total_bounds_every_request_together(tmp_path: Path) -> None:
    """A paged fetch (AdminService) gets its `timeout` for all pages, not per page."""
    pki = make_pki(tmp_path)
    limits = net.Limits(connect_timeout=1, read_timeout=1, budget=1.5, retries=0, total=1.5)
    with https_server(pki.cert, Reply(body=b"{}", delay=0.6)) as server:
        start = time.monotonic()
        with net.Client(ca_bundle=pki.bundle, limits=limits) as client:
            client.get(server.url("/page1"))
            client.get(server.url("/page2"))
            with pytest.raises(net.NetError):
                client.get(server.url("/page3"))
        assert time.monotonic() - start < 2.2
