"""Qt table models: thin adapters over snapshots sent by the domain worker.

Why so thin: `data()` runs for every visible cell on every repaint, so it only indexes a Python list
and formats a value — no SQL, no engine call. Sorting and filtering of the 40,000-row leaderboard are
done on an index list with Python's sort (tens of milliseconds), not through QSortFilterProxyModel,
whose per-comparison calls back into Python would take seconds.
"""

from __future__ import annotations

import bisect
import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from PySide6.QtCore import (
    QAbstractTableModel,
    QCoreApplication,
    QModelIndex,
    QPersistentModelIndex,
    Qt,
)
from PySide6.QtGui import QBrush, QColor, QFont

from station.results.timefmt import fmt_duration
from ui.i18n import tr
from ui.snapshots import (
    R_BIB,
    R_CAT,
    R_CAT_RANK,
    R_CHIP,
    R_CLUB,
    R_GENDER,
    R_GUN,
    R_NAME,
    R_RACE,
    R_RANK,
    R_REG,
    R_SPLITS,
    R_STATUS,
    R_STATUS_ORDER,
    FeedRow,
    ResultRow,
    ResultsSnapshot,
    UnknownChip,
)

Index = QModelIndex | QPersistentModelIndex


def gender_text(g: str) -> str:
    """`M`/`F`/`X` as the language writes them (男/女 in Chinese); the data keeps the letter."""
    return QCoreApplication.translate("gender", g) if g else g
ALIGN_RIGHT = int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
ALIGN_LEFT = int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
ALIGN_CENTER = int(Qt.AlignmentFlag.AlignCenter)
BIG = 1 << 62


def status_text(status: str) -> str:
    return {"finished": tr("Finished"), "running": tr("Running"), "DNF": tr("DNF"), "DNS": tr("DNS"),
            "DQ": tr("DQ")}.get(status, status)


class Clock:
    """Formats UTC ms in the event's time zone (shared by models; set when the event loads)."""

    def __init__(self, tz: str = "UTC") -> None:
        self.set_zone(tz)

    def set_zone(self, tz: str) -> None:
        try:
            self.zone = ZoneInfo(tz)
        except Exception:
            self.zone = ZoneInfo("UTC")

    def hms(self, ms: int | None, tenths: bool = True) -> str:
        if ms is None:
            return ""
        t = dt.datetime.fromtimestamp(ms / 1000, self.zone)
        return t.strftime("%H:%M:%S") + (f".{t.microsecond // 100_000}" if tenths else "")

    def hm(self, ms: int | None) -> str:
        if ms is None:
            return ""
        return dt.datetime.fromtimestamp(ms / 1000, self.zone).strftime("%H:%M")


@dataclass(frozen=True)
class Column:
    title: str  # English source text; translated in headerData
    value: Callable[[Any], Any]
    key: Callable[[Any], Any] | None = None
    align: int = 0


class ListTableModel(QAbstractTableModel):
    """A read-only table over a Python list of row objects, described by `Column`s."""

    def __init__(self, columns: Sequence[Column], parent: Any = None) -> None:
        super().__init__(parent)
        self.columns = list(columns)
        self.rows: list[Any] = []

    def rowCount(self, parent: Index = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent: Index = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self.columns)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            if 0 <= section < len(self.columns):
                return tr(self.columns[section].title)
        return None

    def row_at(self, row: int) -> Any:
        return self.rows[row]

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        r, c = index.row(), index.column()
        if r >= len(self.rows) or c >= len(self.columns):
            return None
        col = self.columns[c]
        if role == Qt.ItemDataRole.DisplayRole:
            v = col.value(self.row_at(r))
            return "" if v is None else str(v)
        if role == Qt.ItemDataRole.TextAlignmentRole and col.align:
            return col.align
        return self.extra(r, c, role)

    def extra(self, row: int, col: int, role: int) -> Any:
        return None

    def set_rows(self, rows: Sequence[Any]) -> None:
        self.beginResetModel()
        self.rows = list(rows)
        self.endResetModel()


