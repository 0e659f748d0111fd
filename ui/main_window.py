"""The main window: header (event, role, operator, clock, sync, reader lights) over the modes.

Why the modes are rebuilt on a language switch: every text is produced by `tr()` when a widget is
built, so rebuilding the central widget re-texts the whole UI in one place; the last snapshot of each
kind is kept and replayed into the new screens, so nothing visible is lost.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from PySide6.QtCore import QByteArray, QSettings, Qt, Signal
from PySide6.QtGui import QAction, QCloseEvent, QKeySequence
from PySide6.QtWidgets import (
    QApplication,
    QDialog,
    QDialogButtonBox,
    QFrame,
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QMessageBox,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from ui import theme
from ui.assets import icon, tab_icons
from ui.auth import SupervisorPin
from ui.context import UiContext
from ui.domain import DomainClient
from ui.header import Header
from ui.i18n import Language, tr
from ui.models import Clock
from ui.modes.announcer import AnnouncerMode
from ui.modes.checkin import CheckinMode
from ui.modes.results import ResultsMode
from ui.modes.setup import ROLES, SetupMode
from ui.modes.sync import SyncMode
from ui.modes.timing import TimingMode
from ui.snapshots import EventInfo
from ui.sounds import SoundPlayer

log = logging.getLogger(__name__)

MODES_BY_ROLE = {
    "all": ("checkin", "timing", "results", "setup", "sync", "announcer"),
    "checkin": ("checkin", "setup", "sync"),
    "timing": ("timing", "results", "setup", "sync", "announcer"),
    "results": ("results", "setup", "sync", "announcer"),
}
SHORTCUTS = (
    ("F1", "This list of shortcuts"),
    ("Ctrl+1 … Ctrl+6", "Switch screens (check-in, timing, results, setup, sync, announcer)"),
    ("Ctrl++ / Ctrl+-", "Larger / smaller text"),
    ("Ctrl+Shift+D", "Light / dark theme"),
    ("Ctrl+Q", "Quit (everything received is saved first)"),
    ("Enter", "Check-in: scan, or search the bib or name typed"),
    ("Ctrl+Z", "Check-in: undo this desk's last check-in"),
    ("F2", "Check-in: walk-up registration"),
    ("F3", "Check-in: change the runner's bib, race or wave"),
    ("F4", "Check-in: reprint the runner's ticket"),
    ("F6", "Check-in: start or stop the camera"),
    ("Up / Down", "Check-in: choose a runner in the search results"),
    ("Enter (again)", "Check-in: ID checked — check in the runner found (no ticket)"),
    ("Esc", "Check-in: cancel the ID check, close the search list, skip the chip"),
    ("Ctrl+F", "Results: search a bib, name or club"),
    ("F11", "Results: the announcer board (Esc closes it)"),
    ("Space", "Timing: stamp the time a runner crosses (anywhere on the Timing screen)"),
    ("Bib + Enter", "Timing: give the selected stamp, else the oldest waiting one, its bib"),
    ("Up / Down", "Timing: choose a waiting stamp (Esc: back to the oldest)"),
    ("Delete", "Timing: delete the chosen stamp"),
)
MODE_TITLES = {"checkin": "Check-in", "timing": "Timing", "results": "Results", "setup": "Setup", "sync": "Sync",
               "announcer": "Announcer"}


class MainWindow(QMainWindow):
    ready = Signal()

    def __init__(self, data_dir: Path, settings: QSettings, *, language: Language,
                 setup: Any = None, sounds_enabled: bool = True, demo: bool = False) -> None:
        super().__init__()
        self.settings = settings
        self.language = language
        self.demo = demo
        self.setWindowIcon(icon("app"))
        operator = str(settings.value("station/operator", "") or "") or ("demo" if demo else "")
        desk = str(settings.value("station/desk", "desk-1"))
        self.client = DomainClient(data_dir, operator, desk, setup, self)
        self.ctx = UiContext(self.client, settings, SoundPlayer(sounds_enabled, self), Clock(),
                             SupervisorPin(settings), operator=operator)
        self.last: dict[str, Any] = {}
        self.force_close = False  # SIGINT/SIGTERM: close without asking anything
        self.modes: dict[str, QWidget] = {}
        self.tabs: QTabWidget | None = None
        w = self.client.worker
        w.opened.connect(self._opened)
        w.failed.connect(self._failed)
        w.event_changed.connect(self._event)
        # Bound methods of this (GUI-thread) object: Qt queues the calls onto the GUI thread. A lambda
        # would have no receiver and run on the worker thread.
        w.results.connect(self._on_results)
        w.feed.connect(self._feed)
        w.unknown.connect(self._on_unknown)
        w.counts.connect(self._on_counts)
        w.readers.connect(self._on_readers)
        w.sync.connect(self._on_sync)
        w.guns.connect(self._on_guns)
        w.announcer.connect(self._on_announcer)
        self.build()
        geo = settings.value("window/geometry")
        if isinstance(geo, QByteArray):
            self.restoreGeometry(geo)
        else:
            self.first_size()
        self._actions()
        self.client.start()

    def first_size(self) -> None:
        """1400×900 where the screen allows; on a 1366×768 laptop, the whole screen (maximized)."""
        screen = self.screen() or QApplication.primaryScreen()
        avail = screen.availableGeometry() if screen is not None else None
        if avail is None or (avail.width() >= 1400 and avail.height() >= 900):
            self.resize(1400, 900)
            return
        self.resize(min(1400, avail.width()), min(900, avail.height()))
        self.setWindowState(self.windowState() | Qt.WindowState.WindowMaximized)

    # ------------------------------------------------------------------ building
    def build(self) -> None:
        """(Re)build header and modes in the current language and role."""
        self.setWindowTitle(tr("WO.RUN Station") + (" — " + tr("Demo") if self.demo else ""))
        central = QWidget()
        lay = QVBoxLayout(central)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(0)
        self.header = Header(self.ctx.clock, self.ctx.now_ms)
        self.header.reader_went_down.connect(self._reader_down)
        self.ctx.offline_text = self.header.offline_text
        lay.addWidget(self.header)
        self.welcome = self._welcome()
        lay.addWidget(self.welcome)
        self.tabs = QTabWidget()
        self.tabs.setAccessibleName(tr("Modes"))
        self.tabs.setDocumentMode(True)
        lay.addWidget(self.tabs, 1)
        old = getattr(self, "modes", {})
        for m in old.values():
            if hasattr(m, "shutdown"):
                m.shutdown()
        self.modes = {}
        role = str(self.settings.value("station/role", "all"))
        makers = {"checkin": CheckinMode, "timing": TimingMode, "results": ResultsMode, "setup": SetupMode,
                  "sync": SyncMode, "announcer": AnnouncerMode}
        icons = {"checkin": "checkin", "timing": "timing", "results": "results", "setup": "setup", "sync": "sync",
                 "announcer": "results"}
        for key in MODES_BY_ROLE.get(role, MODES_BY_ROLE["all"]):
            mode = makers[key](self.ctx)
            mode.setObjectName(f"mode-{key}")
            self.modes[key] = mode
            i = self.tabs.addTab(mode, tr(MODE_TITLES[key]))
            self.tabs.setTabToolTip(i, tr("{mode} (Ctrl+{n})").format(mode=tr(MODE_TITLES[key]), n=i + 1))
        tab_icons(self.tabs, [icons[k] for k in self.modes])
        if "setup" in self.modes:
            self.modes["setup"].settings_changed.connect(self.apply_settings)  # type: ignore[attr-defined]
        self.header.set_who(tr(ROLES.get(role, role)), self.ctx.operator)
        self.setCentralWidget(central)
        self._replay()

    def _welcome(self) -> QWidget:
        """First start (no event loaded): what to do, and a button to the screen that does it."""
        box = QFrame()
        box.setObjectName("welcome")
        row = QHBoxLayout(box)
        text = QLabel(tr("Welcome! No event is loaded on this station yet. In Setup: load the event file, "
                         "import the participants, add the readers — then check-in, timing and results "
                         "fill in."))
        text.setWordWrap(True)
        row.addWidget(text, 1)
        go = QPushButton(tr("Open Setup"))
        go.setAccessibleName(tr("Open Setup"))
        go.clicked.connect(self.open_setup)
        row.addWidget(go)
        self.welcome_button = go
        box.setVisible(False)  # shown once the station says it has no event
        return box

    def open_setup(self) -> None:
        if self.tabs is not None and "setup" in self.modes:
            self.tabs.setCurrentWidget(self.modes["setup"])

    def _actions(self) -> None:
        for n in range(1, 7):
            a = QAction(self)
            a.setShortcut(QKeySequence(f"Ctrl+{n}"))
            a.triggered.connect(lambda _=False, i=n - 1: self.tabs and self.tabs.setCurrentIndex(i))
            self.addAction(a)
        for seq, step in (("Ctrl++", 1), ("Ctrl+=", 1), ("Ctrl+-", -1)):
            a = QAction(self)
            a.setShortcut(QKeySequence(seq))
            a.triggered.connect(lambda _=False, s=step: self.zoom(s))
            self.addAction(a)
        a = QAction(self)
        a.setShortcut(QKeySequence("Ctrl+Shift+D"))
        a.triggered.connect(self.toggle_theme)
        self.addAction(a)
        a = QAction(self)
        a.setShortcut(QKeySequence("F1"))
        a.triggered.connect(self.show_help)
        self.addAction(a)
        a = QAction(self)
        a.setShortcut(QKeySequence("Ctrl+Q"))
        a.triggered.connect(self.close)
        self.addAction(a)

    def help_dialog(self) -> QDialog:
        """F1: every keyboard shortcut of the station, in the current language."""
        dlg = QDialog(self)
        dlg.setWindowTitle(tr("Keyboard shortcuts"))
        lay = QVBoxLayout(dlg)
        table = QTableWidget(len(SHORTCUTS), 2, dlg)
        table.setObjectName("shortcuts")
        table.setHorizontalHeaderLabels([tr("Key"), tr("What it does")])
        table.verticalHeader().hide()
        table.horizontalHeader().setStretchLastSection(True)
        table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        for i, (key, what) in enumerate(SHORTCUTS):
            table.setItem(i, 0, QTableWidgetItem(key))
            table.setItem(i, 1, QTableWidgetItem(tr(what)))
        table.resizeColumnsToContents()
        lay.addWidget(table)
        bb = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        bb.button(QDialogButtonBox.StandardButton.Close).setText(tr("Close"))
        bb.rejected.connect(dlg.reject)
        lay.addWidget(bb)
        dlg.resize(640, 560)
        return dlg

    def show_help(self) -> None:
        self.help_dialog().exec()

    def apply_settings(self) -> None:
        s = self.settings
        app = QApplication.instance()
        if isinstance(app, QApplication):
            theme.apply(app, str(s.value("ui/theme", "light")), int(s.value("ui/font_size", theme.DEFAULT_FS)))
        self.ctx.sounds.enabled = bool(s.value("ui/sound", True, type=bool)) and self.ctx.sounds.enabled
        op = str(s.value("station/operator", "") or self.ctx.operator)
        desk = str(s.value("station/desk", "desk-1"))
        if op != self.ctx.operator or True:
            self.ctx.operator = op

            def set_op(d: Any) -> None:
                d.operator = op
                d.desk.operator = op
                d.desk.desk_id = desk

            self.client.call(set_op)
        lang = str(s.value("ui/language", "en"))
        current = self.tabs.currentIndex() if self.tabs else 0
        self.language.set(lang)
        self.build()
        if self.tabs:
            self.tabs.setCurrentIndex(min(current, self.tabs.count() - 1))

    def zoom(self, step: int) -> None:
        fs = int(self.settings.value("ui/font_size", theme.DEFAULT_FS)) + step
        fs = max(theme.MIN_FS, min(theme.MAX_FS, fs))
        self.settings.setValue("ui/font_size", fs)
        app = QApplication.instance()
        if isinstance(app, QApplication):
            theme.apply(app, str(self.settings.value("ui/theme", "light")), fs)

    def toggle_theme(self) -> None:
        t = "dark" if str(self.settings.value("ui/theme", "light")) == "light" else "light"
        self.settings.setValue("ui/theme", t)
        app = QApplication.instance()
        if isinstance(app, QApplication):
            theme.apply(app, t, int(self.settings.value("ui/font_size", theme.DEFAULT_FS)))

    # ------------------------------------------------------------------ snapshots in
    def _on_results(self, v: Any) -> None:
        self._keep("results", v)

    def _on_unknown(self, v: Any) -> None:
        self._keep("unknown", v)

    def _on_counts(self, v: Any) -> None:
        self._keep("counts", v)

    def _on_readers(self, v: Any) -> None:
        self._keep("readers", v)

    def _on_sync(self, v: Any) -> None:
        self._keep("sync", v)

    def _on_guns(self, v: Any) -> None:
        self._keep("guns", v)

    def _on_announcer(self, v: Any) -> None:
        if "announcer" in self.modes:
            self.modes["announcer"].set_snapshot(v)  # type: ignore[attr-defined]

    def _keep(self, kind: str, value: Any) -> None:
        self.last[kind] = value
        self._deliver(kind, value)

    def _deliver(self, kind: str, value: Any) -> None:
        m = self.modes
        if kind == "results" and "results" in m:
            m["results"].set_snapshot(value)  # type: ignore[attr-defined]
        elif kind == "unknown" and "timing" in m:
            m["timing"].unknown.set_unknown(value)  # type: ignore[attr-defined]
        elif kind == "counts" and "checkin" in m:
            m["checkin"].set_counts(value)  # type: ignore[attr-defined]
        elif kind == "readers":
            self.header.set_readers(value)
            if "timing" in m:
                m["timing"].set_readers(value)  # type: ignore[attr-defined]
        elif kind == "sync":
            self.header.set_sync(value)
            if "sync" in m:
                m["sync"].set_sync(value)  # type: ignore[attr-defined]
        elif kind == "guns" and "timing" in m:
            m["timing"].guns.set_rows(value)  # type: ignore[attr-defined]
        elif kind == "event":
            self.ctx.event = value
            self.welcome.setVisible(not value.id)
            self.ctx.clock.set_zone(value.timezone)
            self.header.set_event(value.name)
            for mode in m.values():
                if hasattr(mode, "set_event"):
                    mode.set_event(value)

    def _replay(self) -> None:
        for kind in ("event", "results", "unknown", "counts", "readers", "sync", "guns"):
            if kind in self.last:
                self._deliver(kind, self.last[kind])
        if "timing" in self.modes and self.last.get("feed_rows"):
            self.modes["timing"].feed.add(self.last["feed_rows"])  # type: ignore[attr-defined]

    def _feed(self, rows: Any) -> None:
        kept = (self.last.get("feed_rows") or []) + list(rows)
        self.last["feed_rows"] = kept[-500:]
        if "timing" in self.modes:
            self.modes["timing"].feed.add(rows)  # type: ignore[attr-defined]

    def _opened(self, info: EventInfo) -> None:
        self._keep("event", info)
        self.ready.emit()

    def _event(self, info: EventInfo) -> None:
        self._keep("event", info)

    def _failed(self, msg: str) -> None:
        QMessageBox.critical(self, tr("The station cannot start"), msg)

    def _reader_down(self, rid: str) -> None:
        self.ctx.sounds.play("alarm")
        self.statusBar().showMessage(tr("Reader {id} is down!").format(id=rid), 15_000)

    # ------------------------------------------------------------------ closing
    def closeEvent(self, ev: QCloseEvent) -> None:
        timing = self.modes.get("timing")
        waiting = timing.queue.waiting() if timing is not None else 0  # type: ignore[attr-defined]
        if waiting and not self.force_close and not self.ctx.ask(
                self, tr("{n} finish stamp(s) have no bib yet (they are kept for the next start). Quit anyway?").format(n=waiting)):
            ev.ignore()
            return
        self.settings.setValue("window/geometry", self.saveGeometry())
        for m in self.modes.values():
            if hasattr(m, "shutdown"):
                m.shutdown()
        if self.modes.get("results") is not None and self.modes["results"].board is not None:  # type: ignore[attr-defined]
            self.modes["results"].board.close()  # type: ignore[attr-defined]
        self.statusBar().showMessage(tr("Saving…"))
        QApplication.setOverrideCursor(Qt.CursorShape.WaitCursor)
        try:
            self.client.shutdown()
        finally:
            QApplication.restoreOverrideCursor()
        self.settings.sync()
        super().closeEvent(ev)
