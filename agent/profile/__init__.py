"""Profiles: the schema, loading with line numbers, the meaning checks, and compiling for media."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

from agent import __version__
from agent.catalog.model import Catalog
from agent.errors import Problem, ValidationFailed
from agent.log import get_logger
from agent.profile.model import Profile, profile_from_data
from agent.yamlio import Located, load_file, load_text, read_text

__all__ = ["Profile", "check_file", "compile_profile", "load_profile"]

log = get_logger("prestart.profile")

# A compiled profile opens with its stamp: the agent that checked it and a SHA-256 of everything after
# (the condition trees, then the profile).
COMPILED_BY = f"prestart {__version__}"
_STAMP = re.compile(r'\{"compiled":\{"by":("(?:[^"\\]|\\.)*"),"sha256":"([0-9a-f]{64})",')


def stamp_holds(text: str) -> bool:
    """True when `text` is a profile this agent version compiled and nobody changed since.

    Such a profile already passed every check that does not depend on the catalog; the agent skips them
    at boot. A hand-edited compiled file fails the digest and is
    checked in full, like any other profile.
    """
    match = _STAMP.match(text)
    if match is None:
        return False
    body = text[match.end() :].rstrip()
    return (
        json.loads(match.group(1)) == COMPILED_BY
        and hashlib.sha256(body.encode("utf-8")).hexdigest() == match.group(2)
    )


def check_file(
    path: str | Path, catalog: Catalog | None = None, *, fast: bool = True
) -> tuple[Profile | None, list[Problem], list[Problem]]:
    """Load and check a profile: (profile or None, problems, warnings). Unreadable YAML raises InputError."""
    from agent.profile.validate import Findings, check, check_against_catalog

    text = read_text(path)
    located: Located = load_text(text, str(path), fast=fast)
    problems: list[Problem] = []

    def report(p: str, message: str, hint: str) -> None:
        problems.append(Problem(p, message, file=located.file, line=located.line(p), hint=hint))

    if fast and isinstance(located.data, dict) and stamp_holds(text) and _adopt_trees(located.data):
        trusted = profile_from_data(located.data, source=str(path))
        findings = Findings(located)
        if catalog is not None:
            check_against_catalog(trusted, catalog, findings)
        if not findings.problems:
            log.debug("%s: compiled by %s and unchanged; catalog checks only", path, COMPILED_BY)
            return trusted, [], findings.warnings
        return check_file(path, catalog, fast=False)  # say where, with line numbers
    if not isinstance(located.data, dict):
        report("", "a profile is a YAML mapping", "start with `version: 1`")
        return None, problems, []
    from agent.profile.schema import PROFILE  # not needed for a trusted compiled profile
    from agent.schemakit import hides

    PROFILE.check(located.data, "", report)
    # The meaning checks run in the same pass, on the profile without its structural problems: an
    # unknown key or a wrong type must not hide an expression, template, duplicate id or list problem.
    structural = [p.path for p in problems]
    data = PROFILE.clean(located.data) if structural else located.data
    profile = profile_from_data(data, source=str(path))
    findings = check(profile, located, catalog)
    problems += [p for p in findings.problems if not any(hides(s, p.path) for s in structural)]
    warnings = [w for w in findings.warnings if not any(hides(s, w.path) for s in structural)]
    problems.sort(key=lambda p: p.line)  # in file order, as an editor lists them
    if problems and not located.lines and fast:
        # Read through the JSON fast path: read again with line numbers so every problem says where.
        return check_file(path, catalog, fast=False)
    return (None if problems else profile), problems, warnings


def _adopt_trees(data: dict[str, object]) -> bool:
    """Hand the compiled condition trees to the parser; False when they are not trees (check in full)."""
    from agent.expr import adopt

    compiled = data.get("compiled")
    trees = compiled.get("trees") if isinstance(compiled, dict) else None
    if not isinstance(trees, dict):
        return False
    try:
        adopt(trees)
    except ValueError as exc:
        log.debug("compiled condition trees unusable (%s); checking the profile in full", exc)
        return False
    return True


def compile_profile(path: str | Path, catalog: Catalog | None = None) -> str:
    """The profile as compact JSON (valid YAML too) for media, stamped, with every condition's parsed
    tree: the agent reads it with the json module, parses no condition, and skips the checks done here
    (see `stamp_holds`)."""
    from agent.expr import tree_to_data
    from agent.profile.validate import check_structure

    load_profile(path, catalog)  # refuse to compile anything invalid
    located = load_file(path, fast=False)
    data = located.data
    data.pop("compiled", None)  # compiling a compiled profile stamps it afresh
    # Checked again only to collect the trees: this runs once per media build, not at boot.
    parsed = check_structure(profile_from_data(data, source=str(path)), located).expressions
    trees = json.dumps({text: tree_to_data(tree) for text, tree in parsed.items()}, ensure_ascii=False,
                       separators=(",", ":"))
    body = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    signed = f'"trees":{trees}}},{body[1:]}'  # closes "compiled", then the profile after its opening brace
    digest = hashlib.sha256(signed.encode("utf-8")).hexdigest()
    by = json.dumps(COMPILED_BY, ensure_ascii=False)
    return f'{{"compiled":{{"by":{by},"sha256":"{digest}",{signed}\n'


def load_profile(path: str | Path, catalog: Catalog | None = None) -> Profile:
    """A valid profile, or ValidationFailed listing every problem."""
    profile, problems, _ = check_file(path, catalog)
    if problems or profile is None:
        raise ValidationFailed(problems, f"profile {path}")
    return profile
