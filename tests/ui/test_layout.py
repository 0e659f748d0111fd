"""The station fits a 1366×768 laptop (the most common timing laptop), taskbar included."""

from __future__ import annotations

from typing import Any

from PySide6.QtWidgets import QApplication


def _rows_visible(view: Any) -> float:
    return view.viewport().height() / max(1, view.verticalHeader().defaultSectionSize())


def test_the_window_fits_1366x700_and_tables_show_several_rows(qtbot: Any, window: Any) -> None:
    hint = window.minimumSizeHint()
    assert hint.width() <= 1366 and hint.height() <= 700, hint
    window.resize(1366, 700)
    t = window.modes["timing"]
    window.tabs.setCurrentWidget(t)
    QApplication.processEvents()
    assert window.height() <= 700
    assert _rows_visible(t.feed_view) >= 3  # live crossings
    assert _rows_visible(t.readers_view) >= 1.5
    ck = window.modes["checkin"]
    window.tabs.setCurrentWidget(ck)
    QApplication.processEvents()
    assert _rows_visible(ck.recent_view) >= 3
    r = window.modes["results"]
    window.tabs.setCurrentWidget(r)
    QApplication.processEvents()
    assert _rows_visible(r.view) >= 10


def test_first_start_points_to_setup_and_empty_tables_say_what_fills_them(
        qtbot: Any, tmp_path: Any, settings: Any, win_factory: Any) -> None:
    win = win_factory(qtbot, tmp_path / "empty-station", settings)
    try:
        qtbot.waitUntil(lambda: win.welcome.isVisible(), timeout=5000)
        win.welcome_button.click()
        assert win.tabs.currentWidget() is win.modes["setup"]
        t = win.modes["timing"]
        assert t.feed.rowCount() == 0 and "readers" in t.feed_view.empty_text
        assert "Setup" in t.readers_view.empty_text and win.modes["checkin"].recent_view.empty_text
        assert "Setup" in win.modes["results"].view.empty_text
        win.tabs.setCurrentWidget(t)
        t.feed_view.grab()  # paints the hint over the empty table (no crash, nothing drawn off the view)
    finally:
        win.close()


def test_no_welcome_once_an_event_is_loaded(window: Any) -> None:
    assert not window.welcome.isVisible()
