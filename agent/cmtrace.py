"""CMTrace-format logs: line formatting and parsing, the file sink the agent logs to, the log folder."""

# Line format (docs/formats.md "Logs"):
#   <![LOG[message]LOG]!><time="HH:MM:SS.mmm+BIAS" date="MM-DD-YYYY" component="..." context="" type="1"
#   thread="N" file="module:line">
# BIAS is minutes with the Windows sign (UTC = local + bias). It is printed the way ConfigMgr prints it: a "+"
# for zero or positive biases, then the number zero-padded to three characters including the sign ("%03d"), so
# UTC is "+000", UTC-5 "+300", UTC-1 "+060", UTC+1 "-60", UTC+5:30 "-330". CMTrace reads every one of these.
# A message containing the record terminator "]LOG]!>" would end the record early in CMTrace, so it is written
# as "]LOG]!&gt;" (shown as such; parse_line does not undo it). Newlines stay: CMTrace shows multi-line records.

from __future__ import annotations

import contextlib
import logging
import os
import re
import sys
from collections.abc import Iterator, Mapping
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import TextIO

from agent.errors import DataError
from agent.log import ERROR, WARNING, full_message

__all__ = [
    "DEFAULT_COMPONENT",
    "LOG_NAME",
    "CMTraceSink",
    "bias_minutes",
    "default_log_dir",
    "format_bias",
    "format_line",
    "format_time",
    "iter_records",
    "parse_line",
    "parse_when",
]

DEFAULT_COMPONENT = "Prestart"
LOG_NAME = "Prestart.log"
_END = "]LOG]!>"
_END_ESCAPED = "]LOG]!&gt;"
_WINPE_WINDOWS = Path("X:\\Windows")

# Patterns, not compiled objects: only readers of logs need them, and `re` caches what it compiles.
_RECORD = (
    r"<!\[LOG\[(?P<message>.*?)\]LOG\]!>"
    r'<time="(?P<time>[^"]*)" date="(?P<date>[^"]*)" component="(?P<component>[^"]*)" '
    r'context="(?P<context>[^"]*)" type="(?P<type>[^"]*)" thread="(?P<thread>[^"]*)" file="(?P<file>[^"]*)">'
)
_TIME = r"(\d{2}):(\d{2}):(\d{2})\.(\d{3})([+-]\d+)"
_DATE = r"(\d{2})-(\d{2})-(\d{4})"


def cmtrace_type(level: int) -> int:
    """Log level -> CMTrace type: 1 info (DEBUG, INFO), 2 warning, 3 error (ERROR, CRITICAL)."""
    if level >= ERROR:
        return 3
    if level >= WARNING:
        return 2
    return 1


def bias_minutes(dt: datetime) -> int:
    """Windows time zone bias of `dt` in minutes (UTC = local + bias); a naive `dt` counts as local time."""
    offset = (dt if dt.tzinfo is not None else dt.astimezone()).utcoffset()
    return -round(offset.total_seconds() / 60) if offset is not None else 0


def format_bias(bias: int) -> str:
    """The bias as ConfigMgr writes it: "+000", "+300", "-60", "-330"."""
    return f"+{bias:03d}" if bias >= 0 else f"{bias:03d}"


def format_time(dt: datetime) -> str:
    """The `time` attribute: local clock time with milliseconds, then the bias."""
    return f"{dt:%H:%M:%S}.{dt.microsecond // 1000:03d}{format_bias(bias_minutes(dt))}"


def _attr(value: str) -> str:
    # Attribute values are double-quoted and the record ends at ">"; neither may appear inside.
    return value.replace('"', "'").replace(">", ")").replace("<", "(").replace("\n", " ").replace("\r", " ")


def _line(message: str, clock: str, date: str, component: str, level: int, thread: int, file: str) -> str:
    return (
        f"<![LOG[{message.replace(_END, _END_ESCAPED)}]LOG]!>"
        f'<time="{clock}" date="{date}" component="{_attr(component)}" context="" '
        f'type="{cmtrace_type(level)}" thread="{thread}" file="{_attr(file)}">'
    )


