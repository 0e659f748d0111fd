"""Results: the live leaderboard per race with filters and search, runner detail (splits, pace, the
reads behind each crossing and why others were ignored), corrections as entries, the announcer board,
print and export.

Why corrections go through the supervisor PIN and become entries: results are a pure function of the
log (DESIGN), so a DQ or a time adjustment is a new `correction` entry recording its operator; nothing
is edited. The payload shapes are those of `station.cli.core`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QItemSelectionModel, QObject, Qt, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QInputDialog,
    QLabel,
    QLineEdit,
    QMessageBox,
    QProgressDialog,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from station.errors import UserError
from station.timing.commands import CommandError, parse_delta
from ui.context import UiContext, error_text
from ui.i18n import tr
from ui.models import ResultsModel, gender_text
from ui.modes.board import ResultsBoard
from ui.modes.print_results import PrintOptions, PrintResultsDialog
from ui.modes.runner_detail import RunnerDetail, explain
from ui.snapshots import EventInfo, ResultsSnapshot
from ui.views import HintTableView
from ui.workers import BackgroundTask


class ReportRun(QObject):
    """Progress dialog for one report; its slots receive the task's signals on the GUI thread."""

    done = Signal(str)

    def __init__(self, title: str, total: int, parent: QWidget) -> None:
        super().__init__(parent)
        self.dlg = QProgressDialog(title, tr("Cancel"), 0, max(1, total), parent)
        self.dlg.setWindowModality(Qt.WindowModality.WindowModal)
        self.dlg.setMinimumDuration(300)

    def attach(self, task: BackgroundTask) -> None:
        task.progress.connect(self.on_progress)
        task.finished.connect(self.on_finished)
        task.failed.connect(self.on_failed)
        self.dlg.canceled.connect(task.cancel)

    def on_progress(self, done: int, total: int) -> None:
        self.dlg.setMaximum(max(1, total))
        self.dlg.setValue(done)

    def on_finished(self, out: object) -> None:
        self.dlg.reset()
        self.done.emit(tr("Saved {file}.").format(file=out))

    def on_failed(self, msg: str) -> None:
        self.dlg.reset()
        self.done.emit(tr("Not saved: {m}").format(m=msg))


