"""The SMBIOS parser and its facts, checked against `dmidecode --from-dump` on generated dumps."""

from __future__ import annotations

import contextlib
import json
import re
import shutil
import uuid as uuidlib
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agent.errors import DataError, SourceUnavailable
from agent.facts.smbios import facts_from_smbios, from_rsmb, parse_dump, read_dump, read_sysfs
from agent.proc import run
from tests.agent.facts import dmi_gen
from tests.agent.facts.dmi_gen import Machine

SPEC = Path(__file__).resolve().parents[3] / "examples" / "reference"
DMIDECODE = shutil.which("dmidecode") or "/usr/sbin/dmidecode"
# What dmidecode prints for a string index 0 or one past the string set; we give "".
DMI_MISSING = {"Not Specified", "<BAD INDEX>"}


def dmi(path: Path, *args: str) -> str:
    """The oracle's answer for one dump."""
    return run([DMIDECODE, "--from-dump", str(path), *args], timeout=30).stdout.decode("utf-8", "replace").strip()


def dmi_string(path: Path, keyword: str) -> str:
    text = dmi(path, "-s", keyword)
    return "" if text in DMI_MISSING else text


# dmidecode's words for an all-FF and an all-zero UUID, and the digits Windows (and so Gather) shows instead.
WINDOWS_UUID = {
    "Not Present": "FFFFFFFF-FFFF-FFFF-FFFF-FFFFFFFFFFFF",
    "Not Settable": "00000000-0000-0000-0000-000000000000",
}


def dmi_uuid(path: Path) -> str:
    text = dmi(path, "-s", "system-uuid")
    return WINDOWS_UUID.get(text, text).upper()


def dmi_sizes_kb(path: Path, type_: str, label: str) -> int:
    """Sum of `label: N unit` lines in `dmidecode -t type_` (memory device sizes, range sizes)."""
    units = {"bytes": 1 / 1024, "kB": 1, "MB": 1024, "GB": 1024**2, "TB": 1024**3}
    total = 0.0
    for n, unit in re.findall(rf"^\s*{label}: (\d+) (bytes|kB|MB|GB|TB)$", dmi(path, "-t", type_), re.M):
        total += int(n) * units[unit]
    return int(total)


def facts_of(tmp_path: Path, machine: Machine, entry: str | None = None, name: str = "dump.bin") -> tuple[Path, dict]:
    path = machine.write(tmp_path / name, entry)
    return path, facts_from_smbios(read_dump(path))


