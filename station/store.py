"""The station's storage: one SQLite file (WAL) holding the append-only event log.

Why this shape:
- One writer per process. A single thread fed by a queue owns every insert and commit, so callers on
  any thread (serial readers, the GUI, sync) never contend for the write lock; whatever arrived while
  the previous commit ran goes into the next one, so entries are durable within one commit time
  (well under the 50 ms the journal promises) and throughput grows with load.
- `seq` is allocated inside `BEGIN IMMEDIATE` with a busy timeout, so a second process (a CLI call
  beside the running app) can append safely: each process takes the write lock, reads the current
  maximum and continues from it.
- Readers use their own connections; WAL means they never block the writer.
- `synchronous=FULL`: an acknowledged entry survives a power cut, not only a crash (a laptop battery
  at a finish line does run out). Batching keeps the fsync cost per entry small.
"""

from __future__ import annotations

import logging
import os
import queue
import threading
import time
import uuid as uuidlib
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event as sa_event

from station import paths
from station.entries import Entry, dumps, loads
from station.errors import UserError

log = logging.getLogger(__name__)

SCHEMA_HEAD = "0001"
_MIGRATIONS = Path(__file__).with_name("migrations")
_BUSY_TIMEOUT_MS = 30_000
_MAX_BATCH = 20_000

Listener = Callable[[list[Entry]], None]


def new_uuids(n: int) -> list[str]:
    """`n` random (version 4) UUID strings; one urandom call per batch, ~5x faster than uuid4()."""
    h = os.urandom(16 * n).hex()
    out = []
    for i in range(0, 32 * n, 32):
        s = h[i : i + 32]
        out.append(f"{s[:8]}-{s[8:12]}-4{s[13:16]}-{'89ab'[int(s[16], 16) & 3]}{s[17:20]}-{s[20:]}")
    return out


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def make_engine(db_path: Path, *, writer: bool) -> sa.Engine:
    """An engine on the station file. The writer's transactions start with BEGIN IMMEDIATE."""
    engine = sa.create_engine(
        f"sqlite:///{db_path.as_posix()}",
        connect_args={"timeout": _BUSY_TIMEOUT_MS / 1000, "check_same_thread": False},
        poolclass=sa.pool.NullPool if writer else sa.pool.QueuePool,
    )

    @sa_event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _rec: Any) -> None:
        # We issue BEGIN ourselves (pysqlite's implicit transactions are unreliable).
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute(f"PRAGMA busy_timeout={_BUSY_TIMEOUT_MS}")
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=FULL")
        cur.close()

    @sa_event.listens_for(engine, "begin")
    def _on_begin(conn: sa.Connection) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE" if writer else "BEGIN")

    return engine


def migrate(engine: sa.Engine) -> None:
    """Bring the schema to the newest revision (a station upgraded mid-season opens old files)."""
    with engine.connect() as conn:
        has_version = conn.exec_driver_sql(
            "SELECT name FROM sqlite_master WHERE type='table' AND name='alembic_version'"
        ).first()
        if has_version:
            current = conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalar()
            if current == SCHEMA_HEAD:
                return
    # Alembic is imported only when there is something to do: headless verbs start fast.
    from alembic import command
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(_MIGRATIONS))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")


class _Bloom:
    """A Bloom filter over resend keys: 2**26 bits (8 MB), two probes from one 64-bit hash.

    About 1 % false positives at 3.6 million keys (a 30-minute soak at 2,000 reads/s); a false
    positive only costs one indexed query. `hash()` varies between processes, so the filter is
    rebuilt from the database at start (never stored).
    """

    _BITS = 26
    _MASK = (1 << 26) - 1

    def __init__(self) -> None:
        self._a = bytearray(1 << (self._BITS - 3))

    def _probes(self, key: str) -> tuple[int, int]:
        h = hash(key) & 0xFFFFFFFFFFFFFFFF
        return h & self._MASK, (h >> 32) & self._MASK

    def add(self, key: str) -> None:
        a = self._a
        for b in self._probes(key):
            a[b >> 3] |= 1 << (b & 7)

    def update(self, keys: Iterable[str]) -> None:
        for k in keys:
            self.add(k)

    def __contains__(self, key: object) -> bool:
        if not isinstance(key, str):
            return False
        a = self._a
        b1, b2 = self._probes(key)
        return bool(a[b1 >> 3] & (1 << (b1 & 7))) and bool(a[b2 >> 3] & (1 << (b2 & 7)))


