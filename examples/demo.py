"""The main job on the bundled example: check its profiles, run its cases headless, build and verify media.

`./dev demo [OUT]` runs this (OUT defaults to out/demo). Everything is real (the agent and builder CLIs,
wimlib-imagex, pycdlib, and the Windows agent, prestart.exe, frozen and run under wine: examples/windows.py)
except the WinPE boot image, a small WinPE-shaped WIM captured here that stands in for the ADK's. Running it
again replaces what the last run wrote.
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
from pathlib import Path

from examples.windows import run_headless, show_wizard, windows_agent
from examples.workspace import EXAMPLE, make_workspace, reference_run_args
from media_builder.winefreeze import windows_path

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

    say("Step 1 of 5: check the example's profiles against its catalog")
    for name in ("technician.yaml", "kiosk.yaml"):
        run("prestart", "check", str(EXAMPLE / name), "--catalog", str(EXAMPLE / "catalog.json"))

    say("Step 2 of 5: run every case of the example headless, as a task sequence would")
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

    say("Step 3 of 5: the Windows agent, prestart.exe, frozen under wine (built once, then reused)")
    print("   (what `./dev windows` does: it prints the path of prestart.exe last)", flush=True)
    exe = windows_agent()
    print(f"   {shown(exe)}")
    case = json.loads((EXAMPLE / "expected" / "technician-laptop.json").read_text(encoding="utf-8"))
    sink = runs / "windows-technician-laptop.json"
    sink.unlink(missing_ok=True)
    args = reference_run_args(case, sink, out / "runs" / "windows-logs")
    args[args.index("--sink") + 1] = "json:" + windows_path(sink)
    done = run_headless(exe, [Path(a) if a.startswith("/") else a for a in args])
    got = json.loads(sink.read_text("utf-8")) if sink.exists() else {}
    print(f"   -> headless under wine: exit {done.code}, {len(got)} variables")
    if done.code != 0:
        raise SystemExit(f"demo: prestart.exe under wine exited {done.code}: {done.stderr.strip()[-500:]}")
    shot = out / "windows-wizard.png"
    code = show_wizard(exe, ["preview", EXAMPLE / "technician.yaml", "--facts", EXAMPLE / "facts" / "laptop.json",
                             "--catalog", EXAMPLE / "catalog.json"], shot, title="Contoso Imaging")
    print(f"   -> the wizard under wine: its first page is in {shown(shot)}; closed (exit {code})")

    say("Step 4 of 5: build boot media from media.yaml (a stand-in WinPE image, the real prestart.exe)")
    workspace = make_workspace(out / "workspace", size_mb=8, agent=exe)
    print(f"   copied media.yaml and its inputs to {shown(workspace.root)}/, the stand-in and the agent beside them")
    media_out = out / "media"
    run("prestart-media", "check", str(workspace.media_yaml))
    run("prestart-media", "build", str(workspace.media_yaml), "-o", str(media_out), "--force", "--quiet")
    run("prestart-media", "verify", str(media_out))
    run("prestart-media", "inspect", str(media_out))

    say("Step 5 of 5: the agent as the media carry it, under wine (profile, signed catalog and key beside it)")
    shipped = media_out / "winpe-x64" / "configmgr-prestart" / "prestart.exe"
    sink = runs / "windows-from-media.json"
    sink.unlink(missing_ok=True)
    done = run_headless(shipped, ["run", "--facts", EXAMPLE / "facts" / "laptop.json",
                                  "--answers", EXAMPLE / "answers" / "technician-laptop.yaml",
                                  "--unattended", "--sink", "json:" + windows_path(sink)])  # fmt: skip
    got = json.loads(sink.read_text(encoding="utf-8")) if sink.exists() else {}
    wrong = {k: v for k, v in case["variables"].items() if got.get(k) != v}
    print(f"   -> {shown(shipped)}: exit {done.code}, {len(got)} variables, as the example expects: {not wrong}")
    if done.code != 0 or wrong:
        raise SystemExit(f"demo: the agent from the media gave {wrong or done.stderr.strip()[-500:]}")

    say("Where the outputs are")
    for path in sorted(media_out.rglob("*")):
        if path.is_file() and path.parent.name != "_internal" and len(path.relative_to(media_out).parts) <= 3:
            print(f"   {shown(path)}  ({path.stat().st_size:,} bytes)")
    image = media_out / "winpe-x64"
    print(
        "\nWhat to open:\n"
        f"   {shown(media_out / 'manifest.json')}  every output, file and SHA-256 of this build\n"
        f"   {shown(image / 'iso')}/  the ISO (around the stand-in WinPE here; with the ADK's WinPE it boots a VM)\n"
        f"   {shown(out / 'windows-wizard.png')}  the wizard of prestart.exe under wine\n"
        f"   {shown(runs)}/*.json  the variables each headless case set\n"
        f"   {shown(logs)}/  CMTrace logs (prestart.log) and the receipt of the last run\n"
        "\nNext: docs/profiles.md to write your own profile, docs/media-builder.md to build your own media."
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
