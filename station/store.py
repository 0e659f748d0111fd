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
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import queue
import sqlite3
import threading
import time
import uuid as uuidlib
from bisect import bisect_right
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import orjson
import sqlalchemy as sa
from sqlalchemy import event as sa_event

from station import contract, paths
from station.entries import Entry, dumps, dumps_many, loads
from station.errors import UserError
from station.reads import ReadRun, run_of_payloads, unpack_payloads

log = logging.getLogger(__name__)

SCHEMA_HEAD = "0005"
_MIGRATIONS = Path(__file__).with_name("migrations")
_BUSY_TIMEOUT_MS = 30_000
_MAX_BATCH = 20_000

Listener = Callable[[list[Entry]], None]


def new_uuids(n: int) -> list[str]:
    """`n` distinct version-4 UUID strings: 90 random bits shared by the batch, then a counter.

    One urandom call and one f-string per uuid: a capture import makes one per read, and formatting
    fully random uuids cost more than parsing the read.
    """
    r = os.urandom(12).hex()
    prefix = f"{r[:8]}-{r[8:12]}-4{r[13:16]}-{'89ab'[int(r[16], 16) & 3]}{r[17:20]}-{r[20:24]}"
    return [f"{prefix}{i:08x}" for i in range(n)]


def _json_ascii(v: Any) -> str:
    """JSON text that gives back exactly `v` (lone surrogates escaped, NaN and huge integers kept)."""
    return json.dumps(v, ensure_ascii=True, separators=(",", ":"))


def _clean(v: Any) -> str | None:
    """Text safe for a SQLite column (lone surrogates replaced), or None when `v` is not text."""
    return v.encode("utf-8", "replace").decode("utf-8") if type(v) is str else None


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

    def update(self, keys: Iterable[str]) -> None:
        a, m = self._a, self._MASK
        for k in keys:
            h = hash(k)
            b1, b2 = h & m, (h >> 32) & m
            a[b1 >> 3] |= 1 << (b1 & 7)
            a[b2 >> 3] |= 1 << (b2 & 7)

    def maybe(self, keys: Iterable[str]) -> list[str]:
        """The keys the filter may have seen (the rest are certainly new)."""
        a, m = self._a, self._MASK
        out = []
        for k in keys:
            h = hash(k)
            b1, b2 = h & m, (h >> 32) & m
            if (a[b1 >> 3] >> (b1 & 7)) & 1 and (a[b2 >> 3] >> (b2 & 7)) & 1:
                out.append(k)
        return out

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and bool(self.maybe((key,)))


