"""The WIM injector against real wimlib-imagex: copy, update, pin, read back, never touch the source."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from agent.errors import DataError, InputError
from examples.standin import StandIn, make_winpe_standin
from media_builder import wim

EPOCH = 1_714_000_000


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def standin(tmp_path_factory: pytest.TempPathFactory) -> StandIn:
    return make_winpe_standin(tmp_path_factory.mktemp("winpe"))


@pytest.fixture
def payload(tmp_path: Path) -> dict[str, Path]:
    src = tmp_path / "payload-src"
    src.mkdir()
    (src / "prestart.exe").write_bytes(os.urandom(300_000))
    (src / "profile.yaml").write_text("version: 1\n")
    (src / "it's here.txt").write_text("apostrophe and spaces\n")
    (src / "winpeshl.ini").write_text("[LaunchApps]\r\nX:\\sms\\prestart.exe, run\r\n")
    return {
        "sms/bin/prestart.exe": src / "prestart.exe",
        "sms/bin/profile.yaml": src / "profile.yaml",
        "sms/bin/data dir/it's here.txt": src / "it's here.txt",
        # `windows/system32` is spelled `Windows/System32` in the image: must land in the same folder.
        "windows/system32/winpeshl.ini": src / "winpeshl.ini",
    }


def test_wim_info_reads_images_architecture_and_compression(standin: StandIn) -> None:
    info = wim.wim_info(standin.wim)
    assert info.compression == "LZX"
    assert info.boot_index == 1
    assert [(i.index, i.name, i.architecture) for i in info.images] == [(1, "Microsoft Windows PE (amd64)", "amd64")]
    with pytest.raises(InputError, match="has no image 2"):
        info.image(2)


def test_update_copy_adds_payload_and_leaves_source_untouched(
    standin: StandIn, payload: dict[str, Path], tmp_path: Path
) -> None:
    before = sha256(standin.wim)
    mtimes = {k: p.stat().st_mtime for k, p in payload.items()}
    out = tmp_path / "out" / "boot.wim"
    seen: list[str] = []
    wim.update_copy(standin.wim, out, 1, payload, epoch=EPOCH, progress=lambda stage, _f: seen.append(stage))
    assert sha256(standin.wim) == before
    assert {k: p.stat().st_mtime for k, p in payload.items()} == mtimes  # the caller's files keep their times
    assert "update" in seen and seen[-1] == "done"
    wim.verify_payload(out, 1, payload)
    got = wim.extract_files(out, 1, ["sms/bin/profile.yaml", "Windows/System32/startnet.cmd"])
    assert got == {"sms/bin/profile.yaml": b"version: 1\n", "Windows/System32/startnet.cmd": b"wpeinit\r\n"}
    # One System32 folder, not a second `windows` tree beside `Windows`.
    listing = wim.proc.run(["wimlib-imagex", "dir", str(out), "1"]).stdout.decode()
    assert "/Windows/System32/winpeshl.ini" in listing.splitlines()
    assert not any(line.startswith("/windows") for line in listing.splitlines())
    assert [p for p in out.parent.iterdir()] == [out]  # no temp file left beside it


def test_update_replaces_an_existing_file(standin: StandIn, tmp_path: Path) -> None:
    new = tmp_path / "startnet.cmd"
    new.write_bytes(b"wpeinit\r\nX:\\sms\\bin\\prestart.exe\r\n")
    out = tmp_path / "boot.wim"
    wim.update_copy(standin.wim, out, 1, {"Windows/System32/startnet.cmd": new}, epoch=EPOCH)
    assert wim.extract_files(out, 1, ["Windows/System32/startnet.cmd"])["Windows/System32/startnet.cmd"] == (
        new.read_bytes()
    )


def test_same_inputs_and_epoch_give_byte_identical_wims(
    standin: StandIn, payload: dict[str, Path], tmp_path: Path
) -> None:
    a, b = tmp_path / "a.wim", tmp_path / "b.wim"
    wim.update_copy(standin.wim, a, 1, payload, epoch=EPOCH)
    for p in payload.values():  # the caller's files changing times must not matter
        os.utime(p, (EPOCH + 999, EPOCH + 999))
    wim.update_copy(standin.wim, b, 1, payload, epoch=EPOCH)
    assert sha256(a) == sha256(b)
    info = wim.proc.run(["wimlib-imagex", "info", str(a), "1"]).stdout.decode()
    assert "Last Modification Time: Wed Apr 24 23:06:40 2024 UTC" in info


def test_failed_update_leaves_no_output_and_no_temp_file(standin: StandIn, tmp_path: Path) -> None:
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    missing = {"sms/bin/prestart.exe": tmp_path / "not-there.exe"}
    with pytest.raises(InputError, match=r"not-there\.exe"):
        wim.update_copy(standin.wim, out_dir / "boot.wim", 1, missing, epoch=EPOCH)
    assert list(out_dir.iterdir()) == []


def test_wimlib_failure_leaves_no_output_and_no_temp_file(standin: StandIn, tmp_path: Path) -> None:
    # A file where the image has a folder: wimlib-imagex itself refuses the update.
    clash = tmp_path / "System32"
    clash.write_bytes(b"x")
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    with pytest.raises(wim.proc.CommandFailed, match="wimlib-imagex failed"):
        wim.update_copy(standin.wim, out_dir / "boot.wim", 1, {"Windows/System32": clash}, epoch=EPOCH)
    assert list(out_dir.iterdir()) == []


def test_existing_output_survives_a_failed_build(standin: StandIn, tmp_path: Path) -> None:
    out = tmp_path / "boot.wim"
    out.write_bytes(b"previous build")
    with pytest.raises(InputError):
        wim.update_copy(standin.wim, out, 1, {"a.txt": tmp_path / "missing"}, epoch=EPOCH)
    assert out.read_bytes() == b"previous build"


def test_refuses_to_write_over_the_source(standin: StandIn) -> None:
    with pytest.raises(InputError, match="source WIM itself"):
        wim.update_copy(standin.wim, standin.wim, 1, {}, epoch=EPOCH)


def test_bad_index_and_bad_paths_are_input_errors(standin: StandIn, tmp_path: Path) -> None:
    f = tmp_path / "f"
    f.write_bytes(b"1")
    with pytest.raises(InputError, match="no image 3"):
        wim.update_copy(standin.wim, tmp_path / "o.wim", 3, {"a": f}, epoch=EPOCH)
    for bad in ("../escape", "C:/x", "", "a/b?c"):
        with pytest.raises(InputError):
            wim.update_copy(standin.wim, tmp_path / "o.wim", 1, {bad: f}, epoch=EPOCH)
    with pytest.raises(InputError, match="same file"):
        wim.update_copy(standin.wim, tmp_path / "o.wim", 1, {"SMS/a": f, "sms/A": f}, epoch=EPOCH)
    assert not (tmp_path / "o.wim").exists()


def test_verify_payload_reports_a_mismatch(standin: StandIn, payload: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "boot.wim"
    wim.update_copy(standin.wim, out, 1, payload, epoch=None)
    payload["sms/bin/profile.yaml"].write_text("version: 2\n")
    with pytest.raises(DataError, match=r"sms/bin/profile\.yaml"):
        wim.verify_payload(out, 1, payload)
    with pytest.raises(DataError, match="has no file /sms/nothing"):
        wim.extract_files(out, 1, ["sms/nothing"])


def test_quote_arg_follows_wimlib_command_file_rules() -> None:
    assert wim.quote_arg("/tmp/a b") == "'/tmp/a b'"
    assert wim.quote_arg("/tmp/it's") == '"/tmp/it\'s"'
    for bad in ("a'b\"c", "line\nbreak", "--option"):
        with pytest.raises(InputError):
            wim.quote_arg(bad)
