"""The check-in screen's parts: the scan input (keyboard-wedge aware), the verdict panel and the
inline ID check — widgets only; `ui.modes.checkin.CheckinMode` wires them to the desk.
"""

from __future__ import annotations

import time
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import (
    QApplication,
    QComboBox,
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
)

from drivers.scanner import WedgeDetector
from station.checkin.codes import desk_action
from ui.i18n import tr

VERDICT_STYLE = {
    "ok": ("#1e8e3e", "#ffffff", "OK — hand over the bib"),
    "already": ("#f9ab00", "#000000", "ALREADY CHECKED IN"),
    "invalid": ("#d93025", "#ffffff", "INVALID TICKET"),
    "unknown": ("#1a73e8", "#ffffff", "NOT IN LIST — accepted, flagged"),
    "idle": ("#e8eaed", "#202124", "Scan a ticket or type a bib or name"),
}
IDLE_DARK = ("#2a2d33", "#e8eaed")  # the neutral panel in the dark theme (verdict colours stay)


# Refusal reasons by problem code (station.checkin.tickets / station.checkin), so the desk speaks its language;
# an unknown code falls back to the core's English reason.
PROBLEMS = {
    "bad_signature": "Signature does not match: the ticket was altered or forged",
    "empty": "Empty code",
    "garbage": "Not a WO.RUN ticket (damaged or unreadable code)",
    "missing_claim": "The ticket is missing information",
    "no_kid": "The ticket names no signing key",
    "unknown_kid": "The ticket was signed with a key this event does not know",
    "revoked_key": "The ticket's signing key was revoked",
    "other_event": "This ticket is for another event",
    "expired": "The ticket has expired",
    "not_yet_valid": "The ticket is not valid yet",
    "revoked": "This ticket was revoked",
    "oversized": "Not a WO.RUN ticket (the code is far too long)",
    "bad_alg": "Not a WO.RUN ticket (signed another way)",
    "bad_event_key": "The event file's signing key is broken: tell the organizer",
}


def reason_text(v: Any) -> str:
    key = PROBLEMS.get(v.problem)
    return tr(key) if key else v.reason


class ScanInput(QLineEdit):
    """Keyboard-wedge aware input: emits `scanned(code)` for tickets, `query(text)` for lookups.

    A search keeps its text (selected, so the next key or scan replaces it); Up/Down move through the
    search results (`navigate`)."""

    scanned = Signal(str)
    query = Signal(str)
    navigate = Signal(int)

    def __init__(self) -> None:
        super().__init__()
        self.setObjectName("scanInput")
        self.setAccessibleName(tr("Scan or search"))
        self.setPlaceholderText(tr("Scan a ticket, or type a bib or name and press Enter"))
        self.detector = WedgeDetector()

    def keyPressEvent(self, ev: QKeyEvent) -> None:
        t = time.monotonic()
        key = ev.key()
        if key in (Qt.Key.Key_Return, Qt.Key.Key_Enter, Qt.Key.Key_Tab):
            code = self.detector.feed("\r", t)
            text = self.text().strip()
            self.detector.reset()
            got = code if code and code in text else text
            if not got:
                self.clear()
            elif desk_action(got, burst=bool(code)) == "scan":
                self.clear()
                self.scanned.emit(got)
            else:
                self.setText(got)
                self.selectAll()
                self.query.emit(got)
            return
        if key in (Qt.Key.Key_Up, Qt.Key.Key_Down):
            self.navigate.emit(-1 if key == Qt.Key.Key_Up else 1)
            return
        if ev.text():
            self.detector.feed(ev.text(), t)
        super().keyPressEvent(ev)


