"""Secure Boot report of an output: every EFI binary on it, what it chains to, and on which machines it boots."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from media_builder import efi
from media_builder.efi import MICROSOFT_CAS, Anchor, EfiImage

_BY_NAME = {ca.name: ca for ca in MICROSOFT_CAS}
_CA_2011 = frozenset({"Microsoft Windows Production PCA 2011", "Microsoft Corporation UEFI CA 2011"})
_CA_2023 = frozenset({"Windows UEFI CA 2023", "Microsoft UEFI CA 2023"})


@dataclass(frozen=True)
class MachineState:
    """What a machine's firmware holds: the CAs in db, the CAs revoked in dbx, the boot manager SVN in dbx."""

    key: str
    title: str
    db: frozenset[str]
    dbx: frozenset[str] = frozenset()
    min_svn: tuple[int, int] | None = None


def machine_states(min_svn: tuple[int, int] | None = None) -> tuple[MachineState, ...]:
    """(a) only the 2011 CAs in db, (b) only the 2023 CAs, (c) both with PCA 2011 revoked, (d) (c) plus an SVN."""
    states = [
        MachineState("a", "db holds only the 2011 CAs (machines not yet updated)", _CA_2011),
        MachineState("b", "db holds only the 2023 CAs (machines shipped from 2024 on)", _CA_2023),
        MachineState(
            "c",
            "PCA 2011 revoked in dbx (KB5025885 mitigations applied)",
            _CA_2011 | _CA_2023,
            frozenset({"Microsoft Windows Production PCA 2011"}),
        ),
    ]
    if min_svn is not None:
        states.append(
            MachineState(
                "d",
                f"PCA 2011 revoked and boot manager SVN {min_svn[0]}.{min_svn[1]} in dbx",
                _CA_2011 | _CA_2023,
                frozenset({"Microsoft Windows Production PCA 2011"}),
                min_svn,
            )
        )
    return tuple(states)


def parse_svn(text: str) -> tuple[int, int]:
    """`MAJOR.MINOR` (or `MAJOR`) as a tuple."""
    major, _, minor = text.partition(".")
    return int(major), int(minor or 0)


def boots(image: EfiImage, state: MachineState) -> tuple[bool, str]:
    """Whether UEFI firmware in `state` starts `image`, as EDK2 decides: any top-level signature revoked in dbx
    refuses the image; else one must chain to a CA in db (nested signatures are not read); then the SVN."""
    signatures = image.firmware_signatures
    if not signatures:
        return False, "unsigned"
    for sig in signatures:
        if sig.trusted and sig.ca is not None and sig.ca.name in state.dbx:
            return False, f"a signature chains to {sig.ca.name}, which dbx revokes"
    allowed = [s for s in signatures if s.trusted and s.ca is not None and s.ca.name in state.db]
    if not allowed:
        chains = sorted({s.ca.name for s in signatures if s.trusted and s.ca is not None})
        return False, "no signature chains to a CA in db" + (f" (it chains to {', '.join(chains)})" if chains else "")
    if state.min_svn is not None and image.svn is not None and image.svn < state.min_svn:
        return (
            False,
            f"boot manager SVN {image.svn[0]}.{image.svn[1]} is below dbx's {state.min_svn[0]}.{state.min_svn[1]}",
        )
    assert allowed[0].ca is not None
    return True, f"chains to {allowed[0].ca.name}"


def describe_ca(ca: str) -> str:
    """OutputReport.generation() in words."""
    return {"unsigned": "is unsigned", "untrusted": "chains to no known CA", "none": "-"}.get(ca, f"chains to CA {ca}")


