"""Sync: the ledger connection at a glance — online or offline, entries waiting, last sync — and the
buttons to start, stop or sync now. The sync engine (`station.sync`) runs on its own thread; its status
reaches this screen through the domain worker's periodic status signal."""

from __future__ import annotations

from typing import Any

from PySide6.QtWidgets import QFormLayout, QGroupBox, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from ui.context import UiContext, error_text
from ui.i18n import tr
from ui.snapshots import SyncInfo


def start_sync(d: Any, url: str, token: str) -> str:
    from station.sync import SyncEngine

    if d.sync is not None:
        d.sync.close()
    d.sync = SyncEngine(d.store, url, token)
    d.sync.start()
    return url


def stop_sync(d: Any) -> None:
    if d.sync is not None:
        d.sync.close()
        d.sync = None


class SyncMode(QWidget):
    def __init__(self, ctx: UiContext) -> None:
        super().__init__()
        self.ctx = ctx
        lay = QVBoxLayout(self)
        box = QGroupBox(tr("Ledger sync"))
        f = QFormLayout(box)
        self.state = QLabel("—")
        self.state.setObjectName("big")
        self.waiting = QLabel("0")
        self.last = QLabel(tr("never"))
        self.ledger = QLabel("")
        self.error = QLabel("")
        self.error.setWordWrap(True)
        self.error.setStyleSheet("color: #c5221f; font-weight: 700;")
        for label, w in ((tr("State"), self.state), (tr("Entries waiting"), self.waiting),
                         (tr("Last sync"), self.last), (tr("Ledger"), self.ledger), (tr("Problem"), self.error)):
            w.setAccessibleName(label)
            f.addRow(label, w)
        lay.addWidget(box)
        row = QHBoxLayout()
        self.b_start = QPushButton(tr("Start sync"))
        self.b_stop = QPushButton(tr("Stop sync"))
        self.b_now = QPushButton(tr("Sync now"))
        self.b_start.clicked.connect(self.start)
        self.b_stop.clicked.connect(lambda: ctx.client.call(stop_sync))
        self.b_now.clicked.connect(lambda: ctx.client.call(lambda d: d.sync.wake() if d.sync else None))
        for b in (self.b_start, self.b_stop, self.b_now):
            b.setAccessibleName(b.text())
            row.addWidget(b)
        row.addStretch(1)
        lay.addLayout(row)
        hint = QLabel(tr("The station works offline; everything is kept and sent when the network returns."))
        hint.setObjectName("hint")
        hint.setWordWrap(True)
        lay.addWidget(hint)
        lay.addStretch(1)

    def start(self) -> None:
        url = str(self.ctx.settings.value("sync/ledger", "") or "")
        from ui.tokens import load_token

        token = load_token(self.ctx.settings)
        if not url or not token:
            self.error.setText(tr("Set the ledger URL and station token in Setup first."))
            return
        self.ctx.client.call(lambda d: start_sync(d, url, token),
                             lambda u: self.ledger.setText(u), lambda e: self.error.setText(error_text(e)))

    def set_sync(self, info: SyncInfo) -> None:
        names = {"off": tr("Not configured"), "starting": tr("Starting"), "syncing": tr("Syncing"),
                 "online": tr("Online"), "offline": tr("Offline"), "error": tr("Error"), "stopped": tr("Stopped")}
        self.state.setText(names.get(info.state, info.state))
        self.waiting.setText(str(info.waiting))
        self.last.setText(self.ctx.clock.hms(info.last_sync_ms, tenths=False) if info.last_sync_ms else tr("never"))
        self.error.setText(info.last_error or "")