# ----------------------------------------------------------------------------------------- results
class ResultsModel(QAbstractTableModel):
    """The live leaderboard: all races in one snapshot, filtered to one race (and gender, category,
    search text) and sorted on an index list. Formatting happens only for visible cells."""

    BASE = ("Rank", "Bib", "Name", "Gender", "Category", "Cat. rank", "Status", "Chip time", "Gun time")

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self.all: tuple[ResultRow, ...] = ()
        self.view: list[int] = []
        self.split_points: tuple[str, ...] = ()
        self.race: str | None = None
        self.gender: str | None = None
        self.category: str | None = None
        self.text = ""
        self.sort_column = -1
        self.sort_order = Qt.SortOrder.AscendingOrder
        self.version = -1

    # -- structure
    def rowCount(self, parent: Index = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self.view)

    def columnCount(self, parent: Index = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self.BASE) + len(self.split_points) + 1

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if orientation != Qt.Orientation.Horizontal or role != Qt.ItemDataRole.DisplayRole:
            return None
        nb = len(self.BASE)
        if section < nb:
            return tr(self.BASE[section])
        if section < nb + len(self.split_points):
            return self.split_points[section - nb]
        if section == nb + len(self.split_points):
            return tr("Club")
        return None

    def is_numeric(self, c: int) -> bool:
        """Ranks, bib, times and splits (right-aligned); name, gender, category, status, club are text."""
        return c in (0, 1, 5, 7, 8) or len(self.BASE) <= c < len(self.BASE) + len(self.split_points)

    def row(self, r: int) -> ResultRow:
        return self.all[self.view[r]]

    def registration_at(self, r: int) -> str:
        return str(self.row(r)[R_REG])

    def row_of_registration(self, reg: str) -> int:
        for i, ix in enumerate(self.view):
            if self.all[ix][R_REG] == reg:
                return i
        return -1

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        r, c = index.row(), index.column()
        if r >= len(self.view) or c >= self.columnCount():
            return None
        row = self.all[self.view[r]]
        if role == Qt.ItemDataRole.DisplayRole:
            return self._text(row, c)
        if role == Qt.ItemDataRole.TextAlignmentRole:
            return ALIGN_RIGHT if self.is_numeric(c) else ALIGN_LEFT
        if role == Qt.ItemDataRole.ForegroundRole and row[R_STATUS] in ("DQ", "DNF", "DNS"):
            return QBrush(QColor("#b00020"))
        if role == Qt.ItemDataRole.UserRole:
            return row[R_REG]
        return None

    def _text(self, row: ResultRow, c: int) -> str:
        if c == 0:
            return "" if row[R_RANK] is None else str(row[R_RANK])
        if c == 1:
            return row[R_BIB]
        if c == 2:
            return row[R_NAME]
        if c == 3:
            return gender_text(row[R_GENDER])
        if c == 4:
            return row[R_CAT]
        if c == 5:
            return "" if row[R_CAT_RANK] is None else str(row[R_CAT_RANK])
        if c == 6:
            return status_text(row[R_STATUS])
        if c == 7:
            return fmt_duration(row[R_CHIP]) if row[R_CHIP] is not None else ""
        if c == 8:
            return fmt_duration(row[R_GUN]) if row[R_GUN] is not None else ""
        nb = len(self.BASE)
        if c < nb + len(self.split_points):
            v = row[R_SPLITS][c - nb]
            return fmt_duration(v) if v is not None else ""
        return row[R_CLUB]

    # -- data in
    def set_snapshot(self, snap: ResultsSnapshot) -> None:
        self.beginResetModel()
        self.all = snap.rows
        self.split_points = snap.split_points
        self.version = snap.version
        self._recompute()
        self.endResetModel()

    def set_filter(self, *, race: str | None = ..., gender: str | None = ..., category: str | None = ...,  # type: ignore[assignment]
                   text: str | None = None) -> None:
        self.beginResetModel()
        if race is not ...:
            self.race = race
        if gender is not ...:
            self.gender = gender
        if category is not ...:
            self.category = category
        if text is not None:
            self.text = text.strip().casefold()
        self._recompute()
        self.endResetModel()

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        self.layoutAboutToBeChanged.emit()
        old = self.view
        self.sort_column, self.sort_order = column, order
        self._sort()
        self._remap(old)
        self.layoutChanged.emit()

    def _remap(self, old: list[int]) -> None:
        pos = {ix: i for i, ix in enumerate(self.view)}
        for p in self.persistentIndexList():
            if p.row() < len(old):
                nr = pos.get(old[p.row()])
                self.changePersistentIndex(p, self.index(nr, p.column()) if nr is not None else QModelIndex())

    # -- filtering and sorting (pure Python on an index list)
    def _recompute(self) -> None:
        rows = self.all
        race, gender, cat, text = self.race, self.gender, self.category, self.text
        idx = range(len(rows))
        if race:
            idx = [i for i in idx if rows[i][R_RACE] == race]
        if gender:
            idx = [i for i in idx if rows[i][R_GENDER] == gender]
        if cat:
            idx = [i for i in idx if rows[i][R_CAT] == cat]
        if text:
            if text.isdigit():
                idx = [i for i in idx if rows[i][R_BIB].startswith(text)]
            else:
                idx = [i for i in idx if text in rows[i][R_NAME].casefold() or text in rows[i][R_CLUB].casefold()]
        self.view = list(idx)
        self._sort()

    def _sort(self) -> None:
        c = self.sort_column
        if c < 0:
            return  # snapshot order = the results contract order
        rows = self.all
        key = self._key(c)
        self.view.sort(key=lambda i: key(rows[i]), reverse=self.sort_order == Qt.SortOrder.DescendingOrder)

    def _key(self, c: int) -> Callable[[ResultRow], Any]:
        nb = len(self.BASE)

        def num(i: int) -> Callable[[ResultRow], Any]:
            return lambda r: (BIG if r[i] is None else r[i], r[R_STATUS_ORDER])

        if c == 0:
            return lambda r: (r[R_RANK] if r[R_RANK] is not None else BIG, r[R_STATUS_ORDER], _bib_key(r[R_BIB]))
        if c == 1:
            return lambda r: _bib_key(r[R_BIB])
        if c == 2:
            return lambda r: r[R_NAME].casefold()
        if c == 3:
            return lambda r: r[R_GENDER]
        if c == 4:
            return lambda r: r[R_CAT]
        if c == 5:
            return num(R_CAT_RANK)
        if c == 6:
            return lambda r: r[R_STATUS_ORDER]
        if c == 7:
            return num(R_CHIP)
        if c == 8:
            return num(R_GUN)
        if c < nb + len(self.split_points):
            j = c - nb
            return lambda r: (BIG if r[R_SPLITS][j] is None else r[R_SPLITS][j])
        return lambda r: r[R_CLUB].casefold()

    # -- filter choices
    def genders(self) -> list[str]:
        return sorted({r[R_GENDER] for r in self.all if not self.race or r[R_RACE] == self.race})

    def categories(self) -> list[str]:
        return sorted({r[R_CAT] for r in self.all if not self.race or r[R_RACE] == self.race})