class _Ranges:
    """Exact set of running-index resend keys (`<stream>#<index>`: an Ultra's box/log id, a RACE RESULT
    decoder's file/passing number) kept as disjoint index intervals per stream.

    A reader's log runs 1, 2, 3 …, so the keys of a whole day are a handful of intervals: checking and
    recording a key costs a bisect in memory instead of a B-tree insert per read. The intervals are
    persisted in `dkey_ranges` in the same transaction; after a failed commit they are reloaded from
    there, so a key never counts as stored unless its read was committed.
    """

    def __init__(self, rows: Iterable[tuple[str, int, int]]) -> None:
        self._lo: dict[str, list[int]] = {}
        self._hi: dict[str, list[int]] = {}
        for stream, lo, hi in sorted(rows):
            self._lo.setdefault(stream, []).append(lo)
            self._hi.setdefault(stream, []).append(hi)
        self.dirty: dict[tuple[str, int], int | None] = {}  # (stream, lo) → hi, None: gone

    def add(self, stream: str, i: int) -> bool:
        """Record index `i` of `stream`; False if it was already there."""
        return self.add_span(stream, i, i)

    def add_span(self, stream: str, lo: int, hi: int) -> bool:
        """Record lo … hi at once if none of them is there yet (True); else change nothing (False)."""
        los = self._lo.get(stream)
        if los is None:
            self._lo[stream], self._hi[stream] = [lo], [hi]
            self.dirty[(stream, lo)] = hi
            return True
        his = self._hi[stream]
        k = bisect_right(los, hi) - 1  # last interval starting at or before hi
        if k >= 0 and his[k] >= lo:
            return False  # overlaps
        dirty = self.dirty
        joins_left = k >= 0 and his[k] == lo - 1
        joins_right = k + 1 < len(los) and los[k + 1] == hi + 1
        if joins_left and joins_right:
            his[k] = his[k + 1]
            dirty[(stream, los[k + 1])] = None
            del los[k + 1], his[k + 1]
            dirty[(stream, los[k])] = his[k]
        elif joins_left:
            his[k] = hi
            dirty[(stream, los[k])] = hi
        elif joins_right:
            dirty[(stream, los[k + 1])] = None
            los[k + 1] = lo
            dirty[(stream, lo)] = his[k + 1]
        else:
            los.insert(k + 1, lo)
            his.insert(k + 1, hi)
            dirty[(stream, lo)] = hi
        return True

    def save(self, cur: Any) -> None:
        if not self.dirty:
            return
        cur.executemany("DELETE FROM dkey_ranges WHERE stream=? AND lo=?", list(self.dirty))
        cur.executemany("INSERT INTO dkey_ranges (stream, lo, hi) VALUES (?,?,?)",
                        [(s, lo, hi) for (s, lo), hi in self.dirty.items() if hi is not None])
        self.dirty = {}


# Consecutive reads committed together share one row, at most this many (a row stays well under a MB).
_PACK_MAX = 2000
_Row = tuple[str, int, int, str, str, str, int, str, str | None]


def _chips_of(payloads: list[dict[str, Any]], kind: str) -> str | None:
    """The `chips` column of a read row: its chip ids as a JSON array of strings (migration 0004)."""
    if kind != "read":
        return None
    return orjson.dumps([str(p.get("chip")) for p in payloads]).decode("utf-8")


def _pack_rows(sid: str, kept: list[tuple[str, dict[str, Any], str, int, str, int]]) -> list[_Row]:
    """Table rows for entries about to be stored: runs of `read` entries with the same operator and
    time become one packed row (see migration 0002); everything else is one row per entry."""
    rows: list[_Row] = []
    i, n = 0, len(kept)
    while i < n:
        kind, payload, op, rec, u, seq = kept[i]
        j = i + 1
        if kind == "read":
            while j < n and j - i < _PACK_MAX and kept[j][0] == "read" and kept[j][2] == op \
                    and kept[j][3] == rec:
                j += 1
        if j - i == 1:
            rows.append((sid, seq, 1, u, kind, dumps(payload), rec, op, _chips_of([payload], kind)))
        else:
            ps = [x[1] for x in kept[i:j]]
            rr = run_of_payloads(ps)  # columnar when the reads share their reader (the usual case)
            doc = orjson.dumps(rr.to_doc()).decode("utf-8") if rr is not None else dumps_many(ps)
            rows.append((sid, seq, j - i, u, kind, doc, rec, op, _chips_of(ps, kind)))
        i = j
    return rows


@dataclass(slots=True)
class CommittedRun:
    """A run of reads just committed as one packed row: entries seq … seq+len-1, uuids from `uuid`."""

    station_id: str
    seq: int
    uuid: str
    run: ReadRun
    recorded_at: int
    operator: str
    kind: ClassVar[str] = "read"  # lets a listener filter by kind without expanding the run

    def entries(self) -> list[Entry]:
        sid, seq, rec, op = self.station_id, self.seq, self.recorded_at, self.operator
        return [Entry(sid, seq + i, u, "read", p, rec, op)
                for i, (u, p) in enumerate(zip(_row_uuids(self.uuid, len(self.run)), self.run.payloads(),
                                               strict=True))]


