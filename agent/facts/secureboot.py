"""Secure Boot facts from the firmware's variables: on/off, setup mode, the 2023 CA in db, PCA 2011 and SVN in dbx."""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Callable, Iterator
from pathlib import Path

from agent.facts import SECURE_BOOT_FACTS
from agent.facts.common import as_bool
from agent.log import get_logger

log = get_logger("prestart.facts.secureboot")

GLOBAL = "8be4df61-93ca-11d2-aa0d-00e098032b8c"  # EFI_GLOBAL_VARIABLE: SecureBoot, SetupMode, PK, KEK
IMAGE_SECURITY = "d719b2cb-3d3a-4596-a3bc-dad00e67656f"  # EFI_IMAGE_SECURITY_DATABASE_GUID: db, dbx
CERT_X509 = "a5c059a1-94e4-4aa7-87b5-ab155c2bf072"
CERT_SHA256 = "c1c41626-504c-4092-aca9-41f936934328"
SVN_OWNER = "9d132b6c-59d5-4388-ab1c-185cfcb2eb92"  # dbx entries that carry a boot manager SVN, not a hash
BOOTMGR_APP = "9d132b61-59d5-4388-ab1c-185cfcb2eb92"  # the Windows boot manager's application GUID

# SHA-1 thumbprints of Microsoft's CA certificates (as db and dbx hold them).
PCA_2011 = "580a6f4cc4e4b669b9ebdc1b2b3e087b80d0678d"  # Microsoft Windows Production PCA 2011
WINDOWS_UEFI_CA_2023 = "45a0fa32604773c82433c3b7d59e7466b3ac0c67"
UEFI_CA_2011 = "46def63b5ce61cf8ba0de2e6639c1019d0ed14f3"  # third-party (shim, option ROMs)
UEFI_CA_2023 = "b5eeb4a6706048073f0ed296e7f580a790b59eaa"

# The facts this module adds to every gather() (booleans are "False" when the variables cannot be read).
FACT_NAMES = SECURE_BOOT_FACTS[:6]  # from the firmware; installed_os_facts gives the other two
BOOLEAN_FACTS = frozenset(SECURE_BOOT_FACTS[:5])
OS_FACT_NAMES = SECURE_BOOT_FACTS[6:]

# Reads one firmware variable: (name, vendor GUID) -> its data without attributes, or None when it is absent.
VariableReader = Callable[[str, str], "bytes | None"]


def guid(raw: bytes) -> str:
    """An EFI GUID (mixed-endian, as firmware stores it) in its usual text form; uuid stays off the boot path."""
    a, b, c = struct.unpack_from("<IHH", raw)
    return f"{a:08x}-{b:04x}-{c:04x}-{raw[8:10].hex()}-{raw[10:16].hex()}"


def signature_lists(data: bytes) -> Iterator[tuple[str, str, bytes]]:
    """(signature type GUID, owner GUID, data) of every entry in a packed list of EFI_SIGNATURE_LISTs."""
    offset = 0
    while offset + 28 <= len(data):
        sig_type = guid(data[offset : offset + 16])
        list_size, header_size, sig_size = struct.unpack_from("<III", data, offset + 16)
        if list_size < 28 or sig_size < 16 or offset + list_size > len(data):
            log.warning("damaged signature list at byte %d; ignoring the rest", offset)
            return
        entry = offset + 28 + header_size
        while entry + sig_size <= offset + list_size:
            owner = guid(data[entry : entry + 16])
            yield sig_type, owner, data[entry + 16 : entry + sig_size]
            entry += sig_size
        offset += list_size


def thumbprints(data: bytes) -> set[str]:
    """SHA-1 thumbprints of the X.509 certificates in a signature database."""
    return {hashlib.sha1(d).hexdigest() for t, _o, d in signature_lists(data) if t == CERT_X509}


