"""The agent's loggers: levelled, %-formatted records, secrets masked, handed to sinks (the CMTrace file)."""

# Why not the stdlib's `logging`: importing it (with threading, traceback, string and weakref) costs ~7 ms of
# every start, a tenth of a headless run and of the wait for the first page (bench/tried.md). The agent only
# ever logged its own records to one CMTrace file, and that is all this module does. Libraries that use
# `logging` (requests, urllib3, ldap3) still do; like before, none of their records reach our log.
#
# API: `log = get_logger("prestart.flow")`, then `log.info("loaded %s", name)`, `log.warning(..., exc_info=True)`,
# `log.exception(...)` — the stdlib's calling convention, so a reader knows it. Records go to every sink added
# with `add_sink`; with no sink, warnings and errors go to stderr, as the stdlib's last resort did.

from __future__ import annotations

import sys
import time
from _thread import allocate_lock, get_ident
from collections.abc import Iterable

from agent.records import Record

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Protocol, TextIO

    class Sink(Protocol):
        """Where records go: the CMTrace file (agent.cmtrace.CMTraceSink), stderr, a test's list."""

        def write(self, record: LogRecord) -> None: ...

        def close(self) -> None: ...


DEBUG, INFO, WARNING, ERROR, CRITICAL = 10, 20, 30, 40, 50
MASK = "********"


class LogRecord(Record):
    """One record, formatted and already redacted."""

    level: int
    name: str  # the logger's: "prestart.flow"
    message: str  # arguments applied; a traceback appended when asked for
    created: float  # time.time()
    thread: int
    where: str  # "module:line" of the call


class Redactor:
    """Masks every known secret in text: log records, receipts, error messages."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self._secrets: list[str] = []
        for secret in secrets:
            self.add(secret)

    def add(self, secret: str) -> None:
        """Remember a secret; the empty string is ignored (masking it would mask everything)."""
        if secret and secret not in self._secrets:
            self._secrets.append(secret)
            # Longest first, so a secret that contains another is masked whole.
            self._secrets.sort(key=len, reverse=True)

    def __len__(self) -> int:
        return len(self._secrets)

    def redact(self, text: str) -> str:
        """`text` with every secret replaced by MASK."""
        for secret in self._secrets:
            if secret in text:
                text = text.replace(secret, MASK)
        return text


class _Dispatch:
    """Process-wide state: the sinks and the redactor every record passes through first."""

    def __init__(self) -> None:
        self.sinks: tuple[Sink, ...] = ()
        self.redactors: tuple[Redactor, ...] = ()
        self.lock = allocate_lock()  # sinks write from the Tk thread and from background jobs


_STATE = _Dispatch()


def add_sink(sink: Sink, *, redactor: Redactor | None = None) -> None:
    """Send every record from now on to `sink`; `redactor` masks secrets in records to every sink."""
    with _STATE.lock:
        _STATE.sinks += (sink,)
        if redactor is not None and redactor not in _STATE.redactors:
            _STATE.redactors += (redactor,)


def remove_sink(sink: Sink, *, redactor: Redactor | None = None) -> None:
    """Stop sending records to `sink` (and stop using `redactor`); the caller closes it."""
    with _STATE.lock:
        _STATE.sinks = tuple(s for s in _STATE.sinks if s is not sink)
        _STATE.redactors = tuple(r for r in _STATE.redactors if r is not redactor)


def shutdown() -> None:
    """Close and drop every sink (the entry points call this before they exit)."""
    with _STATE.lock:
        sinks, _STATE.sinks, _STATE.redactors = _STATE.sinks, (), ()
    for sink in sinks:
        sink.close()


class Logger:
    """A named source of records; cheap to create, so modules keep one at import."""

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return f"<Logger {self.name}>"

    def log(self, level: int, msg: str, *args: object, exc_info: bool = False) -> None:
        _emit(self.name, level, msg, args, exc_info)

    def debug(self, msg: str, *args: object, exc_info: bool = False) -> None:
        _emit(self.name, DEBUG, msg, args, exc_info)

    def info(self, msg: str, *args: object, exc_info: bool = False) -> None:
        _emit(self.name, INFO, msg, args, exc_info)

    def warning(self, msg: str, *args: object, exc_info: bool = False) -> None:
        _emit(self.name, WARNING, msg, args, exc_info)

    def error(self, msg: str, *args: object, exc_info: bool = False) -> None:
        _emit(self.name, ERROR, msg, args, exc_info)

    def exception(self, msg: str, *args: object) -> None:
        """An error with the traceback of the exception being handled."""
        _emit(self.name, ERROR, msg, args, True)


def get_logger(name: str) -> Logger:
    return Logger(name)


def _emit(name: str, level: int, msg: str, args: tuple[object, ...], exc_info: bool) -> None:
    sinks = _STATE.sinks
    if not sinks and level < WARNING:
        return  # nobody keeps it: skip the formatting
    try:
        message = msg % args if args else msg
    except (TypeError, ValueError, KeyError):  # a bad format string must not take the run down
        message = f"{msg} {args!r}"
    if exc_info and sys.exc_info()[0] is not None:
        import traceback  # only when there is a traceback to write

        message = f"{message}\n{traceback.format_exc().rstrip()}"
    for redactor in _STATE.redactors:
        message = redactor.redact(message)
    if not sinks:
        print(message, file=sys.stderr)  # what the stdlib's last-resort handler printed
        return
    caller = sys._getframe(2)
    module = str(caller.f_globals.get("__name__", "?")).rpartition(".")[2]
    record = LogRecord(level, name, message, time.time(), get_ident(), f"{module}:{caller.f_lineno}")
    with _STATE.lock:
        for sink in sinks:
            sink.write(record)


class StreamSink:
    """Records at `level` and above as "name: message" lines on a text stream (the builder's stderr)."""

    def __init__(self, stream: TextIO | None = None, *, level: int = WARNING) -> None:
        self.stream = stream
        self.level = level

    def write(self, record: LogRecord) -> None:
        if record.level >= self.level:
            print(f"{record.name}: {record.message}", file=self.stream or sys.stderr, flush=True)

    def close(self) -> None:
        pass


__all__ = [
    "CRITICAL",
    "DEBUG",
    "ERROR",
    "INFO",
    "MASK",
    "WARNING",
    "LogRecord",
    "Logger",
    "Redactor",
    "StreamSink",
    "add_sink",
    "get_logger",
    "remove_sink",
    "shutdown",
]
