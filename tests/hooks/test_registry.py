"""The registry: --hook NAME, detection order, the error listing what was tried, and the file sinks."""

from __future__ import annotations

from pathlib import Path

import pytest

from agent.errors import SourceUnavailable, UsageError
from hooks import mdt, winpe
from hooks.base import REGISTRY, detect_hook, load_hook, open_sink
from tests.hooks.shapes import implements_hook


@pytest.mark.parametrize("name", ["configmgr", "mdt", "winpe"])
def test_each_engine_loads_as_a_hook(name: str) -> None:
    hook = load_hook(name)
    assert implements_hook(hook) and hook.name == name


def test_detection_order_is_configmgr_mdt_winpe() -> None:
    assert [e.name for e in REGISTRY] == ["configmgr", "mdt", "winpe"]


def test_nothing_detected_on_linux_and_the_error_lists_all_three() -> None:
    with pytest.raises(SourceUnavailable) as caught:
        detect_hook()
    message = str(caught.value)
    for name in ("configmgr: not detected", "mdt: not detected", "winpe: not detected", "--hook NAME"):
        assert name in message


def test_unknown_hook_is_a_command_line_mistake_listing_the_known_ones() -> None:
    with pytest.raises(UsageError, match="configmgr, mdt, winpe") as caught:
        load_hook("sccm")
    assert caught.value.code == 87


def test_sinks_build_the_right_stores(tmp_path: Path) -> None:
    assert isinstance(open_sink(f"mdt:{tmp_path / 'VARIABLES.DAT'}"), mdt.VariablesDatStore)
    assert isinstance(open_sink(f"cmd:{tmp_path / 'vars.cmd'}"), winpe.CmdFileStore)
