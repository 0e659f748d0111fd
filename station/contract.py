"""The entry contract: one definition of every entry kind, checked wherever an entry crosses a trust line.

Why it exists: a station applies its peers' entries (pulled through the ledger) to its results and its
check-in desk. Before this module each consumer trusted the payload's shape, so one malformed entry from
a peer — ``{"kind": "gun", "payload": {}}``, a 4,000-digit integer, a chip that is a list — crashed every
station that pulled it. Now the same rules are checked in three places (DESIGN.md "Trust"):

- a station appending its own entry (`station.store`): a station never stores what the ledger would
  refuse. Failing here is a programming error (`ContractError`); reader input is bounded and diverted
  where it enters (`station.ingest` turns a read no read may hold into an `unparsed` line; the store
  cuts a long `unparsed` line with `bound_unparsed`), never refused;
- the ledger accepting a push (`ledger.streams`): 422 naming the seq and the field, nothing stored;
- a station pulling (`station.sync`): an entry that fails is stored as received but set aside
  (quarantined, never applied), so nothing is lost and nothing crashes.

Every kind is a table of fields: type, required or optional, range or size in UTF-8 bytes. Fields not
in the table are allowed (a newer station may add some) but pass the generic limits every payload
obeys: JSON only, nesting at most `MAX_DEPTH`, no NaN/Infinity, integers within ±2^53 (what every
JSON reader represents exactly), no lone surrogates, the whole payload at most `MAX_PAYLOAD_BYTES`.
Ids (registration ids, chips, readers, points, uuids…) never hold NUL (PostgreSQL text cannot).

Speed: reads are the hot path (100,000+ a second at ingest). A run of reads is checked column by
column (`check_run`), not read by read; a single entry costs one `orjson.dumps` (size, surrogates,
64-bit ints) plus a walk of its values.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson

from station.entries import KINDS
from station.errors import UserError

MAX_PAYLOAD_BYTES = 256 * 1024
MAX_DEPTH = 8
MAX_INT = 2**53
ID_BYTES = 200
TEXT_BYTES = 4096
#: an `unparsed` line keeps at most this much of its raw text in the log (the rest is journaled)
UNPARSED_RAW_BYTES = 4096
#: a read's raw line (a MYLAPS passing in its frame, an Ultra line): far below this in practice
READ_RAW_BYTES = 8192
MAX_CHIPS = 64
NUL = chr(0)
MAX_UUID_BYTES = 64


class ContractError(UserError, ValueError):
    """An own entry breaks the contract, so nothing was recorded. Reader input never gets here (it is
    bounded or diverted first); what does is typed input out of bounds (a 30-hour time adjustment, a
    5 KB reason) or a bug in the code that built the entry. A `UserError`: the CLI prints it plainly."""


@dataclass(frozen=True, slots=True)
class Problem:
    """Why an entry breaks the contract: the field at fault and a plain reason."""

    field: str
    reason: str
    too_large: bool = False

    def __str__(self) -> str:
        return f"{self.field}: {self.reason}"


# --------------------------------------------------------------------------- value checks
def _utf8_len(s: str) -> int:
    """Length in UTF-8 bytes; -1 for text with a lone surrogate (no UTF-8 form at all)."""
    if s.isascii():
        return len(s)
    try:
        return len(s.encode("utf-8"))
    except UnicodeEncodeError:
        return -1


def _text(max_bytes: int, *, nonempty: bool = False, ident: bool = False) -> Callable[[Any], str | None]:
    def check(v: Any) -> str | None:
        if type(v) is not str:
            return f"expected text, got {_tname(v)}"
        if nonempty and not v:
            return "must not be empty"
        if not v.isascii():
            n = _utf8_len(v)
            if n < 0:
                return "text with a lone surrogate (not valid UTF-8)"
            if n > max_bytes:
                return f"longer than {max_bytes} bytes (UTF-8)"
        elif len(v) > max_bytes:
            return f"longer than {max_bytes} bytes (UTF-8)"
        if ident and "\x00" in v:
            return "must not contain NUL"
        return None
    return check


def _int(lo: int = -MAX_INT, hi: int = MAX_INT) -> Callable[[Any], str | None]:
    def check(v: Any) -> str | None:
        if type(v) is not int:
            return f"expected an integer, got {_tname(v)}"
        if not lo <= v <= hi:
            return f"out of range ({lo} … {hi})"
        return None
    return check


def _enum(*values: Any) -> Callable[[Any], str | None]:
    allowed = frozenset(values)
    shown = ", ".join(repr(x) for x in values)

    def check(v: Any) -> str | None:
        if type(v) not in (str, type(None), bool) or v not in allowed:
            return f"expected one of {shown}"
        return None
    return check


def _bool(v: Any) -> str | None:
    return None if type(v) is bool else f"expected true or false, got {_tname(v)}"


def _nullable(inner: Callable[[Any], str | None]) -> Callable[[Any], str | None]:
    def check(v: Any) -> str | None:
        return None if v is None else inner(v)
    return check


def _id_list(v: Any) -> str | None:
    if type(v) is not list:
        return f"expected a list of ids, got {_tname(v)}"
    if len(v) > MAX_CHIPS:
        return f"more than {MAX_CHIPS} items"
    for x in v:
        p = ID(x)
        if p:
            return f"item {x!r:.40}: {p}"
    return None


def _date(v: Any) -> str | None:
    if v is None or v == "":
        return None
    if type(v) is not str or len(v) != 10:
        return "expected a date YYYY-MM-DD"
    try:
        dt.date.fromisoformat(v)
    except ValueError:
        return "expected a date YYYY-MM-DD"
    return None


def _object(v: Any) -> str | None:
    return None if type(v) is dict else f"expected an object, got {_tname(v)}"


def _object_list(v: Any) -> str | None:
    if type(v) is not list:
        return f"expected a list, got {_tname(v)}"
    return None


def _tname(v: Any) -> str:
    return {dict: "an object", list: "a list", str: "text", bool: "true/false", int: "an integer",
            float: "a number", type(None): "null"}.get(type(v), type(v).__name__)


ID = _text(ID_BYTES, nonempty=True, ident=True)  # registration ids, chips, readers, points, races…
REF = _text(ID_BYTES, ident=True)  # an id that may be empty (a bib not known, the default wave)
TEXT = _text(TEXT_BYTES)
MS = _int()  # UTC milliseconds or a signed duration: any exact JSON integer
UUID = _text(MAX_UUID_BYTES, nonempty=True, ident=True)
OPERATOR = _text(ID_BYTES, ident=True)

Spec = dict[str, tuple[bool, Callable[[Any], str | None]]]  # field → (required, check)


def _s(required: dict[str, Callable[[Any], str | None]],
       optional: dict[str, Callable[[Any], str | None]] | None = None) -> Spec:
    out: Spec = {k: (True, c) for k, c in required.items()}
    out.update({k: (False, c) for k, c in (optional or {}).items()})
    return out


_PARTICIPANT = _s(
    {"registration_id": ID},
    {"bib": _nullable(REF), "name": _nullable(TEXT), "gender": _nullable(_enum("M", "F", "X", "")), "birth_date": _date,
     "race": _nullable(REF), "wave": _nullable(REF), "chips": _nullable(_id_list),
     "runner_id": _nullable(REF), "club": _nullable(TEXT), "phone": _nullable(TEXT),
     "email": _nullable(TEXT), "category": _nullable(REF), "source": _nullable(REF),
     "public": _nullable(_bool), "vip": _nullable(_bool)},  # the CSV's optional public / vip columns
)
_CHECKIN = _s({"registration_id": ID},
              {"bib": _nullable(REF), "race": _nullable(REF), "wave": _nullable(REF),
               "verdict": _nullable(REF), "method": _nullable(REF), "flagged": _nullable(_bool),
               "desk": _nullable(REF), "reason": _nullable(TEXT), "claims": _nullable(_object),
               "jti": _nullable(REF), "kid": _nullable(REF), "code": _nullable(TEXT),
               "code_hash": _nullable(REF)})
_SPECS: dict[str, Spec] = {
    "event_config": _s({"event": _object, "races": _object_list, "timing_points": _object_list}),
    "reader_config": _s({"id": ID, "point": ID},
                        {"role": _enum("main", "backup"), "format": _nullable(REF), "port": _nullable(TEXT),
                         "listen": _nullable(TEXT), "baud": _nullable(_int(0, 10_000_000)),
                         "zone": _nullable(REF), "gps": _nullable(_bool), "chip_format": _enum("hex", None)}),
    "clock_offset": _s({"reader": ID, "offset_ms": MS}, {"from_ms": MS}),
    "participant": _PARTICIPANT,
    "checkin": _CHECKIN,
    "checkin_refused": _s({}, {"registration_id": _nullable(ID), "bib": _nullable(REF),
                               "verdict": _nullable(REF), "problem": _nullable(REF), "reason": _nullable(TEXT),
                               "method": _nullable(REF), "previous": _nullable(REF), "jti": _nullable(REF),
                               "kid": _nullable(REF), "code": _nullable(TEXT), "code_hash": _nullable(REF)}),
    "checkin_undo": _s({"target": UUID}, {"registration_id": _nullable(REF), "reason": _nullable(TEXT)}),
    "ticket_revoked": _s({}, {"registration_id": _nullable(ID), "jti": _nullable(ID),
                              "issued_before": _nullable(MS), "reason": _nullable(TEXT)}),
    "chip_assigned": _s({"registration_id": ID, "chip": ID}, {"bib": _nullable(REF)}),
    "read": _s({"reader": ID, "point": ID, "chip": ID, "t": MS},
               {"role": _enum("main", "backup"), "rx": MS, "raw": _text(READ_RAW_BYTES), "key": _nullable(REF),
                "rssi": _nullable(_int(-100_000, 100_000)), "ant": _nullable(_int(-100_000, 100_000)),
                "idx": _nullable(MS), "dateless": _bool, "rewind": _bool, "gps": _bool,
                "port": _nullable(TEXT)}),
    "unparsed": _s({"reader": ID, "raw": _text(UNPARSED_RAW_BYTES)},
                   {"point": _nullable(REF), "rx": MS, "error": _nullable(TEXT), "port": _nullable(TEXT),
                    "raw_bytes": _int(0, MAX_INT), "raw_sha256": _text(64, ident=True)}),
    "manual_time": _s({"point": ID, "t": MS}, {"bib": _nullable(REF), "registration_id": _nullable(REF)}),
    "gun": _s({"wave": REF, "t": MS}, {"race": _nullable(REF), "reader": _nullable(REF),
                                       "channel": _nullable(REF), "raw": _nullable(_text(READ_RAW_BYTES))}),
    "race_closed": _s({"race": ID}),
    "correction": _s({"action": _enum("dns", "dnf", "dq", "reinstate", "ignore", "unignore", "adjust",
                                      "chip_swap", "force")},
                     {"registration_id": _nullable(REF), "bib": _nullable(REF), "reason": _nullable(TEXT),
                      "target": _nullable(UUID), "undo": _nullable(_bool)}),
    "result_published": _s({"registration_id": ID, "race": ID,
                            "status": _enum("finished", "running", "DNF", "DNS", "DQ")},
                           {"bib": _nullable(REF), "gun_ms": _nullable(_int(0, MAX_INT)),
                            "chip_ms": _nullable(_int(0, MAX_INT)), "runner_id": _nullable(REF)}),
}
#: what each correction action needs besides ``action``
_ACTIONS: dict[str, Spec] = {
    "dns": _s({"registration_id": ID}), "dnf": _s({"registration_id": ID}),
    "dq": _s({"registration_id": ID}), "reinstate": _s({"registration_id": ID}),
    "ignore": _s({"target": UUID}), "unignore": _s({"target": UUID}), "force": _s({"target": UUID}),
    "adjust": _s({"registration_id": ID, "delta_ms": _int(-86_400_000, 86_400_000)}),
    "chip_swap": _s({"registration_id": ID, "chip": ID, "from_ms": MS}),
}


assert set(_SPECS) == set(KINDS), "every kind of station.entries has a definition here"


def spec_of(kind: str, action: str | None = None) -> Spec:
    """The field table of a kind, or of one correction action (for documentation and tests)."""
    return _ACTIONS[action] if action is not None else _SPECS[kind]


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


def _fields(spec: Spec, p: dict[str, Any], prefix: str = "payload.") -> Problem | None:
    for k, (required, check) in spec.items():
        if k not in p:
            if required:
                return Problem(prefix + k, "missing")
            continue
        why = check(p[k])
        if why:
            return Problem(prefix + k, why)
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


def _num(lo: float, hi: float) -> Callable[[Any], str | None]:
    def check(v: Any) -> str | None:
        if type(v) not in (int, float):
            return f"expected a number, got {_tname(v)}"
        if not lo <= v <= hi:
            return f"out of range ({lo:g} … {hi:g})"
        return None
    return check


def _hms(v: Any) -> str | None:
    from station.config import parse_hms

    try:
        parse_hms(v)
    except (ValueError, AttributeError, TypeError):
        return "expected a time of day H:MM:SS[.fff]"
    return None


def _list_of(check_item: Callable[[Any], str | None], max_items: int = 1000) -> Callable[[Any], str | None]:
    def check(v: Any) -> str | None:
        if type(v) is not list:
            return f"expected a list, got {_tname(v)}"
        if len(v) > max_items:
            return f"more than {max_items} items"
        for i, x in enumerate(v):
            why = check_item(x)
            if why:
                return f"item {i + 1}: {why}"
        return None
    return check


def _obj(spec: Spec) -> Callable[[Any], str | None]:
    def check(v: Any) -> str | None:
        if type(v) is not dict:
            return f"expected an object, got {_tname(v)}"
        p = _fields(spec, v, "")
        return f"{p.field}: {p.reason}" if p else None
    return check


def _zone(v: Any) -> str | None:
    from zoneinfo import ZoneInfo

    if type(v) is not str or not v or "\x00" in v or len(v) > 100:
        return "expected an IANA time zone"
    try:
        ZoneInfo(v)
    except Exception:  # ZoneInfoNotFoundError, ValueError on odd paths
        return "expected an IANA time zone"
    return None


_DAY_MS = 86_400_000
_WAVE = _s({"id": REF, "start": _hms})
_RACE = _s({"id": ID, "distance_m": _num(1e-3, 1e9), "waves": _list_of(_obj(_WAVE), 100)},
           {"name": _nullable(TEXT), "laps": _int(1, 10_000), "ranking": _enum("chip", "gun"),
            "min_time_ms": _nullable(_int(0, 30 * _DAY_MS)), "start_window_s": _num(0, 30 * 86_400),
            "cutoff_ms": _nullable(_int(0, 30 * _DAY_MS))})
_POINT = _s({"id": ID, "kind": _enum("start", "split", "finish", "start_finish")},
            {"distance_m": _num(0, 1e9), "races": _nullable(_list_of(ID, 1000)), "window_s": _num(0, 86_400),
             "pick": _enum("first", "peak"), "backup_window_s": _num(0, 86_400)})
_EVENT = _s({"id": ID, "date": _date, "timezone": _zone},
            {"name": _nullable(TEXT), "points_per_km": _nullable(_num(0, 1e9))})
def _map_of(check_value: Callable[[Any], str | None]) -> Callable[[Any], str | None]:
    def check(v: Any) -> str | None:
        if type(v) is not dict:
            return f"expected an object, got {_tname(v)}"
        for k, x in v.items():
            why = ID(k) or check_value(x)
            if why:
                return f"{k!r:.40}: {why}"
        return None
    return check


_CHECKIN_CFG = _s({}, {"public_keys": _nullable(_map_of(TEXT)), "revoked_keys": _nullable(_list_of(REF)),
                       "walkup_bibs": _nullable(_map_of(TEXT)), "revoked_tickets": _nullable(_list_of(REF))})
_CONFIG = _s({"event": _obj(_EVENT), "races": _list_of(_obj(_RACE), 1000),
              "timing_points": _list_of(_obj(_POINT), 1000)},
             {"categories": _nullable(_obj(_s({}, {"age_groups": _nullable(_list_of(_int(0, 200), 50)),
                                                   "age_basis": _enum("event_date", "birth_year")}))),
              "checkin": _nullable(_obj(_CHECKIN_CFG)), "readers": _nullable(_list_of(_object, 1000))})


def _event_config(payload: dict[str, Any]) -> Problem | None:
    """Every field the configuration is built from, typed and bounded; then the build itself
    (`EventConfig.from_payload`), which every consumer of the entry runs."""
    from station.config import EventConfig

    p = _fields(_CONFIG, payload)
    if p:
        return p
    if not payload["event"].get("date"):
        return Problem("payload.event.date", "missing")
    try:
        EventConfig.from_payload(payload)
    except Exception as e:  # any failure of a peer's configuration is a refusal, never a crash
        return Problem("payload", f"not a usable event configuration ({type(e).__name__}: {e})")
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
    """A run of reads (`station.reads.ReadRun`), column by column: the ingest hot path.

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


