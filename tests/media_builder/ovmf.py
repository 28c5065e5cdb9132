"""Boot a disk or ISO under qemu with OVMF's Secure Boot firmware and tell from the serial console what happened."""

from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path

from tests.media_builder.efi_lab import BOOTED

OVMF_CODE = Path("/usr/share/OVMF/OVMF_CODE_4M.secboot.fd")
# What OVMF prints when it will not start an image, and when it has nothing left to try.
REFUSED = ("Access Denied", "Security Violation", "No bootable option")


def boot(
    varstore: Path,
    work: Path,
    *,
    iso: Path | None = None,
    usb: Path | None = None,
    pxe: Path | None = None,
    timeout: float = 90,
) -> str:
    """The marker the EFI application printed ("" when the firmware refused it): boots a copy of `varstore` with an
    ISO (as a SATA CD), a folder as a read-only FAT disk (as a USB stick would be), or a folder served by qemu's
    TFTP server to OVMF's own PXE client, which loads bootmgfw.efi; bounded by `timeout`."""
    work.mkdir(parents=True, exist_ok=True)
    vars_copy = work / "vars.fd"
    shutil.copyfile(varstore, vars_copy)
    serial = work / "serial.log"
    serial.unlink(missing_ok=True)
    args = [
        "qemu-system-x86_64",
        "-machine", "q35,smm=on,accel=tcg",  # the Secure Boot build needs SMM; KVM here has none
        "-m", "256", "-display", "none", "-monitor", "none", "-no-reboot",
        "-serial", f"file:{serial}",
        "-global", "driver=cfi.pflash01,property=secure,value=on",
        "-drive", f"if=pflash,format=raw,unit=0,file={OVMF_CODE},readonly=on",
        "-drive", f"if=pflash,format=raw,unit=1,file={vars_copy}",
    ]  # fmt: skip
    if iso is not None:
        args += ["-drive", f"file={iso},media=cdrom,readonly=on"]
    if usb is not None:
        args += ["-drive", f"file=fat:{usb},format=raw,if=virtio,readonly=on"]
    if pxe is not None:
        # romfile= keeps iPXE's option ROM out: OVMF's PXE client fetches the boot file and starts it.
        args += [
            "-netdev",
            f"user,id=n0,tftp={pxe},bootfile=bootmgfw.efi",
            "-device",
            "virtio-net-pci,netdev=n0,romfile=",
        ]
    else:
        args += ["-net", "none"]
    errors = work / "qemu.stderr"
    with open(errors, "wb") as stderr:
        qemu = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=stderr)
    deadline = time.monotonic() + timeout
    text = ""
    try:
        while time.monotonic() < deadline:
            text = serial.read_text(encoding="latin-1") if serial.exists() else ""
            if BOOTED in text or any(word in text for word in REFUSED) or qemu.poll() is not None:
                break
            time.sleep(0.2)
        else:
            raise AssertionError(f"qemu neither booted nor refused within {timeout} s; serial:\n{text[-2000:]}")
    finally:
        if qemu.poll() is None:
            qemu.kill()
        qemu.wait(timeout=10)
    text = serial.read_text(encoding="latin-1") if serial.exists() else ""
    for line in text.replace("\r", "\n").splitlines():
        if BOOTED in line:
            return line.split(BOOTED, 1)[1].strip()
    # Only the firmware's own words count as a refusal: qemu failing to start must not pass for one.
    if not any(word in text for word in REFUSED):
        raise AssertionError(f"qemu stopped without booting or refusing: {errors.read_text(errors='replace')[-2000:]}")
    return ""
