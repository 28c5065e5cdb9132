"""agent.proc.stop: a process we started is asked to end, and killed only when it will not."""

from __future__ import annotations

import signal
import subprocess
import sys
import time

from agent.proc import stop
from tests.conftest import LogCapture


def _start(code: str) -> subprocess.Popen[bytes]:
    process = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE)
    assert process.stdout is not None
    assert process.stdout.readline() == b"ready\n"  # its signal handlers are in place
    return process


def test_a_process_is_asked_to_end_first_and_can_clean_up() -> None:
    process = _start(
        "import signal, sys, time\n"
        "signal.signal(signal.SIGTERM, lambda *_: sys.exit(7))\n"
        "print('ready', flush=True)\n"
        "time.sleep(60)\n"
    )
    assert stop(process) == 7  # its own handler ran: SIGTERM, not SIGKILL


def test_a_process_that_ignores_sigterm_is_killed_after_the_grace(logs: LogCapture) -> None:
    process = _start(
        "import signal, time\n"
        "signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
        "print('ready', flush=True)\n"
        "time.sleep(60)\n"
    )
    started = time.monotonic()
    assert stop(process, grace=0.5) == -signal.SIGKILL
    assert time.monotonic() - started < 10
    assert "did not end within 0.5 s of SIGTERM" in logs.text()
