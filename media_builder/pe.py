"""Read a binary's machine type (PE, ELF, Mach-O) and check it against a boot image's architecture."""

from __future__ import annotations

import struct
from pathlib import Path

from agent.errors import InputError

# IMAGE_FILE_MACHINE_* values from the PE/COFF specification.
_PE_MACHINES = {
    0x8664: "amd64",
    0x014C: "x86",
    0xAA64: "arm64",
    0x01C4: "arm",
    0xA641: "arm64ec",
    0x0200: "ia64",
}
# e_machine values from the ELF specification.
_ELF_MACHINES = {0x3E: "x86_64", 0x03: "i386", 0xB7: "aarch64", 0x28: "arm"}
_MACHO_MAGICS = {
    b"\xcf\xfa\xed\xfe",
    b"\xce\xfa\xed\xfe",
    b"\xfe\xed\xfa\xcf",
    b"\xfe\xed\xfa\xce",
    b"\xca\xfe\xba\xbe",
}

# The names a media definition or a tool may use for one architecture.
ARCH_ALIASES = {
    "amd64": "amd64",
    "x64": "amd64",
    "x86_64": "amd64",
    "x86": "x86",
    "i386": "x86",
    "i686": "x86",
    "arm64": "arm64",
    "aarch64": "arm64",
}


def normalize_arch(arch: str) -> str:
    """The canonical name (amd64, x86, arm64) of an architecture spelled any common way."""
    return ARCH_ALIASES.get(arch.strip().lower(), arch.strip().lower())


def pe_machine(path: Path) -> str:
    """What `path` is: "amd64", "x86", "arm64" for PE files, else "elf-x86_64", "mach-o", "not-an-executable"..."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(64)
            if head[:4] == b"\x7fELF" and len(head) >= 20:
                # e_ident[EI_DATA] says the byte order of e_machine.
                order = "<" if head[5] == 1 else ">"
                (machine,) = struct.unpack_from(order + "H", head, 18)
                return "elf-" + _ELF_MACHINES.get(machine, f"0x{machine:x}")
            if head[:4] in _MACHO_MAGICS:
                return "mach-o"
            if head[:2] != b"MZ" or len(head) < 64:
                return "not-an-executable"
            (pe_offset,) = struct.unpack_from("<I", head, 0x3C)
            fh.seek(pe_offset)
            nt = fh.read(6)
    except FileNotFoundError as exc:
        raise InputError(f"{path} does not exist", "build or copy the agent binary there first") from exc
    except IsADirectoryError as exc:
        raise InputError(f"{path} is a folder, not a program", "point at the .exe inside it") from exc
    if len(nt) < 6 or nt[:4] != b"PE\0\0":
        return "dos-mz"  # an MZ stub without a PE header: a DOS program or a truncated file
    (machine,) = struct.unpack_from("<H", nt, 4)
    return _PE_MACHINES.get(machine, f"pe-0x{machine:04x}")


def check_arch(path: Path, arch: str, *, image: str = "", what: str = "agent") -> None:
    """Raise InputError unless `path` is a Windows PE binary for `arch` (the boot image's architecture)."""
    want = normalize_arch(arch)
    got = pe_machine(path)
    if got == want:
        return
    target = f"boot image {image}" if image else "the boot image"
    if got in _PE_MACHINES.values():
        raise InputError(
            f"{what} {path} is an {got} binary but {target} is {want}",
            f"freeze the agent on a Windows {want} build machine (docs/windows-build.md) "
            f"and point the media definition's agent.{want} at it",
        )
    raise InputError(
        f"{what} {path} is not a Windows program (it is {got}) but {target} needs a Windows {want} executable",
        "PyInstaller cannot cross-compile: freeze the agent on Windows (docs/windows-build.md)",
    )
