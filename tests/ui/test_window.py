"""ui.window: without a screen the wizard says so, with the next step and exit 13, and sets nothing."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

from tests.conftest import REPO, SPEC, run_prestart, strace


def test_preview_without_a_display_is_a_clear_error() -> None:
    done = run_prestart(
        "preview", str(SPEC / "technician.yaml"), "--facts", str(SPEC / "facts/laptop.json"),
        "--catalog", str(SPEC / "catalog.json"),
        env={"DISPLAY": ""},
    )  # fmt: skip
    assert done.returncode == 13, done.stderr
    assert "cannot open the wizard's window" in done.stderr
    assert "hint: run it where there is a screen" in done.stderr and "--answers" in done.stderr
    assert done.stdout == ""  # no variables printed
    assert "Traceback" not in done.stderr


def test_an_interactive_run_without_a_display_writes_nothing(tmp_path: Path) -> None:
    out = tmp_path / "out.json"
    done = run_prestart(
        "run", "--profile", str(SPEC / "technician.yaml"), "--catalog", str(SPEC / "catalog.json"),
        "--facts", str(SPEC / "facts/laptop.json"), "--sink", f"json:{out}", "--log-dir", str(tmp_path / "log"),
        env={"DISPLAY": ""},
    )  # fmt: skip
    assert done.returncode == 13, done.stderr
    assert "cannot open the wizard's window" in done.stderr
    assert not out.exists() and list(tmp_path.glob("out.json*")) == []


_FIRST_PAGE_MODULES = """
import os, sys
import ui.app
def tracer():
    def trace(text):
        if text == "drawn":
            print(",".join(sorted(sys.modules)), flush=True)
            os._exit(0)
    return trace
ui.app._tracer = tracer
from agent.cli import main
main(sys.argv[1:])
"""


def test_the_first_page_from_media_inputs_loads_only_what_it_uses(display: str, tmp_path: Path) -> None:
    """What the wizard imports before its first page is drawn is start time (docs/performance.md)."""
    compiled = tmp_path / "profile.json"
    assert run_prestart("compile", str(SPEC / "technician.yaml"), "-o", str(compiled)).returncode == 0
    done = subprocess.run(
        [sys.executable, "-c", _FIRST_PAGE_MODULES, "preview", str(compiled),
         "--facts", str(SPEC / "facts/laptop.json"), "--catalog", str(SPEC / "catalog.json")],
        cwd=REPO, capture_output=True, text=True, timeout=60, env=dict(os.environ, DISPLAY=display),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    loaded = set(done.stdout.strip().split(","))
    assert {"tkinter", "ui.pages", "agent.flow"} <= loaded  # the page was really built
    heavy = {"yaml", "hashlib", "dataclasses", "inspect", "tempfile", "shutil", "decimal", "typing", "logging",
             "base64", "queue", "threading", "locale", "datetime", "agent.profile.schema", "argparse",
             "gettext"}  # fmt: skip
    assert sorted(loaded & heavy) == []


# -- open_window_while: Tk starts while the inputs load ----------------------------------------------------

_WHILE = """
import json, sys, threading, time
from ui import window
main = threading.get_ident()
seen = {}
def work():
    seen["thread"] = threading.get_ident()
    seen["started"] = time.monotonic()
    if sys.argv[1] == "fail":
        raise ValueError("the profile is broken")
    return "built"
if sys.argv[2] == "no-load":
    window.tk_library = lambda: None
try:
    root, result = window.open_window_while(work)
except Exception as exc:
    print(json.dumps({"error": type(exc).__name__, "message": str(exc), "hint": getattr(exc, "hint", ""),
                      "worked_elsewhere": seen.get("thread") not in (None, main)}))
    sys.exit(0)
