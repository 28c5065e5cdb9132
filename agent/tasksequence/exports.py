"""Task sequences as users have them: ConfigMgr console export zips, their object.xml, MDT Control folders."""

# A console export (Export in the Task Sequences node) is a zip holding SMS_TaskSequencePackage/<ID>/object.xml:
# the WMI instance as CIM-XML, with the sequence as text (CDATA) in its Sequence property, and
# ReferencesInfo.xml naming the packages it references. An MDT deployment share's Control folder (zipped or
# not) holds <ID>/ts.xml with the names in TaskSequences.xml. Members are read, never extracted.

from __future__ import annotations

import os
import xml.etree.ElementTree as ET
import zipfile
from dataclasses import dataclass
from pathlib import Path

from agent import safexml
from agent.errors import InputError
from agent.tasksequence import xml as tx
from agent.tasksequence.model import RawElement, Sequence, attr

ZIP_MAGIC = b"PK\x03\x04"
_MAX_MEMBERS = 10_000  # an export of a few sequences has a dozen; refuse archives that are something else


@dataclass(frozen=True)
class Reference:
    """A package the sequence references (SMS_TaskSequence_Reference, named by ReferencesInfo.xml)."""

    package_id: str
    name: str = ""
    version: str = ""
    program: str = ""

    def to_dict(self) -> dict[str, str]:
        return {"package_id": self.package_id, "name": self.name, "version": self.version, "program": self.program}


@dataclass(frozen=True)
class Exported:
    """One task sequence found in an export: its package ID, name, where it was and what it references."""

    package_id: str
    name: str
    source: str  # e.g. "export.zip!SMS_TaskSequencePackage/MEM00169/object.xml"
    sequence: Sequence
    references: tuple[Reference, ...] = ()

    def to_dict(self) -> dict[str, object]:
        return {
            "package_id": self.package_id,
            "name": self.name,
            "source": self.source,
            "steps": sum(1 for _ in self.sequence.steps()),
            "references": [r.to_dict() for r in self.references],
        }


def _values(instance: ET.Element) -> dict[str, str]:
    """PROPERTY NAME -> VALUE text of one CIM-XML INSTANCE (direct properties only)."""
    out: dict[str, str] = {}
    for prop in instance.findall("PROPERTY"):
        value = prop.find("VALUE")
        out[prop.get("NAME", "")] = (value.text or "") if value is not None else ""
    return out


def read_instance(data: bytes, *, file: str, infos: dict[str, Reference] | None = None) -> Exported:
    """An object.xml (`<INSTANCE CLASSNAME="SMS_TaskSequencePackage">`): the sequence in its Sequence property."""
    text, _prolog = tx.decode(data, file=file)
    try:
        root = safexml.fromstring(text, forbid_dtd=True)
    except safexml.UnsafeXml as exc:
        raise InputError(f"{file}: refused unsafe XML ({exc.kind})", "export the task sequence again") from exc
    except ET.ParseError as exc:
        line, column = getattr(exc, "position", (0, 0))
        raise InputError(f"{file}:{line}:{column}: not well-formed XML ({exc})", "export it again") from exc
    if root.tag != "INSTANCE" or root.get("CLASSNAME") != "SMS_TaskSequencePackage":
        raise InputError(
            f"{file}: not a task sequence package (<{root.tag} CLASSNAME={root.get('CLASSNAME', '')!r}>)",
            "give the object.xml under SMS_TaskSequencePackage/ in the console export",
        )
    values = _values(root)
    package_id = values.get("PackageID", "")
    if not values.get("Sequence", "").strip():
        raise InputError(
            f"{file}: INSTANCE/PROPERTY[Sequence] is empty", "export the task sequence again from the console"
        )
    sequence = tx.read(values["Sequence"], file=f"{file}: PROPERTY Sequence")
    references: list[Reference] = []
    seen: set[str] = set()
    for holder in root.findall("PROPERTY.OBJECTARRAY"):
        if holder.get("NAME") != "References":
            continue
        for inner in holder.iter("INSTANCE"):
            ref = _values(inner)
            package = ref.get("Package", "")
            if package and package not in seen:
                seen.add(package)
                known = (infos or {}).get(package, Reference(package))
                references.append(Reference(package, known.name, known.version, ref.get("Program", "")))
    for child in sequence.children:  # the sequence's own <referenceList>, when the property array is absent
        if isinstance(child, RawElement) and child.tag == "referenceList":
            for ref_el in child.children:
                package = attr(ref_el.attrs, "package")
                if package and package not in seen:
                    seen.add(package)
                    known = (infos or {}).get(package, Reference(package))
                    references.append(Reference(package, known.name, known.version))
    return Exported(package_id, values.get("Name", ""), file, sequence, tuple(references))


def sequence_text(data: bytes, *, file: str) -> str:
    """The sequence an older wrapper keeps as text in <SequenceData> (escaped, not as elements)."""
    try:
        root = safexml.fromstring(tx.decode(data, file=file)[0], forbid_dtd=True)
    except safexml.UnsafeXml as exc:
        raise InputError(f"{file}: refused unsafe XML ({exc.kind})", "export the task sequence again") from exc
    except ET.ParseError as exc:
        line, column = getattr(exc, "position", (0, 0))
        raise InputError(f"{file}:{line}:{column}: not well-formed XML ({exc})", "export it again") from exc
    for element in root.iter("SequenceData"):
        if (element.text or "").strip():
            return element.text or ""
    raise InputError(f"{file}: <{root.tag}> holds no <SequenceData> text", "give the task sequence XML itself")


