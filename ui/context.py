"""What every screen gets, passed explicitly (no global app singleton)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QWidget

from ui.auth import SupervisorPin
from ui.domain import DomainClient
from ui.i18n import tr
from ui.models import Clock
from ui.prompts import ModalPrompts, Prompts
from ui.snapshots import EventInfo
from ui.sounds import SoundPlayer


def now_ms() -> int:
    return time.time_ns() // 1_000_000


@dataclass
class UiContext:
    client: DomainClient
    settings: QSettings
    sounds: SoundPlayer
    clock: Clock
    pin: SupervisorPin
    now_ms: Callable[[], int] = now_ms
    event: EventInfo = field(default_factory=EventInfo)
    operator: str = ""
    offline_text: Callable[[], str] = lambda: ""
    #: how a person is asked (dialogs, yes/no, the PIN): modal on a desk (see ui.prompts)
    prompts: Prompts = field(default_factory=ModalPrompts)
    #: open a finished PDF with the system viewer (off in tests)
    open_files: bool = True

    def run_dialog(self, dlg: Any) -> bool:
        return self.prompts.run_dialog(dlg)

    def ask(self, parent: QWidget, question: str) -> bool:
        return self.prompts.confirm(parent, question)

    def supervisor(self, parent: QWidget, action: str) -> bool:
        """The supervisor PIN for `action` (named in the dialog); True when it was given."""
        from ui.auth import PinDialog

        return self.prompts.run_dialog(PinDialog(self.pin, action, parent))


def error_text(e: object) -> str:
    """A user-facing message from a job's exception (InputErrors lists every problem)."""
    problems = getattr(e, "problems", None)
    if problems:
        return "\n".join([str(e), *problems])
    template = getattr(e, "template", None)  # a domain command's refusal: translate, then fill in
    if isinstance(template, str):
        try:
            return tr(template).format(**getattr(e, "params", {}))
        except (KeyError, IndexError, ValueError):
            return str(e)
    return str(e)


def sync_error_text(text: str | None) -> str:
    """The sync engine's last error in the station's language, with what to do (station.sync.words)."""
    if not text:
        return ""
    from station.sync.words import sync_problem

    template, params = sync_problem(text)
    return tr(template).format(**params) if template != "{why}" else text
