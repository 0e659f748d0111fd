"""Sync: the ledger connection at a glance — online or offline, entries waiting, last sync — and the
buttons to start, stop or sync now. The sync engine (`station.sync.engine`) runs on its own thread; its status
reaches this screen through the domain worker's periodic status signal.

Why a separate outcome line: the status is refreshed twice a second, so a message written into it
(e.g. "set the ledger URL first") vanished before anyone could read it. What a button did stays in its
own line until the next button press; "Sync now" waits there for the round it asked for to finish.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtWidgets import QFormLayout, QGroupBox, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from station.errors import UserError
from ui.context import UiContext, error_text, sync_error_text
from ui.i18n import tr
from ui.snapshots import SyncInfo


def start_sync(d: Any, url: str, token: str) -> str:
    from station.sync.engine import SyncEngine

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
        self.last = QLabel(tr("never synced"))
        self.ledger = QLabel("")
        self.error = QLabel("")
        self.error.setWordWrap(True)
        self.error.setStyleSheet("color: #c5221f; font-weight: 700;")
        for label, w in ((tr("State"), self.state), (tr("Entries waiting"), self.waiting),
                         (tr("Last sync"), self.last), (tr("Ledger"), self.ledger), (tr("Problem"), self.error)):
            w.setAccessibleName(label)
            f.addRow(label, w)
        lay.addWidget(box)
        self._asked_at: int | None = None  # "Sync now" pressed at (UTC ms), waiting for that round
        row = QHBoxLayout()
        self.b_start = QPushButton(tr("Start sync"))
        self.b_stop = QPushButton(tr("Stop sync"))
        self.b_now = QPushButton(tr("Sync now"))
        self.b_start.clicked.connect(self.start)
        self.b_stop.clicked.connect(self.stop)
        self.b_now.clicked.connect(self.sync_now)
        for b in (self.b_start, self.b_stop, self.b_now):
            b.setAccessibleName(b.text())
            row.addWidget(b)
        row.addStretch(1)
        lay.addLayout(row)
        self.outcome = QLabel("")
        self.outcome.setObjectName("syncOutcome")
        self.outcome.setAccessibleName(tr("What the last button did"))
        self.outcome.setWordWrap(True)
        lay.addWidget(self.outcome)  # under the buttons
        hint = QLabel(tr("The station works offline; everything is kept and sent when the network returns."))
        hint.setObjectName("hint")
        hint.setWordWrap(True)
        lay.addWidget(hint)
        lay.addStretch(1)

    def say(self, text: str, bad: bool = False) -> None:
        """The outcome of the last button: stays until the next one."""
        self.outcome.setText(text)
        self.outcome.setStyleSheet("color: #c5221f; font-weight: 700;" if bad else "font-weight: 700;")

    def start(self) -> None:
        url = str(self.ctx.settings.value("sync/ledger", "") or "")
        from ui.tokens import load_token

        token = load_token(self.ctx.settings)
        self._asked_at = None
        if not url or not token:
            self.say(tr("Set the ledger URL and station token in Setup first."), bad=True)
            return
        self.say(tr("Starting sync with {url}…").format(url=url))

        def started(u: str) -> None:
            self.ledger.setText(u)
            self.say(tr("Sync started with {url}.").format(url=u))

        self.ctx.client.call(lambda d: start_sync(d, url, token), started,
                             lambda e: self.say(error_text(e), bad=True))

    def stop(self) -> None:
        self._asked_at = None
        self.ctx.client.call(stop_sync, lambda _r: self.say(tr("Sync stopped. Entries wait on this station.")))

    def sync_now(self) -> None:
        def job(d: Any) -> None:
            if d.sync is None:
                raise UserError(tr("Sync is not running: press Start sync first."))
            d.sync.wake()

        def failed(e: Any) -> None:
            self._asked_at = None
            self.say(error_text(e), bad=True)

        self._asked_at = self.ctx.now_ms()
        self.say(tr("Syncing now…"))
        self.ctx.client.call(job, None, failed)

    def set_sync(self, info: SyncInfo) -> None:
        names = {"off": tr("Not configured"), "starting": tr("Starting"), "syncing": tr("Syncing"),
                 "online": tr("Online"), "offline": tr("Offline"), "error": tr("Error"), "stopped": tr("Stopped")}
        self.state.setText(names.get(info.state, info.state))
        self.waiting.setText(str(info.waiting))
        self.last.setText(self.ctx.clock.hms(info.last_sync_ms, tenths=False) if info.last_sync_ms else tr("never synced"))
        self.error.setText(sync_error_text(info.last_error))
        asked = self._asked_at
        if asked is None:
            return
        if info.last_sync_ms and info.last_sync_ms >= asked:
            self._asked_at = None
            self.say(tr("Synced at {t}: {n} entries waiting.").format(
                t=self.ctx.clock.hms(info.last_sync_ms, tenths=False), n=info.waiting))
        elif self.ctx.now_ms() - asked > 15_000:
            self._asked_at = None
            self.say(tr("Not synced yet ({why}); the station keeps trying on its own.").format(
                why=sync_error_text(info.last_error) or names.get(info.state, info.state)), bad=True)
