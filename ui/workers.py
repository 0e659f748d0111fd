"""Background tasks with progress and cancel (PDF reports, exports), off the GUI thread.

Why not the domain worker: rendering a 40,000-row PDF takes seconds and must not delay check-in
verdicts or result updates; the renderers take plain rows (fetched from the domain worker first) and
a `station.reports.Progress`, whose `cancelled` flag the Cancel button sets.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, Signal

log = logging.getLogger(__name__)


class TaskProgress:
    """A `station.reports.Progress`: reports go out as a Qt signal, Cancel sets `cancelled`."""

    def __init__(self, task: BackgroundTask) -> None:
        self.task = task
        self.cancelled = False

    def report(self, done: int, total: int) -> None:
        self.task.progress.emit(done, total)


class BackgroundTask(QObject):
    """Runs `fn(progress)` on a Python thread; `finished(result)` or `failed(message)` on the GUI thread."""

    progress = Signal(int, int)
    finished = Signal(object)
    failed = Signal(str)

    def __init__(self, fn: Callable[[TaskProgress], Any], parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.fn = fn
        self.prog = TaskProgress(self)
        self.thread = threading.Thread(target=self._run, name="ui-task", daemon=True)

    def start(self) -> BackgroundTask:
        self.thread.start()
        return self

    def cancel(self) -> None:
        self.prog.cancelled = True

    def wait(self, timeout: float | None = None) -> bool:
        self.thread.join(timeout)
        return not self.thread.is_alive()

    def _run(self) -> None:
        try:
            out = self.fn(self.prog)
        except Exception as e:
            if type(e).__name__ != "Cancelled":
                log.exception("background task failed")
            self.failed.emit(str(e) or type(e).__name__)
            return
        self.finished.emit(out)
