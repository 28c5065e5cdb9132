"""media_builder.efi and bootcheck: signature blocks, nested signatures, CA keys, look-alikes, SVN, boot verdicts,
and the default trust anchors (Microsoft's CA certificates as virt-firmware ships them)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from agent.errors import DataError, InputError
from media_builder import bootcheck, efi
from tests.conftest import REPO
from tests.media_builder.efi_lab import MS_CERTS, SHIM, Lab, make_signer

# Microsoft's certificates (from microsoft/secureboot_objects) as CI has them beside the repository.
OUTSIDE_CERTS = REPO.parent / "shared" / "secureboot" / "certs"


def ms_anchors() -> tuple[efi.Anchor, ...]:
    return efi.default_anchors()


def test_the_known_ca_facts_match_microsofts_certificates() -> None:
    anchors = ms_anchors()
    assert sorted(a.ca.name for a in anchors) == sorted(ca.name for ca in efi.MICROSOFT_CAS)
    assert all(a.origin.startswith("virt-firmware ") and not a.test for a in anchors)


def test_the_default_anchors_are_microsofts_certificates_byte_for_byte() -> None:
    if not OUTSIDE_CERTS.is_dir():
        pytest.skip("Microsoft's certificates are beside the repository only on CI")
    outside = {efi.spki_sha256(p.read_bytes()): p.read_bytes() for p in sorted(OUTSIDE_CERTS.glob("*.der"))}
    assert {a.ca.spki_sha256: a.der for a in ms_anchors()} == outside


def _cert_folder_copy(tmp_path: Path) -> Path:
    """A copy of virt-firmware's certificate folder, to change."""
    folder, _ = efi.microsoft_cert_folder()
    copy = tmp_path / "microsoft.com"
    shutil.copytree(str(folder), copy)
    return copy


def test_the_default_anchors_refuse_a_look_alike_certificate(lab: Lab, tmp_path: Path) -> None:
    folder = _cert_folder_copy(tmp_path)
    # Windows UEFI CA 2023's name, another key: what a tampered package would hold.
    shutil.copyfile(lab.lookalike.pem, folder / "windows-2023.pem")
    with pytest.raises(DataError) as caught:
        efi.default_anchors(folder, "a copy")
    assert str(folder / "windows-2023.pem") in caught.value.message
    assert "does not hold the public key of Windows UEFI CA 2023" in caught.value.message
    assert "reinstall virt-firmware" in caught.value.hint and "--ca-cert" in caught.value.hint
    # The user's own copy of that CA replaces the tampered one.
    anchors = efi.default_anchors(folder, "a copy", skip={"Windows UEFI CA 2023"})
    assert efi.WINDOWS_UEFI_CA_2023 not in {a.ca for a in anchors} and len(anchors) == len(efi.MICROSOFT_CAS) - 1


@pytest.mark.parametrize(("damage", "says"), [(b"", "is not an X.509 certificate"), (None, "missing from a copy")])
def test_a_damaged_or_missing_default_certificate_is_a_clear_error(
    tmp_path: Path, damage: bytes | None, says: str
) -> None:
    folder = _cert_folder_copy(tmp_path)
    target = folder / "ms-uefi-2023.pem"
    if damage is None:
        target.unlink()
    else:
        target.write_bytes(damage)
    with pytest.raises(DataError, match=f"ms-uefi-2023.pem: .*{says}"):
        efi.default_anchors(folder, "a copy")


def test_a_given_ca_certificate_replaces_the_default_copy(tmp_path: Path) -> None:
    der = next(a.der for a in ms_anchors() if a.ca == efi.WINDOWS_UEFI_CA_2023)
    given = tmp_path / "windows-uefi-ca-2023.crt"
    given.write_bytes(x509.load_der_x509_certificate(der).public_bytes(serialization.Encoding.PEM))
    anchors = efi.load_anchors([given])
    assert [a.file for a in anchors if a.ca == efi.WINDOWS_UEFI_CA_2023] == [str(given)]
    assert {a.ca for a in anchors} == set(efi.MICROSOFT_CAS)
    line = efi.describe_anchors(anchors)
    assert f"Windows UEFI CA 2023 from {given}" in line and "shipped with virt-firmware" in line and "(6," in line
    assert [a.file for a in efi.load_anchors([given], defaults=False)] == [str(given)]


def test_real_shim_has_two_signature_blocks_uefi_ca_2011_and_2023() -> None:
    image = efi.read_efi_file(SHIM, ms_anchors())
    assert [(s.block, s.nested, s.trusted) for s in image.signatures] == [(0, False, True), (1, False, True)]
    assert [s.ca.name for s in image.signatures if s.ca] == [
        "Microsoft Corporation UEFI CA 2011",
        "Microsoft UEFI CA 2023",
    ]
    assert all(s.digest_ok for s in image.signatures)
    assert image.machine == "amd64"
    assert image.svn is None


def test_a_changed_byte_breaks_every_signature(tmp_path: Path) -> None:
    data = bytearray(SHIM.read_bytes())
    data[0x1000] ^= 0xFF  # code, covered by the Authenticode hash
    image = efi.read_efi(bytes(data), "tampered.efi", ms_anchors())
    assert len(image.signatures) == 2
    assert not any(s.trusted for s in image.signatures)
    assert all("changed after it was signed" in s.problem for s in image.signatures)


def test_lab_ca_counts_only_when_named_as_a_test_ca(lab: Lab) -> None:
    app = lab.app("only2023", lab.signer2023)
    trusted = efi.read_efi_file(app, efi.load_anchors([], test_cas=lab.test_cas()))
    assert trusted.signatures[0].ca == efi.WINDOWS_UEFI_CA_2023
    assert trusted.signatures[0].test_ca
    assert "(lab test CA)" in trusted.lines()[1]
    untrusted = efi.read_efi_file(app, ms_anchors())
    assert not untrusted.signatures[0].trusted
    assert "Lab UEFI CA 2023" in untrusted.signatures[0].problem