def nth_uuid(first: str, i: int) -> str:
    """The uuid of the i-th entry of a packed row: `new_uuids` counts up in the last 8 hex digits."""
    return first if i == 0 else f"{first[:28]}{int(first[28:], 16) + i:08x}"


def _row_uuids(first: str, n: int) -> list[str]:
    head, base = first[:28], int(first[28:], 16)
    return [f"{head}{base + i:08x}" for i in range(n)]


def expand_row(sid: str, seq: int, n: int, uuid: str, kind: str, payload: str, rec: int,
               op: str) -> list[Entry]:
    """The entries one table row holds (one, or a packed run of reads)."""
    if n == 1:
        return [Entry(sid, seq, uuid, kind, loads(payload), rec, op)]
    ps = unpack_payloads(loads(payload))
    return [Entry(sid, seq + i, u, kind, p, rec, op)
            for i, (u, p) in enumerate(zip(_row_uuids(uuid, n), ps, strict=True))]


def expand_raw(sid: str, seq: int, n: int, uuid: str, kind: str, payload: str, rec: int,
               op: str) -> list[tuple[int, str, str, str, int, str]]:
    """Like `expand_row` but payloads stay JSON text (seq, uuid, kind, payload, recorded_at, operator):
    the sync outbox sends them as stored."""
    if n == 1:
        return [(seq, uuid, kind, payload, rec, op)]
    texts = [dumps(p) for p in unpack_payloads(loads(payload))]
    return [(seq + i, u, kind, t, rec, op) for i, (u, t) in enumerate(zip(_row_uuids(uuid, n), texts, strict=True))]


def read_payloads(db_path: Path, kind: str) -> list[dict[str, Any]]:
    """Payloads of one kind in arrival order, read straight from a station file (read-only, so another
    process's running station is never disturbed): for rehearsals, soaks and end-to-end tests."""
    if not Path(db_path).exists():
        return []
    con = sqlite3.connect(f"{Path(db_path).resolve().as_uri()}?mode=ro", uri=True, timeout=30)
    try:
        out: list[dict[str, Any]] = []
        for n, text in con.execute("SELECT n, payload FROM entries WHERE kind=? ORDER BY id", (kind,)):
            if n == 1:
                out.append(loads(text))
            else:
                out += unpack_payloads(loads(text))
        return out
    except sqlite3.OperationalError:  # not created yet
        return []
    finally:
        con.close()


def _last_seq(cur: Any, station_id: str) -> int:
    row = cur.execute("SELECT seq + n - 1 FROM entries WHERE station_id=? ORDER BY seq DESC LIMIT 1",
                      (station_id,)).fetchone()
    return row[0] if row else 0


def _uuid_at(cur: Any, station_id: str, seq: int) -> str | None:
    """The uuid stored under (station, seq), packed rows included."""
    row = cur.execute("SELECT seq, n, uuid FROM entries WHERE station_id=? AND seq<=? ORDER BY seq DESC"
                      " LIMIT 1", (station_id, seq)).fetchone()
    if row is None or row[0] + row[1] - 1 < seq:
        return None
    return nth_uuid(row[2], seq - row[0])


def own_rows_after(conn: Any, station_id: str, after: int, limit: int) -> list[tuple]:
    """Rows holding `station_id`'s entries with seq > `after`, enough for `limit` entries, in seq order:
    (seq, n, uuid, kind, payload, recorded_at, operator). The first may start at or before `after`
    (a packed row); callers drop entries with seq <= `after`."""
    out: list[tuple] = []
    head = conn.execute("SELECT seq, n, uuid, kind, payload, recorded_at, operator FROM entries"
                        " WHERE station_id=? AND seq<=? ORDER BY seq DESC LIMIT 1", (station_id, after)).fetchone()
    got = 0
    if head is not None and head[0] + head[1] - 1 > after:
        out.append(head)
        got += head[0] + head[1] - 1 - after
    last = after
    while got < limit:
        rows = conn.execute("SELECT seq, n, uuid, kind, payload, recorded_at, operator FROM entries"
                            " WHERE station_id=? AND seq>? ORDER BY seq LIMIT ?",
                            (station_id, last, min(limit - got, 500))).fetchall()
        if not rows:
            break
        out += rows
        got += sum(r[1] for r in rows)
        last = rows[-1][0]
    return out


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
class _Run:
    run: ReadRun
    operator: str
    future: Future[int]


