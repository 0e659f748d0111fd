"""The check-in desk's race-day actions: walk-up registration (F2), bib / race / wave change (F3),
ticket revocation and the reprint of one ticket (F4) — the buttons under the verdict panel.

Why a part of its own: the screen (`ui.modes.checkin.CheckinMode`) is about scanning; these act on the
runner on screen (or a new one) through `station.checkin.CheckinDesk` (the jobs and dialogs are in
`ui.modes.desk_actions`). A walk-up the desk refuses reopens its form as it was filled, with the reason;
a desk that cannot register walk-ups (no bib pool) has F2 off with the reason as its tooltip.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QUrl
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import QFileDialog, QPushButton, QWidget

from ui.context import UiContext, error_text
from ui.i18n import tr
from ui.modes import desk_actions as acts
from ui.modes.checkin_panels import VerdictPanel
from ui.workers import BackgroundTask


class DeskActions(QWidget):
    """Mixed into `CheckinMode` (which builds the widgets named here)."""

    ctx: UiContext
    verdict: VerdictPanel
    b_walkup: QPushButton
    current: Any
    walkup_form: acts.WalkUpDialog | None
    action_done: Any
    show_verdict: Callable[[Any], None]
    _error: Callable[[Any], None]
    _set_current: Callable[[Any], None]
    focus_input: Callable[[], None]

    def _done_message(self, title: str, detail: str, action: str) -> None:
        self.verdict.show_message("idle", title, detail)
        self.action_done.emit(action)
        self.focus_input()

    def set_event(self, info: Any) -> None:
        """A desk without walk-up bibs (or with none left) cannot register walk-ups: F2 says why."""
        refusal = getattr(info, "walkup_refusal", None)
        self.b_walkup.setEnabled(refusal is None)
        self.b_walkup.setToolTip(error_text(refusal) if refusal is not None
                                 else tr("Register a runner who is not on the list (F2)"))

    def walk_up(self) -> None:
        """F2: the walk-up form; a refused registration reopens it as it was filled, with the reason."""
        if not self.b_walkup.isEnabled():
            self.verdict.show_message("invalid", tr("No walk-up registration at this desk"),
                                      self.b_walkup.toolTip())
            return
        if not self.ctx.event.races:
            self.verdict.show_message("invalid", tr("No event loaded."),
                                      tr("Load the event file in Setup first."))
            return
        if self.walkup_form is None:
            self.walkup_form = acts.WalkUpDialog(self.ctx.event, self)
        self._submit_walk_up(self.walkup_form)

    def _submit_walk_up(self, dlg: acts.WalkUpDialog) -> None:
        if not self.ctx.run_dialog(dlg):
            return  # cancelled: the form is kept for the next F2
        values = dlg.values()

        def done(v: Any) -> None:
            self.walkup_form = None
            self.show_verdict(v)
            self.verdict.detail.setText(tr("Walk-up registered: hand over bib {bib}.").format(bib=v.bib))
            self.verdict._fit()
            self.action_done.emit("walk_up")

        def refused(e: Any) -> None:
            self._error(e)
            dlg.error.setText(error_text(e))
            self._submit_walk_up(dlg)

        self.ctx.client.call(lambda d: acts.walk_up(d, values), done, refused)

    def change_runner(self) -> None:
        p = self.current
        if p is None:
            return
        dlg = acts.ChangeDialog(self.ctx.event, p, self)
        if not self.ctx.run_dialog(dlg):
            return
        ch = dlg.changes()
        if ch["bib"] is None and ch["race"] is None and ch["wave"] is None:
            self.verdict.show_message("idle", tr("Nothing changed."))
            return
        if not self.ctx.supervisor(self, tr("Changing bib {bib} ({name})").format(bib=p.bib, name=p.name)):
            return
        reg = p.registration_id

        def done(new: Any) -> None:
            self._set_current(new)
            self._done_message(tr("Changed — hand over bib {bib}").format(bib=new.bib),
                               f"{new.name} · {new.race} {new.wave}", "change")

        self.ctx.client.call(lambda d: acts.change(d, reg, **ch), done, self._error)

    def revoke_tickets(self) -> None:
        p = self.current
        if p is None:
            return
        dlg = acts.ReasonDialog(
            tr("Revoke tickets"),
            tr("Every ticket of bib {bib} ({name}) issued until now will be refused. A ticket reprinted "
               "afterwards still works.").format(bib=p.bib, name=p.name), tr("Revoke"), self)
        if not self.ctx.run_dialog(dlg):
            return
        if not self.ctx.supervisor(self, tr("Revoking the tickets of bib {bib} ({name})").format(bib=p.bib,
                                                                                               name=p.name)):
            return
        reason = dlg.reason.text().strip() or tr("revoked at the desk")
        reg, now_s = p.registration_id, self.ctx.now_ms() // 1000

        def done(_r: Any) -> None:
            self._done_message(tr("Tickets revoked"), f"{tr('Bib')} {p.bib} · {p.name}", "revoke")

        self.ctx.client.call(lambda d: acts.revoke(d, reg, reason, now_s), done, self._error)

    def reprint_ticket(self, path: str | None = None) -> None:
        """Sign a new ticket (earlier ones are revoked: PIN), render its sheet off the GUI thread."""
        p = self.current
        if p is None:
            return
        key = str(self.ctx.settings.value("tickets/key", "") or "")
        if not key:
            self.verdict.show_message("invalid", tr("Cannot reprint"),
                                      tr("Set the organizer's signing key file in Setup first."))
            return
        if not self.ctx.supervisor(self, tr("Reprinting the ticket of bib {bib} ({name}); earlier tickets are "
                                            "revoked").format(bib=p.bib, name=p.name)):
            return
        if not path:
            path, _ = QFileDialog.getSaveFileName(self, tr("Save the ticket"), f"ticket-{p.bib}.pdf", "PDF (*.pdf)")
        if not path:
            return
        out, reg = str(path), p.registration_id
        names = bool(self.ctx.settings.value("tickets/show_names", False, type=bool))

        def signed(res: tuple[dict[str, Any], str, dict[str, Any]]) -> None:
            part, token, event = res
            self.last_ticket = token
            self.verdict.show_message("idle", tr("Printing the ticket…"), f"{tr('Bib')} {p.bib}")
            task = BackgroundTask(lambda prog: acts.render_ticket(out, part, token, event, names, prog), self)
            task.finished.connect(self._reprinted)
            task.failed.connect(self._reprint_failed)
            self.reprint_task = task.start()

        self.ctx.client.call(lambda d: acts.reprint(d, reg, key), signed, self._error)

    def _reprinted(self, path: str) -> None:
        self._done_message(tr("Ticket ready"), tr("Saved to {path}").format(path=path), "reprint")
        if self.ctx.open_files:
            QDesktopServices.openUrl(QUrl.fromLocalFile(path))

    def _reprint_failed(self, msg: str) -> None:
        self.verdict.show_message("invalid", tr("Cannot reprint"), msg)
