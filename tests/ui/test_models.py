"""Every table model passes Qt's model tester (pytest-qt `qtmodeltester`)."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt

from ui.models import (
    Clock,
    CountsModel,
    CrossingsModel,
    FeedModel,
    GunsModel,
    RecentScansModel,
    ResultsModel,
    ScanRow,
    StringListModel,
    UnknownChipsModel,
)
from ui.readers_model import ReadersModel
from ui.snapshots import FeedRow, ReaderState, ResultsSnapshot, UnknownChip


def results_snapshot(n: int = 50) -> ResultsSnapshot:
    rows = []
    for i in range(n):
        fin = i % 5 != 0
        rows.append(("10k" if i % 2 else "5k", (i // 2 + 1) if fin else None, str(1000 + i), f"Runner {i}",
                     "MF"[i % 2], "M30-39" if i % 3 else "F40-49", (i // 6 + 1) if fin else None, None,
                     "finished" if fin else "running", 1_800_000 + i * 1000 if fin else None,
                     1_810_000 + i * 1000 if fin else None, f"R{i}", (900_000 + i,), "club", "", 0 if fin else 1))
    return ResultsSnapshot(tuple(rows), ("km5",), 1)


def test_results_model(qtmodeltester: Any) -> None:
    m = ResultsModel()
    m.set_snapshot(results_snapshot())
    qtmodeltester.check(m, force_py=True)
    m.set_filter(race="10k", text="runner 1")
    assert all(m.row(i)[0] == "10k" for i in range(m.rowCount()))
    m.sort(7, Qt.SortOrder.DescendingOrder)
    qtmodeltester.check(m, force_py=True)
    align = Qt.ItemDataRole.TextAlignmentRole
    left, right = Qt.AlignmentFlag.AlignLeft, Qt.AlignmentFlag.AlignRight
    heads = [m.headerData(c, Qt.Orientation.Horizontal) for c in range(m.columnCount())]
    for title, want in (("Name", left), ("Club", left), ("Status", left), ("Rank", right), ("Bib", right),
                        ("Chip time", right), ("km5", right)):
        assert int(m.data(m.index(0, heads.index(title)), align)) & int(want), title


def test_list_models(qtmodeltester: Any) -> None:
    clock = Clock("Asia/Shanghai")
    feed = FeedModel(clock)
    feed.add([FeedRow(1_700_000_000_000 + i, "finish", f"7{i}", str(i), f"N{i}", "finish-1", f"u{i}")
              for i in range(5)])
    unknown = UnknownChipsModel(clock)
    unknown.set_unknown([UnknownChip("999", 3, 1_700_000_000_000, "km5")])
    readers = ReadersModel(clock, lambda: 1_700_000_005_000)
    readers.set_rows([ReaderState("r1", "finish", "ultra", "main", True, True, False, "", 10, 2.5, "7", 1, 1_700_000_000_000,
                                  -40, None, "", 0)])
    recent = RecentScansModel(clock)
    recent.add(ScanRow(1_700_000_000_000, "ok", "1", "张三", "10k", "", "u1"))
    recent.mark_undone("u1")
    counts = CountsModel()
    counts.set_rows([("10 km", 10, 3, 2, 1)])
    guns = GunsModel(clock)
    guns.set_rows([("10k", "A", 1_700_000_000_000, "op")])
    cross = CrossingsModel(clock)
    cross.set_rows([{"point": "finish", "time": 1_700_000_000_000, "source": "main", "reads": 2, "uuids": ["a", "b"]}])
    notes = StringListModel("Problem")
    notes.set_rows(["people.csv:3: gender: expected M, F or X"])
    for m in (feed, unknown, readers, recent, counts, guns, cross, notes):
        qtmodeltester.check(m, force_py=True)
