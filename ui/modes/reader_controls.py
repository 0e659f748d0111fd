"""The Timing screen's reader controls: the readers' states as they arrive, Connect (and what came of
it), Stop, Set clock offset, Ask to resend, Replay a capture file, and the selected reader's problem in
full. Mixed into `ui.modes.timing.TimingMode`, which builds the widgets named here; the work itself runs
on the domain worker (`ui.modes.reader_jobs`).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from PySide6.QtWidgets import QFileDialog, QLabel, QTableView, QWidget

from station.timing.captures import import_file
from station.timing.reader_health import connection_problem
from ui.context import UiContext, error_text
from ui.i18n import tr
from ui.modes.reader_jobs import ask_resend, binding_from_config, confirm_clock, start_reader, stop_reader
from ui.readers_model import ReadersModel, reader_problem
from ui.snapshots import ReaderState


class ReaderControls(QWidget):
    """Mixed into `TimingMode`."""

    ctx: UiContext
    states: tuple[ReaderState, ...]
    connecting: dict[str, float]
    readers: ReadersModel
    readers_view: QTableView
    reader_problem: QLabel
    manual_status: QLabel

    def set_readers(self, states: tuple[ReaderState, ...]) -> None:
        sel = self.selected_reader()
        self.states = states
        self.readers.set_rows(states)
        if sel:
            for i, s in enumerate(states):
                if s.id == sel:
                    self.readers_view.selectRow(i)
        for s in states:
            if s.id in self.connecting:
                self._connect_outcome(s)
        self._show_reader_problem()

    def _connect_outcome(self, s: ReaderState) -> None:
        """After Connect: say whether the reader came up, or why not (its state stays Disconnected)."""
        if s.connected:
            self.connecting.pop(s.id, None)
            self._report(tr("Reader {id} connected on {port}.").format(id=s.id, port=s.address))
        elif (s.connection and s.connection != "not opened yet") or time.monotonic() > self.connecting[s.id]:
            self.connecting.pop(s.id, None)
            self._report(tr("Reader {id} is not connected: {problem}").format(
                id=s.id, problem=reader_problem(s) or tr("no answer yet; check the cable and the port in Setup.")))

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
        port = str(cfg.get("port") or cfg.get("listen") or "")

        def started(r: str) -> None:
            self.connecting[r] = time.monotonic() + 5.0  # the next reader states tell how it went
            self._report(tr("Connecting reader {id} on {port}…").format(id=r, port=port))

        def failed(e: Any) -> None:
            words = error_text(e)
            if getattr(e, "template", None) is None:  # a driver's reason (cannot listen…): in words
                template, params = connection_problem(str(e))
                words = tr(template).format(**params) if template != "{why}" else words
            self._report(tr("Reader {id} did not start: {problem}").format(id=cfg.get("id"), problem=words))

        self.ctx.client.call(lambda d: start_reader(d, cfg), started, failed)

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

    def _show_reader_problem(self) -> None:
        sel = self.selected_reader()
        troubled = [(s.id, reader_problem(s)) for s in self.states if reader_problem(s)]
        shown = next(((rid, p) for rid, p in troubled if rid == sel), troubled[0] if troubled else None)
        self.reader_problem.setVisible(shown is not None)
        if shown is not None:
            self.reader_problem.setText(f"✖ {shown[0]}: {shown[1]}")

