"""ConfigMgr adapter: the pure rules, tested through a fake of TSEnvironment behind TSEnvironmentLike."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from agent.errors import InputError, SourceUnavailable
from hooks import configmgr
from tests.hooks.shapes import implements_hook


class FakeTSEnvironment:
    """Behaves like Microsoft.SMS.TSEnvironment: "" deletes, "_" names are read-only, missing names read ""."""

    def __init__(self, initial: dict[str, str], *, fail_on: str = "") -> None:
        self.vars = dict(initial)
        self.fail_on = fail_on
        self.sets: list[tuple[str, str]] = []
        self.reads: list[str] = []

    def get(self, name: str) -> str:
        self.reads.append(name)
        return next((v for k, v in self.vars.items() if k.casefold() == name.casefold()), "")

    def set(self, name: str, value: str) -> None:
        if name.startswith("_"):
            raise PermissionError(f"{name} is read-only")
        if name == self.fail_on and value:
            raise OSError("0x80004005")
        self.sets.append((name, value))
        for key in [k for k in self.vars if k.casefold() == name.casefold()]:
            del self.vars[key]
        if value:
            self.vars[name] = value

    def names(self) -> list[str]:
        return list(self.vars)


ENGINE = {
    "_SMSTSInWinPE": "true",
    "_SMSTSLaunchMode": "PXE",
    "_SMSTSMediaType": "BootMedia",
    "_SMSTSLogPath": r"X:\Windows\Temp\SMSTSLog",
    "_SMSTSMachineName": "MININT-8K2J4L",
    "_SMSTSReserved1-000": "CONTOSO\\naa",
    "_SMSTSReserved2-000": "naa-secret",
    "OSDJoinPassword": "join-secret",
    "OSDComputerName": "MININT-8K2J4L",
    "XApplications01": "Old A",
    "XApplications02": "Old B",
    "XApplications03": "Old C",
    "SiteOption": "keep",
}


def hook_with(env: FakeTSEnvironment, closed: list[str] | None = None) -> configmgr.ConfigMgrHook:
    def close() -> None:
        if closed is None:
            raise OSError("TsProgressUI not registered")
        closed.append("closed")

    return configmgr.ConfigMgrHook(lambda: env, close)


def test_reads_every_variable_but_secrets_and_winpe_names() -> None:
    env = FakeTSEnvironment(ENGINE)
    found = hook_with(env).store().read_all()
    assert found["SiteOption"] == "keep" and found["_SMSTSLaunchMode"] == "PXE"
    assert "OSDComputerName" not in found and "_SMSTSMachineName" not in found
    assert not any("Reserved" in n or "Password" in n for n in found)
    assert not any("Reserved" in n or "Password" in n for n in env.reads)  # never even read


def test_facts_and_log_folder() -> None:
    hook = hook_with(FakeTSEnvironment(ENGINE))
    assert hook.facts() == {"_SMSTSInWinPE": "true", "_SMSTSLaunchMode": "PXE", "_SMSTSMediaType": "BootMedia"}
    assert hook.log_dir() == Path(r"X:\Windows\Temp\SMSTSLog")
    assert hook_with(FakeTSEnvironment({})).log_dir() is None


def test_commit_sets_values_and_trims_the_old_array() -> None:
    env = FakeTSEnvironment(ENGINE)
    hook_with(env).store().commit({"XApplications01": "7-Zip", "OSDComputerName": "LAB-0042", "SiteOption": ""})
    assert env.vars["XApplications01"] == "7-Zip" and env.vars["OSDComputerName"] == "LAB-0042"
    assert "XApplications02" not in env.vars and "XApplications03" not in env.vars  # no stale installs
    assert "SiteOption" not in env.vars  # "" deletes


def test_a_winpe_name_is_never_kept_as_the_computer_name() -> None:
    env = FakeTSEnvironment({})
    hook_with(env).store().commit({"OSDComputerName": "minint-ABC", "Other": "MININT-ok"})
    assert env.vars == {"Other": "MININT-ok"}


@pytest.mark.parametrize(
    "bad",
    [
        {"_SMSTSMachineName": "LAB-1"},  # read-only
        {"9Lives": "x"},  # must start with a letter
        {"Has Space": "x"},
        {"N" * 257: "x"},  # over 256 characters
        {"Big": "x" * 4001},  # value over 4,000 characters
    ],
)
def test_a_bad_name_or_value_sets_nothing(bad: dict[str, str]) -> None:
    env = FakeTSEnvironment(ENGINE)
    with pytest.raises(InputError):
        hook_with(env).store().commit({"Fine": "yes", **bad})
    assert env.sets == [] and env.vars == ENGINE


def test_value_of_exactly_4000_characters_is_fine() -> None:
    env = FakeTSEnvironment({})
    hook_with(env).store().commit({"Big": "x" * 4000})
    assert len(env.vars["Big"]) == 4000


def test_an_engine_failure_midway_puts_the_earlier_values_back() -> None:
    env = FakeTSEnvironment(ENGINE, fail_on="Third")
    with pytest.raises(SourceUnavailable, match="Third"):
        hook_with(env).store().commit({"SiteOption": "changed", "New": "v", "Third": "boom"})
    assert env.vars == ENGINE


def test_prepare_ui_closes_the_progress_dialog_and_survives_failure() -> None:
    closed: list[str] = []
    hook_with(FakeTSEnvironment({}), closed).prepare_ui()
    assert closed == ["closed"]
    hook_with(FakeTSEnvironment({}), None).prepare_ui()  # logged, not raised


def test_an_environment_that_cannot_be_opened_is_not_detected() -> None:
    def broken() -> FakeTSEnvironment:
        raise OSError("Class not registered")

    hook = configmgr.ConfigMgrHook(broken)
    assert hook.detect() is False
    with pytest.raises(SourceUnavailable, match="TSEnvironment"):
        hook.store()


def test_on_linux_nothing_windows_only_is_imported() -> None:
    code = (
        "import sys; from hooks import configmgr; h = configmgr.create_hook(); "
        "assert h.detect() is False; "
        "assert 'comtypes' not in sys.modules and 'hooks._tsenv_com' not in sys.modules; print('ok')"
    )
    root = Path(__file__).resolve().parents[2]
    done = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True, text=True, check=False)
    assert done.stdout.strip() == "ok", done.stderr


def test_the_hook_satisfies_the_protocol() -> None:
    assert implements_hook(configmgr.create_hook())
