"""Timing driven as a crew would: the finish-line keyboard entry, the gun, and a reader going down."""

from __future__ import annotations

import time
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

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


def _active(qtbot: Any, window: Any) -> None:
    """Shortcuts need the window to be the active one (as on a real desk)."""
    window.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window, timeout=5000)


def _manual_times(qtbot: Any, window: Any) -> dict[str, int]:
    """Bib → time of every manual entry stored (asked of the domain worker)."""
    got: list[dict[str, int]] = []
    window.client.call(lambda d: {e.payload["bib"]: e.payload["t"] for e in d.store.entries(kinds=["manual_time"])},
                       got.append)
    qtbot.waitUntil(lambda: bool(got), timeout=10_000)
    return got[0]


def test_manual_finish_entry_makes_a_result(qtbot: Any, window: Any) -> None:
    t = _timing(window)
    _active(qtbot, window)
    played: list[str] = []
    window.ctx.sounds.played.connect(played.append)
    assert t.point.currentData() == "finish"
    assert not t.manual.property("waiting")  # not "armed" while nothing waits
    qtbot.waitUntil(lambda: t.manual.hasFocus(), timeout=5000)  # the screen puts the keyboard there
    qtbot.keyClick(t.manual, Qt.Key.Key_Space)  # the runner crosses: stamp
    assert t.stamps.count() == 1 and played == ["stamp"] and t.manual.text() == ""
    assert t.manual.property("waiting") and "Stamped" in t.manual_status.text()
    qtbot.keyClicks(t.manual, "1001")
    with qtbot.waitSignal(t.manual_saved, timeout=10_000):
        qtbot.keyClick(t.manual, Qt.Key.Key_Return)
    assert t.stamps.count() == 0 and not t.manual.property("waiting")
    qtbot.waitUntil(lambda: _status_of(window, "1001") == "finished", timeout=10_000)
    qtbot.waitUntil(lambda: any(f.bib == "1001" and f.source == "manual" for f in t.feed.rows), timeout=5000)


def test_wrong_bib_stray_stamp_and_deletion_never_shift_the_times(qtbot: Any, window: Any) -> None:
    """The bug this guards: a wrong bib's stamp went back in front of the queue, so the next bib took
    the previous runner's time and every later hand-timed finisher was off by one."""
    t = _timing(window)
    _active(qtbot, window)
    clock = iter(range(int(time.time() * 1000) - 60_000, 2**62, 7_300))
    window.ctx.now_ms = lambda: next(clock)
    qtbot.waitUntil(lambda: t.manual.hasFocus(), timeout=5000)
    for _ in range(4):  # runner A, runner B (1011), a stray press, runner C (1012)
        qtbot.keyClick(t.manual, Qt.Key.Key_Space)
    ta, tb, stray, tc = (s.t for s in t.queue.stamps)
    assert t.stamps.count() == 4 and "next bib" in t.stamps.item(0).text()
    qtbot.keyClicks(t.manual, "9999")  # A's bib mistyped
    qtbot.keyClick(t.manual, Qt.Key.Key_Return)
    qtbot.keyClicks(t.manual, "1011")  # typed before the refusal comes back
    qtbot.keyClick(t.manual, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: any(s.state == "refused" for s in t.queue.stamps), timeout=10_000)
    assert [s.t for s in t.queue.stamps if s.state == "refused"] == [ta]
    assert "no participant with bib '9999'" in t.stamps.item(0).text()  # visibly pending, in its place
    # the stray stamp: select it (Down from the bib field: A, then the stray one) and delete it
    qtbot.waitUntil(lambda: all(s.state != "saving" for s in t.queue.stamps), timeout=10_000)
    qtbot.keyClick(t.manual, Qt.Key.Key_Down)
    qtbot.keyClick(t.manual, Qt.Key.Key_Down)
    assert t.queue.get(t.selected_stamp).t == stray
    qtbot.keyClick(t.manual, Qt.Key.Key_Delete)
    assert [s.t for s in t.queue.stamps] == [ta, tc] and "deleted" in t.manual_status.text()
    qtbot.keyClicks(t.manual, "1012")  # the next runner: C's time, not A's
    with qtbot.waitSignal(t.manual_saved, timeout=10_000):
        qtbot.keyClick(t.manual, Qt.Key.Key_Return)
    # A's stamp, fixed explicitly: click it, type the right bib
    item = t.stamps.item(0)
    qtbot.mouseClick(t.stamps.viewport(), Qt.MouseButton.LeftButton, pos=t.stamps.visualItemRect(item).center())
    assert t.selected_stamp is not None and "selected" in t.next_label.text()
    qtbot.keyClicks(t.manual, "1013")
    with qtbot.waitSignal(t.manual_saved, timeout=10_000):
        qtbot.keyClick(t.manual, Qt.Key.Key_Return)
    assert _manual_times(qtbot, window) == {"1011": tb, "1012": tc, "1013": ta}
    assert t.stamps.count() == 0


