"""Where the public pages get their results: the `ResultsSource` protocol and the station's own.

Why a protocol: the same pages run on a station at the venue (live results from its own log, no
internet) and on the online ledger (the results published to it). Each place implements the few
questions below; the pages, the privacy rules and the ranking code stay shared.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any, Protocol

from station.log.store import CommittedRun
from station.web.board import Board, build_board

log = logging.getLogger(__name__)

_CHUNK = 20_000  # entries (reads) applied to the engine at a time while catching up


class ResultsSource(Protocol):
    """What the pages ask. Methods may block briefly (they are called off the event loop)."""

    #: offered on the runner page when true (the source can render a certificate PDF)
    certificates: bool

    def event_ids(self) -> list[str]:
        """Events this source serves (the index page lists them)."""
        ...

    def board(self, event_id: str) -> Board | None:
        """The event's current board, or None when the event is unknown here."""
        ...

    def version(self, event_id: str) -> int:
        """Changes whenever the event's board changes (cheap: live pages poll it)."""
        ...

    def credited(self, event_id: str) -> bool:
        """True when the points shown are already credited (the ledger), False when pending (a station)."""
        ...


class StationSource:
    """A station's live results: follows its store's log and keeps a board current.

    The store may be written by other processes too (`reads listen`, `manual`, `correct`, the app, a
    `sync` pulling peers' entries), so the follower polls the log for rows committed after the last one
    it applied — an indexed query that costs next to nothing when nothing is new — every `poll_s`. A
    change rebuilds the board at once, so a finish shows on the pages well within 2 s of its commit.
    Rule 11 (cutoff → DNF) depends on the clock: the engine is re-checked every few seconds.
    """

    certificates = True

    def __init__(self, store: Any, *, poll_s: float = 0.2, min_rebuild_s: float = 0.5, official: bool = False,
                 now_ms: Callable[[], int] | None = None) -> None:
        self.store = store
        self.poll_s = poll_s
        #: a rebuild costs ~0.1 s at 10,000 runners and drops every cached page: a finish line
        #: committing several times a second gets a new board twice a second (the announcer: p95 ≤ 1 s)
        self.min_rebuild_s = min_rebuild_s
        self._pending = False
        self._built_at = 0.0
        self.official = official
        self._now_ms = now_ms
        self._lock = threading.Lock()
        self._engine: Any = None
        self._last_row = 0
        self._version = 0
        self._board: Board | None = None
        self._names_changed = True  # participants changed since the last board: index names again
        self._stop = threading.Event()
        self.error: BaseException | None = None
        self._step()  # the first board before the first request
        self._thread = threading.Thread(target=self._run, name="web-results", daemon=True)
        self._thread.start()

    # ------------------------------------------------------------------ following the log
    def _run(self) -> None:
        last_clock = time.monotonic()
        while not self._stop.wait(self.poll_s):  # a stop ends the loop at once
            try:
                clock = time.monotonic() - last_clock >= 5.0
                if clock:
                    last_clock = time.monotonic()
                self._step(clock=clock)
                self.error = None
            except Exception as e:  # a bad moment must not stop the pages: log, keep the last board
                if self.error is None:
                    log.exception("web results: following the log failed")
                self.error = e

    def _step(self, clock: bool = False) -> None:
        from station.results.engine import Engine
        from station.results.sources import StoreReads

        changed = False
        chunk: list[Any] = []
        size = 0
        last = self._last_row
        for rid, e in self.store.iter_rows(self._last_row, runs=True):
            if size >= _CHUNK and rid != last:  # never split the entries of one row
                changed |= self._apply(chunk, Engine, StoreReads, last)
                chunk, size = [], 0
            chunk.append(e)
            size += len(e.run) if type(e) is CommittedRun else 1
            last = rid
        if chunk:
            changed |= self._apply(chunk, Engine, StoreReads, last)
        if clock and self._engine is not None:
            with self._lock:
                changed |= bool(self._engine.refresh_clock())
        self._pending |= changed
        now = time.monotonic()
        if self._board is not None and self._pending and now - self._built_at < self.min_rebuild_s:
            return  # a busy finish line: one new board per `min_rebuild_s` at most (the next poll builds it)
        if self._pending or (self._board is None and self._engine is not None):
            self._pending = False
            self._built_at = now
            with self._lock:
                keep = self._board.search_index if self._board is not None and not self._names_changed else None
                board = build_board(self._engine, version=self._version + 1, official=self.official, index=keep,
                                    prev=self._board)
                self._names_changed = False
                self._version += 1
                self._board = board

    def _apply(self, chunk: list[Any], engine_cls: Any, reads_cls: Any, last: int) -> bool:
        if not self._names_changed:
            self._names_changed = any(e.kind in ("participant", "event_config") for e in chunk)
        with self._lock:
            self._last_row = last
            if self._engine is None:
                self._engine = engine_cls.from_entries(
                    chunk, self._now_ms, reads=reads_cls(self.store, upto=lambda: self._last_row),
                    cache_crossings=False)
                return True
            return bool(self._engine.apply(chunk))

    def close(self) -> None:
        """Stop following (within `poll_s`, once a step in progress ends)."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()

    # ------------------------------------------------------------------ ResultsSource
    def event_ids(self) -> list[str]:
        b = self._board
        return [b.event_id] if b is not None else []

    def board(self, event_id: str) -> Board | None:
        b = self._board
        return b if b is not None and b.event_id == event_id else None

    def version(self, event_id: str) -> int:
        return self._version

    def board_any(self) -> Board | None:
        """The current board whatever its event (None before an event is loaded)."""
        return self._board

    def credited(self, event_id: str) -> bool:
        return False
