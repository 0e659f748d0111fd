"""Event file validation: every problem names the key and what was expected."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from station.errors import InputErrors, UserError
from station.event.config import EventConfig, load_event_file, normalize, parse_hms

DATA = Path(__file__).with_name("data")


def problems(data: dict[str, Any]) -> list[str]:
    with pytest.raises(InputErrors) as ei:
        normalize(data, "ev.toml")
    return ei.value.problems


def test_sample_event_file_loads() -> None:
    payload = load_event_file(DATA / "event.toml")
    cfg = EventConfig.from_payload(payload)
    assert cfg.id == "wo-run-test-2026"
    assert cfg.date == dt.date(2026, 11, 29)
    assert list(cfg.races) == ["10k", "5k"]
    r = cfg.races["10k"]
    assert r.min_time_ms == 25 * 60_000
    assert r.cutoff_ms == 2 * 3_600_000
    assert r.start_window_ms == 3_600_000
    assert r.laps == 1 and r.ranking == "chip"
    # 07:30 in Shanghai (UTC+8) is 23:30 UTC the day before
    assert r.waves[0].start_ms == int(dt.datetime(2026, 11, 28, 23, 30, tzinfo=dt.UTC).timestamp() * 1000)
    assert cfg.races["5k"].min_time_ms == 769_230
    assert cfg.points["km5"].races == frozenset({"10k"})
    assert cfg.points["start"].races is None
    assert cfg.points["start"].window_ms == 2000 and cfg.points["start"].pick == "first"
    assert cfg.points["start"].backup_window_ms == 30_000
    assert cfg.age_groups == (20, 30, 40, 50, 60, 70)
    assert cfg.age_basis == "event_date"


def test_normalized_payload_is_json_and_stable() -> None:
    import json

    payload = load_event_file(DATA / "event.toml")
    assert json.loads(json.dumps(payload)) == payload
    assert normalize(payload_to_toml_like(payload)) == payload


def payload_to_toml_like(p: dict[str, Any]) -> dict[str, Any]:
    """The normalized payload read back as a file (re-normalizing is idempotent)."""
    return {
        "event": p["event"],
        "races": [{"id": r["id"], "name": r["name"], "distance_m": r["distance_m"], "laps": r["laps"],
                   "ranking": r["ranking"], "start_window_s": r["start_window_s"],
                   **({"min_time": "0:25:00"} if r["min_time_ms"] == 1_500_000 else {}),
                   **({"cutoff": "2:00:00"} if r["cutoff_ms"] == 7_200_000 else {}),
                   "waves": r["waves"]} for r in p["races"]],
        "timing_points": [{k: v for k, v in t.items() if v is not None} for t in p["timing_points"]],
        "categories": p["categories"],
    }


def base() -> dict[str, Any]:
    return {
        "event": {"id": "ev", "name": "Ev", "date": "2026-11-29", "timezone": "Asia/Shanghai"},
        "races": [{"id": "10k", "distance_m": 10000, "waves": [{"id": "A", "start": "07:30:00"}]}],
        "timing_points": [{"id": "finish", "kind": "finish"}],
    }


def test_unknown_race_in_timing_point() -> None:
    d = base()
    d["timing_points"][0]["races"] = ["10k", "21k"]
    assert problems(d) == ["ev.toml: timing_points[0].races: unknown race '21k'; known: 10k"]


def test_bad_time_zone() -> None:
    d = base()
    d["event"]["timezone"] = "Asia/Shanghia"
    (msg,) = problems(d)
    assert msg.startswith("ev.toml: event.timezone: expected an IANA time zone")
    assert "'Asia/Shanghia'" in msg


@pytest.mark.parametrize(("section", "key", "expected"), [
    ("races", "timing_points", "duplicate race id '10k'"),
    ("timing_points", "races", "duplicate timing point id 'finish'"),
])
def test_duplicate_ids(section: str, key: str, expected: str) -> None:
    d = base()
    d[section].append(dict(d[section][0]))
    (msg,) = problems(d)
    assert msg == f"ev.toml: {section}[1].id: {expected}"


def test_duplicate_wave_id() -> None:
    d = base()
    d["races"][0]["waves"].append({"id": "A", "start": "07:40:00"})
    assert problems(d) == ["ev.toml: races[0].waves[1].id: duplicate wave id 'A' in race '10k'"]


def test_duplicate_reader_id() -> None:
    d = base()
    d["readers"] = [{"id": "r1", "point": "finish", "format": "ultra"},
                    {"id": "r1", "point": "finish", "format": "ultra"}]
    assert problems(d) == ["ev.toml: readers[1].id: duplicate reader id 'r1'"]


@pytest.mark.parametrize("start", ["7:3", "25:00:00", "24:00:00", "07:60:00", "", 730])
def test_bad_wave_start(start: Any) -> None:
    d = base()
    d["races"][0]["waves"][0]["start"] = start
    (msg,) = problems(d)
    assert msg == f"ev.toml: races[0].waves[0].start: expected a time of day HH:MM:SS, got {start!r}"


def test_wave_start_as_toml_time() -> None:
    d = base()
    d["races"][0]["waves"][0]["start"] = dt.time(7, 30)
    assert normalize(d)["races"][0]["waves"][0]["start"] == "07:30:00"


def test_race_with_single_start_instead_of_waves() -> None:
    d = base()
    del d["races"][0]["waves"]
    d["races"][0]["start"] = "08:00:00"
    assert normalize(d)["races"][0]["waves"] == [{"id": "", "start": "08:00:00"}]


@pytest.mark.parametrize(("path", "expected"), [
    (("event", "id"), "event.id: missing; expected a slug"),
    (("event", "date"), "event.date: missing; expected a date YYYY-MM-DD"),
    (("event", "timezone"), "event.timezone: missing; expected an IANA time zone"),
    (("races", 0, "id"), "races[0].id: missing; expected a race id"),
    (("races", 0, "distance_m"), "races[0].distance_m: missing; expected a distance in metres"),
    (("races", 0, "waves"), "races[0].waves: missing; expected waves = "),
    (("timing_points", 0, "kind"), "timing_points[0].kind: missing; expected start, split, finish"),
    (("timing_points", 0, "id"), "timing_points[0].id: missing; expected a timing point id"),
])
def test_missing_keys(path: tuple[Any, ...], expected: str) -> None:
    d = base()
    obj: Any = d
    for k in path[:-1]:
        obj = obj[k]
    del obj[path[-1]]
    msgs = problems(d)
    assert any(m.startswith("ev.toml: " + expected) for m in msgs), msgs


@pytest.mark.parametrize("section", ["event", "races", "timing_points"])
def test_missing_sections(section: str) -> None:
    d = base()
    del d[section]
    msgs = problems(d)
    assert any(m.startswith(f"ev.toml: [{'' if section == 'event' else '['}{section}") for m in msgs), msgs


@pytest.mark.parametrize(("where", "key", "value", "expected"), [
    ("event", "date", "2026-13-01", "event.date: expected a date YYYY-MM-DD, got '2026-13-01'"),
    ("event", "id", "has space", "event.id: expected a slug"),
    ("race", "distance_m", -5, "races[0].distance_m: expected a distance in metres > 0, got -5"),
    ("race", "distance_m", True, "races[0].distance_m: expected a distance in metres, got True"),
    ("race", "laps", 0, "races[0].laps: expected a whole number of laps ≥ 1, got 0"),
    ("race", "ranking", "net", "races[0].ranking: expected \"chip\" or \"gun\", got 'net'"),
    ("race", "min_time", "25 min", "races[0].min_time: expected a duration H:MM:SS, got '25 min'"),
    ("race", "cutoff", 7200, "races[0].cutoff: expected a duration H:MM:SS, got 7200"),
    ("point", "kind", "middle", "timing_points[0].kind: expected start, split, finish or start_finish"),
    ("point", "pick", "best", "timing_points[0].pick: expected \"first\" or \"peak\", got 'best'"),
    ("point", "window_s", 0, "timing_points[0].window_s: expected seconds > 0, got 0"),
])
def test_bad_values_name_key_and_expectation(where: str, key: str, value: Any, expected: str) -> None:
    d = base()
    target = {"event": d["event"], "race": d["races"][0], "point": d["timing_points"][0]}[where]
    target[key] = value
    msgs = problems(d)
    assert any(m.startswith("ev.toml: " + expected) for m in msgs), msgs


def test_all_problems_reported_at_once() -> None:
    d = base()
    d["event"]["timezone"] = "Mars/Olympus"
    d["races"][0]["waves"][0]["start"] = "99:00"
    d["timing_points"][0]["races"] = ["nope"]
    d["extra"] = {}
    msgs = problems(d)
    assert len(msgs) == 4
    assert any("extra: unknown section" in m for m in msgs)


def test_categories_validation() -> None:
    d = base()
    d["categories"] = {"age_groups": [30, 20], "age_basis": "today"}
    msgs = problems(d)
    assert any(m.startswith("ev.toml: categories.age_groups: expected increasing ages") for m in msgs)
    assert any(m.startswith("ev.toml: categories.age_basis: expected \"event_date\" or \"birth_year\"")
               for m in msgs)


def test_reader_validation() -> None:
    d = base()
    d["readers"] = [{"id": "r1", "point": "nowhere", "format": "rfid", "role": "spare",
                     "zone": "Nowhere/City", "chip_format": "octal"}]
    msgs = problems(d)
    for key in ("point", "format", "role", "zone", "chip_format"):
        assert any(m.startswith(f"ev.toml: readers[0].{key}: ") for m in msgs), key


def test_load_event_file_errors(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="cannot read"):
        load_event_file(tmp_path / "missing.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("[event\nid = 1", encoding="utf-8")
    with pytest.raises(InputErrors) as ei:
        load_event_file(bad)
    assert "TOML syntax error" in ei.value.problems[0]
    latin = tmp_path / "latin.toml"
    latin.write_bytes('[event]\nname = "Caf\xe9"\n'.encode("latin-1"))
    with pytest.raises(InputErrors, match="not UTF-8"):
        load_event_file(latin)


def test_event_file_with_bom_and_chinese(tmp_path: Path) -> None:
    text = (DATA / "event.toml").read_text(encoding="utf-8").replace('"WO.RUN Test"', '"上海 WO.RUN"')
    f = tmp_path / "bom.toml"
    f.write_bytes(b"\xef\xbb\xbf" + text.encode("utf-8"))
    assert load_event_file(f)["event"]["name"] == "上海 WO.RUN"


@pytest.mark.parametrize(("text", "ms"), [
    ("0:25:00", 1_500_000), ("1:02:03.5", 3_723_500), ("1:02:03.001", 3_723_001), ("07:30:00", 27_000_000),
    ("100:00:00", 360_000_000),
])
def test_parse_hms(text: str, ms: int) -> None:
    assert parse_hms(text) == ms


@pytest.mark.parametrize("text", ["", "1:2:3", "1:60:00", "1:00:60", "1:00:00.1234", "-1:00:00", "abc"])
def test_parse_hms_rejects(text: str) -> None:
    with pytest.raises(ValueError):
        parse_hms(text)


def test_local_to_utc_ms() -> None:
    cfg = EventConfig.from_payload(load_event_file(DATA / "event.toml"))
    assert cfg.local_to_utc_ms(cfg.date, 0) == int(
        dt.datetime(2026, 11, 28, 16, 0, tzinfo=dt.UTC).timestamp() * 1000)
