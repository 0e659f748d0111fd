"""Setup: the station (role, desk, operator, language, look), the event file, participants import with a
progress bar and a readable error list, readers, camera, ledger, supervisor PIN. Validation before saving.

Why imports run on the domain worker: parsing and committing thousands of participants takes seconds;
the GUI shows a busy bar and stays responsive. `InputErrors.problems` (file:line: column: problem)
become one line each in the error list, so an organizer fixes them all in one pass.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFileDialog,
    QFormLayout,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QSpinBox,
    QTableView,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from station.errors import UserError
from station.event import commands as setup_commands
from station.event.config import FORMATS
from station.timing.bindings import ReaderBinding
from ui.context import UiContext, error_text
from ui.i18n import LANGUAGES, tr
from ui.models import StringListModel
from ui.snapshots import EventInfo
from ui.theme import MAX_FS, MIN_FS, THEMES

ROLES = {"all": "All screens", "checkin": "Check-in", "timing": "Timing", "results": "Results"}
TIMY_CHANNELS = tuple(f"C{i}" for i in range(9))


class ChannelWaves(QTableWidget):
    """ALGE Timy: which wave's gun each channel's impulse fires (`ReaderBinding.channel_waves`)."""

    def __init__(self) -> None:
        super().__init__(len(TIMY_CHANNELS), 2)
        self.setHorizontalHeaderLabels([tr("Channel"), tr("Gun of wave")])
        self.verticalHeader().hide()
        self.horizontalHeader().setStretchLastSection(True)
        self.setAccessibleName(tr("Timy channels"))
        self.combos: dict[str, QComboBox] = {}
        for i, ch in enumerate(TIMY_CHANNELS):
            it = QTableWidgetItem(ch)
            it.setFlags(Qt.ItemFlag.ItemIsEnabled)
            self.setItem(i, 0, it)
            cb = QComboBox()
            cb.setAccessibleName(tr("Wave for channel {ch}").format(ch=ch))
            self.setCellWidget(i, 1, cb)
            self.combos[ch] = cb
        self.set_event(EventInfo())

    def set_event(self, ev: EventInfo) -> None:
        for cb in self.combos.values():
            cur = cb.currentData()
            cb.clear()
            cb.addItem(tr("(not used)"), "")
            for r in ev.races:
                for w, _ in r.waves:
                    cb.addItem(tr("{race} wave {wave}").format(race=r.name, wave=w), f"{r.id}/{w}")
            cb.setCurrentIndex(max(0, cb.findData(cur)) if cur else 0)

    def set_channel(self, ch: str, value: str) -> None:
        cb = self.combos[ch]
        cb.setCurrentIndex(max(0, cb.findData(value)))

    def mapping(self) -> dict[str, str]:
        """The channel → "race/wave" map as chosen (checked by `station.event.commands`)."""
        return {ch: str(cb.currentData()) for ch, cb in self.combos.items() if cb.currentData()}


def load_event(d: Any, path: Path) -> str:
    """Worker job: validate the event file and append it (and its readers) when it changed."""
    verb, _payload = setup_commands.load_event(d.store, path, d.operator)
    return "unchanged" if verb == "unchanged" else "loaded"


def import_participants(d: Any, path: Path, progress: Any = None) -> tuple[int, int]:
    """Worker job; `progress(stage, done, total)` is called on the worker thread (see `ImportProgress`)."""
    from station.people.participants import import_csv

    if d.engine.config is None:
        raise UserError(tr("Load the event file first."))
    return import_csv(d.store, path, d.engine.config, operator=d.operator, progress=progress)


class ImportProgress(QObject):
    """Lives on the GUI thread; `report` is called on the domain worker and its signal is queued to the GUI."""

    changed = Signal(str, int, int)

    def report(self, stage: str, done: int, total: int) -> None:
        self.changed.emit(stage, done, total)


STAGES = {"reading": "Reading the participants already stored…", "checking": "Checking every row…",
          "saving": "Saving…"}


def list_ports(_d: Any) -> list[tuple[str, str]]:
    from serial.tools import list_ports as lp

    return [(p.device, p.description or "") for p in lp.comports()]


class SetupMode(QWidget):
    settings_changed = Signal()
    import_finished = Signal(bool)

    def __init__(self, ctx: UiContext) -> None:
        super().__init__()
        self.ctx = ctx
        scroll = QScrollArea(self)
        scroll.setWidgetResizable(True)
        body = QWidget()
        scroll.setWidget(body)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addWidget(scroll)
        grid = QGridLayout(body)
        grid.addWidget(self._build_station(), 0, 0)
        grid.addWidget(self._build_event(), 0, 1)
        grid.addWidget(self._build_reader(), 1, 0)
        grid.addWidget(self._build_other(), 1, 1)
        grid.setColumnStretch(0, 1)
        grid.setColumnStretch(1, 1)

    def _build_station(self) -> QGroupBox:
        """This station: role, desk, operator, language, theme, font size, sounds."""
        s = self.ctx.settings
        st = QGroupBox(tr("This station"))
        f = QFormLayout(st)
        self.role = QComboBox()
        for k, v in ROLES.items():
            self.role.addItem(tr(v), k)
        self.role.setCurrentIndex(max(0, self.role.findData(s.value("station/role", "all"))))
        self.desk = QLineEdit(str(s.value("station/desk", "desk-1")))
        self.operator = QLineEdit(self.ctx.operator)
        self.lang = QComboBox()
        for k, v in LANGUAGES.items():
            self.lang.addItem(v, k)
        self.lang.setCurrentIndex(max(0, self.lang.findData(s.value("ui/language", "en"))))
        self.theme = QComboBox()
        for t in THEMES:
            self.theme.addItem(tr(t.capitalize()), t)
        self.theme.setCurrentIndex(max(0, self.theme.findData(s.value("ui/theme", "light"))))
        self.font_size = QSpinBox()
        self.font_size.setRange(MIN_FS, MAX_FS)
        self.font_size.setValue(int(str(s.value("ui/font_size", 16))))
        self.sound = QCheckBox(tr("Play sounds"))
        self.sound.setChecked(bool(s.value("ui/sound", True, type=bool)))
        for label, w in ((tr("Role"), self.role), (tr("Desk id"), self.desk), (tr("Operator"), self.operator),
                         (tr("Language"), self.lang), (tr("Theme"), self.theme), (tr("Font size"), self.font_size),
                         ("", self.sound)):
            w.setAccessibleName(label or tr("Play sounds"))
            f.addRow(label, w)
        save = QPushButton(tr("Save station settings"))
        save.clicked.connect(self.save_station)
        f.addRow("", save)
        return st

    def _build_event(self) -> QGroupBox:
        """The event file and the participants import (progress, problems listed)."""
        ev = QGroupBox(tr("Event and participants"))
        el = QVBoxLayout(ev)
        self.event_label = QLabel(tr("No event loaded"))
        el.addWidget(self.event_label)
        row = QHBoxLayout()
        b_ev = QPushButton(tr("Load event file…"))
        b_ev.clicked.connect(lambda: self.load_event())
        b_imp = QPushButton(tr("Import participants…"))
        b_imp.clicked.connect(lambda: self.import_csv())
        row.addWidget(b_ev)
        row.addWidget(b_imp)
        el.addLayout(row)
        self.progress = QProgressBar()
        self.progress.setAccessibleName(tr("Import progress"))
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
        self.progress.setTextVisible(True)
        el.addWidget(self.progress)
        self.import_progress = ImportProgress(self)
        self.import_progress.changed.connect(self._on_progress)
        self.import_status = QLabel("")
        self.import_status.setWordWrap(True)
        el.addWidget(self.import_status)
        self.errors = StringListModel("Problem", self)
        self.errors_view = QTableView()
        self.errors_view.setAccessibleName(tr("Import problems"))
        self.errors_view.setModel(self.errors)
        self.errors_view.horizontalHeader().setStretchLastSection(True)
        self.errors_view.verticalHeader().hide()
        self.errors_view.setWordWrap(True)
        el.addWidget(self.errors_view)
        return ev

    def _build_reader(self) -> QGroupBox:
        """Add or change a reader: id, port (Find ports) or listen address, protocol, point, role."""
        rd = QGroupBox(tr("Add or change a reader"))
        rf = QFormLayout(rd)
        self.r_id = QLineEdit()
        self.r_port = QComboBox()
        self.r_port.setEditable(True)
        port_edit = self.r_port.lineEdit()
        if port_edit is not None:
            port_edit.setPlaceholderText("COM3, /dev/ttyUSB0, socket://host:port")
        b_ports = QPushButton(tr("Find ports"))
        b_ports.clicked.connect(self.refresh_ports)
        prow = QHBoxLayout()
        prow.addWidget(self.r_port, 1)
        prow.addWidget(b_ports)
        self.r_listen = QLineEdit()
        self.r_listen.setPlaceholderText("0.0.0.0:3097")
        self.r_format = QComboBox()
        for fm in FORMATS:
            self.r_format.addItem(fm, fm)
        self.r_baud = QComboBox()
        self.r_baud.setEditable(True)
        for b in ("", "9600", "19200", "38400", "57600", "115200"):
            self.r_baud.addItem(b)
        self.r_point = QComboBox()
        self.r_role = QComboBox()
        self.r_role.addItem(tr("main"), "main")
        self.r_role.addItem(tr("backup"), "backup")
        self.r_channels = ChannelWaves()
        self.r_channels.setMinimumHeight(160)
        self.r_channels_label = QLabel(tr("Timy channels"))
        self.r_format.currentIndexChanged.connect(self._format_changed)
        for label, w in ((tr("Reader id"), self.r_id), (tr("Protocol"), self.r_format), (tr("Baud"), self.r_baud),
                         (tr("Timing point"), self.r_point), (tr("Role"), self.r_role),
                         (tr("Listen (TCP)"), self.r_listen)):
            w.setAccessibleName(label)
            rf.addRow(label, w)
        self.r_port.setAccessibleName(tr("Serial port"))
        rf.insertRow(1, tr("Serial port"), prow)
        rf.addRow(self.r_channels_label, self.r_channels)
        self._format_changed()
        self.reader_status = QLabel("")
        self.reader_status.setWordWrap(True)
        b_save_r = QPushButton(tr("Check and save reader"))
        b_save_r.clicked.connect(self.save_reader)
        rf.addRow("", b_save_r)
        rf.addRow("", self.reader_status)
        return rd

    def _build_other(self) -> QGroupBox:
        """Camera, ledger URL and token, the ticket signing key, the supervisor PIN."""
        s = self.ctx.settings
        other = QGroupBox(tr("Camera, ledger and supervisor"))
        of = QFormLayout(other)
        self.camera = QLineEdit(str(s.value("camera/source", "0")))
        self.camera.setToolTip(tr("Camera number (0 = first webcam) or a video file"))
        self.ledger = QLineEdit(str(s.value("sync/ledger", "")))
        self.ledger.setPlaceholderText("https://ledger.wo.run")
        self.token = QLineEdit()  # never shown again once saved (ui.tokens)
        self.token.setEchoMode(QLineEdit.EchoMode.Password)
        self._token_hint()
        self.ticket_key = QLineEdit(str(s.value("tickets/key", "") or ""))
        self.ticket_key.setPlaceholderText(tr("organizer key file (.pem) for reprinting tickets"))
        self.ticket_names = QCheckBox(tr("Print runners' names on tickets"))
        self.ticket_names.setChecked(bool(s.value("tickets/show_names", False, type=bool)))
        self.new_pin = QLineEdit()
        self.new_pin.setEchoMode(QLineEdit.EchoMode.Password)
        self.new_pin.setPlaceholderText(tr("new PIN (4+ digits)"))
        for label, w in ((tr("Camera"), self.camera), (tr("Ledger URL"), self.ledger), (tr("Station token"), self.token),
                         (tr("Ticket signing key"), self.ticket_key), (tr("Tickets"), self.ticket_names),
                         (tr("Supervisor PIN"), self.new_pin)):
            w.setAccessibleName(label)
            of.addRow(label, w)
        self.pin_warning = QLabel(tr("The supervisor PIN is still the default 1234: set your own.")
                                  if self.ctx.pin.is_default else "")
        self.pin_warning.setStyleSheet("color: #c5221f; font-weight: 700;")
        self.pin_warning.setWordWrap(True)
        of.addRow("", self.pin_warning)
        b_save_o = QPushButton(tr("Check and save"))
        b_save_o.clicked.connect(self.save_other)
        of.addRow("", b_save_o)
        self.other_status = QLabel("")
        self.other_status.setWordWrap(True)
        of.addRow("", self.other_status)
        return other

    # ------------------------------------------------------------------ station
    def save_station(self) -> None:
        s = self.ctx.settings
        op = self.operator.text().strip()
        if not op:
            self.operator.setFocus()
            self.operator.setPlaceholderText(tr("Who is at this station?"))
            return
        s.setValue("station/role", self.role.currentData())
        s.setValue("station/desk", self.desk.text().strip() or "desk-1")
        s.setValue("station/operator", op)
        s.setValue("ui/language", self.lang.currentData())
        s.setValue("ui/theme", self.theme.currentData())
        s.setValue("ui/font_size", self.font_size.value())
        s.setValue("ui/sound", self.sound.isChecked())
        self.settings_changed.emit()

    def set_event(self, ev: EventInfo) -> None:
        if ev.id:
            self.event_label.setText(tr("{name} ({date}, {tz}) — {n} race(s)").format(
                name=ev.name, date=ev.date, tz=ev.timezone, n=len(ev.races)))
        self.r_channels.set_event(ev)
        cur = self.r_point.currentData()
        self.r_point.clear()
        for pid, kind in ev.points:
            self.r_point.addItem(f"{pid} ({tr(kind)})", pid)
        if cur:
            self.r_point.setCurrentIndex(max(0, self.r_point.findData(cur)))

    # ------------------------------------------------------------------ event + import
    def _busy(self, on: bool) -> None:
        self.progress.setRange(0, 0 if on else 1)
        self.progress.setValue(0 if on else 1)

    def _problems(self, e: Any) -> None:
        self._busy(False)
        self.progress.setFormat("%p%")
        self.progress.setValue(0)
        problems = list(getattr(e, "problems", None) or [])
        self.import_status.setText(str(e))
        self.errors.set_rows(problems)
        self.import_finished.emit(False)

    def load_event(self, path: str | None = None) -> None:
        if not path:
            path, _ = QFileDialog.getOpenFileName(self, tr("Load event file"), "", tr("Event file (*.toml)"))
        if not path:
            return
        p = Path(path)
        self._busy(True)
        self.errors.set_rows([])

        def done(what: str) -> None:
            self._busy(False)
            self.import_status.setText(tr("Event file {file}: {what}.").format(file=p.name, what=tr(what)))
            self.import_finished.emit(True)

        self.ctx.client.call(lambda d: load_event(d, p), done, self._problems)

    def import_csv(self, path: str | None = None) -> None:
        if not path:
            path, _ = QFileDialog.getOpenFileName(self, tr("Import participants"), "", tr("Participants (*.csv)"))
        if not path:
            return
        p = Path(path)
        self._busy(True)
        self.errors.set_rows([])
        self.import_status.setText(tr("Importing {file}…").format(file=p.name))

        self.progress.setRange(0, 3)
        self.progress.setValue(0)
        self.progress.setFormat(tr("Starting…"))
        prog = self.import_progress

        def done(res: tuple[int, int]) -> None:
            self._busy(False)
            self.progress.setFormat("%p%")
            total, written = res
            self.import_status.setText(tr("{file}: {n} participant(s); {w} new or changed.").format(
                file=p.name, n=total, w=written))
            self.import_finished.emit(True)

        self.ctx.client.call(lambda d: import_participants(d, p, prog.report), done, self._problems)

    def _on_progress(self, stage: str, done: int, total: int) -> None:
        self.progress.setRange(0, max(1, total))
        self.progress.setValue(done)
        self.progress.setFormat(tr(STAGES.get(stage, stage)) + " %p%")

    # ------------------------------------------------------------------ readers
    def refresh_ports(self) -> None:
        def done(ports: list[tuple[str, str]]) -> None:
            cur = self.r_port.currentText()
            self.r_port.clear()
            for dev, desc in ports:
                self.r_port.addItem(f"{dev}", dev)
                self.r_port.setItemData(self.r_port.count() - 1, desc, Qt.ItemDataRole.ToolTipRole)
            self.r_port.setEditText(cur)
            self.reader_status.setText(tr("{n} serial port(s) found.").format(n=len(ports)))

        self.ctx.client.call(list_ports, done, lambda e: self.reader_status.setText(error_text(e)))

    def reader_binding(self) -> ReaderBinding:
        """The reader form as a binding; what the form alone can tell is checked here (UserError), the
        reader's rules by `station.event.commands.save_reader`."""
        rid = self.r_id.text().strip()
        if not rid:
            raise UserError(tr("Give the reader an id, e.g. finish-1."))
        port = self.r_port.currentText().strip() or None
        listen = self.r_listen.text().strip() or None
        if bool(port) == bool(listen):
            raise UserError(tr("Give either a serial port or a TCP listen address, not both."))
        baud_text = self.r_baud.currentText().strip()
        if baud_text and not baud_text.isdigit():
            raise UserError(tr("Baud must be a number, e.g. 9600."))
        point = self.r_point.currentData()
        if not point:
            raise UserError(tr("Load the event first: a reader belongs to a timing point."))
        fmt = self.r_format.currentData()
        return ReaderBinding(id=rid, point=point, format=fmt, role=self.r_role.currentData(),
                             port=port, listen=listen, baud=int(baud_text) if baud_text else None,
                             channel_waves=self.r_channels.mapping() if fmt == "timy" else {})

    def _format_changed(self, *_a: Any) -> None:
        timy = self.r_format.currentData() == "timy"
        self.r_channels.setVisible(timy)
        self.r_channels_label.setVisible(timy)
        if timy and not self.r_baud.currentText().strip():
            self.r_baud.setEditText("9600")  # ALGE Timy RS-232: 9600 8N1

    def save_reader(self) -> None:
        try:
            binding = self.reader_binding()
        except UserError as e:
            self.reader_status.setText(error_text(e))
            return
        def checked(warning: Any) -> None:
            if warning is not None:  # a port this computer does not have (yet): the user decides
                self.reader_status.setText(error_text(warning))
                if not self.ctx.ask(self, error_text(warning) + "\n\n" + tr("Save anyway?")):
                    return
            self.ctx.client.call(lambda d: setup_commands.save_reader(d.store, binding, d.operator).uuid,
                                 lambda _u: self.reader_status.setText(
                                     tr("Reader {id} saved.").format(id=binding.id)
                                     + (" " + tr("Its port was not found: plug it in before the race.")
                                        if warning is not None else "")),
                                 lambda e: self.reader_status.setText(error_text(e)))

        self.ctx.client.call(lambda _d: [setup_commands.port_problem(binding.port)], lambda w: checked(w[0]),
                             lambda e: self.reader_status.setText(error_text(e)))

    # ------------------------------------------------------------------ camera, ledger, PIN
    def _token_hint(self) -> None:
        saved = bool(self.ctx.settings.value("sync/token_saved", False, type=bool)) or \
            bool(self.ctx.settings.value("sync/token", ""))
        self.token.setPlaceholderText(tr("saved (hidden) — type a new token to replace it") if saved
                                      else tr("the station token from the organizer"))

    def save_other(self) -> None:
        url = self.ledger.text().strip()
        from ui.tokens import load_token, save_token

        token = self.token.text().strip()
        problems = []
        if url and not url.startswith(("http://", "https://")):
            problems.append(tr("The ledger URL must start with http:// or https://."))
        if url and not token and not load_token(self.ctx.settings):
            problems.append(tr("A ledger needs the station token."))
        cam = self.camera.text().strip()
        if cam and not cam.isdigit() and not Path(cam).exists():
            problems.append(tr("Camera: give a number (0 = first webcam) or an existing video file."))
        pin = self.new_pin.text().strip()
        if pin and (len(pin) < 4 or not pin.isdigit()):
            problems.append(tr("The PIN must be at least 4 digits."))
        key = self.ticket_key.text().strip()
        if key and not Path(key).is_file():
            problems.append(tr("Ticket signing key: no such file."))
        if problems:
            self.other_status.setText("\n".join(problems))
            return
        s = self.ctx.settings
        s.setValue("sync/ledger", url)
        if token:
            save_token(s, token)
            self.token.clear()
            self._token_hint()
        s.setValue("tickets/key", key)
        s.setValue("tickets/show_names", self.ticket_names.isChecked())
        s.setValue("camera/source", cam or "0")
        if pin:
            if not self.ctx.supervisor(self, tr("Changing the supervisor PIN")):
                return
            self.ctx.pin.set(pin)
            self.new_pin.clear()
            self.pin_warning.setText("")
        self.other_status.setText(tr("Saved."))
        self.settings_changed.emit()
