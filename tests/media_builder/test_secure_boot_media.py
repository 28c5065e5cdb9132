"""CA 2023 media by default, `secure_boot: 2011 | both`, sources without _EX files, and verify's Secure Boot report."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from examples.standin import make_winpe_standin
from media_builder import fatimage
from media_builder.iso import PLATFORM_EFI, SECTOR, VIRTUAL_SECTOR, read_boot_catalog
from tests.media_builder.conftest import MediaWorkspace
from tests.media_builder.efi_lab import Lab, signed_boot_files


def restandin(ws: MediaWorkspace, **kwargs: Any) -> None:
    """Replace the workspace's stand-in image (same paths) with one made with `kwargs`."""
    shutil.rmtree(ws.standin.root)
    make_winpe_standin(ws.standin.root, **kwargs)


def set_secure_boot(ws: MediaWorkspace, value: object) -> None:
    data = yaml.safe_load(ws.media_yaml.read_text(encoding="utf-8"))
    data["secure_boot"] = value
    ws.media_yaml.write_text(yaml.safe_dump(data), encoding="utf-8")


def cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "media_builder", *args], capture_output=True, text=True, cwd=cwd, timeout=300
    )


def lab_args(lab: Lab) -> list[str]:
    return [a for role, pem in lab.test_cas() for a in ("--test-ca", f"{role}={pem}")]


def build(ws: MediaWorkspace, *extra: str) -> tuple[subprocess.CompletedProcess[str], dict[str, Any]]:
    result = cli("build", str(ws.media_yaml), "-o", str(ws.root / "out"), *extra, cwd=ws.root)
    assert result.returncode == 0, result.stderr
    manifest = json.loads((ws.root / "out" / "manifest.json").read_text(encoding="utf-8"))
    return result, manifest


