"""Importers: MDT rules, UI++ and TsGui configurations turned into a Prestart profile plus a report."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple, Protocol

import yaml

from agent.errors import InputError, UsageError


class Note(NamedTuple):
    """One thing of the source that did not carry over: where it was, why, and what to do instead."""

    file: str
    line: int  # 1-based; 0 when the source gives no line
    what: str  # the source text, shortened (never a secret's value)
    why: str
    instead: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.what}: {self.why} (instead: {self.instead})"


@dataclass(frozen=True)
class Imported:
    """What an importer made: the profile as plain data and the notes on what it left out."""

    profile: dict[str, Any]
    notes: list[Note] = field(default_factory=list)
    catalog: dict[str, Any] | None = None  # lists the profile names (choices that set other variables)


def catalog_document(lists: dict[str, list[dict[str, str]]]) -> dict[str, Any]:
    """A catalog (docs/catalog.md) holding `lists`, for `prestart-media` or `prestart run --catalog`."""
    return {"schema": 1, "serial": 1, "source": "prestart import", "lists": lists}


def unique_id(taken: set[str], text: str) -> str:
    """An id for a page or field made from `text`, unique among `taken` (answers files name them)."""
    import re

    base = re.sub(r"[^a-z0-9]+", "-", text.casefold()).strip("-") or "item"
    candidate, n = base, 2
    while candidate in taken:
        candidate, n = f"{base}-{n}", n + 1
    taken.add(candidate)
    return candidate


class Importer(Protocol):
    """One source format: `convert` reads its files and returns the profile and the notes."""

    name: str
    summary: str
    usage: str  # the files it takes, for --help and usage errors

    def convert(self, paths: Sequence[Path]) -> Imported: ...


def registry() -> dict[str, Importer]:
    """Every importer by its command-line name (imported here: none is on the agent's boot path)."""
    from agent.importers.mdt import MdtImporter
    from agent.importers.tsgui import TsGuiImporter
    from agent.importers.uipp import UippImporter

    importers: list[Importer] = [MdtImporter(), UippImporter(), TsGuiImporter()]
    return {i.name: i for i in importers}


def report_path(output: Path) -> Path:
    """The report lies beside the profile: profile.yaml -> profile.import-report.txt."""
    return output.with_name(f"{output.stem}.import-report.txt")


def catalog_path(output: Path) -> Path:
    """A catalog the profile needs lies beside it too: profile.yaml -> profile.catalog.json."""
    return output.with_name(f"{output.stem}.catalog.json")


def _header(imported: Imported, sources: Sequence[Path], report: Path) -> str:
    lines = [f"# Imported by `prestart import` from {', '.join(p.name for p in sources)}."]
    if imported.catalog is not None:
        lines.append(f"# Its choice lists are in {report.name.replace('.import-report.txt', '.catalog.json')}: "
                     "add them to the catalog the media carries.")
    if imported.notes:
        lines.append(f"# {len(imported.notes)} item(s) did not carry over; each is listed in {report.name}:")
        lines += [f"#   {note}" for note in imported.notes]
    else:
        lines.append("# Everything carried over.")
    return "\n".join(lines) + "\n"


def render_report(imported: Imported, sources: Sequence[Path]) -> str:
    """The report beside the profile: one paragraph per note, with the line it came from."""
    lines = [f"prestart import: {', '.join(str(p) for p in sources)}", ""]
    if not imported.notes:
        lines.append("Everything carried over.")
    for note in imported.notes:
        where = f"{note.file}:{note.line}" if note.line else note.file
        lines += [f"{where}: {note.what}", f"    why: {note.why}", f"    instead: {note.instead}", ""]
    return "\n".join(lines).rstrip() + "\n"


def dump_profile(imported: Imported, sources: Sequence[Path], report: Path) -> str:
    """The profile as YAML, its notes as comments at the top."""
    body = yaml.safe_dump(imported.profile, sort_keys=False, allow_unicode=True, width=120)
    return _header(imported, sources, report) + body


def _write_atomic(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as handle:
            handle.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def import_files(kind: str, paths: Sequence[Path], output: Path) -> tuple[Imported, Path]:
    """Convert, check the result as `prestart check` would, then write profile and report (both or neither)."""
    importers = registry()
    importer = importers.get(kind)
    if importer is None:
        raise UsageError(f"prestart import: unknown source {kind!r}", f"choose one of: {', '.join(importers)}")
    written = {p.resolve() for p in (output, report_path(output), catalog_path(output))}
    clash = [str(p) for p in paths if p.resolve() in written]
    if clash:
        raise UsageError(f"prestart import: {clash[0]} would be overwritten", "write the profile to another -o file")
    imported = importer.convert(paths)
    report = report_path(output)
    text = dump_profile(imported, paths, report)
    from agent.profile import check_file

    if not output.parent.is_dir():
        raise UsageError(f"{output.parent}: the output folder does not exist", "create it or choose another -o")
    # Check a copy beside the output first, so that a profile that fails the check is never left behind.
    fd, tmp = tempfile.mkstemp(prefix=f".{output.name}.", suffix=".yaml", dir=output.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as handle:
            handle.write(text)
        catalog = None
        if imported.catalog is not None:
            from agent.catalog.model import catalog_from_dict

            catalog = catalog_from_dict(imported.catalog, file=str(catalog_path(output)))
        _, problems, _ = check_file(tmp, catalog)
        if problems:
            first = "; ".join(f"{p.path}: {p.message}" for p in problems[:3])
            raise InputError(
                f"the profile imported from {paths[0]} does not pass `prestart check`: {first}",
                "this is a bug in the importer: please report it with the source file",
            )
        _write_atomic(report, render_report(imported, paths))
        if imported.catalog is not None:
            import json

            _write_atomic(catalog_path(output), json.dumps(imported.catalog, indent=2, ensure_ascii=False) + "\n")
        os.replace(tmp, output)
    finally:
        Path(tmp).unlink(missing_ok=True)
    return imported, report
