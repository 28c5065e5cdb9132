"""The AdminService source against a stand-in that speaks OData with paging and a real NTLM challenge."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import re
import struct
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from agent.errors import DataError, SourceUnavailable
from media_builder.catalog_build import build_catalog, parse_sources
from tests.agent.catalog.loopback import Reply, Seen, https_server, make_pki

USER, DOMAIN, PASSWORD = "svc-prestart", "CONTOSO", "Pa55-w0rd!AdminService"
COLLECTION = "CM100017"
ADVERTISEMENTS: list[dict[str, Any]] = [
    {"AdvertisementID": "CM120045", "PackageID": "CM100123", "CollectionID": COLLECTION},
    {"AdvertisementID": "CM120046", "PackageID": "CM100124", "CollectionID": COLLECTION},
    {"AdvertisementID": "CM120050", "PackageID": "CM100200", "CollectionID": COLLECTION},  # a plain package
    {"AdvertisementID": "CM120031", "PackageID": "CM100099", "CollectionID": COLLECTION},
    {"AdvertisementID": "CM129999", "PackageID": "CM100123", "CollectionID": "CM100099"},  # another collection
]
TASK_SEQUENCES: dict[str, dict[str, Any]] = {
    "CM100123": {"PackageID": "CM100123", "Name": "Windows 11 24H2 – Lab", "Description": "Standard lab image."},
    "CM100124": {"PackageID": "CM100124", "Name": "Windows 11 24H2 – Core", "Description": "OS and drivers only."},
    "CM100099": {"PackageID": "CM100099", "Name": "Windows 10 22H2 – Legacy", "Description": None},
}
PAGE = 2


def md4(data: bytes) -> bytes:
    try:
        return hashlib.new("md4", data).digest()
    except ValueError:  # OpenSSL 3 without the legacy provider
        from spnego._ntlm_raw.md4 import md4 as pure_md4

        return pure_md4(data)


def _field(msg: bytes, offset: int) -> bytes:
    length, _, start = struct.unpack_from("<HHI", msg, offset)
    return msg[start : start + length]


def challenge_message(client_flags: int, challenge: bytes) -> bytes:
    """An NTLM CHALLENGE (type 2) message offering what the client asked for, with target info for NTLMv2."""
    target = DOMAIN.encode("utf-16-le")

    def av(kind: int, value: bytes) -> bytes:
        return struct.pack("<HH", kind, len(value)) + value

    filetime = int((datetime.now(UTC).timestamp() + 11644473600) * 10_000_000)
    info = (
        av(2, target)
        + av(1, b"C\x00M\x000\x001\x00")
        + av(4, "contoso.example".encode("utf-16-le"))
        + av(3, "cm01.contoso.example".encode("utf-16-le"))
        + av(7, struct.pack("<Q", filetime))
        + av(0, b"")
    )
    flags = (client_flags & 0xE2088235) | 0x00800000 | 0x00010000 | 0x00000004 | 0x00000001
    header_len = 56
    return (
        b"NTLMSSP\x00"
        + struct.pack("<I", 2)
        + struct.pack("<HHI", len(target), len(target), header_len)
        + struct.pack("<I", flags)
        + challenge
        + b"\x00" * 8
        + struct.pack("<HHI", len(info), len(info), header_len + len(target))
        + b"\x0a\x00\x63\x45\x00\x00\x00\x0f"
        + target
        + info
    )


def check_authenticate(msg: bytes, challenge: bytes) -> bool:
    """Verify an NTLMv2 AUTHENTICATE (type 3) message against the known password."""
    if msg[:8] != b"NTLMSSP\x00" or struct.unpack_from("<I", msg, 8)[0] != 3:
        return False
    nt_response = _field(msg, 20)
    domain = _field(msg, 28).decode("utf-16-le")
    user = _field(msg, 36).decode("utf-16-le")
    if user.lower() != USER or domain.upper() != DOMAIN or len(nt_response) <= 16:
        return False
    proof, blob = nt_response[:16], nt_response[16:]
    key = hmac.new(md4(PASSWORD.encode("utf-16-le")), (user.upper() + domain).encode("utf-16-le"), "md5").digest()
    return hmac.compare_digest(proof, hmac.new(key, challenge + blob, "md5").digest())


class StandIn:
    """AdminService on loopback: NTLM per connection, then OData with $filter/$select and @odata.nextLink paging."""

    def __init__(self) -> None:
        self.ntlm_steps: list[str] = []
        self.queries: list[dict[str, str]] = []

    def __call__(self, seen: Seen, state: dict[str, Any]) -> Reply:
        if not state.get("authenticated"):
            header = seen.headers.get("authorization", "")
            if not header.startswith("NTLM "):
                self.ntlm_steps.append("401")
                return Reply(status=401, headers={"WWW-Authenticate": "NTLM"}, body=b"")
            msg = base64.b64decode(header[5:])
            kind = struct.unpack_from("<I", msg, 8)[0] if msg[:8] == b"NTLMSSP\x00" else 0
            if kind == 1:
                self.ntlm_steps.append("negotiate")
                state["challenge"] = os.urandom(8)
                flags = struct.unpack_from("<I", msg, 12)[0]
                token = base64.b64encode(challenge_message(flags, state["challenge"])).decode()
                return Reply(status=401, headers={"WWW-Authenticate": f"NTLM {token}"})
            if kind == 3 and "challenge" in state and check_authenticate(msg, state["challenge"]):
                self.ntlm_steps.append("authenticated")
                state["authenticated"] = True
            else:
                self.ntlm_steps.append("refused")
                return Reply(status=401, headers={"WWW-Authenticate": "NTLM"})
        return self.odata(seen)

    def odata(self, seen: Seen) -> Reply:
        parts = urlsplit(seen.path)
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        self.queries.append({"path": parts.path, **query})
        select = query.get("$select", "").split(",")
        if parts.path == "/AdminService/wmi/SMS_Advertisement":
            match = re.fullmatch(r"CollectionID eq '(\w+)'", query.get("$filter", ""))
            rows = [a for a in ADVERTISEMENTS if match and a["CollectionID"] == match.group(1)]
        elif (key := re.fullmatch(r"/AdminService/wmi/SMS_TaskSequencePackage\('(\w+)'\)", parts.path)) is not None:
            row = TASK_SEQUENCES.get(key.group(1))
            if row is None:
                return Reply(status=404)
            xml = f'<sequence version="3.10"><step type="SMS_TaskSequence_RunCommandLineAction" name="{row["Name"]}">' \
                  "<action>cmd /c exit 0</action></step></sequence>"
            return Reply(body=json.dumps({"value": [{**row, "Sequence": xml}]}).encode())
        elif parts.path == "/AdminService/wmi/SMS_TaskSequencePackage":
            wanted = set(re.findall(r"PackageID eq '(\w+)'", query.get("$filter", "")))
            rows = [TASK_SEQUENCES[p] for p in sorted(wanted) if p in TASK_SEQUENCES]
        else:
            return Reply(status=404)
        skip = int(query.get("$skiptoken", "0"))
        page = [{k: v for k, v in row.items() if k in select} for row in rows[skip : skip + PAGE]]
        doc: dict[str, Any] = {
            "@odata.context": f"https://{seen.headers['host']}/AdminService/wmi/$metadata",
            "value": page,
        }
        if skip + PAGE < len(rows):
            doc["@odata.nextLink"] = (
                f"https://{seen.headers['host']}{parts.path}?{parts.query}&$skiptoken={skip + PAGE}"
            )
        return Reply(body=json.dumps(doc).encode())


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PRESTART_CM_USER", f"{DOMAIN}\\{USER}")
    monkeypatch.setenv("PRESTART_CM_PASSWORD", PASSWORD)


def fetch(tmp_path: Path, url: str, **options: Any):  # type: ignore[no-untyped-def]
    raw = [{"adminservice": {"url": url, "collection": COLLECTION, "ca_bundle": "ca.pem", **options}}]
    configs, problems = parse_sources(raw, base_dir=tmp_path)
    assert not problems, problems
    return build_catalog(configs, serial=None, now=datetime(2026, 11, 20, tzinfo=UTC))


def test_deployments_from_adminservice_with_ntlm_and_paging(tmp_path: Path, env: None) -> None:
    pki = make_pki(tmp_path)
    stand_in = StandIn()
    with https_server(pki.cert, stand_in) as server:
        catalog = fetch(tmp_path, server.url("/AdminService"))
    items = catalog.items("deployments")
    assert [i.id for i in items] == ["CM120045", "CM120046", "CM120031"]  # the plain package dropped out
    lab = items[0]
    assert (lab.attr("advertisement_id"), lab.attr("package_id")) == ("CM120045", "CM100123")
    assert (lab.label, lab.attr("description")) == ("Windows 11 24H2 – Lab", "Standard lab image.")
    assert items[2].attr("description") == ""
    assert stand_in.ntlm_steps[:3] == ["401", "negotiate", "authenticated"]
    adverts = [q for q in stand_in.queries if q["path"].endswith("SMS_Advertisement")]
    assert len(adverts) == 2 and "$skiptoken" in adverts[1]  # followed @odata.nextLink
    assert adverts[0]["$filter"] == "CollectionID eq 'CM100017'"
    assert adverts[0]["$select"] == "AdvertisementID,PackageID,CollectionID"
    ts = [q for q in stand_in.queries if q["path"].endswith("SMS_TaskSequencePackage")]
    assert ts[0]["$select"] == "PackageID,Name,Description"
    assert "adminservice:https://127.0.0.1:" in catalog.source and PASSWORD not in catalog.source


def test_wrong_password_is_refused_and_never_shown(tmp_path: Path, env: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PRESTART_CM_PASSWORD", "not-the-password")
    pki = make_pki(tmp_path)
    stand_in = StandIn()
    with https_server(pki.cert, stand_in) as server, pytest.raises(SourceUnavailable) as caught:
        fetch(tmp_path, server.url("/AdminService"))
    assert "refused" in stand_in.ntlm_steps
    assert "401" in caught.value.message and "not-the-password" not in str(caught.value)
    assert "credentials" in caught.value.hint


def test_collection_without_task_sequences(tmp_path: Path, env: None) -> None:
    pki = make_pki(tmp_path)
    with https_server(pki.cert, StandIn()) as server, pytest.raises(DataError, match="no task sequence deployments"):
        raw = [{"adminservice": {"url": server.url("/AdminService"), "collection": "CM100555", "ca_bundle": "ca.pem"}}]
        configs, _ = parse_sources(raw, base_dir=tmp_path)
        build_catalog(configs, serial=None, now=datetime(2026, 11, 20, tzinfo=UTC))


def test_missing_credentials_name_the_variables(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PRESTART_CM_USER", raising=False)
    make_pki(tmp_path)
    with pytest.raises(SourceUnavailable, match="PRESTART_CM_USER"):
        fetch(tmp_path, "https://127.0.0.1:9/AdminService")


def test_sequences_come_from_a_per_key_get(tmp_path: Path, env: None) -> None:
    pki = make_pki(tmp_path)
    stand_in = StandIn()
    with https_server(pki.cert, stand_in) as server:
        catalog = fetch(tmp_path, server.url("/AdminService"), sequences=True)
    lab = catalog.items("deployments")[0]
    assert lab.attr("sequence").startswith('<sequence version="3.10">')
    keyed = [q["path"] for q in stand_in.queries if "SMS_TaskSequencePackage(" in q["path"]]
    assert keyed and all(p.endswith("')") for p in keyed)
    from agent.tasksequence.plan import preview

    assert [e.status for e in preview(lab.attr("sequence"), {})] == ["run"]
