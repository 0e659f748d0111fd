"""The entry contract: one definition of every entry kind, checked wherever an entry crosses a trust line.

Why it exists: a station applies its peers' entries (pulled through the ledger) to its results and its
check-in desk. Before this module each consumer trusted the payload's shape, so one malformed entry from
a peer — ``{"kind": "gun", "payload": {}}``, a 4,000-digit integer, a chip that is a list — crashed every
station that pulled it. Now the same rules are checked in three places (DESIGN.md "Trust"):

- a station appending its own entry (`station.log.store`): a station never stores what the ledger would
  refuse. Failing here is a programming error (`ContractError`); reader input is bounded and diverted
  where it enters (`station.timing.ingest` turns a read no read may hold into an `unparsed` line; the store
  cuts a long `unparsed` line with `bound_unparsed`), never refused;
- the ledger accepting a push (`ledger.streams`): 422 naming the seq and the field, nothing stored;
- a station pulling (`station.sync.engine`): an entry that fails is stored as received but set aside
  (quarantined, never applied), so nothing is lost and nothing crashes.

Every kind is a table of fields: type, required or optional, range or size in UTF-8 bytes. Fields not
in the table are allowed (a newer station may add some) but pass the generic limits every payload
obeys: JSON only, nesting at most `MAX_DEPTH`, no NaN/Infinity, integers within ±2^53 (what every
JSON reader represents exactly), no lone surrogates, the whole payload at most `MAX_PAYLOAD_BYTES`.
Ids (registration ids, chips, readers, points, uuids…) never hold NUL (PostgreSQL text cannot).

Speed: reads are the hot path (100,000+ a second at ingest). A run of reads is checked column by
column (`check_run`), not read by read; a single entry costs one `orjson.dumps` (size, surrogates,
64-bit ints) plus a walk of its values.

The parts: `contract_fields` (limits and value checks), `contract_kinds` (the field table of every kind),
`contract_roles` (what a ledger token may write); this module checks entries against them.
"""

from __future__ import annotations

import math
from typing import Any

import orjson

from station.log.contract_fields import (
    ID,
    ID_BYTES,
    MAX_DEPTH,
    MAX_INT,
    MAX_PAYLOAD_BYTES,
    MAX_UUID_BYTES,
    NUL,
    OPERATOR,
    READ_RAW_BYTES,
    UNPARSED_RAW_BYTES,
    UUID,
    ContractError,
    Problem,
    _fields,
    _tname,
    _utf8_len,
)
from station.log.contract_kinds import _ACTIONS, _SPECS, _event_config, spec_of
from station.log.contract_roles import ROLES, forbidden_kinds, may_write, role_table

# What other modules use from here (the parts: contract_fields, contract_kinds, contract_roles).
__all__ = [
    "ID",
    "MAX_PAYLOAD_BYTES",
    "ROLES",
    "UNPARSED_RAW_BYTES",
    "ContractError",
    "Problem",
    "bad_reads",
    "bound_unparsed",
    "check",
    "check_payload",
    "check_run",
    "check_wire",
    "forbidden_kinds",
    "may_write",
    "role_table",
    "spec_of",
]


# --------------------------------------------------------------------------- whole-payload checks
def _walk(v: Any, depth: int, path: str) -> Problem | None:
    """Generic limits on every value: nesting, finite numbers, exact integers, text keys."""
    t = type(v)
    if t is str or t is bool or v is None:
        return None
    if t is int:
        return None if -MAX_INT <= v <= MAX_INT else Problem(path, "integer outside ±2^53")
    if t is float:
        return None if math.isfinite(v) else Problem(path, "not a finite number (NaN or Infinity)")
    if depth >= MAX_DEPTH:
        return Problem(path, f"nested deeper than {MAX_DEPTH} levels")
    if t is dict:
        for k, x in v.items():
            if type(k) is not str:
                return Problem(path, "object keys must be text")
            tx = type(x)
            if tx is str or tx is bool or x is None:
                continue
            p = _walk(x, depth + 1, f"{path}.{k}")
            if p:
                return p
        return None
    if t is list:
        for i, x in enumerate(v):
            p = _walk(x, depth + 1, f"{path}[{i}]")
            if p:
                return p
        return None
    return Problem(path, f"not a JSON value ({t.__name__})")