class VerdictPanel(QFrame):
    """Full width, large type: green ok, amber already, red invalid, blue unknown."""

    def __init__(self) -> None:
        super().__init__()
        self.setAccessibleName(tr("Verdict"))
        self.status = "idle"
        lay = QVBoxLayout(self)
        lay.setContentsMargins(24, 16, 24, 16)
        self.title = QLabel()
        self.title.setObjectName("big")
        self.title.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.who = QLabel()
        self.who.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.who.setWordWrap(True)
        self.detail = QLabel()
        self.detail.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.detail.setWordWrap(True)
        self.offline = QLabel()
        self.offline.setAlignment(Qt.AlignmentFlag.AlignCenter)
        for w in (self.title, self.who, self.detail, self.offline):
            w.setStyleSheet("background: transparent;")
            lay.addWidget(w)
        self.slot = lay  # the inline ID check sits here, under the runner it is about
        self.show_idle()

    def _paint(self, status: str) -> None:
        bg, fg, _ = VERDICT_STYLE[status]
        app = QApplication.instance()
        if status == "idle" and app is not None and app.property("worun_theme") == "dark":
            bg, fg = IDLE_DARK
        self.status = status
        self.setStyleSheet(f"QFrame {{ background: {bg}; border-radius: 10px; }} QLabel {{ color: {fg}; }}")
        fs = QApplication.font().pixelSize() if QApplication.font().pixelSize() > 0 else 16
        self.title.setStyleSheet(f"background: transparent; color: {fg}; font-size: {int(fs * 3)}px; font-weight: 800;")
        self.who.setStyleSheet(f"background: transparent; color: {fg}; font-size: {int(fs * 2)}px; font-weight: 700;")
        self.detail.setStyleSheet(f"background: transparent; color: {fg}; font-size: {int(fs * 1.3)}px;")

    def _fit(self) -> None:
        """Empty lines take no room (the panel must fit a 1366×768 laptop with the ID check open)."""
        for w in (self.who, self.detail, self.offline):
            w.setVisible(bool(w.text()))

    def show_idle(self) -> None:
        self._paint("idle")
        self.title.setText(tr(VERDICT_STYLE["idle"][2]))
        self.who.setText("")
        self.detail.setText("")
        self.offline.setText("")
        self._fit()

    def show_verdict(self, v: Any, offline: str = "") -> None:
        status = v.status if v.status in VERDICT_STYLE else "invalid"
        self._paint(status)
        self.title.setText(tr(VERDICT_STYLE[status][2]))
        p = v.participant
        if p is not None:
            wave = f" · {tr('Wave')} {p.wave}" if p.wave else ""
            self.who.setText(f"{p.name}\n{tr('Bib')} {p.bib} · {p.race}{wave}")
        elif v.claims.get("sub"):
            self.who.setText(f"{tr('Bib')} {v.claims.get('bib') or '?'} · {v.claims.get('race') or ''}")
        else:
            self.who.setText("")
        lines = []
        if status == "already" and v.previous is not None:
            lines.append(tr("Checked in at {t} at desk {desk} by {op}").format(
                t=v.previous.at_text, desk=v.previous.desk, op=v.previous.operator or "—"))
        elif status == "invalid":
            lines.append(tr("Reason: {r}").format(r=reason_text(v)))
            lines.append(tr("Check the runner's ID, then type their bib or name to check them in without a ticket."))
        elif status == "unknown":
            lines.append(tr("Registration {reg} is not in this station's list.").format(reg=v.claims.get("sub", "")))
        lines += list(v.differences)
        self.detail.setText("\n".join(lines))
        self.offline.setText(offline)
        self._fit()

    def show_message(self, status: str, title: str, detail: str = "", who: str = "") -> None:
        self._paint(status)
        self.title.setText(title)
        self.who.setText(who)
        self.detail.setText(detail)
        self.offline.setText("")
        self._fit()


class IdCheckPanel(QFrame):
    """Inline: a runner without a ticket, found by bib or search — check the ID, then one key."""

    REASONS = ("No ticket shown", "Phone battery dead", "Ticket lost", "Ticket will not scan", "Other")

    def __init__(self) -> None:
        super().__init__()
        self.setObjectName("idCheck")
        self.setAccessibleName(tr("ID check"))
        lay = QHBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addStretch(1)
        self.who = QLabel(tr("Why no ticket:"))
        self.who.setObjectName("idCheckWho")
        lay.addWidget(self.who)
        self.reason = QComboBox()
        self.reason.setEditable(True)
        self.reason.setAccessibleName(tr("Why is there no ticket?"))
        self.reason.setToolTip(tr("Why is there no ticket?"))
        for r in self.REASONS:
            self.reason.addItem(tr(r))
        lay.addWidget(self.reason)
        self.ok = QPushButton(tr("ID checked — check in (Enter)"))
        self.ok.setObjectName("primary")
        self.ok.setAccessibleName(tr("ID checked — check in"))
        self.cancel = QPushButton(tr("Cancel (Esc)"))
        for b in (self.ok, self.cancel):
            b.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # the scan input keeps the keyboard
            lay.addWidget(b)
        lay.addStretch(1)
        self.hide()
