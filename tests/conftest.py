"""Shared fixtures: where the bundled example lives, a runner for the `prestart` CLI, and a real X server."""

from __future__ import annotations

import json
import logging
import os
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from agent import proc
from agent.log import add_sink, remove_sink
from examples.display import start_openbox, start_xvfb
from tests.ldap_server import slapd as slapd  # one seeded slapd per session, for tests/agent/auth, ui and windows

REPO = Path(__file__).resolve().parents[1]
EXAMPLE = REPO / "examples" / "reference"  # the bundled example: profiles, catalog, facts, answers, expected
# The external contract, where a checkout has it beside the repo (CI does); tests that run it do nothing without.
CONTRACT = (REPO.parent / "shared" / "spec").resolve()
SPEC = EXAMPLE  # the name older tests use for the bundled example


@pytest.fixture(scope="session")
def spec_dir() -> Path:
    assert EXAMPLE.is_dir(), f"the bundled example is missing: {EXAMPLE}"
    return EXAMPLE


@pytest.fixture(scope="session")
def spec_catalog(spec_dir: Path):  # type: ignore[no-untyped-def]
    from agent.catalog.model import catalog_from_dict

    return catalog_from_dict(json.loads((spec_dir / "catalog.json").read_text(encoding="utf-8")))


def run_prestart(
    *args: str, env: dict[str, str] | None = None, timeout: float = 60, input: str | None = None
) -> subprocess.CompletedProcess[str]:
    """Run `python -m agent ARGS` as a user would, from the repo root."""
    full_env = dict(os.environ)
    full_env.pop("DISPLAY", None) if env is None or "DISPLAY" not in env else None
    full_env.update(env or {})
    full_env["PYTHONPATH"] = str(REPO)
    return subprocess.run(
        [sys.executable, "-m", "agent", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=full_env,
        cwd=REPO,
        input=input,
    )


def exit_status(code: int) -> int:
    """What the OS reports for exit code `code`: Windows keeps 32 bits, POSIX only the low 8 (1223 -> 199)."""
    return code if os.name == "nt" else code & 0xFF


@pytest.fixture
def prestart():  # type: ignore[no-untyped-def]
    return run_prestart


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A listener that accepts and never answers, so the TLS handshake hangs until the client gives up."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(5)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        sock.settimeout(0.1)
        while not stop.is_set():
            try:
                held.append(sock.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield int(sock.getsockname()[1])
    stop.set()
    thread.join()
    for conn in held:
        conn.close()
    sock.close()


class LogCapture(logging.Handler):
    """A logging handler, added as the agent adds its log (agent.log.add_sink), that keeps every record."""

    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def text(self, level: int = 0) -> str:
        """Every kept message at `level` or above, one per line."""
        return "\n".join(r.getMessage() for r in self.records if r.levelno >= level)


@pytest.fixture
def logs() -> Iterator[LogCapture]:
    """The records the agent logs while the test runs."""
    capture = LogCapture()
    add_sink(capture)
    try:
        yield capture
    finally:
        remove_sink(capture)


@pytest.fixture(scope="session")
def display() -> Iterator[str]:
    """Start `Xvfb` on a free display (it picks the number: -displayfd) and openbox on it."""
    xvfb, name = start_xvfb()
    wm = start_openbox(name)
    old = os.environ.get("DISPLAY")
    os.environ["DISPLAY"] = name  # for in-process Tk tests
    yield name
    if old is None:
        os.environ.pop("DISPLAY", None)
    else:
        os.environ["DISPLAY"] = old
    for process in (wm, xvfb):
        proc.stop(process, grace=5)
