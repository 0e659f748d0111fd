"""How the app asks a person something: a modal dialog, a yes/no question, the supervisor PIN.

Why a dependency of its own: every screen asks through `UiContext.prompts`, so the way of asking is
chosen once, where the window is made — `ModalPrompts` on a real desk. Tests hand in another
implementation that fills dialogs and answers questions without a modal loop; production code has no
branch for them.
"""

from __future__ import annotations

from typing import Protocol

from PySide6.QtWidgets import QDialog, QMessageBox, QWidget

from ui.i18n import tr


class Prompts(Protocol):
    def run_dialog(self, dlg: QDialog) -> bool:
        """Show `dlg` until the person accepts or cancels it; True when accepted."""
        ...

    def confirm(self, parent: QWidget | None, question: str) -> bool:
        """A yes/no question; True for yes."""
        ...


class ModalPrompts:
    """The real desk: dialogs run their own modal loop."""

    def run_dialog(self, dlg: QDialog) -> bool:
        return dlg.exec() == QDialog.DialogCode.Accepted

    def confirm(self, parent: QWidget | None, question: str) -> bool:
        ans = QMessageBox.question(parent, tr("Please confirm"), question)
        return ans == QMessageBox.StandardButton.Yes
