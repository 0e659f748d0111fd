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
