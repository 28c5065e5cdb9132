"""CMTrace-format logging: line formatting and parsing, a logging handler, a secret redactor, the log folder."""

# Line format (DESIGN.md "Logs"):
#   <![LOG[message]LOG]!><time="HH:MM:SS.mmm+BIAS" date="MM-DD-YYYY" component="..." context="" type="1"
#   thread="N" file="module:line">
# BIAS is minutes with the Windows sign (UTC = local + bias). It is printed the way ConfigMgr prints it: a "+"
# for zero or positive biases, then the number zero-padded to three characters including the sign ("%03d"), so
# UTC is "+000", UTC-5 "+300", UTC-1 "+060", UTC+1 "-60", UTC+5:30 "-330". CMTrace reads every one of these.
# A message containing the record terminator "]LOG]!>" would end the record early in CMTrace, so it is written
# as "]LOG]!&gt;" (shown as such; parse_line does not undo it). Newlines stay: CMTrace shows multi-line records.

from __future__ import annotations

import logging
import os
import re
from collections.abc import Iterable, Iterator, Mapping
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import TextIO

from agent.errors import DataError

__all__ = [
    "DEFAULT_COMPONENT",
    "LOG_NAME",
    "MASK",
    "CMTraceHandler",
    "Redactor",
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
MASK = "********"
_END = "]LOG]!>"
_END_ESCAPED = "]LOG]!&gt;"
_WINPE_WINDOWS = Path("X:\\Windows")

_RECORD = re.compile(
    r"<!\[LOG\[(?P<message>.*?)\]LOG\]!>"
    r'<time="(?P<time>[^"]*)" date="(?P<date>[^"]*)" component="(?P<component>[^"]*)" '
    r'context="(?P<context>[^"]*)" type="(?P<type>[^"]*)" thread="(?P<thread>[^"]*)" file="(?P<file>[^"]*)">',
    re.DOTALL,
)
_TIME = re.compile(r"(\d{2}):(\d{2}):(\d{2})\.(\d{3})([+-]\d+)")
_DATE = re.compile(r"(\d{2})-(\d{2})-(\d{4})")


def cmtrace_type(level: int) -> int:
    """logging level -> CMTrace type: 1 info (DEBUG, INFO), 2 warning, 3 error (ERROR, CRITICAL)."""
    if level >= logging.ERROR:
        return 3
    if level >= logging.WARNING:
        return 2
    return 1


def bias_minutes(dt: datetime) -> int:
    """Windows time zone bias of `dt` in minutes (UTC = local + bias); a naive `dt` counts as local time."""
    offset = (dt if dt.tzinfo is not None else dt.astimezone()).utcoffset() or timedelta(0)
    return -round(offset.total_seconds() / 60)


def format_bias(bias: int) -> str:
    """The bias as ConfigMgr writes it: "+000", "+300", "-60", "-330"."""
    return f"+{bias:03d}" if bias >= 0 else f"{bias:03d}"


def format_time(dt: datetime) -> str:
    """The `time` attribute: local clock time with milliseconds, then the bias."""
    return f"{dt:%H:%M:%S}.{dt.microsecond // 1000:03d}{format_bias(bias_minutes(dt))}"


def _attr(value: str) -> str:
    # Attribute values are double-quoted and the record ends at ">"; neither may appear inside.
    return value.replace('"', "'").replace(">", ")").replace("<", "(").replace("\n", " ").replace("\r", " ")


def format_line(message: str, *, when: datetime, component: str, level: int, thread: int, file: str) -> str:
    """One CMTrace record (without the trailing newline)."""
    return (
        f"<![LOG[{message.replace(_END, _END_ESCAPED)}]LOG]!>"
        f'<time="{format_time(when)}" date="{when:%m-%d-%Y}" component="{_attr(component)}" context="" '
        f'type="{cmtrace_type(level)}" thread="{thread}" file="{_attr(file)}">'
    )


def parse_line(line: str) -> dict[str, str]:
    """The fields of one CMTrace record: message, time, date, component, context, type, thread, file."""
    match = _RECORD.fullmatch(line.rstrip("\r\n"))
    if match is None:
        shown = line if len(line) <= 80 else line[:77] + "..."
        raise DataError(f"not a CMTrace log record: {shown!r}", "expected <![LOG[...]LOG]!><time=... file=...>")
    return match.groupdict()


def iter_records(text: str) -> Iterator[dict[str, str]]:
    """Every record in a log file's text (records may span lines)."""
    for match in _RECORD.finditer(text):
        yield match.groupdict()


def parse_when(fields: Mapping[str, str]) -> datetime:
    """The aware datetime of a parsed record (from its `time` and `date`)."""
    t = _TIME.fullmatch(fields["time"])
    d = _DATE.fullmatch(fields["date"])
    if t is None or d is None:
        raise DataError(f"bad CMTrace time/date: {fields['time']!r} {fields['date']!r}")
    hour, minute, second, millis, bias = (int(g) for g in t.groups())
    month, day, year = (int(g) for g in d.groups())
    zone = timezone(timedelta(minutes=-bias))
    return datetime(year, month, day, hour, minute, second, millis * 1000, tzinfo=zone)


class Redactor(logging.Filter):
    """Masks every known secret in a record (message, arguments, traceback, stack) before any handler writes it."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
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
        """`text` with every secret replaced by MASK (also usable for receipts and error messages)."""
        for secret in self._secrets:
            if secret in text:
                text = text.replace(secret, MASK)
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        if not self._secrets:
            return True
        # Freeze the formatted message so no later formatter re-applies the original args.
        record.msg = self.redact(record.getMessage())
        record.args = None
        if record.exc_info:
            record.exc_text = record.exc_text or logging.Formatter().formatException(record.exc_info)
            # Without exc_info, formatters use exc_text as is and never re-render the original traceback.
            record.exc_info = None
        if record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        if record.stack_info:
            record.stack_info = self.redact(record.stack_info)
        return True


class CMTraceHandler(logging.Handler):
    """Appends one CMTrace record per log record to a UTF-8 file, flushed after each record."""

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        component: str = DEFAULT_COMPONENT,
        level: int = logging.NOTSET,
        redactor: Redactor | None = None,
    ) -> None:
        super().__init__(level)
        self.path = Path(path)
        self.component = component
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # newline="" keeps "\n" as is on Windows too; CMTrace reads both, and parse/tests stay byte-exact.
        self._stream: TextIO | None = open(self.path, "a", encoding="utf-8", newline="")  # noqa: SIM115
        if redactor is not None:
            self.addFilter(redactor)

    def emit(self, record: logging.LogRecord) -> None:
        try:
            message = self.format(record)
            when = datetime.fromtimestamp(record.created).astimezone()
            line = format_line(
                message,
                when=when,
                component=self.component,
                level=record.levelno,
                thread=record.thread or 0,
                file=f"{record.module}:{record.lineno}",
            )
            stream = self._stream
            if stream is None:
                return
            stream.write(line + "\n")
            stream.flush()
        except Exception:
            self.handleError(record)

    def close(self) -> None:
        self.acquire()
        try:
            if self._stream is not None:
                self._stream.close()
                self._stream = None
        finally:
            self.release()
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
    import tempfile  # lazily: only off WinPE; tempfile pulls in random and costs ~1.5 ms of every start

    return Path(tempfile.gettempdir()) / "prestart-logs"
