"""Linux facts: SMBIOS from sysfs, memory, UEFI and power; a missing source is logged, never raised."""

from __future__ import annotations

from pathlib import Path

from agent.errors import PrestartError
from agent.facts import power
from agent.facts.common import as_bool
from agent.facts.smbios import facts_from_smbios, read_sysfs
from agent.log import get_logger

log = get_logger("prestart.facts.linux")


def meminfo_mb(path: Path) -> int:
    """MemTotal from /proc/meminfo in MB (what the kernel sees, a little under the DIMMs), 0 when unknown."""
    try:
        text = path.read_text(encoding="ascii", errors="replace")
    except OSError as exc:
        log.info("cannot read %s: %s", path, exc.strerror)
        return 0
    for line in text.splitlines():
        name, _, rest = line.partition(":")
        if name.strip() == "MemTotal":
            parts = rest.split()
            if parts and parts[0].isdigit():
                return int(parts[0]) // 1024  # the kernel writes kB
    log.info("%s has no MemTotal line", path)
    return 0


def linux_facts(*, sys_root: Path = Path("/sys"), proc_root: Path = Path("/proc")) -> dict[str, str]:
    """SMBIOS facts, Memory (/proc/meminfo, else SMBIOS), IsUEFI and IsOnBattery; roots are for tests."""
    facts: dict[str, str] = {}
    tables = sys_root / "firmware" / "dmi" / "tables"
    try:
        facts.update(facts_from_smbios(read_sysfs(tables)))
    except PrestartError as exc:
        # Containers and some VMs have no DMI, and the table is root-only: carry on without it.
        log.warning("no SMBIOS facts: %s", exc)
    # Gather's Memory is the memory the OS sees (Win32_ComputerSystem.TotalPhysicalMemory), not the DIMMs.
    mb = meminfo_mb(proc_root / "meminfo")
    if mb:
        facts["Memory"] = str(mb)
    facts.setdefault("Memory", "")
    facts["IsUEFI"] = as_bool((sys_root / "firmware" / "efi").is_dir())
    supplies = power.read_power_supplies(sys_root / "class" / "power_supply")
    facts["IsOnBattery"] = as_bool(power.on_battery(supplies))
    return facts
