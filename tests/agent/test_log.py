"""agent.log: levels, the caller's place, secrets masked for every handler (the libraries' records too), stderr
when nothing listens."""

from __future__ import annotations

import io
import subprocess
import sys
import threading
from pathlib import Path

from agent.cmtrace import CMTraceSink, iter_records
from agent.log import (
    DEBUG,
    ERROR,
    INFO,
    MASK,
    WARNING,
    Redactor,
    StreamSink,
    add_sink,
    get_logger,
    remove_sink,
    shutdown,
)
from tests.conftest import REPO, LogCapture

log = get_logger("prestart.test")


def test_every_level_reaches_a_sink_with_the_callers_place(logs: LogCapture) -> None:
    log.debug("d %d", 1)
    log.info("i %s", "two")
    log.warning("w")
    log.error("e %r", "x")
    log.log(WARNING, "by level")
    assert [(r.levelno, r.getMessage()) for r in logs.records] == [
        (DEBUG, "d 1"), (INFO, "i two"), (WARNING, "w"), (ERROR, "e 'x'"), (WARNING, "by level"),
    ]  # fmt: skip
    assert {r.name for r in logs.records} == {"prestart.test"}
    assert (logs.records[0].module, logs.records[0].lineno > 0) == ("test_log", True)
    assert {r.thread for r in logs.records} == {threading.get_ident()}


def test_without_a_sink_warnings_and_errors_go_to_stderr() -> None:
    # In a process of its own: pytest puts handlers of its own on the root logger.
    code = (
        "from agent.log import get_logger; log = get_logger('prestart.x'); log.info('quiet'); "
        "log.warning('careful: %s', 'the catalog is old'); log.error('broken')"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert (done.returncode, done.stdout, done.stderr) == (0, "", "careful: the catalog is old\nbroken\n")


def test_a_bad_format_string_is_logged_as_it_is(logs: LogCapture) -> None:
    log.info("%d items", "many")
    log.info("%s and %s", "one")
    assert [r.getMessage() for r in logs.records] == ["%d items ('many',)", "%s and %s ('one',)"]


def test_exc_info_adds_the_traceback_only_inside_an_except(logs: LogCapture) -> None:
    log.warning("no exception here", exc_info=True)
    try:
        {}["missing"]
    except KeyError:
        log.warning("lookup failed", exc_info=True)
    plain, failed = (r.getMessage() for r in logs.records)
    assert plain == "no exception here"
    assert failed.startswith("lookup failed\nTraceback (most recent call last):") and "KeyError: 'missing'" in failed


def test_a_redactor_masks_records_for_every_sink(tmp_path: Path) -> None:
    redactor = Redactor(["hunter2"])
    stream = io.StringIO()
    add_sink(CMTraceSink(tmp_path / "a.log"), redactor=redactor)
    add_sink(StreamSink(stream, level=INFO))
    try:
        try:
            raise KeyError("hunter2")
        except KeyError:
            log.error("pin %s rejected", "hunter2", exc_info=True)
    finally:
        shutdown()
    for text in ((tmp_path / "a.log").read_text(encoding="utf-8"), stream.getvalue()):
        assert "hunter2" not in text and MASK in text
    assert stream.getvalue().startswith(f"prestart.test: pin {MASK} rejected\n")


def test_a_stream_sink_keeps_its_level_and_a_removed_sink_gets_nothing() -> None:
    stream = io.StringIO()
    sink = StreamSink(stream, level=WARNING)
    add_sink(sink)
    log.info("not shown")
    log.warning("shown")
    remove_sink(sink)
    log.warning("after removal")
    assert stream.getvalue() == "prestart.test: shown\n"


def test_records_from_many_threads_stay_whole_lines(tmp_path: Path) -> None:
    path = tmp_path / "Prestart.log"
    add_sink(CMTraceSink(path))

    # All eight alive at once: a thread that ended may hand its id to the next one started.
    together = threading.Barrier(8)

    def work(n: int) -> None:
        together.wait(timeout=30)
        for i in range(200):
            log.info("thread %d record %d %s", n, i, "x" * 300)
        together.wait(timeout=30)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        shutdown()
    records = list(iter_records(path.read_text(encoding="utf-8")))
    assert len(records) == 1600
    assert all(r["message"].endswith("x" * 300) for r in records)
    assert len({r["thread"] for r in records}) == 8


def test_the_libraries_records_land_in_the_log_masked(tmp_path: Path) -> None:
    """requests, urllib3 and ldap3 log through the stdlib; their records reach prestart.log, secrets and URL
    query values masked."""
    import logging

    import requests
    from pytest_httpserver import HTTPServer

    path = tmp_path / "prestart.log"
    redactor = Redactor(["t0ken-s3cret"])
    add_sink(CMTraceSink(path), redactor=redactor)
    try:
        with HTTPServer() as server:
            server.expect_request("/catalog").respond_with_data("{}")
            query = {"key": "t0ken-s3cret", "sig": "not-a-known-secret"}
            requests.get(server.url_for("/catalog"), params=query, timeout=10)
        logging.getLogger("ldap3").warning("bind as %s with %s", "admin", "t0ken-s3cret")
    finally:
        shutdown()
    records = list(iter_records(path.read_text(encoding="utf-8")))
    texts = [r["message"] for r in records]
    assert any("Starting new HTTP connection" in text for text in texts), texts  # urllib3's own record
    assert any(text.startswith("http://") and "GET /catalog?key=" in text for text in texts), texts
    assert f"bind as admin with {MASK}" in texts
    assert "t0ken-s3cret" not in path.read_text(encoding="utf-8")
    assert "not-a-known-secret" not in path.read_text(encoding="utf-8")  # a library's URL queries are masked
    assert {r["file"].split(":")[0] for r in records} >= {"connectionpool", "test_log"}
