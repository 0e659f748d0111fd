"""Race-day actions at a check-in desk: walk-up registration, bib / race / wave change, ticket
revocation and the reprint of one ticket.

Why here and thin: the rules (the desk's reserved bib pool, a bib already taken, a race without that
wave, which tickets a revocation hits) live in `station.checkin.desk.CheckinDesk`; these are its dialogs and
the worker jobs that call it. Changing another runner's data (bib, race, revocation, a reprint that
replaces earlier tickets) needs the supervisor PIN; a walk-up adds a new runner and does not.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QVBoxLayout,
    QWidget,
)

from station.errors import CommandError, UserError
from ui.i18n import tr
from ui.snapshots import EventInfo

GENDERS = (("M", "Male"), ("F", "Female"), ("X", "Not specified"))


# ------------------------------------------------------------------------------- worker jobs
def walk_up(d: Any, values: dict[str, Any]) -> Any:
    return d.desk.walk_up(**values)


def change(d: Any, reg: str, *, bib: str | None, race: str | None, wave: str | None, reason: str) -> Any:
    return d.desk.change_participant(reg, bib=bib, race=race, wave=wave, reason=reason)


def revoke(d: Any, reg: str, reason: str, before_s: int) -> str:
    """Revoke every ticket of the registration issued before `before_s` (a reprint after it still works)."""
    d.desk.revoke(registration_id=reg, issued_before=before_s, reason=reason)
    return reg


def reprint(d: Any, reg: str, key_path: str) -> tuple[dict[str, Any], str, dict[str, Any]]:
    """Sign a new ticket for one runner and revoke the earlier ones. Returns (participant, token, event)."""
    from station.checkin import tickets

    cfg = d.engine.config
    if cfg is None:
        raise UserError(tr("No event loaded."))
    if not key_path:
        raise UserError(tr("Set the organizer's signing key file in Setup first."))
    p = d.desk.state.participant(reg)
    if p is None:
        raise UserError(tr("Registration {reg} is not in this station's list.").format(reg=reg))
    key = tickets.load_private_key(Path(key_path))
    now_s = d.desk.now_ms() // 1000
    try:
        ((_p, _claims, token),) = tickets.sign_tickets(cfg.payload, key, [p], now_s=now_s)
    except CommandError:
        raise UserError(tr("This signing key was revoked: use a new key.")) from None
    except tickets.ExpiredTicketsError:
        raise UserError(tr("Tickets for this event expired after {date}: a desk cannot reprint them. "
                           "The organizer can sign new ones with an expiry date (tickets issue --expires)."
                           ).format(date=cfg.date.isoformat())) from None
    d.desk.revoke_earlier([reg], now_s, "reprinted at the desk")
    return dict(p), token, cfg.payload


def render_ticket(path: str, p: dict[str, Any], token: str, event: dict[str, Any], show_names: bool,
                  prog: Any) -> str:
    """Background thread: the one-ticket sheet (the same renderer as `report tickets`)."""
    from station.reports.tickets_pdf import render_tickets

    render_tickets(path, [(p, token)], event, show_names=show_names, progress=prog)
    return path


# ------------------------------------------------------------------------------- dialogs
def _buttons(dlg: QDialog, ok: str) -> QDialogButtonBox:
    bb = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
    bb.button(QDialogButtonBox.StandardButton.Ok).setText(ok)
    bb.button(QDialogButtonBox.StandardButton.Cancel).setText(tr("Cancel"))
    bb.accepted.connect(dlg.accept)
    bb.rejected.connect(dlg.reject)
    return bb


class RaceWave:
    """A race combo and the wave combo that follows it."""

    def __init__(self, event: EventInfo, race: str = "", wave: str = "", *, keep_wave: bool = False) -> None:
        self.event = event
        self.race = QComboBox()
        self.race.setAccessibleName(tr("Race"))
        self.wave = QComboBox()
        self.wave.setAccessibleName(tr("Wave"))
        for r in event.races:
            self.race.addItem(r.name, r.id)
        self.race.setCurrentIndex(max(0, self.race.findData(race)))
        self.race.currentIndexChanged.connect(self._fill_waves)
        self._fill_waves()
        if wave:
            self.wave.setCurrentIndex(max(0, self.wave.findData(wave)))

    def check(self) -> None:
        if self.wave.count() > 1 and not self.wave.currentData():
            raise UserError(tr("Choose the wave."))

    def _fill_waves(self, *_a: Any) -> None:
        rid = self.race.currentData()
        self.wave.clear()
        race = next((r for r in self.event.races if r.id == rid), None)
        waves = [w for w, _ in race.waves] if race else []
        if len(waves) != 1:
            self.wave.addItem(tr("(none)") if not waves else tr("(choose)"), "")
        for w in waves:
            self.wave.addItem(w, w)


class WalkUpDialog(QDialog):
    """A runner registering on race day: the bib comes from this desk's reserved pool."""

    def __init__(self, event: EventInfo, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(tr("Walk-up registration"))
        self.setMinimumWidth(460)  # the date hint and a Chinese name fit without cutting
        lay = QVBoxLayout(self)
        hint = QLabel(tr("The bib is taken from this desk's reserved walk-up bibs."))
        hint.setWordWrap(True)
        lay.addWidget(hint)
        f = QFormLayout()
        self.name = QLineEdit()
        self.gender = QComboBox()
        for k, label in GENDERS:
            self.gender.addItem(tr(label), k)
        self.birth = QLineEdit()
        self.birth.setPlaceholderText(tr("YYYY-MM-DD (for the age category)"))
        self.rw = RaceWave(event)
        self.phone = QLineEdit()
        self.club = QLineEdit()
        for label, w in ((tr("Name"), self.name), (tr("Gender"), self.gender), (tr("Birth date"), self.birth),
                         (tr("Race"), self.rw.race), (tr("Wave"), self.rw.wave), (tr("Phone"), self.phone),
                         (tr("Club"), self.club)):
            w.setAccessibleName(label)
            f.addRow(label, w)
        lay.addLayout(f)
        self.error = QLabel("")
        self.error.setObjectName("error")
        self.error.setWordWrap(True)
        lay.addWidget(self.error)
        lay.addWidget(_buttons(self, tr("Register and check in")))

    def accept(self) -> None:
        try:
            self.values()
        except UserError as e:
            self.error.setText(str(e))
            return
        super().accept()

    def values(self) -> dict[str, Any]:
        """The form as `CheckinDesk.walk_up` keywords (raises UserError on a form mistake)."""
        name = self.name.text().strip()
        if not name:
            raise UserError(tr("Type the runner's name."))
        birth = self.birth.text().strip()
        if birth:
            try:
                dt.date.fromisoformat(birth)
            except ValueError:
                raise UserError(tr("Birth date: use YYYY-MM-DD, e.g. 1990-05-31.")) from None
        if not self.rw.race.currentData():
            raise UserError(tr("Load the event first."))
        self.rw.check()
        return {"name": name, "gender": self.gender.currentData(), "birth_date": birth,
                "race": self.rw.race.currentData(), "wave": self.rw.wave.currentData() or "",
                "phone": self.phone.text().strip(), "club": self.club.text().strip()}


class ChangeDialog(QDialog):
    """Bib, race or wave change for one runner (a supervisor confirms with the PIN)."""

    def __init__(self, event: EventInfo, who: Any, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.who = who
        self.setWindowTitle(tr("Change bib, race or wave"))
        self.setMinimumWidth(420)
        lay = QVBoxLayout(self)
        lay.addWidget(QLabel(f"{tr('Bib')} {who.bib} · {who.name} · {who.race} {who.wave}"))
        f = QFormLayout()
        self.bib = QLineEdit(who.bib)
        self.rw = RaceWave(event, who.race, who.wave)
        self.reason = QLineEdit()
        self.reason.setPlaceholderText(tr("e.g. moved up to the 10 km"))
        for label, w in ((tr("Bib"), self.bib), (tr("Race"), self.rw.race), (tr("Wave"), self.rw.wave),
                         (tr("Reason"), self.reason)):
            w.setAccessibleName(label)
            f.addRow(label, w)
        lay.addLayout(f)
        self.error = QLabel("")
        self.error.setObjectName("error")
        self.error.setWordWrap(True)
        lay.addWidget(self.error)
        lay.addWidget(_buttons(self, tr("Save change")))

    def accept(self) -> None:
        try:
            self.rw.check()
        except UserError as e:
            self.error.setText(str(e))
            return
        super().accept()

    def changes(self) -> dict[str, Any]:
        """Only what differs (None = unchanged), as `CheckinDesk.change_participant` keywords."""
        bib = self.bib.text().strip()
        race = self.rw.race.currentData()
        wave = self.rw.wave.currentData() or ""
        w = self.who
        race_changed = race is not None and race != w.race
        return {"bib": bib if bib and bib != w.bib else None,
                "race": race if race_changed else None,
                "wave": wave if (race_changed or wave != w.wave) else None,
                "reason": self.reason.text().strip()}


class ReasonDialog(QDialog):
    """A question with a reason to log (revocation)."""

    def __init__(self, title: str, text: str, ok: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(title)
        lay = QVBoxLayout(self)
        msg = QLabel(text)
        msg.setWordWrap(True)
        lay.addWidget(msg)
        self.reason = QLineEdit()
        self.reason.setAccessibleName(tr("Reason"))
        self.reason.setPlaceholderText(tr("Reason (shown in the log)"))
        lay.addWidget(self.reason)
        lay.addWidget(_buttons(self, ok))
