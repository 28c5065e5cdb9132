"""Machine facts under MDT ZTIGather names: gather() picks the platform's providers, or a facts file stands in."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from agent.errors import InputError, Problem, ValidationFailed
from agent.log import get_logger
from agent.variables import name_problem, value_problem

log = get_logger("prestart.facts")

# Secure Boot facts (agent/facts/secureboot.py): five booleans, the boot manager SVN in dbx (MAJOR.MINOR), and
# what an installed Windows on the machine records (its offline registry): UEFICA2023Status, AvailableUpdates.
SECURE_BOOT_FACTS = (
    "IsSecureBoot",
    "SecureBootSetupMode",
    "SecureBootDbHasCA2023",
    "SecureBootDbHasPCA2011",
    "SecureBootDbxRevokesPCA2011",
    "SecureBootDbxBootMgrSVN",
    "SecureBootOSCA2023Status",
    "SecureBootOSAvailableUpdates",
)
# The facts every gather() returns (numbered network facts come on top: MacAddress001, IPAddress001, ...).
FACT_NAMES: tuple[str, ...] = (
    "Make",
    "Model",
    "Product",
    "SerialNumber",
    "AssetTag",
    "UUID",
    "Memory",
    "Architecture",
    "IsLaptop",
    "IsDesktop",
    "IsServer",
    "IsVM",
    "VMPlatform",
    "IsUEFI",
    "IsOnBattery",
    "HostName",
    # Gather's values too, where WinPE can know them (agent/facts/smbios.py says where each comes from).
    "SystemSKU",
    "ProcessorSpeed",
    "OSCurrentVersion",
    "OSCurrentBuild",
    "OSVersion",
    # Not MDT's: a Lenovo's marketing name and machine type, which MDT's Model and Product do not carry.
    "SystemVersion",
    "MachineType",
    *SECURE_BOOT_FACTS,
)
BOOLEAN_FACTS = frozenset(
    {"IsLaptop", "IsDesktop", "IsServer", "IsVM", "IsUEFI", "IsOnBattery", *SECURE_BOOT_FACTS[:5]}
)
NUMBERED_FACTS = ("MacAddress", "IPAddress", "DefaultGateway")


def _platform_facts() -> dict[str, str]:
    # Imported here so that Linux never imports the ctypes/kernel32 module and vice versa.
    from agent.facts.secureboot import efivarfs_reader, secure_boot_facts

    if sys.platform == "win32":
        from agent.facts.secureboot import installed_os_facts, system_hive
        from agent.facts.windows import firmware_variable_reader, windows_facts

        return {
            **windows_facts(),
            **secure_boot_facts(firmware_variable_reader()),
            **installed_os_facts(system_hive()),
        }
    from agent.facts.linux import linux_facts
    from agent.facts.network import network_facts

    return {**network_facts(), **linux_facts(), **secure_boot_facts(efivarfs_reader())}


def gather(*, smbios_file: Path | None = None) -> dict[str, str]:
    """Every fact this machine offers; `smbios_file` (a dmidecode --dump-bin file) replaces its SMBIOS facts.

    Never raises for a missing source (each provider logs and returns what it knows), but a given
    `smbios_file` that is missing or damaged raises SourceUnavailable or DataError: the caller asked for it.
    """
    from agent.facts.common import architecture, hostname

    facts: dict[str, str] = {name: ("False" if name in BOOLEAN_FACTS else "") for name in FACT_NAMES}
    facts["Architecture"] = architecture()
    facts["HostName"] = hostname()
    facts.update(_platform_facts())
    if smbios_file is not None:
        from agent.facts.smbios import facts_from_smbios, read_dump

        dumped = facts_from_smbios(read_dump(smbios_file))
        # Memory from the dump when it has DIMMs, else keep what the OS reported.
        facts.update({k: v for k, v in dumped.items() if v or k != "Memory"})
    return facts


def load_facts_file(path: Path | str) -> dict[str, str]:
    """Read a `--facts FILE`: one JSON object of fact name to string value; every problem is reported."""
    path = Path(path)
    hint = 'write one JSON object of name to string, e.g. {"Make": "Dell Inc.", "IsLaptop": "True"}'
    try:
        from agent import limits

        text = limits.read_bytes(path, limits.FACTS_BYTES, "a facts file").decode("utf-8-sig")
    except FileNotFoundError as exc:
        raise InputError(f"{path}: facts file not found", "check the --facts path") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: cannot read the facts file: {exc}", hint) from exc
    from agent import safejson

    try:
        data = safejson.loads(text)
    except safejson.JsonProblem as exc:
        raise InputError(f"{path}: the facts file {exc}", hint) from None
    except json.JSONDecodeError as exc:
        raise InputError(f"{path}: line {exc.lineno}: not valid JSON: {exc.msg}", hint) from exc
    if not isinstance(data, dict):
        raise InputError(f"{path}: the facts file holds a JSON {type(data).__name__}, not an object", hint)
    problems: list[Problem] = []
    facts: dict[str, str] = {}
    for name, value in data.items():
        if not isinstance(value, str):
            problems.append(Problem(name, f"value is a JSON {type(value).__name__}, not a string", file=str(path),
                                    hint='quote it: "16384", "True"'))
            continue
        # Facts may not be written as variables, but they are read under the same names in rules.
        problem = name_problem(name) or value_problem(name, value)
        if problem:
            problems.append(Problem(name, problem, file=str(path)))
            continue
        facts[name] = value
    if problems:
        raise ValidationFailed(problems, what=f"facts file {path}")
    return facts


def cli_facts(smbios: str | None, facts_file: str | None) -> dict[str, str]:
    """What `prestart facts [--smbios FILE] [--facts FILE]` prints as JSON.

    --facts alone replaces gathering (as in headless runs); --smbios alone gathers this machine with
    the dump's SMBIOS facts; both: the dump's facts with the file's values on top.
    """
    if facts_file is not None and smbios is None:
        return load_facts_file(facts_file)
    facts = gather(smbios_file=Path(smbios) if smbios is not None else None)
    if facts_file is not None:
        facts.update(load_facts_file(facts_file))
    return facts
