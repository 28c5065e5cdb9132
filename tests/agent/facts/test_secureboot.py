"""Secure Boot facts read from real OVMF varstores (virt-firmware) and from efivarfs trees built from them."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from agent.facts import FACT_NAMES
from agent.facts.secureboot import bootmgr_svn, efivarfs_reader, secure_boot_facts, signature_lists
from tests.agent.facts.varstores import (
    BLANK_VARS,
    MS_VARS,
    efivarfs_tree,
    firmware_view,
    make_varstore,
)
from tests.media_builder.efi_lab import MS_CERTS, make_ca

PCA_2011 = MS_CERTS["Microsoft Windows Production PCA 2011"]
UEFI_CA_2011 = MS_CERTS["Microsoft Corporation UEFI CA 2011"]
CA_2023 = MS_CERTS["Windows UEFI CA 2023"]
UEFI_CA_2023 = MS_CERTS["Microsoft UEFI CA 2023"]


def varstore_reader(varstore: Path) -> Callable[[str, str], bytes | None]:
    view = firmware_view(varstore)

    def read(name: str, guid: str) -> bytes | None:
        found = view.get((name, guid))
        return found[1] if found else None

    return read


@pytest.fixture(scope="module")
def pk(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_ca(tmp_path_factory.mktemp("pk"), "Lab Platform Key").pem


@pytest.fixture(scope="module")
def stores(pk: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("varstores")
    return {
        "debian-ms": MS_VARS,  # as shipped: the 2011 CAs only
        "blank": BLANK_VARS,  # no keys at all
        "2023-only": make_varstore(folder / "2023.fd", pk=pk, db=[CA_2023, UEFI_CA_2023]),
        "pca-revoked": make_varstore(
            folder / "revoked.fd",
            pk=pk,
            db=[PCA_2011, UEFI_CA_2011, CA_2023, UEFI_CA_2023],
            dbx_certs=[PCA_2011],
            dbx_svn=(7, 0),
        ),
    }


EXPECTED = {
    "debian-ms": {
        "IsSecureBoot": "True",
        "SecureBootSetupMode": "False",
        "SecureBootDbHasCA2023": "False",
        "SecureBootDbHasPCA2011": "True",
        "SecureBootDbxRevokesPCA2011": "False",
        "SecureBootDbxBootMgrSVN": "",
    },
    "blank": {
        "IsSecureBoot": "False",
        "SecureBootSetupMode": "True",
        "SecureBootDbHasCA2023": "False",
        "SecureBootDbHasPCA2011": "False",
        "SecureBootDbxRevokesPCA2011": "False",
        "SecureBootDbxBootMgrSVN": "",
    },
    "2023-only": {
        "IsSecureBoot": "True",
        "SecureBootSetupMode": "False",
        "SecureBootDbHasCA2023": "True",
        "SecureBootDbHasPCA2011": "False",
        "SecureBootDbxRevokesPCA2011": "False",
        "SecureBootDbxBootMgrSVN": "",
    },
    "pca-revoked": {
        "IsSecureBoot": "True",
        "SecureBootSetupMode": "False",
        "SecureBootDbHasCA2023": "True",
        "SecureBootDbHasPCA2011": "True",
        "SecureBootDbxRevokesPCA2011": "True",
        "SecureBootDbxBootMgrSVN": "7.0",
    },
}


@pytest.mark.parametrize("state", sorted(EXPECTED))
def test_facts_from_the_varstore(stores: dict[str, Path], state: str) -> None:
    assert secure_boot_facts(varstore_reader(stores[state])) == EXPECTED[state]


@pytest.mark.parametrize("state", sorted(EXPECTED))
def test_facts_from_an_efivarfs_tree(stores: dict[str, Path], state: str, tmp_path: Path) -> None:
    tree = efivarfs_tree(stores[state], tmp_path / "efivars")
    assert secure_boot_facts(efivarfs_reader(tree)) == EXPECTED[state]


def test_no_efivarfs_means_every_fact_false_or_empty(tmp_path: Path) -> None:
    facts = secure_boot_facts(efivarfs_reader(tmp_path / "absent"))
    assert set(facts.values()) == {"False", ""}
    assert set(facts) <= set(FACT_NAMES)  # gather() returns them, and profiles may name them


def test_the_highest_svn_wins_and_other_applications_do_not_count(pk: Path, tmp_path: Path) -> None:
    store = make_varstore(tmp_path / "svn.fd", pk=pk, db=[CA_2023], dbx_svn=(3, 2))
    dbx = varstore_reader(store)("dbx", "d719b2cb-3d3a-4596-a3bc-dad00e67656f")
    assert dbx is not None
    assert bootmgr_svn(dbx) == (3, 2)
    # Another application's SVN entry (cdboot) beside it is not the boot manager's.
    cdboot = bytearray(dbx)
    entries = list(signature_lists(bytes(dbx)))
    assert len(entries) == 1
    index = bytes(dbx).index(bytes.fromhex("61 2b 13 9d"))
    cdboot[index : index + 4] = bytes.fromhex("2e 9d f8 e8")
    assert bootmgr_svn(bytes(cdboot)) is None


def test_a_truncated_signature_list_is_ignored_not_raised() -> None:
    data = (MS_VARS.read_bytes())[:10]
    assert list(signature_lists(data)) == []
    assert list(signature_lists(b"\xff" * 40)) == []


PROFILE_ADDITIONS = """
  - name: Windows UEFI CA 2023 in db
    check: SecureBootDbHasCA2023 == "True" or IsSecureBoot != "True"
    severity: {severity}
    message: This machine needs the 2023 db update before this image (docs/secure-boot.md).