def _bib_key(b: str) -> tuple[int, int, str]:
    return (0, int(b), b) if b.isdigit() else (1, 0, b)


# ----------------------------------------------------------------------------------------- timing
class FeedModel(ListTableModel):
    """The live crossings feed in time order, latest first, capped (older crossings live in the log).

    Rows are placed by their crossing time, not by arrival: a manual time typed a minute later, a
    backup reader or a resend lands where it belongs."""

    CAP = 500

    def __init__(self, clock: Clock, parent: Any = None) -> None:
        super().__init__([
            Column("Time", lambda f: clock.hms(f.t)),
            Column("Point", lambda f: f.point),
            Column("Bib", lambda f: f.bib or tr("unknown chip"), align=ALIGN_RIGHT),
            Column("Name", lambda f: f.name),
            Column("Chip", lambda f: f.chip),
            Column("Source", lambda f: tr("manual") if f.source == "manual" else f.source),
        ], parent)
        self._buf: list[FeedRow] = []  # oldest first (bisect), shown reversed

    def add(self, rows: Sequence[FeedRow]) -> None:
        buf = self._buf
        for r in rows:
            if not buf or r.t >= buf[-1].t:
                buf.append(r)  # the usual case: live reads arrive in time order
            else:
                bisect.insort_right(buf, r, key=lambda f: f.t)
        if len(buf) > self.CAP:
            del buf[: len(buf) - self.CAP]
        self.set_rows(buf[::-1])

    def extra(self, row: int, col: int, role: int) -> Any:
        if role == Qt.ItemDataRole.ForegroundRole and not self.rows[row].bib:
            return QBrush(QColor("#b36b00"))
        return None


class UnknownChipsModel(ListTableModel):
    def __init__(self, clock: Clock, parent: Any = None) -> None:
        super().__init__([
            Column("Chip", lambda u: u.chip),
            Column("Reads", lambda u: u.reads, align=ALIGN_RIGHT),
            Column("Last seen", lambda u: clock.hms(u.last_t)),
            Column("Point", lambda u: u.point),
        ], parent)

    def set_unknown(self, rows: Sequence[UnknownChip]) -> None:
        self.set_rows(rows)


