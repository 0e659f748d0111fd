"""Results (filters, detail, corrections with the PIN, export) and Setup (event, import with errors)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ui.snapshots import R_BIB, R_STATUS


def _finish(qtbot: Any, win: Any, bib: str) -> None:
    t = win.modes["timing"]
    t.save_manual(win.ctx.now_ms(), bib)
    qtbot.waitUntil(lambda: any(r[R_BIB] == bib and r[R_STATUS] == "finished"
                                for r in win.modes["results"].model.all), timeout=10_000)


def test_filters_detail_and_dq(qtbot: Any, window: Any, tmp_path: Path) -> None:
    _finish(qtbot, window, "1002")
    res = window.modes["results"]
    window.tabs.setCurrentWidget(res)
    assert res.model.rowCount() > 0
    res.search.setText("1002")
    assert res.model.rowCount() == 1
    res.view.selectRow(0)
    with qtbot.waitSignal(res.detail_ready, timeout=10_000) as sig:
        res.open_detail(show=False)
    data = sig.args[0]
    assert data["bib"] == "1002" and data["status"] == "finished"
    assert any(c["source"] == "manual" for c in data["crossings"])
    res.status_correction("dq", reason="cut the course")
    qtbot.waitUntil(lambda: res.model.rowCount() == 1 and res.model.row(0)[R_STATUS] == "DQ", timeout=10_000)
    res.search.setText("")
    res.gender.setCurrentIndex(1)
    g = res.gender.currentData()
    assert all(res.model.row(i)[4] == g for i in range(res.model.rowCount()))
    out = tmp_path / "results.csv"
    res.export(str(out))
    qtbot.waitUntil(lambda: out.exists() and "Saved" in res.status.text(), timeout=20_000)
    assert "1002" in out.read_text(encoding="utf-8")


def test_import_with_errors_shows_the_list(qtbot: Any, window: Any, tmp_path: Path) -> None:
    setup = window.modes["setup"]
    bad = tmp_path / "people.csv"
    bad.write_text("registration_id,bib,name,gender,birth_date,race,wave,chips\n"
                   "X1,8001,张三,M,1990-01-01,10k,A,\n"
                   "X2,8002,李四,Q,1990-13-01,marathon,A,\n", encoding="utf-8")
    with qtbot.waitSignal(setup.import_finished, timeout=10_000) as sig:
        setup.import_csv(str(bad))
    assert sig.args == [False]
    problems = setup.errors.rows
    assert len(problems) >= 2 and all(":3:" in p for p in problems)
    assert setup.errors_view.model().rowCount() == len(problems)
    good = tmp_path / "good.csv"
    good.write_text("registration_id,bib,name,gender,birth_date,race,wave,chips\n"
                    "X1,8001,张三,M,1990-01-01,10k,A,\n", encoding="utf-8")
    with qtbot.waitSignal(setup.import_finished, timeout=10_000) as sig:
        setup.import_csv(str(good))
    assert sig.args == [True] and setup.errors.rowCount() == 0
    assert "1 participant" in setup.import_status.text()


def test_event_file_errors_and_reader_validation(qtbot: Any, window: Any, tmp_path: Path) -> None:
    setup = window.modes["setup"]
    f = tmp_path / "event.toml"
    f.write_text('[event]\nid = "x y"\nname = "A"\ndate = "2026-13-01"\ntimezone = "Mars/Base"\n', encoding="utf-8")
    with qtbot.waitSignal(setup.import_finished, timeout=10_000) as sig:
        setup.load_event(str(f))
    assert sig.args == [False] and setup.errors.rowCount() >= 3
    setup.r_id.setText("finish-9")
    setup.r_port.setEditText("loop://")
    setup.r_listen.setText("0.0.0.0:3097")
    setup.save_reader()
    assert "not both" in setup.reader_status.text()
    setup.r_listen.setText("")
    setup.r_point.setCurrentIndex(setup.r_point.findData("finish"))
    setup.save_reader()
    qtbot.waitUntil(lambda: "saved" in setup.reader_status.text(), timeout=5000)
    qtbot.waitUntil(lambda: any(s.id == "finish-9" for s in window.modes["timing"].readers.rows), timeout=5000)


def test_print_award_lists_official_with_the_pin(qtbot: Any, window: Any, tmp_path: Path) -> None:
    """The race director picks the award list (one prize per runner) and marks it official: the PIN is
    asked, and the PDF says OFFICIAL and lists the winners of the selected race."""
    import shutil
    import subprocess

    from ui.modes.print_results import PrintOptions, PrintResultsDialog

    _finish(qtbot, window, "1002")
    res = window.modes["results"]
    dlg = PrintResultsDialog(res)
    qtbot.addWidget(dlg)
    assert not dlg.top.isEnabled() and not dlg.exclusive.isEnabled()  # only award lists have a top N
    dlg.kind.setCurrentIndex(dlg.kind.findData("awards"))
    assert dlg.top.isEnabled() and dlg.exclusive.isEnabled()
    dlg.top.setValue(5)
    dlg.exclusive.setChecked(True)
    dlg.official.setChecked(True)
    opts = dlg.options()
    assert opts == PrintOptions("awards", 5, True, True)
    asked: list[Any] = []
    window.ctx.prompts.pin = lambda d: (asked.append(d), d.edit.setText("1234"), d._try())
    out = tmp_path / "awards.pdf"
    res.print_pdf(str(out), opts)
    qtbot.waitUntil(lambda: out.exists() and "Saved" in res.status.text(), timeout=20_000)
    assert asked  # official results need the supervisor
    assert out.read_bytes().startswith(b"%PDF")
    if shutil.which("pdftotext"):
        text = subprocess.run(["pdftotext", "-layout", str(out), "-"], capture_output=True, text=True).stdout
        assert "OFFICIAL" in text and "UNOFFICIAL" not in text and "Awards (top 5)" in text
        assert " 1002 " in text


def test_runner_detail_tells_the_chip_start_from_the_start_crossing(qtbot: Any, window: Any, plan: Any) -> None:
    """Rule 4: the chip start is the last read of the start crossing; the dialog shows both starts with
    what each is, the runner's ranks, and ids that tell every read apart."""
    from station.log.reads import ReadRun
    from ui.modes.runner_detail import RunnerDetail

    p = next(x for x in plan.participants if x["race"] == "5k" and x["chips"])
    reg, chip = p["registration_id"], p["chips"][0]
    got: list[int] = []
    window.ctx.client.call(lambda d: d.engine.results()[reg].gun_start_ms, got.append)
    qtbot.waitUntil(lambda: bool(got), timeout=5000)
    gun = got[0]
    ts = [gun + 60_000, gun + 61_000, gun + 62_500]  # waiting on the mat, then leaving it
    run = ReadRun("start-x", "start", "main", ts[-1], "test", chip=[chip] * 3, t=ts, raw=["a", "b", "c"])
    window.ctx.client.call(lambda d: d.store.submit_reads(run).result(10))
    _finish(qtbot, window, p["bib"])
    res = window.modes["results"]
    with qtbot.waitSignal(res.detail_ready, timeout=10_000) as sig:
        res.open_detail(reg, show=False)
    data = sig.args[0]
    assert data["start_ms"] == ts[-1] and data["gun_start_ms"] == gun
    start = next(c for c in data["crossings"] if c["role"] == "start")
    assert (start["first"], start["last"], start["reads"]) == (ts[0], ts[-1], 3)
    assert data["ranks"][0] is not None
    dlg = RunnerDetail(window.ctx, data, lambda *_a: None, res)
    from PySide6.QtWidgets import QLabel

    texts = [w.text() for w in dlg.findChildren(QLabel)]
    assert any("last read of the start crossing" in t for t in texts)
    assert any("overall" in t for t in texts)
    row = next(i for i, c in enumerate(dlg.crossings.rows) if c["role"] == "start")
    shown = dlg.crossings.data(dlg.crossings.index(row, 7)).split()
    assert len(shown) == 3 and len(set(shown)) == 3  # each read told apart (full ids in the tooltip)
    assert "Chip start" in dlg.crossings.data(dlg.crossings.index(row, 1))
    dlg.close()
