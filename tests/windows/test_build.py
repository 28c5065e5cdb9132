"""packaging/prestart.spec under the Windows PyInstaller: a build that would lack the hook modules fails."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from media_builder.winefreeze import REPO, Wine, WineFailed, freeze_with_pyinstaller


def test_a_build_without_the_hooks_fails_loudly(wine: Wine, exe: Path, tmp_path: Path) -> None:
    """The embeddable Python imports only what its ._pth names: the spec must put its own root on sys.path,
    and must stop when `hooks` cannot be collected (here it is missing) instead of freezing an agent
    that would fail on the machine being imaged."""
    root = tmp_path / "root"
    (root / "packaging").mkdir(parents=True)
    for name in ("prestart.spec", "prestart_entry.py"):
        shutil.copyfile(REPO / "packaging" / name, root / "packaging" / name)
    for top in ("agent", "ui"):  # no hooks/
        (root / top).symlink_to(REPO / top)
    with pytest.raises(WineFailed) as caught:
        freeze_with_pyinstaller(wine, root / "packaging" / "prestart.spec", tmp_path / "out")
    message = str(caught.value)
    assert "hooks.file" in message and "not collected" in message
    assert "agent.cli" not in message and "ui.app" not in message  # the root itself was importable
    assert not (tmp_path / "out" / "dist" / "prestart" / "prestart.exe").exists()
