"""The domain worker: one thread owns the Store, the results Engine and the check-in desk.

Why one owner thread (like Anki's collection worker): the engine is not thread-safe and rebuilding
results or appending entries can take tens of milliseconds, which must never freeze the GUI. The GUI
posts *jobs* (plain functions of `Domain`) with `DomainClient.call`; results come back by queued
signals. Committed entries arrive from the store's writer thread through `Store.subscribe`, are queued,
and folded into the engine on this thread every `TICK_MS`; snapshots are emitted no faster than the
GUI needs them (the 40,000-row leaderboard adaptively less often), so ingesting thousands of reads a
second never floods the GUI event loop.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, QThread, QTimer, Signal, Slot

from station.checkin.desk import CheckinDesk
from station.checkin.state import CheckinState
from station.errors import UserError
from station.log.entries import Entry
from station.log.latest import latest_by
from station.log.store import CommittedRun, Store, now_ms, nth_uuid
from station.memtrim import maybe_trim
from station.results.engine import STATUS_ORDER, Engine
from station.sync.engine import KEY_LAST_SYNC, unsynced
from station.timing.commands import TimingCommands
from station.web.board import FINISH_MAT, build_board
from ui.snapshots import (
    AnnouncerSnapshot,
    Counts,
    EventInfo,
    FeedRow,
    RaceInfo,
    ReaderState,
    ResultsSnapshot,
    SyncInfo,
    UnknownChip,
)

log = logging.getLogger(__name__)

TICK_MS = 100
STATUS_EVERY_S = 0.5
COUNTS_EVERY_S = 1.0
FEED_WINDOW_MS = 2000  # reads of one chip at one point closer than this are one crossing
CHECKIN_KINDS = {"checkin", "checkin_undo", "participant"}


@dataclass
class Domain:
    """Everything the worker thread owns (only touched on that thread)."""

    store: Store
    engine: Engine
    state: CheckinState
    desk: CheckinDesk
    operator: str
    readers: dict[str, Any]
    sync: Any = None
    demo: Any = None
    stopped: dict[str, Any] = field(default_factory=dict)  # reader id → binding of a stopped reader

    def reader_configs(self) -> dict[str, dict[str, Any]]:
        """Latest `reader_config` per reader id (latest = greatest entry order)."""
        best = latest_by(self.store.entries(kinds=["reader_config"]), lambda e: str(e.payload.get("id")))
        return {k: e.payload for k, e in best.items()}

    @property
    def timing(self) -> TimingCommands:
        """The timing commands (station.timing.commands, the CLI's too), checked against the live engine."""
        return TimingCommands.over_engine(self.store, self.engine, self.operator, now_ms)


def event_info(domain: Domain) -> EventInfo:
    cfg = domain.engine.config
    if cfg is None:
        return EventInfo(readers=tuple(domain.reader_configs().values()), walkup_refusal=domain.desk.walkup_refusal())
    races = tuple(
        RaceInfo(r.id, r.name, r.distance_m, tuple((w.id, w.start_ms) for w in r.waves))
        for r in sorted(cfg.races.values(), key=lambda r: r.index)
    )
    points = tuple((p.id, p.kind) for p in sorted(cfg.points.values(), key=lambda p: p.index))
    return EventInfo(cfg.id, cfg.name, cfg.date.isoformat(), cfg.timezone, races, points,
                     tuple(p.id for p in cfg.split_points()), tuple(domain.reader_configs().values()),
                     domain.desk.walkup_refusal())


def reader_state(rid: str, handle: Any, running: bool = True) -> ReaderState:
    s = handle.status()
    b = handle.binding
    return ReaderState(
        id=rid, point=s.point, format=s.format, role=getattr(b, "role", "main"), running=running,
        connected=bool(s.connected), silent=bool(s.heartbeat_lost), connection=s.connection or "",
        reads=s.reads, reads_per_s=s.reads_per_s, last_chip=s.last_chip, last_read_t=s.last_read_t,
        last_line_rx=s.last_line_rx, clock_offset_ms=s.clock_offset_ms,
        confirmed_offset_ms=s.confirmed_offset_ms, clock_warning=s.clock_warning, unparsed=s.unparsed,
        address=str(getattr(b, "port", None) or getattr(b, "listen", None) or ""),
    )


class DomainWorker(QObject):
    """Lives on its own QThread; see the module docstring."""

    opened = Signal(object)  # EventInfo
    failed = Signal(str)
    event_changed = Signal(object)  # EventInfo
    results = Signal(object)  # ResultsSnapshot
    feed = Signal(object)  # list[FeedRow], newest last
    unknown = Signal(object)  # tuple[UnknownChip, ...]
    counts = Signal(object)  # Counts
    readers = Signal(object)  # tuple[ReaderState, ...]
    sync = Signal(object)  # SyncInfo
    guns = Signal(object)  # tuple[(race, wave, t, operator)]
    announcer = Signal(object)  # AnnouncerSnapshot
    job_done = Signal(int, bool, object)
    closed = Signal()

    def __init__(self, data_dir: Path, operator: str, desk_id: str,
                 setup: Callable[[Domain], None] | None = None) -> None:
        super().__init__()
        self.data_dir = Path(data_dir)
        self.operator = operator
        self.desk_id = desk_id
        self.setup = setup  # runs once on the worker after opening (the demo starts its simulation)
        self.domain: Domain | None = None
        self._pending: deque[list[Entry | CommittedRun]] = deque()
        self._timer: QTimer | None = None
        self._results_dirty = True
        self._counts_dirty = True
        self._results_interval = 0.25
        self._last_results = 0.0
        self._last_status = 0.0
        self._last_counts = 0.0
        self._version = 0
        self._last_seen: dict[tuple[str, str], int] = {}
        self._unknown: dict[str, list[Any]] = {}
        self._unknown_dirty = False
        self._guns: list[tuple[str, str, int, str]] = []
        self._configured: tuple[dict[str, Any], ...] = ()
        self._mat: str | None = None  # the announcer screen's mat (None: no one is looking)
        self._board: Any = None  # the last public board built for it (the next one reuses its rows)

    # ------------------------------------------------------------------ lifecycle
    @Slot()
    def open(self) -> None:
        try:
            store = Store(self.data_dir)
            engine = Engine.from_store(store)
            state = CheckinState(store)
            desk = CheckinDesk(store, self.desk_id, self.operator, state=state)
            self.domain = Domain(store, engine, state, desk, self.operator, {})
            for _, e in store.iter_rows(kinds=["gun"]):
                self._note_gun(e)
            store.subscribe(self._on_commit, runs=True)
            if self.setup is not None:
                self.setup(self.domain)
        except Exception as e:  # shown to the user, never a silent dead app
            log.exception("opening the station failed")
            self.failed.emit(str(e))
            return
        self._timer = QTimer(self)
        self._timer.setInterval(TICK_MS)
        self._timer.timeout.connect(self.tick)
        self._timer.start()
        info = event_info(self.domain)
        self._configured = info.readers
        self.opened.emit(info)
        self._emit_guns()
        self.tick()

    def _on_commit(self, entries: list[Entry | CommittedRun]) -> None:
        """Writer thread: only queue (deque.append is thread-safe). Runs of reads come as they were
        committed (`runs=True`): no entry object per read on the writer thread."""
        self._pending.append(entries)

    @Slot()
    def close(self) -> None:
        """Stop readers and sync (flushing what they received), then close the store."""
        if self._timer is not None:
            self._timer.stop()
        d = self.domain
        if d is not None:
            if d.demo is not None:
                try:
                    d.demo.stop()
                except Exception:
                    log.exception("stopping the demo failed")
            for h in list(d.readers.values()):
                try:
                    h.stop()
                except Exception:
                    log.exception("stopping a reader failed")
            if d.sync is not None:
                try:
                    d.sync.close()
                except Exception:
                    log.exception("stopping sync failed")
            d.store.unsubscribe(self._on_commit)
            d.state.close()
            d.store.close()
            self.domain = None
        self.closed.emit()
        QThread.currentThread().quit()

    @Slot(object)
    def execute(self, job: tuple[int, Callable[[Domain], Any]]) -> None:
        jid, fn = job
        if self.domain is None:
            self.job_done.emit(jid, False, ["the station is not open"])
            return
        changes = self.domain.state.changes
        try:
            out = fn(self.domain)
        except Exception as e:
            if not isinstance(e, (ValueError, LookupError, UserError)):
                log.exception("job failed")
            self.job_done.emit(jid, False, [e])
            return
        if self.domain is not None and self.domain.state.changes != changes:
            # A job that changed check-ins or participants (a scan, an undo, a walk-up, an import):
            # the counters go before job_done — both are queued to the GUI thread in order, so they
            # are current when the verdict (and whatever the caller does next) arrives.
            self._emit_counts(self.domain)
        self.job_done.emit(jid, True, [out])  # boxed: never pass a bare None through a signal
        self.tick()

    # ------------------------------------------------------------------ periodic work
    @Slot()
    def tick(self) -> None:
        d = self.domain
        if d is None:
            return
        maybe_trim()  # on the domain worker, at most every 30 s (see station.memtrim)
        entries: list[Entry | CommittedRun] = []
        while self._pending:
            entries += self._pending.popleft()
        if entries:
            self._fold(d, entries)
        now = time.monotonic()
        if self._results_dirty and now - self._last_results >= self._results_interval:
            self._emit_results(d)
        if now - self._last_status >= STATUS_EVERY_S:
            self._last_status = now
            self._emit_status(d)

    def _fold(self, d: Domain, entries: list[Entry | CommittedRun]) -> None:
        eng = d.engine
        had_config = eng.config
        changed = eng.apply(entries)
        if changed:
            self._results_dirty = True
            self._counts_dirty = True  # started / finished per race
        feed: list[FeedRow] = []
        config_changed = eng.config is not had_config
        for e in entries:
            k = e.kind
            if k == "read":
                if isinstance(e, CommittedRun):  # a run of reads: columns, no entry per read
                    run = e.run
                    first = e.uuid
                    feed += self._feed_rows(d, run.point, run.reader, run.chip, run.t,
                                            lambda i, first=first: nth_uuid(first, i))
                else:
                    p = e.payload
                    feed += self._feed_rows(d, str(p.get("point", "")), str(p.get("reader", "")),
                                            [str(p.get("chip", ""))], [int(p.get("t", 0))],
                                            lambda _i, u=e.uuid: u)
            elif k == "manual_time":
                p = e.payload
                reg = p.get("registration_id") or eng.reg_for_bib(str(p.get("bib", "")))
                part = eng.participant(reg) if reg else None
                feed.append(FeedRow(int(p["t"]), str(p.get("point", "")), "", str(p.get("bib", "")),
                                    str((part or {}).get("name", "")), "manual", e.uuid))
            elif k in CHECKIN_KINDS:
                self._counts_dirty = True
            elif k == "gun":
                self._note_gun(e)
                self._emit_guns()
            elif k in ("reader_config", "event_config"):
                config_changed = True
            if k in ("participant", "event_config"):
                self._results_dirty = True
        if config_changed:
            self._results_dirty = True
            self._counts_dirty = True
            info = event_info(d)
            self._configured = info.readers
            self.event_changed.emit(info)
        if feed:
            self.feed.emit(feed)
        if self._unknown_dirty:
            self._unknown_dirty = False
            rows = sorted(self._unknown.values(), key=lambda u: -u[2])
            self.unknown.emit(tuple(UnknownChip(u[0], u[1], u[2], u[3]) for u in rows))

    def _feed_rows(self, d: Domain, point: str, reader: str, chips: list[str], ts: list[int],
                   uuid_of: Callable[[int], str]) -> list[FeedRow]:
        """The live feed's new rows for these reads (`uuid_of(i)`: the i-th read's uuid, made only for
        the reads shown): one row per crossing, not per read; reads of chips nobody owns go to the
        unknown-chips list."""
        out: list[FeedRow] = []
        eng = d.engine
        seen = self._last_seen
        for i, (chip, t) in enumerate(zip(chips, ts, strict=True)):
            key = (chip, point)
            last = seen.get(key)
            seen[key] = t if last is None else max(last, t)
            owner = eng.owner_of_chip(chip, t)
            if owner is None:
                u = self._unknown.get(chip)
                if u is None:
                    self._unknown[chip] = [chip, 1, t, point]
                else:
                    u[1] += 1
                    if t >= u[2]:
                        u[2], u[3] = t, point
                self._unknown_dirty = True
            if last is not None and abs(t - last) < FEED_WINDOW_MS:
                continue  # same crossing, already in the feed
            part = eng.participant(owner) if owner else None
            out.append(FeedRow(t, point, chip, str((part or {}).get("bib", "")),
                               str((part or {}).get("name", "")), reader, uuid_of(i)))
        return out

    def _note_gun(self, e: Entry) -> None:
        p = e.payload
        self._guns.append((str(p.get("race") or ""), str(p.get("wave", "")), int(p.get("t", 0)), e.operator))

    def _emit_guns(self) -> None:
        self.guns.emit(tuple(sorted(self._guns, key=lambda g: g[2])))

    def build_results(self, d: Domain) -> ResultsSnapshot:
        eng = d.engine
        cfg = eng.config
        if cfg is None:
            return ResultsSnapshot((), (), self._version)
        split_pts = tuple(p.id for p in cfg.split_points())
        rows = []
        club = eng.club
        for r, (o, g, c) in eng.ranked():
            ranked = r.rank_key is not None
            sp = r.splits
            rows.append((r.race, o, r.bib, r.name, r.gender, r.category, c, g, r.status,
                         r.chip_ms if ranked else None, r.gun_ms if ranked else None, r.registration_id,
                         tuple(sp.get(p) for p in split_pts), club(r.registration_id),
                         " ".join(r.flags), STATUS_ORDER.get(r.status, 9), r.finish_ms if ranked else None))
        self._version += 1
        return ResultsSnapshot(tuple(rows), split_pts, self._version)

    def _emit_results(self, d: Domain) -> None:
        t0 = time.perf_counter()
        snap = self.build_results(d)
        took = time.perf_counter() - t0
        self._results_dirty = False
        self._last_results = time.monotonic()
        # Big races: refresh no more than ~1/5 of the time spent building (at least 4×/s for small ones).
        self._results_interval = min(3.0, max(0.25, took * 5))
        self.results.emit(snap)
        if self._mat is not None:
            self._emit_announcer(d)

    def watch_mat(self, mat: str | None) -> None:
        """(Worker thread, through `DomainClient.call`.) Follow `mat` for the announcer screen, or stop."""
        self._mat = mat
        if mat is None:
            self._board = None
        elif self.domain is not None:
            self._emit_announcer(self.domain)

    def _emit_announcer(self, d: Domain) -> None:
        """The web announcer's rule on this station's engine: one public board, its `crossings(mat)`."""
        mat = self._mat or FINISH_MAT
        prev = self._board
        self._board = build_board(d.engine, prev=prev, index=prev.search_index if prev is not None else None)
        vips, rows = self._board.crossings(mat) if self._board is not None else ([], [])
        self.announcer.emit(AnnouncerSnapshot(mat, tuple(vips), tuple(rows)))

    def _emit_status(self, d: Domain) -> None:
        states = [reader_state(rid, h) for rid, h in sorted(d.readers.items())]
        idle = {str(c.get("id")): c for c in self._configured}
        idle.update({rid: vars(b) for rid, b in d.stopped.items()})
        for rid, c in sorted(idle.items()):
            if rid not in d.readers:
                states.append(ReaderState(rid, str(c.get("point") or ""), str(c.get("format") or ""),
                                          str(c.get("role") or "main"), False, False, False, "", 0, 0.0,
                                          None, None, None, None, None, "", 0,
                                          str(c.get("port") or c.get("listen") or "")))
        self.readers.emit(tuple(states))
        if d.sync is not None:
            s = d.sync.status
            self.sync.emit(SyncInfo(True, s.state, s.online, s.waiting, s.last_sync_ms, s.last_error))
        else:
            last = d.store.get_state(KEY_LAST_SYNC)
            self.sync.emit(SyncInfo(False, "off", False, unsynced(d.store),
                                    int(last) if last else None, None))
        if self._counts_dirty and time.monotonic() - self._last_counts >= COUNTS_EVERY_S:
            self._emit_counts(d)

    def _emit_counts(self, d: Domain) -> None:
        self._last_counts = time.monotonic()
        self._counts_dirty = False
        self.counts.emit(self.build_counts(d))

    def build_counts(self, d: Domain) -> Counts:
        """Per race: (registered, checked in, started, finished); check-ins from the desk's state."""
        started: dict[str, list[int]] = {}
        for r in d.engine.results().values():
            if r.status != "DNS":
                c = started.setdefault(r.race, [0, 0])
                c[0] += 1
                if r.status == "finished":
                    c[1] += 1
        by = d.state.counts_by_race()
        out = {race: (reg, cin, *started.get(race, [0, 0])) for race, (cin, reg) in by.items()}
        return Counts(out, sum(v[1] for v in out.values()), sum(v[0] for v in out.values()))


class DomainClient(QObject):
    """GUI-side handle: posts jobs to the worker and calls back on the GUI thread."""

    _post = Signal(object)

    def __init__(self, data_dir: Path, operator: str, desk_id: str,
                 setup: Callable[[Domain], None] | None = None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.thread = QThread()
        self.thread.setObjectName("domain")
        self.worker = DomainWorker(data_dir, operator, desk_id, setup)
        self.worker.moveToThread(self.thread)
        self.thread.started.connect(self.worker.open)
        self._post.connect(self.worker.execute)
        self.worker.job_done.connect(self._done)
        self._callbacks: dict[int, tuple[Callable[[Any], None] | None, Callable[[Any], None] | None]] = {}
        self._next = 0
        self.is_open = False
        self.worker.opened.connect(self._mark_open)

    def _mark_open(self, _info: object) -> None:
        self.is_open = True

    def start(self) -> None:
        self.thread.start()

    def call(self, fn: Callable[[Domain], Any], on_done: Callable[[Any], None] | None = None,
             on_error: Callable[[Any], None] | None = None) -> int:
        """Run `fn(domain)` on the worker; `on_done(result)` or `on_error(exception)` on the GUI thread."""
        self._next += 1
        self._callbacks[self._next] = (on_done, on_error)
        self._post.emit((self._next, fn))
        return self._next

    @Slot(int, bool, object)
    def _done(self, jid: int, ok: bool, boxed: object) -> None:
        value = boxed[0]  # type: ignore[index]
        on_done, on_error = self._callbacks.pop(jid, (None, None))
        if ok and on_done is not None:
            on_done(value)
        elif not ok:
            if on_error is not None:
                on_error(value)
            else:
                log.warning("domain job failed: %s", value)

    def shutdown(self, timeout_ms: int = 60_000) -> bool:
        """Stop readers, sync and the store (everything flushed), then end the thread."""
        if not self.thread.isRunning():
            return True
        from PySide6.QtCore import QMetaObject, Qt

        QMetaObject.invokeMethod(self.worker, "close", Qt.ConnectionType.QueuedConnection)
        ok = self.thread.wait(timeout_ms)
        self.is_open = False
        return bool(ok)
