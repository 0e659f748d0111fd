"""The announcer screen (Ctrl+6): runners crossing the chosen mat, newest first, VIPs pinned on top.

Why the web announcer's rule: place so far and predicted finish come from `station.web.board`'s
`Board.crossings` (the speaker's phone and this screen must never disagree). The domain worker builds
the board and the crossings on its thread and sends an `AnnouncerSnapshot`; the model only reads it.
The mat chosen first is the last split before the finish (where a speaker has time to say a name). The
worker builds boards for this screen only while it is shown.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtGui import QBrush, QColor, QFont
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QHeaderView, QLabel, QTableView, QVBoxLayout, QWidget

from ui.context import UiContext
from ui.i18n import tr
from ui.snapshots import AnnouncerSnapshot, EventInfo

FINISH = "finish"  # station.web.board.FINISH_MAT
COLUMNS = ("Crossed", "Bib", "Name", "Club", "Category", "Place so far", "Predicted finish", "Time")
VIP_BG, VIP_FG = "#ffd54f", "#000000"
TYPE_PX = 26  # read from a few metres away
_Index = QModelIndex | QPersistentModelIndex


class AnnouncerModel(QAbstractTableModel):
    """Rows: the pinned VIPs, then everyone (newest first), as `(Crossed, pinned)`."""

    def __init__(self, hms: Any) -> None:
        super().__init__()
        self.hms = hms
        self.rows: list[tuple[Any, bool]] = []
        self.mat = FINISH

    def set_snapshot(self, snap: AnnouncerSnapshot) -> None:
        self.beginResetModel()
        self.mat = snap.mat
        self.rows = [(c, True) for c in snap.vips] + [(c, False) for c in snap.rows]
        self.endResetModel()

    def rowCount(self, parent: _Index = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent: _Index = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return tr(COLUMNS[section])
        return None

    def cell(self, row: int, col: int) -> str:
        c = self.rows[row][0]
        r = c.row
        name = r.name or tr("Runner {bib}").format(bib=r.bib)
        cells = (self.hms(c.at, tenths=False), r.bib, ("★ " if r.vip else "") + name, r.club, r.category,
                 str(c.place), c.predicted if self.mat != FINISH else "", c.elapsed)
        return str(cells[col])

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.AccessibleTextRole):
            return self.cell(index.row(), index.column())
        pinned = self.rows[index.row()][1]
        if role == Qt.ItemDataRole.BackgroundRole and pinned:
            return QBrush(QColor(VIP_BG))
        if role == Qt.ItemDataRole.ForegroundRole and pinned:
            return QBrush(QColor(VIP_FG))
        if role == Qt.ItemDataRole.TextAlignmentRole and index.column() in (1, 5, 6, 7):
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None


class AnnouncerMode(QWidget):
    def __init__(self, ctx: UiContext) -> None:
        super().__init__()
        self.ctx = ctx
        self.setAccessibleName(tr("Announcer"))
        lay = QVBoxLayout(self)
        top = QHBoxLayout()
        label = QLabel(tr("Mat"))
        self.mats = QComboBox()
        self.mats.setAccessibleName(tr("Mat"))
        label.setBuddy(self.mats)
        top.addWidget(label)
        top.addWidget(self.mats)
        top.addStretch(1)
        lay.addLayout(top)
        self.model = AnnouncerModel(ctx.clock.hms)
        self.table = QTableView()
        self.table.setAccessibleName(tr("Runners crossing the mat"))
        self.table.setModel(self.model)
        font = QFont()
        font.setPixelSize(TYPE_PX)
        font.setBold(True)
        self.table.setFont(font)
        self.table.verticalHeader().hide()
        self.table.verticalHeader().setDefaultSectionSize(int(TYPE_PX * 1.8))
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.table.setSelectionMode(QTableView.SelectionMode.NoSelection)
        lay.addWidget(self.table, 1)
        self.mats.currentIndexChanged.connect(self._chosen)
        self._event_id: str | None = None
        self.set_event(ctx.event)

    def set_event(self, info: EventInfo) -> None:
        """Mats: the split points in course order, then the finish; the last split chosen first."""
        keep = self.mats.currentData() if info.id == self._event_id else None  # a new event: its last split
        self._event_id = info.id
        self.mats.blockSignals(True)
        self.mats.clear()
        for p in info.split_points:
            self.mats.addItem(p, p)
        self.mats.addItem(tr("Finish"), FINISH)
        pick = keep if keep is not None and self.mats.findData(keep) >= 0 else (
            info.split_points[-1] if info.split_points else FINISH)
        self.mats.setCurrentIndex(self.mats.findData(pick))
        self.mats.blockSignals(False)
        self._chosen()

    def choose(self, mat: str) -> None:
        self.mats.setCurrentIndex(self.mats.findData(mat))

    def _chosen(self, _i: int = 0) -> None:
        if self.isVisible():
            self._watch(self.mats.currentData())

    def _watch(self, mat: str | None) -> None:
        """Tell the domain worker which mat to follow (None: stop building boards for this screen)."""
        worker = self.ctx.client.worker
        self.ctx.client.call(lambda _d: worker.watch_mat(mat))

    def showEvent(self, ev: Any) -> None:
        super().showEvent(ev)
        self._watch(self.mats.currentData())

    def hideEvent(self, ev: Any) -> None:
        super().hideEvent(ev)
        self._watch(None)  # a hidden screen costs the worker nothing

    def set_snapshot(self, snap: AnnouncerSnapshot) -> None:
        if snap.mat == (self.mats.currentData() or FINISH):
            self.model.set_snapshot(snap)

    def shutdown(self) -> None:
        self._watch(None)
