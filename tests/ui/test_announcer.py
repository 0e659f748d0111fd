"""The announcer screen (Ctrl+6): crossings at the chosen mat newest first, a VIP pinned, place so far and
the predicted finish from the runner's pace — the web announcer's rule, delivered as snapshots."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import QSettings, Qt

from station.log.store import Store
from ui.demo import DemoPlan
from ui.modes.announcer import COLUMNS as COL

VIP = "1002"


def test_announcer_newest_first_vip_pinned_predicted_finish(qtbot: Any, tmp_path: Path, plan: DemoPlan,
                                                           settings: QSettings, win_factory: Any) -> None:
    d = tmp_path / "station"
    with Store(d) as st:
        st.append("event_config", plan.payload, operator="test")
        people = [dict(p, vip=True) if p["bib"] == VIP else p for p in plan.participants]
        st.submit_batch([("participant", p, None) for p in people], operator="test").result(30)
    win = win_factory(qtbot, d, settings)
    try:
        win.tabs.setCurrentIndex(5)  # Ctrl+6
        mode = win.modes["announcer"]
        assert win.tabs.currentWidget() is mode
        assert mode.mats.currentData() == "km5"  # the last split before the finish, chosen first
        gun = plan.waves[("10k", "A")]
        crossings = (("1001", 25), (VIP, 22), ("1003", 24))  # minutes after the gun at 5 km

        def read(d_: Any) -> None:
            for bib, minutes in crossings:
                d_.store.append("read", {"chip": f"7{int(bib):06d}", "t": gun + minutes * 60_000,
                                         "reader": "r1", "point": "km5"})
            d_.store.flush()

        win.client.call(read)
        model = mode.model
        qtbot.waitUntil(lambda: model.rowCount() == 4, timeout=10_000)  # the VIP pinned + three crossings
        bib, name, place, predicted = (COL.index(c) for c in ("Bib", "Name", "Place so far", "Predicted finish"))
        assert [model.cell(r, bib) for r in range(4)] == [VIP, "1001", "1003", VIP]
        assert model.cell(0, name).startswith("★ ")
        assert model.data(model.index(0, 0), Qt.ItemDataRole.BackgroundRole) is not None
        assert model.data(model.index(1, 0), Qt.ItemDataRole.BackgroundRole) is None
        assert [model.cell(r, place) for r in range(1, 4)] == ["3", "2", "1"]
        assert model.cell(1, predicted) == "0:50:00" and model.cell(3, predicted) == "0:44:00"
    finally:
        win.close()
        win.language_obj.set("en")


