"""The readers table and the words, shapes and colours of a reader's state (Timing screen and header).

Why never colour alone: a timer in sunlight, or one who cannot tell red from green, must still see that
a reader is down — each state has a shape (● live, ▲ silent, ✖ disconnected, ■ stopped) and a word, and
a disconnected reader says why in words (`station.timing.reader_health`) and what to do.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QPointF, Qt
from PySide6.QtGui import QBrush, QColor, QFont, QIcon, QPainter, QPen, QPixmap

from station.timing.reader_health import clock_problem, connection_problem
from ui.i18n import tr
from ui.models import ALIGN_RIGHT, Clock, Column, ListTableModel, _ago
from ui.snapshots import ReaderState


def reader_light(s: ReaderState) -> str:
    """green (alive), red (disconnected or silent), grey (stopped)."""
    if not s.running:
        return "grey"
    return "green" if s.alive else "red"


#: a reader's state as a shape and a word, so it never rests on colour alone (nor vanishes when selected)
READER_STATES = {"live": ("●", "Live"), "silent": ("▲", "Silent"), "down": ("✖", "Disconnected"),
                 "stopped": ("■", "Stopped")}
READER_COLORS = {"live": "#1e8e3e", "silent": "#e37400", "down": "#d93025", "stopped": "#80868b"}


def reader_state_key(s: ReaderState) -> str:
    if not s.running:
        return "stopped"
    if not s.connected:
        return "down"
    return "silent" if s.silent else "live"


def reader_state_text(s: ReaderState) -> str:
    """The state in a word (the table draws its shape as the icon beside it)."""
    return tr(READER_STATES[reader_state_key(s)][1])


def reader_problem(s: ReaderState) -> str:
    """The reader's last error in words a timer can act on (translated), or "" when it is fine."""
    if s.running and not s.connected and s.connection:
        template, params = connection_problem(s.connection)
        return tr(template).format(**params)
    if s.running and s.silent:
        return tr("No data for a while: check the reader's power and cable.")
    if s.clock_warning:
        template, params = clock_problem(s.clock_warning)
        return tr(template).format(**params)
    return ""


class ReadersModel(ListTableModel):
    """Readers: state (shape and word), port or listen address, last error in words, last heard, rate."""

    def __init__(self, clock: Clock, now: Callable[[], int], parent: Any = None) -> None:
        def offset(s: ReaderState) -> str:
            if s.clock_offset_ms is None:
                return ""
            return f"{s.clock_offset_ms:+d} ms"

        super().__init__([
            Column("Reader", lambda s: s.id),
            Column("State", reader_state_text),
            Column("Port", lambda s: s.address),
            Column("Point", lambda s: s.point),
            Column("Reads/s", lambda s: f"{s.reads_per_s:.1f}", align=ALIGN_RIGHT),
            Column("Last heartbeat", lambda s: _ago(s.last_line_rx, now()) if s.running else ""),
            Column("Clock offset", offset, align=ALIGN_RIGHT),
            Column("Problem", reader_problem),
        ], parent)
        self.now = now

    def extra(self, row: int, col: int, role: int) -> Any:
        s = self.rows[row]
        key = reader_state_key(s)
        if col == 1 and role == Qt.ItemDataRole.DecorationRole:
            return state_icon(key)
        if col == 1 and role == Qt.ItemDataRole.FontRole:
            f = QFont()
            f.setBold(True)
            return f
        if col in (1, 7) and role == Qt.ItemDataRole.ForegroundRole and key != "live":
            return QBrush(QColor(READER_COLORS[key]))
        if role == Qt.ItemDataRole.ToolTipRole:
            tip = tr("{protocol} · {n} reads").format(protocol=s.format, n=s.reads)
            problem = reader_problem(s)
            return f"{problem}\n{tip}" if problem else tip
        return None


_ICONS: dict[str, QIcon] = {}


def state_icon(key: str) -> QIcon:
    """The state's shape in its colour (● live, ▲ silent, ✖ down, ■ stopped): an icon keeps both in a
    selected row, where the row's own colours give way to the selection."""
    if key not in _ICONS:
        pm = QPixmap(16, 16)
        pm.fill(Qt.GlobalColor.transparent)
        p = QPainter(pm)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        color = QColor(READER_COLORS[key])
        p.setBrush(color)
        p.setPen(Qt.PenStyle.NoPen)
        if key == "live":
            p.drawEllipse(2, 2, 12, 12)
        elif key == "silent":
            p.drawPolygon([QPointF(8, 1), QPointF(15, 14), QPointF(1, 14)])
        elif key == "down":
            p.setPen(QPen(color, 3.5))
            p.drawLine(3, 3, 13, 13)
            p.drawLine(13, 3, 3, 13)
        else:
            p.drawRect(3, 3, 10, 10)
        p.end()
        _ICONS[key] = QIcon(pm)
    return _ICONS[key]
