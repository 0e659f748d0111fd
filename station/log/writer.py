"""The store's writer thread: one transaction for whatever was queued meanwhile (own entries, runs of
reads, peers' entries, long raw lines), resend keys checked on the way, listeners told after the commit.

`Writer` is a part of `station.log.store.Store` (its queue, engines and listeners are set up there)."""

from __future__ import annotations

import hashlib
import json
import logging
import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any

import orjson
import sqlalchemy as sa

from station.log.dkeys import _Bloom, _Ranges
from station.log.entries import Entry, dumps
from station.log.reads import ReadRun
from station.log.rows import CommittedRun, _chips_of, _last_seq, _pack_rows, _uuid_at, new_uuids, now_ms

log = logging.getLogger("station.log.store")

_MAX_BATCH = 20_000


def _json_ascii(v: Any) -> str:
    """JSON text that gives back exactly `v` (lone surrogates escaped, NaN and huge integers kept)."""
    return json.dumps(v, ensure_ascii=True, separators=(",", ":"))


def _clean(v: Any) -> str | None:
    """Text safe for a SQLite column (lone surrogates replaced), or None when `v` is not text."""
    return v.encode("utf-8", "replace").decode("utf-8") if type(v) is str else None



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



class Writer:
    """The writer thread's half of `Store`: `_run` takes what is queued, `_commit` stores it."""

    station_id: str
    _queue: queue.Queue[_Item | _Batch | _Run | _Foreign | _RawLine | None]
    _listeners: list[Callable[[list[Entry]], None]]
    _run_listeners: list[Callable[[list[Entry | CommittedRun]], None]]
    _dkey_bloom: _Bloom | None  # writer thread only
    _ranges: _Ranges | None  # writer thread only
    _error: BaseException | None
    _thread: threading.Thread
    _wengine: sa.Engine

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
                if not b.future.done():  # type: ignore[union-attr]
                    b.future.set_exception(e)  # type: ignore[union-attr]
            if isinstance(e, Exception):
                log.exception("commit failed; %d entries refused", len(batch))
                return
            raise
        finally:
            cur.close()
        # Listeners first, then the callers: when `append` returns, in-process state that follows the
        # log (the desk's check-in counts) already includes the entry.
        if committed:
            self._notify(committed)
        for fut, value in results:
            fut.set_result(value)
        for f in flushes:
            f.future.set_result(None)  # type: ignore[union-attr]

    def _notify(self, committed: list[Entry | CommittedRun]) -> None:
        """Tell the listeners what one commit stored (once per transaction, not per entry)."""
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
            dkeys: list[str | None] = run.dkey if run.dkey is not None else \
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
