"""media_builder.bootfiles: Microsoft's mapping of the _EX boot files per architecture, and the choice of CA."""

from __future__ import annotations

from pathlib import Path

import pytest

from agent.errors import InputError
from media_builder import bootfiles


def image_files(tmp_path: Path, *, ex: bool = True) -> dict[str, Path]:
    names = ["EFI/bootmgfw.efi", "EFI/boot.stl", "FONTS/segoe_slboot.ttf"]
    if ex:
        names += [
            "EFI_EX/bootmgfw_EX.efi",
            "EFI_EX/bootmgr_EX.efi",
            "PXE_EX/wdsmgfw_EX.efi",
            "DVD_EX/EFI/en-US/efisys_EX.bin",
            "FONTS_EX/segoe_slboot_EX.ttf",
            "FONTS_EX/wgl4_boot_EX.ttf",
        ]
    found = {}
    for rel in names:
        path = tmp_path / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(rel)
        found[rel] = path
    return found


@pytest.mark.parametrize(("arch", "efi_name"), [("amd64", "bootx64.efi"), ("arm64", "bootaa64.efi")])
def test_ex_mapping_per_architecture(tmp_path: Path, arch: str, efi_name: str) -> None:
    (boot,), warnings = bootfiles.choose("auto", image_files(tmp_path), arch, "pe")
    assert warnings == []
    assert boot.generation == "2023" and boot.suffix == ""
    assert {k: v.read_text() for k, v in boot.overlay.items()} == {
        f"efi/boot/{efi_name}": "EFI_EX/bootmgfw_EX.efi",
        "bootmgr.efi": "EFI_EX/bootmgr_EX.efi",
        "efi/microsoft/boot/fonts/segoe_slboot.ttf": "FONTS_EX/segoe_slboot_EX.ttf",
        "efi/microsoft/boot/fonts/wgl4_boot.ttf": "FONTS_EX/wgl4_boot_EX.ttf",
        "efi/microsoft/boot/boot.stl": "EFI/boot.stl",
    }
    assert {k: v.read_text() for k, v in boot.pxe.items()} == {
        "bootmgfw.efi": "EFI_EX/bootmgfw_EX.efi",
        "wdsmgfw.efi": "PXE_EX/wdsmgfw_EX.efi",
    }
    assert boot.efisys is not None and boot.efisys.read_text() == "DVD_EX/EFI/en-US/efisys_EX.bin"


def test_legacy_set_still_refreshes_boot_stl(tmp_path: Path) -> None:
    (boot,), warnings = bootfiles.choose("2011", image_files(tmp_path), "amd64", "pe")
    assert boot.generation == "2011" and boot.efisys is None and boot.pxe == {}
    assert {k: v.read_text() for k, v in boot.overlay.items()} == {"efi/microsoft/boot/boot.stl": "EFI/boot.stl"}
    assert "legacy" in warnings[0] and "October 2026" in warnings[0]


def test_both_names_the_two_sets_apart(tmp_path: Path) -> None:
    sets, _ = bootfiles.choose("both", image_files(tmp_path), "amd64", "pe")
    assert [(s.generation, s.suffix) for s in sets] == [("2023", "-ca2023"), ("2011", "-ca2011-legacy")]


def test_without_ex_files_auto_warns_and_explicit_2023_fails(tmp_path: Path) -> None:
    files = image_files(tmp_path, ex=False)
    (boot,), warnings = bootfiles.choose("auto", files, "amd64", "pe-old")
    assert boot.generation == "2011"
    assert "boot image pe-old" in warnings[0] and "ADK 10.1.26100.2454" in warnings[0]
    assert "Windows/Boot/EFI_EX/bootmgfw_EX.efi" in warnings[0]
    for choice in ("2023", "both"):
        with pytest.raises(InputError, match="needs the CA 2023 boot files") as err:
            bootfiles.choose(choice, files, "amd64", "pe-old")
        assert "secure_boot: 2011" in err.value.hint
