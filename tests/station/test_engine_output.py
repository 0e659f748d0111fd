"""Results CSV / JSON contract: columns, row order, empty cells, display rounding."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

import pytest

from station.results.csvout import CONTRACT_COLUMNS, write_csv, write_json

HEADER = ("race,overall_rank,bib,name,gender,category,category_rank,gender_rank,status,gun_time,"
          "chip_time,gun_ms,chip_ms")


@pytest.fixture
def ef(race_ef: Any) -> Any:
    return race_ef


def csv_text(eng: Any, race: str | None = None) -> str:
    out = io.StringIO(newline="")
    write_csv(eng.rows(race), out, eng.split_columns())
    return out.getvalue()


def test_contract_columns_constant() -> None:
    assert ",".join(CONTRACT_COLUMNS) == HEADER


def test_csv_header_rows_and_lf(ef: Any) -> None:
    ef.participant("R1", name="张伟")
    ef.read("C1", "start", ef.hms("07:30:05"))
    ef.read("C1", "km5", ef.hms("07:55:05.500"))
    ef.read("C1", "finish", ef.hms("08:32:08.001"))
    text = csv_text(ef.engine())
    assert "\r" not in text
    lines = text.split("\n")
    assert lines[0] == HEADER + ",split_km5_ms"
    assert lines[1] == "10k,1,1,张伟,M,M30-39,1,1,finished,1:02:09,1:02:04,3728001,3723001,1500500"
    assert lines[2] == ""


def test_display_rounds_up_exports_keep_ms(ef: Any) -> None:
    ef.participant("R1")
    ef.participant("R2")
    ef.read("C1", "finish", ef.hms("08:32:03.001"))
    ef.read("C2", "finish", ef.hms("08:32:03.000"))
    rows = {r["bib"]: r for r in ef.engine().rows()}
    assert (rows["1"]["gun_time"], rows["1"]["gun_ms"]) == ("1:02:04", 3_723_001)
    assert (rows["2"]["gun_time"], rows["2"]["gun_ms"]) == ("1:02:03", 3_723_000)


def _mixed_field(ef: Any) -> None:
    # bibs chosen so that text order differs from number order
    ef.participant("R10", bib="10")
    ef.participant("R9", bib="9")
    ef.participant("R100", bib="100")
    ef.participant("R2", bib="2")
    ef.participant("R3", bib="3")
    ef.participant("R4", bib="4")
    ef.participant("R5", bib="5")
    ef.participant("R6", bib="6")
    ef.participant("R7", bib="7", race="5k")
    ef.read("C100", "finish", ef.hms("08:10:00"))  # rank 1
    ef.read("C10", "finish", ef.hms("08:11:00"))  # rank 2 (tie)
    ef.read("C9", "finish", ef.hms("08:11:00"))  # rank 2 (tie): bib 9 before bib 10
    ef.read("C2", "km5", ef.hms("07:55:00"))  # running
    ef.read("C3", "start", ef.hms("07:30:00"))  # running
    ef.read("C4", "finish", ef.hms("08:12:00"))
    ef.correction("dq", registration_id="R4")  # DQ with a finish
    ef.correction("dnf", registration_id="R5")
    ef.read("C7", "finish", ef.hms("07:55:00"))  # 5k: second race in the file


def test_row_order_and_empty_cells(ef: Any) -> None:
    _mixed_field(ef)
    rows = list(csv.DictReader(io.StringIO(csv_text(ef.engine()))))
    got = [(r["race"], r["bib"], r["status"], r["overall_rank"]) for r in rows]
    assert got == [
        ("10k", "100", "finished", "1"),
        ("10k", "9", "finished", "2"),
        ("10k", "10", "finished", "2"),
        ("10k", "2", "running", ""),
        ("10k", "3", "running", ""),
        ("10k", "5", "DNF", ""),
        ("10k", "4", "DQ", ""),
        ("10k", "6", "DNS", ""),
        ("5k", "7", "finished", "1"),
    ]
    for r in rows:
        assert r["category"]  # filled on every row
        if r["status"] != "finished":
            assert r["overall_rank"] == r["gender_rank"] == r["category_rank"] == ""
            assert r["gun_time"] == r["chip_time"] == r["gun_ms"] == r["chip_ms"] == ""
        assert set(r) == set(CONTRACT_COLUMNS) | {"split_km5_ms"}
    assert [r["split_km5_ms"] for r in rows if r["bib"] == "2"] == ["1500000"]


def test_rows_for_one_race(ef: Any) -> None:
    _mixed_field(ef)
    eng = ef.engine()
    assert [r["bib"] for r in eng.rows("5k")] == ["7"]
    assert eng.rows("5k")[0]["split_km5_ms"] == ""  # every row has every column


def test_races_in_event_file_order(ef: Any) -> None:
    data = ef.event()
    data["races"].reverse()
    ef.config(data)
    ef.participant("R1", race="10k")
    ef.participant("R2", race="5k")
    assert [r["race"] for r in ef.engine().rows()] == ["5k", "10k"]


def test_bibs_sort_as_text_when_not_all_digits(ef: Any) -> None:
    ef.participant("R1", bib="10")
    ef.participant("R2", bib="9")
    ef.participant("R3", bib="A1")
    assert [r["bib"] for r in ef.engine().rows()] == ["10", "9", "A1"]


def test_bibs_with_non_ascii_digits_sort_as_text(ef: Any) -> None:
    ef.participant("R1", bib="²")  # str.isdigit() is true, int() refuses it
    ef.participant("R2", bib="1")
    assert [r["bib"] for r in ef.engine().rows()] == ["1", "²"]


def test_json_output(ef: Any) -> None:
    _mixed_field(ef)
    eng = ef.engine()
    out = io.StringIO()
    write_json(eng.rows(), out, eng.split_columns(), {"id": "x"})
    doc = json.loads(out.getvalue())
    assert doc["split_columns"] == ["split_km5_ms"]
    first = doc["results"][0]
    assert first["bib"] == "100" and first["overall_rank"] == 1 and first["chip_ms"] == 2_400_000
    dns = next(r for r in doc["results"] if r["status"] == "DNS")
    assert dns["overall_rank"] is None and dns["gun_time"] is None
