"""Linux, network and power providers on fake /sys and /proc trees; gather(), facts files and cli_facts()."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from agent.errors import DataError, InputError, ValidationFailed
from agent.facts import FACT_NAMES, cli_facts, gather, load_facts_file
from agent.facts.common import architecture
from agent.facts.linux import linux_facts
from agent.facts.network import network_facts
from agent.facts.power import on_battery_windows
from tests.agent.facts import dmi_gen
from tests.agent.facts.dmi_gen import Machine

if TYPE_CHECKING:
    from tests.conftest import LogCapture

SPEC = Path(__file__).resolve().parents[3] / "examples" / "reference"


def write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def supply(sys_root: Path, name: str, **values: str) -> None:
    for key, value in values.items():
        write(sys_root / "class" / "power_supply" / name / key, value + "\n")


@pytest.mark.parametrize(
    ("battery", "ac", "expected"),
    [("Discharging", "0", "True"), ("Discharging", "1", "False"), ("Charging", "1", "False"),
     ("Full", "0", "False"), (None, "1", "False"), (None, None, "False")],
)
def test_is_on_battery(tmp_path: Path, battery: str | None, ac: str | None, expected: str) -> None:
    if battery:
        supply(tmp_path, "BAT0", type="Battery", status=battery)
    if ac:
        supply(tmp_path, "AC", type="Mains", online=ac)
    assert linux_facts(sys_root=tmp_path, proc_root=tmp_path)["IsOnBattery"] == expected


def test_windows_power_status_reading() -> None:
    assert on_battery_windows(0, 0x02) is True  # offline, battery low
    assert on_battery_windows(1, 0x08) is False  # charging
    assert on_battery_windows(0, 128) is False  # no system battery
    assert on_battery_windows(255, 255) is False  # unknown


def test_linux_facts_with_smbios_uefi_and_meminfo(tmp_path: Path) -> None:
    dmi_gen.write_sysfs(tmp_path / "firmware" / "dmi" / "tables", Machine(dimms=((0x7FFF, 32768),)))
    (tmp_path / "firmware" / "efi").mkdir()
    facts = linux_facts(sys_root=tmp_path, proc_root=tmp_path)
    assert facts["Make"] == "Dell Inc." and facts["Memory"] == "32768" and facts["IsUEFI"] == "True"


def test_linux_facts_without_dmi_use_meminfo_and_never_raise(tmp_path: Path) -> None:
    write(tmp_path / "meminfo", "MemTotal:       16303464 kB\nMemFree:         1000 kB\n")
    facts = linux_facts(sys_root=tmp_path / "nosys", proc_root=tmp_path)
    assert facts == {"Memory": "15921", "IsUEFI": "False", "IsOnBattery": "False"}
    assert linux_facts(sys_root=tmp_path / "nosys", proc_root=tmp_path / "noproc")["Memory"] == ""


def test_linux_facts_with_a_damaged_table_log_and_go_on(tmp_path: Path, logs: LogCapture) -> None:
    root = dmi_gen.write_sysfs(tmp_path / "firmware" / "dmi" / "tables", Machine())
    (root / "DMI").write_bytes(b"\x01\x02")
    facts = linux_facts(sys_root=tmp_path, proc_root=tmp_path)
    assert "Make" not in facts and "no SMBIOS facts" in logs.text()


ROUTE = """Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT
eth0\t00000000\t011E140A\t0003\t0\t0\t100\t00000000\t0\t0\t0
eth0\t001E140A\t00000000\t0001\t0\t0\t100\t00FFFFFF\t0\t0\t0
wlan0\t00000000\t0101A8C0\t0003\t0\t0\t600\t00000000\t0\t0\t0
wlan0\t0001A8C0\t00000000\t0001\t0\t0\t600\t00FFFFFF\t0\t0\t0
usb0\t00000000\t01FEA8C0\t0003\t0\t0\t50\t00000000\t0\t0\t0
"""
FIB = """Main:
  +-- 0.0.0.0/0 3 0 5
     |-- 10.20.30.0
        /24 link UNICAST
     |-- 10.20.30.41
        /32 host LOCAL
     |-- 127.0.0.1
        /32 host LOCAL
     |-- 192.168.1.77
        /32 host LOCAL
Local:
     |-- 10.20.30.41
        /32 host LOCAL
