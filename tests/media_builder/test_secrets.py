"""Secrets never travel: the scan runs on what is signed (the decoded catalog, every item, embedded task sequences)
before signing, in build, fetch and publish; a canary scan of every built output finds nothing (issue 19)."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
import yaml

from agent.errors import ExitCode
from media_builder.cli import main
from media_builder.wim import extract_files
from tests.agent.catalog.loopback import Reply, https_server, make_pki
from tests.media_builder.conftest import MediaWorkspace

CANARY = "Canary-Media-4b1d9e"
HIDDEN_TS = (
    '<sequence version="3.00"><group name="Install"><step type="SMS_TaskSequence_JoinDomainWorkgroupAction" '
    'name="Join"><defaultVarList><variable name="OSDJoinPassword" property="DomainPassword" hidden="true">'
    f"{CANARY}</variable></defaultVarList><action>osdjoin.exe</action></step></group></sequence>"
)


@pytest.fixture(autouse=True)
def _pinned_epoch(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1767225600")


def _catalog_item(ws: MediaWorkspace, **attrs: str) -> None:
    path = ws.root / "catalog.json"
    data = json.loads(path.read_text(encoding="utf-8"))
    data["lists"]["deployments"][0].update(attrs)
    path.write_text(json.dumps(data), encoding="utf-8")


def _definition(ws: MediaWorkspace, change: dict[str, object]) -> None:
    data = yaml.safe_load(ws.media_yaml.read_text(encoding="utf-8"))
    data["catalog"].update(change)
    ws.media_yaml.write_text(yaml.safe_dump(data), encoding="utf-8")


def _nothing_built(out: Path) -> bool:
    image = out / "winpe-x64"
    return not (out / "manifest.json").exists() and (not image.exists() or not list(image.iterdir()))


@pytest.mark.parametrize("attrs,said", [
    ({"join_password": CANARY}, "attribute 'join_password' looks secret"),
    ({"ApiToken": CANARY}, "attribute 'ApiToken' looks secret"),
    ({"sequence": HIDDEN_TS}, "task sequence variable 'OSDJoinPassword' is marked hidden"),
])
def test_a_secret_in_the_catalog_stops_the_build_before_signing(
    workspace: MediaWorkspace, tmp_path: Path, capsys: pytest.CaptureFixture[str], attrs: dict[str, str], said: str
) -> None:
    _catalog_item(workspace, **attrs)
    out = tmp_path / "out"
    code = main(["build", str(workspace.media_yaml), "-o", str(out), "-q"])
    err = capsys.readouterr().err
    assert code == ExitCode.INVALID_DATA, err
    assert said in err and "catalog list 'deployments' item win11-lab" in err
    assert CANARY not in err
    assert _nothing_built(out)


@pytest.mark.parametrize("command", ["fetch", "publish"])
def test_fetch_and_publish_run_the_scan_too(
    workspace: MediaWorkspace, tmp_path: Path, capsys: pytest.CaptureFixture[str], command: str
) -> None:
    _catalog_item(workspace, join_password=CANARY)
    target = tmp_path / "signed"
    args = ["fetch", str(workspace.media_yaml), "-o", str(target)] if command == "fetch" else [
        "publish", str(workspace.media_yaml), str(target)]
    code = main(args)
    err = capsys.readouterr().err
    assert code == ExitCode.INVALID_DATA, err
    assert "looks secret" in err and CANARY not in err
    assert not target.exists() or not list(target.iterdir())


def test_an_allowed_attribute_is_built_with_its_reason_in_the_definition(
    workspace: MediaWorkspace, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _catalog_item(workspace, product_key="NPPR9-FWDCX-D2C8J-H872K-2YT43")  # a public KMS client key
    _definition(workspace, {"allow_secrets": [{"name": "product_key", "reason": "KMS client keys are public"}]})
    assert main(["build", str(workspace.media_yaml), "-o", str(tmp_path / "out"), "-q"]) == 0, capsys.readouterr()


def test_an_allowance_needs_a_reason(workspace: MediaWorkspace, capsys: pytest.CaptureFixture[str]) -> None:
    _definition(workspace, {"allow_secrets": [{"name": "product_key"}]})
    assert main(["check", str(workspace.media_yaml)]) == ExitCode.INVALID_DATA
    assert "catalog.allow_secrets[0].reason" in capsys.readouterr().err


def test_a_build_token_served_back_in_the_catalog_never_reaches_the_media(
    workspace: MediaWorkspace, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # A catalog service that echoes the bearer token into an item (a misconfigured backend does exactly this).
    catalog = json.loads((workspace.root / "catalog.json").read_text(encoding="utf-8"))
    catalog["lists"]["deployments"][0]["description"] = f"built by {CANARY}"
    pki = make_pki(tmp_path)
    monkeypatch.setenv("PRESTART_TEST_TOKEN", CANARY)
    with https_server(pki.cert, Reply(body=json.dumps(catalog).encode("utf-8"))) as server:
        _definition(workspace, {"sources": [{"http": {"url": server.url(), "token_env": "PRESTART_TEST_TOKEN",
                                                      "ca_bundle": str(pki.bundle)}}]})
        out = tmp_path / "out"
        code = main(["build", str(workspace.media_yaml), "-o", str(out), "-q"])
    err = capsys.readouterr().err
    assert code == ExitCode.INVALID_DATA, err
    assert "the value of the environment variable PRESTART_TEST_TOKEN" in err and CANARY not in err
    assert _nothing_built(out)


def test_the_canary_scan_of_every_built_output_finds_nothing(
    workspace: MediaWorkspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A clean build that used a bearer token and the signing key: neither is in any output file, in clear, as
    UTF-16, or inside the signed catalog's base64 in the boot image."""
    catalog = (workspace.root / "catalog.json").read_bytes()
    pki = make_pki(tmp_path)
    monkeypatch.setenv("PRESTART_TEST_TOKEN", CANARY)
    seed = workspace.key.read_text(encoding="ascii").split()[-1]
    with https_server(pki.cert, Reply(body=catalog)) as server:
        _definition(workspace, {"sources": [{"http": {"url": server.url(), "token_env": "PRESTART_TEST_TOKEN",
                                                      "ca_bundle": str(pki.bundle)}}]})
        out = tmp_path / "out"
        assert main(["build", str(workspace.media_yaml), "-o", str(out), "-q"]) == 0
        assert server.seen[0].headers["authorization"] == f"Bearer {CANARY}"  # the token was really used
    needles = [text.encode(codec) for text in (CANARY, seed) for codec in ("utf-8", "utf-16-le")]
    scanned = 0
    for path in sorted(out.rglob("*")):
        if path.is_file():
            blob = path.read_bytes()
            scanned += 1
            assert not any(n in blob for n in needles), path
    wim = out / "winpe-x64" / "wim" / "boot.wim"
    payload = extract_files(wim, 1, ["sms/PKG/PRST0001/catalog.json", "sms/PKG/PRST0001/profile.json"])
    for name, blob in payload.items():
        inner = base64.b64decode(json.loads(blob)["payload"]) if name.endswith("catalog.json") else blob
        assert not any(n in inner for n in needles), name
    assert scanned > 10
