"""Run Python's garbage collector on the GUI thread only.

Why: a Qt widget caught in a reference cycle is freed by whichever thread happens to trigger a GC
pass. If that is the domain worker or a reader thread, Qt objects get destroyed off the GUI thread and
the process crashes. The usual PySide remedy: disable automatic collection and collect from a GUI
timer when the allocation counters say it is due (cheap; generation 0 most of the time).

The timer runs every 50 ms, not every 500: at 2,000 reads/s half a second of allocations made one
generation-0 pass long enough to be a visible stall (worst GUI gap 150 ms → ~50 ms in bench_ui's
ingest run); checking the counters is nearly free, collecting little and often is not.
"""

from __future__ import annotations

import gc

from PySide6.QtCore import QObject, QTimer


class GuiThreadGc(QObject):
    def __init__(self, interval_ms: int = 50, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.threshold = gc.get_threshold()
        gc.disable()
        self.timer = QTimer(self)
        self.timer.timeout.connect(self.check)
        self.timer.start(interval_ms)

    def check(self) -> None:
        c0, c1, c2 = gc.get_count()
        t0, t1, t2 = self.threshold
        if c0 > t0:
            gc.collect(0)
            if c1 > t1:
                gc.collect(1)
                if c2 > t2:
                    gc.collect(2)

    def stop(self) -> None:
        self.timer.stop()
        gc.enable()
