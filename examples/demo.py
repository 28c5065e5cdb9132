"""The main job on the bundled example: check the reference profiles, run them headless, build and verify media.

`./dev demo [OUT]` runs this. Everything is real (the agent and builder CLIs, wimlib-imagex, pycdlib, and
the Windows agent, prestart.exe, frozen and run under wine: examples/windows.py) except the WinPE boot image,
a small WinPE-shaped WIM captured here that stands in for the ADK's.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from examples.windows import run_headless, show_wizard, windows_agent
from examples.workspace import SPEC, make_workspace, reference_run_args
from media_builder.winefreeze import windows_path

REPO = Path(__file__).resolve().parents[1]


def say(title: str) -> None:
    print(f"\n\033[1m== {title}\033[0m" if sys.stdout.isatty() else f"\n== {title}", flush=True)


def run(*argv: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    print("$ " + " ".join(argv[2:] if argv[:2] == (sys.executable, "-m") else argv), flush=True)
    done = subprocess.run(list(argv), text=True, cwd=REPO, capture_output=True)
    if done.stdout:
        print(done.stdout.rstrip())
    if done.stderr:
        print(done.stderr.rstrip())
    if check and done.returncode != 0:
        raise SystemExit(f"demo: the command above failed with exit code {done.returncode}")
    return done


def prestart(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return run(sys.executable, "-m", "agent", *args, check=check)


def prestart_media(*args: str) -> subprocess.CompletedProcess[str]:
    return run(sys.executable, "-m", "media_builder", *args)


def main(argv: list[str]) -> int:
    out = Path(argv[0]) if argv else REPO / "out" / "demo"
    out.mkdir(parents=True, exist_ok=True)

    say("1. Check the reference profiles against the catalog")
    for name in ("technician.yaml", "kiosk.yaml"):
        prestart("check", str(SPEC / name), "--catalog", str(SPEC / "catalog.json"))

    say("2. Run every reference case headless, as a task sequence would")
    for case in sorted((SPEC / "expected").glob("*.json")):
        expected = json.loads(case.read_text(encoding="utf-8"))
        sink = out / "runs" / f"{case.stem}.json"
        sink.unlink(missing_ok=True)
        done = prestart(*reference_run_args(expected, sink, out / "runs" / "logs"), check=False)
        code = done.returncode
        want = expected["exit_code"] & 0xFF
        verdict = "as expected" if code == want else f"EXPECTED {expected['exit_code']}"
        print(f"   -> {case.stem}: exit {expected['exit_code'] if code == want else code} ({verdict})")
        if sink.exists():
            for name, value in json.loads(sink.read_text(encoding="utf-8")).items():
                print(f"      {name} = {value}")
        if code != want:
            raise SystemExit("demo: a reference case did not give its expected result")

    say("3. The Windows agent: prestart.exe frozen under wine (the first run builds it, later runs reuse it)")
    exe = windows_agent()
    print(f"   {exe}")
    case = json.loads((SPEC / "expected" / "technician-laptop.json").read_text(encoding="utf-8"))
    sink = out / "runs" / "windows-technician-laptop.json"
    sink.unlink(missing_ok=True)
    args = reference_run_args(case, sink, out / "runs" / "windows-logs")
    args[args.index("--sink") + 1] = "json:" + windows_path(sink)
    done = run_headless(exe, [Path(a) if a.startswith("/") else a for a in args])
    print(f"   -> headless under wine: exit {done.code}, {len(json.loads(sink.read_text('utf-8')))} variables")
    if done.code != 0:
        raise SystemExit(f"demo: prestart.exe under wine exited {done.code}: {done.stderr.strip()[-500:]}")
    shot = out / "windows-wizard.png"
    code = show_wizard(exe, ["preview", SPEC / "technician.yaml", "--facts", SPEC / "facts" / "laptop.json",
                             "--catalog", SPEC / "catalog.json"], shot, title="Contoso Imaging")
    print(f"   -> the wizard under wine: first page in {shot}, closed (exit {code})")

    say("4. Build boot media from media.yaml (stand-in WinPE image, the real prestart.exe)")
    workspace = make_workspace(out / "workspace", size_mb=8, agent=exe)
    media_out = out / "media"
    prestart_media("check", str(workspace.media_yaml))
    prestart_media("build", str(workspace.media_yaml), "-o", str(media_out), "--force")
    prestart_media("verify", str(media_out))
    prestart_media("inspect", str(media_out))

    say("5. The agent as the media carry it, under wine: profile, signed catalog and key beside prestart.exe")
    shipped = media_out / "winpe-x64" / "configmgr-prestart" / "prestart.exe"
    sink = out / "runs" / "windows-from-media.json"
    sink.unlink(missing_ok=True)
    done = run_headless(shipped, ["run", "--facts", SPEC / "facts" / "laptop.json",
                                  "--answers", SPEC / "answers" / "technician-laptop.yaml",
                                  "--unattended", "--sink", "json:" + windows_path(sink)])  # fmt: skip
    got = json.loads(sink.read_text(encoding="utf-8")) if sink.exists() else {}
    wrong = {k: v for k, v in case["variables"].items() if got.get(k) != v}
    print(f"   -> {shipped.relative_to(out)}: exit {done.code}, {len(got)} variables")
    if done.code != 0 or wrong:
        raise SystemExit(f"demo: the agent from the media gave {wrong or done.stderr.strip()[-500:]}")

    say("What came out")
    for path in sorted(media_out.rglob("*")):
        if path.is_file() and path.parent.name != "_internal":
            depth = len(path.relative_to(media_out).parts)
            if depth <= 3:
                print(
                    f"   {path.relative_to(REPO) if path.is_relative_to(REPO) else path}  "
                    f"({path.stat().st_size:,} bytes)"
                )
    print(f"\nLogs and receipts of the headless runs: {out / 'runs' / 'logs'}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