def test_a_look_alike_of_the_2023_ca_is_untrusted(lab: Lab) -> None:
    signer = make_signer(lab.root / "certs", lab.lookalike, "Look Alike Signer")
    image = efi.read_efi_file(lab.app("lookalike", signer), ms_anchors())
    (sig,) = image.signatures
    assert sig.issuer == "Windows UEFI CA 2023"  # the name is Microsoft's...
    assert not sig.trusted and sig.ca is None  # ...the key is not
    assert "look-alike" in sig.problem
    assert image.cas() == set()


def test_a_plain_certificate_is_not_accepted_as_a_microsoft_ca(lab: Lab) -> None:
    with pytest.raises(InputError, match="not one of Microsoft's Secure Boot CAs"):
        efi.load_anchors([lab.lookalike.der])


def test_nested_signature_is_reported_but_firmware_reads_only_the_top_level(lab: Lab) -> None:
    app = lab.app("nested", lab.signer2023, nested=lab.signer2011, svn=(5, 2))
    image = efi.read_efi_file(app, efi.load_anchors([], test_cas=lab.test_cas()))
    assert [(s.nested, s.ca.generation if s.ca else None) for s in image.signatures] == [
        (False, "2023"),
        (True, "2011"),
    ]
    assert image.cas() == {"2023"}
    assert image.svn == (5, 2)
    states = {s.key: s for s in bootcheck.machine_states()}
    # EDK2 does not read nested signatures: a nested 2011 signature neither helps on (a) nor hurts on (c).
    assert bootcheck.boots(image, states["a"])[0] is False
    assert bootcheck.boots(image, states["c"])[0] is True


@pytest.mark.parametrize(
    ("signers", "expected"),
    [
        (("2011",), {"a": True, "b": False, "c": False}),
        (("2023",), {"a": False, "b": True, "c": True}),
        # Dual-signed: boots on either db, but a revoked PCA 2011 block refuses the whole image.
        (("2011", "2023"), {"a": True, "b": True, "c": False}),
        ((), {"a": False, "b": False, "c": False}),
    ],
)
def test_boot_verdict_per_machine_state(lab: Lab, signers: tuple[str, ...], expected: dict[str, bool]) -> None:
    by_gen = {"2011": lab.signer2011, "2023": lab.signer2023}
    app = lab.app("verdict-" + "-".join(signers or ("none",)), *(by_gen[g] for g in signers))
    image = efi.read_efi_file(app, efi.load_anchors([], test_cas=lab.test_cas()))
    got = {s.key: bootcheck.boots(image, s)[0] for s in bootcheck.machine_states()}
    assert got == expected


def test_minimum_svn_refuses_an_older_boot_manager(lab: Lab) -> None:
    app = lab.app("svn", lab.signer2023, svn=(3, 0))
    image = efi.read_efi_file(app, efi.load_anchors([], test_cas=lab.test_cas()))
    d_low = bootcheck.machine_states((2, 0))[-1]
    d_high = bootcheck.machine_states((4, 0))[-1]
    assert bootcheck.boots(image, d_low) == (True, "chains to Windows UEFI CA 2023")
    ok, why = bootcheck.boots(image, d_high)
    assert not ok and "SVN 3.0 is below dbx's 4.0" in why


def test_cli_inspect_an_efi_file_checks_with_microsofts_cas_by_default() -> None:
    args = [sys.executable, "-m", "media_builder", "inspect", str(SHIM)]
    result = subprocess.run(args, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "trust anchors: Microsoft's CA certificates shipped with virt-firmware" in result.stdout
    assert "signature block 0" in result.stdout and "chains to Microsoft Corporation UEFI CA 2011" in result.stdout
    assert "signature block 1" in result.stdout and "chains to Microsoft UEFI CA 2023" in result.stdout
    assert "(c) PCA 2011 revoked in dbx (KB5025885 mitigations applied): boots" in result.stdout


def test_cli_inspect_a_file_that_is_not_pe(tmp_path: Path) -> None:
    bad = tmp_path / "notes.efi"
    bad.write_bytes(b"hello")
    result = subprocess.run(
        [sys.executable, "-m", "media_builder", "inspect", str(bad)], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 13
    assert "not a PE/EFI file" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.parametrize("cut", [100, 4000, 9000])
def test_a_truncated_signature_table_is_reported_not_raised(cut: int) -> None:
    data = SHIM.read_bytes()
    image = efi.read_efi(data[: len(data) - 19368 + cut], "truncated.efi", ms_anchors())
    assert not any(s.trusted for s in image.signatures)
    assert all(s.problem for s in image.signatures)
    assert bootcheck.boots(image, bootcheck.machine_states()[0])[0] is False


def test_cli_inspect_with_a_given_ca_and_a_look_alike(lab: Lab) -> None:
    signer = make_signer(lab.root / "certs", lab.lookalike, "Look Alike CLI Signer")
    app = lab.app("lookalike-cli", signer)
    given = MS_CERTS["Microsoft Corporation UEFI CA 2011"]
    args = [sys.executable, "-m", "media_builder", "inspect", str(app), "--ca-cert", str(given)]
    result = subprocess.run(args, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert f"Microsoft Corporation UEFI CA 2011 from {given}" in result.stdout
    assert "UNTRUSTED: names" in result.stdout and "look-alike" in result.stdout
    assert "(b) db holds only the 2023 CAs (machines shipped from 2024 on): REFUSED" in result.stdout