class ResultsMode(QWidget):
    detail_ready = Signal(object)

    def __init__(self, ctx: UiContext) -> None:
        super().__init__()
        self.ctx = ctx
        self.board: ResultsBoard | None = None
        self.task: BackgroundTask | None = None
        outer = QVBoxLayout(self)
        bar = QHBoxLayout()
        self.race = QComboBox()
        self.race.setAccessibleName(tr("Race"))
        self.gender = QComboBox()
        self.gender.setAccessibleName(tr("Gender"))
        self.category = QComboBox()
        self.category.setAccessibleName(tr("Category"))
        self.search = QLineEdit()
        self.search.setPlaceholderText(tr("Search bib, name or club (Ctrl+F)"))
        self.search.setAccessibleName(tr("Search results"))
        self.search.setClearButtonEnabled(True)
        for label, w in ((tr("Race"), self.race), (tr("Gender"), self.gender), (tr("Category"), self.category)):
            bar.addWidget(QLabel(label))
            bar.addWidget(w)
        bar.addWidget(self.search, 1)
        outer.addLayout(bar)
        self.model = ResultsModel(self)
        self.view = HintTableView(tr("Results appear here as runners cross the finish (load the event and "
                                     "participants in Setup first)."))
        self.view.setAccessibleName(tr("Leaderboard"))
        self.view.setModel(self.model)
        self.view.setSortingEnabled(True)
        self.view.horizontalHeader().setSortIndicator(-1, Qt.SortOrder.AscendingOrder)
        self.view.setAlternatingRowColors(True)
        self.view.verticalHeader().hide()
        self.view.verticalHeader().setDefaultSectionSize(30)
        self.view.setSelectionBehavior(QTableView.SelectionBehavior.SelectRows)
        self.view.setSelectionMode(QTableView.SelectionMode.SingleSelection)
        self.view.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        self.view.horizontalHeader().setStretchLastSection(True)
        self.view.doubleClicked.connect(lambda _ix: self.open_detail())
        outer.addWidget(self.view, 1)
        self.summary = QLabel("")
        outer.addWidget(self.summary)
        acts = QHBoxLayout()

        def button(text: str, fn: Any, tip: str = "", name: str = "") -> QPushButton:
            b = QPushButton(text)
            b.setAccessibleName(text)
            if tip:
                b.setToolTip(tip)
            if name:
                b.setObjectName(name)
            b.clicked.connect(fn)
            acts.addWidget(b)
            return b

        button(tr("Runner detail"), self.open_detail, tr("Splits, pace and the reads behind each crossing (Enter)"))
        button(tr("DQ…"), lambda: self.status_correction("dq"), tr("Disqualify (supervisor)"), "danger")
        button(tr("DNF…"), lambda: self.status_correction("dnf"))
        button(tr("DNS…"), lambda: self.status_correction("dns"))
        button(tr("Reinstate…"), lambda: self.status_correction("reinstate"))
        button(tr("Adjust time…"), self.adjust_time)
        button(tr("Chip swap…"), self.chip_swap)
        acts.addStretch(1)
        button(tr("Results board"), self.open_board, tr("Full-screen board for a second monitor (F11)"))
        button(tr("Print PDF…"), self.print_pdf)
        button(tr("Export…"), self.export)
        outer.addLayout(acts)
        self.status = QLabel("")
        self.status.setWordWrap(True)
        outer.addWidget(self.status)
        self.race.currentIndexChanged.connect(self._race_changed)
        self.gender.currentIndexChanged.connect(lambda _i: self.model.set_filter(gender=self.gender.currentData()))
        self.category.currentIndexChanged.connect(
            lambda _i: self.model.set_filter(category=self.category.currentData()))
        self.search.textChanged.connect(lambda t: self.model.set_filter(text=t))
        self.model.modelReset.connect(self._update_summary)
        QShortcut(QKeySequence("Ctrl+F"), self, activated=self.search.setFocus)
        QShortcut(QKeySequence("F11"), self, activated=self.open_board)
        QShortcut(QKeySequence(Qt.Key.Key_Return), self.view, activated=self.open_detail)

    # ------------------------------------------------------------------ data in
    def set_event(self, ev: EventInfo) -> None:
        cur = self.race.currentData()
        self.race.blockSignals(True)
        self.race.clear()
        for r in ev.races:
            self.race.addItem(r.name, r.id)
        self.race.addItem(tr("All races"), None)
        i = self.race.findData(cur) if cur else 0
        self.race.setCurrentIndex(max(0, i))
        self.race.blockSignals(False)
        self._race_changed()

    def _race_changed(self, *_a: Any) -> None:
        self.model.set_filter(race=self.race.currentData())
        self._fill_choices()

    def _fill_choices(self) -> None:
        for combo, values in ((self.gender, self.model.genders()), (self.category, self.model.categories())):
            cur = combo.currentData()
            have = [combo.itemData(i) for i in range(1, combo.count())]
            if have == values and combo.count():
                continue
            combo.blockSignals(True)
            combo.clear()
            combo.addItem(tr("All"), None)
            for v in values:
                combo.addItem(gender_text(v) if combo is self.gender else v, v)
            i = combo.findData(cur) if cur else 0
            combo.setCurrentIndex(max(0, i))
            combo.blockSignals(False)

    def set_snapshot(self, snap: ResultsSnapshot) -> None:
        reg = self.selected_registration()
        self.model.set_snapshot(snap)
        self._fill_choices()
        if self.board is not None and self.board.isVisible():
            self._feed_board()
        if reg:
            r = self.model.row_of_registration(reg)
            if r >= 0:
                self.view.selectionModel().select(
                    self.model.index(r, 0),
                    QItemSelectionModel.SelectionFlag.ClearAndSelect | QItemSelectionModel.SelectionFlag.Rows)

    def _update_summary(self) -> None:
        rows = [self.model.all[i] for i in self.model.view]
        fin = sum(1 for r in rows if r[8] == "finished")
        run = sum(1 for r in rows if r[8] == "running")
        self.summary.setText(tr("{n} runners shown · {f} finished · {r} running").format(n=len(rows), f=fin, r=run))

    def selected_registration(self) -> str | None:
        sm = self.view.selectionModel()
        ix = sm.selectedRows() if sm else []
        return self.model.registration_at(ix[0].row()) if ix else None

    # ------------------------------------------------------------------ detail
    def open_detail(self, reg: str | None = None, show: bool = True) -> None:
        reg = reg or self.selected_registration()
        if not reg:
            self.status.setText(tr("Select a runner first."))
            return

        def done(data: dict[str, Any]) -> None:
            self.detail_ready.emit(data)
            if show:
                RunnerDetail(self.ctx, data, self._ignore, self).exec()

        self.ctx.client.call(lambda d: explain(d, reg), done, lambda e: self.status.setText(error_text(e)))

    def _ignore(self, uuid: str, parent: QWidget) -> None:
        if self.ctx.supervisor(parent, tr("Ignoring a crossing")):
            reason = tr("ignored in the results screen")
            self._correction("ignore", lambda d: d.timing.target("ignore", uuid, reason))

    # ------------------------------------------------------------------ corrections
    def _correction(self, action: str, command: Callable[[Any], Any]) -> None:
        """Run a timing command (station.timing.commands: its checks, its entry) on the domain worker."""
        self.ctx.client.call(lambda d: command(d).uuid,
                             lambda _u: self.status.setText(tr("Correction recorded: {a}").format(a=action)),
                             lambda e: self.status.setText(error_text(e)))

    def _selected_row(self) -> tuple[Any, ...] | None:
        sm = self.view.selectionModel()
        ix = sm.selectedRows() if sm else []
        if not ix:
            self.status.setText(tr("Select a runner first."))
            return None
        return self.model.row(ix[0].row())

    def status_correction(self, action: str, reason: str | None = None) -> None:
        row = self._selected_row()
        if row is None:
            return
        label = {"dq": tr("Disqualify"), "dnf": tr("Mark DNF"), "dns": tr("Mark DNS"),
                 "reinstate": tr("Reinstate")}[action]
        what = f"{label}: {tr('Bib')} {row[2]} {row[3]}"
        if not self.ctx.supervisor(self, what):
            return
        if reason is None:
            reason, ok = QInputDialog.getText(self, what, tr("Reason (shown in the log):"))
            if not ok:
                return
        bib = row[2]
        self._correction(action, lambda d: d.timing.set_status(bib, action, reason))

    def adjust_time(self, text: str | None = None) -> None:
        row = self._selected_row()
        if row is None:
            return
        what = tr("Adjust the finish time of bib {bib}").format(bib=row[2])
        if not self.ctx.supervisor(self, what):
            return
        if text is None:
            text, ok = QInputDialog.getText(self, what, tr("Add or remove time, e.g. +0:01:00 or -0:00:02.5:"))
            if not ok:
                return
        try:
            delta = parse_delta(text)
        except CommandError:
            self.status.setText(tr("Not a time: {t}").format(t=text))
            return
        bib = row[2]
        self._correction("adjust", lambda d: d.timing.adjust(bib, delta))

    def chip_swap(self, chip: str | None = None) -> None:
        row = self._selected_row()
        if row is None:
            return
        what = tr("Give bib {bib} another chip").format(bib=row[2])
        if not self.ctx.supervisor(self, what):
            return
        if chip is None:
            chip, ok = QInputDialog.getText(self, what, tr("Chip id (counts from now on):"))
            if not ok or not chip.strip():
                return
        bib, chip, at = row[2], chip.strip(), self.ctx.now_ms()
        self._correction("chip_swap", lambda d: d.timing.chip_swap(bib, chip, at))

    # ------------------------------------------------------------------ board, print, export
    def open_board(self) -> None:
        if self.board is None:
            self.board = ResultsBoard(self.ctx.clock, self.race.currentText(), self.ctx.now_ms)
        screens = self.screen().virtualSiblings() if self.screen() else []
        if len(screens) > 1:
            self.board.setGeometry(screens[-1].geometry())
        self._feed_board()
        self.board.showFullScreen()

    def _feed_board(self) -> None:
        if self.board is not None:
            self.board.set_title(self.race.currentText())
            self.board.set_rows(self.model.all, self.race.currentData())

    def _run_report(self, title: str, render: Any) -> None:
        race = self.race.currentData()

        def fetched(payload: tuple[list[dict[str, Any]], dict[str, Any], list[str]]) -> None:
            rows, event, split_keys = payload
            self.report = ReportRun(title, len(rows), self)
            self.report.done.connect(self.status.setText)
            task = BackgroundTask(lambda prog: render(rows, event, split_keys, prog), self)
            self.report.attach(task)
            self.task = task.start()

        def job(d: Any) -> tuple[list[dict[str, Any]], dict[str, Any], list[str]]:
            if d.engine.config is None:
                raise UserError(tr("No event loaded."))
            return d.engine.rows(race), d.engine.config.payload, d.engine.split_columns()

        self.ctx.client.call(job, fetched, lambda e: self.status.setText(error_text(e)))

    def print_pdf(self, path: str | None = None, options: PrintOptions | None = None) -> None:
        """Print a results list of the selected race: the list and its options first, then the file."""
        if options is None:
            dlg = PrintResultsDialog(self)
            if dlg.exec() != QDialog.DialogCode.Accepted:
                return
            options = dlg.options()
        if options.official and not self.ctx.supervisor(self, tr("Print official results")):
            return
        if not path:
            path, _ = QFileDialog.getSaveFileName(self, tr("Save results PDF"), f"results-{options.mode}.pdf",
                                                  "PDF (*.pdf)")
        if not path:
            return
        race = self.race.currentData()

        def render(rows: list[dict[str, Any]], event: dict[str, Any], _keys: list[str], prog: Any) -> str:
            from station.reports.results_pdf import render_results

            render_results(path, rows, event, race=race, mode=options.mode, top=options.top,
                           exclusive=options.exclusive, official=options.official, progress=prog)
            return path

        self._run_report(tr("Printing results…"), render)

    def export(self, path: str | None = None) -> None:
        if not path:
            path, _ = QFileDialog.getSaveFileName(self, tr("Export results"), "results.csv",
                                                  "CSV (*.csv);;Excel (*.xlsx);;JSON (*.json)")
        if not path:
            return
        fmt = Path(path).suffix.lstrip(".").lower() or "csv"

        def render(rows: list[dict[str, Any]], event: dict[str, Any], keys: list[str], _prog: Any) -> str:
            from station.reports.exports import export_results

            export_results(rows, path, fmt, event=event, split_keys=keys,
                           generated_at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"))
            return path

        if fmt not in ("csv", "xlsx", "json"):
            QMessageBox.warning(self, tr("Export results"), tr("Choose a .csv, .xlsx or .json file."))
            return
        self._run_report(tr("Exporting results…"), render)
