"""Power actions: the command per system, and never a real reboot outside Windows."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from agent.errors import InputError
from agent.log import WARNING
from hooks import configmgr, mdt, winpe
from hooks.power import power_action

if TYPE_CHECKING:
    from tests.conftest import LogCapture


@pytest.mark.parametrize(
    ("system", "action", "command"),
    [
        ("winpe", "reboot", ["wpeutil", "reboot"]),
        ("winpe", "shutdown", ["wpeutil", "shutdown"]),
        ("windows", "reboot", ["shutdown", "/r", "/t", "0"]),
        ("windows", "shutdown", ["shutdown", "/s", "/t", "0"]),
        ("winpe", "exit", []),
        ("windows", "exit", []),
        ("other", "reboot", []),
        ("other", "shutdown", []),
    ],
)
def test_dry_run_names_the_command(system: str, action: str, command: list[str]) -> None:
    assert power_action(action, dry_run=True, system=system) == command  # type: ignore[arg-type]


def test_linux_preview_logs_and_never_reboots(logs: LogCapture) -> None:
    assert power_action("reboot", dry_run=False) == []
    # Even when told it is WinPE, nothing runs off Windows.
    assert power_action("reboot", dry_run=False, system="winpe") == []
    assert "reboot" in logs.text(WARNING)
    assert {r.name for r in logs.records} == {"prestart.power"}


def test_unknown_action_is_refused() -> None:
    with pytest.raises(InputError, match="hibernate"):
        power_action("hibernate", dry_run=True)


@pytest.mark.parametrize("hook", [configmgr.create_hook(), mdt.create_hook(), winpe.create_hook()])
def test_every_hook_has_power(hook: object) -> None:
    assert hook.power("exit") == []  # type: ignore[attr-defined]
    assert hook.power("shutdown", dry_run=True) == []  # type: ignore[attr-defined]  # Linux: "other"