@dataclass
class _Item:
    kind: str
    payload: dict[str, Any]
    operator: str
    recorded_at: int | None
    dkey: str | None
    future: Future[Entry | None] | None


@dataclass
class _Batch:
    """Many entries queued as one item: the fast path for imports and busy readers."""

    items: list[tuple[str, dict[str, Any], str | None]]
    operator: str
    future: Future[list[Entry | None]]


@dataclass
class _Foreign:
    entries: list[Entry]
    future: Future[ForeignResult]


@dataclass
class ForeignResult:
    """What happened to entries pulled from peers: stored, already present, or in conflict."""

    stored: list[Entry]
    duplicates: int
    conflicts: list[str]


class Store:
    """A station's data folder: its id, its database and the single writer thread.

    Use as a context manager or call `close()`, which flushes everything queued before returning.
    """

    def __init__(self, data_dir: Path | str, *, station_id: str | None = None) -> None:
        self.data_dir = Path(data_dir)
        try:
            self.data_dir.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise UserError(f"cannot create data folder {self.data_dir}: {e.strerror}") from e
        self.db_path = self.data_dir / paths.DB_FILENAME
        self.station_id = station_id or self._load_station_id()
        self._wengine = make_engine(self.db_path, writer=True)
        self._rengine = make_engine(self.db_path, writer=False)
        try:
            migrate(self._wengine)
        except sa.exc.DatabaseError as e:
            raise UserError(f"{self.db_path}: not a station database ({e.orig})") from e
        self._queue: queue.Queue[_Item | _Batch | _Foreign | None] = queue.Queue()
        self._listeners: list[Listener] = []
        self._dkey_bloom: _Bloom | None = None  # writer thread only
        self._closed = False
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="station-writer", daemon=True)
        self._thread.start()

    # ----------------------------------------------------------------- identity
    def _load_station_id(self) -> str:
        """A stable id made on first run and kept beside the database (it outlives a replaced file)."""
        f = self.data_dir / paths.STATION_ID_FILENAME
        if f.exists():
            sid = f.read_text(encoding="utf-8").strip()
            if sid:
                return sid
        sid = "st-" + uuidlib.uuid4().hex[:12]
        tmp = f.with_suffix(".tmp")
        tmp.write_text(sid + "\n", encoding="utf-8")
        tmp.replace(f)
        return sid

    # ----------------------------------------------------------------- writing
    def subscribe(self, listener: Listener) -> None:
        """Call `listener(entries)` on the writer thread after each commit (keep it quick)."""
        self._listeners.append(listener)

    def unsubscribe(self, listener: Listener) -> None:
        if listener in self._listeners:
            self._listeners.remove(listener)

    def submit(
        self,
        kind: str,
        payload: dict[str, Any],
        *,
        operator: str = "",
        recorded_at: int | None = None,
        dkey: str | None = None,
    ) -> Future[Entry | None]:
        """Queue an entry; the future gives the committed `Entry` (None: same `dkey` already stored)."""
        if self._closed:
            raise RuntimeError("store is closed")
        if self._error is not None:
            raise RuntimeError("the writer stopped") from self._error
        fut: Future[Entry | None] = Future()
        self._queue.put(_Item(kind, payload, operator, recorded_at, dkey, fut))
        return fut

    def append(self, kind: str, payload: dict[str, Any], *, operator: str = "",
               recorded_at: int | None = None, dkey: str | None = None,
               timeout: float = 30.0) -> Entry | None:
        """Append one entry and wait until it is durable."""
        return self.submit(kind, payload, operator=operator, recorded_at=recorded_at,
                           dkey=dkey).result(timeout)

    def append_many(self, items: Iterable[tuple[str, dict[str, Any]]], *, operator: str = "",
                    timeout: float = 600.0) -> list[Entry]:
        """Append several entries (committed together when they arrive together) and wait."""
        futs = [self.submit(k, p, operator=operator) for k, p in items]
        out = [f.result(timeout) for f in futs]
        return [e for e in out if e is not None]

    def submit_batch(self, items: list[tuple[str, dict[str, Any], str | None]], *,
                     operator: str = "") -> Future[list[Entry | None]]:
        """Queue `(kind, payload, dkey)` triples; the future gives one Entry (or None: resend) each."""
        if self._closed:
            raise RuntimeError("store is closed")
        if self._error is not None:
            raise RuntimeError("the writer stopped") from self._error
        fut: Future[list[Entry | None]] = Future()
        self._queue.put(_Batch(list(items), operator, fut))
        return fut

    def store_foreign(self, entries: list[Entry], timeout: float = 600.0) -> ForeignResult:
        """Store entries pulled from peers under their own (station_id, seq)."""
        fut: Future[ForeignResult] = Future()
        self._queue.put(_Foreign(list(entries), fut))
        return fut.result(timeout)

    def flush(self, timeout: float = 60.0) -> None:
        """Wait until everything queued so far is committed."""
        fut = self.submit("__flush__", {})
        fut.result(timeout)

    def close(self) -> None:
        if self._closed:
            return
        if self._thread.is_alive():
            self._queue.put(None)
            self._thread.join()
        self._closed = True
        self._wengine.dispose()
        self._rengine.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _run(self) -> None:
        conn = self._wengine.raw_connection()
        try:
            while True:
                first = self._queue.get()
                if first is None:
                    return
                batch: list[_Item | _Batch | _Foreign] = [first]
                stop = False
                while len(batch) < _MAX_BATCH:
                    try:
                        nxt = self._queue.get_nowait()
                    except queue.Empty:
                        break
                    if nxt is None:
                        stop = True
                        break
                    batch.append(nxt)
                self._commit(conn, batch)
                if stop:
                    return
        except BaseException as e:  # pragma: no cover - surfaced to callers
            self._error = e
            log.exception("station writer stopped")
            raise
        finally:
            conn.close()

    def _commit(self, conn: Any, batch: list[_Item | _Batch | _Foreign]) -> None:
        # Flatten to (kind, payload, operator, recorded_at, dkey) in queue order: the hot path.
        flat: list[tuple[str, dict[str, Any], str, int | None, str | None]] = []
        singles: list[tuple[int, Future[Any]]] = []
        slices: list[tuple[_Batch, int, int]] = []
        foreign: list[_Foreign] = []
        flushes: list[_Item] = []
        for b in batch:
            if isinstance(b, _Batch):
                slices.append((b, len(flat), len(b.items)))
                op = b.operator
                flat += [(k, p, op, None, dk) for k, p, dk in b.items]
            elif isinstance(b, _Item):
                if b.kind == "__flush__":
                    flushes.append(b)
                else:
                    singles.append((len(flat), b.future))  # type: ignore[arg-type]
                    flat.append((b.kind, b.payload, b.operator, b.recorded_at, b.dkey))
            else:
                foreign.append(b)
        committed: list[Entry] = []
        results: list[tuple[Future[Any], Any]] = []
        cur = conn.cursor()
        try:
            cur.execute("BEGIN IMMEDIATE")
            if flat:
                own = self._insert_own(cur, flat)
                committed += [e for e in own if e is not None]
                for i, fut in singles:
                    results.append((fut, own[i]))
                for bt, start, n in slices:
                    results.append((bt.future, own[start : start + n]))
            for fb in foreign:
                res = self._insert_foreign(cur, fb.entries)
                committed += res.stored
                results.append((fb.future, res))
            cur.execute("COMMIT")
        except BaseException as e:
            try:
                cur.execute("ROLLBACK")
            except Exception:
                pass
            for b in batch:
                if not b.future.done():
                    b.future.set_exception(e)
            if isinstance(e, Exception):
                log.exception("commit failed; %d entries refused", len(batch))
                return
            raise
        finally:
            cur.close()
        for fut, value in results:
            fut.set_result(value)
        for f in flushes:
            f.future.set_result(None)  # type: ignore[union-attr]
        if committed:
            for listener in list(self._listeners):
                try:
                    listener(committed)
                except Exception:
                    log.exception("store listener failed")

    def _insert_own(self, cur: Any,
                    items: list[tuple[str, dict[str, Any], str, int | None, str | None]]) -> list[Entry | None]:
        keyed = [it[4] for it in items if it[4] is not None]
        seen: set[str] = set()
        if keyed:
            # Resend check. A fixed-size Bloom filter says "certainly new" for almost every read;
            # only keys it may have seen (a real resend, or a false positive) are confirmed against
            # the database, so a false positive can never drop a read. Memory stays flat (8 MB)
            # however many reads a long race day brings.
            bloom = self._dkey_bloom
            if bloom is None:
                bloom = self._dkey_bloom = _Bloom()
                bloom.update(r[0] for r in cur.execute("SELECT dkey FROM entries WHERE dkey IS NOT NULL"))
            maybe = [k for k in keyed if k in bloom]
            for i in range(0, len(maybe), 500):
                chunk = maybe[i : i + 500]
                q = "SELECT dkey FROM entries WHERE dkey IN ({})".format(",".join("?" * len(chunk)))
                seen.update(r[0] for r in cur.execute(q, chunk))
        row = cur.execute(
            "SELECT COALESCE(MAX(seq), 0) FROM entries WHERE station_id=?", (self.station_id,)
        ).fetchone()
        seq = row[0]
        now = now_ms()
        rows = []
        out: list[Entry | None] = []
        sid = self.station_id
        uuids = new_uuids(len(items))
        for n, (kind, payload, op, rec, dkey) in enumerate(items):
            if dkey is not None:
                if dkey in seen:
                    out.append(None)
                    continue
                seen.add(dkey)
            seq += 1
            u = uuids[n]
            if rec is None:
                rec = now
            rows.append((sid, seq, u, kind, dumps(payload), rec, op, dkey))
            out.append(Entry(sid, seq, u, kind, payload, rec, op))
        cur.executemany(
            "INSERT INTO entries (station_id, seq, uuid, kind, payload, recorded_at, operator, dkey)"
            " VALUES (?,?,?,?,?,?,?,?)",
            rows,
        )
        if keyed and self._dkey_bloom is not None:
            # Added before COMMIT: if the commit fails the filter only holds extra keys, which cost a
            # confirming query later, never a lost read.
            self._dkey_bloom.update(seen)
        return out

    def _insert_foreign(self, cur: Any, entries: list[Entry]) -> ForeignResult:
        stored: list[Entry] = []
        dup = 0
        conflicts: list[str] = []
        for e in entries:
            got = cur.execute(
                "SELECT uuid FROM entries WHERE station_id=? AND seq=?", (e.station_id, e.seq)
            ).fetchone()
            if got is not None:
                if got[0] == e.uuid:
                    dup += 1
                else:
                    conflicts.append(
                        f"station {e.station_id} seq {e.seq}: stored uuid {got[0]}, received {e.uuid}"
                    )
                continue
            cur.execute(
                "INSERT INTO entries (station_id, seq, uuid, kind, payload, recorded_at, operator)"
                " VALUES (?,?,?,?,?,?,?)",
                (e.station_id, e.seq, e.uuid, e.kind, dumps(e.payload), e.recorded_at, e.operator),
            )
            stored.append(e)
        return ForeignResult(stored, dup, conflicts)

    # ----------------------------------------------------------------- reading
    def iter_rows(self, after_id: int = 0, kinds: Iterable[str] | None = None,
                  batch: int = 20_000) -> Iterator[tuple[int, Entry]]:
        """Committed entries in local arrival order after local row id `after_id`."""
        kinds = list(kinds) if kinds is not None else None
        last = after_id
        with self._rengine.connect() as conn:
            raw = conn.connection.dbapi_connection
            while True:
                q = ("SELECT id, station_id, seq, uuid, kind, payload, recorded_at, operator"
                     " FROM entries WHERE id > ?")
                args: list[Any] = [last]
                if kinds is not None:
                    q += " AND kind IN ({})".format(",".join("?" * len(kinds)))
                    args += kinds
                q += " ORDER BY id LIMIT ?"
                args.append(batch)
                rows = raw.execute(q, args).fetchall()
                if not rows:
                    return
                for r in rows:
                    yield r[0], Entry(r[1], r[2], r[3], r[4], loads(r[5]), r[6], r[7])
                last = rows[-1][0]
                if len(rows) < batch:
                    return

    def entries(self, kinds: Iterable[str] | None = None) -> list[Entry]:
        return [e for _, e in self.iter_rows(0, kinds)]

    def own_entries_after(self, seq: int, limit: int) -> list[Entry]:
        """This station's own entries with seq > `seq`, in seq order (the sync outbox)."""
        with self._rengine.connect() as conn:
            rows = conn.exec_driver_sql(
                "SELECT station_id, seq, uuid, kind, payload, recorded_at, operator FROM entries"
                " WHERE station_id=? AND seq>? ORDER BY seq LIMIT ?",
                (self.station_id, seq, limit),
            ).fetchall()
        return [Entry(r[0], r[1], r[2], r[3], loads(r[4]), r[5], r[6]) for r in rows]

    def last_seq(self, station_id: str | None = None) -> int:
        with self._rengine.connect() as conn:
            return conn.exec_driver_sql(
                "SELECT COALESCE(MAX(seq),0) FROM entries WHERE station_id=?",
                (station_id or self.station_id,),
            ).scalar() or 0

    def counts(self) -> dict[str, int]:
        with self._rengine.connect() as conn:
            rows = conn.exec_driver_sql("SELECT kind, COUNT(*) FROM entries GROUP BY kind").fetchall()
        return {k: n for k, n in rows}

    def max_read_index(self, reader_id: str, window: int = 5000) -> int | None:
        """Highest reader index (`idx`) among the reader's `window` most recent reads: where a
        restarted station asks the reader to replay from, even if it was killed outright."""
        with self._rengine.connect() as conn:
            v = conn.exec_driver_sql(
                "SELECT MAX(idx) FROM (SELECT json_extract(payload, '$.idx') AS idx FROM entries"
                " WHERE kind='read' AND json_extract(payload, '$.reader')=? ORDER BY id DESC LIMIT ?)",
                (reader_id, window)).scalar()
        return int(v) if v is not None else None

    def get_state(self, key: str, default: str | None = None) -> str | None:
        with self._rengine.connect() as conn:
            v = conn.exec_driver_sql("SELECT value FROM sync_state WHERE key=?", (key,)).scalar()
        return default if v is None else v

    def set_state(self, key: str, value: str) -> None:
        """Small local bookkeeping (sync cursors); written outside the log, never synced."""
        with self._wengine.begin() as conn:
            conn.exec_driver_sql(
                "INSERT INTO sync_state(key, value) VALUES (?, ?)"
                " ON CONFLICT(key) DO UPDATE SET value=excluded.value",
                (key, value),
            )

    def rewrite_payloads(self, kind: str, fn: Callable[[dict[str, Any]], dict[str, Any] | None]) -> int:
        """Rewrite payloads of one kind in place — ONLY for privacy purges (PIPL), never for facts.

        `fn` returns the new payload or None to keep it. The file is vacuumed afterwards so the old
        text does not linger in free pages or the WAL.
        """
        self.flush()
        n = 0
        with self._wengine.begin() as conn:
            rows = conn.exec_driver_sql("SELECT id, payload FROM entries WHERE kind=?", (kind,)).fetchall()
            for rid, text in rows:
                new = fn(loads(text))
                if new is not None:
                    conn.exec_driver_sql("UPDATE entries SET payload=? WHERE id=?", (dumps(new), rid))
                    n += 1
        # VACUUM and checkpoints cannot run inside a transaction: use a plain DBAPI connection.
        raw = self._wengine.raw_connection()
        try:
            cur = raw.cursor()
            cur.execute("VACUUM")
            cur.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            cur.close()
        finally:
            raw.close()
        return n
