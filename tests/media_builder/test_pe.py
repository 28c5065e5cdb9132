"""Machine types of real and minimal binaries, and the architecture check the build stops on."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from agent.errors import InputError
from examples.standin import make_pe
from media_builder.pe import check_arch, normalize_arch, pe_machine


@pytest.mark.parametrize("arch", ["amd64", "x86", "arm64"])
def test_pe_machine_reads_the_coff_header(tmp_path: Path, arch: str) -> None:
    assert pe_machine(make_pe(tmp_path / "prestart.exe", arch)) == arch


def test_non_pe_files_say_what_they_are(tmp_path: Path) -> None:
    assert pe_machine(Path(sys.executable).resolve()).startswith("elf-")
    text = tmp_path / "prestart.exe"
    text.write_text("not a program")
    assert pe_machine(text) == "not-an-executable"
    dos = tmp_path / "dos.exe"
    dos.write_bytes(b"MZ" + b"\0" * 200)
    assert pe_machine(dos) == "dos-mz"


def test_check_arch_accepts_matching_binary_and_aliases(tmp_path: Path) -> None:
    exe = make_pe(tmp_path / "prestart.exe", "amd64")
    check_arch(exe, "amd64")
    check_arch(exe, "x64")
    assert normalize_arch("AArch64") == "arm64"


def test_check_arch_mismatch_names_binary_image_and_next_step(tmp_path: Path) -> None:
    exe = make_pe(tmp_path / "dist" / "amd64" / "prestart.exe", "arm64")
    with pytest.raises(InputError) as err:
        check_arch(exe, "amd64", image="winpe-x64")
    assert f"agent {exe} is an arm64 binary but boot image winpe-x64 is amd64" in str(err.value)
    assert "docs/windows-build.md" in err.value.hint


def test_check_arch_rejects_a_linux_build(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="not a Windows program"):
        check_arch(Path(sys.executable).resolve(), "amd64", image="winpe-x64")
    with pytest.raises(InputError, match="does not exist"):
        check_arch(tmp_path / "missing.exe", "amd64")
