"""The header every mode shares: event, role, operator, a big clock, sync state and reader lights.

Why always visible: a timing crew must see at a glance that every reader is alive, and a desk that has
not synced must say so — a red light and an alarm sound when a reader goes silent or disconnects.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from ui.context import sync_error_text
from ui.i18n import tr
from ui.models import Clock
from ui.readers_model import READER_COLORS, READER_STATES, reader_light, reader_problem, reader_state_key
from ui.snapshots import ReaderState, SyncInfo


class ReaderLight(QLabel):
    """One reader: a coloured dot and its id; the tooltip has rate, last read and clock offset."""

    def __init__(self, rid: str) -> None:
        super().__init__()
        self.rid = rid
        self.color = "grey"
        self.setAccessibleName(tr("Reader {id}").format(id=rid))
        self.setTextFormat(Qt.TextFormat.RichText)

    def show_state(self, s: ReaderState, clock: Clock, now_ms: int) -> None:
        """A shape per state (● live, ▲ silent, ✖ disconnected, ■ stopped) and, unless live, its word:
        never colour alone."""
        self.color = reader_light(s)
        key = reader_state_key(s)
        shape, word = READER_STATES[key]
        said = "" if key == "live" else f' <span style="font-size:12px">{tr(word)}</span>'
        self.setText(f'<span style="color:{READER_COLORS[key]}; font-size:20px">{shape}</span> '
                     f'<b>{s.id}</b> <span style="font-size:12px">{s.reads_per_s:.0f}/s</span>{said}')
        if s.last_line_rx:
            last = tr("{n} s ago").format(n=max(0, (now_ms - s.last_line_rx) // 1000))
        else:
            last = tr("never")
        state = tr(word)
        problem = reader_problem(s)
        if problem:
            state += f" — {problem}"
        off = "" if s.clock_offset_ms is None else f"{s.clock_offset_ms:+d} ms"
        self.setToolTip(tr("{state}\nPoint: {point}\nReads/s: {rate:.1f}\nLast read: {last}\nClock offset: {off}")
                        .format(state=state, point=s.point, rate=s.reads_per_s, last=last, off=off))
        self.setAccessibleDescription(state)


class Header(QFrame):
    reader_went_down = Signal(str)  # reader id: green → red

    def __init__(self, clock: Clock, now_ms: Callable[[], int]) -> None:
        super().__init__()
        self.setObjectName("header")
        self.clock = clock
        self.now_ms = now_ms
        lay = QHBoxLayout(self)
        lay.setContentsMargins(14, 8, 14, 8)
        left = QVBoxLayout()
        self.event_label = QLabel(tr("No event loaded"))
        self.event_label.setObjectName("eventName")
        self.event_label.setAccessibleName(tr("Event"))
        self.who = QLabel("")
        self.who.setAccessibleName(tr("Station role and operator"))
        left.addWidget(self.event_label)
        left.addWidget(self.who)
        lay.addLayout(left, 3)
        self.lights_box = QHBoxLayout()
        self.lights_box.setSpacing(16)
        lights = QWidget()
        lights.setLayout(self.lights_box)
        lights.setStyleSheet("background: transparent;")
        lay.addWidget(lights, 3)
        self.sync_label = QLabel("")
        self.sync_label.setObjectName("syncLabel")
        self.sync_label.setAccessibleName(tr("Sync status"))
        self.sync_label.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        lay.addWidget(self.sync_label, 2)
        self.clock_label = QLabel("00:00:00")
        self.clock_label.setObjectName("clock")
        self.clock_label.setAccessibleName(tr("Clock"))
        lay.addWidget(self.clock_label)
        self.lights: dict[str, ReaderLight] = {}
        self.sync_info = SyncInfo()
        self.offline_since: int | None = None
        self._timer = QTimer(self)
        self._timer.timeout.connect(self._tick)
        self._timer.start(200)
        self._tick()

    def _tick(self) -> None:
        self.clock_label.setText(self.clock.hms(self.now_ms(), tenths=False))

    def set_event(self, name: str) -> None:
        self.event_label.setText(name or tr("No event loaded"))

    def set_who(self, role: str, operator: str) -> None:
        self.who.setText(tr("Station: {role}   Operator: {op}").format(role=role, op=operator or "—"))

    def set_readers(self, states: tuple[ReaderState, ...]) -> None:
        now = self.now_ms()
        seen = set()
        for s in states:
            seen.add(s.id)
            light = self.lights.get(s.id)
            if light is None:
                light = ReaderLight(s.id)
                self.lights[s.id] = light
                self.lights_box.addWidget(light)
            was = light.color
            light.show_state(s, self.clock, now)
            if was == "green" and light.color == "red":
                self.reader_went_down.emit(s.id)
        for rid in [r for r in self.lights if r not in seen]:
            self.lights.pop(rid).deleteLater()

    def set_sync(self, info: SyncInfo) -> None:
        self.sync_info = info
        if info.online:
            self.offline_since = None
        elif self.offline_since is None:
            self.offline_since = info.last_sync_ms or int(time.time() * 1000)
        if not info.configured:
            text = tr("Offline (no ledger set)")
        elif info.online:
            text = tr("Online")
        else:
            text = tr("Offline since {t}").format(t=self.clock.hm(self.offline_since))
        if info.last_sync_ms:
            self.sync_label.setText(tr("{state}\n{n} waiting · last sync {last}").format(
                state=text, n=info.waiting, last=self.clock.hm(info.last_sync_ms)))
        else:
            self.sync_label.setText(tr("{state}\n{n} waiting · never synced").format(state=text, n=info.waiting))
        if info.last_error:
            self.sync_label.setToolTip(sync_error_text(info.last_error))

    def offline_text(self) -> str:
        """"offline since HH:MM" for the verdict panel; empty when synced."""
        if self.sync_info.online:
            return ""
        return tr("Offline since {t}").format(t=self.clock.hm(self.offline_since or self.now_ms()))
