"""Test-only Microsoft.SMS.TSEnvironment and TsProgressUI: a COM LocalServer for the Windows Python under wine.

Run with the Windows Python: `python.exe tsenv_server.py /regserver` registers both ProgIDs in the wine
prefix; COM then starts this script with -Embedding when the agent calls CreateObject. There is no type
library: the agent binds late (GetIDsOfNames, Invoke), as with the real objects, so IDispatch is written
by hand here. The state is a JSON file beside this script (COM starts the server with its own environment,
so no variable can point elsewhere): the tests seed `_SMSTS*` variables in it and read back what was
committed. Every call is appended to `calls.log` beside it. A name listed under `"__refuse__"` in the state
makes a put of that variable fail, as the engine does for a read-only variable.
"""

import json
import os

import comtypes
import comtypes.server.register
from comtypes import GUID, COMObject
from comtypes.automation import DISPATCH_PROPERTYPUT, IDispatch
from comtypes.hresult import DISP_E_MEMBERNOTFOUND, DISP_E_UNKNOWNNAME, E_FAIL, S_OK

HERE = os.path.dirname(os.path.abspath(__file__))
STATE = os.path.join(HERE, "tsenv.json")
CALLS = os.path.join(HERE, "calls.log")
REFUSE = "__refuse__"


def load():
    try:
        with open(STATE, encoding="utf-8") as f:
            return json.load(f)
    except FileNotFoundError:
        return {}


def save(state):
    with open(STATE + ".tmp", "w", encoding="utf-8") as f:
        json.dump(state, f, indent=1, ensure_ascii=False)
    os.replace(STATE + ".tmp", STATE)


def record(*words):
    with open(CALLS, "a", encoding="utf-8") as f:
        f.write("\t".join(str(w) for w in words) + "\n")


class Refused(Exception):
    pass


class LateBound(COMObject):
    """IDispatch by hand: member names to DISPIDs, and Invoke to self.invoke(dispid, flags, args)."""

    _com_interfaces_ = [IDispatch]  # noqa: RUF012 (comtypes reads these class attributes)
    _reg_clsctx_ = comtypes.CLSCTX_LOCAL_SERVER
    _reg_threading_ = "Both"
    members: dict = {}  # noqa: RUF012

    def IDispatch_GetIDsOfNames(self, this, riid, names, count, lcid, dispids):
        for i in range(count):
            dispid = self.members.get(names[i].lower())
            if dispid is None:
                return DISP_E_UNKNOWNNAME
            dispids[i] = dispid
        return S_OK

    def IDispatch_Invoke(self, this, dispid, riid, lcid, flags, params, result, excepinfo, argerr):
        p = params[0]
        args = [p.rgvarg[i].value for i in reversed(range(p.cArgs))]  # COM passes arguments last first
        try:
            value = self.invoke(dispid, flags, args)
        except KeyError:
            return DISP_E_MEMBERNOTFOUND
        except Refused:
            return E_FAIL
        if result and value is not None:
            result[0].value = value
        return S_OK


class TSEnvironment(LateBound):
    _reg_clsid_ = GUID("{5D1B5A2E-0B1C-4D5E-9F10-2A3B4C5D6E01}")
    _reg_progid_ = "Microsoft.SMS.TSEnvironment"
    _reg_desc_ = "Prestart tests: a stand-in TSEnvironment"
    members = {"value": 1, "getvariables": 2}  # noqa: RUF012

    def invoke(self, dispid, flags, args):
        state = load()
        if dispid == 1 and flags & DISPATCH_PROPERTYPUT:
            name, value = args
            record("put", name, value)
            if name in state.get(REFUSE, []):
                raise Refused(name)
            state[name] = value
            save(state)
            return None
        if dispid == 1:
            record("get", args[0])
            return state.get(args[0], "")
        if dispid == 2:
            record("GetVariables")
            return tuple(name for name in state if name != REFUSE)
        raise KeyError(dispid)


class TsProgressUI(LateBound):
    _reg_clsid_ = GUID("{5D1B5A2E-0B1C-4D5E-9F10-2A3B4C5D6E02}")
    _reg_progid_ = "Microsoft.SMS.TsProgressUI"
    _reg_desc_ = "Prestart tests: a stand-in TsProgressUI"
    members = {"closeprogressdialog": 1}  # noqa: RUF012

    def invoke(self, dispid, flags, args):
        if dispid == 1:
            record("CloseProgressDialog")
            return None
        raise KeyError(dispid)


if __name__ == "__main__":
    comtypes.server.register.UseCommandLine(TSEnvironment, TsProgressUI)  # returns 1 when it did something
