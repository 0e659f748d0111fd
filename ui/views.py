"""Table views that say what fills them while they are empty (a first start must not look broken)."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QPainter, QPaintEvent
from PySide6.QtWidgets import QTableView


class HintTableView(QTableView):
    """A QTableView that paints `empty_text` (already translated) over its empty viewport."""

    def __init__(self, empty_text: str = "", parent: Any = None) -> None:
        super().__init__(parent)
        self.empty_text = empty_text

    def paintEvent(self, ev: QPaintEvent) -> None:
        super().paintEvent(ev)
        m = self.model()
        if not self.empty_text or m is None or m.rowCount() > 0:
            return
        p = QPainter(self.viewport())
        try:
            col = self.palette().placeholderText().color()
            p.setPen(col)
            r = self.viewport().rect().adjusted(12, 8, -12, -8)
            p.drawText(r, int(Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap), self.empty_text)
        finally:
            p.end()
