"""Timing driven as a crew would: the finish-line keyboard entry, the gun, and a reader going down."""

from __future__ import annotations

import time
from typing import Any

from PySide6.QtCore import Qt

from ui.demo import SimReader
from ui.snapshots import R_BIB, R_STATUS


def _timing(win: Any) -> Any:
    win.tabs.setCurrentWidget(win.modes["timing"])
    return win.modes["timing"]


def _status_of(win: Any, bib: str) -> str | None:
    m = win.modes["results"].model
    for r in m.all:
        if r[R_BIB] == bib:
            return r[R_STATUS]
    return None


def test_manual_finish_entry_makes_a_result(qtbot: Any, window: Any) -> None:
    t = _timing(window)
    played: list[str] = []
    window.ctx.sounds.played.connect(played.append)
    assert t.point.currentData() == "finish"
    t.manual.setFocus()
    qtbot.keyClick(t.manual, Qt.Key.Key_Space)  # the runner crosses: stamp
    assert t.stamps.count() == 1 and played == ["stamp"]
    qtbot.keyClicks(t.manual, "1001")
    with qtbot.waitSignal(t.manual_saved, timeout=10_000):
        qtbot.keyClick(t.manual, Qt.Key.Key_Return)
    assert t.stamps.count() == 0
    qtbot.waitUntil(lambda: _status_of(window, "1001") == "finished", timeout=10_000)
    qtbot.waitUntil(lambda: any(f.bib == "1001" and f.source == "manual" for f in t.feed.rows), timeout=5000)


def test_manual_entry_with_unknown_bib_keeps_the_time(qtbot: Any, window: Any) -> None:
    t = _timing(window)
    t.manual.setFocus()
    qtbot.keyClick(t.manual, Qt.Key.Key_Space)
    qtbot.keyClicks(t.manual, "424242")
    qtbot.keyClick(t.manual, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: "424242" in t.manual_status.text(), timeout=5000)
    assert t.stamps.count() == 1 and len(t.manual.stamps) == 1  # retype the bib for the same time


def test_gun_needs_the_supervisor(qtbot: Any, window: Any) -> None:
    t = _timing(window)
    asked: list[Any] = []
    window.ctx.approve_pin = lambda dlg: (asked.append(dlg), dlg.edit.setText("0000"), dlg._try())
    t.gun_map["10k/A"].click()
    assert asked and asked[0].error.text() == "Wrong PIN."
    assert t.guns.rowCount() == 0
    window.ctx.approve_pin = lambda dlg: (dlg.edit.setText("1234"), dlg._try())
    t.gun_map["10k/A"].click()
    qtbot.waitUntil(lambda: t.guns.rowCount() == 1, timeout=5000)
    assert t.guns.rows[0][3] == "Li Lei"  # the entry records the operator


def test_reader_disconnect_turns_the_light_red_with_an_alarm(qtbot: Any, window: Any, plan: Any) -> None:
    played: list[str] = []
    window.ctx.sounds.played.connect(played.append)
    ev = plan.payload["event"]

    def add(d: Any) -> None:
        d.readers["finish-1"] = SimReader(d.store, "finish-1", "finish", ev["timezone"], ev["date"])
        d.readers["finish-1"].feed(["V=12.6"])

    window.client.call(add)
    qtbot.waitUntil(lambda: window.header.lights.get("finish-1") is not None
                    and window.header.lights["finish-1"].color == "green", timeout=5000)
    window.client.call(lambda d: d.readers["finish-1"].unplug())
    qtbot.waitUntil(lambda: window.header.lights["finish-1"].color == "red", timeout=5000)
    assert "alarm" in played
    t = _timing(window)
    qtbot.waitUntil(lambda: any(s.id == "finish-1" and not s.connected for s in t.readers.rows), timeout=5000)
    assert "Disconnected" in window.header.lights["finish-1"].toolTip()


def test_a_burst_of_reads_is_one_feed_row_naming_its_stored_read(qtbot: Any, window: Any, plan: Any) -> None:
    """Reads arrive as runs (columns): the live feed shows one row per crossing, with the runner's bib,
    and the row names the read as stored (the timer's "ignore this read" targets that uuid)."""
    from station.reads import ReadRun

    t = _timing(window)
    p = plan.participants[5]
    chip, t0 = p["chips"][0], int(time.time() * 1000)
    run = ReadRun("finish-x", "finish", "main", t0, "test", chip=["9999999"] + [chip] * 5,
                  t=[t0] + [t0 + i * 100 for i in range(5)], raw=[f"l{i}" for i in range(6)])
    stored: list[Any] = []
    window.ctx.client.call(lambda d: d.store.submit_reads(run).result(10), stored.append)
    qtbot.waitUntil(lambda: any(f.chip == chip for f in t.feed.rows), timeout=10_000)
    rows = [f for f in t.feed.rows if f.chip == chip]
    assert len(rows) == 1 and rows[0].bib == p["bib"] and rows[0].source == "finish-x"
    found: list[Any] = []
    window.ctx.client.call(lambda d: d.store.find_entries([rows[0].uuid]), found.append)
    qtbot.waitUntil(lambda: bool(found), timeout=10_000)
    assert found[0][rows[0].uuid][1].payload["raw"] == "l1"  # the burst's first read (2nd of the run)
    qtbot.waitUntil(lambda: any(u.chip == "9999999" for u in t.unknown.rows), timeout=10_000)