def _references_info(data: bytes, file: str) -> dict[str, Reference]:
    """ReferencesInfo.xml: an ArrayOfString of escaped SMS_TaskSequenceReferencesInfo instances."""
    out: dict[str, Reference] = {}
    try:
        root = safexml.fromstring(tx.decode(data, file=file)[0], forbid_dtd=True)
        for item in root.iter("string"):
            instance = safexml.fromstring(item.text or "", forbid_dtd=True)
            values = _values(instance)
            package = values.get("ReferencePackageID", "")
            if package:
                out[package] = Reference(package, values.get("ReferenceName", ""), values.get("ReferenceVersion", ""))
    except (ET.ParseError, safexml.UnsafeXml):
        return out  # names are a courtesy: a damaged list leaves the package IDs alone
    return out


def _mdt_names(data: bytes, file: str) -> dict[str, str]:
    """Control/TaskSequences.xml: ID -> Name."""
    try:
        root = safexml.fromstring(tx.decode(data, file=file)[0], forbid_dtd=True)
    except (ET.ParseError, safexml.UnsafeXml):
        return {}
    return {(ts.findtext("ID") or "").casefold(): ts.findtext("Name") or "" for ts in root.iter("ts")}


def _member(archive: zipfile.ZipFile, info: zipfile.ZipInfo, file: str) -> bytes:
    if info.file_size > tx.MAX_BYTES:
        raise InputError(f"{file}!{info.filename}: too large for a task sequence", "check the export")
    with archive.open(info) as handle:
        data = handle.read(tx.MAX_BYTES + 1)
    if len(data) > tx.MAX_BYTES:
        raise InputError(f"{file}!{info.filename}: too large for a task sequence", "check the export")
    return data


def read_zip(path: str | os.PathLike[str]) -> list[Exported]:
    """Every task sequence in a console export zip (or a zipped MDT Control folder), in archive order."""
    file = str(path)
    try:
        archive = zipfile.ZipFile(path)
    except zipfile.BadZipFile as exc:
        raise InputError(f"{file}: not a readable zip ({exc})", "export the task sequence again") from exc
    except OSError as exc:
        raise InputError(f"{file}: cannot read ({exc.strerror})", "check the path and permissions") from exc
    with archive:
        infos = archive.infolist()
        if len(infos) > _MAX_MEMBERS:
            raise InputError(f"{file}: {len(infos)} members is not a task sequence export", "check the file")
        by_name = {info.filename: info for info in infos}
        found: list[Exported] = []
        names: dict[str, str] = {}
        for info in infos:
            if info.filename.rsplit("/", 1)[-1] == "TaskSequences.xml":
                names.update(_mdt_names(_member(archive, info, file), f"{file}!{info.filename}"))
        for info in infos:
            parts = info.filename.split("/")
            where = f"{file}!{info.filename}"
            if len(parts) == 3 and parts[0] == "SMS_TaskSequencePackage" and parts[2] == "object.xml":
                refs_info = by_name.get(f"{parts[0]}/{parts[1]}/ReferencesInfo.xml")
                infos_map = _references_info(_member(archive, refs_info, file), where) if refs_info else {}
                found.append(read_instance(_member(archive, info, file), file=where, infos=infos_map))
            elif len(parts) >= 2 and parts[-1].casefold() == "ts.xml":
                ident = parts[-2]
                sequence = tx.read(_member(archive, info, file), file=where)
                found.append(Exported(ident, names.get(ident.casefold(), ""), where, sequence))
    if not found:
        raise InputError(
            f"{file}: no task sequence in this zip",
            "a console export holds SMS_TaskSequencePackage/<ID>/object.xml; an MDT Control folder <ID>/ts.xml",
        )
    return found


def choose(found: list[Exported], which: str | None, *, file: str) -> Exported:
    """The one sequence `which` names (package ID, name or folder), or the only one there is."""
    if which is None:
        if len(found) == 1:
            return found[0]
        listed = "; ".join(f"{e.package_id} ({e.name})" if e.name else e.package_id for e in found)
        raise InputError(
            f"{file}: holds {len(found)} task sequences: {listed}",
            "choose one with --sequence ID (`prestart sequence list FILE` shows them)",
        )
    folded = which.casefold()
    matches = [e for e in found if folded in (e.package_id.casefold(), e.name.casefold())]
    if len(matches) == 1:
        return matches[0]
    listed = ", ".join(e.package_id for e in found)
    if not matches:
        raise InputError(f"{file}: no task sequence {which!r} in it (there are: {listed})", "give one of those IDs")
    raise InputError(f"{file}: {len(matches)} task sequences are named {which!r}", f"give the ID instead: {listed}")


def is_zip(path: str | os.PathLike[str]) -> bool:
    """True when the file starts like a zip archive (whatever its name)."""
    try:
        with Path(path).open("rb") as handle:
            return handle.read(4) == ZIP_MAGIC
    except OSError:
        return False
