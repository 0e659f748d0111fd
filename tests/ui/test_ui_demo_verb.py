"""`worun-station demo` itself: reads arrive, results appear, reader clocks agree with the station, and
closing (the hidden --quit-after) leaves every received read on disk."""

from __future__ import annotations

import signal
from pathlib import Path
from typing import Any

from station.cli import Context
from station.log.store import Store
from station.results.engine import Engine


def test_demo_verb_runs_and_flushes_on_close(qtbot: Any, tmp_path: Path, monkeypatch: Any) -> None:
    import ui.demo
    import ui.main_window
    from ui import verbs

    runs: list[Any] = []
    wins: list[Any] = []
    seen: dict[str, Any] = {}
    start = ui.demo.DemoRun.start
    init = ui.main_window.MainWindow.__init__

    def keep_run(self: Any) -> None:
        runs.append(self)
        start(self)

    def keep_win(self: Any, *a: Any, **k: Any) -> None:
        init(self, *a, **k)
        wins.append(self)

        def readers(states: Any) -> None:  # the last reader states the window showed
            seen["readers"] = states

        self.client.worker.readers.connect(self._on_readers)
        self.header.set_readers = _spy(self.header.set_readers, readers)

    monkeypatch.setattr(ui.demo.DemoRun, "start", keep_run)
    monkeypatch.setattr(ui.main_window.MainWindow, "__init__", keep_win)
    handlers = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        code = verbs.demo(["--runners", "300", "--quiet", "--quit-after", "8",
                           "--settings", str(tmp_path / "settings.ini")], Context(tmp_path / "data"))
    finally:
        for s, h in handlers.items():
            signal.signal(s, h)
    assert code == 0
    win, run = wins[0], runs[0]
    assert win.modes["timing"].feed.rowCount() > 0  # reads arrived in the live feed
    assert any(r[8] == "finished" for r in win.modes["results"].model.all)  # results appeared
    offsets = [s.clock_offset_ms for s in seen["readers"] if s.clock_offset_ms is not None]
    assert offsets and all(abs(o) < 2000 for o in offsets)  # simulated readers run on the station's clock
    received = sum(r.ingest.status().reads for r in run.readers.values())
    with Store(tmp_path / "data" / "demo") as st:
        stored = sum(1 for _ in st.iter_rows(kinds=["read"]))
        eng = Engine.from_store(st)
    assert received > 0 and stored == received  # nothing received was lost on close
    assert sum(1 for r in eng.results().values() if r.status == "finished") > 0


def _spy(fn: Any, also: Any) -> Any:
    def wrapped(states: Any) -> None:
        also(states)
        fn(states)

    return wrapped
