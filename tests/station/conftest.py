"""Builders for engine tests: entries with increasing seq, local times of day, a small event."""

from __future__ import annotations

import copy
import datetime as dt
import uuid as uuidlib
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from station.event.config import normalize
from station.log.entries import Entry
from station.results.engine import Engine

DATA = Path(__file__).with_name("data")
TZ = ZoneInfo("Asia/Shanghai")
EVENT_DATE = dt.date(2026, 11, 29)

BASE_EVENT: dict[str, Any] = {
    "event": {"id": "wo-run-test-2026", "name": "WO.RUN Test", "date": "2026-11-29",
              "timezone": "Asia/Shanghai", "points_per_km": 10},
    "races": [
        {"id": "10k", "name": "10 km", "distance_m": 10000, "ranking": "chip", "min_time": "0:25:00",
         "cutoff": "2:00:00",
         "waves": [{"id": "A", "start": "07:30:00"}, {"id": "B", "start": "07:40:00"}]},
        {"id": "5k", "name": "5 km", "distance_m": 5000, "waves": [{"id": "A", "start": "07:30:00"}]},
    ],
    "timing_points": [
        {"id": "start", "kind": "start", "distance_m": 0},
        {"id": "km5", "kind": "split", "distance_m": 5000, "races": ["10k"]},
        {"id": "finish", "kind": "finish", "distance_m": 10000},
    ],
}


def event(**changes: Any) -> dict[str, Any]:
    """A deep copy of BASE_EVENT; keyword arguments replace top-level sections."""
    d = copy.deepcopy(BASE_EVENT)
    d.update(copy.deepcopy(changes))
    return d


def hms(text: str, day: dt.date = EVENT_DATE) -> int:
    """Local time of day `HH:MM:SS[.fff]` on the event date (Asia/Shanghai) → UTC ms."""
    parts = text.split(":")
    h, m = int(parts[0]), int(parts[1])
    s = float(parts[2]) if len(parts) > 2 else 0.0
    whole = int(s)
    ms = round((s - whole) * 1000)
    local = dt.datetime(day.year, day.month, day.day, h, m, whole, tzinfo=TZ)
    return int(local.timestamp() * 1000) + ms


def dur(text: str) -> int:
    """`H:MM:SS[.fff]` duration → ms."""
    parts = text.split(":")
    s = float(parts[-1])
    return (int(parts[0]) * 3600 + int(parts[1]) * 60) * 1000 + round(s * 1000)


class EntryFactory:
    """Creates `Entry` objects with increasing seq and recorded_at, collected in `self.entries`."""

    def __init__(self, station_id: str = "st-test", recorded_at: int = 1_700_000_000_000) -> None:
        self.station_id = station_id
        self.seq = 0
        self.recorded_at = recorded_at
        self.entries: list[Entry] = []

    def entry(self, kind: str, payload: dict[str, Any], *, recorded_at: int | None = None,
              station_id: str | None = None, operator: str = "tester") -> Entry:
        self.seq += 1
        self.recorded_at += 1
        e = Entry(station_id or self.station_id, self.seq, str(uuidlib.uuid4()), kind, payload,
                  self.recorded_at if recorded_at is None else recorded_at, operator)
        self.entries.append(e)
        return e

    # -- kinds
    def config(self, data: dict[str, Any] | None = None, **kw: Any) -> Entry:
        return self.entry("event_config", normalize(data if data is not None else event()), **kw)

    def participant(self, reg: str, bib: str | None = None, *, race: str = "10k", wave: str = "A",
                    chips: list[str] | None = None, gender: str = "M", birth_date: str | None = "1990-01-01",
                    name: str | None = None, **kw: Any) -> Entry:
        bib = bib if bib is not None else reg.lstrip("R")
        p = {"registration_id": reg, "bib": bib, "name": name or f"Runner {bib}", "gender": gender,
             "birth_date": birth_date, "race": race, "wave": wave,
             "chips": chips if chips is not None else [f"C{bib}"]}
        return self.entry("participant", p, **kw)

    def read(self, chip: str, point: str, t: int, *, rssi: Any = None, role: str = "main",
             reader: str | None = None, **extra: Any) -> Entry:
        p: dict[str, Any] = {"reader": reader or f"{point}-{role}", "point": point, "role": role,
                             "chip": chip, "t": t, "rx": t, "raw": f"{chip},{t}"}
        if rssi is not None:
            p["rssi"] = rssi
        p.update(extra)
        return self.entry("read", p)

    def manual(self, bib: str, point: str, t: int) -> Entry:
        return self.entry("manual_time", {"bib": bib, "point": point, "t": t})

    def gun(self, wave: str, t: int, race: str | None = None, **kw: Any) -> Entry:
        p: dict[str, Any] = {"wave": wave, "t": t}
        if race is not None:
            p["race"] = race
        return self.entry("gun", p, **kw)

    def correction(self, action: str, *, recorded_at: int | None = None, **payload: Any) -> Entry:
        return self.entry("correction", {"action": action, **payload}, recorded_at=recorded_at)

    def close(self, race: str) -> Entry:
        return self.entry("race_closed", {"race": race})

    def offset(self, reader: str, offset_ms: int, from_ms: int = 0, **kw: Any) -> Entry:
        return self.entry("clock_offset", {"reader": reader, "offset_ms": offset_ms, "from_ms": from_ms}, **kw)

    def reader_config(self, rid: str, point: str, *, gps: bool = False, role: str = "main") -> Entry:
        return self.entry("reader_config", {"id": rid, "point": point, "role": role, "format": "ultra",
                                            "gps": gps, "chip_format": None})

    # -- helpers reachable from tests through the fixture
    hms = staticmethod(hms)
    dur = staticmethod(dur)
    event = staticmethod(event)
    result = staticmethod(lambda eng, reg: result(eng, reg))

    # -- engine
    def engine(self, now: int | None = None) -> Engine:
        now_v = now if now is not None else hms("08:00:00")
        return Engine.from_entries(list(self.entries), now_ms=lambda: now_v)


def result(eng: Engine, reg: str) -> Any:
    r = eng.result(reg)
    assert r is not None, f"no result for {reg}"
    return r


@pytest.fixture
def ef() -> EntryFactory:
    return EntryFactory()


@pytest.fixture
def race_ef() -> EntryFactory:
    """A factory with the base event already configured."""
    f = EntryFactory()
    f.config()
    return f


@pytest.fixture(scope="session")
def factory_cls() -> type[EntryFactory]:
    """The factory class itself (for hypothesis tests, which must not use function-scoped fixtures)."""
    return EntryFactory