@dataclass(frozen=True)
class OutputReport:
    """The EFI binaries of one output: those the firmware starts (`first_stage`) decide where it boots."""

    files: dict[str, EfiImage]
    first_stage: tuple[str, ...]
    states: tuple[MachineState, ...]
    boots_from: bool = True  # False for the wim output: its EFI files are reported, nothing boots from it directly
    anchors: tuple[Anchor, ...] = ()  # what the signatures were checked with (the report says where they came from)

    def verdicts(self) -> dict[str, dict[str, Any]]:
        result: dict[str, dict[str, Any]] = {}
        if not self.boots_from:
            return result
        for state in self.states:
            if not self.first_stage:
                result[state.key] = {"boots": False, "why": "no UEFI boot file"}
                continue
            reasons = []
            ok = True
            for where in self.first_stage:
                good, why = boots(self.files[where], state)
                ok = ok and good
                reasons.append(f"{where}: {why}")
            # The SVN is the boot manager's: every Windows boot manager on the output must meet it.
            if ok and state.min_svn is not None:
                low = [w for w, f in self.files.items() if f.svn is not None and f.svn < state.min_svn]
                if low:
                    ok = False
                    reasons.append(f"boot manager SVN below {state.min_svn[0]}.{state.min_svn[1]}: {', '.join(low)}")
            result[state.key] = {"boots": ok, "why": "; ".join(reasons), "state": state.title}
        return result

    def generation(self) -> str:
        """ "2023", "2011", "2011+2023" (dual-signed) or "untrusted": what the first stage chains to."""
        if not self.boots_from:
            return "+".join(sorted(set().union(*(f.cas() for f in self.files.values())))) or "none"
        if self.first_stage and not any(self.files[w].signatures for w in self.first_stage):
            return "unsigned"
        gens: set[str] | None = None
        for where in self.first_stage:
            found = self.files[where].cas()
            gens = found if gens is None else gens & found
        return "+".join(sorted(gens)) if gens else "untrusted"

    def as_dict(self) -> dict[str, Any]:
        return {
            "ca": self.generation(),
            "first_stage": list(self.first_stage),
            "files": {where: f.as_dict() for where, f in sorted(self.files.items())},
            "boots": self.verdicts(),
            "anchors": [
                {"ca": a.ca.name, "file": a.file, "origin": a.origin or "given", "test_ca": a.test}
                for a in self.anchors
            ],
        }

    def lines(self) -> list[str]:
        if self.boots_from:
            starts = ", ".join(self.first_stage) or "nothing"
            lines = [f"Secure Boot: the firmware starts {starts}, which {describe_ca(self.generation())}"]
        else:
            lines = [f"Secure Boot: EFI binaries inside the boot image (CAs: {self.generation()})"]
        lines.append("  " + efi.describe_anchors(self.anchors))
        for _where, image in sorted(self.files.items()):
            lines += ["  " + line for line in image.lines()]
        for key, verdict in self.verdicts().items():
            word = "boots" if verdict["boots"] else "REFUSED"
            lines.append(f"  ({key}) {verdict.get('state', '')}: {word}: {verdict['why']}")
        return lines


def _efi_files(folder: Path) -> dict[str, bytes]:
    found: dict[str, bytes] = {}
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames.sort()
        for name in sorted(filenames):
            if name.casefold().endswith(".efi"):
                path = Path(dirpath) / name
                found[path.relative_to(folder).as_posix()] = path.read_bytes()
    return found


def _first(files: dict[str, bytes], rel: str) -> str | None:
    return next((k for k in files if k.casefold() == rel.casefold()), None)


def _fat_efi(image: bytes, where: str) -> dict[str, bytes]:
    from media_builder.fatimage import read_files

    with tempfile.NamedTemporaryFile(prefix="prestart-efisys-") as fh:
        fh.write(image)
        fh.flush()
        try:
            inside = read_files(Path(fh.name))
        except Exception as exc:  # pyfatfs raises its own errors for a damaged image
            return {f"{where} (unreadable FAT image: {exc})": b""}
    return {f"{where}:{p}": data for p, data in inside.items() if p.casefold().endswith(".efi")}