def _size(payload: dict[str, Any]) -> Problem | None:
    """The payload's size in UTF-8 bytes (compact JSON); refuses lone surrogates and huge integers."""
    try:
        n = len(orjson.dumps(payload))
    except orjson.JSONEncodeError as e:
        msg = str(e)
        if "surrogates" in msg or "UTF-8" in msg:
            return Problem("payload", "text with a lone surrogate (not valid UTF-8)")
        if "Integer" in msg or "integer" in msg:
            return Problem("payload", "integer outside ±2^53")
        if "recursion" in msg.lower():
            return Problem("payload", f"nested deeper than {MAX_DEPTH} levels")
        return Problem("payload", f"not JSON ({msg})")
    if n > MAX_PAYLOAD_BYTES:
        return Problem("payload", f"larger than {MAX_PAYLOAD_BYTES} bytes ({n} bytes)", too_large=True)
    return None


_READ_KEYS = frozenset(_SPECS["read"])
_READ_INTS = (("rx", MAX_INT), ("idx", MAX_INT), ("rssi", 100_000), ("ant", 100_000))
_READ_TEXTS = ("key", "port")


def _plain_read(p: dict[str, Any]) -> bool:
    """True for the usual read payload (known keys, ASCII text, plain integers): proven valid without
    the generic walk, the byte count or a call per field — a push or a pull of 200,000 reads pays about
    a microsecond each. Anything else (False) takes the exact path, which names the field at fault."""
    if not _READ_KEYS.issuperset(p):
        return False
    r, pt, c, t = p.get("reader"), p.get("point"), p.get("chip"), p.get("t")
    if type(r) is not str or type(pt) is not str or type(c) is not str or type(t) is not int:
        return False
    if not (0 < len(r) <= 50 and 0 < len(pt) <= 50 and 0 < len(c) <= 50 and -MAX_INT <= t <= MAX_INT):
        return False
    raw = p.get("raw", "")
    if type(raw) is not str or len(raw) > READ_RAW_BYTES:
        return False
    ids = r + pt + c
    if "\x00" in ids or not (ids + raw).isascii():
        return False
    role = p.get("role", "main")
    if role != "main" and role != "backup":
        return False
    for k, lim in _READ_INTS:
        v = p.get(k)
        if v is not None and (type(v) is not int or not -lim <= v <= lim):
            return False
    for k in ("dateless", "rewind", "gps"):
        if k in p and type(p[k]) is not bool:
            return False
    for k in _READ_TEXTS:
        v = p.get(k)
        if v is not None and (type(v) is not str or len(v) > 50 or not v.isascii() or "\x00" in v):
            return False
    return True


def check_payload(kind: str, payload: Any) -> Problem | None:
    """None when `payload` is a valid payload of `kind`, else the first problem found."""
    if type(payload) is not dict:
        return Problem("payload", f"expected an object, got {_tname(payload)}")
    if kind == "read" and _plain_read(payload):
        return None
    spec = _SPECS.get(kind)
    if spec is None:
        return Problem("kind", f"unknown kind {kind!r:.60}")
    p = _size(payload) or _walk(payload, 0, "payload") or _fields(spec, payload)
    if p:
        return p
    if kind == "correction":
        return _fields(_ACTIONS[payload["action"]], payload)
    if kind == "event_config":
        return _event_config(payload)
    if kind == "result_published":
        if payload["status"] == "finished" and payload.get("chip_ms") is None and payload.get("gun_ms") is None:
            return Problem("payload.chip_ms", "a finished result needs gun_ms or chip_ms")
    return None


def check(kind: str, payload: Any) -> None:
    """Raise `ContractError` when an own entry breaks the contract (a bug in the code that built it)."""
    p = check_payload(kind, payload)
    if p:
        raise ContractError(f"nothing recorded: this {kind} entry breaks the entry contract — {p}")


def check_wire(d: Any, station_id: str | None = None) -> Problem | None:
    """A whole wire entry `{station_id?, seq, uuid, kind, payload, recorded_at, operator}` (pull side)."""
    if type(d) is not dict:
        return Problem("entry", f"expected an object, got {_tname(d)}")
    # fast path: the usual envelope (ASCII ids of sane length), proven in one expression
    sid, seq, u, kind = d.get("station_id", station_id), d.get("seq"), d.get("uuid"), d.get("kind")
    rec, op = d.get("recorded_at"), d.get("operator") or ""
    if (type(sid) is str and type(u) is str and type(op) is str and type(seq) is int and type(rec) is int
            and type(kind) is str and kind in _SPECS and 0 < len(sid) <= 50 and 0 < len(u) <= MAX_UUID_BYTES
            and len(op) <= 50 and 0 < seq <= MAX_INT and 0 <= rec <= MAX_INT):
        ids = sid + u + op
        if ids.isascii() and NUL not in ids:
            return check_payload(kind, d.get("payload"))
    sid = d.get("station_id")
    if sid is None:
        sid = station_id
    why = ID(sid)
    if why:
        return Problem("station_id", why)
    seq = d.get("seq")
    if type(seq) is not int or not 0 < seq <= MAX_INT:
        return Problem("seq", "expected a positive integer")
    why = UUID(d.get("uuid"))
    if why:
        return Problem("uuid", why)
    kind = d.get("kind")
    if type(kind) is not str or kind not in _SPECS:
        return Problem("kind", f"unknown kind {kind!r:.60}")
    rec = d.get("recorded_at")
    if type(rec) is not int or not 0 <= rec <= MAX_INT:
        return Problem("recorded_at", "expected UTC milliseconds (an integer)")
    op = d.get("operator") or ""
    why = OPERATOR(op)
    if why:
        return Problem("operator", why)
    return check_payload(kind, d.get("payload"))


