"""The bundled example: spec/media.yaml copied beside stand-ins for the ADK media and the Windows agent."""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path

from examples.standin import StandIn, make_pe, make_winpe_standin

SPEC = (Path(__file__).resolve().parents[1].parent / "shared" / "spec").resolve()


@dataclass(frozen=True)
class MediaWorkspace:
    root: Path
    media_yaml: Path
    standin: StandIn
    agent: Path
    key: Path


def make_workspace(root: Path, spec: Path = SPEC, *, size_mb: int = 2, agent: Path | None = None) -> MediaWorkspace:
    """Copy spec/media.yaml and what it names into `root` (never write into ../shared), with a real small WIM
    standing in for winpe/amd64/, a fresh signing key, and the Windows agent: `agent`'s onedir folder when
    given (a prestart.exe frozen under wine, examples/windows.py), else a PE32+ header standing in for it."""
    from media_builder.signing import keygen

    root.mkdir(parents=True, exist_ok=True)
    for name in ("media.yaml", "technician.yaml", "kiosk.yaml", "catalog.json"):
        shutil.copyfile(spec / name, root / name)
    keys = root / "keys"
    if (keys / "catalog.key").exists():
        private = keys / "catalog.key"
    else:
        private, _public = keygen(keys)
    if agent is not None:
        shutil.rmtree(root / "dist" / "amd64", ignore_errors=True)
        shutil.copytree(agent.parent, root / "dist" / "amd64")  # onedir: prestart.exe and _internal/
        exe = root / "dist" / "amd64" / "prestart.exe"
    else:
        exe = make_pe(root / "dist" / "amd64" / "prestart.exe", "amd64", size=0)
    standin = make_winpe_standin(root / "winpe" / "amd64", size_mb=size_mb)
    return MediaWorkspace(root, root / "media.yaml", standin, exe, private)


def reference_case(name: str = "technician-laptop", *, spec: Path = SPEC, **inputs: Path) -> dict[str, object]:
    """A case of spec/expected, with some inputs swapped (`profile=compiled_path`); absolute paths win."""
    case: dict[str, object] = json.loads((spec / "expected" / f"{name}.json").read_text(encoding="utf-8"))
    return {**case, **{key: str(path) for key, path in inputs.items()}}


def reference_run_args(case: dict[str, object], sink: Path, log_dir: Path, spec: Path = SPEC) -> list[str]:
    """`prestart` arguments for one case of spec/expected, exactly as spec/README.md says to run it."""
    return [
        "run",
        "--profile", str(spec / str(case["profile"])),
        "--catalog", str(spec / str(case["catalog"])),
        "--facts", str(spec / str(case["facts"])),
        "--answers", str(spec / str(case["answers"])),
        "--unattended",
        "--sink", f"json:{sink}",
        "--log-dir", str(log_dir),
    ]  # fmt: skip
