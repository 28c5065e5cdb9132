"""Windows only: the task sequence's COM objects (TSEnvironment, TsProgressUI) through comtypes IDispatch."""

from __future__ import annotations

from typing import Any

# comtypes is imported inside the functions: this module is imported on Windows only (hooks/configmgr.py
# checks sys.platform first), and even there only when the configmgr hook is used.

TS_ENVIRONMENT = "Microsoft.SMS.TSEnvironment"
TS_PROGRESS_UI = "Microsoft.SMS.TsProgressUI"


class _Dispatch:
    """Late-bound calls on an IDispatch pointer (the task sequence objects ship no type library we rely on)."""

    def __init__(self, progid: str) -> None:
        import comtypes.automation
        import comtypes.client

        self._auto = comtypes.automation
        self._obj: Any = comtypes.client.CreateObject(progid, interface=comtypes.automation.IDispatch)
        self._ids: dict[str, int] = {}

    def _id(self, member: str) -> int:
        if member not in self._ids:
            self._ids[member] = self._obj.GetIDsOfNames(member)[0]
        return self._ids[member]

    def get(self, member: str, *args: object) -> Any:
        return self._obj.Invoke(self._id(member), *args, _invkind=self._auto.DISPATCH_PROPERTYGET)

    def put(self, member: str, *args: object) -> None:
        self._obj.Invoke(self._id(member), *args, _invkind=self._auto.DISPATCH_PROPERTYPUT)

    def call(self, member: str, *args: object) -> Any:
        return self._obj.Invoke(self._id(member), *args, _invkind=self._auto.DISPATCH_METHOD)


class ComTSEnvironment:
    """Microsoft.SMS.TSEnvironment behind the small TSEnvironmentLike interface of hooks/configmgr.py."""

    def __init__(self) -> None:
        self._env = _Dispatch(TS_ENVIRONMENT)

    def get(self, name: str) -> str:
        value = self._env.get("Value", name)
        return "" if value is None else str(value)

    def set(self, name: str, value: str) -> None:
        self._env.put("Value", name, value)

    def names(self) -> list[str]:
        found = self._env.call("GetVariables")
        return [str(n) for n in (found or ())]


def open_environment() -> ComTSEnvironment:
    """The running task sequence's environment; raises when no task sequence is running."""
    return ComTSEnvironment()


def close_progress_dialog() -> None:
    """Close the task sequence progress window so it does not cover ours."""
    _Dispatch(TS_PROGRESS_UI).call("CloseProgressDialog")
