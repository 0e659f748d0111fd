"""Per-station streams: validating and appending a pushed batch, and serving pulls after a cursor.

Push rules (DESIGN.md): a batch is in seq order and starts at most at `acked_seq + 1`. Entries already
stored (same seq and uuid) are acknowledged again — a station that lost our answer simply resends.
The same seq with another uuid, or a batch starting after `acked_seq + 1`, is a conflict: nothing of the
batch is stored. A malformed or oversized batch is refused whole, before anything is written.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

import orjson
import sqlalchemy as sa

from ledger import cursor as cursors
from ledger import db as schema
from ledger.db import Database
from ledger.events import EventRule, load_rule
from ledger.points import apply_results
from station.log.contract import MAX_PAYLOAD_BYTES, check_payload, check_wire, forbidden_kinds, may_write
from station.log.entries import KINDS

MAX_BODY_BYTES = 32 * 1024 * 1024
MAX_BATCH = 10_000
MAX_PULL = 10_000
#: How far ahead of the ledger's clock a `result_published` or `participant` entry may be recorded. Both
#: decide a "latest" on the ledger (the credited result, the account): one dated 2^53-1 would win forever.
MAX_AHEAD_MS = 10 * 60 * 1000
_BOUNDED = frozenset({"result_published", "participant"})
_KINDS = frozenset(KINDS)
__all__ = ["MAX_PAYLOAD_BYTES", "LedgerError", "parse_batch", "pull", "push"]


class LedgerError(Exception):
    """A refusal with an HTTP status and a plain message (and extra JSON fields)."""

    def __init__(self, status: int, message: str, code: str = "error", **extra: Any) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code
        self.extra = extra

    def body(self) -> dict[str, Any]:
        return {"error": self.message, "code": self.code, **self.extra}


@dataclass(frozen=True, slots=True)
class InEntry:
    seq: int
    uuid: str
    kind: str
    payload: str  # normalized JSON text
    recorded_at: int
    operator: str
    parsed: dict[str, Any]


_dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def parse_batch(body: bytes, station_id: str, role: str = "organizer") -> list[InEntry]:
    """Validate a pushed body: `[entry, …]` or `{"entries": [entry, …]}`; first error refuses all.

    The token's `role` is checked against each entry's kind first (403 naming the kind), then the
    entry contract (422 naming the seq and the field)."""
    if len(body) > MAX_BODY_BYTES:
        raise LedgerError(413, f"batch too large: {len(body)} bytes (limit {MAX_BODY_BYTES})", "too_large")
    try:
        try:
            data = orjson.loads(body)  # fast; refuses NaN, huge integers, lone surrogates, deep nesting…
        except orjson.JSONDecodeError:
            data = json.loads(body)  # … which the standard library reads, for the contract to name them
    except (ValueError, UnicodeDecodeError) as e:
        raise LedgerError(400, f"the body is not valid JSON ({e})", "malformed") from e
    except RecursionError:
        raise LedgerError(400, "the body is nested too deeply", "malformed") from None
    if isinstance(data, dict):
        data = data.get("entries")
    if not isinstance(data, list):
        raise LedgerError(400, "the body must be a JSON list of entries or {\"entries\": [...]}", "malformed")
    if not data:
        raise LedgerError(400, "the batch is empty", "malformed")
    if len(data) > MAX_BATCH:
        raise LedgerError(413, f"batch too large: {len(data)} entries (limit {MAX_BATCH})", "too_large")
    out: list[InEntry] = []
    kinds = _KINDS
    forbidden = forbidden_kinds(role)
    prev = None
    for i, d in enumerate(data):
        # Fast path: one combined test per entry; the precise message is worked out only on failure.
        try:
            seq, uuid, kind, payload, rec = d["seq"], d["uuid"], d["kind"], d["payload"], d["recorded_at"]
            op = d.get("operator") or ""
            sid = d.get("station_id")
        except (KeyError, TypeError, AttributeError):
            _explain(i, d, station_id)
            raise AssertionError("unreachable") from None
        if type(kind) is str and kind in forbidden:
            raise LedgerError(403, f"entry {i + 1} (seq {seq}): a {role} token may not write {kind} entries; "
                                   "nothing of this batch was stored (see the role table in the README)",
                              "forbidden", seq=seq, kind=kind)
        if (type(seq) is not int or not 0 < seq <= 2**62 or type(uuid) is not str or not 0 < len(uuid) <= 64
                or type(kind) is not str or kind not in kinds or type(payload) is not dict or type(rec) is not int
                or not 0 <= rec < 2**53 or type(op) is not str or len(op) > 200
                or (sid is not None and sid != station_id)):
            _explain(i, d, station_id)
        # The entry contract (station.log.contract): the same definition every station checks.
        problem = check_payload(kind, payload)
        if problem is None and not ((uuid + op).isascii() and "\x00" not in uuid + op):
            problem = check_wire({**d, "payload": {}, "kind": "checkin_refused"}, station_id)
        if problem is not None:
            if problem.too_large:
                raise LedgerError(413, f"entry {i + 1} (seq {seq}): payload larger than {MAX_PAYLOAD_BYTES}"
                                       " bytes (UTF-8)", "too_large", seq=seq, field=problem.field)
            raise LedgerError(422, f"entry {i + 1} (seq {seq}): {kind}: {problem}; nothing of this batch "
                                   "was stored", "malformed", seq=seq, field=problem.field)
        text = _dumps(payload)
        if prev is not None and seq != prev + 1:
            raise LedgerError(422, f"entry {i + 1} (seq {seq}): entries must be in seq order without gaps "
                                   f"(previous seq {prev})", "malformed")
        prev = seq
        out.append(InEntry(seq, uuid, kind, text, rec, op, payload))
    return out


def _explain(i: int, d: Any, station_id: str) -> None:
    """Raise the precise refusal for entry `i` (the slow path of `parse_batch`)."""
    where = f"entry {i + 1}"
    if not isinstance(d, dict):
        raise LedgerError(422, f"{where}: must be a JSON object", "malformed")
    seq = d.get("seq")
    if not _is_int(seq) or seq < 1 or seq > 2**62:
        raise LedgerError(422, f"{where}: seq must be a positive integer", "malformed")
    where = f"entry {i + 1} (seq {seq})"
    uuid = d.get("uuid")
    if not isinstance(uuid, str) or not 1 <= len(uuid) <= 64:
        raise LedgerError(422, f"{where}: uuid must be a text of 1 to 64 characters", "malformed")
    kind = d.get("kind")
    if not isinstance(kind, str) or kind not in _KINDS:
        raise LedgerError(422, f"{where}: unknown kind {kind!r}", "malformed")
    if not isinstance(d.get("payload"), dict):
        raise LedgerError(422, f"{where}: payload must be a JSON object", "malformed")
    rec = d.get("recorded_at")
    if not _is_int(rec) or not 0 <= rec < 2**53:
        raise LedgerError(422, f"{where}: recorded_at must be UTC milliseconds (an integer)", "malformed")
    op = d.get("operator") or ""
    if not isinstance(op, str) or len(op) > 200:
        raise LedgerError(422, f"{where}: operator must be a text of at most 200 characters", "malformed")
    sid = d.get("station_id")
    if sid is not None and sid != station_id:
        raise LedgerError(422, f"{where}: station_id {sid!r} differs from the stream {station_id!r}",
                          "malformed")
    raise LedgerError(422, f"{where}: malformed entry", "malformed")


def _check_copies(conn: sa.Connection, event_id: str, role: str, entries: list[InEntry]) -> None:
    """A non-organizer may send the event configuration only as registered by the organizer (now or
    before: a station that loaded last week's file offline must not stall), and a check-in desk only
    the readers listed there. Anything else would let any laptop change every station's configuration."""
    from ledger.events import config_digest, registered_digests

    digests = registered_digests(conn, event_id)
    readers: list[Any] | None = None
    for e in entries:
        if e.kind == "event_config":
            if config_digest(e.parsed) in digests:
                continue
            raise LedgerError(403, f"seq {e.seq}: event_config differs from the event registered on the ledger; a "
                                   f"{role} token may only send the registered configuration (register the new "
                                   "file with `ledger event add`, or use an organizer token); nothing of this "
                                   "batch was stored", "forbidden", seq=e.seq, kind=e.kind)
        if readers is None:
            cfg = conn.execute(sa.select(schema.events.c.config).where(schema.events.c.id == event_id)).scalar()
            readers = list((json.loads(cfg or "{}") or {}).get("readers") or [])
        if e.parsed not in readers:
            raise LedgerError(403, f"seq {e.seq}: a {role} token may only send reader_config entries listed in "
                                   "the registered event file; nothing of this batch was stored",
                              "forbidden", seq=e.seq, kind=e.kind)


def require_rule(conn: sa.Connection, event_id: str) -> EventRule:
    rule = load_rule(conn, event_id)
    if rule is None:
        raise LedgerError(404, f"event {event_id!r} is not registered on this ledger", "unknown_event")
    return rule


def check_clock(batch: list[InEntry], now: int) -> None:
    """Refuse (422, naming seq and field) a result or participant entry recorded more than
    `MAX_AHEAD_MS` ahead of the ledger's clock `now`."""
    limit = now + MAX_AHEAD_MS
    for i, e in enumerate(batch):
        if e.recorded_at > limit and e.kind in _BOUNDED:
            raise LedgerError(
                422, f"entry {i + 1} (seq {e.seq}): {e.kind}: recorded_at {e.recorded_at} is "
                     f"{(e.recorded_at - now) // 60_000} minutes ahead of the ledger's clock (at most "
                     f"{MAX_AHEAD_MS // 60_000} allowed; check this station's clock); nothing of this batch "
                     "was stored", "malformed", seq=e.seq, field="recorded_at")


def push(db: Database, event_id: str, station_id: str, batch: list[InEntry], role: str = "organizer",
         now: int | None = None) -> int:
    """Append a validated batch to the station's stream; returns the new `acked_seq`. `now` (UTC ms,
    default the wall clock) is the ledger's clock."""
    st, en = schema.streams, schema.entries
    if now is None:
        now = time.time_ns() // 1_000_000
    check_clock(batch, now)
    with db.write.begin() as conn:
        rule = require_rule(conn, event_id)
        copies = [e for e in batch if may_write(role, e.kind) == "registered"]
        if copies:
            _check_copies(conn, event_id, role, copies)
        for e in batch:
            if e.kind == "result_published" and str(e.parsed.get("race")) not in rule.races:
                raise LedgerError(
                    422, f"seq {e.seq}: race {e.parsed.get('race')!r} is not registered for event "
                         f"{event_id!r} (register the event file again with `ledger event add`)",
                    "unknown_race")
        conn.execute(
            schema.upsert(db, st).values(event_id=event_id, station_id=station_id, acked_seq=0)
            .on_conflict_do_nothing()
        )
        acked = conn.execute(
            sa.select(st.c.acked_seq).where(st.c.event_id == event_id, st.c.station_id == station_id)
            .with_for_update()
        ).scalar_one()
        first, last = batch[0].seq, batch[-1].seq
        if first > acked + 1:
            raise LedgerError(409, f"gap: the ledger holds station {station_id} up to seq {acked}, "
                                   f"this batch starts at seq {first}", "gap", acked_seq=acked)
        if first <= acked:
            old = dict(conn.execute(
                sa.select(en.c.seq, en.c.uuid).where(
                    en.c.event_id == event_id, en.c.station_id == station_id,
                    en.c.seq >= first, en.c.seq <= min(last, acked))
            ).all())
            for e in batch:
                if e.seq > acked:
                    break
                if old.get(e.seq) != e.uuid:
                    raise LedgerError(
                        409, f"conflict: the ledger already holds seq {e.seq} of station {station_id} "
                             f"with another uuid ({old.get(e.seq)}, received {e.uuid}); was this "
                             "station's database replaced? Nothing of this batch was stored.",
                        "conflict", acked_seq=acked, seq=e.seq)
        new = [e for e in batch if e.seq > acked]
        if new:
            # The DB-API's executemany with plain tuples: several times faster than Core with dicts,
            # which matters at 200,000 entries.
            ph = "?" if db.write.dialect.paramstyle == "qmark" else "%s"
            conn.exec_driver_sql(
                "INSERT INTO entries (event_id, station_id, seq, uuid, kind, payload, recorded_at,"
                f" operator, received_at) VALUES ({', '.join([ph] * 9)})",
                [(event_id, station_id, e.seq, e.uuid, e.kind, e.payload, e.recorded_at, e.operator, now)
                 for e in new])
            conn.execute(st.update().where(st.c.event_id == event_id, st.c.station_id == station_id)
                         .values(acked_seq=new[-1].seq))
            pub = [(e.seq, e.recorded_at, e.parsed) for e in new if e.kind == "result_published"]
            listed = [(e.seq, e.recorded_at, e.parsed) for e in new if e.kind == "participant"]
            if pub or listed:
                apply_results(db, conn, rule, station_id, pub, now, listed)
            return new[-1].seq
        return acked


def pull(db: Database, event_id: str, cursor: str | None, limit: int,
         skip_station: str | None = None) -> tuple[str, bool, str]:
    """Entries after the cursor in (station, seq) order; returns (entries JSON text, more, next cursor).

    `skip_station` (the caller's own stream, on request) is passed over: the cursor moves to its end
    without sending entries the caller already holds — a station that just pushed 200,000 entries
    need not download them again.

    The entries are rendered straight from the stored payload text: a pull of 200,000 entries must not
    parse and re-serialize every payload.
    """
    try:
        vector = cursors.decode(cursor)
    except cursors.BadCursor as e:
        raise LedgerError(400, str(e), "bad_cursor") from e
    limit = max(1, min(limit, MAX_PULL))
    st, en = schema.streams, schema.entries
    parts: list[str] = []
    more = False
    with db.read.connect() as conn:
        require_rule(conn, event_id)
        heads = conn.execute(
            sa.select(st.c.station_id, st.c.acked_seq).where(st.c.event_id == event_id)
            .order_by(st.c.station_id)
        ).all()
        remaining = limit
        jd = json.dumps
        for sid, acked in heads:
            after = vector.get(sid, 0)
            if acked <= after:
                continue
            if sid == skip_station:
                vector[sid] = acked
                continue
            if remaining <= 0:
                more = True
                break
            rows = conn.execute(
                sa.select(en.c.seq, en.c.uuid, en.c.kind, en.c.payload, en.c.recorded_at, en.c.operator)
                .where(en.c.event_id == event_id, en.c.station_id == sid, en.c.seq > after)
                .order_by(en.c.seq).limit(remaining)
            ).all()
            if not rows:
                continue
            sj = jd(sid, ensure_ascii=False)
            for seq, uuid, kind, payload, rec, op in rows:
                parts.append(
                    f'{{"station_id":{sj},"seq":{seq},"uuid":{jd(uuid)},"kind":{jd(kind)},'
                    f'"payload":{payload},"recorded_at":{rec},"operator":{jd(op, ensure_ascii=False)}}}'
                )
            vector[sid] = rows[-1][0]
            remaining -= len(rows)
            if rows[-1][0] < acked:
                more = True
    return "[" + ",".join(parts) + "]", more, cursors.encode(vector)
