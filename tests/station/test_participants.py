"""Participants CSV import: encodings, quoting, all-or-nothing validation, re-import."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from station.errors import InputErrors
from station.event.config import EventConfig, load_event_file
from station.log.store import Store
from station.people.participants import import_csv, latest_participants, parse_csv

DATA = Path(__file__).with_name("data")
HEADER = "registration_id,bib,name,gender,birth_date,race,wave,chips,runner_id,club,phone,email\n"
PROBLEM = re.compile(r"^.+:\d+: [a-z_]+: .+$")


@pytest.fixture(scope="module")
def cfg() -> EventConfig:
    return EventConfig.from_payload(load_event_file(DATA / "event.toml"))


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with Store(tmp_path / "data") as s:
        yield s


def write(tmp_path: Path, text: str, name: str = "p.csv", bom: bool = False) -> Path:
    f = tmp_path / name
    f.write_bytes((b"\xef\xbb\xbf" if bom else b"") + text.encode("utf-8"))
    return f


def test_sample_file(cfg: EventConfig) -> None:
    rows = {r["registration_id"]: r for r in parse_csv(DATA / "participants.csv", cfg)}
    assert rows["R1"]["name"] == "张伟"
    assert rows["R1"]["club"] == "Shanghai Runners, Club"
    assert rows["R1"]["phone"] == "13812341234"
    assert rows["R2"]["chips"] == ["C2", "C2b"]
    assert rows["R3"]["birth_date"] == "2000-02-29"
    assert rows["R4"]["chips"] == [] and rows["R4"]["birth_date"] is None
    assert rows["R2"]["club"] is None


@pytest.mark.parametrize("bom", [False, True])
def test_utf8_with_and_without_bom(tmp_path: Path, cfg: EventConfig, bom: bool) -> None:
    text = HEADER + 'R1,1,"王, 小明",F,1990-01-01,10k,A,C1,,"上海跑团, 浦东",,\n'
    (row,) = parse_csv(write(tmp_path, text, bom=bom), cfg)
    assert row["registration_id"] == "R1"  # no BOM glued to the first header
    assert row["name"] == "王, 小明"
    assert row["club"] == "上海跑团, 浦东"


def test_crlf_and_quoted_newline(tmp_path: Path, cfg: EventConfig) -> None:
    text = (HEADER + 'R1,1,Ann,F,,10k,,C1,,"Club\nwith newline",,\n' + "R2,2,Bo,M,,5k,A,,,,,\n"
            ).replace("\n", "\r\n")
    rows = parse_csv(write(tmp_path, text), cfg)
    assert [r["bib"] for r in rows] == ["1", "2"]
    assert rows[0]["wave"] == "A"  # empty wave → the race's first wave


def test_required_columns_only(tmp_path: Path, cfg: EventConfig) -> None:
    text = "registration_id,bib,name,gender,birth_date,race,wave,chips\nR1,1,Ann,f,,5k,A,C1 C9\n"
    (row,) = parse_csv(write(tmp_path, text), cfg)
    assert row["gender"] == "F"
    assert row["chips"] == ["C1", "C9"]
    assert "club" not in row


def test_every_bad_row_reported_nothing_imported(tmp_path: Path, cfg: EventConfig, store: Store) -> None:
    text = HEADER + "\n".join([
        "R1,1,Ann,F,1990-01-01,10k,A,C1,,,,",
        "R2,1,Bo,M,1990-01-01,10k,A,C2,,,,",  # 3: duplicate bib
        "R3,3,Cy,M,1990-01-01,42k,A,C3,,,,",  # 4: unknown race
        "R4,4,Di,F,1990-01-01,10k,Z,C4,,,,",  # 5: unknown wave
        "R5,5,Ed,M,1990-02-30,10k,A,C5,,,,",  # 6: bad date
        "R6,6,Fa,F,1990-01-01,10k,A,C1,,,,",  # 7: chip assigned twice
        "R7,7,Gu,Q,1990-01-01,10k,A,C7,,,,",  # 8: bad gender
        "R8,8,Hu,M,01/02/1990,5k,A,C8,,,,",  # 9: bad date format
        "R1,9,Ib,M,1990-01-01,5k,A,C9,,,,",  # 10: duplicate registration id
    ]) + "\n"
    f = write(tmp_path, text, name="bad.csv")
    with pytest.raises(InputErrors) as ei:
        import_csv(store, f, cfg)
    probs = ei.value.problems
    for p in probs:
        assert PROBLEM.match(p), p
        assert p.startswith(f"{f}:")
    expected = [(3, "bib", "duplicate bib '1' (also on line 2)"),
                (4, "race", "unknown race '42k'"),
                (5, "wave", "unknown wave 'Z' in race 10k"),
                (6, "birth_date", "expected a date YYYY-MM-DD"),
                (7, "chips", "chip 'C1' assigned twice"),
                (8, "gender", "expected M, F or X, got 'Q'"),
                (9, "birth_date", "expected a date YYYY-MM-DD"),
                (10, "registration_id", "duplicate 'R1' (also on line 2)")]
    assert len(probs) == len(expected)
    for p, (line, col, text_) in zip(probs, expected, strict=True):
        assert p.startswith(f"{f}:{line}: {col}: {text_}"), p
    assert "nothing was imported" in str(ei.value)
    assert store.entries(kinds=["participant"]) == []


def test_chip_listed_twice_in_one_row(tmp_path: Path, cfg: EventConfig) -> None:
    text = HEADER + "R1,1,Ann,F,,10k,A,C1 C1,,,,\n"
    with pytest.raises(InputErrors) as ei:
        parse_csv(write(tmp_path, text), cfg)
    (p,) = ei.value.problems
    assert p.endswith(":2: chips: chip 'C1' listed twice"), p


def test_birth_date_after_event_is_refused(tmp_path: Path, cfg: EventConfig) -> None:
    text = HEADER + "R1,1,Ann,F,2026-11-30,10k,A,C1,,,,\n"
    with pytest.raises(InputErrors, match=r":2: birth_date: "):
        parse_csv(write(tmp_path, text), cfg)


def test_bad_header(tmp_path: Path, cfg: EventConfig) -> None:
    f = write(tmp_path, "registration_id,bib,name,sex,birth_date,race,wave,chips\n")
    with pytest.raises(InputErrors) as ei:
        parse_csv(f, cfg)
    assert any(":1: header: missing column(s) gender" in p for p in ei.value.problems)
    assert any(":1: header: unknown column(s) sex" in p for p in ei.value.problems)


def test_wrong_field_count(tmp_path: Path, cfg: EventConfig) -> None:
    f = write(tmp_path, HEADER + "R1,1,Ann, Club,F,,10k,A,C1,,,,\n")
    with pytest.raises(InputErrors, match=r":2: row has 13 fields; expected 12"):
        parse_csv(f, cfg)


def test_not_utf8(tmp_path: Path, cfg: EventConfig) -> None:
    f = tmp_path / "gbk.csv"
    f.write_bytes(HEADER.encode() + "R1,1,张伟,M,,10k,A,C1,,,,\n".encode("gbk"))
    with pytest.raises(InputErrors, match=r"gbk.csv:2: not UTF-8"):
        parse_csv(f, cfg)


def test_empty_file(tmp_path: Path, cfg: EventConfig) -> None:
    with pytest.raises(InputErrors, match=r":1: empty file"):
        parse_csv(write(tmp_path, ""), cfg)


def test_reimport_unchanged_adds_nothing_changed_updates(tmp_path: Path, cfg: EventConfig,
                                                         store: Store) -> None:
    src = DATA / "participants.csv"
    assert import_csv(store, src, cfg) == (4, 4)
    assert import_csv(store, src, cfg) == (4, 0)
    assert len(store.entries(kinds=["participant"])) == 4
    text = src.read_text(encoding="utf-8").replace("Li Na,F,1985-02-28,10k,B", "Li Na,F,1985-02-28,5k,A")
    text += "R5,5,New Runner,X,,5k,A,C5,,,,\n"
    assert import_csv(store, write(tmp_path, text), cfg) == (5, 2)
    parts = latest_participants(store.entries(kinds=["participant"]))
    assert parts["R2"]["race"] == "5k"
    assert parts["R5"]["name"] == "New Runner"
    assert len(store.entries(kinds=["participant"])) == 6


def test_reimport_conflict_with_participant_not_in_file(tmp_path: Path, cfg: EventConfig,
                                                        store: Store) -> None:
    import_csv(store, DATA / "participants.csv", cfg)
    f = write(tmp_path, HEADER + "R9,1,Other,M,,10k,A,C1,,,,\n")
    with pytest.raises(InputErrors) as ei:
        import_csv(store, f, cfg)
    probs = ei.value.problems
    assert any(":2: bib: '1' already belongs to registration 'R1'" in p for p in probs)
    assert any(":2: chips: chip 'C1' already belongs to bib '1'" in p for p in probs)
    assert len(store.entries(kinds=["participant"])) == 4


def test_import_reports_progress(tmp_path):
    from station.log.store import Store
    from station.people.participants import import_csv

    seen = []
    with Store(tmp_path / "st") as s:
        payload = load_event_file(DATA / "event.toml")
        s.append("event_config", payload)
        import_csv(s, DATA / "participants.csv", EventConfig.from_payload(payload),
                   progress=lambda stage, done, total: seen.append((stage, done, total)))
    assert seen[0] == ("reading", 0, 3) and seen[-1] == ("saving", 3, 3)
