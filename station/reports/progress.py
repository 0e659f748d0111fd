"""Progress and cancellation for long reports.

Why a protocol and not a Qt signal: `station/` never imports Qt. The app passes an object whose
`report()` emits a signal and whose `cancelled` flag is set by the Cancel button; the CLI passes a
printer on stderr. Renderers call `step()` between pages, so cancelling stops within one page.
"""

from __future__ import annotations

import sys
import time
from typing import Protocol, TextIO, runtime_checkable


class Cancelled(Exception):
    """The user cancelled a report; nothing was written to the output file."""


@runtime_checkable
class Progress(Protocol):
    """What a renderer needs from its caller: where it is, and whether to stop."""

    cancelled: bool

    def report(self, done: int, total: int) -> None: ...


class NullProgress:
    """No feedback, never cancelled (tests, small reports)."""

    cancelled = False

    def report(self, done: int, total: int) -> None:
        pass


class StreamProgress:
    """A one-line counter on a terminal (the CLI), redrawn at most every `interval` seconds."""

    cancelled = False

    def __init__(self, label: str, stream: TextIO | None = None, interval: float = 0.5) -> None:
        self.label = label
        self.stream = stream if stream is not None else sys.stderr
        self.interval = interval
        self._last = 0.0
        self._shown = False

    def report(self, done: int, total: int) -> None:
        now = time.monotonic()
        if done < total and now - self._last < self.interval:
            return
        self._last = now
        if not self.stream.isatty():
            if done >= total and total:
                self.stream.write(f"{self.label}: {done}/{total}\n")
            return
        self._shown = True
        end = "\n" if done >= total else ""
        self.stream.write(f"\r{self.label}: {done}/{total}{end}")
        self.stream.flush()


def step(progress: Progress | None, done: int, total: int) -> None:
    """Report and honour a cancel request; called between pages."""
    if progress is None:
        return
    if getattr(progress, "cancelled", False):
        raise Cancelled("report cancelled")
    progress.report(done, total)
