"""Language switch (no untranslated strings on the Chinese main screens) and screenshots of each mode."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path
from typing import Any

import numpy as np
import qrcode
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QAbstractButton, QGroupBox, QLabel, QLineEdit, QTableView

from drivers.camera import IterSource, phone_frame
from ui.assets import TRANSLATIONS
from ui.demo import DemoRun, make_plan, ticket

UI = Path(__file__).resolve().parents[2] / "ui"


def test_every_tr_string_is_in_the_chinese_catalog() -> None:
    cat = json.loads((TRANSLATIONS / "zh_CN.json").read_text(encoding="utf-8"))
    missing = []
    for p in sorted(UI.rglob("*.py")):
        s = p.read_text(encoding="utf-8")
        keys = [m.group(1).replace("\\n", "\n") for m in re.finditer(r'\btr\(\s*"((?:[^"\\]|\\.)*)"\s*\)', s)]
        keys += re.findall(r'Column\(\s*"([^"]+)"', s)
        missing += [f"{p.name}: {k}" for k in keys if k not in cat]
    assert missing == []


def _visible_texts(win: Any) -> list[str]:
    out = [win.windowTitle()]
    for w in win.findChildren(QLabel):
        if w.isVisible():
            out.append(w.text())
    for w in win.findChildren(QAbstractButton):
        if w.isVisible():
            out.append(w.text())
    for w in win.findChildren(QGroupBox):
        if w.isVisible():
            out.append(w.title())
    for w in win.findChildren(QLineEdit):
        if w.isVisible():
            out.append(w.placeholderText())
    for v in win.findChildren(QTableView):
        m = v.model()
        if v.isVisible() and m is not None:
            out += [str(m.headerData(c, __import__("PySide6.QtCore").QtCore.Qt.Orientation.Horizontal) or "")
                    for c in range(m.columnCount())]
    out += [win.tabs.tabText(i) for i in range(win.tabs.count())]
    return [t for t in out if t]


def test_chinese_main_screens_have_no_untranslated_strings(qtbot: Any, station: Path, settings: QSettings,
                                                            win_factory: Any) -> None:
    win = win_factory(qtbot, station, settings, lang="zh_CN")
    try:
        english = set(json.loads((TRANSLATIONS / "zh_CN.json").read_text(encoding="utf-8")))
        seen: list[str] = []
        for i in range(win.tabs.count()):
            win.tabs.setCurrentIndex(i)
            qtbot.wait(50)
            seen += _visible_texts(win)
        tr_ = win.language.translator
        assert tr_ is not None and tr_.missing == set()
        leftovers = sorted({t for t in seen if t in english and t not in ("PIN",)})
        assert leftovers == []
        assert win.tabs.tabText(0) == "检录"
    finally:
        win.close()
        win.language_obj.set("en")


def _qr(code: str) -> np.ndarray:
    q = qrcode.QRCode(border=4, box_size=6)
    q.add_data(code)
    q.make()
    return np.array(q.make_image().convert("L"))


def test_screenshots_of_each_mode(qtbot: Any, tmp_path: Path, settings: QSettings, win_factory: Any,
                                  shot: Any) -> None:
    """A live demo race (reads, a reader unplugged, desks scanning), then a picture of every screen."""
    now = int(time.time() * 1000)
    plan = make_plan(now - 50 * 60_000, runners=300, speed=1.0, lead_s=0)
    holder: dict[str, Any] = {}

    def setup(d: Any) -> None:
        run = DemoRun(d.store, plan, unplug_at_s=0.5, unplug_for_s=3600)
        run.load()
        d.readers.update(run.readers)
        d.demo = run
        holder["run"] = run
        run.start()

    out = tmp_path / "shots"
    for lang in ("en", "zh_CN"):
        win = win_factory(qtbot, tmp_path / f"demo-{lang}", settings, lang=lang, setup=setup)
        win.resize(1440, 900)
        try:
            qtbot.waitUntil(lambda w=win: sum(1 for r in w.modes["results"].model.all if r[8] == "finished") > 20,
                            timeout=30_000)
            qtbot.waitUntil(lambda w=win: "km5-1" in w.header.lights and w.header.lights["km5-1"].color == "red",
                            timeout=10_000)
            ck = win.modes["checkin"]
            win.tabs.setCurrentWidget(ck)
            code = ticket(plan, plan.participants[12], now)
            frames = [phone_frame(_qr(code), size=(640, 360), code_px=300, seed=i) for i in range(8)]
            with qtbot.waitSignal(ck.verdict_shown, timeout=20_000):
                ck.toggle_camera(IterSource(frames, fps=30))
            qtbot.waitUntil(lambda c=ck: c.camera_view.image is not None and bool(c.camera_view.outline), timeout=5000)
            qtbot.waitUntil(lambda c=ck: c.counts.rowCount() > 0, timeout=5000)
            shot(win, f"{lang}-checkin")
            ck.camera.stop()
            with qtbot.waitSignal(ck.verdict_shown, timeout=10_000):
                ck.scan(code)  # the same runner again: already
            shot(win, f"{lang}-checkin-already")
            t = win.modes["timing"]
            win.tabs.setCurrentWidget(t)
            qtbot.waitUntil(lambda t=t: t.feed.rowCount() > 10 and t.unknown.rowCount() > 0, timeout=10_000)
            t.stamp()
            shot(win, f"{lang}-timing")
            r = win.modes["results"]
            win.tabs.setCurrentWidget(r)
            qtbot.wait(100)
            shot(win, f"{lang}-results")
            for key in ("setup", "sync"):
                win.tabs.setCurrentWidget(win.modes[key])
                qtbot.wait(50)
                shot(win, f"{lang}-{key}")
            if lang == "en":
                r.open_board()
                r.board.resize(1280, 720)
                qtbot.wait(100)
                shot(r.board, "en-results-board")
                r.board.close()
                win.toggle_theme()
                win.tabs.setCurrentWidget(t)
                qtbot.wait(100)
                shot(win, "en-timing-dark")
                win.tabs.setCurrentWidget(ck)
                shot(win, "en-checkin-dark")
                win.toggle_theme()
        finally:
            win.close()
            win.language_obj.set("en")
    assert out is not None
