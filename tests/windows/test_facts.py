"""Facts in the frozen prestart.exe through the real Win32 calls wine implements, and output through pipes."""

from __future__ import annotations

import json
import re
import socket
import subprocess
import sys
from pathlib import Path

from media_builder.winefreeze import Wine
from tests.agent.facts.dmi_gen import Machine
from tests.conftest import REPO


def test_live_facts_come_from_kernel32(wine: Wine, exe: Path) -> None:
    """GetSystemFirmwareTable('RSMB'), GetFirmwareType's fallback, GetSystemPowerStatus, GlobalMemoryStatusEx.

    Wine answers these from the Linux host: its synthetic SMBIOS has a system UUID and no memory devices,
    its memory is /proc/meminfo's, it has no firmware variables (a BIOS machine) and no battery here.
    """
    done = wine.run([exe, "facts"], check=True)
    facts = json.loads(done.stdout)
    assert re.fullmatch(r"[0-9A-F]{8}(-[0-9A-F]{4}){3}-[0-9A-F]{12}", facts["UUID"]), facts
    total_kb = int(re.search(r"^MemTotal:\s+(\d+) kB", Path("/proc/meminfo").read_text(), re.M).group(1))
    assert abs(int(facts["Memory"]) - total_kb // 1024) <= 1, facts
    assert facts["IsUEFI"] == "False"  # no GetFirmwareType in wine 8: the firmware-variable test says BIOS
    assert facts["IsOnBattery"] == "False"
    assert facts["Architecture"] == "X64"
    assert facts["HostName"].casefold() == socket.gethostname().split(".")[0].casefold()
    # Gather's network and OS facts through GetAdaptersAddresses and the version wine reports (agent/facts/
    # winnet.py, windows.py): the host's own adapters, MDT's names and formats.
    host_macs = {
        (nic / "address").read_text().strip().upper()
        for nic in Path("/sys/class/net").iterdir()
        if nic.name != "lo" and (nic / "address").is_file()
    }
    assert facts["MacAddress001"] in host_macs, (facts, host_macs)
    assert re.fullmatch(r"\d+\.\d+\.\d+\.\d+", facts["IPAddress001"]), facts
    gateways = [line.split()[2] for line in Path("/proc/net/route").read_text().splitlines()[1:]
                if line.split()[1] == "00000000"]
    if gateways:
        raw = bytes.fromhex(gateways[0])[::-1]
        assert facts["DefaultGateway001"] == ".".join(str(b) for b in raw), facts
    version = facts["OSCurrentVersion"]
    assert re.fullmatch(r"\d+\.\d+\.\d+", version) and facts["OSCurrentBuild"] == version.rsplit(".", 1)[1]
    assert facts["OSVersion"] in {"Win7Client", "Vista", "Other"}, facts  # not WinPE: no MiniNT key here


def test_smbios_dump_gives_the_same_facts_on_windows_and_linux(wine: Wine, exe: Path, tmp_path: Path) -> None:
    """One dump, two builds: the Windows exe's facts equal the Linux interpreter's, non-ASCII text included,
    written as UTF-8 to a pipe (a Windows pipe's code page would be cp1252, which has no Ł)."""
    dump = Machine(manufacturer="Łódź Komputery Sp. z o.o.", product="Stacja – 3", serial="ŻÓŁW-1").write(
        tmp_path / "dump.bin"
    )
    done = wine.run([exe, "facts", "--smbios", dump], check=True)
    on_windows = json.loads(done.stdout)
    linux = subprocess.run(
        [sys.executable, "-m", "agent", "facts", "--smbios", str(dump)],
        capture_output=True, check=True, cwd=REPO, env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO)},
    )  # fmt: skip
    on_linux = json.loads(linux.stdout.decode("utf-8"))
    assert on_windows["Make"] == "Łódź Komputery Sp. z o.o."
    assert on_windows["SerialNumber"] == "ŻÓŁW-1"
    for name in ("Make", "Model", "Product", "SerialNumber", "AssetTag", "UUID", "Memory", "IsLaptop", "IsVM"):
        assert on_windows[name] == on_linux[name], name


def test_schema_is_utf8_through_a_pipe(wine: Wine, exe: Path) -> None:
    """`prestart schema > profile.schema.json` on Windows: a pipe, JSON, whatever the console code page."""
    done = wine.run([exe, "schema"], check=True)
    assert json.loads(done.stdout)["$schema"].startswith("https://json-schema.org/")
