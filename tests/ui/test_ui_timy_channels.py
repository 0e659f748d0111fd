"""Adding an ALGE Timy: its channels are mapped to waves in Setup (validated), and an impulse fires that gun."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def test_timy_channels_map_to_waves(qtbot: Any, window: Any, tmp_path: Path) -> None:
    setup = window.modes["setup"]
    window.tabs.setCurrentWidget(setup)
    assert not setup.r_channels.isVisible()  # only a Timy has channels
    setup.r_format.setCurrentIndex(setup.r_format.findData("timy"))
    assert setup.r_channels.isVisible() and setup.r_baud.currentText() == "9600"
    setup.r_id.setText("timy-1")
    setup.r_port.setEditText("loop://")
    setup.r_point.setCurrentIndex(setup.r_point.findData("start"))
    setup.save_reader()  # the rule lives in station.event.commands: checked on the domain worker
    qtbot.waitUntil(lambda: "at least one channel" in setup.reader_status.text(), timeout=5000)
    setup.r_channels.set_channel("C0", "10k/A")
    setup.r_channels.set_channel("C1", "10k/A")
    setup.save_reader()
    qtbot.waitUntil(lambda: "C0" in setup.reader_status.text() and "C1" in setup.reader_status.text(),
                    timeout=5000)
    setup.r_channels.set_channel("C1", "10k/B")
    setup.r_channels.set_channel("C3", "5k/A")
    setup.save_reader()
    qtbot.waitUntil(lambda: "saved" in setup.reader_status.text(), timeout=5000)
    qtbot.waitUntil(lambda: any(c.get("id") == "timy-1" for c in window.ctx.event.readers), timeout=5000)
    cfg = next(c for c in window.ctx.event.readers if c.get("id") == "timy-1")
    assert cfg["channel_waves"] == {"C0": "10k/A", "C1": "10k/B", "C3": "5k/A"}

    t = window.modes["timing"]
    window.tabs.setCurrentWidget(t)
    qtbot.waitUntil(lambda: any(s.id == "timy-1" for s in t.readers.rows), timeout=5000)
    t.readers_view.selectRow(next(i for i, s in enumerate(t.readers.rows) if s.id == "timy-1"))
    cap = tmp_path / "timy.txt"
    cap.write_text("0001 C1 07:40:00.1234 00\r\n0002 C7 07:41:00.0000 00\r\n", encoding="ascii")
    t.replay_selected(str(cap))
    qtbot.waitUntil(lambda: any(g[0] == "10k" and g[1] == "B" for g in t.guns.rows), timeout=10_000)
    assert not any(g[1] == "A" for g in t.guns.rows)  # channel C7 maps to no wave: kept unparsed, no gun
