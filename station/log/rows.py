"""Table rows of the event log: uuids, packed rows (a run of reads in one row, migration 0002) and the
helpers that turn rows back into entries, plus the read-only `read_payloads` for tools and tests."""

from __future__ import annotations

import os
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import orjson

from station.log.entries import Entry, dumps, dumps_many, loads
from station.log.reads import ReadRun, run_of_payloads, unpack_payloads


def new_uuids(n: int) -> list[str]:
    """`n` distinct version-4 UUID strings: 90 random bits shared by the batch, then a counter.

    One urandom call and one f-string per uuid: a capture import makes one per read, and formatting
    fully random uuids cost more than parsing the read.
    """
    r = os.urandom(12).hex()
    prefix = f"{r[:8]}-{r[8:12]}-4{r[13:16]}-{'89ab'[int(r[16], 16) & 3]}{r[17:20]}-{r[20:24]}"
    return [f"{prefix}{i:08x}" for i in range(n)]



def now_ms() -> int:
    return time.time_ns() // 1_000_000



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

