"""Builders for the results pages' tests: a real station folder holding an event dated *today* (in the
event's zone, so nothing depends on a pinned wall clock), four runners — one who opted out of public
listing — and helpers to record finishes as the CLI would."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

DATA = Path(__file__).with_name("data")
TZ = ZoneInfo("Asia/Shanghai")
EVENT_ID = "wo-run-test-2026"

PEOPLE = """registration_id,bib,name,gender,birth_date,race,wave,chips,runner_id,club,phone,email,public
R1,1,张伟,M,1990-05-01,10k,A,C1,U1,"Shanghai Runners, Club",13812341234,zw@example.com,yes
R2,2,Li Na,F,1985-02-28,10k,B,C2 C2b,,,13987654321,lina@example.org,
R3,3,王芳,F,2000-02-29,5k,A,C3,,,,,
R4,4,Bob Secret,X,1970-01-02,10k,A,C4,,Hidden Club,13700001111,bob@example.net,no
R5,5,Zhou Xun,F,1992-03-03,10k,A,C5,,,,,
"""
#: personal data that must never appear on a public page
SECRETS = ("13812341234", "138****", "zw@example.com", "1990-05-01", "13987654321", "lina@example.org",
           "Bob Secret", "Hidden Club", "13700001111", "bob@example.net", "1970-01-02")


def today() -> dt.date:
    return dt.datetime.now(TZ).date()


def write_event(folder: Path, day: dt.date | None = None) -> tuple[Path, Path]:
    """event.toml (dated `day`, default today) and participants.csv in `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    ev = folder / "event.toml"
    ev.write_text((DATA / "event.toml").read_text(encoding="utf-8")
                  .replace("2026-11-29", (day or today()).isoformat()), encoding="utf-8")
    people = folder / "participants.csv"
    people.write_text(PEOPLE, encoding="utf-8")
    return ev, people


def at(hms: str, day: dt.date | None = None) -> int:
    """Time of day on the event date, event zone → UTC ms."""
    t = dt.time.fromisoformat(hms)
    return int(dt.datetime.combine(day or today(), t, tzinfo=TZ).timestamp() * 1000)


def load(store: Any, folder: Path) -> None:
    """Event and participants into `store`, the way `event load` and `participants import` do."""
    from station.config import EventConfig, load_event_file
    from station.participants import import_csv

    ev, people = write_event(folder)
    payload = load_event_file(ev)
    store.append("event_config", payload)
    import_csv(store, people, EventConfig.from_payload(payload))
    store.flush()


def finish(store: Any, bib: str, hms: str, point: str = "finish") -> None:
    store.append("manual_time", {"bib": bib, "point": point, "t": at(hms)})
    store.flush()
