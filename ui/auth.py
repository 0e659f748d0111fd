"""Supervisor PIN: the gun, corrections and DQ need it (DESIGN: People and data).

Why local and hashed: a station works offline, so the PIN is checked on the laptop; it is stored as a
salted PBKDF2 hash in the station's settings, never in clear. Until a supervisor sets one in Setup the
PIN is `DEFAULT_PIN` (printed in the README and shown in Setup as a warning).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QInputDialog, QLabel, QLineEdit, QVBoxLayout, QWidget

from ui.i18n import tr

DEFAULT_PIN = "1234"
_ITER = 100_000


def _hash(pin: str, salt: bytes) -> str:
    return hashlib.pbkdf2_hmac("sha256", pin.encode(), salt, _ITER).hex()


class SupervisorPin:
    def __init__(self, settings: QSettings) -> None:
        self.settings = settings

    @property
    def is_default(self) -> bool:
        return not self.settings.value("supervisor/pin_hash", "")

    def check(self, pin: str) -> bool:
        stored = str(self.settings.value("supervisor/pin_hash", "") or "")
        if not stored:
            return hmac.compare_digest(pin, DEFAULT_PIN)
        salt_hex, _, h = stored.partition("$")
        return hmac.compare_digest(_hash(pin, bytes.fromhex(salt_hex)), h)

    def set(self, pin: str) -> None:
        if len(pin) < 4 or not pin.isdigit():
            raise ValueError(tr("The PIN must be at least 4 digits."))
        salt = secrets.token_bytes(16)
        self.settings.setValue("supervisor/pin_hash", f"{salt.hex()}${_hash(pin, salt)}")


class PinDialog(QDialog):
    """Asks for the supervisor PIN before an action that changes results."""

    def __init__(self, pin: SupervisorPin, action: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.pin = pin
        self.action = action  # names the runner or result it acts on
        self.setWindowTitle(tr("Supervisor PIN"))
        lay = QVBoxLayout(self)
        msg = QLabel(tr("{action} needs a supervisor.").format(action=action))
        msg.setWordWrap(True)
        lay.addWidget(msg)
        self.edit = QLineEdit()
        self.edit.setEchoMode(QLineEdit.EchoMode.Password)
        self.edit.setAccessibleName(tr("Supervisor PIN"))
        self.edit.setPlaceholderText(tr("PIN"))
        lay.addWidget(self.edit)
        self.error = QLabel("")
        self.error.setStyleSheet("color: #c5221f; font-weight: 700;")
        lay.addWidget(self.error)
        bb = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        bb.button(QDialogButtonBox.StandardButton.Ok).setText(tr("Confirm"))
        bb.button(QDialogButtonBox.StandardButton.Cancel).setText(tr("Cancel"))
        bb.accepted.connect(self._try)
        bb.rejected.connect(self.reject)
        lay.addWidget(bb)

    def _try(self) -> None:
        if self.pin.check(self.edit.text()):
            self.accept()
        else:
            self.error.setText(tr("Wrong PIN."))
            self.edit.selectAll()


def sign_in_dialog(parent: QWidget | None = None) -> QInputDialog:
    """The first-start question for the operator's name, in the station's language (every button too)."""
    dlg = QInputDialog(parent)
    dlg.setWindowTitle(tr("Sign in"))
    dlg.setLabelText(tr("Your name (recorded with every entry):"))
    dlg.setOkButtonText(tr("Sign in"))
    dlg.setCancelButtonText(tr("Quit"))
    dlg.setTextEchoMode(QLineEdit.EchoMode.Normal)
    return dlg