"""
INET6 = """fd000000000000000000000000000041 02 40 00 80     eth0
fe800000000000000000000000000041 02 40 20 80     eth0
00000000000000000000000000000001 01 80 10 80       lo
"""


def fake_net(root: Path) -> tuple[Path, Path]:
    sys_root, proc_root = root / "sys", root / "proc"
    links = {
        "lo": ("772", "0x9", "unknown", "00:00:00:00:00:00", "1"),
        "eth0": ("1", "0x1003", "up", "a4:bb:6d:12:34:56", "2"),
        "wlan0": ("1", "0x1003", "up", "3c:22:fb:00:00:01", "3"),
        "usb0": ("1", "0x1002", "down", "02:00:00:00:00:99", "4"),
    }
    for name, (kind, flags, state, mac, index) in links.items():
        for key, value in (("type", kind), ("flags", flags), ("operstate", state), ("address", mac),
                           ("ifindex", index)):
            write(sys_root / "class" / "net" / name / key, value + "\n")
    write(proc_root / "net" / "route", ROUTE)
    write(proc_root / "net" / "fib_trie", FIB)
    write(proc_root / "net" / "if_inet6", INET6)
    return sys_root, proc_root


def test_network_facts_from_sys_and_proc(tmp_path: Path) -> None:
    sys_root, proc_root = fake_net(tmp_path)
    facts = network_facts(sys_root=sys_root, proc_root=proc_root)
    assert facts == {
        "HostName": socket.gethostname(),
        "MacAddress001": "A4:BB:6D:12:34:56",
        "MacAddress002": "3C:22:FB:00:00:01",
        # Adapter by adapter, as Gather lists them: eth0's IPv4 and IPv6 (link-local too), then wlan0's.
        "IPAddress001": "10.20.30.41",
        "IPAddress002": "fd00::41",
        "IPAddress003": "fe80::41",
        "IPAddress004": "192.168.1.77",
        "DefaultGateway001": "10.20.30.1",  # usb0's cheaper gateway is down, so it does not count
        "DefaultGateway002": "192.168.1.1",
    }


def test_network_facts_with_nothing_readable(tmp_path: Path) -> None:
    assert network_facts(sys_root=tmp_path, proc_root=tmp_path) == {"HostName": socket.gethostname()}


def test_network_facts_on_this_machine_match_the_kernel() -> None:
    facts = network_facts()
    macs = {v for k, v in facts.items() if k.startswith("MacAddress")}
    for path in Path("/sys/class/net").iterdir():
        up = int((path / "flags").read_text(), 16) & 1 and (path / "operstate").read_text().strip() == "up"
        if up and (path / "type").read_text().strip() != "772":
            assert (path / "address").read_text().strip().upper() in macs
    assert all(not v.startswith("127.") for k, v in facts.items() if k.startswith("IPAddress"))


@pytest.mark.parametrize(("machine", "arch"), [("AMD64", "X64"), ("x86_64", "X64"), ("x86", "X86"),
                                               ("i686", "X86"), ("ARM64", "ARM64"), ("aarch64", "ARM64")])
def test_architecture(machine: str, arch: str) -> None:
    assert architecture(machine) == arch


def test_gather_with_a_dump_has_every_fact_name(tmp_path: Path) -> None:
    machine = Machine(manufacturer="LENOVO", product="21AH00FGGE", sys_version="ThinkPad T14 Gen 3")
    path = machine.write(tmp_path / "t14.bin")
    facts = gather(smbios_file=path)
    assert set(FACT_NAMES) <= set(facts)
    assert facts["Model"] == "21AH00FGGE" and facts["SystemVersion"] == "ThinkPad T14 Gen 3"
    assert facts["Architecture"] == architecture()
    assert all(isinstance(v, str) for v in facts.values())


def test_gather_without_a_dump_never_imports_windows_code() -> None:
    code = (
        "import sys, agent.facts as f; d = f.gather(); "
        "assert 'agent.facts.windows' not in sys.modules; print(len(d))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                          cwd=Path(__file__).resolve().parents[3])
    assert int(done.stdout) >= len(FACT_NAMES)


def test_gather_with_a_broken_dump_raises_data_error(tmp_path: Path) -> None:
    path = tmp_path / "broken.bin"
    path.write_bytes(Machine(version=(2, 8)).dump()[:100])
    with pytest.raises(DataError, match=r"broken\.bin"):
        gather(smbios_file=path)


@pytest.mark.parametrize("name", ["laptop.json", "laptop-on-battery.json", "vm.json"])
def test_spec_facts_files_load(name: str) -> None:
    path = SPEC / "facts" / name
    assert load_facts_file(path) == json.loads(path.read_text())
    assert cli_facts(None, str(path)) == json.loads(path.read_text())


@pytest.mark.parametrize(
    ("text", "message"),
    [("{", "line 1: not valid JSON"), ("[1, 2]", "JSON list, not an object"), ("", "not valid JSON")],
)
def test_bad_facts_files(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "facts.json"
    path.write_text(text)
    with pytest.raises(InputError, match=message) as info:
        load_facts_file(path)
    assert str(path) in str(info.value) and info.value.hint


def test_facts_file_reports_every_bad_entry(tmp_path: Path) -> None:
    path = tmp_path / "facts.json"
    path.write_text(json.dumps({"Memory": 16384, "IsLaptop": True, "_SMSTSInWinPE": "true", "Make": "Dell"}))
    with pytest.raises(ValidationFailed) as info:
        load_facts_file(path)
    assert [p.path for p in info.value.problems] == ["Memory", "IsLaptop", "_SMSTSInWinPE"]
    assert all(p.file == str(path) for p in info.value.problems)
    with pytest.raises(InputError, match="not found"):
        load_facts_file(tmp_path / "nope.json")


def test_cli_facts_with_a_dump_and_a_facts_file(tmp_path: Path) -> None:
    dump = Machine().write(tmp_path / "d.bin")
    overrides = tmp_path / "o.json"
    overrides.write_text(json.dumps({"Model": "Test Model", "Location": "Lab 3"}))
    facts = cli_facts(str(dump), str(overrides))
    assert facts["Make"] == "Dell Inc." and facts["Model"] == "Test Model" and facts["Location"] == "Lab 3"
    assert json.loads(json.dumps(facts)) == facts
