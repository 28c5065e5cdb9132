"""agent.facts.regf and the installed-OS Secure Boot facts, on hives written by hivex and read back by hivexget."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from agent.facts.regf import current_control_set, read_value
from agent.facts.secureboot import installed_os_facts
from tests.agent.facts.hives import hivexsh, system_hive


def hivexget(hive: Path, key: str, value: str) -> str:
    return subprocess.run(["hivexget", str(hive), key, value], capture_output=True, text=True, check=True).stdout


def test_values_read_back_as_hivex_wrote_them(tmp_path: Path) -> None:
    hive = system_hive(tmp_path / "SYSTEM", status="InProgress", updates=0x4100)
    key = "ControlSet001\\Control\\SecureBoot"
    assert read_value(hive, key + "\\Servicing", "UEFICA2023Status") == "InProgress"
    assert hivexget(hive, key + "\\Servicing", "UEFICA2023Status").strip() == "InProgress"
    assert read_value(hive, key, "AvailableUpdates") == 0x4100
    assert read_value(hive, key.lower(), "availableupdates") == 0x4100  # Windows names are case-insensitive
    assert read_value(hive, key, "Missing") is None
    assert read_value(hive, "No\\Such\\Key", "Value") is None


def test_many_subkeys_and_long_values(tmp_path: Path) -> None:
    hive = system_hive(tmp_path / "SYSTEM")
    lines = [f"add Key{i:03d}" for i in range(300)]  # more than one subkey list cell holds
    lines += ["cd Key299", "setval 1", "Text", "string:" + "x" * 3000]
    hivexsh(hive, "\n".join(lines))
    assert read_value(hive, "key299", "Text") == "x" * 3000
    assert read_value(hive, "ControlSet001\\Control\\SecureBoot\\Servicing", "UEFICA2023Status") == "Updated"


@pytest.mark.parametrize(("status", "updates", "expected"), [
    ("Updated", 0x5944, {"SecureBootOSCA2023Status": "Updated", "SecureBootOSAvailableUpdates": "0x5944"}),
    ("NotStarted", None, {"SecureBootOSCA2023Status": "NotStarted", "SecureBootOSAvailableUpdates": ""}),
    (None, None, {"SecureBootOSCA2023Status": "", "SecureBootOSAvailableUpdates": ""}),
])  # fmt: skip
def test_installed_os_facts(tmp_path: Path, status: str | None, updates: int | None, expected: dict[str, str]) -> None:
    assert installed_os_facts(system_hive(tmp_path / "SYSTEM", status=status, updates=updates)) == expected


def test_the_current_control_set_is_the_one_select_names(tmp_path: Path) -> None:
    hive = system_hive(tmp_path / "SYSTEM", current=2, status="InProgress")
    assert current_control_set(hive) == "ControlSet002"
    assert installed_os_facts(hive)["SecureBootOSCA2023Status"] == "InProgress"


def test_no_windows_or_a_damaged_hive_gives_empty_facts(tmp_path: Path) -> None:
    assert installed_os_facts(None) == {"SecureBootOSCA2023Status": "", "SecureBootOSAvailableUpdates": ""}
    damaged = tmp_path / "SYSTEM"
    data = bytearray(system_hive(damaged).read_bytes())
    data[0x24:0x28] = b"\x00\xff\xff\x7f"  # the root key's offset now points past the end
    damaged.write_bytes(bytes(data))
    assert installed_os_facts(damaged)["SecureBootOSCA2023Status"] == ""
    assert installed_os_facts(tmp_path / "absent")["SecureBootOSCA2023Status"] == ""
    text = tmp_path / "notes.reg"
    text.write_text("Windows Registry Editor Version 5.00\n")
    assert read_value(text, "Select", "Current") is None
