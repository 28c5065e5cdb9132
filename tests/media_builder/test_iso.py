"""ISO writing with pycdlib, read back with our own El Torito reader, pycdlib and xorriso."""

from __future__ import annotations

import errno
import hashlib
import math
import os
import shutil
import time
from pathlib import Path

import pycdlib
import pytest

from agent import proc
from agent.errors import DataError, InputError
from examples.standin import StandIn, make_winpe_standin
from media_builder import iso

EPOCH = 1_714_000_000


@pytest.fixture(scope="module")
def standin(tmp_path_factory: pytest.TempPathFactory) -> StandIn:
    return make_winpe_standin(tmp_path_factory.mktemp("winpe"))


@pytest.fixture(scope="module")
def built(standin: StandIn, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("iso") / "contoso.iso"
    iso.write_iso(standin.media, out, boot=iso.find_boot_files(standin.media), label="CONTOSO_LAB", epoch=EPOCH)
    return out


def test_find_boot_files_search_order(standin: StandIn, tmp_path: Path) -> None:
    found = iso.find_boot_files(standin.media)
    assert found == iso.BootFiles(standin.etfsboot, standin.efisys)
    # An ADK copype folder keeps them only in fwfiles/ beside media/.
    adk = tmp_path / "adk"
    shutil.copytree(standin.media, adk / "media")
    shutil.copytree(standin.fwfiles, adk / "fwfiles")
    (adk / "media" / "boot" / "etfsboot.com").unlink()
    (adk / "media" / "efi" / "microsoft" / "boot" / "efisys.bin").unlink()
    assert iso.find_boot_files(adk / "media") == iso.BootFiles(
        adk / "media" / ".." / "fwfiles" / "etfsboot.com", adk / "media" / ".." / "fwfiles" / "efisys.bin"
    )
    noprompt = adk / "fwfiles" / "efisys_noprompt.bin"
    assert iso.find_boot_files(adk / "media", efisys=noprompt).efisys == noprompt


def test_missing_boot_files_list_every_place_looked_at(tmp_path: Path) -> None:
    media = tmp_path / "media"
    media.mkdir()
    with pytest.raises(InputError) as err:
        iso.find_boot_files(media)
    text = str(err.value)
    for place in ("boot/etfsboot.com", "fwfiles/etfsboot.com", "efi/microsoft/boot/efisys.bin", "fwfiles/efisys.bin"):
        assert place in text
    with pytest.raises(InputError, match=r"given\.com"):
        iso.find_boot_files(media, etfsboot=tmp_path / "given.com")


def test_boot_catalog_has_bios_and_uefi_entries(built: Path, standin: StandIn) -> None:
    entries = iso.read_boot_catalog(built)
    assert [(e.platform, e.bootable, e.media, e.sector_count) for e in entries] == [
        (0x00, True, "noemul", 8),
        (0xEF, True, "noemul", math.ceil(standin.efisys.stat().st_size / 512)),
    ]
    data = built.read_bytes()
    bios, uefi = entries
    assert data[bios.load_rba * 2048 : bios.load_rba * 2048 + 4096] == standin.etfsboot.read_bytes()
    efisys = standin.efisys.read_bytes()
    assert data[uefi.load_rba * 2048 : uefi.load_rba * 2048 + len(efisys)] == efisys
    iso.verify_iso(built, boot=iso.find_boot_files(standin.media), files={"sources/boot.wim": standin.wim})


def test_xorriso_agrees_on_boot_entries_label_and_files(built: Path, standin: StandIn, tmp_path: Path) -> None:
    done = proc.run(["xorriso", "-indev", str(built), "-report_el_torito", "plain"])
    report = (done.stdout + done.stderr).decode()  # xorriso prints the volume id with its messages
    assert "Volume id    : 'CONTOSO_LAB'" in report
    imgs = [line.split() for line in report.splitlines() if line.startswith("El Torito boot img :")]
    # "El Torito boot img :" then N Pltf B Emul Ld_seg Hdpt Ldsiz LBA
    assert [(r[5], r[6], r[7], r[8], r[11]) for r in imgs] == [
        ("1", "BIOS", "y", "none", "8"),
        ("2", "UEFI", "y", "none", "2880"),
    ]
    # No boot info table patched into etfsboot.com: the bytes on the ISO are the file's.
    out = tmp_path / "boot.wim"
    proc.run(["xorriso", "-osirrox", "on", "-indev", str(built), "-extract", "/sources/boot.wim", str(out)])
    assert out.read_bytes() == standin.wim.read_bytes()


def test_pycdlib_reads_adk_layout_through_udf_and_joliet(built: Path, standin: StandIn) -> None:
    reader = pycdlib.PyCdlib()
    reader.open(str(built))
    try:
        assert reader.has_udf() and reader.has_joliet()
        udf_names = {str(child.file_identifier().decode()) for child in reader.list_children(udf_path="/")} - {""}
        assert {"bootmgr", "bootmgr.efi", "boot", "efi", "sources"} <= udf_names
        for rel in ("boot/bcd", "boot/boot.sdi", "efi/boot/bootx64.efi", "bootmgr.efi"):
            with reader.open_file_from_iso(joliet_path="/" + rel) as fp:
                assert fp.read() == (standin.media / rel).read_bytes()
    finally:
        reader.close()


def test_same_inputs_give_byte_identical_isos_in_any_time_zone(standin: StandIn, tmp_path: Path) -> None:
    boot = iso.find_boot_files(standin.media)
    iso.write_iso(standin.media, tmp_path / "a.iso", boot=boot, label="CONTOSO_LAB", epoch=EPOCH)
    old_tz = os.environ.get("TZ")
    os.environ["TZ"] = "America/New_York"
    time.tzset()
    try:
        time.sleep(1.05)
        iso.write_iso(standin.media, tmp_path / "b.iso", boot=boot, label="CONTOSO_LAB", epoch=EPOCH)
    finally:
        if old_tz is None:
            del os.environ["TZ"]
        else:
            os.environ["TZ"] = old_tz
        time.tzset()
    a, b = (hashlib.sha256((tmp_path / n).read_bytes()).hexdigest() for n in ("a.iso", "b.iso"))
    assert a == b
    iso.write_iso(standin.media, tmp_path / "c.iso", boot=boot, label="CONTOSO_LAB", epoch=EPOCH + 1)
    assert hashlib.sha256((tmp_path / "c.iso").read_bytes()).hexdigest() != a


def test_without_copy_file_range_the_bytes_are_the_same(
    standin: StandIn, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """copy_file_range refused (the ISO on another kind of file system): pycdlib's own copy, same bytes."""
    boot = iso.find_boot_files(standin.media)
    iso.write_iso(standin.media, tmp_path / "a.iso", boot=boot, label="CONTOSO_LAB", epoch=EPOCH)

    def exdev(*_: object) -> int:
        raise OSError(errno.EXDEV, "Invalid cross-device link")

    monkeypatch.setattr(os, "copy_file_range", exdev)
    iso.write_iso(standin.media, tmp_path / "b.iso", boot=boot, label="CONTOSO_LAB", epoch=EPOCH)
    assert (tmp_path / "a.iso").read_bytes() == (tmp_path / "b.iso").read_bytes()


def test_boot_files_outside_the_tree_are_still_booted(standin: StandIn, tmp_path: Path) -> None:
    tree = tmp_path / "tree"
    shutil.copytree(standin.media, tree)
    (tree / "boot" / "etfsboot.com").unlink()
    (tree / "efi" / "microsoft" / "boot" / "efisys.bin").unlink()
    boot = iso.BootFiles(standin.fwfiles / "etfsboot.com", standin.fwfiles / "efisys_noprompt.bin")
    iso.write_iso(tree, tmp_path / "x.iso", boot=boot, label="X", epoch=EPOCH)
    iso.verify_iso(tmp_path / "x.iso", boot=boot)
    with pytest.raises(DataError, match="UEFI entry does not point"):
        iso.verify_iso(tmp_path / "x.iso", boot=iso.BootFiles(boot.etfsboot, standin.efisys))


def test_bad_inputs_leave_no_output(standin: StandIn, tmp_path: Path) -> None:
    boot = iso.find_boot_files(standin.media)
    out_dir = tmp_path / "out"
    with pytest.raises(InputError, match="volume label"):
        iso.write_iso(standin.media, out_dir / "a.iso", boot=boot, label="lower case!", epoch=EPOCH)
    short = tmp_path / "etfsboot.com"
    short.write_bytes(b"\0" * 2048)
    with pytest.raises(InputError, match="4096"):
        iso.write_iso(standin.media, out_dir / "a.iso", boot=iso.BootFiles(short, boot.efisys), label="A", epoch=EPOCH)
    assert not out_dir.exists() or list(out_dir.iterdir()) == []


def test_interrupted_write_leaves_no_partial_output(standin: StandIn, tmp_path: Path) -> None:
    out = tmp_path / "a.iso"

    def interrupt(stage: str, fraction: float) -> None:
        if fraction > 0.3:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        iso.write_iso(
            standin.media, out, boot=iso.find_boot_files(standin.media), label="A", epoch=EPOCH, progress=interrupt
        )
    assert list(tmp_path.iterdir()) == []


def test_not_an_iso_is_a_data_error(tmp_path: Path) -> None:
    junk = tmp_path / "junk.iso"
    junk.write_bytes(b"\0" * 40 * 2048)
    with pytest.raises(DataError, match="not an ISO9660 image"):
        iso.read_boot_catalog(junk)


@pytest.mark.slow
def test_wim_over_4_gib_fits(standin: StandIn, tmp_path: Path) -> None:
    """About 25 s and 4 GiB of disk: pycdlib copies every byte, even of a sparse file."""
    tree = tmp_path / "tree"
    shutil.copytree(standin.media, tree)
    big = tree / "sources" / "boot.wim"
    size = 4 * 1024**3 + 3 * 4096
    with open(big, "r+b") as fh:
        fh.truncate(size)
        fh.seek(size - 4)
        fh.write(b"TAIL")
    out = tmp_path / "big.iso"
    iso.write_iso(tree, out, boot=iso.find_boot_files(tree), label="BIG", epoch=EPOCH)
    listing = proc.run(["xorriso", "-indev", str(out), "-find", "/sources/boot.wim", "-exec", "lsdl"]).stdout.decode()
    assert str(size) in listing
    reader = pycdlib.PyCdlib()
    reader.open(str(out))
    try:
        with reader.open_file_from_iso(udf_path="/sources/boot.wim") as fp:
            fp.seek(size - 4)
            assert fp.read() == b"TAIL"
    finally:
        reader.close()