# --------------------------------------------------------------------------- roles (ledger tokens)
ROLES = ("checkin", "timing", "results", "organizer")
_DESK_KINDS = frozenset({"participant", "checkin", "checkin_refused", "checkin_undo", "ticket_revoked",
                         "chip_assigned"})
_TIMING_KINDS = _DESK_KINDS | {"reader_config", "clock_offset", "read", "unparsed", "manual_time", "gun",
                               "race_closed", "correction"}
#: kind → "yes", or "registered" (only a copy of what the organizer registered on the ledger)
_ROLE_TABLE: dict[str, dict[str, str]] = {
    "checkin": {**{k: "yes" for k in _DESK_KINDS}, "event_config": "registered", "reader_config": "registered"},
    "timing": {**{k: "yes" for k in _TIMING_KINDS}, "event_config": "registered"},
    "results": {**{k: "yes" for k in _TIMING_KINDS}, "event_config": "registered", "result_published": "yes"},
    "organizer": {k: "yes" for k in KINDS},
}


def forbidden_kinds(role: str) -> frozenset[str]:
    """The kinds a role may never write (the ledger's per-entry test: one set lookup)."""
    return frozenset(k for k in KINDS if may_write(role, k) == "no")


def may_write(role: str, kind: str) -> str:
    """What a ledger token of `role` may do with entries of `kind`: "yes", "no", or "registered" (only
    a copy of the event configuration the organizer registered: every station loads the event file, so
    its own `event_config` must never stall its stream, yet only an organizer may change it)."""
    return _ROLE_TABLE.get(role, {}).get(kind, "no")


def role_table() -> list[tuple[str, dict[str, str]]]:
    """(kind, role → yes/no/registered) for every kind: the README's table."""
    return [(k, {r: may_write(r, k) for r in ROLES}) for k in KINDS]
