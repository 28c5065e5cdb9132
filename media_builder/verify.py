"""`prestart-media verify` and `inspect`: read finished outputs back and compare them with the manifest."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from agent.errors import DataError, InputError
from media_builder import outputs as output_kinds
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


def verify(target: Path) -> list[str]:
    """Every problem found reading the outputs at `target` back (empty: all good)."""
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
    return problems


def require_verified(target: Path) -> int:
    """Verify and report: the number of outputs checked; DataError listing every problem."""
    problems = verify(target)
    if problems:
        raise DataError(f"{target}: {len(problems)} problem(s): " + "; ".join(problems), "build again with --force")
    return len(_selected(load_manifest(find_manifest(target)), find_manifest(target).parent, target))


def inspect(target: Path) -> list[str]:
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
    return lines
