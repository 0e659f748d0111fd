"""Which entry kinds a ledger token of each role may write (`may_write`), for the ledger and the README."""

from __future__ import annotations

from station.log.entries import KINDS

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