def _ago(ms: int | None, now_ms: int) -> str:
    if ms is None:
        return tr("never")
    s = max(0, (now_ms - ms) // 1000)
    return tr("{n} s ago").format(n=s) if s < 120 else tr("{n} min ago").format(n=s // 60)


# ----------------------------------------------------------------------------------------- check-in
@dataclass(frozen=True)
class ScanRow:
    at_ms: int
    status: str
    bib: str
    name: str
    race: str
    detail: str
    uuid: str
    undone: bool = False
    participant: Any = None  # the runner (a view), so a click on the row selects them for desk actions


VERDICT_TEXT = {"ok": "OK", "already": "ALREADY", "invalid": "INVALID", "unknown": "UNKNOWN"}


class RecentScansModel(ListTableModel):
    CAP = 200

    def __init__(self, clock: Clock, parent: Any = None) -> None:
        super().__init__([
            Column("Time", lambda s: clock.hms(s.at_ms, tenths=False)),
            Column("Verdict", lambda s: tr("Undone") if s.undone else tr(VERDICT_TEXT.get(s.status, s.status))),
            Column("Bib", lambda s: s.bib, align=ALIGN_RIGHT),
            Column("Name", lambda s: s.name),
            Column("Race", lambda s: s.race),
            Column("Detail", lambda s: s.detail),
        ], parent)

    def add(self, row: ScanRow) -> None:
        self.beginInsertRows(QModelIndex(), 0, 0)
        self.rows.insert(0, row)
        self.endInsertRows()
        if len(self.rows) > self.CAP:
            self.beginRemoveRows(QModelIndex(), self.CAP, len(self.rows) - 1)
            del self.rows[self.CAP:]
            self.endRemoveRows()

    def mark_undone(self, uuid: str) -> None:
        for i, r in enumerate(self.rows):
            if r.uuid == uuid:
                self.rows[i] = ScanRow(r.at_ms, r.status, r.bib, r.name, r.race, r.detail, r.uuid, True,
                                       r.participant)
                self.dataChanged.emit(self.index(i, 0), self.index(i, self.columnCount() - 1))

    def extra(self, row: int, col: int, role: int) -> Any:
        if col == 1 and role == Qt.ItemDataRole.ForegroundRole:
            s = self.rows[row]
            if not s.undone:
                return QBrush(QColor(VERDICT_COLORS.get(s.status, "#000000")))
        return None


VERDICT_COLORS = {"ok": "#137333", "already": "#b06000", "invalid": "#c5221f", "unknown": "#1a57c6"}


class CountsModel(ListTableModel):
    """Checked-in (and started, finished) per race."""

    def __init__(self, parent: Any = None) -> None:
        super().__init__([
            Column("Race", lambda r: r[0]),
            Column("Checked in", lambda r: f"{r[2]} / {r[1]}", align=ALIGN_RIGHT),
            Column("Started", lambda r: r[3], align=ALIGN_RIGHT),
            Column("Finished", lambda r: r[4], align=ALIGN_RIGHT),
        ], parent)


class GunsModel(ListTableModel):
    def __init__(self, clock: Clock, parent: Any = None) -> None:
        super().__init__([
            Column("Race", lambda g: g[0] or tr("all races")),
            Column("Wave", lambda g: g[1]),
            Column("Gun fired at", lambda g: clock.hms(g[2])),
            Column("Operator", lambda g: g[3]),
        ], parent)


CROSSING_ROLES = {"start": "Chip start = last read", "finish": "Finish"}


class CrossingsModel(ListTableModel):
    """A runner's crossings (kept or ignored) in the detail dialog: what each counts as, its first and
    last read, and its entries by ids long enough to tell them apart (`ids`: full id → shown id)."""

    def __init__(self, clock: Clock, parent: Any = None, ids: dict[str, str] | None = None) -> None:
        self.ids = ids or {}
        super().__init__([
            Column("Point", lambda c: c["point"]),
            Column("Counts as", lambda c: tr(CROSSING_ROLES[c["role"]]) if c.get("role") else ""),
            Column("Time", lambda c: clock.hms(c["time"])),
            Column("First read", lambda c: clock.hms(c["first"]) if "first" in c else ""),
            Column("Last read", lambda c: clock.hms(c["last"]) if "last" in c else ""),
            Column("Source", lambda c: tr(c["source"])),
            Column("Reads", lambda c: c["reads"], align=ALIGN_RIGHT),
            Column("Entries", lambda c: " ".join(self.ids.get(u, u[:8]) for u in c["uuids"])),
        ], parent)

    def extra(self, row: int, col: int, role: int) -> Any:
        c = self.rows[row]
        if role == Qt.ItemDataRole.ToolTipRole and col == 7:
            return "\n".join(c["uuids"])  # the full ids (as `correct ignore --entry` takes them)
        if role == Qt.ItemDataRole.FontRole and c.get("role"):
            f = QFont()
            f.setBold(True)
            return f
        return None


class StringListModel(ListTableModel):
    """One column of plain text (import problems, trace notes)."""

    def __init__(self, title: str, parent: Any = None) -> None:
        super().__init__([Column(title, lambda s: s)], parent)
