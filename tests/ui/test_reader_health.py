"""Reader health with reasons: a port that does not exist is flagged in Setup (the user confirms), Connect
says why a reader did not come up, and the readers table and header say the state in words and shapes."""

from __future__ import annotations

import json
import string
from typing import Any

from PySide6.QtCore import Qt

from station.event.commands import port_problem
from station.timing.reader_health import TEMPLATES, connection_problem
from ui.assets import TRANSLATIONS

MISSING = "/dev/ttyUSB-worun-missing"


def test_port_check_accepts_urls_and_flags_a_missing_device() -> None:
    for ok in ("loop://", "socket://127.0.0.1:10000", "rfc2217://10.0.0.2:4001", "/dev/null"):
        assert port_problem(ok) is None, ok
    w = port_problem(MISSING)
    assert w is not None and w.field == "port" and MISSING in str(w)
    assert port_problem("nosuch://x") is not None


def test_connection_reasons_are_words_with_translations() -> None:
    raw = f"cannot open {MISSING}: [Errno 2] could not open port {MISSING}: [Errno 2] No such file or directory"
    template, params = connection_problem(raw)
    assert params == {"port": MISSING} and "not found" in template
    assert connection_problem("something new") == ("{why}", {"why": "something new"})
    zh = json.loads((TRANSLATIONS / "zh_CN.json").read_text(encoding="utf-8"))
    for t in TEMPLATES:
        assert t in zh, t
        fields = {f[1] for f in string.Formatter().parse(t) if f[1]}
        assert fields == {f[1] for f in string.Formatter().parse(zh[t]) if f[1]}, t


def test_setup_flags_a_missing_port_and_connect_says_why(qtbot: Any, window: Any) -> None:
    setup = window.modes["setup"]
    window.tabs.setCurrentWidget(setup)
    setup.r_id.setText("finish-9")
    setup.r_port.setEditText(MISSING)
    setup.r_point.setCurrentIndex(setup.r_point.findData("finish"))
    asked: list[str] = []
    window.ctx.prompts.answer = lambda q: asked.append(q) or False  # not now: nothing saved
    setup.save_reader()
    qtbot.waitUntil(lambda: bool(asked), timeout=5000)
    assert MISSING in asked[0] and MISSING in setup.reader_status.text()
    assert not any(c.get("id") == "finish-9" for c in window.ctx.event.readers)
    window.ctx.prompts.answer = lambda q: asked.append(q) or True  # it will be plugged in later: saved, flagged
    setup.save_reader()
    qtbot.waitUntil(lambda: "saved" in setup.reader_status.text(), timeout=5000)
    assert "plug it in" in setup.reader_status.text()

    t = window.modes["timing"]
    window.tabs.setCurrentWidget(t)
    qtbot.waitUntil(lambda: any(s.id == "finish-9" for s in t.readers.rows), timeout=5000)
    row = next(i for i, s in enumerate(t.readers.rows) if s.id == "finish-9")
    t.readers_view.selectRow(row)
    t.start_selected()
    qtbot.waitUntil(lambda: "not connected" in t.manual_status.text(), timeout=10_000)
    assert "started" not in t.manual_status.text() and "not found" in t.manual_status.text()
    row = next(i for i, s in enumerate(t.readers.rows) if s.id == "finish-9")
    state = t.readers.data(t.readers.index(row, 1))
    assert state == "Disconnected"  # a word (and a shape as its icon), not colour alone
    cols = [t.readers.headerData(c, Qt.Orientation.Horizontal) for c in range(t.readers.columnCount())]
    assert t.readers.data(t.readers.index(row, cols.index("Port"))) == MISSING
    assert "not found" in t.readers.data(t.readers.index(row, cols.index("Problem")))
    assert t.readers.data(t.readers.index(row, 1), Qt.ItemDataRole.DecorationRole) is not None
    assert t.reader_problem.isVisible() and "finish-9" in t.reader_problem.text()  # in full, not cut
    assert "not found" in t.reader_problem.text()
    light = window.header.lights["finish-9"]
    assert "✖" in light.text() and "Disconnected" in light.text()
    t.readers_view.selectRow(row)
    t.stop_selected()


def test_clock_warnings_are_words() -> None:
    from station.timing.reader_health import clock_problem

    t, p = clock_problem("clock drift +1500 ms vs station clock")
    assert p == {"ms": "+1500"} and "Set clock offset" in t
    assert clock_problem("clock drift -20 ms vs confirmed offset")[1] == {"ms": "-20"}
