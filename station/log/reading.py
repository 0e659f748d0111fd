"""Reading the event log: entries in arrival order (one per read, or a packed run whole), by uuid, by
chip, the sync outbox, counts. Readers use their own connections; WAL means they never block the writer.

`Reads` is a part of `station.log.store.Store` (its read engine is set up there)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

import orjson
import sqlalchemy as sa

from station.log.entries import Entry, loads
from station.log.reads import ReadRun, unpack_payloads
from station.log.rows import CommittedRun, _last_seq, _row_uuids, expand_row, nth_uuid, own_rows_after


class Reads:
    """The reading half of `Store`."""

    station_id: str
    _rengine: sa.Engine

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
            raw: Any = conn.connection.dbapi_connection
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
            raw: Any = conn.connection.dbapi_connection
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
            raw: Any = conn.connection.dbapi_connection
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
        return [e for _, e in self.iter_rows(0, kinds)]  # type: ignore[misc]  # runs=False: entries only

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
            raw: Any = conn.connection.dbapi_connection
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
