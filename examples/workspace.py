"""The bundled example's media.yaml copied beside stand-ins for the ADK media and the Windows agent."""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path

from examples.standin import StandIn, make_pe, make_winpe_standin

EXAMPLE = Path(__file__).resolve().parent / "reference"  # examples/reference/README.md
SPEC = EXAMPLE  # the name older callers use


@dataclass(frozen=True)
class MediaWorkspace:
    root: Path
    media_yaml: Path
    standin: StandIn
    agent: Path
    key: Path


def make_workspace(
    root: Path, spec: Path = EXAMPLE, *, size_mb: int = 2, agent: Path | None = None
) -> MediaWorkspace:
    """Copy media.yaml and what it names from `spec` into `root` (never write into the example), with a real
    small WIM standing in for winpe/amd64/, a signing key (made once; a second call on the same `root` starts
    the stand-ins afresh and keeps the key), and the Windows agent: `agent`'s onedir folder when given (a
    prestart.exe frozen under wine, examples/windows.py), else a PE32+ header standing in for it."""
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
    standin_root = root / "winpe" / "amd64"
    shutil.rmtree(standin_root, ignore_errors=True)  # a stand-in from an earlier run: start afresh
    standin = make_winpe_standin(standin_root, size_mb=size_mb)
    return MediaWorkspace(root, root / "media.yaml", standin, exe, private)


def reference_case(name: str = "technician-laptop", *, spec: Path = EXAMPLE, **inputs: Path) -> dict[str, object]:
    """A case of expected/, with some inputs swapped (`profile=compiled_path`); absolute paths win."""
    case: dict[str, object] = json.loads((spec / "expected" / f"{name}.json").read_text(encoding="utf-8"))
    return {**case, **{key: str(path) for key, path in inputs.items()}}


def reference_run_args(case: dict[str, object], sink: Path, log_dir: Path, spec: Path = EXAMPLE) -> list[str]:
    """`prestart` arguments for one case of `spec`/expected, as examples/reference/README.md says to run it."""
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
