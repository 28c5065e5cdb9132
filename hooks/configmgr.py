"""ConfigMgr: task sequence variables through TSEnvironment, TSCONFIG.INI glue and the prestart folder."""

from __future__ import annotations

import re
import sys
from collections.abc import Callable, Mapping
from pathlib import Path, PureWindowsPath
from typing import Protocol

from agent.errors import InputError, SourceUnavailable
from agent.log import get_logger
from hooks import power
from hooks.base import (
    COMPUTER_NAME_VARIABLES,
    Glue,
    GlueRequest,
    VariableStore,
    check_commit,
    is_winpe_default_name,
    stale_array_entries,
    without_winpe_names,
)
from hooks.common import windows_command, windows_ini

log = get_logger("prestart.hooks.configmgr")

# Read-only engine variables worth exposing to rules as facts (docs/hooks/configmgr.md).
FACT_NAMES = ("_SMSTSInWinPE", "_SMSTSLaunchMode", "_SMSTSMediaType", "_SMSTSBootUEFI", "_SMSTSMachineName")

_PACKAGE_ID = re.compile(r"[A-Za-z0-9]{1,8}")
_CMD_METACHARACTERS = set('&|<>^%"\r\n')


class TSEnvironmentLike(Protocol):
    """The little of Microsoft.SMS.TSEnvironment we use (hooks/_tsenv_com.py; a fake in tests)."""

    def get(self, name: str) -> str:
        """The value of `name`; "" when it is not set."""
        ...

    def set(self, name: str, value: str) -> None:
        """Set `name`; "" deletes it. Raises for read-only names."""
        ...

    def names(self) -> list[str]:
        """Every variable name the environment holds (GetVariables)."""
        ...

def is_secret_name(name: str) -> bool:
    """Engine variables we never read: the network access account (_SMSTSReserved*) and passwords.

    Rules do not need them, and what we never read cannot reach a log, a receipt or an error.
    """
    folded = name.casefold()
    return folded.startswith("_smstsreserved") or "password" in folded


class TSEnvironmentStore:
    """Task sequence variables in the running TSEnvironment; commit sets all of them or none."""

    name = "configmgr"

    def __init__(self, env: TSEnvironmentLike) -> None:
        self.env = env

    def read_all(self) -> dict[str, str]:
        found = {name: self.env.get(name) for name in self.env.names() if not is_secret_name(name)}
        return without_winpe_names(found)

    def commit(self, variables: Mapping[str, str]) -> None:
        check_commit(variables)  # names, read-only "_" names and value sizes: refuse before touching anything
        writes: list[tuple[str, str]] = []
        for name, value in variables.items():
            if name.casefold() in COMPUTER_NAME_VARIABLES and is_winpe_default_name(value):
                log.warning("not setting %s to WinPE's own name %s: the task sequence would keep it", name, value)
                continue
            writes.append((name, value))
        writes += [(name, "") for name in stale_array_entries(variables, self.env.names())]
        before = {name: self.env.get(name) for name, _ in writes}
        done: list[str] = []
        try:
            for name, value in writes:
                self.env.set(name, value)
                done.append(name)
        except Exception as exc:
            failed = writes[len(done)][0]
            restored = self._restore(done, before)
            raise SourceUnavailable(
                f"the task sequence refused variable {failed}: {exc}; {restored} of {len(done)} variables "
                "set before it were put back",
                "read smsts.log next to our log for the engine's reason",
            ) from exc

    def _restore(self, names: list[str], before: Mapping[str, str]) -> int:
        restored = 0
        for name in reversed(names):
            try:
                self.env.set(name, before[name])
                restored += 1
            except Exception as exc:  # keep restoring the others
                log.error("could not restore %s: %s", name, exc)
        return restored


