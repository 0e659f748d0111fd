"""Timing: readers with their lights and controls, the live crossings feed, unknown chips, the
finish-line manual entry, and the gun per wave.

Why the manual entry works the way it does: at a finish line the volunteer watches runners, not the
screen. Space stamps the instant a runner crosses (a click sound confirms), then typing the bib and
Enter completes the oldest open stamp — the way hand-timers with a keypad work. Stamps wait in a list
until they have a bib, so a burst of finishers never loses a time.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QListWidget,
    QPushButton,
    QSplitter,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from station.errors import UserError
from station.ingest import LiveReader, ReaderBinding, import_file
from ui.assets import icon
from ui.context import UiContext, error_text
from ui.i18n import tr
from ui.models import FeedModel, GunsModel, ReadersModel, UnknownChipsModel
from ui.snapshots import EventInfo, ReaderState


def _table(model: Any, name: str) -> QTableView:
    v = QTableView()
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


class ManualEntry(QLineEdit):
    """Space stamps a time; digits + Enter give the oldest open stamp its bib."""

    stamped = Signal(object)  # UTC ms (beyond 32-bit int)
    completed = Signal(object, str)  # t (UTC ms), bib

    def __init__(self, now_ms: Any) -> None:
        super().__init__()
        self.now_ms = now_ms
        self.setObjectName("manualInput")
        self.setAccessibleName(tr("Manual finish entry"))
        self.setPlaceholderText(tr("Space = stamp the time · type the bib + Enter"))
        self.stamps: list[int] = []

    def keyPressEvent(self, ev: QKeyEvent) -> None:
        k = ev.key()
        if k == Qt.Key.Key_Space:
            t = self.now_ms()
            self.stamps.append(t)
            self.stamped.emit(t)
            return
        if k in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            bib = self.text().strip()
            if not bib:
                return
            t = self.stamps.pop(0) if self.stamps else self.now_ms()
            self.clear()
            self.completed.emit(t, bib)
            return
        super().keyPressEvent(ev)


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
        rl = QVBoxLayout(rbox)
        self.readers = ReadersModel(ctx.clock, ctx.now_ms, self)
        self.readers_view = _table(self.readers, tr("Readers"))
        self.readers_view.setMinimumHeight(150)
        rl.addWidget(self.readers_view)
        btns = QHBoxLayout()
        self.b_start = QPushButton(icon("reader"), tr("Connect / start"))
        self.b_stop = QPushButton(tr("Stop"))
        self.b_clock = QPushButton(tr("Set clock offset"))
        self.b_clock.setToolTip(tr("Confirm the measured clock offset of the selected reader"))
        self.b_resend = QPushButton(tr("Ask reader to resend"))
        self.b_resend.setToolTip(tr("Fill a gap: the reader sends all its stored reads again; reads already "
                                    "stored are recognised and kept once"))
        self.b_replay = QPushButton(tr("Replay capture file…"))
        self.b_replay.setToolTip(tr("Fill a gap from the reader's stored reads (capture file)"))
        for b, fn in ((self.b_start, self.start_selected), (self.b_stop, self.stop_selected),
                      (self.b_clock, self.clock_selected), (self.b_resend, self.resend_selected),
                      (self.b_replay, self.replay_selected)):
            b.setAccessibleName(b.text())
            b.clicked.connect(fn)
            btns.addWidget(b)
        btns.addStretch(1)
        rl.addLayout(btns)
        split.addWidget(rbox)

        # feed + unknown chips
        mid = QSplitter(Qt.Orientation.Horizontal)
        fbox = QGroupBox(tr("Live crossings"))
        fl = QVBoxLayout(fbox)
        self.feed = FeedModel(ctx.clock, self)
        self.feed_view = _table(self.feed, tr("Live crossings"))
        fl.addWidget(self.feed_view)
        mid.addWidget(fbox)
        ubox = QGroupBox(tr("Unknown chips"))
        ul = QVBoxLayout(ubox)
        self.unknown = UnknownChipsModel(ctx.clock, self)
        self.unknown_view = _table(self.unknown, tr("Unknown chips"))
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
        ml.addWidget(QLabel(tr("Point")), 0, 0)
        ml.addWidget(self.point, 0, 1)
        self.manual = ManualEntry(ctx.now_ms)
        ml.addWidget(self.manual, 1, 0, 1, 2)
        self.stamps = QListWidget()
        self.stamps.setAccessibleName(tr("Open time stamps"))
        self.stamps.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.stamps.setMaximumHeight(90)
        ml.addWidget(self.stamps, 2, 0, 1, 2)
        self.manual_status = QLabel("")
        self.manual_status.setWordWrap(True)
        ml.addWidget(self.manual_status, 3, 0, 1, 2)
        self.manual.stamped.connect(self._stamped)
        self.manual.completed.connect(self.save_manual)
        bl.addWidget(mbox, 3)
        gbox = QGroupBox(tr("Gun"))
        gl = QVBoxLayout(gbox)
        self.gun_buttons = QGridLayout()
        gl.addLayout(self.gun_buttons)
        self.guns = GunsModel(ctx.clock, self)
        self.guns_view = _table(self.guns, tr("Guns"))
        self.guns_view.setMaximumHeight(130)
        gl.addWidget(self.guns_view)
        bl.addWidget(gbox, 2)
        split.addWidget(bottom)
        split.setSizes([260, 380, 260])
        split.setStretchFactor(1, 1)
        outer.addWidget(split)

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
    def _stamped(self, t: int) -> None:
        self.ctx.sounds.play("stamp")
        self.stamps.addItem(self.ctx.clock.hms(t))

    def save_manual(self, t: int, bib: str) -> None:
        point = self.point.currentData()
        if self.stamps.count():
            self.stamps.takeItem(0)

        def job(d: Any) -> str:
            return d.timing.manual_time(bib, point, t).uuid

        def failed(e: Any) -> None:
            self.manual.stamps.insert(0, t)  # keep the time: the volunteer retypes the bib
            self.stamps.insertItem(0, self.ctx.clock.hms(t))
            self._report(error_text(e))
            self.ctx.sounds.play("invalid")

        def done(_uuid: str) -> None:
            self._report(tr("Bib {bib}: {t} at {point} saved.").format(bib=bib, t=self.ctx.clock.hms(t),
                                                                       point=point))
            self.manual_saved.emit(bib)

        self.ctx.client.call(job, done, failed)

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