print(json.dumps({
    "result": result,
    "class": root.winfo_class(),
    "worked_elsewhere": seen["thread"] != main,
    "loaded_by_tcl": [list(entry) for entry in root.tk.call("info", "loaded")],
    "label": (__import__("tkinter").Label(root, text="drawn").pack(), root.update(), root.winfo_ismapped())[2],
}))
"""


def _open_while(display: str, outcome: str, how: str = "load") -> dict[str, object]:
    done = subprocess.run([sys.executable, "-c", _WHILE, outcome, how], cwd=REPO, capture_output=True, text=True,
                          timeout=60, env=dict(os.environ, DISPLAY=display))  # fmt: skip
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_tk_starts_through_tcl_load_while_the_work_runs_on_another_thread(display: str) -> None:
    opened = _open_while(display, "ok")
    assert opened["result"] == "built" and opened["worked_elsewhere"] is True
    assert opened["class"] == "Prestart"  # the X resource class survives the two-step start
    # Tcl's `load` started the Tk this process already had (not a second copy, not tkinter's own start).
    tk_entries = [path for path, package in opened["loaded_by_tcl"] if package == "Tk"]  # type: ignore[union-attr]
    assert len(tk_entries) == 1 and "libtk" in tk_entries[0]
    assert opened["label"] == 1  # a working window: a widget maps and draws


def test_without_the_tk_library_path_tk_starts_the_usual_way(display: str) -> None:
    opened = _open_while(display, "ok", "no-load")
    assert opened["result"] == "built" and opened["class"] == "Prestart" and opened["label"] == 1
    assert opened["loaded_by_tcl"] == []  # tkinter's own start: nothing went through `load`


def test_fontconfig_reads_its_configuration_on_the_loading_thread(display: str, tmp_path: Path) -> None:
    # Tk on X11 measures text through fontconfig; its first use parses the configuration (5-10 ms). The
    # loading thread does that while Tk starts, so the window's thread draws the first page without it.
    log = tmp_path / "strace.log"
    done = subprocess.run([*strace(log), sys.executable, "-c", _WHILE, "ok", "load"], cwd=REPO, capture_output=True,
                          text=True, timeout=60, env=dict(os.environ, DISPLAY=display))  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["label"] == 1  # the label's text was measured and drawn
    lines = log.read_text(encoding="utf-8").splitlines()
    main = lines[0].split()[0]  # strace prefixes each line with the thread id; the first is Python's main thread
    readers = {line.split()[0] for line in lines if re.search(r'openat\(AT_FDCWD, "[^"]*/fonts\.conf"', line)}
    assert readers, "fontconfig never read fonts.conf"
    assert main not in readers


def test_the_works_error_comes_first_and_the_window_is_never_shown(display: str) -> None:
    failed = _open_while(display, "fail")
    assert failed == {"error": "ValueError", "message": "the profile is broken", "hint": "", "worked_elsewhere": True}


def test_with_no_screen_the_work_still_runs_and_the_error_says_what_to_do() -> None:
    for outcome, error in (("ok", "SourceUnavailable"), ("fail", "ValueError")):  # the work's own error first
        failed = _open_while("", outcome)
        assert failed["error"] == error and failed["worked_elsewhere"] is True
    assert "cannot open the wizard's window" in str(_open_while("", "ok")["message"])
    assert "set DISPLAY" in str(_open_while("", "ok")["hint"])


def test_the_tk_library_is_found_in_the_process_maps() -> None:
    from ui.window import tk_dll_name, tk_library, tk_library_in_maps

    maps = (
        "7f3c2a000000-7f3c2a021000 rw-p 00000000 00:00 0 \n"
        "7f3c2b000000-7f3c2b0a0000 r-xp 00000000 08:01 1234  /usr/lib/x86_64-linux-gnu/libtcl8.6.so\n"
        "7f3c2c000000-7f3c2c0a0000 r-xp 00000000 08:01 1235  /opt/my apps/_internal/libtk8.6.so\n"
    )
    assert tk_library_in_maps(maps, 8.6) == "/opt/my apps/_internal/libtk8.6.so"  # spaces in the path kept
    versioned = maps.replace("libtk8.6.so", "libtk8.6.so.0")
    assert tk_library_in_maps(versioned, 8.6) == "/opt/my apps/_internal/libtk8.6.so.0"
    assert tk_library_in_maps(maps, 9.0) is None  # another version is not the one loaded
    assert tk_library_in_maps(maps.replace("libtk8.6.so", "libtk8.6.so (deleted)"), 8.6) is None
    assert tk_dll_name(8.6) == "tk86t.dll"
    # This process: the library tkinter linked, read from the real /proc/self/maps.
    path = tk_library()
    assert path is not None and Path(path).is_file() and Path(path).name.startswith("libtk")