class ConfigMgrHook:
    """A ConfigMgr task sequence (boot media, PXE) started us as its prestart command."""

    name = "configmgr"

    def __init__(
        self,
        open_env: Callable[[], TSEnvironmentLike] | None = None,
        close_progress: Callable[[], None] | None = None,
    ) -> None:
        self._open_env = open_env
        self._close_progress = close_progress
        self._env: TSEnvironmentLike | None = None

    def environment(self) -> TSEnvironmentLike:
        if self._env is None:
            if self._open_env is None:
                raise SourceUnavailable(
                    "no task sequence environment on this system (Microsoft.SMS.TSEnvironment is Windows only)",
                    "run inside a ConfigMgr task sequence, or use --sink json:PATH",
                )
            try:
                self._env = self._open_env()
            except Exception as exc:
                raise SourceUnavailable(
                    f"cannot open Microsoft.SMS.TSEnvironment: {exc}",
                    "run as the boot image's prestart command, where the task sequence environment exists",
                ) from exc
        return self._env

    def detect(self) -> bool:
        if self._open_env is None:
            return False
        try:
            self.environment()
        except SourceUnavailable:
            return False
        return True

    def store(self) -> VariableStore:
        return TSEnvironmentStore(self.environment())

    def prepare_ui(self) -> None:
        if self._close_progress is None:
            return
        try:
            self._close_progress()
        except Exception as exc:  # a progress window left open is ugly, not fatal
            log.warning("could not close the task sequence progress window: %s", exc)

    def log_dir(self) -> Path | None:
        try:
            value = self.environment().get("_SMSTSLogPath")
        except SourceUnavailable:
            return None
        return Path(value) if value else None

    def facts(self) -> dict[str, str]:
        env = self.environment()
        found = {name: env.get(name) for name in FACT_NAMES}
        return {name: value for name, value in without_winpe_names(found).items() if value}

    def power(self, action: str, *, dry_run: bool = False) -> list[str]:
        return power.power_action(action, dry_run=dry_run)


def create_hook() -> ConfigMgrHook:
    """The ConfigMgr hook; the COM module is imported on Windows only."""
    if sys.platform == "win32":
        from hooks import _tsenv_com

        return ConfigMgrHook(_tsenv_com.open_environment, _tsenv_com.close_progress_dialog)
    return ConfigMgrHook()


# --- glue -------------------------------------------------------------------------------------


def _relative_windows(path: str, what: str) -> str:
    p = PureWindowsPath(path)
    if not path or p.is_absolute() or p.drive or ".." in p.parts:
        raise InputError(f"{what} {path!r} must be relative to the payload folder", "e.g. prestart.exe")
    return str(p)


def command_line(req: GlueRequest) -> str:
    """The prestart command: `cmd /c` (as Microsoft advises) running the agent from the package folder.

    The engine starts it in X:\\sms\\PKG\\<Source>, so payload paths stay relative; that also fits
    ConfigMgr-managed boot images, whose package ID is only known to ConfigMgr.
    """
    for arg in req.extra_args:
        if _CMD_METACHARACTERS & set(arg):
            raise InputError(
                f'extra argument {arg!r} holds a character cmd.exe would interpret (& | < > ^ % ")',
                "pass plain arguments",
            )
    args = [
        _relative_windows(req.agent_exe, "agent path"),
        "run",
        "--profile",
        _relative_windows(req.profile, "profile path"),
        "--hook",
        "configmgr",
        *req.extra_args,
    ]
    inner = windows_command(args)
    # cmd /c strips the first and last quote when the line starts with one: wrap the whole line so the
    # quotes of a path with spaces survive.
    return f'cmd /c "{inner}"' if '"' in inner else f"cmd /c {inner}"


def glue(req: GlueRequest) -> Glue:
    """For a WIM we patch: TSCONFIG.INI [CustomHook] at the WinPE root, the payload in sms/PKG/<ID>."""
    if not _PACKAGE_ID.fullmatch(req.package_id):
        raise InputError(f"package ID {req.package_id!r} is not 1-8 letters and digits", "use an ID such as PRST0001")
    line = command_line(req)
    ini = windows_ini([("CustomHook", [f"CommandLine={line}", f"Source={req.package_id}"])])
    return Glue(payload_dir=f"sms/PKG/{req.package_id}", files={"TSCONFIG.INI": ini}, command_line=line)


