"""Event-log entries → the plain data the renderers take (the CLI's and the app's one entry point).

Why here and read-only: reports must show exactly what the station's own modules compute — results
from `station.results` (the engine), participants "latest entry wins" from `station.people.participants`,
check-in state (undo included) from `station.checkin.state` — so this module only calls them and
joins their output; it never writes to the log.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from station.errors import UserError
from station.log.entries import Entry
from station.log.entry_log import EntryLog
from station.log.latest import latest_by
from station.reports.layout import local_time

SYNC_ACKED_KEY = "sync.acked_seq"  # station.sync.engine.KEY_ACKED
SYNC_TARGET_KEY = "sync.target"  # station.sync.engine.KEY_TARGET: "<ledger url>|<event id>"


@dataclass
class Snapshot:
    """Everything a report needs, read once from the store."""

    station_id: str
    entries: list[Entry]
    event: dict[str, Any]
    participants: dict[str, dict[str, Any]]
    acked_seq: int
    ledger_url: str | None

    def results(self, race: str | None = None, now_ms: int | None = None, *,
                public: bool = False) -> tuple[list[dict[str, Any]], list[str]]:
        """Results rows (contract order) and split column names, from the results engine; `now_ms` pins the
        moment the cutoff (DNF) is judged at (`--as-of`), default now.

        `public`: rows meant for publication (lists, exports) — runners who opted out show as
        `Runner <bib>` without club (`station.people.privacy.hide_opted_out`)."""
        from station.results.engine import Engine

        eng = Engine.from_entries(self.entries, None if now_ms is None else (lambda: now_ms))
        if eng.config is None:
            raise UserError("no event loaded: run `worun-station event load EVENT.toml` first")
        rows = eng.rows(race)
        if public:
            from station.people.privacy import hide_opted_out

            rows = hide_opted_out(rows, self.participants)
        return rows, eng.split_columns()


def snapshot(store: EntryLog) -> Snapshot:
    from station.people.participants import latest_participants

    entries = [e for _, e in store.iter_rows()]
    configs = [e for e in entries if e.kind == "event_config"]
    if not configs:
        raise UserError("no event loaded: run `worun-station event load EVENT.toml` first")
    event = max(configs, key=lambda e: e.order).payload
    ledger = store.get_state("ledger_url")
    if not ledger:
        target = store.get_state(SYNC_TARGET_KEY) or ""
        ledger = target.rsplit("|", 1)[0] if "|" in target else None
    return Snapshot(station_id=store.station_id, entries=entries, event=event,
                    participants=latest_participants(entries),
                    acked_seq=int(store.get_state(SYNC_ACKED_KEY, "0") or 0), ledger_url=ledger or None)


def check_race(event: Mapping[str, Any], race: str | None) -> None:
    ids = [str(r.get("id")) for r in event.get("races") or []]
    if race is not None and race not in ids:
        raise UserError(f"--race: unknown race {race!r}; expected one of {', '.join(ids)}")


def people_with_checkins(store: EntryLog, snap: Snapshot) -> list[dict[str, Any]]:
    """Participant payloads with `checked_in`, `checkin_at` (event time) and `checkin_station`."""
    from station.checkin.state import CheckinState
    from station.reports.layout import event_zone

    state = CheckinState(store, subscribe=False)
    try:
        zone = event_zone(snap.event)
        out = []
        for reg, p in snap.participants.items():
            rec = state.active_checkin(reg)
            q = dict(p)
            q["checked_in"] = rec is not None
            q["checkin_at"] = local_time(rec.recorded_at, zone).strftime("%Y-%m-%d %H:%M:%S") if rec else ""
            q["checkin_station"] = f"{rec.station_id}/{rec.desk}" if rec and rec.desk else (rec.station_id if rec else "")
            out.append(q)
    finally:
        state.close()
    return sorted(out, key=lambda p: _bib_key(p.get("bib")))


def _bib_key(b: Any) -> tuple[int, int, str]:
    s = str(b or "")
    return (0, int(s), s) if s.isdigit() else (1, 0, s)


def synced_registrations(snap: Snapshot, rows: Iterable[Mapping[str, Any]]) -> set[str]:
    """Registrations whose *current* finish the ledger already holds.

    A result counts as synced when the latest `result_published` entry for the registration matches
    the row (finished, same chip and gun ms) and is either a peer's entry (it came back through the
    ledger) or one of ours at or below the sync engine's acknowledged seq.
    """
    latest = latest_by((e for e in snap.entries if e.kind == "result_published"),
                       lambda e: str(e.payload.get("registration_id")))
    out = set()
    for r in rows:
        reg = str(r.get("registration_id") or "")
        pub = latest.get(reg)
        if pub is None or r.get("status") != "finished":
            continue
        p = pub.payload
        if p.get("status") != "finished" or str(p.get("chip_ms")) != str(r.get("chip_ms")):
            continue
        if pub.station_id != snap.station_id or pub.seq <= snap.acked_seq:
            out.add(reg)
    return out


def read_ticket_manifest(path: Path) -> dict[str, str]:
    """registration id → token, from the `tickets.csv` that `worun-station tickets issue` writes."""
    try:
        with path.open(encoding="utf-8", newline="") as f:
            reader = csv.DictReader(f)
            if not reader.fieldnames or not {"registration_id", "token"} <= set(reader.fieldnames):
                raise UserError(f"{path}: expected a tickets.csv with registration_id and token columns "
                                "(written by `worun-station tickets issue`)")
            out = {}
            for row in reader:
                if row.get("registration_id") and row.get("token"):
                    out[row["registration_id"]] = row["token"]
            return out
    except FileNotFoundError:
        raise UserError(f"{path}: no such file; sign tickets first with `worun-station tickets issue "
                        "--key KEY --out FOLDER` and pass --tokens FOLDER/tickets.csv") from None
    except (OSError, UnicodeDecodeError) as e:
        raise UserError(f"{path}: cannot read: {e}") from None
