"""Tests for agent.cmtrace: CMTrace lines, the file sink, stamps without datetime and the log folder."""

from __future__ import annotations

import os
import tempfile
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agent.cmtrace import (
    CMTraceSink,
    bias_minutes,
    default_log_dir,
    format_line,
    format_time,
    iter_records,
    parse_line,
    parse_when,
)
from agent.errors import DataError
from agent.log import CRITICAL, DEBUG, ERROR, INFO, MASK, WARNING, Logger, Redactor, add_sink, get_logger, shutdown
from agent.variables import Variables

FUZZ = settings(max_examples=int(os.environ.get("PRESTART_FUZZ_EXAMPLES", "300")), deadline=None)


def zone(hours: int, minutes: int = 0) -> timezone:
    sign = -1 if hours < 0 else 1
    return timezone(timedelta(hours=hours, minutes=sign * minutes))


# ---------------------------------------------------------------- time and bias


@pytest.mark.parametrize(
    ("tz", "bias", "text"),
    [
        (UTC, 0, "08:15:42.123+000"),
        (zone(1), -60, "08:15:42.123-60"),  # Central Europe (winter): docs/formats.md's example
        (zone(2), -120, "08:15:42.123-120"),
        (zone(-5), 300, "08:15:42.123+300"),  # US Eastern (winter)
        (zone(-1), 60, "08:15:42.123+060"),
        (zone(5, 30), -330, "08:15:42.123-330"),  # India
        (zone(-3, 30), 210, "08:15:42.123+210"),  # Newfoundland
        (zone(5, 45), -345, "08:15:42.123-345"),  # Nepal
        (zone(14), -840, "08:15:42.123-840"),
    ],
)
def test_bias_sign_and_format(tz: timezone, bias: int, text: str) -> None:
    when = datetime(2024, 3, 7, 8, 15, 42, 123456, tzinfo=tz)
    assert bias_minutes(when) == bias
    assert format_time(when) == text
    # UTC = local + bias
    assert when.replace(tzinfo=None) + timedelta(minutes=bias) == when.astimezone(UTC).replace(tzinfo=None)


def test_naive_datetime_counts_as_local_time() -> None:
    naive = datetime(2024, 7, 1, 12, 0)
    assert bias_minutes(naive) == bias_minutes(naive.astimezone())


def test_format_line_exactly() -> None:
    when = datetime(2024, 3, 7, 8, 15, 42, 123000, tzinfo=zone(1))
    line = format_line(
        "Gathering facts", when=when, component="Prestart", level=INFO, thread=1234, file="facts:42"
    )
    assert line == (
        '<![LOG[Gathering facts]LOG]!><time="08:15:42.123-60" date="03-07-2024" component="Prestart" context="" '
        'type="1" thread="1234" file="facts:42">'
    )


@pytest.mark.parametrize(
    ("level", "kind"),
    [(DEBUG, "1"), (INFO, "1"), (WARNING, "2"), (ERROR, "3"), (CRITICAL, "3")],
)
def test_type_from_level(level: int, kind: str) -> None:
    when = datetime(2024, 1, 1, tzinfo=UTC)
    fields = parse_line(format_line("x", when=when, component="c", level=level, thread=1, file="m:1"))
    assert fields["type"] == kind


def test_terminator_in_message_is_escaped_and_newlines_stay() -> None:
    when = datetime(2024, 1, 1, tzinfo=UTC)
    line = format_line("a]LOG]!>b\nsecond line", when=when, component="c", level=INFO, thread=1, file="m:1")
    assert line.count("]LOG]!>") == 1
    fields = parse_line(line)
    assert fields["message"] == "a]LOG]!&gt;b\nsecond line"
    assert fields["component"] == "c"


def test_attribute_values_cannot_break_the_record() -> None:
    when = datetime(2024, 1, 1, tzinfo=UTC)
    line = format_line("m", when=when, component='odd"name>', level=INFO, thread=1, file="m:1")
    assert parse_line(line)["component"] == "odd'name)"


_SAFE_TEXT = st.text().filter(lambda t: "]LOG]!>" not in t)


