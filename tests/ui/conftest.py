"""Fixtures for the UI tests: a real station folder (SQLite), a real main window, offscreen."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QSettings

from station.log.store import Store
from ui.demo import DemoPlan, make_plan

SHOTS = Path(__file__).parent / "screenshots"


@pytest.fixture(scope="session", autouse=True)
def refcount_shield(qapp: Any) -> None:
    """As in the app: a PySide6 build that leaks references to None/True cannot crash the session."""
    from ui.refguard import shield

    shield()


@pytest.fixture(autouse=True)
def gui_thread_gc(qapp: Any) -> Any:
    """As in the app: garbage is collected on the GUI thread only (never by a worker thread)."""
    import gc

    from ui.gcguard import GuiThreadGc

    guard = GuiThreadGc(parent=qapp)
    yield guard
    guard.stop()
    gc.collect()


@pytest.fixture
def plan() -> DemoPlan:
    # Guns two hours ago: a manual finish "now" is a valid finish.
    return make_plan(int(time.time() * 1000) - 2 * 3600_000, runners=120, speed=1.0, lead_s=0)


@pytest.fixture
def station(tmp_path: Path, plan: DemoPlan) -> Path:
    """A station folder holding the demo event and its participants."""
    d = tmp_path / "station"
    with Store(d) as st:
        st.append("event_config", plan.payload, operator="test")
        st.submit_batch([("participant", p, None) for p in plan.participants], operator="test").result(30)
    return d


@pytest.fixture
def settings(tmp_path: Path) -> QSettings:
    s = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    s.setValue("station/operator", "Li Lei")
    s.setValue("station/desk", "desk-1")
    s.setValue("ui/sound", False)
    return s


def open_window(qtbot: Any, data_dir: Path, settings: QSettings, *, lang: str = "en", setup: Any = None) -> Any:
    from PySide6.QtWidgets import QApplication

    from ui import theme
    from ui.i18n import Language
    from ui.main_window import MainWindow

    app = QApplication.instance()
    language = Language(app)
    language.set(lang)
    settings.setValue("ui/language", lang)
    theme.apply(app, str(settings.value("ui/theme", "light")), 15)
    win = MainWindow(data_dir, settings, language=language, setup=setup, sounds_enabled=False)
    win.language_obj = language
    qtbot.addWidget(win)
    with qtbot.waitSignal(win.ready, timeout=20_000):
        win.show()
    win.ctx.prompts = ScriptedPrompts()
    return win


def approve_pin(dlg: Any) -> None:
    dlg.edit.setText("1234")
    dlg._try()


class ScriptedPrompts:
    """The app's `ui.prompts.Prompts` for tests: dialogs are filled and questions answered by the test,
    without a modal loop. `pin(dlg)` types into the PIN dialog (default: the right PIN); `answer(question)`
    says yes or no (default yes); `dialog(dlg)` fills any other dialog and returns whether it was accepted."""

    def __init__(self) -> None:
        self.pin: Any = approve_pin
        self.answer: Any = lambda _q: True
        self.dialog: Any = None

    def run_dialog(self, dlg: Any) -> bool:
        from PySide6.QtWidgets import QDialog

        from ui.auth import PinDialog

        if isinstance(dlg, PinDialog):
            self.pin(dlg)
            return dlg.result() == QDialog.DialogCode.Accepted
        if self.dialog is None:
            pytest.fail(f"the test did not say how to fill the dialog {type(dlg).__name__}")
        return bool(self.dialog(dlg))

    def confirm(self, _parent: Any, question: str) -> bool:
        return bool(self.answer(question))


@pytest.fixture
def window(qtbot: Any, station: Path, settings: QSettings) -> Any:
    win = open_window(qtbot, station, settings)
    yield win
    win.close()
    win.language_obj.set("en")


def grab(widget: Any, name: str) -> Path:
    SHOTS.mkdir(exist_ok=True)
    p = SHOTS / f"{name}.png"
    widget.grab().save(str(p))
    return p


@pytest.fixture
def win_factory() -> Any:
    return open_window


@pytest.fixture
def shot() -> Any:
    return grab
