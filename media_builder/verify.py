"""`prestart-media verify` and `inspect`: read finished outputs back and compare them with the manifest."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from agent.errors import DataError, InputError
from media_builder import bootcheck
from media_builder import outputs as output_kinds
from media_builder.efi import Anchor
from media_builder.manifest import find_manifest, load_manifest, sha256_file


def _selected(manifest: dict[str, Any], out_dir: Path, target: Path) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """(boot image record, output record) pairs at or under `target`, or the one output holding `target`."""
    target = target.resolve()
    chosen = []
    for image in manifest.get("boot_images", []):
        for output in image.get("outputs", []):
            folder = (out_dir / output["path"]).resolve()
            if folder == target or target in folder.parents or folder in target.parents:
                chosen.append((image, output))
    return chosen


def verify(
    target: Path,
    *,
    anchors: Sequence[Anchor] = (),
    min_svn: tuple[int, int] | None = None,
    report: list[str] | None = None,
) -> list[str]:
    """Every problem found reading the outputs at `target` back (empty: all good); the Secure Boot report of each
    output that boots goes to `report`."""
    manifest_path = find_manifest(target)
    manifest = load_manifest(manifest_path)
    out_dir = manifest_path.parent
    chosen = _selected(manifest, out_dir, target)
    if not chosen:
        raise InputError(
            f"{target}: the manifest {manifest_path} lists no output here", "give an output folder or file"
        )
    problems: list[str] = []
    for image, output in chosen:
        folder = out_dir / output["path"]
        recorded = {f["path"] for f in output["files"]}
        for entry in output["files"]:
            path = out_dir / entry["path"]
            if not path.is_file():
                problems.append(f"{path}: missing")
            elif path.stat().st_size != entry["size"] or sha256_file(path) != entry["sha256"]:
                problems.append(f"{path}: differs from the manifest (size or SHA-256)")
        for extra in sorted(p for p in folder.rglob("*") if p.is_file()):
            if extra.relative_to(out_dir).as_posix() not in recorded:
                problems.append(f"{extra}: not part of the build")
        if folder.is_dir():
            problems += output_kinds.get(output["kind"]).verify(folder, image)
        if folder.is_dir() and output.get("secure_boot"):
            problems += _secure_boot(image, output, folder, anchors, min_svn, report)
    return problems


def _secure_boot(
    image: dict[str, Any],
    output: dict[str, Any],
    folder: Path,
    anchors: Sequence[Anchor],
    min_svn: tuple[int, int] | None,
    report: list[str] | None,
) -> list[str]:
    """Read the output's EFI binaries again; the CA the build recorded must still be what they chain to."""
    recorded = output["secure_boot"]
    found = bootcheck.report(output["kind"], folder, image["arch"], anchors, min_svn, int(image.get("index", 1)))
    if report is not None:
        report.append(f"{output['path']}: built as {recorded['label']}")
        report += ["  " + line for line in found.lines()]
    problems = []
    if {w: f["sha256"] for w, f in recorded["files"].items()} != {w: f.sha256 for w, f in found.files.items()}:
        problems.append(f"{folder}: its EFI binaries differ from the ones the build recorded")
    if recorded["media"] == "2023" and "2023" not in found.generation() and found.generation() != "unsigned":
        problems.append(
            f"{folder}: built as CA 2023 media, but its first-stage boot manager chains to {found.generation()}"
        )
    return problems


def require_verified(
    target: Path, *, anchors: Sequence[Anchor] = (), min_svn: tuple[int, int] | None = None
) -> tuple[int, list[str]]:
    """Verify: the number of outputs checked and their Secure Boot report; DataError listing every problem."""
    report: list[str] = []
    problems = verify(target, anchors=anchors, min_svn=min_svn, report=report)
    if problems:
        raise DataError(f"{target}: {len(problems)} problem(s): " + "; ".join(problems), "build again with --force")
    return len(_selected(load_manifest(find_manifest(target)), find_manifest(target).parent, target)), report


def inspect(target: Path, *, anchors: Sequence[Anchor] = (), min_svn: tuple[int, int] | None = None) -> list[str]:
    """Lines describing what is at `target`: the build, and each output with its files and boot details."""
    manifest_path = find_manifest(target)
    manifest = load_manifest(manifest_path)
    out_dir = manifest_path.parent
    lines = [
        f"{manifest['name']}: built from {manifest['definition']} (epoch {manifest['epoch']})",
        "tools: " + ", ".join(f"{k} {v}" for k, v in sorted(manifest.get("tools", {}).items())),
    ]
    for image, output in _selected(manifest, out_dir, target):
        lines.append(f"{image['name']} ({image['arch']}, hook {image['hook']}): {output['kind']} at {output['path']}")
        lines.append(f"  the engine runs: {image['command_line']}")
        lines.append(f"  payload in {image['payload_dir']}: {len(image['payload'])} files")
        lines += ["  " + line for line in output_kinds.get(output["kind"]).describe(out_dir / output["path"])]
        if output.get("secure_boot"):
            sb = bootcheck.report(
                output["kind"], out_dir / output["path"], image["arch"], anchors, min_svn, int(image.get("index", 1))
            )
            lines += ["  " + line for line in sb.lines()]
    return lines
