"""media_builder.winefreeze: the pinned Windows Python is checked for the PSF's signature; wine runs are safe."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from media_builder.winefreeze import Wine, WineFailed, check_psf_signature, source_key, windows_path


@pytest.fixture(scope="module")
def windows_python() -> Path:
    """The embeddable CPython that ./dev windows unpacked (and ./dev test builds before the tests)."""
    wine = Wine()
    wine.ensure()
    return wine.python.parent


def test_python311_dll_carries_the_psf_signature(windows_python: Path) -> None:
    check_psf_signature(windows_python / "python311.dll")


def test_a_tampered_dll_is_refused(windows_python: Path, tmp_path: Path) -> None:
    dll = tmp_path / "python311.dll"
    shutil.copyfile(windows_python / "python311.dll", dll)
    data = bytearray(dll.read_bytes())
    data[len(data) // 2] ^= 0xFF  # one byte of code: the signed digest no longer matches
    dll.write_bytes(bytes(data))
    with pytest.raises(WineFailed, match="Python Software Foundation"):
        check_psf_signature(dll)


def test_a_dll_signed_by_someone_else_is_refused(windows_python: Path) -> None:
    """tkinter-embed's _tkinter.pyd carries a valid signature, but Anaconda's, not the PSF's."""
    with pytest.raises(WineFailed, match="Anaconda"):
        check_psf_signature(windows_python / "_tkinter.pyd")


def test_windows_path_is_on_wines_z_drive() -> None:
    assert windows_path(Path("/tmp/a b/c.json")) == "Z:\\tmp\\a b\\c.json"


def test_cmd_operators_are_refused_before_wine_runs(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="cmd /c"):
        Wine(tmp_path).run(["prestart.exe", "a & del x"])


def test_source_key_changes_with_the_kind_of_build() -> None:
    assert source_key(onefile=True) != source_key(onefile=False)
