"""The results board (F11): the announcer's and the spectators' screen, read from five metres away.

Why painted, not a table: a board has no scroll bars, no selection and never a half-cut bottom row —
it shows as many whole rows as fit, in type sized from the screen's height, and turns the page by
itself. Latest finishers come first (what the crowd at the line wants to see); only finished runners
are listed (a running runner has no time to show). A clock sits in the corner.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from PySide6.QtCore import QRect, Qt, QTimer
from PySide6.QtGui import QColor, QFont, QKeySequence, QPainter, QPaintEvent, QShortcut
from PySide6.QtWidgets import QWidget

from station.results.timefmt import fmt_duration
from ui.i18n import tr
from ui.models import Clock
from ui.snapshots import R_BIB, R_CAT, R_CHIP, R_FINISH, R_GUN, R_NAME, R_RACE, R_RANK, R_STATUS, ResultRow

BG, FG, DIM, ACCENT, STRIPE = "#000000", "#ffffff", "#b0b0b0", "#ffd54f", "#1c1c1c"
PAGE_MS = 8000
#: columns as (title, share of the width, right-aligned)
COLUMNS = (("Rank", 0.1, True), ("Bib", 0.12, True), ("Name", 0.4, False), ("Category", 0.16, False),
           ("Time", 0.22, True))


def board_rows(rows: Sequence[ResultRow], race: str | None) -> list[ResultRow]:
    """Finished runners of the race (every race when None), latest finish first."""
    out = [r for r in rows if r[R_STATUS] == "finished" and (race is None or r[R_RACE] == race)
           and len(r) > R_FINISH and r[R_FINISH] is not None]
    out.sort(key=lambda r: r[R_FINISH], reverse=True)
    return out


class ResultsBoard(QWidget):
    def __init__(self, clock: Clock, title: str, now_ms: Callable[[], int]) -> None:
        super().__init__()
        self.clock = clock
        self.now_ms = now_ms
        self.setWindowTitle(tr("Results board"))
        self.setAccessibleName(tr("Results board"))
        self.title = title
        self.rows: list[ResultRow] = []
        self.page = 0
        self.setAutoFillBackground(False)
        esc = QShortcut(QKeySequence("Escape"), self)
        esc.activated.connect(self.close)
        self._pager = QTimer(self)
        self._pager.timeout.connect(self.turn)
        self._pager.start(PAGE_MS)
        self._tick = QTimer(self)
        self._tick.timeout.connect(self.update)  # the clock
        self._tick.start(1000)

    # -- content
    def set_title(self, title: str) -> None:
        self.title = title
        self.update()

    def set_rows(self, rows: Sequence[ResultRow], race: str | None) -> None:
        self.rows = board_rows(rows, race)
        self.page = min(self.page, self.pages - 1)
        self.update()

    # -- geometry: whole rows only
    @property
    def row_h(self) -> int:
        return max(40, self.height() // 13)

    @property
    def rows_per_page(self) -> int:
        top = self._band_h() * 2  # the title band and the column heads
        return max(1, (self.height() - top) // self.row_h)

    @property
    def pages(self) -> int:
        return max(1, -(-len(self.rows) // self.rows_per_page))

    def page_rows(self) -> list[ResultRow]:
        n = self.rows_per_page
        return self.rows[self.page * n:(self.page + 1) * n]

    def turn(self) -> None:
        self.page = (self.page + 1) % self.pages
        self.update()

    def clock_text(self) -> str:
        return self.clock.hms(self.now_ms(), tenths=False)

    def _band_h(self) -> int:
        return int(self.row_h * 1.2)

    # -- painting
    def paintEvent(self, _ev: QPaintEvent) -> None:
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.TextAntialiasing)
        w, rh, band = self.width(), self.row_h, self._band_h()
        p.fillRect(self.rect(), QColor(BG))
        self._paint_band(p, w, band)
        y = band
        p.setFont(self._font(int(rh * 0.42), bold=True))
        p.setPen(QColor(DIM))
        self._paint_cells(p, y, rh, [tr(t) for t, _, _ in COLUMNS])
        y += band
        shown = self.page_rows()
        if not shown:
            p.setFont(self._font(int(rh * 0.5)))
            p.drawText(QRect(0, y, w, rh * 2), Qt.AlignmentFlag.AlignCenter, tr("No finishers yet."))
        for i, r in enumerate(shown):
            if i % 2:
                p.fillRect(0, y, w, rh, QColor(STRIPE))
            self._paint_row(p, y, rh, r)
            y += rh
        p.end()

    def _paint_band(self, p: QPainter, w: int, band: int) -> None:
        p.setFont(self._font(int(band * 0.5), bold=True))
        p.setPen(QColor(FG))
        pad = int(band * 0.3)
        p.drawText(QRect(pad, 0, int(w * 0.3) - pad, band), Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft,
                   p.fontMetrics().elidedText(self.title, Qt.TextElideMode.ElideRight, int(w * 0.3) - pad))
        p.setPen(QColor(ACCENT))
        p.drawText(QRect(int(w * 0.7), 0, int(w * 0.3) - pad, band),
                   Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignRight, self.clock_text())
        said = tr("Latest finishers")
        if self.pages > 1:
            said += " · " + tr("Page {n} of {m}").format(n=self.page + 1, m=self.pages)
        p.setPen(QColor(DIM))
        p.setFont(self._font(int(band * 0.34)))
        p.drawText(QRect(int(w * 0.3), 0, int(w * 0.4), band), Qt.AlignmentFlag.AlignCenter, said)

    def _paint_row(self, p: QPainter, y: int, rh: int, r: ResultRow) -> None:
        t = r[R_CHIP] if r[R_CHIP] is not None else r[R_GUN]
        cells = [str(r[R_RANK] or ""), str(r[R_BIB]), str(r[R_NAME]), str(r[R_CAT] or ""),
                 fmt_duration(t) if t is not None else ""]
        p.setFont(self._font(int(rh * 0.55), bold=True))
        p.setPen(QColor(FG))
        self._paint_cells(p, y, rh, cells, accent_last=True)

    def _paint_cells(self, p: QPainter, y: int, rh: int, cells: list[str], accent_last: bool = False) -> None:
        x, w = 0, self.width()
        pad = int(rh * 0.25)
        pen = p.pen()
        for i, ((_t, share, right), text) in enumerate(zip(COLUMNS, cells, strict=True)):
            cw = int(w * share)
            if accent_last and i == len(cells) - 1:
                p.setPen(QColor(ACCENT))
            align = (Qt.AlignmentFlag.AlignRight if right else Qt.AlignmentFlag.AlignLeft) | \
                Qt.AlignmentFlag.AlignVCenter
            rect = QRect(x + pad, y, cw - 2 * pad, rh)
            p.drawText(rect, align, p.fontMetrics().elidedText(text, Qt.TextElideMode.ElideRight, rect.width()))
            x += cw
        p.setPen(pen)

    @staticmethod
    def _font(px: int, bold: bool = False) -> QFont:
        f = QFont()
        f.setPixelSize(max(10, px))
        f.setBold(bold)
        return f

    def showEvent(self, ev: Any) -> None:
        super().showEvent(ev)
        self.setCursor(Qt.CursorShape.BlankCursor)  # no pointer on the board
