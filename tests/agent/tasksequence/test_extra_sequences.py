"""More real task sequences from public repositories, kept outside this repository: run only when
PRESTART_EXTRA_TS names a folder that holds them (tests/agent/tasksequence/conftest.py leaves this module
out otherwise). The expected plans were worked out from the XML by hand."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from agent.errors import UsageError
from tests.agent.tasksequence.test_realworld import (
    SPEC,
    _ids,
    _plan_of,
)
from tests.agent.tasksequence.test_realworld import (
    test_every_step_and_group_has_a_plan as every_step_has_a_plan,
)
from tests.agent.tasksequence.test_realworld import (
    test_normalizing_keeps_the_document_and_is_stable as round_trips_losslessly,
)

# More real sequences, found in public repositories; their data stays outside this repository. Put them
# in a folder and name it in PRESTART_EXTRA_TS to run these tests:
#   erikpt__001.xml  erikpt/Modern-Deployment-Toolkit  DeployXMLExamples/001/ts.xml
#                    (also 002, 003)                  at bb2feb6cc4f7d6ee9dd750017706b824d533b587
EXTRA = Path(os.environ["PRESTART_EXTRA_TS"]) if os.environ.get("PRESTART_EXTRA_TS") else None
EXTRA_FILES = sorted(EXTRA.glob("*.xml")) if EXTRA is not None and EXTRA.is_dir() else []
ERIKPT_001 = EXTRA / "erikpt__001.xml" if EXTRA is not None else Path("/nonexistent")


@pytest.mark.parametrize("path", EXTRA_FILES, ids=_ids(EXTRA_FILES))
def test_more_real_sequences_round_trip_and_plan(path: Path) -> None:
    round_trips_losslessly(path)
    every_step_has_a_plan(path)


def test_an_mdt_client_sequence_with_vendor_and_disk_steps() -> None:
    assert ERIKPT_001.is_file(), f"PRESTART_EXTRA_TS ({EXTRA}) does not hold erikpt__001.xml"
    # Read from the XML: Preinstall's disk group formats for BIOS when IsUEFI notEquals True, UEFI when it
    # equals True, after "Gather local only"; "HP BIOS Password" is or() of three WMI queries on the
    # manufacturer, which facts cannot settle; its first step is disabled; "Set BCD Boot Parameters" is a
    # disabled group.
    disk = "Preinstall/Format and Partition Disk/Format and Partition Disk"
    bare = _plan_of(ERIKPT_001)
    assert (bare[f"{disk} (BIOS)"], bare[f"{disk} (UEFI)"]) == ("runtime", "runtime")
    assert bare["Postinstall/HP BIOS Password"] == "runtime"
    assert bare["Postinstall/Set BCD Boot Parameters"] == "skip"
    assert bare["Postinstall/Set BCD Boot Parameters/Set BCD Boot Params (UEFI)"] == "skip"
    laptop = _plan_of(ERIKPT_001, json.loads((SPEC / "facts" / "laptop.json").read_text()))
    assert (laptop[f"{disk} (BIOS)"], laptop[f"{disk} (UEFI)"]) == ("skip", "run")
    assert laptop["Postinstall/HP BIOS Password"] == "runtime"  # Make is given, but the group asks WMI
    # Two steps share the path Postinstall/HP BIOS Password/Set HP BIOS Password.
    with pytest.raises(UsageError, match="2 steps have that path"):
        _plan_of(ERIKPT_001, fail="Postinstall/HP BIOS Password/Set HP BIOS Password")
