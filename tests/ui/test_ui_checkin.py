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


def _type(qtbot: Any, mode: Any, text: str) -> None:
    """Typed (or a bib from a barcode scanner: qtbot's keys arrive as fast as a scanner's) + Enter."""
    mode.input.setFocus()
    mode.input.selectAll()
    if text.isascii():
        qtbot.keyClicks(mode.input, text)
    else:  # an input method delivers Chinese text as key events carrying text
        for ch in text:
            QApplication.sendEvent(mode.input, QKeyEvent(QEvent.Type.KeyPress, 0, Qt.KeyboardModifier.NoModifier, ch))
    qtbot.keyClick(mode.input, Qt.Key.Key_Return)


def test_a_typed_bib_checks_in_with_the_id_check_in_two_keys(qtbot: Any, window: Any, plan: Any) -> None:
    """A bib from a barcode scanner (a fast burst) is looked up, not refused as INVALID TICKET; a unique
    bib goes straight to the inline ID check, and Enter again checks the runner in."""
    mode = _mode(window)
    p = plan.participants[7]
    scans: list[str] = []
    mode.input.scanned.connect(scans.append)
    _type(qtbot, mode, p["bib"])
    qtbot.waitUntil(lambda: mode.id_check.isVisible(), timeout=5000)
    assert scans == [] and mode.verdict.status != "invalid"
    assert mode.pending.bib == p["bib"] and p["name"] in mode.verdict.who.text()
    assert mode.input.text() == p["bib"]  # what was typed stays
    assert mode.current.bib == p["bib"]
    with qtbot.waitSignal(mode.verdict_shown, timeout=10_000) as sig:
        qtbot.keyClick(mode.input, Qt.Key.Key_Return)  # "ID checked"
    assert sig.args[0].status == "ok" and sig.args[0].participant.bib == p["bib"]
    assert not mode.id_check.isVisible() and mode.input.text() == ""
    # the same bib again: already checked in, said at once (no ID check)
    _type(qtbot, mode, p["bib"])
    qtbot.waitUntil(lambda: mode.verdict.status == "already", timeout=5000)
    assert not mode.id_check.isVisible() and "desk-1" in mode.verdict.detail.text()


def test_search_results_are_chosen_with_the_keyboard(qtbot: Any, window: Any, plan: Any) -> None:
    mode = _mode(window)
    from collections import Counter

    surname = Counter(q["name"][0] for q in plan.participants if not q["name"].isascii()).most_common(1)[0][0]
    _type(qtbot, mode, surname)
    qtbot.waitUntil(lambda: mode.search_list.isVisible() and mode.search_list.count() >= 2, timeout=5000)
    assert "Up/Down" in mode.verdict.detail.text() and not mode.id_check.isVisible()
    hits = [mode.search_list.item(i).data(Qt.ItemDataRole.UserRole) for i in range(mode.search_list.count())]
    text = mode.search_list.item(1).text()
    h = hits[1].participant
    assert h.club in text and h.birth_year in text and h.phone_masked in text and "·  ·" not in text
    qtbot.keyClick(mode.input, Qt.Key.Key_Down)
    assert mode.search_list.currentRow() == 1 and mode.current.bib == h.bib
    qtbot.keyClick(mode.input, Qt.Key.Key_Return)  # pick: the ID check for that runner
    assert mode.id_check.isVisible() and mode.pending.bib == h.bib
    qtbot.keyClick(mode.input, Qt.Key.Key_Escape)  # cancel: the list is still there
    assert not mode.id_check.isVisible() and mode.search_list.isVisible()
    qtbot.keyClick(mode.input, Qt.Key.Key_Return)
    with qtbot.waitSignal(mode.verdict_shown, timeout=10_000) as sig:
        qtbot.keyClick(mode.input, Qt.Key.Key_Return)
    assert sig.args[0].status == "ok" and sig.args[0].participant.bib == h.bib


def test_a_runner_without_a_phone_shows_no_empty_field(window: Any) -> None:
    from station.checkin.state import ParticipantView, SearchResult

    mode = window.modes["checkin"]
    pv = ParticipantView("R1", "1001", "王芳", "F", "10k", "A", (), "", "", "", "list", "")
    assert mode.hit_text(SearchResult(pv, "bib", None)) == "1001  王芳  ·  10k A  ·  not checked in"


def test_no_stale_runner_after_a_failed_lookup_or_an_invalid_scan(qtbot: Any, window: Any, plan: Any) -> None:
    mode = _mode(window)
    p = plan.participants[4]
    with qtbot.waitSignal(mode.verdict_shown, timeout=10_000):
        _wedge(qtbot, mode, ticket(plan, p, int(time.time() * 1000)))
    assert mode.current.bib == p["bib"] and mode.b_change.isEnabled()
    with qtbot.waitSignal(mode.verdict_shown, timeout=10_000) as sig:
        _wedge(qtbot, mode, "eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJlLWZha2UtZmFrZQ")
    assert sig.args[0].status == "invalid"
    assert mode.current is None and not mode.b_change.isEnabled() and not mode.b_reprint.isEnabled()
    opened: list[Any] = []
    window.ctx.prompts.dialog = lambda dlg: opened.append(dlg) or True
    mode.change_runner()  # F3
    mode.revoke_tickets()
    assert opened == []
    # a search naming the runner, then one that finds nobody
    mode.search(p["bib"])
    qtbot.waitUntil(lambda: mode.current is not None and mode.current.bib == p["bib"], timeout=5000)
    _type(qtbot, mode, "Z9999")  # bib-like: looked up, not refused as a ticket
    qtbot.waitUntil(lambda: "No runner found" in mode.verdict.title.text(), timeout=5000)
    assert mode.current is None and not mode.b_revoke.isEnabled() and not mode.search_list.isVisible()


def test_pin_confirmations_name_the_runner(qtbot: Any, window: Any, plan: Any) -> None:
    mode = _mode(window)
    p = plan.participants[6]
    with qtbot.waitSignal(mode.verdict_shown, timeout=10_000):
        _wedge(qtbot, mode, ticket(plan, p, int(time.time() * 1000)))
    asked: list[str] = []
    window.ctx.prompts.pin = lambda dlg: (asked.append(dlg.action), dlg.reject())
    window.ctx.prompts.dialog = lambda dlg: True
    window.settings.setValue("tickets/key", "/nonexistent/key.pem")
    mode.revoke_tickets()
    mode.reprint_ticket("/nonexistent/x.pdf")
    assert len(asked) == 2 and all(p["bib"] in a and p["name"] in a for a in asked)


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


def test_a_bib_barcode_seen_by_the_camera_is_looked_up_once(qtbot: Any, window: Any, plan: Any) -> None:
    mode = _mode(window)
    p = plan.participants[9]
    mode._camera_scan(p["bib"], None)
    qtbot.waitUntil(lambda: mode.id_check.isVisible(), timeout=5000)
    mode._camera_scan(p["bib"], None)  # seen again: never taken as "ID checked" (that would clear it)
    assert mode.pending is not None and mode.pending.bib == p["bib"] and mode.id_check.isVisible()
    assert mode.recent.rowCount() == 0 and mode.verdict.status != "invalid"
