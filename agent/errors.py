"""Error classes that say whose fault it is, and the Win32 exit codes they map to."""

from __future__ import annotations

import enum


class ExitCode(enum.IntEnum):
    """Win32 codes the task sequence shows in hex (docs/exit-codes.md)."""

    SUCCESS = 0
    ACCESS_DENIED = 5  # sign-in failed too many times
    INVALID_DATA = 13  # profile, catalog or signature invalid
    NOT_READY = 21  # a preflight check failed
    INVALID_PARAMETER = 87  # bad command line
    NOT_FOUND = 1168  # unattended run cannot resolve a required value
    CANCELLED = 1223  # the user cancelled or the countdown ran out
    INTERNAL_ERROR = 1359  # an unexpected error (logged with a traceback)


class PrestartError(Exception):
    """Base class: a message for the person, a hint for the next step, an exit code."""

    code: ExitCode = ExitCode.INTERNAL_ERROR
    whose = "internal"

    def __init__(self, message: str, hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        if self.hint:
            return f"{self.message} (hint: {self.hint})"
        return self.message


class UsageError(PrestartError):
    """The command line is wrong: the caller's fault."""

    code = ExitCode.INVALID_PARAMETER
    whose = "command line"


class InputError(PrestartError):
    """A file we were given (profile, catalog, answers, media definition) is invalid."""

    code = ExitCode.INVALID_DATA
    whose = "input"


class DataError(PrestartError):
    """Data we read or fetched is invalid: bad signature, expired, malformed."""

    code = ExitCode.INVALID_DATA
    whose = "data"


class SourceUnavailable(PrestartError):
    """A backend, file or device could not be reached; someone else's fault, maybe transient."""

    code = ExitCode.INVALID_DATA
    whose = "source"


class NotReady(PrestartError):
    """A preflight check failed: the machine is not ready."""

    code = ExitCode.NOT_READY
    whose = "machine"


class NotFound(PrestartError):
    """An unattended run could not resolve a required value."""

    code = ExitCode.NOT_FOUND
    whose = "answers"


class Cancelled(PrestartError):
    """The person cancelled, or a countdown ran out."""

    code = ExitCode.CANCELLED
    whose = "user"


class AccessDenied(PrestartError):
    """Sign-in failed too many times."""

    code = ExitCode.ACCESS_DENIED
    whose = "user"


class InternalError(PrestartError):
    """A bug: an unexpected error, logged with a traceback."""

    code = ExitCode.INTERNAL_ERROR
    whose = "internal"


class Problem:
    """One validation problem: where (file, line, path) and what."""

    __slots__ = ("file", "hint", "line", "message", "path")

    def __init__(self, path: str, message: str, *, file: str = "", line: int = 0, hint: str = "") -> None:
        self.file = file
        self.line = line
        self.path = path
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        where = self.file or "<input>"
        if self.line:
            where = f"{where}:{self.line}"
        text = f"{where}: {self.path or '(top)'}: {self.message}"
        if self.hint:
            text += f" (hint: {self.hint})"
        return text

    def __repr__(self) -> str:
        return f"Problem({self!s})"


class ValidationFailed(InputError):
    """Several problems found at once; each is reported."""

    def __init__(self, problems: list[Problem], what: str = "input") -> None:
        self.problems = problems
        first = str(problems[0]) if problems else ""
        more = f" and {len(problems) - 1} more" if len(problems) > 1 else ""
        super().__init__(f"{what} is invalid: {first}{more}", "fix every listed problem and run again")
