"""Progress for long build steps: a small bar on a TTY's stderr, plain lines when output is not a terminal."""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable
from typing import TextIO

ProgressFn = Callable[[str, float], None]
_WIDTH = 24


class Progress:
    """Thread-safe progress reporter shared by the boot images building in parallel."""

    def __init__(self, stream: TextIO | None = None, *, tty: bool | None = None, quiet: bool = False) -> None:
        self.stream = stream if stream is not None else sys.stderr
        self.tty = self.stream.isatty() if tty is None else tty
        self.quiet = quiet
        self._lock = threading.Lock()
        # Last quarter printed per task in plain mode, so a log gets a few lines per step, not hundreds.
        self._steps: dict[str, int] = {}
        self._drawn = False

    def task(self, prefix: str) -> ProgressFn:
        """A callback `(what, fraction)` for one boot image's steps, labelled with `prefix`."""

        def report(what: str, fraction: float) -> None:
            self.update(f"{prefix}: {what}", fraction)

        return report

    def update(self, label: str, fraction: float) -> None:
        """Show `label` at `fraction` (0..1); 1.0 ends the step."""
        if self.quiet:
            return
        fraction = min(max(fraction, 0.0), 1.0)
        with self._lock:
            if self.tty:
                filled = int(fraction * _WIDTH)
                bar = "#" * filled + "-" * (_WIDTH - filled)
                end = "\n" if fraction >= 1.0 else ""
                self.stream.write(f"\r\x1b[K[{bar}] {fraction * 100:3.0f}% {label}{end}")
                self._drawn = fraction < 1.0
            else:
                quarter = int(fraction * 4)
                if self._steps.get(label, -1) >= quarter:
                    return
                self._steps[label] = quarter
                word = "done" if fraction >= 1.0 else f"{fraction * 100:.0f}%"
                self.stream.write(f"{label} ... {word}\n")
            self.stream.flush()

    def info(self, message: str) -> None:
        """A line of its own (not a bar), e.g. a summary."""
        if self.quiet:
            return
        with self._lock:
            if self.tty and self._drawn:
                self.stream.write("\r\x1b[K")
                self._drawn = False
            self.stream.write(message + "\n")
            self.stream.flush()


class Timer:
    """Wall-clock timings of named steps, for the manifest."""

    def __init__(self) -> None:
        self.timings: dict[str, float] = {}

    def step(self, name: str) -> _Step:
        return _Step(self, name)


class _Step:
    def __init__(self, timer: Timer, name: str) -> None:
        self.timer = timer
        self.name = name
        self.start = 0.0

    def __enter__(self) -> _Step:
        self.start = time.perf_counter()
        return self

    def __exit__(self, *exc: object) -> None:
        self.timer.timings[self.name] = round(time.perf_counter() - self.start, 3)
