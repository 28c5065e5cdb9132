"""media_builder.efi and bootcheck: signature blocks, nested signatures, CA keys, look-alikes, SVN, boot verdicts."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from agent.errors import InputError
from media_builder import bootcheck, efi
from tests.media_builder.efi_lab import MS_CERTS, SHIM, Lab, make_signer


def ms_anchors() -> tuple[efi.Anchor, ...]:
    return efi.load_anchors(sorted(MS_CERTS.glob("*.der")))


def test_the_known_ca_facts_match_microsofts_certificates() -> None:
    anchors = ms_anchors()
    assert sorted(a.ca.name for a in anchors) == sorted(ca.name for ca in efi.MICROSOFT_CAS)


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


def test_cli_inspect_an_efi_file(lab: Lab) -> None:
    args = [sys.executable, "-m", "media_builder", "inspect", str(SHIM)]
    args += [a for der in sorted(MS_CERTS.glob("*.der")) for a in ("--ca-cert", str(der))]
    result = subprocess.run(args, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
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
