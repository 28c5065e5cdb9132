"""Power facts from plain readings (Linux power_supply folders, Windows SYSTEM_POWER_STATUS), platform-neutral."""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

from agent.log import get_logger

log = get_logger("prestart.facts.power")

# SYSTEM_POWER_STATUS values (winbase.h).
AC_OFFLINE = 0
AC_ONLINE = 1
BATTERY_FLAG_NO_BATTERY = 128
BATTERY_FLAG_UNKNOWN = 255


class Supply(NamedTuple):
    """One /sys/class/power_supply entry, reduced to what IsOnBattery needs."""

    name: str
    type: str  # "Mains", "Battery", "USB", "UPS", ...
    online: bool  # Mains/USB: plugged in
    status: str  # Battery: "Charging", "Discharging", "Full", "Not charging", "Unknown"


def on_battery(supplies: list[Supply]) -> bool:
    """True when a battery is discharging and no AC adapter is online.

    A machine with no battery, or with AC online, is never "on battery"; a battery that
    reports Discharging while AC is online (some firmware does) does not count.
    """
    ac_online = any(s.online for s in supplies if s.type in ("Mains", "USB", "USB_C", "USB_PD"))
    discharging = any(s.type == "Battery" and s.status.casefold() == "discharging" for s in supplies)
    return discharging and not ac_online


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8", errors="replace").strip()
    except OSError:
        return ""


def read_power_supplies(root: Path = Path("/sys/class/power_supply")) -> list[Supply]:
    """Every supply under `root`; a missing folder (desktop, VM, container) gives []."""
    try:
        entries = sorted(root.iterdir())
    except OSError as exc:
        log.info("no power supply information at %s (%s); assuming mains power", root, exc.strerror)
        return []
    return [
        Supply(
            name=entry.name,
            type=_read_text(entry / "type"),
            online=_read_text(entry / "online") == "1",
            status=_read_text(entry / "status"),
        )
        for entry in entries
    ]


def on_battery_windows(ac_line_status: int, battery_flag: int) -> bool:
    """IsOnBattery from GetSystemPowerStatus: AC explicitly offline and a battery present."""
    return ac_line_status == AC_OFFLINE and battery_flag not in (BATTERY_FLAG_NO_BATTERY, BATTERY_FLAG_UNKNOWN)
