"""The public results pages on the ledger: `station.web`'s pages over the results published here.

Why this shape: the pages, privacy rules and ranking are the station's (`station.web`,
`station.results.published`); the ledger only says where results come from. For each event it keeps a
`PublishedEngine` fed with the event's `participant` and `result_published` entries (every station's
stream) on top of the *registered* event file (the organizer's copy, which also holds the points rule).
It reads only entries with an id above the last one applied — a primary-key range, cheap enough to ask
every second — so a pushed result is on the pages within a second or two, in every server process
(each keeps its own copy; the database is the truth, and the board's version is that entry id, the same
in every process).
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field

import sqlalchemy as sa

from ledger import db as schema
from ledger.db import Database
from station.entries import Entry
from station.results.published import PublishedEngine
from station.web.board import Board, build_board

_KINDS = ("participant", "result_published")
_BATCH = 20_000


@dataclass
class _EventState:
    registered_at: int
    engine: PublishedEngine
    last_id: int = 0
    board: Board | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)


class LedgerSource:
    """`station.web.sources.ResultsSource` over the ledger database."""

    certificates = True

    def __init__(self, db: Database) -> None:
        self.db = db
        self._events: dict[str, _EventState] = {}
        self._lock = threading.Lock()

    def event_ids(self) -> list[str]:
        ev = schema.events
        with self.db.read.connect() as c:
            return [r[0] for r in c.execute(sa.select(ev.c.id).order_by(ev.c.registered_at.desc(), ev.c.id))]

    def _state(self, event_id: str) -> _EventState | None:
        ev = schema.events
        with self.db.read.connect() as c:
            row = c.execute(sa.select(ev.c.config, ev.c.registered_at).where(ev.c.id == event_id)).first()
        if row is None:
            return None
        with self._lock:
            st = self._events.get(event_id)
            if st is None or st.registered_at != row.registered_at:  # registered again: start over
                st = _EventState(row.registered_at, PublishedEngine(json.loads(row.config)))
                self._events[event_id] = st
            return st

    def _refresh(self, event_id: str) -> _EventState | None:
        st = self._state(event_id)
        if st is None:
            return None
        en = schema.entries
        with st.lock:
            changed = st.board is None
            while True:
                with self.db.read.connect() as c:
                    rows = c.execute(
                        sa.select(en.c.id, en.c.station_id, en.c.seq, en.c.uuid, en.c.kind, en.c.payload,
                                  en.c.recorded_at)
                        .where(en.c.id > st.last_id, en.c.event_id == event_id, en.c.kind.in_(_KINDS))
                        .order_by(en.c.id).limit(_BATCH)
                    ).all()
                if not rows:
                    break
                st.engine.apply([Entry(r.station_id, r.seq, r.uuid, r.kind, json.loads(r.payload), r.recorded_at)
                                 for r in rows])
                st.last_id = rows[-1].id
                changed = True
                if len(rows) < _BATCH:
                    break
            if changed:
                st.board = build_board(st.engine, version=st.last_id, official=False, finish_instants=False,
                                       prev=st.board)
        return st

    def version(self, event_id: str) -> int:
        st = self._refresh(event_id)
        return st.last_id if st is not None else -1

    def board(self, event_id: str) -> Board | None:
        st = self._events.get(event_id)
        if st is None or st.board is None:
            st = self._refresh(event_id)
        return st.board if st is not None else None

    def credited(self, event_id: str) -> bool:
        return True  # the pages show what the ledger holds: a published finish is credited here
