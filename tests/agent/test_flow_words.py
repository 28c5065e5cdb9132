"""agent.flow for people: an empty NetBIOS name is refused, sources and answers read as words."""

from __future__ import annotations

from pathlib import Path

from agent.facts import load_facts_file
from agent.flow import Flow, Origin
from agent.profile import load_profile
from agent.profile.model import Field, Validation


def _flow(spec: Path, name: str) -> Flow:
    from agent.catalog.verify import load_catalog

    catalog = load_catalog(spec / "catalog.json", trust_key=None).catalog
    return Flow(load_profile(spec / name), catalog, load_facts_file(spec / "facts" / "laptop.json"))


def test_an_empty_computer_name_is_refused_even_when_the_field_is_optional(spec_dir: Path) -> None:
    flow = _flow(spec_dir, "technician.yaml")
    name = Field(id="computer_name", type="text", validate=Validation(preset="netbios"))
    assert flow.text_problem(name, "") == "enter a computer name"
    assert flow.text_problem(Field(id="notes", type="text"), "") is None


def test_sources_read_as_words(spec_dir: Path) -> None:
    flow = _flow(spec_dir, "technician.yaml")
    flow.answers["deployment"] = "win11-lab"
    sources = flow.readable_sources(flow.walk(strict=True))
    assert sources["SMSTSPreferredAdvertID"] == "you chose (Task sequence)"
    assert sources["OSDTimeZone"] == "rule 1 (always)"
    assert sources["OSDComputerName"] == "rule 4 (catalog list machines where uuid = UUID)"
    assert not [s for s in sources.values() if "rules[" in s]
    assert flow.describe_origin(Origin("fact")) == "this computer"


def test_answers_in_words_leave_out_locked_fields_and_use_item_descriptions(spec_dir: Path) -> None:
    flow = _flow(spec_dir, "kiosk.yaml")
    flow.answers["deployment"] = "win11-lab"
    words = flow.choices_in_words(flow.walk(), 2)
    assert words == [("Image", "Windows 11 24H2 – Lab (The lab image: Windows 11 with the usual applications.)")]
