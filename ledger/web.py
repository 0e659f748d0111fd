"""The public results pages on the ledger: `station.web`'s pages over the results published here.

Why this shape: the pages, privacy rules and ranking are the station's (`station.web`,
`station.results.published`); the ledger only says where results come from. For each event it keeps a
`PublishedEngine` fed with the event's `participant` and `result_published` entries (every station's
stream) on top of the *registered* event file (the organizer's copy, which also holds the points rule).
It reads only entries with an id above the last one applied — a primary-key range, cheap enough to ask
every second — so a pushed result is on the pages within a second or two (~3 s while results keep
arriving: a process builds a new board at most every 2 s), in every server process
(each keeps its own copy; the database is the truth, and the board's version is that entry id, the same
in every process).
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field

import sqlalchemy as sa

from ledger import db as schema
from ledger.db import Database
from station.log.entries import Entry
from station.people.privacy import is_public
from station.people.search import SearchIndex
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
    #: every participant's bib and (public) name; built again only when a participant entry arrives —
    #: a publication does not change names, and indexing 8,000 names was most of a board rebuild
    index: SearchIndex | None = None
    pending: bool = False  # entries applied that the board does not show yet
    names_pending: bool = False  # …among them participants: the search index is built again
    built_at: float = 0.0  # time.monotonic() of the last board
    lock: threading.Lock = field(default_factory=threading.Lock)


class LedgerSource:
    """`station.web.sources.ResultsSource` over the ledger database."""

    certificates = True

    def __init__(self, db: Database, *, min_rebuild_s: float = 2.0) -> None:
        self.db = db
        #: a board rebuild costs ~0.1 s of CPU at 8,000 runners, in every server process, and drops the
        #: rendered pages: while results keep arriving a process builds a new board at most this often
        #: (a result is still on the pages within ~3 s; the first after a quiet spell within ~1 s)
        self.min_rebuild_s = min_rebuild_s
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
            st.pending = st.pending or st.board is None
            st.names_pending = st.names_pending or st.index is None
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
                st.pending = True
                st.names_pending = st.names_pending or any(r.kind == "participant" for r in rows)
                if len(rows) < _BATCH:
                    break
            now = time.monotonic()
            if st.pending and (st.board is None or now - st.built_at >= self.min_rebuild_s):
                if st.names_pending:
                    st.index = _index(st.engine.participants())
                st.board = build_board(st.engine, version=st.last_id, official=False, finish_instants=False,
                                       index=st.index, prev=st.board)
                st.pending = st.names_pending = False
                st.built_at = now
        return st

    def version(self, event_id: str) -> int:
        """The version of the board the pages show (the id of the last entry it holds)."""
        st = self._refresh(event_id)
        return st.board.version if st is not None and st.board is not None else -1

    def board(self, event_id: str) -> Board | None:
        st = self._events.get(event_id)
        if st is None or st.board is None:
            st = self._refresh(event_id)
        return st.board if st is not None else None

    def credited(self, event_id: str) -> bool:
        return True  # the pages show what the ledger holds: a published finish is credited here


def _index(participants: dict[str, dict]) -> SearchIndex:
    """The search index of all participants (the board's search keeps only those with a published result);
    an opted-out runner by bib only."""
    index = SearchIndex()
    for reg, p in participants.items():
        index.upsert(reg, bib=str(p.get("bib") or ""), name=str(p.get("name") or "") if is_public(p) else None,
                     phone=None)
    return index
