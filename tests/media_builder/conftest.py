"""Fixtures for media builder tests: the reference media definition copied beside a WinPE-shaped stand-in."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.media_builder.fakes import make_agent_exe
from tests.media_builder.winpe_standin import StandIn, make_winpe_standin

SPEC = (Path(__file__).resolve().parents[2].parent / "shared" / "spec").resolve()


@dataclass(frozen=True)
class MediaWorkspace:
    root: Path
    media_yaml: Path
    standin: StandIn
    agent: Path
    key: Path


def make_workspace(root: Path, spec: Path = SPEC) -> MediaWorkspace:
    """Copy spec/media.yaml and what it names into `root` (never write into ../shared), with stand-ins for the
    ADK media (a real WIM) and the agent binary, and a fresh signing key."""
    from media_builder.signing import keygen

    root.mkdir(parents=True, exist_ok=True)
    for name in ("media.yaml", "technician.yaml", "kiosk.yaml", "catalog.json"):
        shutil.copyfile(spec / name, root / name)
    private, _public = keygen(root / "keys")
    agent = make_agent_exe(root / "dist" / "amd64" / "prestart.exe")
    standin = make_winpe_standin(root / "winpe" / "amd64")
    return MediaWorkspace(root, root / "media.yaml", standin, agent, private)


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
