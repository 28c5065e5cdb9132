"""Helpers for the importer tests: import through the real CLI, then run the profile headless."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import REPO, run_prestart

REALWORLD = (REPO.parent / "shared" / "realworld").resolve()


def corpus(folder: str, pattern: str) -> list[Path]:
    """Files of ../shared/realworld/<folder>; none (so the parametrised tests do nothing) when it is absent."""
    base = REALWORLD / folder
    return sorted(base.glob(pattern)) if base.is_dir() else []


def import_profile(tmp_path: Path, kind: str, *sources: Path, name: str = "profile.yaml") -> tuple[Path, str]:
    """`prestart import KIND SOURCES -o tmp/profile.yaml`; returns the profile and the report's text."""
    out = tmp_path / name
    done = run_prestart("import", kind, *map(str, sources), "-o", str(out))
    assert done.returncode == 0, done.stderr
    report = out.with_name(f"{out.stem}.import-report.txt")
    return out, report.read_text(encoding="utf-8")


def check(profile: Path, catalog: Path | None = None) -> None:
    done = run_prestart("check", str(profile), *(("--catalog", str(catalog)) if catalog else ()))
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"{profile}: ok")


def headless(tmp_path: Path, profile: Path, facts: dict[str, str], answers: dict[str, object] | None = None,
             *, catalog: Path | None = None) -> dict[str, str]:
    """The variables an unattended run commits for these facts (Prestart's own bookkeeping left out)."""
    facts_file = tmp_path / "facts.json"
    facts_file.write_text(json.dumps(facts), encoding="utf-8")
    answers_file = tmp_path / "answers.yaml"
    answers_file.write_text(json.dumps(answers or {}), encoding="utf-8")
    out = tmp_path / "out.json"
    extra = ("--catalog", str(catalog)) if catalog else ()
    done = run_prestart("run", "--profile", str(profile), "--facts", str(facts_file), "--answers",
                        str(answers_file), "--unattended", "--sink", f"json:{out}", "--log-dir", str(tmp_path / "log"),
                        *extra)
    assert done.returncode == 0, done.stderr
    variables = json.loads(out.read_text(encoding="utf-8"))
    return {k: v for k, v in variables.items() if not k.startswith("Prestart")}


def write(folder: Path, name: str, text: str) -> Path:
    """Write a source file with CRLF line ends, as Windows editors save them."""
    path = folder / name
    path.write_bytes(text.replace("\n", "\r\n").encode("utf-8"))
    return path
