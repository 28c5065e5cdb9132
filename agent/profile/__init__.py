"""Profiles: the schema, loading with line numbers, and the meaning checks."""

from __future__ import annotations

from pathlib import Path

from agent.catalog.model import Catalog
from agent.errors import Problem, ValidationFailed
from agent.profile.model import Profile, profile_from_data
from agent.yamlio import Located, load_file

__all__ = ["Profile", "check_file", "load_profile"]


def check_file(path: str | Path, catalog: Catalog | None = None) -> tuple[Profile | None, list[Problem], list[Problem]]:
    """Load and check a profile: (profile or None, problems, warnings). Unreadable YAML raises InputError."""
    from agent.profile.schema import PROFILE
    from agent.profile.validate import check

    located: Located = load_file(path)
    problems: list[Problem] = []

    def report(p: str, message: str, hint: str) -> None:
        problems.append(Problem(p, message, file=located.file, line=located.line(p), hint=hint))

    if not isinstance(located.data, dict):
        report("", "a profile is a YAML mapping", "start with `version: 1`")
        return None, problems, []
    PROFILE.check(located.data, "", report)
    if problems:
        return None, problems, []
    profile = profile_from_data(located.data, source=str(path))
    findings = check(profile, located, catalog)
    return profile, findings.problems, findings.warnings


def load_profile(path: str | Path, catalog: Catalog | None = None) -> Profile:
    """A valid profile, or ValidationFailed listing every problem."""
    profile, problems, _ = check_file(path, catalog)
    if problems or profile is None:
        raise ValidationFailed(problems, f"profile {path}")
    return profile
