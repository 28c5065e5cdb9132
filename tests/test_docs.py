"""The repository stands on its own: no message, hint or doc points outside it, and every file or link a
doc names exists."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.conftest import REPO

DOCS = [REPO / "README.md", REPO / "CONTRIBUTING.md", *sorted((REPO / "docs").rglob("*.md")),
        REPO / "examples" / "reference" / "README.md"]
SHIPPED = [p for top in ("agent", "hooks", "ui", "media_builder", "examples", "packaging")
           for p in sorted((REPO / top).rglob("*")) if p.is_file() and p.suffix in (".py", ".md", ".yaml", ".json",
                                                                                   ".txt", ".ps1", ".spec")]
TOPS = ("agent", "hooks", "ui", "media_builder", "docs", "examples", "schemas", "bench", "packaging", "tests")
PATH_IN_TEXT = re.compile(rf"(?<![\w./-])((?:{'|'.join(TOPS)})/[\w./-]*\w)")


# CONTRIBUTING.md alone may say where CI's external contract comes from.
@pytest.mark.parametrize("path", [p for p in DOCS + SHIPPED + [REPO / "dev"] if p.name != "CONTRIBUTING.md"],
                         ids=lambda p: str(p.relative_to(REPO)))
def test_nothing_points_outside_the_repository(path: Path) -> None:
    text = path.read_text(encoding="utf-8", errors="replace")
    for outside in ("../shared", "shared/spec", "DESIGN.md"):
        assert outside not in text, f"{path.relative_to(REPO)} names {outside}"


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: str(p.relative_to(REPO)))
def test_every_file_and_link_a_doc_names_exists(doc: Path) -> None:
    text = doc.read_text(encoding="utf-8")
    missing = []
    for target in re.findall(r"\]\(([^)#\s]+)", text):  # markdown links
        if "://" not in target and not (doc.parent / target).exists():
            missing.append(target)
    for named in PATH_IN_TEXT.findall(text):  # paths written in the text: examples/reference/kiosk.yaml
        if "*" in named or "<" in named:
            continue
        if not (REPO / named).exists() and not (REPO / named.rstrip(".")).exists():
            missing.append(named)
    assert not missing, f"{doc.relative_to(REPO)} names what is not in the repository: {sorted(set(missing))}"
