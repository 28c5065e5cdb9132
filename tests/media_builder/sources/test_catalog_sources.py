"""Catalog sources (file, http) and the build: merge in order, sign, and report every problem with its path."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from agent.catalog.verify import load_catalog
from agent.errors import SourceUnavailable, ValidationFailed
from media_builder import signing
from media_builder.catalog_build import build_catalog, parse_sources, write_signed
from tests.agent.catalog.loopback import Reply, Seen, https_server, make_pki

NOW = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)


def test_reference_file_source(spec_dir: Path) -> None:
    configs, problems = parse_sources([{"file": "catalog.json"}], base_dir=spec_dir)
    assert problems == [] and configs[0].source.describe() == "file:catalog.json"
    catalog = build_catalog(configs, serial=None, now=NOW)
    assert catalog.serial == 202611200800  # the build minute, larger than the file's 7
    assert catalog.generated == "2026-11-20T08:00:00Z" and catalog.source == "file:catalog.json"
    assert len(catalog.items("deployments")) == 3


def test_later_list_replaces_earlier_and_yaml_works(tmp_path: Path, spec_dir: Path) -> None:
    (tmp_path / "apps.yaml").write_text(
        "schema: 1\nserial: 300000000000\nlists:\n  applications:\n    - {id: git, label: Git}\n", encoding="utf-8"
    )
    (tmp_path / "catalog.json").write_bytes((spec_dir / "catalog.json").read_bytes())
    configs, problems = parse_sources([{"file": "catalog.json"}, {"file": {"path": "apps.yaml"}}], base_dir=tmp_path)
    assert not problems
    catalog = build_catalog(configs, serial=None, now=NOW, valid_days=30)
    assert [i.id for i in catalog.items("applications")] == ["git"]
    assert len(catalog.items("deployments")) == 3  # untouched
    assert catalog.serial == 300000000000  # the newest source's serial wins when larger
    assert catalog.not_after == "2026-12-20T08:00:00Z"


def test_every_problem_with_its_path(tmp_path: Path) -> None:
    raw = [
        {"file": "missing.json"},
        {"http": {"url": "http://plain.example/c.json", "tokn_env": "X"}},
        {"adminservice": {"url": "https://cm01/AdminService", "collection": "CM1' or 1 eq 1", "password": "x"}},
        {"ftp": "x"},
        "file",
    ]
    configs, problems = parse_sources(raw, base_dir=tmp_path)
    assert configs == []
    assert {p.path for p in problems} == {
        "catalog.sources[0].file",
        "catalog.sources[1].http.url",
        "catalog.sources[1].http.tokn_env",
        "catalog.sources[2].adminservice.collection",
        "catalog.sources[2].adminservice.password",
        "catalog.sources[3].ftp",
        "catalog.sources[4]",
    }


def test_http_source_with_bearer_token_and_signed_output(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pki = make_pki(tmp_path)
    token = "s3cr3t-token-value"
    monkeypatch.setenv("PRESTART_TEST_TOKEN", token)
    doc = {"schema": 1, "serial": 5, "lists": {"deployments": [{"id": "a", "label": "A"}]}}

    def script(seen: Seen, state: Any) -> Reply:
        if seen.headers.get("authorization") != f"Bearer {token}":
            return Reply(status=401)
        return Reply(body=json.dumps(doc).encode())

    private, public = signing.keygen(tmp_path / "keys")
    with https_server(pki.cert, script) as server:
        raw = [{"http": {"url": server.url("/api/choices"), "token_env": "PRESTART_TEST_TOKEN", "ca_bundle": "ca.pem"}}]
        out = tmp_path / "out" / "catalog.json"
        write_signed(raw, private, tmp_path, out, serial=11)
    text = out.read_text()
    assert token not in text and "PRESTART_TEST_TOKEN" not in text
    loaded = load_catalog(out, trust_key=public)
    assert loaded.signed and loaded.catalog.serial == 11 and loaded.catalog.items("deployments")[0].label == "A"
    assert loaded.catalog.source.startswith("http:https://127.0.0.1:")


def test_http_source_errors_never_show_the_token(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pki = make_pki(tmp_path)
    token = "tok-ABCDEFGH"
    monkeypatch.setenv("PRESTART_TEST_TOKEN", token)
    with https_server(pki.cert, Reply(status=403, body=token.encode())) as server:
        configs, _ = parse_sources(
            [
                {
                    "http": {
                        "url": server.url(f"/c?token={token}"),
                        "token_env": "PRESTART_TEST_TOKEN",
                        "ca_bundle": str(pki.bundle),
                    }
                }
            ],
            base_dir=tmp_path,
        )
        with pytest.raises(SourceUnavailable) as caught:
            build_catalog(configs, serial=None, now=NOW)
    assert "403" in str(caught.value) and token not in str(caught.value)


def test_missing_token_variable_names_the_variable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PRESTART_NOPE", raising=False)
    configs, _ = parse_sources(
        [{"http": {"url": "https://127.0.0.1:9/c", "token_env": "PRESTART_NOPE"}}], base_dir=tmp_path
    )
    with pytest.raises(SourceUnavailable, match="PRESTART_NOPE"):
        build_catalog(configs, serial=None, now=NOW)


def test_write_signed_refuses_a_readable_key_before_fetching(tmp_path: Path, spec_dir: Path) -> None:
    private, _ = signing.keygen(tmp_path / "keys")
    private.chmod(0o644)
    with pytest.raises(Exception, match="readable by others"):
        write_signed([{"file": "catalog.json"}], private, spec_dir, tmp_path / "c.json")
    assert not (tmp_path / "c.json").exists()


def test_write_signed_reports_a_missing_key(tmp_path: Path, spec_dir: Path) -> None:
    with pytest.raises(ValidationFailed) as caught:
        write_signed([{"file": "catalog.json"}], tmp_path / "none.key", spec_dir, tmp_path / "c.json")
    assert caught.value.problems[0].path == "catalog.signing_key"