def bootmgr_svn(dbx: bytes) -> tuple[int, int] | None:
    """The highest Windows boot manager SVN in dbx: an EFI_CERT_SHA256 entry owned by SVN_OWNER holding version 1,
    the application GUID, then minor and major (2 bytes each)."""
    best: tuple[int, int] | None = None
    for sig_type, owner, data in signature_lists(dbx):
        if sig_type != CERT_SHA256 or owner != SVN_OWNER or len(data) < 21 or data[0] != 1:
            continue
        if guid(data[1:17]) != BOOTMGR_APP:
            continue
        minor, major = struct.unpack_from("<HH", data, 17)
        best = max(best or (major, minor), (major, minor))
    return best


def secure_boot_facts(read: VariableReader) -> dict[str, str]:
    """The Secure Boot facts from whatever `read` returns; unreadable variables give "False" and ""."""
    facts = {name: ("False" if name in BOOLEAN_FACTS else "") for name in FACT_NAMES}
    secure_boot, setup_mode = read("SecureBoot", GLOBAL), read("SetupMode", GLOBAL)
    db, dbx = read("db", IMAGE_SECURITY) or b"", read("dbx", IMAGE_SECURITY) or b""
    facts["IsSecureBoot"] = as_bool((secure_boot or b"")[:1] == b"\x01")
    facts["SecureBootSetupMode"] = as_bool((setup_mode or b"")[:1] == b"\x01")
    in_db, in_dbx = thumbprints(db), thumbprints(dbx)
    facts["SecureBootDbHasCA2023"] = as_bool(WINDOWS_UEFI_CA_2023 in in_db)
    facts["SecureBootDbHasPCA2011"] = as_bool(PCA_2011 in in_db)
    facts["SecureBootDbxRevokesPCA2011"] = as_bool(PCA_2011 in in_dbx)
    svn = bootmgr_svn(dbx)
    facts["SecureBootDbxBootMgrSVN"] = f"{svn[0]}.{svn[1]}" if svn else ""
    return facts


def efivarfs_reader(root: Path = Path("/sys/firmware/efi/efivars")) -> VariableReader:
    """Variables from Linux's efivarfs: a file NAME-GUID holding 4 bytes of attributes, then the data."""

    def read(name: str, guid: str) -> bytes | None:
        path = root / f"{name}-{guid}"
        try:
            raw = path.read_bytes()
        except FileNotFoundError:
            return None
        except OSError as exc:
            log.info("cannot read %s: %s", path, exc.strerror)
            return None
        return raw[4:] if len(raw) >= 4 else None

    return read


def system_hive(drives: str = "CDEFGHIJKLMNOPQRSTUVWYZ") -> Path | None:
    """The SYSTEM hive of the first installed Windows found on a drive letter (WinPE itself is X:, skipped)."""
    for letter in drives:
        hive = Path(f"{letter}:\\Windows\\System32\\config\\SYSTEM")
        try:
            if hive.is_file():
                return hive
        except OSError:  # a drive without media
            continue
    return None


def installed_os_facts(hive: Path | None) -> dict[str, str]:
    """What an installed Windows records about its Secure Boot 2023 update (its offline SYSTEM hive):
    `Servicing\\UEFICA2023Status` (NotStarted, InProgress, Updated) and `AvailableUpdates` as hex; "" when there is
    no installed Windows or it has no such values."""
    from agent.facts.regf import current_control_set, read_value

    facts = dict.fromkeys(OS_FACT_NAMES, "")
    if hive is None:
        return facts
    key = current_control_set(hive) + "\\Control\\SecureBoot"
    status = read_value(hive, key + "\\Servicing", "UEFICA2023Status")
    updates = read_value(hive, key, "AvailableUpdates")
    facts["SecureBootOSCA2023Status"] = status if isinstance(status, str) else ""
    facts["SecureBootOSAvailableUpdates"] = f"0x{updates:X}" if isinstance(updates, int) else ""
    return facts
