"""The main job on the bundled example: check its profiles, run its cases headless, build and verify media.

`./dev demo [OUT]` runs this (OUT defaults to out/demo). Everything is real (the agent and builder CLIs,
wimlib-imagex, pycdlib) except two stand-ins that cannot exist on Linux: the WinPE boot image (a small
WinPE-shaped WIM captured here) and the Windows agent binary (a valid PE32+ header; the real one is frozen
on Windows, docs/windows-build.md). Running it again replaces what the last run wrote.
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
from pathlib import Path

from examples.workspace import EXAMPLE, make_workspace, reference_run_args

REPO = Path(__file__).resolve().parents[1]


def say(title: str) -> None:
    print(f"\n\033[1m== {title}\033[0m" if sys.stdout.isatty() else f"\n== {title}", flush=True)


def shown(path: Path | str) -> str:
    """A path as the user would type it from the repository root."""
    text = str(path)
    if text.startswith(str(REPO) + os.sep):
        return os.path.relpath(text, REPO)
    return text


def run(tool: str, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    """Run `tool ARGS` (`prestart` or `prestart-media`) through this interpreter, after printing it in a
    form a user can paste into a shell with the virtual environment active."""
    printed = [tool] + [shown(a) if a.startswith(str(REPO)) else _shown_sink(a) for a in args]
    print("$ " + shlex.join(printed), flush=True)
    module = "agent" if tool == "prestart" else "media_builder"
    # One stream, so messages show in the order the command wrote them.
    # The command runs as printed (paths relative to the repository), so its messages name the same paths.
    done = subprocess.run(
        [sys.executable, "-m", module, *printed[1:]], text=True, cwd=REPO, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    if done.stdout:
        print(done.stdout.rstrip())
    if check and done.returncode != 0:
        raise SystemExit(f"demo: the command above failed with exit code {done.returncode}")
    return done


def _shown_sink(arg: str) -> str:
    kind, _, rest = arg.partition(":")
    return f"{kind}:{shown(rest)}" if kind == "json" and rest.startswith(str(REPO)) else arg


def main(argv: list[str]) -> int:
    out = (Path(argv[0]) if argv else REPO / "out" / "demo").resolve()
    out.mkdir(parents=True, exist_ok=True)
    runs, logs = out / "runs", out / "runs" / "logs"
    print(f"The bundled example is {shown(EXAMPLE)}/ (its README says what each file is).")
    print("Each step prints the command it runs; paste them from the repository root after `. .venv/bin/activate`.")

    say("Step 1 of 3: check the example's profiles against its catalog")
    for name in ("technician.yaml", "kiosk.yaml"):
        run("prestart", "check", str(EXAMPLE / name), "--catalog", str(EXAMPLE / "catalog.json"))

    say("Step 2 of 3: run every case of the example headless, as a task sequence would")
    for case in sorted((EXAMPLE / "expected").glob("*.json")):
        expected = json.loads(case.read_text(encoding="utf-8"))
        sink = runs / f"{case.stem}.json"
        sink.unlink(missing_ok=True)
        done = run("prestart", *reference_run_args(expected, sink, logs), check=False)
        want = expected["exit_code"]
        got = done.returncode if done.returncode != want & 0xFF else want  # POSIX keeps the low 8 bits
        verdict = "as expected" if got == want else f"EXPECTED {want}"
        print(f"   -> {case.stem}: exit {got} ({verdict})")
        if sink.exists():
            for name, value in json.loads(sink.read_text(encoding="utf-8")).items():
                print(f"      {name} = {value}")
        if got != want:
            raise SystemExit("demo: a case of the example did not give its expected result")

    say("Step 3 of 3: build boot media from media.yaml (stand-ins for the WinPE image and the Windows agent)")
    workspace = make_workspace(out / "workspace", size_mb=8)
    print(f"   copied media.yaml and its inputs to {shown(workspace.root)}/ with the stand-ins beside them")
    media_out = out / "media"
    run("prestart-media", "check", str(workspace.media_yaml))
    run("prestart-media", "build", str(workspace.media_yaml), "-o", str(media_out), "--force", "--quiet")
    run("prestart-media", "verify", str(media_out))
    run("prestart-media", "inspect", str(media_out))

    say("Where the outputs are")
    for path in sorted(media_out.rglob("*")):
        if path.is_file() and path.parent.name != "_internal" and len(path.relative_to(media_out).parts) <= 3:
            print(f"   {shown(path)}  ({path.stat().st_size:,} bytes)")
    image = media_out / "winpe-x64"
    print(
        "\nWhat to open:\n"
        f"   {shown(media_out / 'manifest.json')}  every output, file and SHA-256 of this build\n"
        f"   {shown(image / 'iso')}/  the ISO (around the stand-in WinPE here; with the ADK's WinPE it boots a VM)\n"
        f"   {shown(runs)}/*.json  the variables each headless case set\n"
        f"   {shown(logs)}/  CMTrace logs (prestart.log) and the receipt of the last run\n"
        "\nNext: docs/profiles.md to write your own profile, docs/media-builder.md to build your own media."
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
