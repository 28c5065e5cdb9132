"""Shared fixtures: where the reference spec lives, and a runner for the `prestart` CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SPEC = (REPO.parent / "shared" / "spec").resolve()


@pytest.fixture(scope="session")
def spec_dir() -> Path:
    assert SPEC.is_dir(), f"the reference spec is missing: {SPEC} (CI clones ../shared beside the repo)"
    return SPEC


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
