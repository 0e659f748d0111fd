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
- Reads are packed: a `ReadRun` (the reads of one received chunk) is one table row holding entries
  seq … seq+n-1 (migration 0002 explains the layout). Every reader of the log still gets one `read`
  entry per read (`iter_rows`, `own_entries_after`, listeners), or the run whole where it asks for it.
- Resend keys are exact: running reader indexes as intervals (`_Ranges`), other keys in `dkeys` behind
  a Bloom filter; neither can mark a key stored unless its entry was committed.

The parts: `db` (engines, migrations), `dkeys` (resend-key bookkeeping), `rows` (uuids, packed rows,
rows back to entries), `writer` (the writer thread and its commit) and `reading` (the readers); `Store`
here holds them together and is what the rest of the station imports.
"""

from __future__ import annotations

import logging
import queue
import threading
import uuid as uuidlib
from collections.abc import Callable, Iterable
from concurrent.futures import Future
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from station import paths
from station.errors import UserError
from station.log import contract
from station.log.db import SCHEMA_HEAD, make_engine, migrate
from station.log.dkeys import _Bloom, _Ranges
from station.log.entries import Entry, dumps, dumps_many, loads
from station.log.reading import Reads
from station.log.reads import ReadRun, unpack_payloads
from station.log.rows import (
    CommittedRun,
    expand_raw,
    expand_row,
    new_uuids,
    now_ms,
    nth_uuid,
    own_rows_after,
    read_payloads,
)
from station.log.writer import ForeignResult, Quarantined, Writer, _Batch, _Foreign, _Item, _RawLine, _Run

# What other modules import from here (the parts live in db, dkeys, rows, writer and reading).
__all__ = [
    "SCHEMA_HEAD",
    "CommittedRun",
    "ForeignResult",
    "Listener",
    "Quarantined",
    "Store",
    "expand_raw",
    "expand_row",
    "make_engine",
    "migrate",
    "new_uuids",
    "now_ms",
    "nth_uuid",
    "own_rows_after",
    "read_payloads",
]

log = logging.getLogger(__name__)

Listener = Callable[[list[Entry]], None]


class Store(Reads, Writer):
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
        self._queue: queue.Queue[_Item | _Batch | _Run | _Foreign | _RawLine | None] = queue.Queue()
        self._listeners: list[Listener] = []
        self._run_listeners: list[Callable[[list[Entry | CommittedRun]], None]] = []
        self._dkey_bloom: _Bloom | None = None  # writer thread only
        self._ranges: _Ranges | None = None  # writer thread only
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
    def subscribe(self, listener: Listener, *, runs: bool = False) -> None:
        """Call `listener(entries)` on the writer thread after each commit (keep it quick).

        With `runs=True` a run of reads stored together arrives as one `CommittedRun` (its columns,
        its first seq and uuid) instead of one `Entry` per read: a listener that can take reads in
        bulk — or expand them on its own thread — spares the writer building an entry per read."""
        (self._run_listeners if runs else self._listeners).append(listener)  # type: ignore[arg-type]

    def unsubscribe(self, listener: Listener) -> None:
        for lst in (self._listeners, self._run_listeners):
            if listener in lst:
                lst.remove(listener)  # type: ignore[arg-type]

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
        if kind != "__flush__":
            payload = self._admit(kind, payload)
        fut: Future[Entry | None] = Future()
        self._queue.put(_Item(kind, payload, operator, recorded_at, dkey, fut))
        return fut

    def _admit(self, kind: str, payload: dict[str, Any]) -> dict[str, Any]:
        """The payload as the log keeps it, checked against the entry contract (a station never stores
        what the ledger would refuse). Reader input is bounded here, never refused: an `unparsed` line
        longer than the log keeps is cut, its full text queued for the local `raw_lines` table."""
        if kind == "unparsed":
            payload, full = contract.bound_unparsed(payload)
            if full is not None:
                data = full.encode("utf-8", "surrogatepass")
                self._queue.put(_RawLine(payload["raw_sha256"], data, Future()))
        contract.check(kind, payload)
        return payload

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
        admitted = [(k, self._admit(k, p), dk) for k, p, dk in items]
        fut: Future[list[Entry | None]] = Future()
        self._queue.put(_Batch(admitted, operator, fut))
        return fut

    def submit_reads(self, run: ReadRun, *, operator: str = "", checked: bool = False) -> Future[int]:
        """Queue a run of reads (one packed row); the future gives how many were stored (the rest were
        resends of reads already stored). `checked`: the caller has already passed the run through
        `station.log.contract.check_run` (the ingest does, to divert bad reads instead of refusing them)."""
        if not checked:
            problem = contract.check_run(run)
            if problem:
                raise contract.ContractError(f"read run refused by the entry contract: {problem}")
        if self._closed:
            raise RuntimeError("store is closed")
        if self._error is not None:
            raise RuntimeError("the writer stopped") from self._error
        fut: Future[int] = Future()
        self._queue.put(_Run(run, operator, fut))
        return fut

    def store_foreign(self, entries: list[Entry], quarantined: Iterable[Quarantined] = (),
                      timeout: float = 600.0) -> ForeignResult:
        """Store entries pulled from peers under their own (station_id, seq); `quarantined` ones (they
        break the entry contract, see `station.sync.engine`) are kept as received and never applied."""
        fut: Future[ForeignResult] = Future()
        self._queue.put(_Foreign(list(entries), list(quarantined), fut))
        return fut.result(timeout)

    def quarantined_count(self) -> int:
        """How many peer entries are set aside (`worun-station info`: `quarantined: N`)."""
        with self._rengine.connect() as conn:
            return int(conn.exec_driver_sql("SELECT COUNT(*) FROM quarantine").scalar() or 0)

    def quarantined(self) -> list[tuple[str, Any]]:
        """(reason, entry as received) of every quarantined peer entry, oldest first."""
        import json

        with self._rengine.connect() as conn:
            rows = conn.exec_driver_sql("SELECT reason, entry FROM quarantine ORDER BY id").fetchall()
        return [(r, json.loads(t)) for r, t in rows]

    def raw_line(self, sha256: str) -> bytes | None:
        """The full bytes of a long reader line whose `unparsed` entry names this SHA-256."""
        with self._rengine.connect() as conn:
            v = conn.exec_driver_sql("SELECT data FROM raw_lines WHERE sha256=?", (sha256,)).scalar()
        return None if v is None else bytes(v)

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
            rows = conn.exec_driver_sql("SELECT id, n, payload FROM entries WHERE kind=?", (kind,)).fetchall()
            for rid, cnt, text in rows:
                if cnt == 1:
                    new = fn(loads(text))
                    if new is not None:
                        conn.exec_driver_sql("UPDATE entries SET payload=? WHERE id=?", (dumps(new), rid))
                        n += 1
                    continue
                ps = unpack_payloads(loads(text))
                changed = 0
                for i, p in enumerate(ps):
                    q = fn(p)
                    if q is not None:
                        ps[i] = q
                        changed += 1
                if changed:
                    conn.exec_driver_sql("UPDATE entries SET payload=? WHERE id=?", (dumps_many(ps), rid))
                    n += changed
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
