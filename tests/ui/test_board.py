"""The results board (F11): latest finishers first, only finishers, whole rows, pages that turn, a clock."""

from __future__ import annotations

from typing import Any

from ui.models import Clock
from ui.modes.board import ResultsBoard, board_rows


def _row(bib: int, status: str, finish: int | None, race: str = "10k") -> tuple[Any, ...]:
    done = status == "finished"
    return (race, bib if done else None, str(bib), f"Runner {bib}", "M", "M30-39", None, None, status,
            3_600_000 + bib if done else None, 3_600_000 + bib if done else None, f"R{bib}", (), "", "", 0,
            finish if done else None)


def test_board_lists_latest_finishers_first_on_whole_pages(qtbot: Any) -> None:
    rows = [_row(i, "finished", 1_000 * i) for i in range(1, 41)] + [_row(99, "running", None),
                                                                    _row(98, "finished", 5, race="5k")]
    assert [r[2] for r in board_rows(rows, "10k")[:3]] == ["40", "39", "38"]
    assert all(r[8] == "finished" for r in board_rows(rows, None))  # no running rows with empty times
    board = ResultsBoard(Clock("Asia/Shanghai"), "10 km", lambda: 1_700_000_000_000)
    qtbot.addWidget(board)
    board.resize(1366, 768)
    board.set_rows(rows, "10k")
    board.show()
    n = board.rows_per_page
    assert 8 <= n <= 14  # big type: about a dozen rows on a laptop screen
    band = int(board.row_h * 1.2)
    assert 2 * band + n * board.row_h <= board.height()  # the last row is whole
    assert board.pages == -(-40 // n)
    assert board.page_rows()[0][2] == "40"
    board.turn()
    assert board.page == 1 and board.page_rows()[0][2] == str(40 - n)
    for _ in range(board.pages - 1):
        board.turn()
    assert board.page == 0  # back to the latest
    assert board.clock_text() == "06:13:20"
    img = board.grab().toImage()
    assert img.pixelColor(5, board.height() - 3).name() in ("#000000", "#1c1c1c")  # a dark board
