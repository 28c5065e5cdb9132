"""Building the reference media definition against a WinPE-shaped stand-in: every output, read back and verified."""

from __future__ import annotations

import errno
import json
import os
import re
import subprocess
from pathlib import Path

import pytest

from agent.errors import ExitCode
from examples.standin import make_pe as make_agent_exe
from media_builder.cli import main
from media_builder.iso import read_boot_catalog
from media_builder.manifest import sha256_file
from media_builder.stage import AGENT_EXE, CATALOG, PROFILE, PUBLIC_KEY
from media_builder.wim import extract_files
from tests.media_builder.conftest import MediaWorkspace

EPOCH = "1767225600"  # 2026-01-01


@pytest.fixture(autouse=True)
def _pinned_epoch(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", EPOCH)


def _hashes(folder: Path) -> dict[str, str]:
    return {
        p.relative_to(folder).as_posix(): sha256_file(p)
        for p in sorted(folder.rglob("*"))
        if p.is_file() and p.name != "manifest.json"
    }


def _build(ws: MediaWorkspace, out: Path, *extra: str) -> int:
    return main(["build", str(ws.media_yaml), "-o", str(out), "-q", *extra])


def test_builds_every_output_and_verifies_them(
    workspace: MediaWorkspace, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    source_before = sha256_file(workspace.standin.wim)
    assert _build(workspace, out) == 0
    printed = capsys.readouterr().out
    assert "winpe-x64/iso" in printed and "manifest" in printed

    image = out / "winpe-x64"
    assert sorted(p.name for p in image.iterdir()) == ["configmgr-prestart", "iso", "pxe", "usb", "wim"]
    assert sha256_file(workspace.standin.wim) == source_before  # the source WIM is only read

    # The payload is inside the WIM, where the ConfigMgr hook expects it.
    payload = "sms/PKG/PRST0001"
    got = extract_files(
        image / "wim" / "boot.wim",
        1,
        [
            f"{payload}/{AGENT_EXE}",
            f"{payload}/{PROFILE}",
            f"{payload}/{CATALOG}",
            f"{payload}/{PUBLIC_KEY}",
            "TSCONFIG.INI",
        ],
    )
    assert got[f"{payload}/{AGENT_EXE}"] == workspace.agent.read_bytes()
    # The profile travels compiled (JSON, which is YAML too): the same data, read ~20x faster at boot,
    # stamped so that the agent skips the checks the builder ran.
    import yaml

    from agent.profile import stamp_holds

    compiled = json.loads(got[f"{payload}/{PROFILE}"])
    assert compiled.pop("compiled")["by"].startswith("prestart ")
    assert compiled == yaml.safe_load((workspace.root / "technician.yaml").read_text())
    assert stamp_holds(got[f"{payload}/{PROFILE}"].decode("utf-8"))
    assert b"[CustomHook]" in got["TSCONFIG.INI"]
    assert b"prestart-ed25519-private" not in b"".join(got.values())

    # ISO: BIOS and UEFI El Torito entries, as oscdimg writes them.
    entries = read_boot_catalog(image / "iso" / "winpe-x64.iso")
    bios = [e for e in entries if e.platform == 0x00]
    uefi = [e for e in entries if e.platform == 0xEF]
    assert bios and bios[0].sector_count == 8 and bios[0].media == "noemul"
    assert uefi and uefi[0].media == "noemul"
    report = subprocess.run(
        ["xorriso", "-indev", str(image / "iso" / "winpe-x64.iso"), "-report_el_torito", "plain"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "UEFI" in report.stdout or "0xef" in report.stdout.lower()

    # PXE: wimboot's script and the files it names.
    pxe = image / "pxe"
    # The stand-in image carries the CA 2023 boot files, so PXE serves the _EX boot managers renamed.
    served = {"BCD", "boot.sdi", "boot.wim", "boot.ipxe", "bootmgfw.efi", "wdsmgfw.efi"}
    assert {p.name for p in pxe.iterdir()} == served
    script = (pxe / "boot.ipxe").read_text(encoding="utf-8")
    assert script.startswith("#!ipxe\n") and "kernel wimboot\n" in script and script.rstrip().endswith("boot")
    for name in ("BCD", "boot.sdi", "boot.wim"):
        assert f"initrd --name {name} {name}\n" in script
    assert (pxe / "boot.wim").read_bytes() == (image / "wim" / "boot.wim").read_bytes()

    # USB: the ADK layout with our WIM.
    usb = image / "usb"
    for rel in ("bootmgr", "bootmgr.efi", "boot/bcd", "boot/boot.sdi", "efi/microsoft/boot/efisys.bin"):
        assert (usb / rel).is_file(), rel
    assert sha256_file(usb / "sources" / "boot.wim") == sha256_file(image / "wim" / "boot.wim")

    # ConfigMgr prestart folder: the payload and the wiring script.
    cm = image / "configmgr-prestart"
    assert (cm / AGENT_EXE).read_bytes() == workspace.agent.read_bytes()
    assert (cm / CATALOG).is_file() and (cm / PUBLIC_KEY).is_file()

    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["epoch"] == int(EPOCH)
    assert {"wimlib-imagex", "pycdlib", "python", "prestart"} <= set(manifest["tools"])
    assert any(i["path"] == "media.yaml" for i in manifest["inputs"])
    record = manifest["boot_images"][0]
    assert record["command_line"] and "inject" in record["timings"]
    assert {o["kind"] for o in record["outputs"]} == {"wim", "iso", "usb", "pxe", "configmgr-prestart"}

    assert main(["verify", str(out)]) == 0
    assert main(["inspect", str(image / "iso" / "winpe-x64.iso")]) == 0
    shown = capsys.readouterr().out
    assert "El Torito" in shown and "the engine runs" in shown


def test_same_inputs_give_byte_identical_outputs(workspace: MediaWorkspace, tmp_path: Path) -> None:
    assert _build(workspace, tmp_path / "a") == 0
    assert _build(workspace, tmp_path / "b", "--jobs", "1") == 0
    first, second = _hashes(tmp_path / "a"), _hashes(tmp_path / "b")
    assert first == second and len(first) > 10


def test_existing_outputs_are_replaced_only_with_force(
    workspace: MediaWorkspace, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    assert _build(workspace, out) == 0
    before = _hashes(out)
    assert _build(workspace, out) == ExitCode.INVALID_PARAMETER
    assert "--force" in capsys.readouterr().err
    assert _hashes(out) == before
    assert _build(workspace, out, "--force") == 0
    assert _hashes(out) == before
    assert not [p for p in (out / "winpe-x64").iterdir() if p.name.startswith(".")]


def test_dry_run_prints_the_plan_and_writes_nothing(
    workspace: MediaWorkspace, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    assert main(["build", str(workspace.media_yaml), "-o", str(out), "--dry-run"]) == 0
    plan = capsys.readouterr().out
    assert "boot image winpe-x64" in plan and "write iso" in plan and "wimlib-imagex update" in plan
    assert not out.exists()


def test_agent_for_the_wrong_architecture_stops_the_build(
    workspace: MediaWorkspace, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    make_agent_exe(workspace.agent, "x86")
    assert _build(workspace, tmp_path / "out") == ExitCode.INVALID_DATA
    err = capsys.readouterr().err
    assert "x86" in err and "amd64" in err and "winpe-x64" in err
    assert "media.yaml:20: agent.amd64:" in err  # `check` finds it too, with the line of the definition
    assert not (tmp_path / "out" / "winpe-x64" / "wim").exists()


def test_secret_in_the_profile_stops_the_build_before_any_output(
    workspace: MediaWorkspace, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    profile = workspace.root / "technician.yaml"
    text = profile.read_text(encoding="utf-8").replace(
        '      OSDDiskIndex: "0"\n', '      OSDDiskIndex: "0"\n      DomainJoinPassword: Winter2026!\n', 1
    )
    assert "Winter2026!" in text
    profile.write_text(text, encoding="utf-8")
    out = tmp_path / "out"
    code = _build(workspace, out)
    err = capsys.readouterr().err
    assert code == ExitCode.INVALID_DATA, err
    assert "password-like key with a value" in err.lower() and "Winter2026" not in err
    image = out / "winpe-x64"
    assert not image.exists() or not list(image.iterdir())


def test_failed_output_leaves_no_partial_output(
    workspace: MediaWorkspace, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (workspace.standin.media / "boot" / "boot.sdi").unlink()  # the pxe output needs it; wim, iso, usb do not
    out = tmp_path / "out"
    assert _build(workspace, out) == ExitCode.INVALID_DATA
    assert "boot.sdi" in capsys.readouterr().err
    image = out / "winpe-x64"
    assert not (image / "pxe").exists()
    assert not [p for p in image.iterdir() if p.name.startswith(".")]  # no temp folders left behind
    assert not (out / "manifest.json").exists()


def _record_fsyncs(monkeypatch: pytest.MonkeyPatch, fail: str = "") -> list[str]:
    """Record the path of every fsync the builder makes (agent.files); raise EIO for paths ending in `fail`."""
    from agent import files

    real_fsync = os.fsync
    flushed: list[str] = []

    def fsync(fd: int) -> None:
        path = os.readlink(f"/proc/self/fd/{fd}")
        if fail and path.endswith(fail):
            raise OSError(errno.EIO, "Input/output error")
        real_fsync(fd)
        flushed.append(path)

    monkeypatch.setattr(files.os, "fsync", fsync)
    return flushed


def test_every_output_is_on_disk_before_it_takes_its_real_name(
    workspace: MediaWorkspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    flushed = _record_fsyncs(monkeypatch)
    out = tmp_path / "out"
    assert main(["build", str(workspace.media_yaml), "-o", str(out)]) == 0
    # The flush is a step of its own in the progress (it can take minutes on a USB disk or a share).
    err = capsys.readouterr().err
    assert "winpe-x64: iso: flushing to disk ... 0%" in err and "winpe-x64: iso: flushing to disk ... done" in err
    image = out / "winpe-x64"
    # Each file was flushed while it was still in its output's temp folder (.new-*), and so was the folder.
    temp = re.compile(re.escape(str(image)) + r"/\.new-[^/]+")
    flushed_new = {temp.sub("NEW", path) for path in flushed}
    for kind in ("wim", "iso", "usb", "pxe", "configmgr-prestart"):
        files = [p for p in (image / kind).rglob("*") if p.is_file()]
        assert files
        for path in files:
            assert "NEW/" + path.relative_to(image / kind).as_posix() in flushed_new, path
    assert "NEW" in flushed_new  # the temp folder itself: the names in it
    assert str(image) in flushed and str(out) in flushed  # the renames, and the manifest's name
    # The manifest (flushed as its temp file, then renamed) comes after every output it lists.
    (manifest_at,) = [i for i, p in enumerate(flushed) if p.startswith(f"{out}/.manifest.json.")]
    assert manifest_at > max(i for i, p in enumerate(flushed) if "/.new-" in p)


def test_a_disk_error_keeps_the_previous_output_and_writes_no_manifest(
    workspace: MediaWorkspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    assert _build(workspace, out) == 0
    before = _hashes(out)
    manifest = (out / "manifest.json").read_bytes()
    _record_fsyncs(monkeypatch, fail=".iso")  # the disk fails while the new ISO is flushed
    assert _build(workspace, out, "--force") == ExitCode.INVALID_DATA
    err = capsys.readouterr().err
    assert "cannot write the iso output of winpe-x64" in err and "Input/output error" in err
    assert "free space on that disk" in err and "Traceback" not in err
    image = out / "winpe-x64"
    assert {p: h for p, h in _hashes(out).items() if p.startswith("winpe-x64/iso/")} == {
        p: h for p, h in before.items() if p.startswith("winpe-x64/iso/")
    }
    assert not [p for p in image.iterdir() if p.name.startswith(".")]  # no temp folders left behind
    assert (out / "manifest.json").read_bytes() == manifest  # the old manifest still describes the old outputs


def test_an_unreadable_media_file_is_named_as_the_input(
    workspace: MediaWorkspace, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bootmgr = workspace.standin.media / "bootmgr"
    bootmgr.unlink()
    bootmgr.symlink_to(tmp_path / "gone")  # listed in the media folder, but nothing to read
    out = tmp_path / "out"
    assert _build(workspace, out) == ExitCode.INVALID_DATA
    err = capsys.readouterr().err
    assert f"the iso output of winpe-x64: cannot read {bootmgr}: No such file or directory" in err, err
    assert "check that file" in err and "Traceback" not in err
    assert not (out / "winpe-x64" / "iso").exists() and not (out / "manifest.json").exists()


def test_usb_refuses_files_over_4_gib_with_a_hint(
    workspace: MediaWorkspace, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    big = workspace.standin.media / "sources" / "install.wim"
    with open(big, "wb") as fh:  # sparse: no disk space used
        fh.truncate(4 * 1024**3 + 1)
    text = workspace.media_yaml.read_text(encoding="utf-8")
    workspace.media_yaml.write_text(
        text.replace("outputs: [wim, iso, usb, pxe, configmgr-prestart]", "outputs: [usb]"), encoding="utf-8"
    )
    assert _build(workspace, tmp_path / "out") == ExitCode.INVALID_DATA
    err = capsys.readouterr().err
    assert "sources/install.wim" in err and "FAT32" in err and "hint" in err
    assert not (tmp_path / "out" / "winpe-x64" / "usb").exists()


def test_verify_finds_a_changed_output(
    workspace: MediaWorkspace, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    assert _build(workspace, out) == 0
    script = out / "winpe-x64" / "pxe" / "boot.ipxe"
    script.write_text(script.read_text(encoding="utf-8").replace("initrd --name BCD BCD\n", ""), encoding="utf-8")
    assert main(["verify", str(out / "winpe-x64" / "pxe")]) == ExitCode.INVALID_DATA
    err = capsys.readouterr().err
    assert "boot.ipxe" in err and "differs from the manifest" in err
    assert main(["verify", str(out / "winpe-x64" / "usb")]) == 0


def test_several_boot_images_build_in_parallel(workspace: MediaWorkspace, tmp_path: Path) -> None:
    text = workspace.media_yaml.read_text(encoding="utf-8")
    second = """  - name: winpe-x64-plain
    arch: amd64
    wim: winpe/amd64/media/sources/boot.wim
    hook: winpe
    media: winpe/amd64/media

outputs: [wim, pxe, configmgr-prestart]"""
    text = text.replace("\noutputs: [wim, iso, usb, pxe, configmgr-prestart]", second)
    workspace.media_yaml.write_text(text, encoding="utf-8")
    out = tmp_path / "out"
    assert _build(workspace, out, "--jobs", "2") == 0
    assert (out / "winpe-x64" / "configmgr-prestart").is_dir()
    assert (out / "winpe-x64-plain" / "pxe" / "boot.wim").is_file()
    assert not (out / "winpe-x64-plain" / "configmgr-prestart").exists()  # only for ConfigMgr images
    wims = {sha256_file(out / n / "wim" / "boot.wim") for n in ("winpe-x64", "winpe-x64-plain")}
    assert len(wims) == 2  # different hooks, different glue


def test_check_command(workspace: MediaWorkspace, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", str(workspace.media_yaml)]) == 0
    assert "OK" in capsys.readouterr().out
    workspace.media_yaml.write_text("version: 3\n", encoding="utf-8")
    assert main(["check", str(workspace.media_yaml)]) == ExitCode.INVALID_DATA
    err = capsys.readouterr().err
    assert err.startswith("prestart-media: error: ") and "media.yaml:1: version:" in err and "hint" in err


def test_bad_command_line_is_87() -> None:
    assert main(["build"]) == ExitCode.INVALID_PARAMETER
    assert main(["frobnicate"]) == ExitCode.INVALID_PARAMETER


def test_catalog_commands_are_wired(
    workspace: MediaWorkspace, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["keygen", str(tmp_path / "k")]) == 0
    assert (tmp_path / "k" / "catalog.pub").is_file()
    assert main(["keygen", str(tmp_path / "k")]) == ExitCode.INVALID_DATA  # never replaces a key
    assert main(["fetch", str(workspace.media_yaml), "-o", str(tmp_path / "c.json")]) == 0
    assert (tmp_path / "c.json").read_bytes().strip()
    assert main(["publish", str(workspace.media_yaml), str(tmp_path / "web")]) == 0
    assert (tmp_path / "web" / "catalog.json").is_file()


def test_force_never_overwrites_a_source_inside_the_output_folder(
    workspace: MediaWorkspace, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The source WIM sits where the wim output would go: --force refuses before anything is written (issue 19)."""
    out = tmp_path / "out"
    inside = out / "winpe-x64" / "wim" / "boot.wim"
    inside.parent.mkdir(parents=True)
    inside.write_bytes(workspace.standin.wim.read_bytes())
    before = sha256_file(inside)
    text = workspace.media_yaml.read_text(encoding="utf-8")
    workspace.media_yaml.write_text(text.replace("wim: winpe/amd64/media/sources/boot.wim", f"wim: {inside}"),
                                    encoding="utf-8")
    assert _build(workspace, out, "--force") == ExitCode.INVALID_PARAMETER
    err = capsys.readouterr().err
    assert "holds inputs of the build" in err and str(inside) in err
    assert sha256_file(inside) == before
    assert sorted(p.name for p in (out / "winpe-x64").iterdir()) == ["wim"]


def test_a_rebuild_killed_between_its_renames_leaves_the_old_output(tmp_path: Path) -> None:
    """Where the system cannot swap two folders in one step, a kill between `target -> .old-*` and
    `new -> target` leaves the old output aside; the next build puts it back before anything else."""
    from media_builder import build

    image = tmp_path / "winpe-x64"
    (image / "iso").mkdir(parents=True)
    (image / "iso" / "boot.iso").write_bytes(b"old")
    aside = image / ".old-killed"  # what the killed build left: the old output moved aside, nothing in its place
    aside.mkdir()
    os.replace(image / "iso", aside / "iso")
    (image / ".new-killed").mkdir()
    build._clean_stale(image)
    assert sorted(p.name for p in image.iterdir()) == ["iso"]
    assert (image / "iso" / "boot.iso").read_bytes() == b"old"


@pytest.mark.parametrize("exchange", [True, False])
def test_replace_leaves_the_new_output_and_nothing_else(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, exchange: bool
) -> None:
    from media_builder import build

    if not exchange:
        monkeypatch.setattr(build, "_exchange", lambda a, b: False)
    (tmp_path / "iso").mkdir()
    (tmp_path / "iso" / "f").write_bytes(b"old")
    (tmp_path / ".new-1").mkdir()
    (tmp_path / ".new-1" / "f").write_bytes(b"new")
    build._replace(tmp_path / ".new-1", tmp_path / "iso")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["iso"]
    assert (tmp_path / "iso" / "f").read_bytes() == b"new"
