"""Rules behind the pages: results from publications (the ledger's view) ranked by the engine's own
code, the points rule in decimal arithmetic, the `public` participants column, and published exports
honouring an opt-out."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
from webkit import DATA, PEOPLE

from station.config import EventConfig, load_event_file
from station.entries import Entry
from station.errors import InputErrors
from station.participants import parse_rows
from station.points import points_for
from station.privacy import hide_opted_out
from station.results.published import PublishedEngine
from station.web.board import build_board


def _e(seq: int, kind: str, payload: dict, at: int | None = None, station: str = "s1") -> Entry:
    return Entry(station, seq, f"u{station}{seq}", kind, payload, at if at is not None else 1000 + seq, "t")


def _person(reg: str, bib: str, name: str, gender: str, race: str = "10k", **kw: object) -> dict:
    return {"registration_id": reg, "bib": bib, "name": name, "gender": gender, "birth_date": "1990-01-01",
            "race": race, "wave": "A", "chips": [], **kw}


def _pub(reg: str, bib: str, status: str = "finished", chip: int | None = 2_400_000,
         gun: int | None = 2_410_000, race: str = "10k") -> dict:
    return {"registration_id": reg, "bib": bib, "race": race, "status": status,
            "chip_ms": chip if status == "finished" else None, "gun_ms": gun if status == "finished" else None,
            "splits": {"km5": 1_200_000} if status == "finished" else {}}


def test_published_engine_ranks_ties_latest_publication_and_dq() -> None:
    cfg = load_event_file(DATA / "event.toml")
    eng = PublishedEngine(cfg)
    eng.apply([_e(1, "participant", _person("R1", "1", "A", "M")),
               _e(2, "participant", _person("R2", "2", "B", "F")),
               _e(3, "participant", _person("R3", "3", "C", "M", public=False)),
               _e(4, "participant", _person("R9", "9", "never published", "M")),
               _e(5, "result_published", _pub("R1", "1", chip=2_400_000)),
               _e(6, "result_published", _pub("R2", "2", chip=2_400_000)),
               _e(7, "result_published", _pub("R3", "3", chip=2_300_000))])
    b = build_board(eng)
    assert b is not None
    ranks = {r.registration_id: r.overall for r in b.rows}
    assert ranks == {"R3": 1, "R1": 2, "R2": 2}  # ties share a rank; R9 has no publication: not shown
    assert b.by_reg["R3"].name == "" and not b.by_reg["R3"].public
    assert b.by_reg["R1"].category == "M30-39" and b.by_reg["R1"].gender_rank == 2
    # a later DQ publication wins; an older one arriving late changes nothing
    eng.apply([_e(8, "result_published", _pub("R3", "3", status="DQ")),
               _e(1, "result_published", _pub("R1", "1", chip=9), at=10, station="s2")])
    b = build_board(eng)
    assert b is not None
    assert {r.registration_id: r.overall for r in b.rows} == {"R1": 1, "R2": 1, "R3": None}
    assert b.by_reg["R3"].status == "DQ" and b.by_reg["R1"].chip_ms == 2_400_000
    # ranking by gun time where the race says so
    gun = copy.deepcopy(cfg)
    gun["races"][0]["ranking"] = "gun"
    eng2 = PublishedEngine(gun)
    eng2.apply([_e(1, "result_published", _pub("R1", "1", chip=1, gun=5)),
                _e(2, "result_published", _pub("R2", "2", chip=2, gun=4))])
    b2 = build_board(eng2)
    assert b2 is not None
    assert [(r.registration_id, r.overall, r.name) for r in b2.rows] == [("R2", 1, ""), ("R1", 2, "")]


def test_points_rule_is_decimal() -> None:
    assert points_for(10, 10000) == 100
    assert points_for("0.3", 21097) == 6  # 6.3291 → 6
    assert points_for(0.1, 30000) == 3  # binary floats would give 2.9999…
    assert points_for(None, 10000) == 0


def _cfg() -> EventConfig:
    return EventConfig.from_payload(load_event_file(DATA / "event.toml"))


def test_public_column_opt_out_and_bad_value(tmp_path: Path) -> None:
    rows = parse_rows(PEOPLE, "p.csv", _cfg(), {})
    by = {r["registration_id"]: r for r in rows}
    assert by["R4"]["public"] is False
    assert "public" not in by["R1"] and "public" not in by["R2"]  # only an opt-out is stored
    bad = PEOPLE.replace("Hidden Club,13700001111,bob@example.net,no", "Hidden Club,13700001111,bob@example.net,maybe")
    with pytest.raises(InputErrors) as e:
        parse_rows(bad, "p.csv", _cfg(), {})
    assert e.value.problems == ["p.csv:5: public: expected yes or no, got 'maybe'"]


def test_published_lists_hide_opted_out_runners() -> None:
    rows = [{"registration_id": "R4", "bib": "4", "name": "Bob Secret", "club": "Hidden Club"},
            {"registration_id": "R1", "bib": "1", "name": "张伟", "club": "X"}]
    out = hide_opted_out(rows, {"R4": {"public": False}, "R1": {}})
    assert out[0]["name"] == "Runner 4" and out[0]["club"] == ""
    assert out[1]["name"] == "张伟"


def test_incremental_board_equals_a_fresh_one() -> None:
    """A board built from the previous one (rows of unchanged runners kept) is the board built anew."""
    eng = PublishedEngine(load_event_file(DATA / "event.toml"))
    eng.apply([_e(i, "participant", _person(f"R{i}", str(i), f"N{i}", "MF"[i % 2])) for i in range(1, 30)]
              + [_e(100 + i, "result_published", _pub(f"R{i}", str(i), chip=2_000_000 + i * 7_000 % 50_000))
                 for i in range(1, 25)])
    prev = build_board(eng, version=1)
    assert prev is not None
    eng.apply([_e(200, "result_published", _pub("R27", "27", chip=1_000_000)),  # a new leader: ranks shift
               _e(201, "result_published", _pub("R3", "3", status="DQ")),
               _e(202, "participant", _person("R5", "5", "Renamed", "F", public=False))])
    inc = build_board(eng, version=2, prev=prev)
    fresh = build_board(eng, version=2)
    assert inc is not None and fresh is not None
    assert inc.rows == fresh.rows and inc.field_sizes == fresh.field_sizes
    assert inc.rows[0].registration_id == "R27" and inc.by_reg["R5"].name == ""
