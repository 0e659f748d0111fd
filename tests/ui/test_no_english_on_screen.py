"""No English reaches a Chinese-speaking volunteer or timer: every literal given to `tr()` has a zh_CN
entry (static), and the main screens, their tooltips and the dialogs run in zh_CN show no English source
string and no untranslated English sentence (run time)."""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path
from typing import Any

from PySide6.QtCore import QSettings, Qt
from PySide6.QtWidgets import (
    QAbstractButton,
    QComboBox,
    QDialog,
    QGroupBox,
    QLabel,
    QLineEdit,
    QTableView,
    QWidget,
)

from ui.assets import TRANSLATIONS
from ui.demo import DemoRun

UI = Path(__file__).resolve().parents[2] / "ui"
CATALOG = json.loads((TRANSLATIONS / "zh_CN.json").read_text(encoding="utf-8"))
#: three lower-case English words in a row: a sentence that never went through tr()
SENTENCE = re.compile(r"\b[a-z]{2,}\s+[a-z]{2,}\s+[a-z]{2,}\b")


def _tr_literals(path: Path) -> list[str]:
    """Every string literal passed to tr(…) (implicit concatenation folded) and to Column(…)."""
    out = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) in ("tr", "Column") and node.args:
            a = node.args[0]
            if isinstance(a, ast.Constant) and isinstance(a.value, str):
                out.append(a.value)
    return out


def test_every_literal_given_to_tr_has_a_chinese_entry() -> None:
    missing = [f"{p.relative_to(UI.parent)}: {k!r}" for p in sorted(UI.rglob("*.py")) for k in _tr_literals(p)
               if k not in CATALOG]
    assert missing == []


def test_tables_of_texts_shown_through_tr_are_translated() -> None:
    """Texts kept in tables and translated when shown (verdict titles, refusal reasons, no-ticket reasons)."""
    from ui.modes.checkin_panels import PROBLEMS, VERDICT_STYLE, IdCheckPanel
    from ui.modes.desk_actions import GENDERS

    texts = [*PROBLEMS.values(), *(v[2] for v in VERDICT_STYLE.values()), *IdCheckPanel.REASONS,
             *(g[1] for g in GENDERS)]
    assert [t for t in texts if t not in CATALOG] == []


def _texts(root: QWidget) -> list[str]:
    out = [root.windowTitle(), root.toolTip()]
    for w in root.findChildren(QWidget):
        if not w.isVisibleTo(root):
            continue
        out.append(w.toolTip())
        if isinstance(w, QLabel):
            out.append(w.text())
        elif isinstance(w, QAbstractButton):
            out.append(w.text())
        elif isinstance(w, QGroupBox):
            out.append(w.title())
        elif isinstance(w, QLineEdit):
            out.append(w.placeholderText())
        elif isinstance(w, QComboBox):
            out += [w.itemText(i) for i in range(w.count())]
        elif isinstance(w, QTableView) and w.model() is not None:
            m = w.model()
            out += [str(m.headerData(c, Qt.Orientation.Horizontal) or "") for c in range(m.columnCount())]
    return [re.sub(r"<[^>]+>", " ", t) for t in out if t]


def _english(texts: list[str]) -> list[str]:
    source = {k for k, v in CATALOG.items() if k != v}
    bad = {t for t in texts if t in source and t not in ("PIN",)}
    bad |= {t for t in texts if SENTENCE.search(t)}
    return sorted(bad)


def test_chinese_screens_tooltips_and_dialogs_show_no_english(qtbot: Any, tmp_path: Path, settings: QSettings,
                                                             win_factory: Any, plan: Any) -> None:
    def setup(d: Any) -> None:
        run = DemoRun(d.store, plan, unplug_at_s=0.2, unplug_for_s=3600)
        run.load()
        d.readers.update(run.readers)
        d.demo = run
        run.start()

    win = win_factory(qtbot, tmp_path / "demo", settings, lang="zh_CN", setup=setup)
    try:
        qtbot.waitUntil(lambda: len(win.header.lights) > 0, timeout=10_000)
        seen: list[str] = []
        for i in range(win.tabs.count()):
            win.tabs.setCurrentIndex(i)
            qtbot.wait(50)
            seen += _texts(win)
        seen.append(win.statusBar().currentMessage())
        ck = win.modes["checkin"]
        win.tabs.setCurrentWidget(ck)
        with qtbot.waitSignal(ck.verdict_shown, timeout=10_000):  # a damaged ticket: why, and what to do
            ck.scan("eyJhbGciOiJFZERTQSJ9.not-a-ticket.sig")
        seen += _texts(win)
        ck.undo_last()  # nothing to undo at this desk: a refusal of the domain, in words
        qtbot.waitUntil(lambda: ck.verdict.status == "invalid" and "检录台" in ck.verdict.detail.text(),
                        timeout=10_000)
        seen += _texts(win)
        from ui.auth import PinDialog, sign_in_dialog
        from ui.modes.desk_actions import ChangeDialog, ReasonDialog, WalkUpDialog
        from ui.modes.print_results import PrintResultsDialog

        p = plan.participants[0]
        who = type("P", (), {"bib": p["bib"], "name": p["name"], "race": p["race"], "wave": p["wave"]})()
        dialogs: list[QDialog] = [WalkUpDialog(win.ctx.event, ck), ChangeDialog(win.ctx.event, who, ck),
                                  ReasonDialog("x", "y", "z", ck), PinDialog(win.ctx.pin, "…", ck),
                                  sign_in_dialog(ck), PrintResultsDialog(ck)]
        for dlg in dialogs:
            dlg.show()
            seen += _texts(dlg)
            dlg.close()
        tr_ = win.language.translator
        assert tr_ is not None and tr_.missing == set()
        assert _english(seen) == []
    finally:
        win.close()
        win.language_obj.set("en")


def test_the_engine_trace_notes_read_as_words(qapp: Any) -> None:
    """The runner detail's "why other reads were ignored": the engine's notes, each known one in words with
    times of day (never epoch milliseconds), every template translated."""
    from ui.models import Clock
    from ui.modes.runner_detail import NOTES, note_text

    assert [t for _, t in NOTES if t not in CATALOG] == []
    clock = Clock("Asia/Shanghai")
    samples = ["finish crossing at 1700000000000 ignored: within the minimum time of the previous pass",
               "manual finish 1700000000000: ignored by a correction",
               "finish main crossing at 1700000000000 replaced by a forced manual time",
               "finish backup crossing at 1700000000000 not used: a main crossing is within 30000 ms",
               "finish main crossing at 1700000000000 ignored by a correction"]
    for n in samples:
        out = note_text(n, clock)
        assert "1700000000000" not in out and "06:13:20" in out, n


def test_sync_and_reader_problems_have_translated_templates() -> None:
    """The words shown for a sync or reader problem (station.sync.words, station.timing.reader_health): every
    template translated with the same placeholders."""
    import string

    from station.sync.words import TEMPLATES as SYNC
    from station.sync.words import sync_problem
    from station.timing.reader_health import TEMPLATES as READER

    for t in (*READER, *SYNC):
        assert t in CATALOG, t
        fields = {f[1] for f in string.Formatter().parse(t) if f[1]}
        assert fields == {f[1] for f in string.Formatter().parse(CATALOG[t]) if f[1]}, t
    template, params = sync_problem("sync failed: cannot reach the ledger at http://10.0.0.5:8000 (no network or "
                                    "ledger down)")
    assert params == {"url": "http://10.0.0.5:8000"} and template in SYNC
