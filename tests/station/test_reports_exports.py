"""Exports: the Results CSV contract, JSON and XLSX carrying the same rows, participants with check-in
state and no personal data unless asked."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import openpyxl

from station.reports import exports, sample


def test_csv_is_the_contract(tmp_path: Path) -> None:
    rows = sample.results_rows(60)
    out = tmp_path / "r.csv"
    exports.export_results(rows, out, "csv")
    raw = out.read_bytes()
    assert b"\r\n" not in raw
    got = list(csv.reader(io.StringIO(raw.decode("utf-8"))))
    assert got[0] == [*exports.CONTRACT_COLUMNS, "split_k5_ms", "split_k10_ms"]
    assert len(got) == 61
    assert all(len(r) == len(got[0]) for r in got)
    dnf = next(r for r in got[1:] if r[8] == "DNF")
    assert dnf[1] == "" and dnf[9] == "" and dnf[11] == ""  # unranked: no rank, no time
    assert "registration_id" not in got[0] and "club" not in got[0]


def test_xlsx_reopens_with_the_csv_rows(tmp_path: Path) -> None:
    rows = sample.results_rows(80)
    exports.export_results(rows, tmp_path / "r.csv", "csv")
    exports.export_results(rows, tmp_path / "r.xlsx", "xlsx")
    with open(tmp_path / "r.csv", encoding="utf-8", newline="") as f:
        want = list(csv.reader(f))
    ws = openpyxl.load_workbook(tmp_path / "r.xlsx", read_only=True).active
    width = len(want[0])
    got = [["" if v is None else str(v) for v in row] for row in ws.iter_rows(values_only=True)]
    got = [r + [""] * (width - len(r)) for r in got]  # read-only mode drops trailing empty cells
    assert got == want
    ws2 = openpyxl.load_workbook(tmp_path / "r.xlsx").active
    assert isinstance(ws2.cell(row=2, column=2).value, int)  # ranks are numbers: sortable


def test_json_export(tmp_path: Path) -> None:
    ev = sample.event_config()
    rows = sample.results_rows(20, ev)
    exports.export_results(rows, tmp_path / "r.json", "json", event=ev, generated_at="2026-11-29T10:00:00+08:00")
    doc = json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))
    assert doc["event"]["id"] == ev["event"]["id"]
    assert [r["bib"] for r in doc["results"]] == [r["bib"] for r in rows]
    fin = doc["results"][0]
    assert fin["status"] == "finished" and isinstance(fin["chip_ms"], int)
    assert set(fin) == set(doc["columns"])


def test_participants_export_privacy(tmp_path: Path) -> None:
    ev = sample.event_config()
    people = sample.participants(12, ev)
    for i, p in enumerate(people):
        p["checked_in"] = i % 2 == 0
        p["checkin_at"] = "2026-11-29 06:50:00" if i % 2 == 0 else ""
    exports.export_participants(people, tmp_path / "p.csv", "csv")
    text = (tmp_path / "p.csv").read_text(encoding="utf-8")
    head = text.splitlines()[0].split(",")
    assert "checked_in" in head and "birth_date" not in head and "phone" not in head and "email" not in head
    for p in people:
        assert p["phone"] not in text and p["email"] not in text and p["birth_date"] not in text
        assert p["name"] in text
    rows = list(csv.DictReader(io.StringIO(text)))
    assert [r["checked_in"] for r in rows[:2]] == ["yes", "no"]
    exports.export_participants(people, tmp_path / "p.xlsx", "xlsx", personal=True)
    ws = openpyxl.load_workbook(tmp_path / "p.xlsx").active
    header = [c.value for c in ws[1]]
    assert header[-3:] == ["birth_date", "phone", "email"]
    assert ws.cell(row=2, column=len(header) - 1).value == people[0]["phone"]


def test_spreadsheet_formula_injection_kept_as_text(tmp_path: Path) -> None:
    rows = sample.results_rows(3)
    rows[0]["name"] = '=HYPERLINK("http://evil")'
    exports.export_results(rows, tmp_path / "r.xlsx", "xlsx")
    ws = openpyxl.load_workbook(tmp_path / "r.xlsx").active
    cell = ws.cell(row=2, column=4)
    assert cell.value == '=HYPERLINK("http://evil")' and cell.data_type == "s"
