"""OVMF varstores for tests, built with virt-firmware (virt-fw-vars), and efivarfs trees made from them."""

from __future__ import annotations

import shutil
import struct
import sys
import uuid
from collections.abc import Sequence
from pathlib import Path

from agent import proc
from agent.facts.secureboot import BOOTMGR_APP, GLOBAL, SVN_OWNER

OVMF = Path("/usr/share/OVMF")
BLANK_VARS = OVMF / "OVMF_VARS_4M.fd"  # no keys: setup mode
MS_VARS = OVMF / "OVMF_VARS_4M.ms.fd"  # Debian's: Microsoft KEK CA 2011, PCA 2011 and UEFI CA 2011 in db
OWNER = "77fa9abd-0359-4d32-bd60-28f4e78f784b"  # Microsoft's owner GUID, as real db entries carry
SECURE_BOOT_ENABLE = "f0a30bc7-af08-4556-99c4-001009c93a44"  # OVMF's own switch behind the SecureBoot variable


def svn_entry(major: int, minor: int = 0) -> str:
    """The dbx entry for boot manager SVN major.minor, as hex: version 1, the bootmgr GUID, minor, major, zeros."""
    data = bytes([1]) + uuid.UUID(BOOTMGR_APP).bytes_le + struct.pack("<HH", minor, major)
    return (data + bytes(32 - len(data))).hex()


def make_varstore(
    path: Path,
    *,
    pk: Path,
    db: Sequence[Path] = (),
    dbx_certs: Sequence[Path] = (),
    dbx_svn: tuple[int, int] | None = None,
) -> Path:
    """A Secure Boot varstore from OVMF's blank one: `pk` as PK and KEK, `db` certificates, `dbx` entries."""
    tool = str(Path(sys.executable).with_name("virt-fw-vars"))
    args = [tool, "-i", str(BLANK_VARS), "-o", str(path), "--set-pk", OWNER, str(pk), "--add-kek", OWNER, str(pk)]
    for cert in db:
        args += ["--add-db", OWNER, str(cert)]
    for cert in dbx_certs:
        args += ["--add-dbx-cert", OWNER, str(cert)]
    if dbx_svn is not None:
        args += ["--add-dbx-hash", SVN_OWNER, svn_entry(*dbx_svn)]
    proc.run([*args, "--sb"], timeout=120)
    return path


def variables(varstore: Path) -> dict[tuple[str, str], tuple[int, bytes]]:
    """Every variable of an edk2 varstore as (name, GUID) -> (attributes, data), read with virt-firmware."""
    from virt.firmware.varstore import edk2

    return {
        (name, str(v.guid)): (v.attr, bytes(v.data))
        for name, v in edk2.Edk2VarStore(str(varstore)).get_varlist().items()
    }


def firmware_view(varstore: Path) -> dict[tuple[str, str], tuple[int, bytes]]:
    """The variables as the running firmware shows them: plus the volatile SecureBoot and SetupMode it derives
    (setup mode without a PK; Secure Boot on with a PK and OVMF's SecureBootEnable set)."""
    found = variables(varstore)
    has_pk = ("PK", GLOBAL) in found
    enabled = found.get(("SecureBootEnable", SECURE_BOOT_ENABLE), (0, b"\0"))[1][:1] == b"\x01"
    runtime = 0x6  # boot service and runtime access, not non-volatile
    found[("SetupMode", GLOBAL)] = (runtime, b"\0" if has_pk else b"\x01")
    found[("SecureBoot", GLOBAL)] = (runtime, b"\x01" if has_pk and enabled else b"\0")
    return found


def efivarfs_tree(varstore: Path, root: Path) -> Path:
    """An efivarfs-shaped folder (NAME-GUID files: 4 bytes of attributes, then the data) from `varstore`."""
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    for (name, guid), (attr, data) in firmware_view(varstore).items():
        (root / f"{name}-{guid}").write_bytes(struct.pack("<I", attr) + data)
    return root
