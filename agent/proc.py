"""The one place that runs subprocesses: argument lists, timeouts, failures logged pasteably."""

from __future__ import annotations

import shlex
import subprocess
from collections.abc import Mapping, Sequence

from agent.errors import SourceUnavailable
from agent.log import get_logger

log = get_logger("prestart.proc")


class CommandFailed(SourceUnavailable):
    """A command exited non-zero, timed out or could not be started."""

    def __init__(self, message: str, *, command: str, returncode: int | None, stderr: str = "") -> None:
        super().__init__(message, f"run it by hand to see more: {command}")
        self.command = command
        self.returncode = returncode
        self.stderr = stderr


def pasteable(args: Sequence[str]) -> str:
    """The command as one line a person can paste into a shell."""
    return shlex.join([str(a) for a in args])


def run(
    args: Sequence[str],
    *,
    input: bytes | None = None,
    timeout: float = 600.0,
    env: Mapping[str, str] | None = None,
    cwd: str | None = None,
    check: bool = True,
) -> subprocess.CompletedProcess[bytes]:
    """Run `args` (never through a shell) and return its output; raise CommandFailed on failure."""
    argv = [str(a) for a in args]
    line = pasteable(argv)
    log.debug("running: %s", line)
    try:
        done = subprocess.run(
            argv, input=input, capture_output=True, timeout=timeout, env=dict(env) if env is not None else None, cwd=cwd
        )
    except FileNotFoundError as exc:
        log.error("command not found: %s", line)
        raise CommandFailed(f"{argv[0]} is not installed or not on PATH", command=line, returncode=None) from exc
    except subprocess.TimeoutExpired as exc:
        log.error("command timed out after %ss: %s", timeout, line)
        raise CommandFailed(f"{argv[0]} did not finish within {timeout:g} s", command=line, returncode=None) from exc
    if check and done.returncode != 0:
        err = done.stderr.decode("utf-8", "replace").strip()
        log.error("command failed with exit code %s: %s\n%s", done.returncode, line, err)
        tail = err.splitlines()[-1] if err else "no error output"
        raise CommandFailed(
            f"{argv[0]} failed with exit code {done.returncode}: {tail}",
            command=line,
            returncode=done.returncode,
            stderr=err,
        )
    return done


def stop(process: subprocess.Popen[bytes], *, grace: float = 10.0) -> int:
    """End a process we started: SIGTERM first, so that it can clean up (a onefile PyInstaller bootloader
    deletes the folder it unpacked into), SIGKILL after `grace` seconds; its exit code."""
    process.terminate()
    try:
        return process.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        log.warning("%s did not end within %g s of SIGTERM; killing it", process.args, grace)
        process.kill()
        return process.wait()