def _ps_quote(text: str) -> str:
    """A PowerShell single-quoted string (nothing inside is expanded; ' is doubled)."""
    return "'" + text.replace("'", "''") + "'"


PRESTART_SCRIPT = "Set-PrestartCommand.ps1"
PRESTART_README = "README.txt"


def prestart_folder(req: GlueRequest, *, boot_image_id: str = "", media_hint: str = "") -> dict[str, bytes]:
    """The script and README of the configmgr-prestart folder (the builder adds the payload files)."""
    line = command_line(req)
    script = f"""# Generated by Prestart. Wires this folder into a ConfigMgr-managed boot image as its prestart command.
# Run it in a PowerShell session connected to your site (PS XYZ:\\> in the ConfigMgr console).
[CmdletBinding(SupportsShouldProcess)]
param(
    # Where this folder lives for the site server: a UNC path, e.g. \\\\cm01\\source$\\prestart\\winpe-x64
    [Parameter(Mandatory)] [string] $PrestartFolder,
    [string] $BootImageId = {_ps_quote(boot_image_id)},
    # Optional bootable media: an .iso path; leave empty to change the boot image only.
    [string] $MediaPath = {_ps_quote(media_hint)},
    [string] $DistributionPoint = '',
    [string] $ManagementPoint = ''
)
$ErrorActionPreference = 'Stop'
$CommandLine = {_ps_quote(line)}
if (-not $BootImageId) {{ throw 'Pass -BootImageId (the boot image package ID, e.g. XYZ00005).' }}

# 1. The boot image (PXE and media made from it): prestart command plus its files.
Set-CMBootImage -Id $BootImageId -EnablePrestartCommand $true -PrestartCommandLine $CommandLine `
    -IncludeFilesForPrestart $true -PrestartIncludeFilesDirectory $PrestartFolder
# ConfigMgr rebuilds the image with the files when it updates the distribution points.
Update-CMDistributionPoint -BootImageId $BootImageId -ReloadBootImage

# 2. Optional bootable media: a media prestart command wins over the boot image's.
if ($MediaPath) {{
    if (-not $DistributionPoint -or -not $ManagementPoint) {{
        throw 'Media needs -DistributionPoint and -ManagementPoint.'
    }}
    $package = New-CMPackage -Name 'Prestart' -Path $PrestartFolder
    Start-CMContentDistribution -PackageId $package.PackageID -DistributionPointName $DistributionPoint
    New-CMBootableMedia -MediaMode Dynamic -MediaType CdDvd -Path $MediaPath `
        -BootImage (Get-CMBootImage -Id $BootImageId) `
        -DistributionPoint (Get-CMDistributionPoint -SiteSystemServerName $DistributionPoint) `
        -ManagementPoint (Get-CMManagementPoint -SiteSystemServerName $ManagementPoint) `
        -PrestartCommand $CommandLine -PrestartPackage $package
}}
"""
    readme = f"""Prestart for a ConfigMgr-managed boot image
============================================

ConfigMgr rebuilds its own boot images, so Prestart does not patch them: point
the boot image's prestart "include files" at this folder instead.

Prestart command (exactly):
    {line}

Boot image{f" {boot_image_id}" if boot_image_id else ""}, in the console:
  1. Copy this folder to a share the site server can read.
  2. Software Library > Operating Systems > Boot Images > Properties > Customization.
  3. Tick "Enable prestart command", paste the command above, tick "Include files
     for the prestart command" and give this folder's UNC path as the source.
  4. Update Distribution Points (reload the boot image).

Or run {PRESTART_SCRIPT} -PrestartFolder \\\\server\\share\\folder, which does the same
with Set-CMBootImage, and with -MediaPath also makes bootable media (New-CMBootableMedia).
These two files are small and harmless inside the image.
"""
    return {
        PRESTART_SCRIPT: script.replace("\n", "\r\n").encode("utf-8-sig"),
        PRESTART_README: readme.replace("\n", "\r\n").encode("utf-8"),
    }
