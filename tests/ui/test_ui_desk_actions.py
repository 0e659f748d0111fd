"""Race-day desk actions driven as a volunteer would: walk-up, bib/race change, revocation, reprint."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt

from station.checkin.tickets import write_private_key
from station.log.store import Store
from ui.demo import ticket
from ui.modes.desk_actions import ChangeDialog, ReasonDialog, WalkUpDialog


def _mode(win: Any) -> Any:
    win.tabs.setCurrentWidget(win.modes["checkin"])
    return win.modes["checkin"]


def _wedge(qtbot: Any, mode: Any, code: str) -> None:
    mode.input.setFocus()
    qtbot.keyClicks(mode.input, code)
    qtbot.keyClick(mode.input, Qt.Key.Key_Return)


def test_walk_up_registers_with_a_pool_bib_and_counts_at_once(qtbot: Any, window: Any) -> None:
    mode = _mode(window)
    qtbot.waitUntil(lambda: mode.counts.rowCount() > 0, timeout=5000)

    def fill(dlg: Any) -> bool:
        assert isinstance(dlg, WalkUpDialog)
        dlg.accept()  # empty name: refused in the dialog, which stays open
        assert "name" in dlg.error.text()
        dlg.name.setText("赵小跑")  # an input method commits text, not key clicks
        dlg.gender.setCurrentIndex(dlg.gender.findData("F"))
        dlg.birth.setText("1990-02-30")
        dlg.rw.race.setCurrentIndex(dlg.rw.race.findData("10k"))
        dlg.accept()
        assert "YYYY-MM-DD" in dlg.error.text()
        dlg.birth.setText("1990-02-28")
        dlg.accept()
        assert "wave" in dlg.error.text()  # the 10 km has two waves: choose one
        dlg.rw.wave.setCurrentIndex(dlg.rw.wave.findData("B"))
        dlg.accept()
        return dlg.result() == dlg.DialogCode.Accepted

    window.ctx.prompts.dialog = fill
    with qtbot.waitSignal(mode.action_done, timeout=10_000):
        qtbot.keyClick(mode.input, Qt.Key.Key_F2)
    assert mode.verdict.status == "ok"
    assert "9001" in mode.verdict.detail.text()  # desk-1's reserved pool starts at 9001
    assert mode.current.bib == "9001" and mode.current.wave == "B"
    assert mode.recent.rows[0].bib == "9001"
    # counters refresh with the verdict, not a second later
    row = next(r for r in mode.counts.rows if r[0] == "10 公里 10 km")
    assert row[1] == 73 and row[2] == 1


def test_change_bib_and_race_needs_the_supervisor(qtbot: Any, window: Any, plan: Any) -> None:
    mode = _mode(window)
    p = plan.participants[3]  # 10k, wave A
    with qtbot.waitSignal(mode.verdict_shown, timeout=10_000):
        _wedge(qtbot, mode, ticket(plan, p, int(time.time() * 1000)))
    assert mode.current.registration_id == p["registration_id"]

    taken = plan.participants[4]["bib"]

    def fill(dlg: Any) -> bool:
        assert isinstance(dlg, ChangeDialog)
        dlg.bib.setText(taken)
        return True

    window.ctx.prompts.dialog = fill
    asked: list[str] = []
    window.ctx.prompts.pin = lambda dlg: (asked.append(dlg.windowTitle()), dlg.edit.setText("1234"), dlg._try())
    mode.change_runner()
    qtbot.waitUntil(lambda: mode.verdict.status == "invalid", timeout=5000)
    assert asked and taken in mode.verdict.detail.text()  # bib taken: refused with who holds it

    def fill2(dlg: Any) -> bool:
        dlg.bib.setText("5999")
        dlg.rw.race.setCurrentIndex(dlg.rw.race.findData("5k"))
        dlg.reason.setText("moved to the 5 km")
        return True

    window.ctx.prompts.dialog = fill2
    window.ctx.prompts.pin = lambda dlg: (dlg.edit.setText("0000"), dlg._try())  # wrong PIN: nothing changes
    mode.change_runner()
    assert mode.current.bib == p["bib"]
    window.ctx.prompts.pin = lambda dlg: (dlg.edit.setText("1234"), dlg._try())
    with qtbot.waitSignal(mode.action_done, timeout=10_000):
        mode.change_runner()
    assert mode.current.bib == "5999" and mode.current.race == "5k" and mode.current.wave == "A"
    assert "5999" in mode.verdict.title.text()
    qtbot.waitUntil(lambda: any(r[2] == "5999" and r[0] == "5k" for r in window.modes["results"].model.all),
                    timeout=10_000)


def test_revoke_then_reprint_a_ticket(qtbot: Any, window: Any, plan: Any, tmp_path: Path) -> None:
    mode = _mode(window)
    key = tmp_path / "organizer.pem"
    write_private_key(key, plan.signer.key)
    window.settings.setValue("tickets/key", str(key))
    window.ctx.open_files = False
    p = plan.participants[8]
    old = ticket(plan, p, int(time.time() * 1000))
    mode.search(p["bib"])
    qtbot.waitUntil(lambda: mode.search_list.count() >= 1, timeout=5000)
    mode.search_list.setCurrentRow(0)
    assert mode.current.registration_id == p["registration_id"] and mode.b_revoke.isEnabled()

    window.ctx.prompts.dialog = lambda dlg: (isinstance(dlg, ReasonDialog) and dlg.reason.setText("leaked")) or True
    with qtbot.waitSignal(mode.action_done, timeout=10_000):
        mode.b_revoke.click()
    with qtbot.waitSignal(mode.verdict_shown, timeout=10_000) as sig:
        _wedge(qtbot, mode, old)
    assert sig.args[0].status == "invalid" and sig.args[0].problem == "revoked"

    out = tmp_path / "ticket.pdf"
    with qtbot.waitSignal(mode.action_done, timeout=20_000):
        mode.reprint_ticket(str(out))
    assert out.exists() and out.read_bytes().startswith(b"%PDF")
    assert str(out) in mode.verdict.detail.text()
    with qtbot.waitSignal(mode.verdict_shown, timeout=10_000) as sig:
        mode.scan(mode.last_ticket)  # the reprinted ticket works
    assert sig.args[0].status == "ok"
    data_dir = window.client.worker.data_dir
    window.close()
    # the new ticket (signed at the desk) is in the log's revocation window: it checks in fine
    with Store(data_dir) as st:
        kinds = [e.payload.get("reason") for e in st.entries(kinds=["ticket_revoked"])]
    assert "leaked" in kinds and "reprinted at the desk" in kinds


def test_reprint_without_a_key_says_what_to_do(qtbot: Any, window: Any, plan: Any) -> None:
    mode = _mode(window)
    with qtbot.waitSignal(mode.verdict_shown, timeout=10_000):
        _wedge(qtbot, mode, ticket(plan, plan.participants[2], int(time.time() * 1000)))
    mode.reprint_ticket("/nonexistent/x.pdf")
    assert mode.verdict.status == "invalid" and "signing key" in mode.verdict.detail.text()


def test_clicking_a_recent_scan_selects_that_runner(qtbot: Any, window: Any, plan: Any) -> None:
    mode = _mode(window)
    first, second = plan.participants[10], plan.participants[11]
    for p in (first, second):
        _wedge(qtbot, mode, ticket(plan, p, int(time.time() * 1000)))
        qtbot.waitUntil(lambda p=p: mode.current is not None and mode.current.bib == p["bib"], timeout=10_000)
    # the older scan is the second row; a click makes it the runner the desk actions act on
    idx = mode.recent.index(1, 0)
    rect = mode.recent_view.visualRect(idx)
    qtbot.mouseClick(mode.recent_view.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert mode.current.bib == first["bib"]
    assert first["bib"] in mode.current_label.text()


def test_walk_up_is_off_with_the_reason_at_a_desk_without_a_bib_pool(qtbot: Any, station: Path, settings: Any,
                                                                       win_factory: Any) -> None:
    """desk-9 has no reserved walk-up bibs: F2 is disabled and its tooltip says why, in Chinese."""
    settings.setValue("station/desk", "desk-9")
    win = win_factory(qtbot, station, settings, lang="zh_CN")
    try:
        mode = _mode(win)
        assert not mode.b_walkup.isEnabled()
        tip = mode.b_walkup.toolTip()
        assert "desk-9" in tip and "现场报名号码" in tip and "walk-up" not in tip
        win.ctx.prompts.dialog = lambda _dlg: pytest.fail("no form for a desk that cannot register walk-ups")
        qtbot.keyClick(mode.input, Qt.Key.Key_F2)
        assert mode.verdict.status == "invalid" and "desk-9" in mode.verdict.detail.text()
    finally:
        win.close()
        win.language_obj.set("en")


def test_a_refused_walk_up_keeps_the_filled_form(qtbot: Any, station: Path, settings: Any,
                                                 win_factory: Any) -> None:
    settings.setValue("station/desk", "desk-9")
    win = win_factory(qtbot, station, settings)
    try:
        mode = _mode(win)
        mode.b_walkup.setEnabled(True)  # as if the pool was removed after the screen last heard
        seen: list[tuple[str, str]] = []

        def fill(dlg: Any) -> bool:
            seen.append((dlg.name.text(), dlg.error.text()))
            if len(seen) > 1:
                return False  # the volunteer cancels: the form stays for the next F2
            dlg.name.setText("Zhao Xiaopao")
            dlg.rw.race.setCurrentIndex(dlg.rw.race.findData("5k"))
            dlg.accept()
            return dlg.result() == dlg.DialogCode.Accepted

        win.ctx.prompts.dialog = fill
        mode.walk_up()
        qtbot.waitUntil(lambda: len(seen) == 2, timeout=10_000)
        assert seen[1][0] == "Zhao Xiaopao" and "no walk-up bib pool" in seen[1][1]
        assert mode.verdict.status == "invalid"
        assert mode.walkup_form is not None and mode.walkup_form.name.text() == "Zhao Xiaopao"
    finally:
        win.close()
