"""Check-in driven as a volunteer would: wedge scans, search, camera frames, undo, chip hand-out."""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import qrcode
from PySide6.QtCore import QEvent, Qt
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QApplication

from drivers.camera import IterSource, phone_frame
from ui.demo import ticket


def _mode(win: Any) -> Any:
    win.tabs.setCurrentWidget(win.modes["checkin"])
    return win.modes["checkin"]


def _wedge(qtbot: Any, mode: Any, code: str) -> None:
    """A keyboard-wedge scanner: a burst of keys ending with Enter."""
    mode.input.setFocus()
    qtbot.keyClicks(mode.input, code)
    qtbot.keyClick(mode.input, Qt.Key.Key_Return)


def test_wedge_scan_verdicts_and_sounds(qtbot: Any, window: Any, plan: Any) -> None:
    mode = _mode(window)
    played: list[str] = []
    window.ctx.sounds.played.connect(played.append)
    p = plan.participants[3]
    code = ticket(plan, p, int(time.time() * 1000))
    with qtbot.waitSignal(mode.verdict_shown, timeout=10_000) as sig:
        _wedge(qtbot, mode, code)
    assert sig.args[0].status == "ok"
    assert mode.verdict.status == "ok"
    assert p["name"] in mode.verdict.who.text() and p["bib"] in mode.verdict.who.text()
    assert "Offline since" in mode.verdict.offline.text()  # this desk has never synced
    assert played[-1] == "ok"
    with qtbot.waitSignal(mode.verdict_shown, timeout=10_000) as sig:
        _wedge(qtbot, mode, code)
    assert sig.args[0].status == "already"
    assert "desk-1" in mode.verdict.detail.text()
    assert played[-1] == "already"
    with qtbot.waitSignal(mode.verdict_shown, timeout=10_000) as sig:
        _wedge(qtbot, mode, "eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJlLWZha2UtZmFrZQ")
    assert sig.args[0].status == "invalid"
    assert mode.verdict.status == "invalid" and played[-1] == "invalid"
    stranger = dict(p, registration_id="R99999", bib="9999")
    with qtbot.waitSignal(mode.verdict_shown, timeout=10_000) as sig:
        _wedge(qtbot, mode, ticket(plan, stranger, int(time.time() * 1000)))
    assert sig.args[0].status == "unknown" and played[-1] == "unknown"
    assert mode.recent.rowCount() == 4
    qtbot.waitUntil(lambda: mode.total.text().startswith("Total: 1 / 120"), timeout=5000)


def test_undo_and_chip_handout(qtbot: Any, window: Any, plan: Any) -> None:
    mode = _mode(window)
    mode.handout.setChecked(True)
    p = plan.participants[5]
    with qtbot.waitSignal(mode.verdict_shown, timeout=10_000):
        _wedge(qtbot, mode, ticket(plan, p, int(time.time() * 1000)))
    assert mode.chip_box.isVisible()
    qtbot.keyClicks(mode.chip_input, "E200CHIP1")
    qtbot.keyClick(mode.chip_input, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: not mode.chip_box.isVisible(), timeout=5000)
    assert "E200CHIP1" in mode.verdict.detail.text()
    mode.undo_last()
    qtbot.waitUntil(lambda: mode.recent.rows[0].undone, timeout=5000)
    assert mode.verdict.title.text() == "Check-in undone"


def test_search_then_check_in_without_ticket(qtbot: Any, window: Any, plan: Any) -> None:
    mode = _mode(window)
    p = plan.participants[7]
    mode.input.setText(p["bib"])
    mode.input.detector.reset()
    mode.search(p["bib"])
    qtbot.waitUntil(lambda: mode.search_list.count() >= 1, timeout=5000)
    with qtbot.waitSignal(mode.verdict_shown, timeout=10_000) as sig:
        mode._search_pick(mode.search_list.item(0))
    assert sig.args[0].status == "ok"


def test_typing_is_a_search_not_a_scan(qtbot: Any, window: Any) -> None:
    mode = _mode(window)
    got: list[str] = []
    mode.input.query.connect(got.append)
    mode.input.setFocus()
    for ch in "王芳":  # an input method delivers Chinese text as key events carrying text
        QApplication.sendEvent(mode.input, QKeyEvent(QEvent.Type.KeyPress, 0, Qt.KeyboardModifier.NoModifier, ch))
    qtbot.keyClick(mode.input, Qt.Key.Key_Return)  # two characters: never a scan burst
    assert got == ["王芳"]
    qtbot.waitUntil(lambda: mode.search_list.isVisible() or "No runner" in mode.verdict.title.text(),
                    timeout=5000)


def test_camera_frames_give_a_verdict_and_an_outline(qtbot: Any, window: Any, plan: Any) -> None:
    mode = _mode(window)
    code = ticket(plan, plan.participants[9], int(time.time() * 1000))
    qr = qrcode.QRCode(border=4, box_size=6)
    qr.add_data(code)
    qr.make()
    img = np.array(qr.make_image().convert("L"))
    blank = np.full((360, 640, 3), 90, np.uint8)
    frames = [blank] * 3 + [phone_frame(img, size=(640, 360), code_px=300, seed=i) for i in range(6)]
    with qtbot.waitSignal(mode.verdict_shown, timeout=20_000) as sig:
        mode.toggle_camera(IterSource(frames, fps=30))
    assert sig.args[0].status == "ok"
    qtbot.waitUntil(lambda: mode.camera_view.image is not None, timeout=5000)
    assert mode.camera_view.outline  # the detected code is outlined
    mode.camera.stop()
