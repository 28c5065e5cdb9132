"""Windows facts through kernel32 (SMBIOS, firmware type, power, memory, firmware variables); Windows only."""

from __future__ import annotations

import ctypes
import sys
from ctypes import wintypes

from agent.errors import PrestartError
from agent.facts import power
from agent.facts.common import as_bool
from agent.facts.secureboot import VariableReader
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


def os_facts() -> dict[str, str]:
    """OSCurrentVersion, OSCurrentBuild and OSVersion as Gather's GetOSVersion sets them (WinPE has a MiniNT key)."""
    import winreg

    version = sys.getwindowsversion()
    facts = {"OSCurrentVersion": f"{version.major}.{version.minor}.{version.build}",
             "OSCurrentBuild": str(version.build)}
    try:
        winreg.CloseKey(winreg.OpenKey(winreg.HKEY_LOCAL_MACHINE, r"System\CurrentControlSet\Control\MiniNT"))
        facts["OSVersion"] = "WinPE"
    except OSError:
        # Gather names builds up to Windows 7 / 2008 R2; every later Windows is "Other" to it.
        names = {1381: "NT", 2195: "2000", 2600: "XP", 3790: "2003"}
        facts["OSVersion"] = names.get(version.build, "Other")
        if version.build not in names and (version.major, version.minor) in ((6, 0), (6, 1)):
            server = _product_type() in ("ServerNT", "LanmanNT")
            facts["OSVersion"] = {(6, 0): ("Vista", "2008"), (6, 1): ("Win7Client", "2008R2")}[
                (version.major, version.minor)][server]
    return facts


def _product_type() -> str:
    import winreg

    try:
        with winreg.OpenKey(winreg.HKEY_LOCAL_MACHINE, r"SYSTEM\CurrentControlSet\Control\ProductOptions") as key:
            return str(winreg.QueryValueEx(key, "ProductType")[0])
    except OSError:
        return ""


def windows_facts() -> dict[str, str]:
    """SMBIOS facts, Memory, OS version, network lists (agent.facts.winnet), IsUEFI, IsOnBattery."""
    facts: dict[str, str] = {}
    try:
        buf = rsmb_buffer()
        if buf:
            facts.update(facts_from_smbios(from_rsmb(buf)))
    except PrestartError as exc:
        log.warning("no SMBIOS facts: %s", exc)
    # Gather's Memory is Win32_ComputerSystem.TotalPhysicalMemory in MB: what Windows sees, not the DIMMs.
    status = _MemoryStatusEx()
    status.dwLength = ctypes.sizeof(_MemoryStatusEx)
    if _kernel32.GlobalMemoryStatusEx(ctypes.byref(status)):
        facts["Memory"] = str(status.ullTotalPhys // (1024 * 1024))
    facts.update(os_facts())
    from agent.facts.winnet import adapter_facts

    try:
        facts.update(adapter_facts())
    except OSError as exc:  # no iphlpapi.dll in a stripped WinPE: carry on without network facts
        log.warning("no network facts: %s", exc)
    facts["IsUEFI"] = as_bool(is_uefi())
    ps = _SystemPowerStatus()
    if _kernel32.GetSystemPowerStatus(ctypes.byref(ps)):
        facts["IsOnBattery"] = as_bool(power.on_battery_windows(ps.ACLineStatus & 0xFF, ps.BatteryFlag & 0xFF))
    else:
        log.warning("GetSystemPowerStatus failed (error %s)", ctypes.get_last_error())
        facts["IsOnBattery"] = "False"
    return facts


def firmware_variable_reader() -> VariableReader:
    """Variables through GetFirmwareEnvironmentVariableW, after enabling SeSystemEnvironmentPrivilege (WinPE runs
    as SYSTEM, which holds it disabled)."""
    kernel32 = _kernel32
    advapi32 = ctypes.WinDLL("advapi32", use_last_error=True)

    class _Luid(ctypes.Structure):
        _fields_ = [("LowPart", wintypes.DWORD), ("HighPart", wintypes.LONG)]

    class _TokenPrivileges(ctypes.Structure):
        _fields_ = [("PrivilegeCount", wintypes.DWORD), ("Luid", _Luid), ("Attributes", wintypes.DWORD)]

    token = wintypes.HANDLE()
    luid = _Luid()
    adjust_privileges, query, enabled = 0x20, 0x8, 0x2
    if advapi32.OpenProcessToken(kernel32.GetCurrentProcess(), adjust_privileges | query, ctypes.byref(token)):
        if advapi32.LookupPrivilegeValueW(None, "SeSystemEnvironmentPrivilege", ctypes.byref(luid)):
            privileges = _TokenPrivileges(1, luid, enabled)
            advapi32.AdjustTokenPrivileges(token, False, ctypes.byref(privileges), 0, None, None)
        kernel32.CloseHandle(token)
    get = kernel32.GetFirmwareEnvironmentVariableW
    get.argtypes = [wintypes.LPCWSTR, wintypes.LPCWSTR, ctypes.c_void_p, wintypes.DWORD]
    get.restype = wintypes.DWORD
    not_found, too_small = 203, 122  # ERROR_ENVVAR_NOT_FOUND, ERROR_INSUFFICIENT_BUFFER

    def read(name: str, guid: str) -> bytes | None:
        size = 64 * 1024  # dbx grows with every revocation update; it is ~25 KB today
        while size <= 4 * 1024 * 1024:
            buf = ctypes.create_string_buffer(size)
            got = get(name, "{" + guid + "}", buf, size)
            if got:
                return buf.raw[:got]
            error = ctypes.get_last_error()
            if error == too_small:
                size *= 4
                continue
            if error != not_found:
                log.info("GetFirmwareEnvironmentVariableW(%s) failed (error %s)", name, error)
            return None
        return None

    return read
