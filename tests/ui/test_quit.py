"""Quitting the real app (a subprocess, offscreen): Ctrl+Q and the window manager's close both exit 0,
with what was typed just before already on disk.

The app is driven through a long session's worth of signals first: with PySide6 6.12.0 on Python 3.11
each `emit` stole a reference from `True`, and the process died at quit with "Fatal Python error:
bool_dealloc … Garbage-collecting" (exit 134) — see ui/refguard.py.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from station.log.store import Store

DRIVER = r'''
import sys
from PySide6.QtCore import QObject, Qt, QTimer, Signal
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

how, data, settings, bib = sys.argv[1:5]
app = QApplication(sys.argv[:1])


class Busy(QObject):
    sig = Signal(int)


def drive():
    wins = [w for w in QApplication.topLevelWidgets() if type(w).__name__ == "MainWindow"]
    if not wins or not wins[0].client.is_open:
        QTimer.singleShot(100, drive)
        return
    win = wins[0]
    busy = Busy()
    for i in range(30_000):  # a long race day's worth of signals
        busy.sig.emit(i)
    t = win.modes["timing"]
    win.tabs.setCurrentWidget(t)
    t.stamp()
    t.submit_bib(bib)  # typed the instant before quitting: must be on disk after the exit
    if how == "ctrl_q":
        win.activateWindow()
        QTest.keyClick(win, Qt.Key.Key_Q, Qt.KeyboardModifier.ControlModifier)
    else:
        win.windowHandle().close()  # what the window manager's close button does


QTimer.singleShot(200, drive)
from station.cli import main

sys.exit(main(["--data", data, "app", "--settings", settings, "--quiet"]))
'''


def _run(how: str, data: Path, settings: Path, bib: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", PYTHONFAULTHANDLER="1")
    return subprocess.run([sys.executable, "-c", DRIVER, how, str(data), str(settings), bib], env=env,
                          capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("how", ["ctrl_q", "window_manager"])
def test_quit_exits_zero_with_everything_flushed(station: Path, tmp_path: Path, plan: Any, how: str) -> None:
    settings = tmp_path / "app.ini"
    settings.write_text("[station]\noperator=Li Lei\n[ui]\nsound=false\n", encoding="utf-8")
    bibs = [p["bib"] for p in plan.participants[:3]]
    for bib in bibs:
        r = _run(how, station, settings, bib)
        assert r.returncode == 0, r.stderr[-3000:]
        assert "Fatal Python error" not in r.stderr
    with Store(station) as st:
        saved = [e.payload["bib"] for e in st.entries(kinds=["manual_time"])]
    assert saved == bibs
