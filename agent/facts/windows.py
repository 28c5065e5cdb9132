"""Windows facts through kernel32 (SMBIOS, firmware type, power, memory); imported only on Windows."""

from __future__ import annotations

import ctypes
import sys
from ctypes import wintypes

from agent.errors import PrestartError
from agent.facts import power
from agent.facts.common import as_bool
from agent.facts.smbios import facts_from_smbios, from_rsmb
from agent.log import get_logger

# Importing this elsewhere is a bug in the caller (agent.facts.gather picks providers by platform).
assert sys.platform == "win32", "agent.facts.windows is Windows-only"

log = get_logger("prestart.facts.windows")

RSMB = int.from_bytes(b"RSMB", "big")  # the provider signature is the four characters as a big-endian DWORD
FIRMWARE_TYPE_UEFI = 2

_kernel32 = ctypes.WinDLL("kernel32", use_last_error=True)
_kernel32.GetSystemFirmwareTable.argtypes = [wintypes.DWORD, wintypes.DWORD, ctypes.c_void_p, wintypes.DWORD]
_kernel32.GetSystemFirmwareTable.restype = wintypes.UINT
_kernel32.GetFirmwareEnvironmentVariableW.argtypes = [
    wintypes.LPCWSTR,
    wintypes.LPCWSTR,
    ctypes.c_void_p,
    wintypes.DWORD,
]
_kernel32.GetFirmwareEnvironmentVariableW.restype = wintypes.DWORD
ERROR_INVALID_FUNCTION = 1  # what GetFirmwareEnvironmentVariableW reports on legacy BIOS firmware


class _SystemPowerStatus(ctypes.Structure):
    _fields_ = [
        ("ACLineStatus", wintypes.BYTE),
        ("BatteryFlag", wintypes.BYTE),
        ("BatteryLifePercent", wintypes.BYTE),
        ("SystemStatusFlag", wintypes.BYTE),
        ("BatteryLifeTime", wintypes.DWORD),
        ("BatteryFullLifeTime", wintypes.DWORD),
    ]


class _MemoryStatusEx(ctypes.Structure):
    _fields_ = [
        ("dwLength", wintypes.DWORD),
        ("dwMemoryLoad", wintypes.DWORD),
        ("ullTotalPhys", ctypes.c_ulonglong),
        ("ullAvailPhys", ctypes.c_ulonglong),
        ("ullTotalPageFile", ctypes.c_ulonglong),
        ("ullAvailPageFile", ctypes.c_ulonglong),
        ("ullTotalVirtual", ctypes.c_ulonglong),
        ("ullAvailVirtual", ctypes.c_ulonglong),
        ("ullAvailExtendedVirtual", ctypes.c_ulonglong),
    ]


def rsmb_buffer() -> bytes:
    """The RawSMBIOSData buffer; b"" when the firmware exposes none."""
    size = _kernel32.GetSystemFirmwareTable(RSMB, 0, None, 0)
    if not size:
        log.warning("GetSystemFirmwareTable('RSMB') returned nothing (error %s)", ctypes.get_last_error())
        return b""
    buf = ctypes.create_string_buffer(size)
    got = _kernel32.GetSystemFirmwareTable(RSMB, 0, buf, size)
    return buf.raw[: min(got, size)]


def is_uefi() -> bool:
    """GetFirmwareType where kernel32 has it (Windows 8+), else the GetFirmwareEnvironmentVariableW test.

    Looked up at call time, not import time: a kernel32 without GetFirmwareType (wine 8) would otherwise
    fail the import, and with it every command that gathers facts.
    """
    get_firmware_type = getattr(_kernel32, "GetFirmwareType", None)
    if get_firmware_type is None:
        return _is_uefi_by_variable()
    get_firmware_type.argtypes = [ctypes.POINTER(ctypes.c_int)]
    get_firmware_type.restype = wintypes.BOOL
    kind = ctypes.c_int(0)
    if not get_firmware_type(ctypes.byref(kind)):
        log.warning("GetFirmwareType failed (error %s)", ctypes.get_last_error())
        return False
    return kind.value == FIRMWARE_TYPE_UEFI


def _is_uefi_by_variable() -> bool:
    """Microsoft's pre-Windows 8 test: reading any firmware variable fails with ERROR_INVALID_FUNCTION on BIOS.

    On UEFI the read of this made-up variable fails too, but with another error (not found, or access
    denied without the privilege).
    """
    _kernel32.GetFirmwareEnvironmentVariableW("", "{00000000-0000-0000-0000-000000000000}", None, 0)
    return ctypes.get_last_error() != ERROR_INVALID_FUNCTION


def windows_facts() -> dict[str, str]:
    """SMBIOS facts, Memory, IsUEFI, IsOnBattery. Network facts: TODO (GetAdaptersAddresses), see network.py."""
    facts: dict[str, str] = {}
    try:
        buf = rsmb_buffer()
        if buf:
            facts.update(facts_from_smbios(from_rsmb(buf)))
    except PrestartError as exc:
        log.warning("no SMBIOS facts: %s", exc)
    if not facts.get("Memory"):
        status = _MemoryStatusEx()
        status.dwLength = ctypes.sizeof(_MemoryStatusEx)
        if _kernel32.GlobalMemoryStatusEx(ctypes.byref(status)):
            facts["Memory"] = str(status.ullTotalPhys // (1024 * 1024))
    facts["IsUEFI"] = as_bool(is_uefi())
    ps = _SystemPowerStatus()
    if _kernel32.GetSystemPowerStatus(ctypes.byref(ps)):
        facts["IsOnBattery"] = as_bool(power.on_battery_windows(ps.ACLineStatus & 0xFF, ps.BatteryFlag & 0xFF))
    else:
        log.warning("GetSystemPowerStatus failed (error %s)", ctypes.get_last_error())
        facts["IsOnBattery"] = "False"
    return facts
