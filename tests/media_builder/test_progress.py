"""Progress output: a redrawn bar on a terminal, a few plain lines in a log."""

from __future__ import annotations

import io

from media_builder.progress import Progress


def test_plain_lines_when_not_a_terminal() -> None:
    out = io.StringIO()
    progress = Progress(out, tty=False)
    report = progress.task("winpe-x64")
    for step in range(101):
        report("inject: update", step / 100)
    lines = out.getvalue().splitlines()
    assert lines[0] == "winpe-x64: inject: update ... 0%"
    assert lines[-1] == "winpe-x64: inject: update ... done"
    assert len(lines) == 5  # quarters, not a hundred lines
    assert "\r" not in out.getvalue()


def test_bar_redraws_in_place_on_a_terminal() -> None:
    out = io.StringIO()
    progress = Progress(out, tty=True)
    progress.update("iso", 0.5)
    progress.update("iso", 1.0)
    text = out.getvalue()
    assert text.count("\r") == 2 and text.endswith("iso\n")
    assert "[############------------]  50% iso" in text


def test_quiet_prints_nothing() -> None:
    out = io.StringIO()
    progress = Progress(out, tty=False, quiet=True)
    progress.update("x", 1.0)
    progress.info("y")
    assert out.getvalue() == ""
