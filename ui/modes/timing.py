"""Timing: readers with their lights and controls, the live crossings feed, unknown chips, the
finish-line manual entry, and the gun per wave.

Why the manual entry works the way it does: at a finish line the volunteer watches runners, not the
screen. Space — from anywhere on this screen — stamps the instant a runner crosses (a click sound and
a flash confirm it); typing the bib and Enter gives a stamp its bib, the way hand-timers with a
keypad work. Every stamp stays visible, in time order, until it has a bib or is deliberately deleted
(select it, Delete), so a burst of finishers never loses a time. Which stamp a bib takes is the rule
of `station.timing.stamps`: the one the timer selected, else the oldest waiting one; a refused bib (no such
participant) leaves its stamp marked in its place, so the next bib still gets the next time.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from PySide6.QtCore import QByteArray, QEvent, Qt, QTimer, Signal
from PySide6.QtGui import QBrush, QColor, QKeyEvent, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QApplication,
    QComboBox,
    QFileDialog,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QSplitter,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from station.errors import UserError
from station.timing.bindings import ReaderBinding
from station.timing.captures import import_file
from station.timing.live import LiveReader
from station.timing.stamps import REFUSED, SAVING, StampQueue
from ui.assets import icon
from ui.context import UiContext, error_text
from ui.i18n import tr
from ui.models import FeedModel, GunsModel, ReadersModel, UnknownChipsModel
from ui.snapshots import EventInfo, ReaderState
from ui.views import HintTableView


def _table(model: Any, name: str, empty: str = "") -> QTableView:
    v = HintTableView(empty)
    v.setModel(model)
    v.setAccessibleName(name)
    v.verticalHeader().hide()
    v.setAlternatingRowColors(True)
    v.setSelectionBehavior(QTableView.SelectionBehavior.SelectRows)
    v.setSelectionMode(QTableView.SelectionMode.SingleSelection)
    v.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
    # Size columns from the rows on screen only: Qt's default looks at 1,000 rows of every column on
    # each model reset, and the live feed resets several times a second at a busy finish.
    v.horizontalHeader().setResizeContentsPrecision(0)
    v.horizontalHeader().setStretchLastSection(True)
    return v


# ------------------------------------------------------------------------------- reader jobs (worker)
def binding_from_config(cfg: dict[str, Any]) -> ReaderBinding:
    """A `reader_config` payload (latest per reader) as a binding: live start and capture replay alike."""
    fields = {k: cfg.get(k) for k in ("id", "point", "format", "role", "port", "listen", "baud", "zone",
                                       "gps", "chip_format")}
    fields["id"], fields["point"], fields["format"] = str(cfg["id"]), str(cfg["point"]), str(cfg["format"])
    fields["role"] = fields["role"] or "main"
    fields["gps"] = bool(fields["gps"])
    fields["channel_waves"] = dict(cfg.get("channel_waves") or {})
    return ReaderBinding(**fields)


def start_reader(d: Any, cfg: dict[str, Any]) -> str:
    rid = str(cfg["id"])
    if rid in d.readers:
        return rid
    b = binding_from_config(cfg)
    if not b.port and not b.listen:
        raise UserError(tr("Reader {id} has no port or listen address: set one in Setup.").format(id=rid))
    d.readers[rid] = LiveReader(d.store, b, operator=d.operator).start()
    d.stopped.pop(rid, None)
    return rid


def stop_reader(d: Any, rid: str) -> str:
    h = d.readers.pop(rid, None)
    if h is not None:
        h.stop()
        d.stopped[rid] = h.binding
    return rid


def confirm_clock(d: Any, rid: str) -> dict[str, Any]:
    h = d.readers.get(rid)
    if h is None:
        raise UserError(tr("Start reader {id} first.").format(id=rid))
    return h.ingest.confirm_clock_offset()


def ask_resend(d: Any, rid: str) -> int:
    """The reader resends everything it stored (resends are stored once): fills any gap."""
    h = d.readers.get(rid)
    if h is None:
        raise UserError(tr("Start reader {id} first.").format(id=rid))
    ask = getattr(h, "request_replay", None)
    n = ask() if ask is not None else 0
    if not n:
        raise UserError(tr("Reader {id} cannot resend its stored reads (this protocol has no replay, or it "
                           "is not connected): replay a capture file instead.").format(id=rid))
    return n


def _kept_stamps(value: Any) -> Any:
    try:
        return json.loads(str(value)) if value else []
    except ValueError:
        return []


class ManualEntry(QLineEdit):
    """The bib field of the finish-line entry: bib + Enter gives a stamp its bib.

    Space is not typed here: it stamps the time (the Timing screen's shortcut handles it, from any
    widget of the screen). Up/Down choose a stamp explicitly, Esc goes back to "the oldest waiting",
    Delete (with the field empty) deletes the chosen stamp.
    """

    submitted = Signal(str)  # bib
    stamp_requested = Signal()
    move_selection = Signal(int)  # -1 up, +1 down
    delete_requested = Signal()
    clear_selection = Signal()

    def __init__(self) -> None:
        super().__init__()
        self.setObjectName("manualInput")
        self.setAccessibleName(tr("Manual finish entry"))
        self.setPlaceholderText(tr("Bib + Enter (Space stamps the time)"))
        self.setProperty("waiting", False)

    def event(self, ev: Any) -> bool:
        # A line edit claims printable keys before shortcuts see them: leave Space to the screen's
        # stamp shortcut (a bib never contains a space).
        if ev.type() == QEvent.Type.ShortcutOverride and isinstance(ev, QKeyEvent) \
                and ev.key() == Qt.Key.Key_Space and not ev.modifiers():
            ev.ignore()
            return True
        return super().event(ev)

    def keyPressEvent(self, ev: QKeyEvent) -> None:
        k = ev.key()
        if k == Qt.Key.Key_Space:
            if not ev.isAutoRepeat():
                self.stamp_requested.emit()  # only if the shortcut did not take it (e.g. no active window)
            return
        if k in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            bib = self.text().strip()
            if bib:
                self.clear()
                self.submitted.emit(bib)
            return
        if k in (Qt.Key.Key_Up, Qt.Key.Key_Down):
            self.move_selection.emit(-1 if k == Qt.Key.Key_Up else 1)
            return
        if k == Qt.Key.Key_Delete and not self.text():
            self.delete_requested.emit()
            return
        if k == Qt.Key.Key_Escape:
            self.clear_selection.emit()
            return
        super().keyPressEvent(ev)

    def set_waiting(self, on: bool) -> None:
        """Amber frame only while stamps wait for a bib (not "armed" all the time)."""
        if bool(self.property("waiting")) != on:
            self.setProperty("waiting", on)
            self.style().unpolish(self)
            self.style().polish(self)


class TimingMode(QWidget):
    manual_saved = Signal(str)

    def __init__(self, ctx: UiContext) -> None:
        super().__init__()
        self.ctx = ctx
        self.states: tuple[ReaderState, ...] = ()
        outer = QVBoxLayout(self)
        split = QSplitter(Qt.Orientation.Vertical)

        # readers
        rbox = QGroupBox(tr("Readers"))
        rl = QHBoxLayout(rbox)  # the buttons beside the table: the crossings keep the height
        self.readers = ReadersModel(ctx.clock, ctx.now_ms, self)
        self.readers_view = _table(self.readers, tr("Readers"),
                                   tr("No readers yet: add them in Setup → Readers."))
        self.readers_view.setMinimumHeight(96)
        rl.addWidget(self.readers_view, 1)
        btns = QGridLayout()
        btns.setSpacing(4)
        self.b_start = QPushButton(icon("reader"), tr("Connect / start"))
        self.b_stop = QPushButton(tr("Stop"))
        self.b_clock = QPushButton(tr("Set clock offset"))
        self.b_clock.setToolTip(tr("Confirm the measured clock offset of the selected reader"))
        self.b_resend = QPushButton(tr("Ask reader to resend"))
        self.b_resend.setToolTip(tr("Fill a gap: the reader sends all its stored reads again; reads already "
                                    "stored are recognised and kept once"))
        self.b_replay = QPushButton(tr("Replay capture file…"))
        self.b_replay.setToolTip(tr("Fill a gap from the reader's stored reads (capture file)"))
        for i, (b, fn) in enumerate(((self.b_start, self.start_selected), (self.b_stop, self.stop_selected),
                                     (self.b_clock, self.clock_selected), (self.b_resend, self.resend_selected),
                                     (self.b_replay, self.replay_selected))):
            b.setAccessibleName(b.text())
            b.clicked.connect(fn)
            btns.addWidget(b, i // 3, i % 3)
        btns.setRowStretch(2, 1)
        rl.addLayout(btns)
        split.addWidget(rbox)

        # feed + unknown chips
        mid = QSplitter(Qt.Orientation.Horizontal)
        fbox = QGroupBox(tr("Live crossings"))
        fl = QVBoxLayout(fbox)
        self.feed = FeedModel(ctx.clock, self)
        self.feed_view = _table(self.feed, tr("Live crossings"),
                                tr("Crossings appear here as the readers send them, and the times entered "
                                   "below."))
        fl.addWidget(self.feed_view)
        mid.addWidget(fbox)
        ubox = QGroupBox(tr("Unknown chips"))
        ul = QVBoxLayout(ubox)
        self.unknown = UnknownChipsModel(ctx.clock, self)
        self.unknown_view = _table(self.unknown, tr("Unknown chips"),
                                   tr("Chips read that belong to no runner appear here."))
        ul.addWidget(self.unknown_view)
        mid.addWidget(ubox)
        mid.setSizes([700, 300])
        split.addWidget(mid)

        # manual entry + guns
        bottom = QWidget()
        bl = QHBoxLayout(bottom)
        bl.setContentsMargins(0, 0, 0, 0)
        mbox = QGroupBox(tr("Manual entry (finish line)"))
        ml = QGridLayout(mbox)
        self.point = QComboBox()
        self.point.setAccessibleName(tr("Timing point"))
        self.point.setToolTip(tr("Point"))
        ml.addWidget(self.point, 0, 0)
        self.b_stamp = QPushButton(tr("Stamp (Space)"))
        self.b_stamp.setAccessibleName(tr("Stamp the time"))
        self.b_stamp.setToolTip(tr("Press Space anywhere on this screen the instant a runner crosses"))
        self.b_stamp.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.b_stamp.clicked.connect(self.stamp)
        ml.addWidget(self.b_stamp, 0, 2)
        self.manual = ManualEntry()
        ml.addWidget(self.manual, 0, 1)
        self.next_label = QLabel("")
        self.next_label.setObjectName("stampNext")
        self.next_label.setAccessibleName(tr("Which stamp the next bib takes"))
        self.next_label.setWordWrap(True)
        ml.addWidget(self.next_label, 1, 0, 1, 3)
        self.queue = StampQueue()
        kept = self.queue.load(_kept_stamps(ctx.settings.value("timing/stamps", "")),
                               unsure=tr("not confirmed saved when the station stopped: check the live crossings"))
        self.selected_stamp: int | None = None  # chosen explicitly by the timer (click, Up/Down)
        self.stamps = QListWidget()
        self.stamps.setAccessibleName(tr("Stamps waiting for a bib"))
        self.stamps.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # the bib field keeps the keyboard
        self.stamps.setMinimumHeight(68)  # three stamps at least
        self.stamps.itemClicked.connect(self._stamp_clicked)
        ml.addWidget(self.stamps, 2, 0, 1, 3)
        self.b_delete_stamp = QPushButton(tr("Delete stamp (Del)"))
        self.b_delete_stamp.setAccessibleName(tr("Delete the selected stamp"))
        self.b_delete_stamp.setToolTip(tr("Select a stamp (click it, or Up/Down in the bib field), then Delete"))
        self.b_delete_stamp.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.b_delete_stamp.clicked.connect(self.delete_stamp)
        ml.addWidget(self.b_delete_stamp, 3, 2)
        self.manual_status = QLabel("")
        self.manual_status.setObjectName("manualStatus")
        self.manual_status.setWordWrap(True)
        ml.addWidget(self.manual_status, 3, 0, 1, 2)
        ml.setColumnStretch(1, 1)
        self.manual.stamp_requested.connect(self.stamp)
        self.manual.submitted.connect(self.submit_bib)
        self.manual.move_selection.connect(self._move_selection)
        self.manual.delete_requested.connect(self.delete_stamp)
        self.manual.clear_selection.connect(lambda: self._select(None))
        self._flash = QTimer(self)
        self._flash.setSingleShot(True)
        self._flash.timeout.connect(lambda: self._set_flash(False))
        # Space stamps from anywhere on this screen (a crossing row clicked, a button focused…)
        self.stamp_shortcut = QShortcut(QKeySequence(Qt.Key.Key_Space), self)
        self.stamp_shortcut.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        self.stamp_shortcut.setAutoRepeat(False)  # Space held down is one stamp, not a burst
        self.stamp_shortcut.activated.connect(self.stamp)
        self.delete_shortcut = QShortcut(QKeySequence(Qt.Key.Key_Delete), self.stamps)
        self.delete_shortcut.setContext(Qt.ShortcutContext.WidgetShortcut)
        self.delete_shortcut.activated.connect(self.delete_stamp)
        self._refresh_stamps()
        if kept:
            self._report(tr("{n} stamp(s) kept from before (restart or language switch).").format(n=kept))
        bl.addWidget(mbox, 3)
        gbox = QGroupBox(tr("Gun"))
        gl = QVBoxLayout(gbox)
        self.gun_buttons = QGridLayout()
        gl.addLayout(self.gun_buttons)
        self.guns = GunsModel(ctx.clock, self)
        self.guns_view = _table(self.guns, tr("Guns"),
                                tr("Each gun fired (button above, supervisor PIN) is listed here."))
        self.guns_view.setMaximumHeight(130)
        gl.addWidget(self.guns_view)
        bl.addWidget(gbox, 2)
        split.addWidget(bottom)
        # The live crossings take whatever the readers and the entry leave (a 1366×768 laptop too):
        # the sizes are weights, each pane keeps at least its minimum.
        split.setSizes([100, 1000, 100])
        for i, f in enumerate((0, 1, 0)):
            split.setStretchFactor(i, f)
        saved = ctx.settings.value("timing/split")
        if isinstance(saved, QByteArray):
            split.restoreState(saved)  # the crew's own arrangement (dragged handles) survives a restart
        split.splitterMoved.connect(lambda *_: ctx.settings.setValue("timing/split", split.saveState()))
        self.split = split
        outer.addWidget(split)
        for v in (self.readers_view, self.feed_view, self.unknown_view, self.guns_view):
            v.installEventFilter(self)  # a bib typed after clicking a row goes to the bib field

    # ------------------------------------------------------------------ event + snapshots
    def set_event(self, ev: EventInfo) -> None:
        cur = self.point.currentData()
        self.point.clear()
        for pid, kind in ev.points:
            self.point.addItem(f"{pid} ({tr(kind)})", pid)
        finish = next((i for i, (_, k) in enumerate(ev.points) if k in ("finish", "start_finish")), 0)
        idx = self.point.findData(cur) if cur else -1
        self.point.setCurrentIndex(idx if idx >= 0 else finish)
        while self.gun_buttons.count():
            w = self.gun_buttons.takeAt(0).widget()
            if w is not None:
                w.deleteLater()
        self.gun_map: dict[str, QPushButton] = {}
        for i, race in enumerate(ev.races):
            for j, (wave, _start) in enumerate(race.waves):
                b = QPushButton(icon("gun"), tr("Gun: {race} wave {wave}").format(race=race.name, wave=wave))
                b.setObjectName("gun")
                b.setAccessibleName(b.text())
                b.clicked.connect(lambda _=False, r=race.id, w=wave, n=race.name: self.fire_gun(r, w, n))
                self.gun_buttons.addWidget(b, i, j)
                self.gun_map[f"{race.id}/{wave}"] = b

    def set_readers(self, states: tuple[ReaderState, ...]) -> None:
        sel = self.selected_reader()
        self.states = states
        self.readers.set_rows(states)
        if sel:
            for i, s in enumerate(states):
                if s.id == sel:
                    self.readers_view.selectRow(i)

    def selected_reader(self) -> str | None:
        ix = self.readers_view.selectionModel().selectedRows() if self.readers_view.selectionModel() else []
        if ix:
            return self.readers.rows[ix[0].row()].id
        return None

    # ------------------------------------------------------------------ reader controls
    def _cfg(self, rid: str) -> dict[str, Any] | None:
        return next((c for c in self.ctx.event.readers if str(c.get("id")) == rid), None)

    def _report(self, text: str) -> None:
        self.manual_status.setText(text)

    def start_selected(self) -> None:
        rid = self.selected_reader()
        cfg = self._cfg(rid) if rid else None
        if cfg is None:
            self._report(tr("Select a configured reader first (Setup → Readers)."))
            return
        self.ctx.client.call(lambda d: start_reader(d, cfg),
                             lambda r: self._report(tr("Reader {id} started.").format(id=r)),
                             lambda e: self._report(error_text(e)))

    def stop_selected(self) -> None:
        rid = self.selected_reader()
        if rid:
            self.ctx.client.call(lambda d: stop_reader(d, rid),
                                 lambda r: self._report(tr("Reader {id} stopped; everything received is saved.")
                                                        .format(id=r)))

    def clock_selected(self) -> None:
        rid = self.selected_reader()
        if rid:
            self.ctx.client.call(lambda d: confirm_clock(d, rid),
                                 lambda p: self._report(tr("Clock offset {ms:+d} ms confirmed for {id}.")
                                                        .format(ms=p["offset_ms"], id=rid)),
                                 lambda e: self._report(error_text(e)))

    def resend_selected(self) -> None:
        rid = self.selected_reader()
        if rid:
            self.ctx.client.call(lambda d: ask_resend(d, rid),
                                 lambda n: self._report(tr("Reader {id} asked to resend its stored reads.")
                                                        .format(id=rid)),
                                 lambda e: self._report(error_text(e)))

    def replay_selected(self, path: str | None = None) -> None:
        rid = self.selected_reader()
        cfg = self._cfg(rid) if rid else None
        if cfg is None:
            self._report(tr("Select a configured reader first (Setup → Readers)."))
            return
        if not path:
            path, _ = QFileDialog.getOpenFileName(self, tr("Replay capture file"))
        if not path:
            return
        b = binding_from_config({**cfg, "port": None, "listen": None})
        p = Path(path)

        def job(d: Any) -> int:
            return import_file(d.store, b, p.read_bytes(), p.name, operator=d.operator).stored

        self.ctx.client.call(job, lambda n: self._report(tr("{n} new read(s) stored from {file}.")
                                                         .format(n=n, file=p.name)),
                             lambda e: self._report(error_text(e)))

    # ------------------------------------------------------------------ manual entry
    def eventFilter(self, obj: Any, ev: Any) -> bool:
        if ev.type() == QEvent.Type.KeyPress and isinstance(ev, QKeyEvent) and ev.text().isalnum() \
                and not (ev.modifiers() & ~Qt.KeyboardModifier.KeypadModifier):
            self.manual.setFocus()
            self.manual.insert(ev.text())
            return True
        return super().eventFilter(obj, ev)

    def showEvent(self, ev: Any) -> None:
        super().showEvent(ev)
        QTimer.singleShot(0, self._focus_entry)  # Ctrl+2: the keyboard lands on this screen

    def _focus_entry(self) -> None:
        if self.isVisible() and QApplication.activeModalWidget() is None:
            self.manual.setFocus()

    def stamp(self) -> None:
        """The instant a runner crosses: a stamp waits in the list until it has a bib or is deleted."""
        s = self.queue.stamp(self.ctx.now_ms())
        self.ctx.sounds.play("stamp")
        self._refresh_stamps()
        self._report(tr("Stamped {t} — type the bib + Enter.").format(t=self.ctx.clock.hms(s.t)))
        self._set_flash(True)
        self._flash.start(700)
        if not isinstance(QApplication.focusWidget(), QLineEdit):
            self.manual.setFocus()  # a crossing row was clicked: the bib typed next lands here

    def _set_flash(self, on: bool) -> None:
        self.stamps.setProperty("flash", on)
        self.stamps.style().unpolish(self.stamps)
        self.stamps.style().polish(self.stamps)

    def submit_bib(self, bib: str) -> None:
        """Bib + Enter: the selected stamp if the timer chose one, else the oldest waiting (see
        `station.timing.stamps`); with no stamp waiting, the time of Enter."""
        s = self.queue.take(bib, self.selected_stamp)
        self.selected_stamp = None
        self._refresh_stamps()
        if s is None:
            self.save_manual(self.ctx.now_ms(), bib, note=tr("no stamp was waiting: the time of Enter"))
        else:
            self.save_manual(s.t, bib, stamp_id=s.id)

    def save_manual(self, t: int, bib: str, stamp_id: int | None = None, note: str = "") -> None:
        point = self.point.currentData()

        def job(d: Any) -> str:
            if not point:
                raise UserError(tr("No timing point: load the event in Setup first."))
            return d.timing.manual_time(bib, point, t).uuid

        def failed(e: Any) -> None:
            msg = error_text(e)
            if stamp_id is not None:
                self.queue.refused(stamp_id, msg)  # stays in its place, marked; never jumps the queue
                self._refresh_stamps()
                msg = tr("{problem} The stamp {t} waits, marked: select it and type the right bib, or "
                         "delete it.").format(problem=msg, t=self.ctx.clock.hms(t))
            self._report(msg)
            self.ctx.sounds.play("invalid")

        def done(_uuid: str) -> None:
            if stamp_id is not None:
                self.queue.saved(stamp_id)
                self._refresh_stamps()
            text = tr("Bib {bib}: {t} at {point} saved.").format(bib=bib, t=self.ctx.clock.hms(t), point=point)
            text = f"{text} ({note})" if note else text
            refused = sum(1 for s in self.queue.stamps if s.state == REFUSED)
            if refused:
                text += " " + tr("{n} refused stamp(s) still wait: see the list.").format(n=refused)
            self._report(text)
            self.manual_saved.emit(bib)

        self.ctx.client.call(job, done, failed)

    def delete_stamp(self) -> None:
        sid = self.selected_stamp
        if sid is None:
            self._report(tr("Select the stamp to delete first (click it, or Up/Down in the bib field)."))
            return
        s = self.queue.delete(sid)
        self.selected_stamp = None
        self._refresh_stamps()
        if s is not None:
            self._report(tr("Stamp {t} deleted.").format(t=self.ctx.clock.hms(s.t)))

    def _stamp_clicked(self, item: QListWidgetItem) -> None:
        sid = item.data(Qt.ItemDataRole.UserRole)
        self._select(None if sid == self.selected_stamp else sid)  # a second click lets go
        self.manual.setFocus()

    def _move_selection(self, step: int) -> None:
        ids = [s.id for s in self.queue.stamps if s.state != SAVING]
        if not ids:
            return
        if self.selected_stamp not in ids:
            self._select(ids[-1] if step < 0 else ids[0])
        else:
            i = ids.index(self.selected_stamp) + step
            self._select(ids[max(0, min(len(ids) - 1, i))])

    def _select(self, sid: int | None) -> None:
        self.selected_stamp = sid
        self._refresh_stamps()

    def _refresh_stamps(self) -> None:
        """The waiting stamps in time order; the one the next bib takes is marked."""
        hms = self.ctx.clock.hms
        if self.queue.get(self.selected_stamp) is None:
            self.selected_stamp = None
        nxt = self.queue.next_for_bib(self.selected_stamp)
        self.stamps.blockSignals(True)
        self.stamps.clear()
        target_row = -1
        for i, s in enumerate(self.queue.stamps):
            if s.state == SAVING:
                text = tr("{t}   saving bib {bib}…").format(t=hms(s.t), bib=s.bib)
            elif s.state == REFUSED:
                text = tr("{t}   bib {bib} refused: {reason}").format(t=hms(s.t), bib=s.bib, reason=s.reason)
            else:
                text = tr("{t}   waiting for a bib").format(t=hms(s.t))
            if nxt is not None and s.id == nxt.id:
                text += "   ◀ " + tr("next bib")
                target_row = i
            it = QListWidgetItem(text)
            it.setData(Qt.ItemDataRole.UserRole, s.id)
            if s.state == REFUSED:
                it.setForeground(QBrush(QColor("#c5221f")))
            elif s.state == SAVING:
                it.setForeground(QBrush(QColor("#80868b")))
            if nxt is not None and s.id == nxt.id:
                f = it.font()
                f.setBold(True)
                it.setFont(f)
            self.stamps.addItem(it)
            if s.id == self.selected_stamp:
                it.setSelected(True)
        self.stamps.blockSignals(False)
        if target_row >= 0:
            self.stamps.scrollToItem(self.stamps.item(target_row))
        n = self.queue.waiting()
        if nxt is None:
            self.next_label.setText(tr("No stamp waiting. Press Space the instant a runner crosses.") if not n
                                    else tr("{n} stamp(s) need attention: select one and type its bib, or "
                                            "delete it.").format(n=n))
        else:
            why = tr("selected") if nxt.id == self.selected_stamp else tr("oldest waiting")
            self.next_label.setText(tr("{n} waiting · the next bib takes {t} ({why}) · Up/Down choose, Del "
                                       "deletes").format(n=n, t=hms(nxt.t), why=why))
        self.manual.set_waiting(n > 0)
        self.b_delete_stamp.setEnabled(self.selected_stamp is not None)
        # kept in the settings at every change: a restart or a language switch loses no stamp
        self.ctx.settings.setValue("timing/stamps", json.dumps(self.queue.dump()))

    # ------------------------------------------------------------------ gun
    def fire_gun(self, race: str, wave: str, name: str) -> None:
        t = self.ctx.now_ms()  # the instant of the click, not of the confirmation
        what = tr("Gun for {race} wave {wave} at {t}").format(race=name, wave=wave, t=self.ctx.clock.hms(t))
        if not self.ctx.supervisor(self, what):
            return
        if not self.ctx.ask(self, what + "?"):
            return
        self.ctx.client.call(lambda d: d.timing.gun(wave, race, t),
                             lambda _e: self._report(tr("Gun recorded: {what}.").format(what=what)),
                             lambda e: self._report(error_text(e)))
