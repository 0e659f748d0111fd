"""Event-log entries: the one record type every part of the station speaks.

Every fact a station learns is an append-only `Entry` `(station_id, seq, uuid, kind, payload,
recorded_at, operator)`. Nothing is updated in place or deleted; a correction is a new entry naming what
it targets. Where a rule says "latest", entries are ordered by `Entry.order` =
`(recorded_at, station_id, seq)` so every station holding the same entries agrees.

All instants are UTC milliseconds since the Unix epoch (int). Payloads are plain JSON objects. The
payload of each kind (keys marked ? are optional; the exact types, ranges and sizes — checked on append,
on push and on pull — are defined once in `station.log.contract`):

``event_config``  the whole normalized event file (see `station.event.config.normalize`): ``{"event": {...},
    "races": [...], "timing_points": [...], "categories": {...}, "checkin": {...}, "readers": [...]}``.
    The latest one is the configuration.
``reader_config`` ``{"id", "point", "role": "main"|"backup", "format", "port"?, "listen"?, "baud"?,
    "zone"?, "gps": bool, "chip_format": "hex"|None}``; latest per ``id`` wins.
``clock_offset``  ``{"reader", "offset_ms", "from_ms"}``: station time = reader time + offset_ms for
    reads of that reader with reader time >= from_ms (the entry with the greatest ``from_ms`` not after
    the read wins; equal ``from_ms`` → latest). Never applied to a GPS-synced reader.
``participant``   ``{"registration_id", "bib", "name", "gender", "birth_date", "race", "wave", "chips":
    [..], "runner_id"?, "club"?, "phone"?, "email"?}``; latest per ``registration_id`` wins.
``read``          one raw tag read: ``{"reader", "point", "role", "chip", "t", "rssi"?, "ant"?, "rx",
    "raw", "key"?, "dateless"?, "gps"?}``. ``t`` is the reader's time converted to UTC ms through the
    reader's zone (no clock offset applied: rule 2 applies offsets when computing results); ``rx`` the
    station's receive time; ``raw`` the line it came from; ``key`` the protocol's resend key (Ultra
    reader/box/log id …); ``idx`` the reader's own running index where the protocol has one (gap
    recovery); ``dateless`` true when the reader sent no date (rule 2 places it).
``unparsed``      a line a reader sent that could not be parsed: ``{"reader", "point", "rx", "raw",
    "error", "raw_bytes"?, "raw_sha256"?}``. Kept and counted, never fatal. A line longer than 4 KiB keeps
    its first 4 KiB in ``raw`` with its full length and the SHA-256 of its full bytes; the full bytes stay
    in the station's local ``raw_lines`` table (never synced).
``manual_time``   ``{"bib"|"registration_id", "point", "t"}``: a hand-timed crossing (fills gaps only).
``gun``           ``{"race"?, "wave", "t"}``: the gun of a wave (no race → that wave id in every race).
``race_closed``   ``{"race"}``: runners without a finish become DNF.
``correction``    ``{"action", ...}`` with action one of
    ``dns``/``dnf``/``dq``/``reinstate`` ``{"registration_id", "reason"?}``;
    ``ignore`` ``{"target": uuid}`` — the crossing containing that read/manual entry is ignored;
    ``unignore`` ``{"target": uuid}`` — undo an ignore;
    ``adjust`` ``{"registration_id", "delta_ms"}`` — added to the finish time (penalty or fix);
    ``chip_swap`` ``{"registration_id", "chip", "from_ms"}`` — from ``from_ms`` that chip belongs to
    the runner (taken away from whoever held it);
    ``force`` ``{"target": uuid}`` — a manual_time entry counts even where main readers have a crossing
    (main crossings within the backup window of it are then dropped).
``checkin``, ``checkin_refused``, ``checkin_undo``, ``ticket_revoked``, ``chip_assigned``: see
    `station.checkin.state` (``chip_assigned`` ``{"registration_id", "chip"}`` gives that runner the chip;
    the latest assignment wins).
``result_published`` ``{"registration_id", "bib", "race", "status", "gun_ms", "chip_ms", ...}``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import orjson

KINDS = (
    "event_config",
    "reader_config",
    "clock_offset",
    "participant",
    "checkin",
    "checkin_refused",
    "checkin_undo",
    "ticket_revoked",
    "chip_assigned",
    "read",
    "unparsed",
    "manual_time",
    "gun",
    "race_closed",
    "correction",
    "result_published",
)


@dataclass(slots=True, unsafe_hash=True)
class Entry:
    """One log entry. Treat as immutable (not frozen only because frozen dataclasses are ~3x slower
    to build, and a cold start builds hundreds of thousands of them)."""

    station_id: str
    seq: int
    uuid: str
    kind: str
    payload: dict[str, Any] = field(hash=False, compare=False)
    recorded_at: int
    operator: str = ""

    @property
    def order(self) -> tuple[int, str, int]:
        """Total order used wherever a rule says "latest"."""
        return (self.recorded_at, self.station_id, self.seq)

    @classmethod
    def from_wire(cls, d: dict[str, Any], station_id: str | None = None) -> Entry:
        return cls(
            station_id=station_id or d["station_id"],
            seq=int(d["seq"]),
            uuid=str(d["uuid"]),
            kind=str(d["kind"]),
            payload=d["payload"] if isinstance(d["payload"], dict) else json.loads(d["payload"]),
            recorded_at=int(d["recorded_at"]),
            operator=str(d.get("operator") or ""),
        )


def dumps(payload: dict[str, Any]) -> str:
    """Compact, deterministic JSON for payloads (UTF-8 text kept as is)."""
    try:
        return orjson.dumps(payload, option=orjson.OPT_SORT_KEYS).decode("utf-8")
    except TypeError:  # e.g. an int beyond 64 bits: fall back to the standard library
        return json.dumps(payload, ensure_ascii=False, separators=(",", ":"), sort_keys=True)


def dumps_many(payloads: list[dict[str, Any]]) -> str:
    """A JSON array of payloads, each element exactly as `dumps` writes it (packed read rows)."""
    try:
        return orjson.dumps(payloads, option=orjson.OPT_SORT_KEYS).decode("utf-8")
    except TypeError:
        return "[" + ",".join(dumps(p) for p in payloads) + "]"


def loads(text: str | bytes) -> Any:
    """Parse a stored payload (orjson: a cold start parses every entry, 3x faster than json)."""
    return orjson.loads(text)