def outputs(manifest: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {o["path"].split("/", 1)[1]: o for o in manifest["boot_images"][0]["outputs"]}


def el_torito_uefi_app(iso: Path) -> bytes:
    """The EFI/BOOT/BOOTX64.EFI inside the ISO's UEFI El Torito image, read straight from the ISO's bytes."""
    entry = next(e for e in read_boot_catalog(iso) if e.platform == PLATFORM_EFI)
    with open(iso, "rb") as fh:
        fh.seek(entry.load_rba * SECTOR)
        image = fh.read(entry.sector_count * VIRTUAL_SECTOR)
    floppy = iso.parent.parent / "efisys-from-iso.bin"
    floppy.write_bytes(image)
    try:
        return fatimage.read_files(floppy)["/EFI/BOOT/BOOTX64.EFI"]
    finally:
        floppy.unlink()


@pytest.fixture
def signed_ws(workspace: MediaWorkspace, lab: Lab) -> MediaWorkspace:
    image, media = signed_boot_files(lab)
    restandin(workspace, boot_files=image, media_files=media)
    return workspace


def test_default_build_is_ca_2023_media_from_the_ex_files(signed_ws: MediaWorkspace, lab: Lab) -> None:
    image_files, _ = signed_boot_files(lab)
    result, manifest = build(signed_ws, *lab_args(lab))
    out = signed_ws.root / "out" / "winpe-x64"
    assert "iso: 1 file(s)" in result.stdout and "CA 2023 media (its boot manager chains to CA 2023)" in result.stdout
    # USB: Microsoft's mapping of the _EX files.
    usb = out / "usb"
    assert (usb / "efi/boot/bootx64.efi").read_bytes() == image_files["Windows/Boot/EFI_EX/bootmgfw_EX.efi"]
    assert (usb / "bootmgr.efi").read_bytes() == image_files["Windows/Boot/EFI_EX/bootmgr_EX.efi"]
    assert (usb / "efi/microsoft/boot/fonts/segoe_slboot.ttf").read_bytes() == b"font-standin"
    assert (usb / "efi/microsoft/boot/boot.stl").read_bytes() == image_files["Windows/Boot/EFI/boot.stl"]
    # ISO: the UEFI El Torito image is efisys_EX.bin.
    iso = out / "iso" / "winpe-x64.iso"
    ex_efisys = fatimage.write_image(signed_ws.root / "probe.bin", {})  # only to have a path for reading below
    ex_efisys.write_bytes(image_files["Windows/Boot/DVD_EX/EFI/en-US/efisys_EX.bin"])
    assert el_torito_uefi_app(iso) == fatimage.read_files(ex_efisys)["/EFI/BOOT/BOOTX64.EFI"]
    # PXE: the _EX boot managers, renamed, and wimboot told to use bootmgfw.efi.
    pxe = out / "pxe"
    assert (pxe / "bootmgfw.efi").read_bytes() == image_files["Windows/Boot/EFI_EX/bootmgfw_EX.efi"]
    assert (pxe / "wdsmgfw.efi").read_bytes() == image_files["Windows/Boot/PXE_EX/wdsmgfw_EX.efi"]
    assert "initrd --name bootmgfw.efi bootmgfw.efi" in (pxe / "boot.ipxe").read_text(encoding="utf-8")
    # The manifest says so, per output.
    for kind in ("iso", "usb", "pxe"):
        sb = outputs(manifest)[kind]["secure_boot"]
        assert (sb["media"], sb["ca"]) == ("2023", "2023"), kind
        assert {k: v["boots"] for k, v in sb["boots"].items()} == {"a": False, "b": True, "c": True}, kind
        # Where the anchors came from: Microsoft's CAs from virt-firmware, the lab's test CAs from their files.
        assert sorted((x["origin"].split()[0], x["test_ca"]) for x in sb["anchors"]) == [
            ("given", True), ("given", True), *[("virt-firmware", False)] * 7
        ], kind
    # The source is untouched.
    assert (signed_ws.standin.media / "efi/boot/bootx64.efi").read_bytes() == image_files[
        "Windows/Boot/EFI/bootmgfw.efi"
    ]


def test_secure_boot_2011_is_legacy_media_with_a_warning(signed_ws: MediaWorkspace, lab: Lab) -> None:
    set_secure_boot(signed_ws, 2011)
    result, manifest = build(signed_ws, *lab_args(lab))
    assert "secure_boot: 2011 builds legacy media" in result.stderr
    sb = outputs(manifest)["usb"]["secure_boot"]
    assert sb["ca"] == "2011" and "legacy" in sb["label"]
    assert {k: v["boots"] for k, v in sb["boots"].items()} == {"a": True, "b": False, "c": False}
    assert "initrd --name bootmgfw.efi" not in (signed_ws.root / "out/winpe-x64/pxe/boot.ipxe").read_text()


def test_secure_boot_both_builds_two_outputs_named_apart(signed_ws: MediaWorkspace, lab: Lab) -> None:
    set_secure_boot(signed_ws, "both")
    _, manifest = build(signed_ws, *lab_args(lab))
    got = {path: o.get("secure_boot", {}).get("ca") for path, o in outputs(manifest).items()}
    assert got == {
        "wim": "2011+2023",  # the boot image holds both sets
        "iso-ca2023": "2023",
        "iso-ca2011-legacy": "2011",
        "usb-ca2023": "2023",
        "usb-ca2011-legacy": "2011",
        "pxe-ca2023": "2023",
        "pxe-ca2011-legacy": "2011",
        "configmgr-prestart": None,
    }
    assert (signed_ws.root / "out/winpe-x64/iso-ca2023/winpe-x64-ca2023.iso").is_file()
    assert (signed_ws.root / "out/winpe-x64/iso-ca2011-legacy/winpe-x64-ca2011-legacy.iso").is_file()


def test_a_source_without_ex_files_builds_2011_media_and_names_the_adk(workspace: MediaWorkspace) -> None:
    restandin(workspace, boot_files={})
    result, manifest = build(workspace)
    assert "has no CA 2023 boot files" in result.stderr
    assert "Windows ADK 10.1.26100.2454 or later" in result.stderr
    assert outputs(manifest)["iso"]["secure_boot"]["media"] == "2011"
    assert any("ADK 10.1.26100.2454" in w for w in manifest["boot_images"][0]["warnings"])


def test_asking_for_2023_without_ex_files_is_an_error(workspace: MediaWorkspace) -> None:
    restandin(workspace, boot_files={})
    set_secure_boot(workspace, 2023)
    result = cli("build", str(workspace.media_yaml), "-o", str(workspace.root / "out"), cwd=workspace.root)
    assert result.returncode == 13
    assert "needs the CA 2023 boot files" in result.stderr and "Traceback" not in result.stderr
    assert not (workspace.root / "out" / "manifest.json").exists()


def test_an_unknown_secure_boot_value_names_the_key(workspace: MediaWorkspace) -> None:
    set_secure_boot(workspace, "2026")
    result = cli("check", str(workspace.media_yaml), cwd=workspace.root)
    assert result.returncode == 13
    assert "secure_boot: '2026' is not one of 2023, 2011, both" in result.stderr


def test_verify_prints_the_report_and_catches_a_swapped_boot_manager(signed_ws: MediaWorkspace, lab: Lab) -> None:
    build(signed_ws, *lab_args(lab))
    usb = signed_ws.root / "out" / "winpe-x64" / "usb"
    result = cli("verify", str(usb), *lab_args(lab), cwd=signed_ws.root)
    assert result.returncode == 0, result.stderr
    assert "built as CA 2023" in result.stdout
    assert "chains to Windows UEFI CA 2023 (lab test CA)" in result.stdout
    assert "trust anchors: Microsoft's CA certificates shipped with virt-firmware" in result.stdout
    assert f"Windows UEFI CA 2023 (lab test CA) from {lab.ca2023.pem}" in result.stdout
    assert "(b) db holds only the 2023 CAs (machines shipped from 2024 on): boots" in result.stdout
    assert "(a) db holds only the 2011 CAs (machines not yet updated): REFUSED" in result.stdout
    # Someone copies the old 2011 boot manager over the 2023 one.
    (usb / "efi/boot/bootx64.efi").write_bytes((signed_ws.standin.media / "efi/boot/bootx64.efi").read_bytes())
    result = cli("verify", str(usb), *lab_args(lab), cwd=signed_ws.root)
    assert result.returncode == 13
    assert "built as CA 2023 media, but its first-stage boot manager chains to 2011" in result.stderr


def test_the_wim_output_reports_the_efi_binaries_inside_the_image(signed_ws: MediaWorkspace, lab: Lab) -> None:
    _, manifest = build(signed_ws, *lab_args(lab))
    sb = outputs(manifest)["wim"]["secure_boot"]
    files = {where: f["signatures"][0]["ca"] for where, f in sb["files"].items()}
    assert files["boot.wim:Windows/Boot/EFI/bootmgfw.efi"] == "Microsoft Windows Production PCA 2011"
    assert files["boot.wim:Windows/Boot/EFI_EX/bootmgfw_EX.efi"] == "Windows UEFI CA 2023"
    assert sb["files"]["boot.wim:Windows/Boot/EFI_EX/bootmgfw_EX.efi"]["svn"] == "7.0"
    assert sb["boots"] == {}  # nothing boots the WIM directly


def test_an_arm64_image_gets_bootaa64(workspace: MediaWorkspace, lab: Lab) -> None:
    from examples.standin import make_pe, standin_boot_files

    restandin(workspace, arch="arm64")
    agent = make_pe(workspace.root / "dist" / "arm64" / "prestart.exe", "arm64", size=0)
    data = yaml.safe_load(workspace.media_yaml.read_text(encoding="utf-8"))
    data["agent"] = {"arm64": str(agent.relative_to(workspace.root))}
    data["boot_images"][0]["arch"] = "arm64"
    workspace.media_yaml.write_text(yaml.safe_dump(data), encoding="utf-8")
    plan = cli("build", str(workspace.media_yaml), "-o", str(workspace.root / "out"), "--dry-run", cwd=workspace.root)
    assert "Secure Boot: CA 2023 boot files where the image carries the _EX files" in plan.stdout
    _, manifest = build(workspace)
    usb = workspace.root / "out" / "winpe-x64" / "usb"
    ex = standin_boot_files("arm64")["Windows/Boot/EFI_EX/bootmgfw_EX.efi"]
    assert (usb / "efi/boot/bootaa64.efi").read_bytes() == ex
    sb = outputs(manifest)["usb"]["secure_boot"]
    assert sb["media"] == "2023" and sb["first_stage"] == ["efi/boot/bootaa64.efi"]
    assert sb["files"]["efi/boot/bootaa64.efi"]["machine"] == "arm64"
    pxe = outputs(manifest)["pxe"]["secure_boot"]
    assert pxe["files"]["bootmgfw.efi"]["machine"] == "arm64"
