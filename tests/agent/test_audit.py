"""The receipt goes to the profile's audit URL over HTTPS; a failing audit server never changes the run's result."""

from __future__ import annotations

import json
import ssl
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import trustme
import yaml
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from agent.audit import send_receipt
from tests.conftest import SPEC, run_prestart

CANARY = "Canary-Audit-3c0ffee9"
TOKEN = "tok-Canary-9d1f"


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture(scope="module")
def ca_pem(ca: trustme.CA, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("ca") / "ca.pem"
    ca.cert_pem.write_to_path(str(path))
    return path


@pytest.fixture
def https(ca: trustme.CA) -> Iterator[HTTPServer]:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(context)
    server = HTTPServer(host="127.0.0.1", ssl_context=context)
    server.start()
    yield server
    server.clear()
    if server.is_running():
        server.stop()


def _profile(tmp_path: Path, url: str) -> Path:
    data = yaml.safe_load((SPEC / "technician.yaml").read_text(encoding="utf-8"))
    data["audit"] = {"url": url}
    data["pages"].append({"id": "secrets", "fields": [
        {"id": "join_password", "type": "password", "variable": "PrestartJoinPassword"}]})
    path = tmp_path / "profile.yaml"
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def _run(tmp_path: Path, url: str, ca_pem: Path):  # type: ignore[no-untyped-def]
    answers = yaml.safe_load((SPEC / "answers" / "technician-laptop.yaml").read_text(encoding="utf-8"))
    answers["join_password"] = CANARY
    answers_path = tmp_path / "answers.yaml"
    answers_path.write_text(json.dumps(answers), encoding="utf-8")
    out = tmp_path / "out.json"
    start = time.monotonic()
    done = run_prestart("run", "--profile", str(_profile(tmp_path, url)), "--catalog", str(SPEC / "catalog.json"),
                        "--facts", str(SPEC / "facts" / "laptop.json"), "--answers", str(answers_path),
                        "--unattended", "--sink", f"json:{out}", "--log-dir", str(tmp_path / "log"),
                        "--ca-bundle", str(ca_pem))
    return done, out, time.monotonic() - start


def test_the_receipt_is_posted_masked(https: HTTPServer, ca_pem: Path, tmp_path: Path) -> None:
    posted: list[dict[str, object]] = []

    def handler(request: Request) -> Response:
        posted.append(json.loads(request.get_data()))
        return Response("ok", status=201)

    https.expect_request("/audit", method="POST").respond_with_handler(handler)
    done, out, _ = _run(tmp_path, https.url_for(f"/audit?token={TOKEN}"), ca_pem)
    assert done.returncode == 0, done.stderr
    assert out.exists()
    assert len(posted) == 1
    receipt = posted[0]
    on_disk = json.loads((tmp_path / "log" / "prestart-receipt.json").read_text(encoding="utf-8"))
    assert receipt["exit_code"] == 0 and receipt["result"] == "success"
    assert receipt["machine"] == on_disk["machine"] and receipt["catalog"] == on_disk["catalog"]
    assert receipt["variables"]["PrestartJoinPassword"]["value"] == "********"  # type: ignore[index]
    assert CANARY not in json.dumps(receipt)
    log = (tmp_path / "log" / "prestart.log").read_text(encoding="utf-8")
    assert "receipt sent to https://127.0.0.1" in log
    assert TOKEN not in log and CANARY not in log


def test_a_500_is_logged_and_the_run_still_succeeds(https: HTTPServer, ca_pem: Path, tmp_path: Path) -> None:
    https.expect_request("/audit", method="POST").respond_with_data("boom", status=500)
    done, out, _ = _run(tmp_path, https.url_for(f"/audit?token={TOKEN}"), ca_pem)
    assert done.returncode == 0, done.stderr
    assert json.loads(out.read_text(encoding="utf-8"))["OSDComputerName"]
    log = (tmp_path / "log" / "prestart.log").read_text(encoding="utf-8")
    assert "receipt not sent to the audit URL" in log and "answered 500" in log
    assert TOKEN not in log and CANARY not in log + done.stderr + done.stdout


def test_a_wrong_certificate_is_refused_and_the_run_still_succeeds(https: HTTPServer, tmp_path: Path) -> None:
    https.expect_request("/audit", method="POST").respond_with_data("ok")
    other = tmp_path / "other-ca.pem"
    trustme.CA().cert_pem.write_to_path(str(other))
    done, out, _ = _run(tmp_path, https.url_for("/audit"), other)
    assert done.returncode == 0, done.stderr
    assert out.exists()
    assert len(https.log) == 0  # nothing reached the server
    assert "TLS error" in (tmp_path / "log" / "prestart.log").read_text(encoding="utf-8")


def test_a_server_that_never_answers_costs_at_most_the_timeout(silent_port: int, ca_pem: Path) -> None:
    start = time.monotonic()
    note = send_receipt(f"https://127.0.0.1:{silent_port}/audit", {"receipt": 1}, ca_bundle=ca_pem, timeout=1.0)
    assert time.monotonic() - start < 3
    assert note.startswith("receipt not sent")


def test_a_hanging_audit_server_does_not_fail_the_run(silent_port: int, ca_pem: Path, tmp_path: Path) -> None:
    done, out, seconds = _run(tmp_path, f"https://127.0.0.1:{silent_port}/audit", ca_pem)
    assert done.returncode == 0, done.stderr
    assert out.exists()
    assert seconds < 15  # the default 5 s audit timeout, plus the run itself


@pytest.mark.parametrize("url", ["http://127.0.0.1/audit", "not a url", ""])
def test_bad_urls_return_a_note_and_never_raise(url: str) -> None:
    assert send_receipt(url, {"receipt": 1}, ca_bundle=None, timeout=1).startswith("receipt not sent")


def test_an_audit_server_dripping_its_headers_holds_the_hand_off_no_longer_than_the_timeout(tmp_path: Path) -> None:
    """Issue 19: a server with a valid certificate sending its status line a byte every 0.3 s held the agent
    after the commit for minutes with `audit.timeout: 3`; now the run ends within the timeout."""
    from tests.agent.catalog.loopback import Reply, https_server, make_pki

    pki = make_pki(tmp_path)
    with https_server(pki.cert, Reply(header_drip=0.3)) as server:
        data = yaml.safe_load((SPEC / "technician.yaml").read_text(encoding="utf-8"))
        data["audit"] = {"url": server.url("/audit"), "timeout": 2}
        profile = tmp_path / "profile.yaml"
        profile.write_text(json.dumps(data), encoding="utf-8")
        out = tmp_path / "out.json"
        start = time.monotonic()
        done = run_prestart("run", "--profile", str(profile), "--catalog", str(SPEC / "catalog.json"),
                            "--facts", str(SPEC / "facts" / "laptop.json"), "--answers",
                            str(SPEC / "answers" / "technician-laptop.yaml"), "--unattended", "--sink",
                            f"json:{out}", "--log-dir", str(tmp_path / "log"), "--ca-bundle", str(pki.bundle))
        seconds = time.monotonic() - start
        assert server.seen and server.seen[0].method == "POST"
    assert done.returncode == 0, done.stderr
    assert json.loads(out.read_text(encoding="utf-8"))["OSDComputerName"]
    assert seconds < 2 + 4, seconds  # the audit budget plus the run itself
    assert "receipt not sent" in (tmp_path / "log" / "prestart.log").read_text(encoding="utf-8")
