"""Kiosk media: F8 command support in the boot image is a way out of the kiosk, so the build warns about it."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from media_builder.escapes import f8_enabled, kiosk_warnings
from tests.media_builder.conftest import MediaWorkspace


def _add_shell_ini(wim: Path, text: str, tmp_path: Path) -> None:
    ini = tmp_path / "TsBootShell.ini"
    ini.write_text(text, encoding="utf-8")
    subprocess.run(
        ["wimlib-imagex", "update", str(wim), "1", f"--command=add {ini} /sms/bin/x64/TsBootShell.ini"],
        check=True,
        capture_output=True,
    )


def test_a_plain_image_has_no_f8_shell(workspace: MediaWorkspace) -> None:
    assert f8_enabled(workspace.standin.wim, 1) == []


@pytest.mark.parametrize(("text", "on"), [("[Shell]\nDebugShell=true\n", True), ("[Shell]\nDebugShell=false\n", False)])
def test_debug_shell_is_found(workspace: MediaWorkspace, tmp_path: Path, text: str, on: bool) -> None:
    _add_shell_ini(workspace.standin.wim, text, tmp_path)
    warnings = kiosk_warnings("winpe-x64", workspace.standin.wim, 1)
    assert bool(warnings) is on
    if on:
        assert "F8 command support is on" in warnings[0] and "sms/bin/x64/TsBootShell.ini" in warnings[0]


def test_kiosk_build_warns_and_records_it(
    workspace: MediaWorkspace, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from media_builder.cli import main

    _add_shell_ini(workspace.standin.wim, "[Shell]\nDebugShell=true\n", tmp_path)
    media = workspace.media_yaml
    media.write_text(
        media.read_text(encoding="utf-8")
        .replace("profile: technician.yaml", "profile: kiosk.yaml")
        .replace("outputs: [wim, iso, usb, pxe, configmgr-prestart]", "outputs: [wim]"),
        encoding="utf-8",
    )
    out = tmp_path / "out"
    assert main(["build", str(media), "-o", str(out)]) == 0
    assert "F8 command support is on" in capsys.readouterr().err
    import json

    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert any("F8" in w for image in manifest["boot_images"] for w in image.get("warnings", []))