def format_line(message: str, *, when: datetime, component: str, level: int, thread: int, file: str) -> str:
    """One CMTrace record (without the trailing newline)."""
    return _line(message, format_time(when), f"{when:%m-%d-%Y}", component, level, thread, file)


def parse_line(line: str) -> dict[str, str]:
    """The fields of one CMTrace record: message, time, date, component, context, type, thread, file."""
    match = re.fullmatch(_RECORD, line.rstrip("\r\n"), re.DOTALL)
    if match is None:
        shown = line if len(line) <= 80 else line[:77] + "..."
        raise DataError(f"not a CMTrace log record: {shown!r}", "expected <![LOG[...]LOG]!><time=... file=...>")
    return match.groupdict()


def iter_records(text: str) -> Iterator[dict[str, str]]:
    """Every record in a log file's text (records may span lines)."""
    for match in re.finditer(_RECORD, text, re.DOTALL):
        yield match.groupdict()


def parse_when(fields: Mapping[str, str]) -> datetime:
    """The aware datetime of a parsed record (from its `time` and `date`)."""
    t = re.fullmatch(_TIME, fields["time"])
    d = re.fullmatch(_DATE, fields["date"])
    if t is None or d is None:
        raise DataError(f"bad CMTrace time/date: {fields['time']!r} {fields['date']!r}")
    hour, minute, second, millis, bias = (int(g) for g in t.groups())
    month, day, year = (int(g) for g in d.groups())
    zone = timezone(timedelta(minutes=-bias))
    return datetime(year, month, day, hour, minute, second, millis * 1000, tzinfo=zone)


class CMTraceSink(logging.Handler):
    """A logging handler that appends one CMTrace record per log record to a UTF-8 file, flushed after each."""

    def __init__(self, path: str | os.PathLike[str], *, component: str = DEFAULT_COMPONENT) -> None:
        super().__init__()
        self.path = Path(path)
        self.component = component
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # newline="" keeps "\n" as is on Windows too; CMTrace reads both, and parse/tests stay byte-exact.
        self._stream: TextIO | None = open(self.path, "a", encoding="utf-8", newline="")  # noqa: SIM115

    def emit(self, record: logging.LogRecord) -> None:
        stream = self._stream
        if stream is None:
            return
        when = datetime.fromtimestamp(record.created).astimezone()
        where = f"{record.module}:{record.lineno}"
        try:
            line = format_line(
                full_message(record), when=when, component=self.component, level=record.levelno,
                thread=record.thread or 0, file=where,
            )  # fmt: skip
            stream.write(line + "\n")
            stream.flush()
        except OSError as exc:  # a full or vanished log disk must not end the run
            print(f"prestart: cannot write the log {self.path}: {exc}", file=sys.stderr)
            self.close()

    def close(self) -> None:
        stream, self._stream = self._stream, None
        if stream is not None:
            with contextlib.suppress(OSError):  # what is still buffered fails as the write did
                stream.close()
        super().close()


def _engine_value(engine_vars: Mapping[str, str], name: str) -> str:
    value = engine_vars.get(name)
    if value is None:  # plain dicts are case-sensitive; task sequence names are not
        folded = name.casefold()
        value = next((v for k, v in engine_vars.items() if k.casefold() == folded), "")
    return value


def default_log_dir(
    engine_vars: Mapping[str, str],
    override: str | None,
    *,
    winpe_windows: Path = _WINPE_WINDOWS,
) -> Path:
    """Where the log goes: --log-dir, else _SMSTSLogPath, else X:\\Windows\\Temp\\SMSTSLog in WinPE, else a temp folder.

    `winpe_windows` exists for tests; in production it is always X:\\Windows.
    """
    if override:
        return Path(override)
    engine_path = _engine_value(engine_vars, "_SMSTSLogPath").strip()
    if engine_path:
        return Path(engine_path)
    if winpe_windows.is_dir():
        return winpe_windows / "Temp" / "SMSTSLog"
    import tempfile  # only outside WinPE and a task sequence: a developer's preview or test run

    return Path(tempfile.gettempdir()) / "prestart-logs"