"""


def _profile_run(tmp_path: Path, varstore: Path, severity: str) -> tuple[int, str, Path]:

    from tests.conftest import SPEC, run_prestart

    text = (SPEC / "technician.yaml").read_text(encoding="utf-8")
    text = text.replace("preflight:\n", "preflight:" + PROFILE_ADDITIONS.format(severity=severity), 1)
    text = text.replace(
        "rules:\n",
        'rules:\n  - when: SecureBootDbHasCA2023 != "True"\n    set:\n      PrestartNeedsCA2023: "True"\n',
        1,
    )
    profile = tmp_path / "profile.yaml"
    profile.write_text(text, encoding="utf-8")
    facts = json.loads((SPEC / "facts/laptop.json").read_text(encoding="utf-8"))
    facts.update(secure_boot_facts(efivarfs_reader(efivarfs_tree(varstore, tmp_path / "efivars"))))
    facts_file = tmp_path / "facts.json"
    facts_file.write_text(json.dumps(facts), encoding="utf-8")
    answers = tmp_path / "answers.yaml"
    answers.write_text(json.dumps({"deployment": "win11-lab"}), encoding="utf-8")
    out = tmp_path / "out.json"
    done = run_prestart(
        "run", "--profile", str(profile), "--catalog", str(SPEC / "catalog.json"), "--facts", str(facts_file),
        "--answers", str(answers), "--unattended", "--sink", f"json:{out}", "--log-dir", str(tmp_path / "log"),
    )  # fmt: skip
    return done.returncode, done.stderr, out


def test_a_profile_blocks_a_machine_without_the_2023_ca(tmp_path: Path) -> None:
    code, stderr, out = _profile_run(tmp_path, MS_VARS, "error")
    assert code == 21
    assert "needs the 2023 db update" in stderr
    assert not out.exists()  # nothing is written when preflight fails


def test_a_profile_warns_and_tells_the_task_sequence(tmp_path: Path, stores: dict[str, Path]) -> None:

    code, stderr, out = _profile_run(tmp_path, MS_VARS, "warning")
    assert code == 0, stderr
    assert json.loads(out.read_text(encoding="utf-8"))["PrestartNeedsCA2023"] == "True"
    updated = tmp_path / "updated"
    updated.mkdir()
    code, stderr, out = _profile_run(updated, stores["pca-revoked"], "error")
    assert code == 0, stderr
    assert "PrestartNeedsCA2023" not in json.loads(out.read_text(encoding="utf-8"))


def test_guid_text_matches_the_uuid_module() -> None:
    import uuid

    from agent.facts.secureboot import guid

    for text in ("9d132b61-59d5-4388-ab1c-185cfcb2eb92", "a5c059a1-94e4-4aa7-87b5-ab155c2bf072"):
        assert guid(uuid.UUID(text).bytes_le) == text