def test_space_stamps_from_anywhere_on_the_timing_screen(qtbot: Any, window: Any) -> None:
    window.tabs.setCurrentWidget(window.modes["checkin"])
    _active(qtbot, window)
    t = window.modes["timing"]
    qtbot.keyClick(window, Qt.Key.Key_2, Qt.KeyboardModifier.ControlModifier)  # Ctrl+2: Timing
    qtbot.waitUntil(lambda: window.tabs.currentWidget() is t and t.manual.hasFocus(), timeout=5000)
    qtbot.keyClick(QApplication.focusWidget(), Qt.Key.Key_Space)
    assert len(t.queue) == 1
    # a crossing row clicked: the table has the focus, Space still stamps, the bib goes to the field
    t.save_manual(window.ctx.now_ms(), "1003")
    qtbot.waitUntil(lambda: t.feed.rowCount() > 0, timeout=10_000)
    v = t.feed_view
    qtbot.mouseClick(v.viewport(), Qt.MouseButton.LeftButton, pos=v.visualRect(t.feed.index(0, 1)).center())
    v.setFocus()
    qtbot.waitUntil(lambda: v.hasFocus(), timeout=5000)
    qtbot.keyClick(v, Qt.Key.Key_Space)
    assert len(t.queue) == 2 and t.manual.hasFocus()
    v.setFocus()
    qtbot.keyClicks(v, "1004")  # the bib typed with a row focused lands in the bib field
    assert t.manual.text() == "1004" and t.manual.hasFocus()
    t.manual.clear()
    t.b_start.setFocus()  # a focused button: Space stamps, it does not press the button
    qtbot.keyClick(t.b_start, Qt.Key.Key_Space)
    assert len(t.queue) == 3 and "Select a configured reader" not in t.manual_status.text()


def test_live_crossings_are_in_time_order(qtbot: Any, window: Any) -> None:
    from ui.snapshots import FeedRow

    t = _timing(window)
    t.feed.add([FeedRow(1000, "finish", "c1", "1", "", "r", "u1"), FeedRow(3000, "finish", "c3", "3", "", "r", "u3")])
    t.feed.add([FeedRow(2000, "finish", "", "2", "", "manual", "u2")])  # a manual time typed later
    assert [f.t for f in t.feed.rows] == [3000, 2000, 1000]


def test_gun_needs_the_supervisor(qtbot: Any, window: Any) -> None:
    t = _timing(window)
    asked: list[Any] = []
    window.ctx.prompts.pin = lambda dlg: (asked.append(dlg), dlg.edit.setText("0000"), dlg._try())
    t.gun_map["10k/A"].click()
    assert asked and asked[0].error.text() == "Wrong PIN."
    assert t.guns.rowCount() == 0
    window.ctx.prompts.pin = lambda dlg: (dlg.edit.setText("1234"), dlg._try())
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
    from station.log.reads import ReadRun

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


def test_quitting_with_stamps_waiting_asks_first(qtbot: Any, window: Any) -> None:
    t = _timing(window)
    t.stamp()
    asked: list[str] = []
    window.ctx.prompts.answer = lambda q: (asked.append(q), False)[1]
    assert not window.close()  # the timer said no: nothing lost, the window stays
    assert asked and "1 finish stamp" in asked[0] and window.isVisible()
    window.ctx.prompts.answer = lambda _q: True


def test_stamps_survive_a_language_switch_and_a_restart(qtbot: Any, window: Any, station: Any,
                                                         settings: Any, win_factory: Any) -> None:
    t = _timing(window)
    t.stamp()
    t.stamp()
    times = [s.t for s in t.queue.stamps]
    window.settings.setValue("ui/language", "zh_CN")
    window.apply_settings()  # rebuilds every screen in Chinese
    t2 = window.modes["timing"]
    assert t2 is not t and [s.t for s in t2.queue.stamps] == times and t2.stamps.count() == 2
    window.settings.setValue("ui/language", "en")
    window.apply_settings()
    window.close()
    again = win_factory(qtbot, station, settings)
    try:
        t3 = again.modes["timing"]
        assert [s.t for s in t3.queue.stamps] == times and "kept from before" in t3.manual_status.text()
    finally:
        again.close()