@pytest.mark.parametrize(
    ("version", "entry"), [((2, 5), "2"), ((2, 8), "2"), ((3, 0), "3"), ((3, 4), "3"), ((2, 8), "3")]
)
def test_entry_points_2x_and_3x_agree_with_dmidecode(tmp_path: Path, version: tuple[int, int], entry: str) -> None:
    path, facts = facts_of(tmp_path, Machine(version=version), entry)
    assert f"SMBIOS {version[0]}.{version[1]}" in dmi(path, "-t", "0") or entry == "3"
    assert facts["Make"] == dmi_string(path, "system-manufacturer") == "Dell Inc."
    assert facts["Model"] == dmi_string(path, "system-product-name") == "Latitude 7440"
    assert facts["Product"] == dmi_string(path, "baseboard-product-name") == "0C5V9R"
    assert facts["SerialNumber"] == dmi_string(path, "system-serial-number") == "8XK2HL3"
    assert facts["AssetTag"] == dmi_string(path, "chassis-asset-tag") == "CT-10442"
    assert facts["UUID"] == dmi_uuid(path) == "4C4C4544-0058-4B10-8032-B8C04F484C33"
    assert facts["Memory"] == str(dmi_sizes_kb(path, "17", "Size") // 1024) == "16384"
    assert dmi_string(path, "chassis-type") == "Notebook"
    kinds = (facts["IsLaptop"], facts["IsDesktop"], facts["IsServer"], facts["IsVM"])
    assert kinds == ("True", "False", "False", "False")


def test_dump_of_the_spec_laptop_gives_the_spec_facts(tmp_path: Path) -> None:
    spec_facts = json.loads((SPEC / "facts" / "laptop.json").read_text())
    _, facts = facts_of(tmp_path, Machine())
    for name in ("Make", "Model", "Product", "SerialNumber", "AssetTag", "UUID", "Memory", "IsLaptop", "IsVM"):
        assert facts[name] == spec_facts[name], name


RAW_UUID = bytes(range(0x10, 0x20))


@pytest.mark.parametrize("version", [(2, 5), (2, 6), (2, 8), (3, 2)])
def test_uuid_byte_order_follows_the_version(tmp_path: Path, version: tuple[int, int]) -> None:
    path, facts = facts_of(tmp_path, Machine(version=version, uuid_raw=RAW_UUID))
    assert facts["UUID"] == dmi_uuid(path)
    expected = uuidlib.UUID(bytes_le=RAW_UUID) if version >= (2, 6) else uuidlib.UUID(bytes=RAW_UUID)
    assert facts["UUID"] == str(expected).upper()


def test_uuid_before_and_after_2_6_differ_for_the_same_bytes(tmp_path: Path) -> None:
    _, old = facts_of(tmp_path, Machine(version=(2, 5), uuid_raw=RAW_UUID), name="old.bin")
    _, new = facts_of(tmp_path, Machine(version=(2, 8), uuid_raw=RAW_UUID), name="new.bin")
    assert old["UUID"] == "10111213-1415-1617-1819-1A1B1C1D1E1F"
    assert new["UUID"] == "13121110-1514-1716-1819-1A1B1C1D1E1F"


@pytest.mark.parametrize(("raw", "oracle"), [(b"\xff" * 16, "Not Present"), (b"\0" * 16, "Not Settable")])
@pytest.mark.parametrize("version", [(2, 5), (3, 4)])
def test_all_ff_and_all_zero_uuids_stay_as_windows_shows_them(tmp_path: Path, raw: bytes, oracle: str,
                                                              version: tuple[int, int]) -> None:
    path, facts = facts_of(tmp_path, Machine(version=version, uuid_raw=raw))
    assert dmi(path, "-s", "system-uuid") == oracle
    digit = "F" if raw[0] == 0xFF else "0"
    assert facts["UUID"] == f"{digit * 8}-{digit * 4}-{digit * 4}-{digit * 4}-{digit * 12}"


def test_missing_strings_are_empty(tmp_path: Path) -> None:
    machine = Machine(serial=None, asset_tag=None, board_product=None, chassis_serial=None)
    # A string index past the end of the string set: Product Name points at string 9 of 4.
    system = bytearray(dmi_gen.system(0x0100, "Dell Inc.", "X", "1.0", None, RAW_UUID))
    system[0x05] = 9
    table = machine.table()
    start = table.index(dmi_gen.system(0x0100, "Dell Inc.", "Latitude 7440", "Not Specified", None,
                                       dmi_gen.uuid_bytes(machine.uuid or "", machine.version), sku="SKU-1",
                                       family="Family"))
    end = table.index(b"\0\0", start + 0x1B) + 2
    table = table[:start] + bytes(system) + table[end:]
    path = tmp_path / "missing.bin"
    path.write_bytes(dmi_gen.dump_3x(table, (3, 4)))
    assert dmi(path, "-s", "system-product-name") == "<BAD INDEX>"
    assert dmi(path, "-s", "system-serial-number") == "Not Specified"
    facts = facts_from_smbios(read_dump(path))
    assert facts["Model"] == "" and facts["SerialNumber"] == "" and facts["AssetTag"] == ""
    assert facts["Product"] == "" and facts["Make"] == "Dell Inc."


def test_oem_placeholders_stay_as_the_firmware_gives_them(tmp_path: Path) -> None:
    # Gather reads WMI, which passes these strings on: MDT rules match "To Be Filled By O.E.M." as written.
    machine = Machine(manufacturer="To be filled by O.E.M.", product="Default string",
                      serial="System Serial Number", board_product="To Be Filled By O.E.M.",
                      chassis_types=(3,), chassis_serial="CHS-4711", asset_tag="Default string")
    path, facts = facts_of(tmp_path, machine)
    assert facts["Make"] == dmi_string(path, "system-manufacturer") == "To be filled by O.E.M."
    assert facts["Model"] == dmi_string(path, "system-product-name") == "Default string"
    assert facts["Product"] == dmi_string(path, "baseboard-product-name") == "To Be Filled By O.E.M."
    assert facts["AssetTag"] == dmi_string(path, "chassis-asset-tag") == "Default string"
    # Win32_BIOS.SerialNumber is the system's serial: no fallback to the chassis.
    assert facts["SerialNumber"] == dmi_string(path, "system-serial-number") == "System Serial Number"
    assert facts["IsDesktop"] == "True"


@pytest.mark.parametrize("placeholder", ["None", "0123456789", "INVALID", "Not Specified", "0", "00000000", " x "])
def test_more_placeholder_serials_are_kept_trimmed(tmp_path: Path, placeholder: str) -> None:
    path, facts = facts_of(tmp_path, Machine(serial=placeholder, chassis_serial="CHS-1"))
    assert dmi(path, "-s", "system-serial-number").strip() == placeholder.strip()
    assert facts["SerialNumber"] == placeholder.strip()


def test_lenovo_model_is_the_machine_type_model_and_product_the_board(tmp_path: Path) -> None:
    # As Gather: Model is Win32_ComputerSystem.Model (the MTM on a Lenovo), Product Win32_BaseBoard.Product.
    machine = Machine(manufacturer="LENOVO", product="21AH00FGGE", sys_version="ThinkPad T14 Gen 3",
                      board_manufacturer="LENOVO", board_product="21AHS0A400", serial="PF3ABCDE")
    path, facts = facts_of(tmp_path, machine)
    assert facts["Model"] == dmi_string(path, "system-product-name") == "21AH00FGGE"
    assert facts["Product"] == dmi_string(path, "baseboard-product-name") == "21AHS0A400"
    assert facts["Make"] == "LENOVO"
    # What MDT lacks has facts of its own: the marketing name and the machine type.
    assert facts["SystemVersion"] == dmi_string(path, "system-version") == "ThinkPad T14 Gen 3"
    assert facts["MachineType"] == "21AH"


def test_only_lenovo_has_a_machine_type(tmp_path: Path) -> None:
    _, facts = facts_of(tmp_path, Machine())
    assert facts["MachineType"] == "" and facts["Model"] == "Latitude 7440"


def test_sku_and_processor_speed(tmp_path: Path) -> None:
    path, facts = facts_of(tmp_path, Machine())
    assert facts["SystemSKU"] == dmi_string(path, "system-sku-number") == "SKU-1"
    assert f"Current Speed: {facts['ProcessorSpeed']} MHz" in dmi(path, "-t", "4")
    assert facts["ProcessorSpeed"] == "2400"


VMS = {
    "VMware": dict(manufacturer="VMware, Inc.", product="VMware20,1", sys_version="None",
                   bios_vendor="VMware, Inc.", board_manufacturer="Intel Corporation",
                   board_product="440BX Desktop Reference Platform", serial="VMware-56 4d 3f 1c 8a 2b 9e 7d",
                   chassis_types=(1,), asset_tag="No Asset Tag"),
    "Hyper-V": dict(manufacturer="Microsoft Corporation", product="Virtual Machine",
                    sys_version="Hyper-V UEFI Release v4.1",
                    bios_vendor="Microsoft Corporation", board_manufacturer="Microsoft Corporation",
                    board_product="Virtual Machine", serial="0000-0017-4930-8122-4375-3142-51", chassis_types=(3,)),
    "KVM": dict(manufacturer="QEMU", product="Standard PC (Q35 + ICH9, 2009)", sys_version="pc-q35-8.2",
                bios_vendor="EFI Development Kit II / OVMF", board_manufacturer=None, board_product=None,
                serial=None, chassis_types=(1,)),
    "VirtualBox": dict(manufacturer="innotek GmbH", product="VirtualBox", sys_version="1.2",
                       bios_vendor="innotek GmbH", board_manufacturer="Oracle Corporation",
                       board_product="VirtualBox", serial="0", chassis_types=(1,)),
    "Xen": dict(manufacturer="Xen", product="HVM domU", sys_version="4.11.amazon", bios_vendor="Xen",
                serial="ec2e1234-5678", chassis_types=(1,)),
    "Parallels": dict(manufacturer="Parallels Software International Inc.", product="Parallels Virtual Platform",
                      bios_vendor="Parallels Software International Inc.", chassis_types=(1,)),
}


@pytest.mark.parametrize("platform", sorted(set(VMS) - {"KVM"}))
def test_virtual_machines_are_detected(tmp_path: Path, platform: str) -> None:
    path, facts = facts_of(tmp_path, Machine(**VMS[platform]))  # type: ignore[arg-type]
    assert facts["IsVM"] == "True"
    assert facts["VMPlatform"] == platform
    # VM makes and models are real values, never mistaken for placeholders.
    assert facts["Make"] == dmi_string(path, "system-manufacturer") != ""
    assert facts["Model"] == dmi_string(path, "system-product-name") != ""


def test_vmware_matches_the_spec_vm_facts(tmp_path: Path) -> None:
    spec = json.loads((SPEC / "facts" / "vm.json").read_text())
    machine = Machine(**VMS["VMware"], uuid=spec["UUID"], dimms=((8192, 0),))  # type: ignore[arg-type]
    machine.serial = spec["SerialNumber"]
    _, facts = facts_of(tmp_path, machine)
    for name in ("Make", "Model", "Product", "SerialNumber", "AssetTag", "UUID", "Memory", "IsVM"):
        assert facts[name] == spec[name], name


def test_kvm_is_no_vm_to_gather(tmp_path: Path) -> None:
    # GetVirtualizationInfo knows Hyper-V, VMware, VirtualBox, Xen and Parallels only.
    _, facts = facts_of(tmp_path, Machine(**VMS["KVM"]))  # type: ignore[arg-type]
    assert facts["IsVM"] == "False" and facts["VMPlatform"] == ""


def test_virtualbox_serial_zero_is_kept(tmp_path: Path) -> None:
    _, facts = facts_of(tmp_path, Machine(**VMS["VirtualBox"], chassis_serial=None))  # type: ignore[arg-type]
    assert facts["SerialNumber"] == "0"


@pytest.mark.parametrize(
    ("make", "product"),
    [("Microsoft Corporation", "Surface Laptop 5"), ("Dell Inc.", "OptiPlex 7010"), ("HP", "EliteBook 840 G9")],
)
def test_physical_machines_are_not_vms(tmp_path: Path, make: str, product: str) -> None:
    _, facts = facts_of(tmp_path, Machine(manufacturer=make, product=product, bios_vendor=make))
    assert facts["IsVM"] == "False" and facts["VMPlatform"] == ""


# (code, dmidecode's name, IsLaptop, IsDesktop, IsServer) as MDT 8456's ZTIGather decides.
CHASSIS = [
    (1, "Other", False, False, False),
    (3, "Desktop", False, True, False),
    (4, "Low Profile Desktop", False, True, False),
    (7, "Tower", False, True, False),
    (8, "Portable", True, False, False),
    (9, "Laptop", True, False, False),
    (10, "Notebook", True, False, False),
    (12, "Docking Station", False, False, False),  # docking stations are ignored
    (13, "All In One", False, True, False),
    (14, "Sub Notebook", True, False, False),
    (17, "Main Server Chassis", False, False, False),
    (23, "Rack Mount Chassis", False, False, True),
    (24, "Sealed-case PC", False, False, False),
    (28, "Blade", False, False, True),
    (30, "Tablet", True, False, False),
    (31, "Convertible", True, False, False),
    (32, "Detachable", True, False, False),
    (35, "Mini PC", False, True, False),
    (36, "Stick PC", False, True, False),
]


@pytest.mark.parametrize(("code", "name", "laptop", "desktop", "server"), CHASSIS)
@pytest.mark.parametrize("locked", [False, True])
def test_chassis_types(tmp_path: Path, code: int, name: str, laptop: bool, desktop: bool, server: bool,
                       locked: bool) -> None:
    path, facts = facts_of(tmp_path, Machine(chassis_types=(code,), locked=locked))
    assert dmi(path, "-s", "chassis-type") == name
    assert facts["IsLaptop"] == str(laptop)
    assert facts["IsDesktop"] == str(desktop)
    assert facts["IsServer"] == str(server)


def test_a_laptop_in_a_dock_is_still_a_laptop(tmp_path: Path) -> None:
    _, facts = facts_of(tmp_path, Machine(chassis_types=(10, 12), asset_tag="A-1"))
    assert (facts["IsLaptop"], facts["IsDesktop"]) == ("True", "False")


@pytest.mark.parametrize("version", [(2, 8), (3, 4)])
def test_memory_with_extended_and_kb_sizes(tmp_path: Path, version: tuple[int, int]) -> None:
    dimms = (
        (0x7FFF, 65536),  # 64 GB: too big for the Size word, so 0x7FFF + Extended Size
        (0x8000 | 512, 0),  # 512 KB: granularity bit 15 set
        (16384, 0),  # 16 GB in MB
        (0, 0),  # empty slot
        (0xFFFF, 0),  # unknown size
        (0x8000 | 1536, 0),  # 1.5 MB in KB
    )
    path, facts = facts_of(tmp_path, Machine(version=version, dimms=dimms))
    sizes = dmi(path, "-t", "17")
    assert "Size: 64 GB" in sizes and "Size: 512 kB" in sizes and "No Module Installed" in sizes
    assert facts["Memory"] == str(dmi_sizes_kb(path, "17", "Size") // 1024) == str(65536 + 16384 + 2)


def test_memory_falls_back_to_mapped_ranges_then_arrays(tmp_path: Path) -> None:
    ranges = (8 * 1024 * 1024, 4 * 1024**3)  # 8 GB, then 4 TB which needs the extended addresses
    path, facts = facts_of(tmp_path, Machine(dimms=(), ranges_kb=ranges), name="ranges.bin")
    assert facts["Memory"] == str(dmi_sizes_kb(path, "19", "Range Size") // 1024) == str(8 * 1024 + 4 * 1024**2)
    path, facts = facts_of(tmp_path, Machine(dimms=(), array_capacity_kb=32 * 1024 * 1024), name="array.bin")
    assert facts["Memory"] == str(dmi_sizes_kb(path, "16", "Maximum Capacity") // 1024) == "32768"


def test_rsmb_buffer_gives_the_same_facts_as_the_dump(tmp_path: Path) -> None:
    machine = Machine(version=(3, 4))
    _, from_dump = facts_of(tmp_path, machine)
    buf = dmi_gen.rsmb(machine.table(), machine.version)
    assert facts_from_smbios(from_rsmb(buf)) == from_dump
    with pytest.raises(DataError, match="RSMB"):
        from_rsmb(buf[:-10])
    with pytest.raises(DataError, match="offset 0x0"):
        from_rsmb(buf[:5])


@pytest.mark.parametrize("version", [(2, 7), (3, 3)])
def test_read_sysfs_from_a_folder(tmp_path: Path, version: tuple[int, int]) -> None:
    machine = Machine(version=version)
    root = dmi_gen.write_sysfs(tmp_path / "tables", machine)
    _, expected = facts_of(tmp_path, machine)
    table = read_sysfs(root)
    assert table.version == version
    assert facts_from_smbios(table) == expected


def test_read_sysfs_on_this_machine() -> None:
    root = Path("/sys/firmware/dmi/tables")
    readable = all((root / f).is_file() for f in ("smbios_entry_point", "DMI"))
    if readable:
        try:
            live = dmidecode_live_uuid()
            table = read_sysfs(root)
        except (PermissionError, SourceUnavailable):
            readable = False
    if readable:
        assert facts_from_smbios(table)["UUID"] == live
    else:
        # No DMI here (container): the failure names the file and says whose fault it is.
        with pytest.raises(SourceUnavailable, match="smbios_entry_point"):
            read_sysfs(root)


def dmidecode_live_uuid() -> str:
    text = run([DMIDECODE, "-s", "system-uuid"], timeout=30).stdout.decode().strip()
    return WINDOWS_UUID.get(text, text).upper()


def test_truncated_2x_dumps_raise_data_error_naming_file_and_offset(tmp_path: Path) -> None:
    data = Machine(version=(2, 8)).dump()
    for cut in range(len(data)):
        path = tmp_path / "cut.bin"
        path.write_bytes(data[:cut])
        with pytest.raises(DataError) as info:
            read_dump(path)
        assert str(path) in str(info.value) and "offset 0x" in str(info.value)


def test_truncated_3x_dumps_raise_or_keep_whole_structures(tmp_path: Path) -> None:
    data = Machine(version=(3, 4)).dump()
    whole = parse_dump(data, "full")
    for cut in range(len(data)):
        try:
            table = parse_dump(data[:cut], "cut.bin")
        except DataError as exc:
            assert "cut.bin" in str(exc)
            continue
        assert table.structures == whole.structures[: len(table.structures)]


def test_bad_structure_length_names_the_offset(tmp_path: Path) -> None:
    table = bytearray(Machine().table())
    table[1] = 2  # the BIOS structure says it is 2 bytes long
    path = tmp_path / "bad.bin"
    path.write_bytes(dmi_gen.dump_3x(bytes(table), (3, 4)))
    with pytest.raises(DataError, match=r"bad\.bin: offset 0x20: structure type 0"):
        read_dump(path)


def test_not_a_dump(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("hello")
    with pytest.raises(DataError, match=r"notes\.txt: offset 0x0: no SMBIOS entry point"):
        read_dump(path)
    with pytest.raises(SourceUnavailable, match=r"missing\.bin"):
        read_dump(tmp_path / "missing.bin")


def _parse_or_data_error(data: bytes) -> None:
    try:
        table = parse_dump(data, "fuzz.bin")
    except DataError:
        return
    facts_from_smbios(table)  # whatever parses must also yield facts without raising


FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FUZZ
@given(st.binary(max_size=600))
def test_random_bytes_raise_data_error_only(data: bytes) -> None:
    _parse_or_data_error(data)
    with contextlib.suppress(DataError):
        facts_from_smbios(from_rsmb(data))


@FUZZ
@given(st.binary(min_size=1, max_size=400), st.sampled_from(["2", "3"]))
def test_valid_entry_point_with_random_table(table: bytes, entry: str) -> None:
    data = dmi_gen.dump_3x(table, (3, 4)) if entry == "3" else dmi_gen.dump_2x(table, (2, 8), 50)
    _parse_or_data_error(data)


GOOD = Machine(version=(3, 4)).dump()


@FUZZ
@given(st.lists(st.tuples(st.integers(0, len(GOOD) - 1), st.integers(0, 255)), max_size=8),
       st.integers(0, len(GOOD)))
def test_mutated_dumps_raise_data_error_only(changes: list[tuple[int, int]], cut: int) -> None:
    data = bytearray(GOOD)
    for at, value in changes:
        data[at] = value
    _parse_or_data_error(bytes(data[:cut]))
