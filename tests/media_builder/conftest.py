"""Fixtures for media builder tests: the reference media definition copied beside a WinPE-shaped stand-in."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from examples.standin import StandIn
from examples.workspace import SPEC, MediaWorkspace, make_workspace

__all__ = ["SPEC", "MediaWorkspace", "make_workspace"]


@pytest.fixture(scope="session")
def built_template(tmp_path_factory: pytest.TempPathFactory) -> MediaWorkspace:
    """One workspace per session; tests that change inputs copy it (creating a stand-in WIM costs ~1 s)."""
    return make_workspace(tmp_path_factory.mktemp("template"))


@pytest.fixture
def workspace(built_template: MediaWorkspace, tmp_path: Path) -> MediaWorkspace:
    root = tmp_path / "ws"
    shutil.copytree(built_template.root, root, symlinks=False)
    key = root / "keys" / built_template.key.name
    key.chmod(0o600)
    return MediaWorkspace(
        root,
        root / "media.yaml",
        StandIn(  # same layout under the new root
            root=root / "winpe" / "amd64",
            media=root / "winpe" / "amd64" / "media",
            wim=root / "winpe" / "amd64" / "media" / "sources" / "boot.wim",
            fwfiles=root / "winpe" / "amd64" / "fwfiles",
            etfsboot=root / "winpe" / "amd64" / "media" / "boot" / "etfsboot.com",
            efisys=root / "winpe" / "amd64" / "media" / "efi" / "microsoft" / "boot" / "efisys.bin",
            arch="amd64",
        ),
        root / "dist" / "amd64" / "prestart.exe",
        key,
    )


@pytest.fixture(scope="session")
def lab(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    """Test CAs and tiny EFI applications (mingw-w64, osslsigncode): tests/media_builder/efi_lab.py."""
    from tests.media_builder.efi_lab import make_lab

    return make_lab(tmp_path_factory.mktemp("lab"))
