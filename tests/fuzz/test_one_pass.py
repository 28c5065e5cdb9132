"""One pass over every problem rests on `Node.clean`: whatever a document holds, what is left after
cleaning passes the structural check, so the meaning checks can run on it without crashing."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import yaml
from hypothesis import given
from hypothesis import strategies as st

from agent.profile import check_file
from agent.profile.schema import PROFILE
from agent.schemakit import Node
from media_builder.schema import MEDIA
from tests.conftest import EXAMPLE
from tests.fuzz.strategies import FUZZ, JSONISH, mutate


def _problems(node: Node, value: Any) -> list[str]:
    found: list[str] = []
    node.check(value, "", lambda path, message, hint: found.append(f"{path}: {message}"))
    return found


PROFILE_DOC = yaml.safe_load((EXAMPLE / "technician.yaml").read_text(encoding="utf-8"))
MEDIA_DOC = yaml.safe_load((EXAMPLE / "media.yaml").read_text(encoding="utf-8"))


@FUZZ
@given(st.data())
def test_a_cleaned_profile_passes_the_structural_check(data: st.DataObject) -> None:
    doc = mutate(data, copy.deepcopy(PROFILE_DOC))
    if isinstance(doc, dict):
        assert _problems(PROFILE, PROFILE.clean(doc)) == []


@FUZZ
@given(st.data())
def test_a_cleaned_media_definition_passes_the_structural_check(data: st.DataObject) -> None:
    doc = mutate(data, copy.deepcopy(MEDIA_DOC))
    if isinstance(doc, dict):
        assert _problems(MEDIA, MEDIA.clean(doc)) == []


@FUZZ
@given(JSONISH)
def test_any_mapping_cleans_to_a_valid_structure(doc: Any) -> None:
    if isinstance(doc, dict):
        assert _problems(PROFILE, PROFILE.clean(doc)) == []


@FUZZ
@given(data=st.data())
def test_checking_a_broken_profile_never_crashes(data: st.DataObject, tmp_path_factory: Any) -> None:
    doc = mutate(data, copy.deepcopy(PROFILE_DOC))
    path = Path(tmp_path_factory.mktemp("p")) / "profile.yaml"
    path.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    profile, problems, _warnings = check_file(path)
    assert (profile is None) == bool(problems)