# --------------------------------------------------------------------------- reader input
def check_run(run: Any) -> Problem | None:
    """A run of reads (`station.log.reads.ReadRun`), column by column: the ingest hot path.

    The columns come from our parsers (text chips, integer times), so the checks are the cheap ones
    that catch what a misbehaving reader can still produce: sizes, NUL, out-of-range numbers."""
    for name in ("reader", "point"):
        why = ID(getattr(run, name))
        if why:
            return Problem(f"payload.{name}", why)
    if run.role not in ("main", "backup"):
        return Problem("payload.role", "expected one of 'main', 'backup'")
    chips, ts, raws = run.chip, run.t, run.raw
    if not chips:
        return None
    # Every check is one C-level pass over a column (no Python code per read). A value of the wrong
    # type makes `join`, `abs` or a comparison raise TypeError: then the exact path names the read.
    try:
        if "\x00" in "".join(chips) or "" in chips or max(map(len, chips)) > ID_BYTES // 4:
            return _first_bad(run, "chip")
        if min(ts) < -MAX_INT or max(ts) > MAX_INT or type(sum(ts)) is not int:  # a float makes the sum one
            return _first_bad(run, "t")
        "".join(raws)
        if max(map(len, raws)) > READ_RAW_BYTES // 4:
            return _first_bad(run, "raw")
        for name, lim in (("rssi", 100_000), ("ant", 100_000), ("idx", MAX_INT)):
            col = getattr(run, name)
            if col is not None and max(map(abs, filter(None, col)), default=0) > lim:
                return _first_bad(run, name)
        if run.key is not None:
            if "\x00" in "".join(filter(None, run.key)) or \
                    max(map(len, filter(None, run.key)), default=0) > ID_BYTES // 4:
                return _first_bad(run, "key")
    except TypeError:
        for name in ("chip", "t", "raw", "rssi", "ant", "idx", "key"):
            if getattr(run, name) is not None:
                p = _first_bad(run, name)
                if p:
                    return p
    return None





def _first_bad(run: Any, col: str) -> Problem | None:
    """The exact check of one column (the slow path, taken only when the fast one had a doubt)."""
    field_check = _SPECS["read"][col][1]
    for i, v in enumerate(getattr(run, col)):
        if v is None and col in ("rssi", "ant", "idx", "key"):
            continue
        why = field_check(v)
        if why:
            return Problem(f"payload.{col}", f"read {i + 1} of the run: {why}")
    return None


def bad_reads(run: Any) -> list[tuple[int, Problem]]:
    """The reads of a run that break the contract, with why (the slow path, after `check_run` failed)."""
    spec = _SPECS["read"]
    out = []
    for i, p in enumerate(run.payloads()):
        why = _fields(spec, p) or _size(p) or _walk(p, 0, "payload")
        if why:
            out.append((i, why))
    return out


def bound_unparsed(payload: dict[str, Any]) -> tuple[dict[str, Any], str | None]:
    """An `unparsed` payload whose raw text fits the log: `raw` cut to `UNPARSED_RAW_BYTES` with
    ``raw_bytes`` (full length) and ``raw_sha256`` (of the full UTF-8 bytes) added. Returns the payload
    and the full text when it was cut (the caller journals it locally; it is never synced), else None."""
    raw = payload.get("raw")
    if type(raw) is not str:
        return payload, None
    n = _utf8_len(raw)
    if 0 <= n <= UNPARSED_RAW_BYTES:
        return payload, None
    if n < 0 and len(raw) <= UNPARSED_RAW_BYTES // 4:  # a lone surrogate: spelled out, nothing lost
        return {**payload, "raw": raw.encode("utf-8", "backslashreplace").decode("utf-8")}, None
    import hashlib

    full = raw.encode("utf-8", "surrogatepass")
    cut = full[:UNPARSED_RAW_BYTES].decode("utf-8", "ignore")  # never half a character
    out = dict(payload)
    out["raw"] = cut
    out["raw_bytes"] = len(full)
    out["raw_sha256"] = hashlib.sha256(full).hexdigest()
    return out, raw