def iso_files(iso: Path) -> tuple[dict[str, bytes], list[str]]:
    """EFI files on the ISO: inside its UEFI El Torito image (what the firmware starts) and in its file tree."""
    import pycdlib

    from media_builder import iso as isolib

    files: dict[str, bytes] = {}
    first: list[str] = []
    with open(iso, "rb") as fh:
        for entry in isolib.read_boot_catalog(iso):
            if entry.platform != isolib.PLATFORM_EFI:
                continue
            fh.seek(entry.load_rba * isolib.SECTOR)
            inside = _fat_efi(fh.read(entry.sector_count * isolib.VIRTUAL_SECTOR), "El Torito UEFI image")
            files.update(inside)
            first += [k for k in inside if "/efi/boot/boot" in k.casefold()]
    reader = pycdlib.PyCdlib()
    reader.open(str(iso))
    try:
        for dirpath, _dirs, names in reader.walk(udf_path="/"):
            for name in names:
                if name.casefold().endswith(".efi"):
                    path = f"{dirpath.rstrip('/')}/{name}"
                    with reader.open_file_from_iso(udf_path=path) as fp:
                        files[path.lstrip("/")] = fp.read()
    finally:
        reader.close()
    return files, first


def _wim_efi(wim: Path, index: int, prefix: str, folder: str = "Windows/Boot") -> dict[str, bytes]:
    """The EFI binaries under `folder` inside image `index` of `wim`, keyed `prefix` + in-image path."""
    from media_builder import wim as wimlib

    if not wim.is_file():
        return {}
    with tempfile.TemporaryDirectory(prefix="prestart-wimefi-") as work:
        found = wimlib.extract_tree(wim, index, folder, Path(work) / "x")
        return {prefix + rel: p.read_bytes() for rel, p in sorted(found.items()) if rel.casefold().endswith(".efi")}


def collect(kind: str, folder: Path, arch: str, wim_index: int = 1) -> tuple[dict[str, bytes], list[str]]:
    """The EFI files of an output and which of them the firmware starts."""
    from media_builder.bootfiles import EFI_NAMES

    if kind == "iso":
        found = sorted(folder.glob("*.iso"))
        return iso_files(found[0]) if found else ({}, [])
    if kind == "wim":
        return _wim_efi(folder / "boot.wim", wim_index, "boot.wim:"), []
    files = _efi_files(folder)
    if kind == "usb":
        first = _first(files, f"efi/boot/{EFI_NAMES.get(arch, 'bootx64.efi')}")
        return files, [first] if first else []
    if kind == "pxe":
        first = _first(files, "bootmgfw.efi")
        if first is None and (folder / "boot.wim").is_file():
            # wimboot starts the boot manager inside the WIM when none is served beside it.
            inner = _wim_efi(folder / "boot.wim", wim_index, "boot.wim:", "Windows/Boot/EFI")
            files.update(inner)
            first = _first(inner, "boot.wim:Windows/Boot/EFI/bootmgfw.efi")
        return files, [first] if first else []
    return files, []


def report(
    kind: str,
    folder: Path,
    arch: str,
    anchors: Sequence[Anchor] = (),
    min_svn: tuple[int, int] | None = None,
    wim_index: int = 1,
) -> OutputReport:
    raw, first = collect(kind, folder, arch, wim_index)
    files = {where: efi.read_efi(data, where, anchors) for where, data in raw.items() if efi.is_pe(data)}
    first_stage = tuple(w for w in first if w in files)
    return OutputReport(files, first_stage, machine_states(min_svn), boots_from=kind != "wim", anchors=tuple(anchors))


def efi_file_lines(path: Path, anchors: Sequence[Anchor] = (), min_svn: tuple[int, int] | None = None) -> list[str]:
    """`prestart-media inspect FILE.efi`: the file's signatures and SVN, and where the firmware would start it."""
    image = efi.read_efi_file(path, anchors)
    lines = image.lines()
    lines.insert(1, "  " + efi.describe_anchors(anchors))
    for state in machine_states(min_svn):
        ok, why = boots(image, state)
        lines.append(f"  ({state.key}) {state.title}: {'boots' if ok else 'REFUSED'}: {why}")
    return lines
