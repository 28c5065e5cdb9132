"""The agent's logging: the stdlib's `logging`, with every secret the run learns masked on the way to each handler."""

# `log = get_logger("prestart.flow")`, then `log.info("loaded %s", name)`: stdlib loggers. The run adds its
# CMTrace file (agent.cmtrace.CMTraceSink) with `add_sink`, on the root logger, so the records of libraries
# (requests, urllib3, ldap3) land in prestart.log too. Every handler added that way masks secrets first
# (a Redactor, as a logging filter): in the message, its arguments and its traceback. With no handler,
# warnings and errors go to stderr (the stdlib's last resort).

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Iterable
from logging import CRITICAL, DEBUG, ERROR, INFO, WARNING, Handler, Logger, LogRecord
from typing import TextIO

from agent.secretprint import SecretPrint

MASK = "********"
# A URL's query values in a library's record: urllib3 logs every request line ("POST /audit?token=... HTTP/1.1"),
# and a token in a profile's URL is a secret the run never learns as one.
_QUERY_VALUE = re.compile(r"([?&][^=\s&#\"'?]+=)[^\s&#\"']+")


class Redactor:
    """Masks every known secret in text: log records, receipts, error messages."""

    def __init__(self, secrets: Iterable[str | SecretPrint] = ()) -> None:
        self._secrets: list[str | SecretPrint] = []
        for secret in secrets:
            self.add(secret)

    def add(self, secret: str | SecretPrint) -> None:
        """Remember a secret (its text, or an agent.secretprint.SecretPrint that does not keep the text); the
        empty string is ignored (masking it would mask everything)."""
        if secret and secret not in self._secrets:
            self._secrets.append(secret)
            # Longest first, so a secret that contains another is masked whole.
            self._secrets.sort(key=len, reverse=True)

    def __len__(self) -> int:
        return len(self._secrets)

    def redact(self, text: str) -> str:
        """`text` with every secret replaced by MASK."""
        for secret in self._secrets:
            if isinstance(secret, SecretPrint):
                text = secret.redact(text, MASK)
            elif secret in text:
                text = text.replace(secret, MASK)
        return text


def full_message(record: LogRecord) -> str:
    """The record's text: arguments applied (a bad format string kept as written), then its traceback."""
    try:
        message = record.getMessage()
    except (TypeError, ValueError, KeyError):  # a bad format string must not take the run down
        message = f"{record.msg} {record.args!r}"
    if record.exc_info:  # (None, None, None) when exc_info=True was given outside an `except`
        if record.exc_info[0] is not None:
            message = f"{message}\n{logging.Formatter().formatException(record.exc_info)}"
    elif record.exc_text:
        message = f"{message}\n{record.exc_text}"
    return message


class RedactingFilter(logging.Filter):
    """On a handler: turns each record into its full text (full_message) with every known secret masked.

    Handler filters see the records of every logger, the libraries' too; a logger's own filter would not.
    In the libraries' records the values of URL queries are masked as well.
    """

    def __init__(self) -> None:
        super().__init__()
        self.redactors: list[Redactor] = []

    def filter(self, record: LogRecord) -> bool:
        text = full_message(record)
        if not record.name.startswith("prestart"):
            text = _QUERY_VALUE.sub(rf"\g<1>{MASK}", text)
        for redactor in self.redactors:
            text = redactor.redact(text)
        record.msg, record.args, record.exc_info, record.exc_text = text, None, None, None
        record.message = text
        return True


_FILTER = RedactingFilter()
_handlers: list[Handler] = []
_root_level: int | None = None  # the root logger's level before the first handler was added


def add_sink(handler: Handler, *, redactor: Redactor | None = None) -> None:
    """Send every record from now on, the libraries' too, to `handler`; `redactor` masks secrets for every
    handler added here."""
    global _root_level
    root = logging.getLogger()
    if _root_level is None:
        _root_level = root.level
        root.setLevel(DEBUG)  # the agent's log keeps everything; each handler has its own level
    handler.addFilter(_FILTER)
    if redactor is not None and redactor not in _FILTER.redactors:
        _FILTER.redactors.append(redactor)
    _handlers.append(handler)
    root.addHandler(handler)


def remove_sink(handler: Handler, *, redactor: Redactor | None = None) -> None:
    """Stop sending records to `handler` (and stop using `redactor`); the caller closes it."""
    global _root_level
    root = logging.getLogger()
    root.removeHandler(handler)
    handler.removeFilter(_FILTER)
    if handler in _handlers:
        _handlers.remove(handler)
    if redactor is not None and redactor in _FILTER.redactors:
        _FILTER.redactors.remove(redactor)
    if not _handlers and _root_level is not None:
        root.setLevel(_root_level)
        _root_level = None


def shutdown() -> None:
    """Remove and close every handler add_sink added, and forget every redactor."""
    for handler in list(_handlers):
        remove_sink(handler)
        handler.close()
    _FILTER.redactors.clear()


def get_logger(name: str) -> Logger:
    """The stdlib logger `name` ("prestart.flow")."""
    return logging.getLogger(name)


class StreamSink(Handler):
    """Records at `level` and above as "name: message" lines on a text stream (the builder's stderr)."""

    def __init__(self, stream: TextIO | None = None, *, level: int = WARNING) -> None:
        super().__init__(level)
        self.stream = stream

    def emit(self, record: LogRecord) -> None:
        print(f"{record.name}: {full_message(record)}", file=self.stream or sys.stderr, flush=True)


__all__ = [
    "CRITICAL",
    "DEBUG",
    "ERROR",
    "INFO",
    "MASK",
    "WARNING",
    "LogRecord",
    "Logger",
    "RedactingFilter",
    "Redactor",
    "StreamSink",
    "add_sink",
    "full_message",
    "get_logger",
    "remove_sink",
    "shutdown",
]
