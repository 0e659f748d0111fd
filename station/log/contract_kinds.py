"""The entry contract's field table of every kind (and of every correction action, and of the event
configuration's parts): what `station.log.contract` checks entries against."""

from __future__ import annotations

from typing import Any

from station.log.contract_fields import (
    ID,
    MAX_INT,
    MS,
    READ_RAW_BYTES,
    REF,
    TEXT,
    UNPARSED_RAW_BYTES,
    UUID,
    Problem,
    Spec,
    _bool,
    _date,
    _enum,
    _fields,
    _hms,
    _id_list,
    _int,
    _list_of,
    _map_of,
    _nullable,
    _num,
    _obj,
    _object,
    _object_list,
    _s,
    _text,
    _zone,
)
from station.log.entries import KINDS

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


assert set(_SPECS) == set(KINDS), "every kind of station.log.entries has a definition here"


def spec_of(kind: str, action: str | None = None) -> Spec:
    """The field table of a kind, or of one correction action (for documentation and tests)."""
    return _ACTIONS[action] if action is not None else _SPECS[kind]


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
    from station.event.config import EventConfig

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