@dataclass
class _Foreign:
    entries: list[Entry]
    quarantined: list[Quarantined]
    future: Future[ForeignResult]


@dataclass
class _RawLine:
    """The full text of a reader line too long for the log (local only; see migration 0005)."""

    sha256: str
    data: bytes
    future: Future[None]


@dataclass(frozen=True)
class Quarantined:
    """A peer's entry that breaks the entry contract: kept as received, never applied."""

    entry: Any  # the wire object as received (any JSON value)
    reason: str


@dataclass
class ForeignResult:
    """What happened to entries pulled from peers: stored, already present, or in conflict."""

    stored: list[Entry]
    duplicates: int
    conflicts: list[str]
    quarantined: int = 0


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
        (self._run_listeners if runs else self._listeners).append(listener)

    def unsubscribe(self, listener: Listener) -> None:
        for lst in (self._listeners, self._run_listeners):
            if listener in lst:
                lst.remove(listener)

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
        `station.contract.check_run` (the ingest does, to divert bad reads instead of refusing them)."""
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
        break the entry contract, see `station.sync`) are kept as received and never applied."""
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

    def _run(self) -> None:
        conn = self._wengine.raw_connection()
        try:
            while True:
                first = self._queue.get()
                if first is None:
                    return
                batch: list[_Item | _Batch | _Run | _Foreign | _RawLine] = [first]
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

    def _commit(self, conn: Any, batch: list[_Item | _Batch | _Run | _Foreign | _RawLine]) -> None:
        """One transaction for everything queued meanwhile, own entries in queue order."""
        committed: list[Entry | CommittedRun] = []
        results: list[tuple[Future[Any], Any]] = []
        flushes: list[_Item] = []
        foreign: list[_Foreign] = []
        cur = conn.cursor()
        try:
            cur.execute("BEGIN IMMEDIATE")
            # (kind, payload, operator, recorded_at, dkey) of a stretch of single entries: the hot path
            flat: list[tuple[str, dict[str, Any], str, int | None, str | None]] = []
            singles: list[tuple[int, Future[Any]]] = []
            slices: list[tuple[_Batch, int, int]] = []

            def flush_flat() -> None:
                if not flat:
                    return
                own = self._insert_own(cur, flat)
                committed.extend(e for e in own if e is not None)
                for i, fut in singles:
                    results.append((fut, own[i]))
                for bt, start, n in slices:
                    results.append((bt.future, own[start : start + n]))
                flat.clear()
                singles.clear()
                slices.clear()

            for b in batch:
                if isinstance(b, _Batch):
                    slices.append((b, len(flat), len(b.items)))
                    op = b.operator
                    flat += [(k, p, op, None, dk) for k, p, dk in b.items]
                elif isinstance(b, _Run):
                    flush_flat()
                    stored, cr = self._insert_run(cur, b.run, b.operator)
                    if cr is not None:
                        committed.append(cr)
                    results.append((b.future, stored))
                elif isinstance(b, _RawLine):
                    cur.execute("INSERT OR IGNORE INTO raw_lines (sha256, length, data, received_at)"
                                " VALUES (?,?,?,?)", (b.sha256, len(b.data), b.data, now_ms()))
                    results.append((b.future, None))
                elif isinstance(b, _Item):
                    if b.kind == "__flush__":
                        flushes.append(b)
                    else:
                        singles.append((len(flat), b.future))  # type: ignore[arg-type]
                        flat.append((b.kind, b.payload, b.operator, b.recorded_at, b.dkey))
                else:
                    foreign.append(b)
            flush_flat()
            for fb in foreign:
                res = self._insert_foreign(cur, fb.entries, fb.quarantined)
                committed += res.stored
                results.append((fb.future, res))
            cur.execute("COMMIT")
        except BaseException as e:
            self._ranges = None  # it may hold keys of the entries just refused: reload from the file
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
        # Listeners first, then the callers: when `append` returns, in-process state that follows the
        # log (the desk's check-in counts) already includes the entry.
        if committed:
            for rl in list(self._run_listeners):
                try:
                    rl(committed)
                except Exception:
                    log.exception("store listener failed")
            if self._listeners:
                plain: list[Entry] = []
                for c in committed:
                    if type(c) is CommittedRun:
                        plain += c.entries()
                    else:
                        plain.append(c)  # type: ignore[arg-type]
                for listener in list(self._listeners):
                    try:
                        listener(plain)
                    except Exception:
                        log.exception("store listener failed")
        for fut, value in results:
            fut.set_result(value)
        for f in flushes:
            f.future.set_result(None)  # type: ignore[union-attr]

    def _insert_run(self, cur: Any, run: ReadRun, op: str) -> tuple[int, CommittedRun | None]:
        """Store a run of reads as one packed row (resends dropped); returns how many were stored."""
        n = len(run)
        if n == 0:
            return 0, None
        ranges = self._ranges
        if ranges is None:
            ranges = self._ranges = _Ranges(self._cur_ranges(cur))
        keep: list[bool] | None = None
        if run.index_stream is not None and ranges.add_span(run.index_stream, run.index_first,
                                                            run.index_first + n - 1):
            pass  # the usual case: a new stretch of the reader's log, checked at once
        elif run.dkey is not None or run.index_stream is not None:
            dkeys = run.dkey if run.dkey is not None else \
                [f"{run.index_stream}#{run.index_first + i}" for i in range(n)]
            keep = self._keep_mask(cur, dkeys, ranges)
        if keep is not None and not all(keep):
            run = run.select(keep)
            n = len(run)
            if n == 0:
                return 0, None
        sid = self.station_id
        seq = _last_seq(cur, sid) + 1
        rec = now_ms()
        first = new_uuids(1)[0]  # the others count up from it (see `nth_uuid`)
        payload = dumps(run.payloads()[0]) if n == 1 else orjson.dumps(run.to_doc()).decode("utf-8")
        chips = orjson.dumps(run.chip).decode("utf-8")
        cur.execute("INSERT INTO entries (station_id, seq, n, uuid, kind, payload, recorded_at, operator, chips)"
                    " VALUES (?,?,?,?,'read',?,?,?,?)", (sid, seq, n, first, payload, rec, op, chips))
        ranges.save(cur)
        return n, CommittedRun(sid, seq, first, run, rec, op)

    def _cur_ranges(self, cur: Any) -> list[tuple[str, int, int]]:
        return cur.execute("SELECT stream, lo, hi FROM dkey_ranges").fetchall()

    def _keep_mask(self, cur: Any, dkeys: list[str | None], ranges: _Ranges) -> list[bool]:
        """Per key: True if new (and now recorded), False if already stored (a resend)."""
        other = []
        for k in dkeys:
            if k is not None:
                stream, h, tail = k.rpartition("#")
                if not (h and tail.isdigit()):
                    other.append(k)
        seen = self._seen_keys(cur, other)
        keep = []
        new_keys = []
        for k in dkeys:
            if k is None:
                keep.append(True)
                continue
            stream, h, tail = k.rpartition("#")
            if h and tail.isdigit():
                keep.append(ranges.add(stream, int(tail)))
            elif k in seen:
                keep.append(False)
            else:
                seen.add(k)
                new_keys.append((k,))
                keep.append(True)
        if new_keys:
            cur.executemany("INSERT INTO dkeys (dkey) VALUES (?)", new_keys)
            self._dkey_bloom.update(k for (k,) in new_keys)  # type: ignore[union-attr]
        return keep

    def _insert_own(self, cur: Any,
                    items: list[tuple[str, dict[str, Any], str, int | None, str | None]]) -> list[Entry | None]:
        ranges = self._ranges
        if ranges is None:
            ranges = self._ranges = _Ranges(self._cur_ranges(cur))
        keep = self._keep_mask(cur, [it[4] for it in items], ranges)
        seq = _last_seq(cur, self.station_id)
        now = now_ms()
        out: list[Entry | None] = []
        sid = self.station_id
        uuids = new_uuids(len(items))
        # (kind, payload, op, rec, uuid, seq) of the entries to store, in order
        kept: list[tuple[str, dict[str, Any], str, int, str, int]] = []
        for (kind, payload, op, rec, _dkey), k in zip(items, keep, strict=True):
            if not k:
                out.append(None)
                continue
            seq += 1
            u = uuids[len(kept)]  # consecutive for the kept ones: a packed row stores only the first
            if rec is None:
                rec = now
            kept.append((kind, payload, op, rec, u, seq))
            out.append(Entry(sid, seq, u, kind, payload, rec, op))
        cur.executemany(
            "INSERT INTO entries (station_id, seq, n, uuid, kind, payload, recorded_at, operator, chips)"
            " VALUES (?,?,?,?,?,?,?,?,?)", _pack_rows(sid, kept))
        ranges.save(cur)
        return out

    def _seen_keys(self, cur: Any, keyed: list[str]) -> set[str]:
        """The resend keys among `keyed` already stored.

        A fixed-size Bloom filter says "certainly new" for almost every read; only keys it may have
        seen (a real resend, or a false positive) are confirmed against the `dkeys` table, so a false
        positive can never drop a read. Memory stays flat (8 MB) however many reads a day brings.
        """
        seen: set[str] = set()
        if not keyed:
            return seen
        bloom = self._dkey_bloom
        if bloom is None:
            bloom = self._dkey_bloom = _Bloom()
            bloom.update(r[0] for r in cur.execute("SELECT dkey FROM dkeys"))
        maybe = bloom.maybe(keyed)
        for i in range(0, len(maybe), 500):
            chunk = maybe[i : i + 500]
            q = "SELECT dkey FROM dkeys WHERE dkey IN ({})".format(",".join("?" * len(chunk)))
            seen.update(r[0] for r in cur.execute(q, chunk))
        return seen

    def _insert_foreign(self, cur: Any, entries: list[Entry],
                        quarantined: list[Quarantined] = ()) -> ForeignResult:  # type: ignore[assignment]
        nq = 0
        for q in quarantined:
            text = _json_ascii(q.entry)
            d = q.entry if isinstance(q.entry, dict) else {}
            sid, seq, u, kind = (d.get(k) for k in ("station_id", "seq", "uuid", "kind"))
            nq += cur.execute(
                "INSERT OR IGNORE INTO quarantine (station_id, seq, uuid, kind, entry, reason, received_at,"
                " digest) VALUES (?,?,?,?,?,?,?,?)",
                (_clean(sid), seq if type(seq) is int and abs(seq) < 2**63 else None, _clean(u),
                 _clean(kind), text, _clean(q.reason) or "", now_ms(),
                 hashlib.sha256(text.encode("ascii")).hexdigest())).rowcount
        stored: list[Entry] = []
        dup = 0
        conflicts: list[str] = []
        for e in entries:
            got = _uuid_at(cur, e.station_id, e.seq)
            if got is not None:
                if got == e.uuid:
                    dup += 1
                else:
                    conflicts.append(
                        f"station {e.station_id} seq {e.seq}: stored uuid {got}, received {e.uuid}"
                    )
                continue
            cur.execute(
                "INSERT INTO entries (station_id, seq, uuid, kind, payload, recorded_at, operator, chips)"
                " VALUES (?,?,?,?,?,?,?,?)",
                (e.station_id, e.seq, e.uuid, e.kind, dumps(e.payload), e.recorded_at, e.operator,
                 _chips_of([e.payload], e.kind)),
            )
            stored.append(e)
        return ForeignResult(stored, dup, conflicts, nq)

    # ----------------------------------------------------------------- reading
    def iter_rows(self, after_id: int = 0, kinds: Iterable[str] | None = None, batch: int = 256, *,
                  runs: bool = False) -> Iterator[tuple[int, Entry | CommittedRun]]:
        """Committed entries in local arrival order after local row id `after_id`.

        Entries of one packed row share its row id (a row is committed whole, so "after id N" never
        splits one). With `runs=True` a packed run of reads comes as one `CommittedRun` (columns, no
        entry per read) — for consumers that take runs, like the results engine. Rows are fetched
        `batch` at a time (a packed row may hold thousands of reads: memory stays bounded)."""
        kinds = list(kinds) if kinds is not None else None
        last = after_id
        with self._rengine.connect() as conn:
            raw = conn.connection.dbapi_connection
            while True:
                q = ("SELECT id, station_id, seq, n, uuid, kind, payload, recorded_at, operator"
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
                    rid = r[0]
                    if r[3] == 1:
                        yield rid, Entry(r[1], r[2], r[4], r[5], loads(r[6]), r[7], r[8])
                        continue
                    doc = loads(r[6])
                    if runs and isinstance(doc, dict):
                        yield rid, CommittedRun(r[1], r[2], r[4], ReadRun.from_doc(doc), r[7], r[8])
                        continue
                    ps = unpack_payloads(doc)
                    for i, (u, p) in enumerate(zip(_row_uuids(r[4], r[3]), ps, strict=True)):
                        yield rid, Entry(r[1], r[2] + i, u, r[5], p, r[7], r[8])
                last = rows[-1][0]
                if len(rows) < batch:
                    return

    def find_entries(self, uuids: Iterable[str]) -> dict[str, tuple[int, Entry]]:
        """Entries by uuid → (local row id, entry); uuids not stored are left out.

        One index probe each: the greatest stored uuid not above the one asked for is either that
        entry or the first of the packed row holding it (a packed row's uuids count up from its
        first in the last 8 hex digits, and rows sharing a prefix hold disjoint counter ranges)."""
        out: dict[str, tuple[int, Entry]] = {}
        with self._rengine.connect() as conn:
            raw = conn.connection.dbapi_connection
            cols = "SELECT id, station_id, seq, n, uuid, kind, payload, recorded_at, operator FROM entries"
            for u in set(uuids):
                if len(u) == 36:
                    r = raw.execute(cols + " WHERE uuid <= ? AND uuid >= ? ORDER BY uuid DESC LIMIT 1",
                                    (u, u[:28])).fetchone()
                else:  # not a uuid this station makes (a peer's own format): only an exact match
                    r = raw.execute(cols + " WHERE uuid = ? LIMIT 1", (u,)).fetchone()
                if r is None:
                    continue
                if r[4] == u:
                    i = 0
                elif r[3] > 1:
                    try:
                        i = int(u[28:], 16) - int(r[4][28:], 16)
                    except ValueError:
                        continue
                    if not 0 < i < r[3]:
                        continue
                else:
                    continue
                if r[3] == 1:
                    out[u] = (r[0], Entry(r[1], r[2], r[4], r[5], loads(r[6]), r[7], r[8]))
                else:
                    e = expand_row(r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8])[i]
                    out[u] = (r[0], e)
        return out

    def reads_of_chips(self, chips: Iterable[str]) -> Iterator[tuple[int, Entry]]:
        """The read entries of these chips with their local row ids, in arrival order (a runner's
        detail: the reads behind each crossing; the results engine splitting a chip's chains).

        SQLite looks for the chip's JSON string in each read row's `chips` column (its chip ids, kept in
        an index of their own by migration 0004), so only rows that hold one of the chips are parsed
        — a runner's detail at a million reads held costs a short text scan inside SQLite, not a
        million entries in Python. A bare number needle may also match elsewhere: those rows are
        parsed and their other reads dropped here."""
        wanted = {str(c) for c in chips}
        if not wanted:
            return
        found = {orjson.dumps(c).decode("utf-8") for c in wanted}
        found |= {c for c in wanted if c.isdigit()}  # a peer may have sent a numeric chip as a number
        needles = sorted(found)
        cond = " OR ".join(["instr(chips, ?) > 0"] * len(needles))
        with self._rengine.connect() as conn:
            raw = conn.connection.dbapi_connection
            # ids from the chips index alone (no payload read), then only the rows that hold the chips
            ids = sorted(r[0] for r in raw.execute("SELECT id FROM entries INDEXED BY ix_entries_chips"
                                                   f" WHERE kind='read' AND ({cond})", needles))
            rows = []
            for i in range(0, len(ids), 500):
                chunk = ids[i:i + 500]
                rows += raw.execute("SELECT id, station_id, seq, n, uuid, kind, payload, recorded_at, operator"
                                    " FROM entries WHERE id IN ({})".format(",".join("?" * len(chunk))),
                                    chunk).fetchall()
            rows.sort()
        for rid, sid, seq, n, first, kind, text, rec, op in rows:
            doc = loads(text)
            if n == 1:
                if str(doc.get("chip")) in wanted:
                    yield rid, Entry(sid, seq, first, kind, doc, rec, op)
                continue
            if isinstance(doc, dict):  # columnar run: build payloads of the matching reads only
                keep = [str(c) in wanted for c in doc["chip"]]
                at = [i for i, k in enumerate(keep) if k]
                ps = ReadRun.from_doc(doc).select(keep).payloads() if at else []
            else:
                at = [i for i, p in enumerate(doc) if str(p.get("chip")) in wanted]
                ps = [doc[i] for i in at]
            for i, p in zip(at, ps, strict=True):
                yield rid, Entry(sid, seq + i, nth_uuid(first, i), kind, p, rec, op)

    def entries(self, kinds: Iterable[str] | None = None) -> list[Entry]:
        return [e for _, e in self.iter_rows(0, kinds)]

    def own_entries_after(self, seq: int, limit: int) -> list[Entry]:
        """This station's own entries with seq > `seq`, in seq order (the sync outbox)."""
        with self._rengine.connect() as conn:
            rows = own_rows_after(conn.connection.dbapi_connection, self.station_id, seq, limit)
        out: list[Entry] = []
        for r in rows:
            out += expand_row(self.station_id, *r)
        return [e for e in out if e.seq > seq][:limit]

    def last_seq(self, station_id: str | None = None) -> int:
        with self._rengine.connect() as conn:
            return _last_seq(conn.connection.dbapi_connection, station_id or self.station_id)

    def counts(self) -> dict[str, int]:
        with self._rengine.connect() as conn:
            rows = conn.exec_driver_sql("SELECT kind, SUM(n) FROM entries GROUP BY kind").fetchall()
        return {k: int(n) for k, n in rows}

    def max_read_index(self, reader_id: str, window: int = 5000) -> int | None:
        """Highest reader index (`idx`) among the reader's `window` most recent reads: where a
        restarted station asks the reader to replay from, even if it was killed outright."""
        best: int | None = None
        seen = 0
        with self._rengine.connect() as conn:
            raw = conn.connection.dbapi_connection
            # newest rows first; other readers' reads interleave, so look a bounded way back
            for n, text in raw.execute("SELECT n, payload FROM entries WHERE kind='read' ORDER BY id DESC"
                                       " LIMIT 2000"):
                ps = loads(text)
                for p in (unpack_payloads(ps) if n > 1 else (ps,)):
                    if p.get("reader") != reader_id:
                        continue
                    seen += 1
                    i = p.get("idx")
                    if isinstance(i, int) and (best is None or i > best):
                        best = i
                if seen >= window:
                    break
        return best

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
