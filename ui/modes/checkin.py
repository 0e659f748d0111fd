"""Check-in: one always-focused input (keyboard-wedge scans and name/bib search), the camera, a
full-width verdict panel, recent scans with undo, the optional chip hand-out step, counts per race.

Why one input: volunteers who never saw the station must run a desk after one minute. Whatever they
do — pull the trigger of a scanner, type a bib, type part of a name — goes into the same box; a fast
burst ending with Enter is a scan (the wedge detector of `drivers.scanner`), anything else a search —
and so is a short code that cannot be a ticket (a bib from a barcode: `station.checkin.codes`). A typed bib
that names exactly one runner goes straight to the ID check (a runner without a ticket), which is a
panel under the input, not a dialog: Enter confirms, Esc cancels, what was typed stays. Search results
are chosen with Up/Down and Enter without leaving the input. The runner the desk actions (F3, F4,
Revoke) act on is always the one on screen: a failed lookup or an invalid scan clears it.
The verdict itself comes from `station.checkin.CheckinDesk` on the domain worker.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QBrush, QColor, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QApplication,
    QCheckBox,
    QComboBox,
    QGridLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from station.checkin.codes import desk_action, exact_bib_hit
from ui.assets import button_icon
from ui.camera import CameraBridge, CameraView
from ui.context import UiContext, error_text
from ui.i18n import tr
from ui.models import CountsModel, RecentScansModel, ScanRow
from ui.modes import desk_actions as acts
from ui.modes.checkin_actions import DeskActions
from ui.modes.checkin_panels import VERDICT_STYLE, IdCheckPanel, ScanInput, VerdictPanel, reason_text
from ui.snapshots import Counts
from ui.views import HintTableView


def desk_scan(d: Any, code: str, method: str) -> Any:
    """Worker job: one scan (the domain worker sends the desk's counters right after it)."""
    return d.desk.scan(code, method=method)


class CheckinMode(DeskActions):
    verdict_shown = Signal(object)
    action_done = Signal(str)  # "walk_up", "change", "revoke", "reprint"

    def __init__(self, ctx: UiContext) -> None:
        super().__init__()
        self.ctx = ctx
        self.camera = CameraBridge(self)
        self.last_ok_reg: str | None = None
        self.current = None  # ParticipantView of the runner the action buttons act on
        self.pending: Any = None  # the runner waiting for the ID check (ParticipantView)
        self.pending_query = ""  # what was typed to find them (Enter on it again confirms)
        self.last_query = ""  # the search the list shows (Enter on it again picks the highlighted hit)
        self.walkup_form: acts.WalkUpDialog | None = None  # a filled walk-up form kept until it is saved
        outer = QVBoxLayout(self)
        outer.addLayout(self._build_top())
        self._build_verdict(outer)
        outer.addLayout(self._build_actions())
        outer.addWidget(self._build_chip_step())
        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(self._build_recent())
        split.addWidget(self._build_counts())
        split.setSizes([600, 500])
        outer.addWidget(split, 3)
        self._set_current(None)
        self._connect()

    def _build_top(self) -> QHBoxLayout:
        """The scan input, the camera button and the chip hand-out switch."""
        top = QHBoxLayout()
        self.input = ScanInput()
        top.addWidget(self.input, 4)
        self.cam_button = button_icon(QPushButton(tr("Start camera")), "camera")
        self.cam_button.setAccessibleName(tr("Start or stop the camera"))
        self.cam_button.setToolTip(tr("Start or stop the camera (F6)"))
        self.cam_button.clicked.connect(self.toggle_camera)
        top.addWidget(self.cam_button)
        self.handout = QCheckBox(tr("Hand out chips"))
        self.handout.setAccessibleName(tr("Hand out chips"))
        self.handout.setChecked(bool(self.ctx.settings.value("checkin/handout", False, type=bool)))
        self.handout.toggled.connect(lambda on: self.ctx.settings.setValue("checkin/handout", on))
        top.addWidget(self.handout)
        return top

    def _build_verdict(self, outer: QVBoxLayout) -> None:
        """The verdict panel with the inline ID check in it."""
        self.verdict = VerdictPanel()
        outer.addWidget(self.verdict, 3)
        self.id_check = IdCheckPanel()
        self.id_check.ok.clicked.connect(self.confirm_no_ticket)
        self.id_check.cancel.clicked.connect(self.cancel_id_check)
        reason_edit = self.id_check.reason.lineEdit()
        if reason_edit is not None:
            reason_edit.returnPressed.connect(self.confirm_no_ticket)
        self.verdict.slot.addWidget(self.id_check)

    def _build_actions(self) -> QHBoxLayout:
        """Race-day actions: on the runner last shown (scan or search pick), or a new one (walk-up)."""
        acts_row = QHBoxLayout()
        self.b_walkup = QPushButton(tr("Walk-up registration (F2)"))
        self.b_change = QPushButton(tr("Change bib / race (F3)"))
        self.b_reprint = QPushButton(tr("Reprint ticket (F4)"))
        self.b_revoke = QPushButton(tr("Revoke tickets"))
        for b, fn in ((self.b_walkup, self.walk_up), (self.b_change, self.change_runner),
                      (self.b_reprint, self.reprint_ticket), (self.b_revoke, self.revoke_tickets)):
            b.setAccessibleName(b.text())
            b.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # the scan input keeps the focus
            b.clicked.connect(lambda _=False, f=fn: f())
            acts_row.addWidget(b)
        self.current_label = QLabel("")
        self.current_label.setObjectName("hint")
        self.current_label.setAccessibleName(tr("Selected runner"))
        acts_row.addWidget(self.current_label, 1)
        return acts_row

    def _build_chip_step(self) -> QWidget:
        """The chip hand-out step shown after an OK when "Hand out chips" is ticked."""
        chip_row = QHBoxLayout()
        self.chip_label = QLabel(tr("Chip for this runner:"))
        self.chip_input = QLineEdit()
        self.chip_input.setAccessibleName(tr("Chip id"))
        self.chip_input.setPlaceholderText(tr("Scan the chip, Enter to save, Esc to skip"))
        self.chip_input.returnPressed.connect(self.save_chip)
        chip_row.addWidget(self.chip_label)
        chip_row.addWidget(self.chip_input, 1)
        self.chip_box = QWidget()
        self.chip_box.setLayout(chip_row)
        self.chip_box.hide()
        return self.chip_box

    def _build_recent(self) -> QWidget:
        """Left: the search results (when a search is open) over this desk's recent scans."""
        left = QWidget()
        ll = QVBoxLayout(left)
        ll.setContentsMargins(0, 0, 0, 0)
        self.search_list = QListWidget()
        self.search_list.setAccessibleName(tr("Search results"))
        self.search_list.itemActivated.connect(self._search_pick)
        self.search_list.currentItemChanged.connect(self._search_current)
        self.search_list.hide()
        ll.addWidget(self.search_list)
        rec_head = QHBoxLayout()
        rec_head.addWidget(QLabel(tr("Recent scans")))
        rec_head.addStretch(1)
        self.undo_button = button_icon(QPushButton(tr("Undo last check-in")), "undo")
        self.undo_button.setToolTip(tr("Undo this desk's last check-in (Ctrl+Z)"))
        self.undo_button.setAccessibleName(tr("Undo last check-in"))
        self.undo_button.clicked.connect(self.undo_last)
        rec_head.addWidget(self.undo_button)
        ll.addLayout(rec_head)
        self.recent = RecentScansModel(self.ctx.clock, self)
        self.recent_view = HintTableView(tr("This desk's scans and check-ins appear here."))
        self.recent_view.setAccessibleName(tr("Recent scans"))
        self.recent_view.setModel(self.recent)
        self.recent_view.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.recent_view.verticalHeader().hide()
        self.recent_view.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.recent_view.horizontalHeader().setStretchLastSection(True)
        self.recent_view.horizontalHeader().setSectionResizeMode(5, QHeaderView.ResizeMode.Stretch)  # detail
        self.recent_view.clicked.connect(self._recent_clicked)
        ll.addWidget(self.recent_view)
        return left

    def _build_counts(self) -> QWidget:
        """Right: the camera picture over the check-in counts per race."""
        right = QWidget()
        rl = QVBoxLayout(right)
        rl.setContentsMargins(0, 0, 0, 0)
        self.camera_view = CameraView()
        rl.addWidget(self.camera_view, 2)
        self.counts = CountsModel(self)
        self.counts_view = HintTableView(tr("Load the event and import the participants in Setup."))
        self.counts_view.setAccessibleName(tr("Checked in per race"))
        self.counts_view.setModel(self.counts)
        self.counts_view.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.counts_view.verticalHeader().hide()
        self.counts_view.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.total = QLabel()
        grid = QGridLayout()
        grid.addWidget(QLabel(tr("Checked in per race")), 0, 0)
        grid.addWidget(self.total, 0, 1, Qt.AlignmentFlag.AlignRight)
        rl.addLayout(grid)
        self.counts_view.setMinimumHeight(self.counts_view.horizontalHeader().sizeHint().height()
                                          + 2 * self.counts_view.verticalHeader().defaultSectionSize() + 6)
        rl.addWidget(self.counts_view, 1)
        return right

    def _connect(self) -> None:
        """Signals and the screen's shortcuts; the scan input takes the focus back after a stray click."""
        self.input.scanned.connect(lambda code: self.scan(code, "scan"))
        self.input.query.connect(self.search)
        self.input.navigate.connect(self._navigate)
        self.camera.frame.connect(self.camera_view.show_frame)
        self.camera.scanned.connect(self._camera_scan)
        self.camera.error.connect(self.camera_view.set_message)
        keys: tuple[tuple[str, Callable[[], Any]], ...] = (
            ("Ctrl+Z", self.undo_last), ("F6", self.toggle_camera), ("F2", self.walk_up),
            ("F3", self.change_runner), ("F4", self.reprint_ticket), ("Escape", self._escape))
        for key, fn in keys:
            QShortcut(QKeySequence(key), self).activated.connect(lambda f=fn: f())
        app = QApplication.instance()
        if isinstance(app, QApplication):
            app.focusChanged.connect(self._focus_changed)
        self._refocus = QTimer(self)
        self._refocus.setSingleShot(True)
        self._refocus.timeout.connect(self.focus_input)

    # ------------------------------------------------------------------ focus
    def focus_input(self) -> None:
        if self.isVisible() and not self.chip_box.isVisible() and QApplication.activeModalWidget() is None:
            self.input.setFocus()

    def _focus_changed(self, _old: Any, new: Any) -> None:
        """Keep the input focused: a stray click elsewhere on this screen returns focus within a second."""
        if not self.isVisible() or new is self.input or new is self.chip_input:
            return
        if new is None or (isinstance(new, QWidget) and self.isAncestorOf(new)
                           and not isinstance(new, (QLineEdit, QComboBox, QListWidget))):
            self._refocus.start(800)

    def showEvent(self, ev: Any) -> None:
        super().showEvent(ev)
        QTimer.singleShot(0, self.focus_input)

    # ------------------------------------------------------------------ scanning
    def scan(self, code: str, method: str = "scan") -> None:
        self.search_list.hide()
        self.cancel_id_check()
        self.ctx.client.call(lambda d: desk_scan(d, code, method), self.show_verdict, self._lookup_error)

    def _camera_scan(self, code: str, points: Any) -> None:
        self.camera_view.show_code(points)
        if desk_action(code, burst=True) == "search":  # a bib's barcode: looked up, never "invalid"
            if code not in (self.pending_query, self.last_query):  # the camera sees it again and again:
                self.input.setText(code)  # never an "Enter again" (that is the volunteer's ID check)
                self.input.selectAll()
                self.lookup(code)
            return
        self.scan(code, "camera")

    def show_verdict(self, v: Any) -> None:
        self.verdict.show_verdict(v, self.ctx.offline_text())
        self.ctx.sounds.play(v.status)
        p = v.participant
        name = p.name if p else ""
        race = p.race if p else str(v.claims.get("race") or "")
        if v.status == "already" and v.previous is not None:
            detail = tr("Checked in at {t} at desk {desk} by {op}").format(
                t=v.previous.at_text, desk=v.previous.desk, op=v.previous.operator or "—")
        elif v.status == "invalid":
            detail = reason_text(v)
        else:
            detail = " ".join(v.differences)
        # The desk actions act on the runner of this verdict, or on nobody (an invalid code naming no
        # runner of ours): never on the runner of an earlier scan.
        self._set_current(p)
        uuid = v.entry_uuid if v.status in ("ok", "unknown") else ""
        self.recent.add(ScanRow(self.ctx.now_ms(), v.status, v.bib, name, race, detail, uuid, False, p))
        self.last_ok_reg = (p.registration_id if p else str(v.claims.get("sub") or "")) \
            if v.status in ("ok", "unknown") else None
        if self.last_ok_reg and self.handout.isChecked():
            self.chip_box.show()
            self.chip_input.clear()
            self.chip_input.setFocus()
        self.verdict_shown.emit(v)

    def _error(self, e: Any) -> None:
        self.verdict.show_message("invalid", tr("Cannot check in"), error_text(e))
        self.ctx.sounds.play("invalid")

    def _lookup_error(self, e: Any) -> None:
        """A scan or search that failed names nobody: the desk actions must not act on an earlier runner."""
        self._set_current(None)
        self._error(e)

    # ------------------------------------------------------------------ search
    def search(self, text: str) -> None:
        """Enter on typed text: confirm the ID check or pick the highlighted hit when the text is the
        one that found them, else look it up (bib, name, phone, registration id)."""
        if self.pending is not None and text == self.pending_query:
            self.confirm_no_ticket()
            return
        item = self.search_list.currentItem()
        if self.search_list.isVisible() and text == self.last_query and item is not None:
            self._search_pick(item)
            return
        self.lookup(text)

    def lookup(self, text: str) -> None:
        """Search the desk's list (bib, name, phone, registration id) and show the hits."""
        self.cancel_id_check()
        self._set_current(None)  # until the lookup names someone
        self.ctx.client.call(lambda d: d.desk.search(text, 12), lambda hits: self._show_hits(text, hits),
                             self._lookup_error)

    @staticmethod
    def hit_text(h: Any) -> str:
        """One search result: enough to tell namesakes apart (club, birth year, masked phone)."""
        p = h.participant
        state = tr("checked in") if h.checked_in else tr("not checked in")
        parts = [f"{p.race} {p.wave}".strip(), p.club, p.birth_year, p.phone_masked, state]
        return f"{p.bib}  {p.name}  ·  " + "  ·  ".join(x for x in parts if x)

    def _show_hits(self, text: str, hits: list[Any]) -> None:
        self.search_list.clear()
        self.last_query = text
        if not hits:
            self.search_list.hide()
            self._set_current(None)
            self.verdict.show_message("idle", tr("No runner found for “{q}”").format(q=text),
                                      tr("Check the bib or the spelling. A runner not on the list: walk-up "
                                         "registration (F2)."))
            return
        for h in hits:
            it = QListWidgetItem(self.hit_text(h))
            it.setData(Qt.ItemDataRole.UserRole, h)
            if h.checked_in:
                it.setForeground(QBrush(QColor("#80868b")))
            self.search_list.addItem(it)
        rows = min(len(hits), 5)
        self.search_list.setFixedHeight(rows * max(self.search_list.sizeHintForRow(0), 1)
                                        + 2 * self.search_list.frameWidth() + 2)
        self.search_list.show()
        hit = exact_bib_hit(text, hits)
        self.search_list.setCurrentRow(hits.index(hit) if hit is not None else 0)
        if hit is not None:  # a typed bib naming one runner: straight to the verdict / ID check
            self._search_pick(self.search_list.currentItem())
            return
        self.verdict.show_message("idle", tr("{n} runner(s) found — pick one").format(n=len(hits)),
                                  tr("Up/Down to choose, Enter to check in without a ticket (ID check), "
                                     "Esc to close the list."))

    def _navigate(self, step: int) -> None:
        if not self.search_list.isVisible() or not self.search_list.count():
            return
        self.cancel_id_check()
        row = max(0, min(self.search_list.count() - 1, self.search_list.currentRow() + step))
        self.search_list.setCurrentRow(row)
        self.input.setText(self.last_query)  # Enter picks the highlighted runner
        self.input.selectAll()

    def _search_pick(self, item: QListWidgetItem | None) -> None:
        """A runner chosen from the search: already checked in → say so; else the inline ID check."""
        if item is None:
            return
        h = item.data(Qt.ItemDataRole.UserRole)
        p = h.participant
        self._set_current(p)
        if h.checked_in is not None:
            rec = h.checked_in
            self.cancel_id_check()
            self.verdict.show_message("already", tr(VERDICT_STYLE["already"][2]), "\n".join([
                f"{p.name} · {tr('Bib')} {p.bib} · {p.race}",
                tr("Checked in at {t} at desk {desk} by {op}").format(
                    t=self.ctx.clock.hms(rec.recorded_at)[:8], desk=rec.desk, op=rec.operator or "—")]))
            self.ctx.sounds.play("already")
            return
        self.pending = p
        self.pending_query = self.input.text().strip() or self.last_query
        wave = f" {p.wave}" if p.wave else ""
        self.verdict.show_message("idle", tr("No ticket: check the runner's ID"),
                                  tr("Enter = ID checked, check in · Esc = cancel"),
                                  who=f"{p.name} · {tr('Bib')} {p.bib} · {p.race}{wave}")
        self.id_check.show()
        self.focus_input()

    def cancel_id_check(self) -> None:
        self.pending = None
        self.pending_query = ""
        self.id_check.hide()

    def confirm_no_ticket(self) -> None:
        p = self.pending
        if p is None:
            return
        reason = self.id_check.reason.currentText().strip() or tr("No ticket")
        reg = p.registration_id
        self.cancel_id_check()
        self.search_list.hide()
        self.last_query = ""
        self.input.clear()

        def job(d: Any) -> Any:
            return d.desk.checkin_by_search(reg, reason=reason, id_checked=True)

        self.ctx.client.call(job, self.show_verdict, self._lookup_error)

    # ------------------------------------------------------------------ undo, chips, camera
    def undo_last(self) -> None:
        def done(rec: Any) -> None:
            self.recent.mark_undone(rec.uuid)
            self.verdict.show_message("idle", tr("Check-in undone"), f"{tr('Bib')} {rec.bib}")

        def job(d: Any) -> Any:
            return d.desk.undo_last()

        self.ctx.client.call(job, done, self._error)

    def save_chip(self) -> None:
        chip, reg = self.chip_input.text().strip(), self.last_ok_reg
        if not chip or not reg:
            return

        def done(_: Any) -> None:
            self.chip_box.hide()
            self.verdict.detail.setText(tr("Chip {chip} handed out").format(chip=chip))
            self.verdict._fit()
            self.focus_input()

        self.ctx.client.call(lambda d: d.desk.assign_chip(reg, chip), done, self._error)

    def _escape(self) -> None:
        """Esc closes one thing at a time: the ID check, then the search list (the chip step too)."""
        if self.pending is not None:
            self.cancel_id_check()
            self.verdict.show_message("idle", tr(VERDICT_STYLE["idle"][2]))
        else:
            self.search_list.hide()
            self.last_query = ""
        self.chip_box.hide()
        self.focus_input()

    def toggle_camera(self, source: Any = None) -> None:
        if self.camera.running and source is None:
            self.camera.stop()
            self.cam_button.setText(tr("Start camera"))
            self.camera_view.image = None
            self.camera_view.set_message(tr("Camera off"))
            return
        spec = source if source is not None else self.ctx.settings.value("camera/source", "0")
        if isinstance(spec, str) and spec.isdigit():
            spec = int(spec)
        self.camera_view.set_message(tr("Starting camera…"))
        self.camera.start(spec)
        self.cam_button.setText(tr("Stop camera"))

    def set_counts(self, c: Counts) -> None:
        names = {r.id: r.name for r in self.ctx.event.races}
        self.counts.set_rows([(names.get(k, k), v[0], v[1], v[2], v[3]) for k, v in c.by_race.items()])
        self.total.setText(tr("Total: {n} / {m}").format(n=c.checked_in, m=c.participants))

    def shutdown(self) -> None:
        self.camera.stop()

    # ------------------------------------------------------------------ race-day actions
    def _set_current(self, p: Any) -> None:
        self.current = p
        if p is None:
            self.current_label.setText(tr("Scan or search a runner to change, revoke or reprint."))
        else:
            self.current_label.setText(tr("Runner: bib {bib} · {name} · {race} {wave}").format(
                bib=p.bib, name=p.name, race=p.race, wave=p.wave).strip())
        for b in (self.b_change, self.b_reprint, self.b_revoke):
            b.setEnabled(p is not None)

    def _recent_clicked(self, index: Any) -> None:
        """A click on a recent scan selects that runner for the desk actions (change, reprint…)."""
        if index.isValid() and 0 <= index.row() < len(self.recent.rows):
            p = self.recent.rows[index.row()].participant
            if p is not None:
                self._set_current(p)
        self.input.setFocus()

    def _search_current(self, item: QListWidgetItem | None, _prev: Any = None) -> None:
        if item is not None:
            self._set_current(item.data(Qt.ItemDataRole.UserRole).participant)