@given(
    message=_SAFE_TEXT,
    when=st.datetimes(
        min_value=datetime(1980, 1, 1),
        max_value=datetime(2100, 1, 1),
        timezones=st.integers(-14 * 60, 14 * 60).map(lambda m: timezone(timedelta(minutes=m))),
    ),
    level=st.sampled_from([DEBUG, INFO, WARNING, ERROR, CRITICAL]),
    thread=st.integers(0, 2**32),
    component=st.from_regex(r"[A-Za-z0-9_. -]{1,20}", fullmatch=True),
)
@FUZZ
def test_format_parse_round_trip(message: str, when: datetime, level: int, thread: int, component: str) -> None:
    line = format_line(message, when=when, component=component, level=level, thread=thread, file="flow:123")
    fields = parse_line(line)
    assert fields["message"] == message
    assert fields["component"] == component
    assert fields["context"] == ""
    assert fields["thread"] == str(thread)
    assert fields["file"] == "flow:123"
    assert parse_when(fields) == when.replace(microsecond=when.microsecond // 1000 * 1000)


def test_parse_line_rejects_other_text() -> None:
    with pytest.raises(DataError, match="not a CMTrace log record"):
        parse_line("just some text")


# ---------------------------------------------------------------- the file sink


@pytest.fixture
def logger() -> Iterator[Logger]:
    yield get_logger(f"prestart.test{id(object())}")
    shutdown()


def test_sink_writes_real_cmtrace_lines(tmp_path: Path, logger: Logger) -> None:
    path = tmp_path / "SMSTSLog" / "Prestart.log"  # the folder is created
    add_sink(CMTraceSink(path))
    before = datetime.now().astimezone()
    logger.info("Loaded profile %s", "technician.yaml")
    logger.warning("Catalog refresh timed out; using the snapshot")
    logger.error("Preflight failed:\n%s", "Connected to AC power")
    logger.debug("raw facts")
    # flushed after each record: readable while the sink is still open
    text = path.read_text(encoding="utf-8")
    records = list(iter_records(text))
    assert [r["message"] for r in records] == [
        "Loaded profile technician.yaml",
        "Catalog refresh timed out; using the snapshot",
        "Preflight failed:\nConnected to AC power",
        "raw facts",
    ]
    assert [r["type"] for r in records] == ["1", "2", "3", "1"]
    assert {r["component"] for r in records} == {"Prestart"}
    assert {r["thread"] for r in records} == {str(threading.get_ident())}
    assert records[0]["file"].startswith("test_cmtrace:")
    assert records[0]["file"].split(":")[1].isdigit()
    when = parse_when(records[0])
    assert abs(when - before) < timedelta(seconds=5)
    assert format_time(when)[-4:] == format_time(before)[-4:]  # the local bias
    # one record per line, each starting a line
    assert sum(line.startswith("<![LOG[") for line in text.splitlines()) == 4
    assert text.endswith(">\n")


def test_sink_appends_and_uses_component(tmp_path: Path, logger: Logger) -> None:
    path = tmp_path / "Prestart.log"
    path.write_text(parse_free := "earlier content\n", encoding="utf-8")
    add_sink(CMTraceSink(path, component="PrestartUI"))
    logger.info("Ünïcödé ✓")
    text = path.read_text(encoding="utf-8")
    assert text.startswith(parse_free)
    (record,) = iter_records(text)
    assert record["component"] == "PrestartUI"
    assert record["message"] == "Ünïcödé ✓"


def test_sink_writes_tracebacks(tmp_path: Path, logger: Logger) -> None:
    path = tmp_path / "Prestart.log"
    add_sink(CMTraceSink(path))
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        logger.exception("Unexpected error")
    (record,) = iter_records(path.read_text(encoding="utf-8"))
    assert record["type"] == "3"
    assert record["message"].startswith("Unexpected error\nTraceback (most recent call last):")
    assert "RuntimeError: boom" in record["message"]


def test_sink_masks_secrets_in_messages_arguments_and_tracebacks(tmp_path: Path, logger: Logger) -> None:
    path = tmp_path / "Prestart.log"
    redactor = Redactor()
    add_sink(CMTraceSink(path), redactor=redactor)
    password = "S3cr3t!pass"
    token = "eyJhbGciOi.token"
    redactor.add(password)  # secrets learnt after the sink was added count too
    redactor.add(token)
    redactor.add("ab")  # short secrets are still masked
    redactor.add("")  # ignored: it would mask everything
    logger.info("password is S3cr3t!pass in the message")
    logger.info("sign-in with %s and token=%s", password, token)
    logger.info("short secret: xabx")
    try:
        raise ValueError(f"LDAP bind failed for {password}")
    except ValueError:
        logger.exception("Sign-in error with %r", {"token": token})
    text = path.read_text(encoding="utf-8")
    assert password not in text
    assert token not in text
    assert "ab" not in text.replace("<![LOG[", "")  # not even in "xabx"
    records = list(iter_records(text))
    assert records[0]["message"] == f"password is {MASK} in the message"
    assert records[1]["message"] == f"sign-in with {MASK} and token={MASK}"
    assert records[2]["message"] == f"short secret: x{MASK}x"
    assert f"LDAP bind failed for {MASK}" in records[3]["message"]
    assert "Traceback" in records[3]["message"]


def test_sink_that_cannot_write_says_so_once_and_the_run_goes_on(
    logger: Logger, capsys: pytest.CaptureFixture[str]
) -> None:
    add_sink(CMTraceSink("/dev/full"))  # every write: ENOSPC, as on a full log disk
    logger.info("one")
    logger.info("two")
    assert capsys.readouterr().err.count("cannot write the log") == 1


# ---------------------------------------------------------------- log folder


def test_default_log_dir_order(tmp_path: Path) -> None:
    engine = Variables({"_SMSTSLogPath": "X:\\Windows\\Temp\\SMSTSLog\\ts"})
    winpe = tmp_path / "Windows"
    winpe.mkdir()
    assert default_log_dir(engine, str(tmp_path / "cli"), winpe_windows=winpe) == tmp_path / "cli"
    assert default_log_dir(engine, None, winpe_windows=winpe) == Path("X:\\Windows\\Temp\\SMSTSLog\\ts")
    assert default_log_dir({"_smstslogpath": "D:\\logs"}, None, winpe_windows=winpe) == Path("D:\\logs")
    assert default_log_dir({}, None, winpe_windows=winpe) == winpe / "Temp" / "SMSTSLog"
    assert default_log_dir({"_SMSTSLogPath": "  "}, "", winpe_windows=tmp_path / "absent") == (
        Path(tempfile.gettempdir()) / "prestart-logs"
    )
    # on this (non-WinPE) machine the real X:\Windows does not exist
    assert default_log_dir({}, None) == Path(tempfile.gettempdir()) / "prestart-logs"
