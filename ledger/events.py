"""Registering an event and its points rule on the ledger.

The ledger never trusts a station's copy of the rule: points come from what the organizer registered
here with `ledger event add EVENT.toml` (the same TOML file the stations load). Registering again
replaces the rule and the races; credits already written are not recomputed.
"""

from __future__ import annotations

import json
import time
import tomllib
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from ledger import db as schema
from ledger.db import Database
from station.errors import UserError


@dataclass(frozen=True)
class Race:
    id: str
    name: str
    distance_m: int
    ranking: str


@dataclass(frozen=True)
class EventRule:
    id: str
    name: str
    points_per_km: Decimal
    races: dict[str, Race]


def parse_event_file(path: Path) -> tuple[EventRule, dict[str, Any]]:
    """Read the event TOML; every problem names the file and the key."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as e:
        raise UserError(f"{path}: no such file") from e
    except OSError as e:
        raise UserError(f"{path}: cannot read ({e.strerror})") from e
    except UnicodeDecodeError as e:
        raise UserError(f"{path}: not UTF-8 text") from e
    except tomllib.TOMLDecodeError as e:
        raise UserError(f"{path}: not valid TOML ({e})") from e
    rule = parse_event(data, str(path))
    # The station's own validation too: the ledger registers only event files a station can load.
    from station.config import load_event_file

    config = load_event_file(path)
    return rule, config


def parse_event(data: dict[str, Any], where: str = "event") -> EventRule:
    ev = data.get("event")
    if not isinstance(ev, dict):
        raise UserError(f"{where}: missing [event] table")
    eid = ev.get("id")
    if not isinstance(eid, str) or not eid.strip() or len(eid) > 200:
        raise UserError(f"{where}: event.id must be a non-empty text (at most 200 characters)")
    ppk_raw = ev.get("points_per_km")
    if ppk_raw is None:
        raise UserError(f"{where}: event.points_per_km is missing (the ledger's points rule)")
    if isinstance(ppk_raw, bool) or not isinstance(ppk_raw, int | float | str):
        raise UserError(f"{where}: event.points_per_km must be a number")
    try:
        ppk = Decimal(str(ppk_raw))
    except InvalidOperation as e:
        raise UserError(f"{where}: event.points_per_km must be a number, not {ppk_raw!r}") from e
    if not ppk.is_finite() or ppk < 0:
        raise UserError(f"{where}: event.points_per_km must be zero or more")
    races: dict[str, Race] = {}
    raw_races = data.get("races")
    if not isinstance(raw_races, list) or not raw_races:
        raise UserError(f"{where}: at least one [[races]] is needed")
    for i, r in enumerate(raw_races, 1):
        if not isinstance(r, dict):
            raise UserError(f"{where}: races[{i}] must be a table")
        rid = r.get("id")
        if not isinstance(rid, str) or not rid.strip():
            raise UserError(f"{where}: races[{i}].id must be a non-empty text")
        dist = r.get("distance_m")
        if isinstance(dist, bool) or not isinstance(dist, int | float) or dist <= 0:
            raise UserError(f"{where}: races[{i}] ({rid}): distance_m must be a positive number")
        ranking = r.get("ranking", "chip")
        if ranking not in ("chip", "gun"):
            raise UserError(f"{where}: races[{i}] ({rid}): ranking must be \"chip\" or \"gun\"")
        if rid in races:
            raise UserError(f"{where}: race id {rid!r} appears twice")
        races[rid] = Race(rid, str(r.get("name") or rid), int(dist), ranking)
    return EventRule(eid, str(ev.get("name") or eid), ppk, races)


def config_digest(config: Any) -> str:
    """SHA-256 of an event configuration in canonical JSON: a station's `event_config` payload and the
    file the organizer registered give the same digest when they hold the same configuration."""
    import hashlib

    text = json.dumps(json.loads(json.dumps(config, default=str)), sort_keys=True, separators=(",", ":"),
                      ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def registered_digests(conn: sa.Connection, event_id: str) -> set[str]:
    """Digests of every configuration registered for the event (the current one included)."""
    out = {r[0] for r in conn.execute(sa.select(schema.event_configs.c.digest)
                                      .where(schema.event_configs.c.event_id == event_id))}
    cur = conn.execute(sa.select(schema.events.c.config).where(schema.events.c.id == event_id)).scalar()
    if cur:
        out.add(config_digest(json.loads(cur)))
    return out


def register(db: Database, rule: EventRule, config: dict[str, Any]) -> bool:
    """Create or replace the event's rule; True when it was new."""
    now = time.time_ns() // 1_000_000
    with db.write.begin() as conn:
        exists = conn.execute(
            sa.select(schema.events.c.id).where(schema.events.c.id == rule.id)
        ).scalar() is not None
        values = {"name": rule.name, "points_per_km": str(rule.points_per_km),
                  "config": json.dumps(config, ensure_ascii=False, default=str), "registered_at": now}
        if exists:
            conn.execute(schema.events.update().where(schema.events.c.id == rule.id).values(**values))
            conn.execute(schema.races.delete().where(schema.races.c.event_id == rule.id))
        else:
            conn.execute(schema.events.insert().values(id=rule.id, **values))
        digest = config_digest(config)
        if conn.execute(sa.select(schema.event_configs.c.digest).where(
                schema.event_configs.c.event_id == rule.id, schema.event_configs.c.digest == digest)).first() is None:
            conn.execute(schema.event_configs.insert().values(event_id=rule.id, digest=digest, registered_at=now))
        conn.execute(
            schema.races.insert(),
            [{"event_id": rule.id, "race_id": r.id, "name": r.name, "distance_m": r.distance_m,
              "ranking": r.ranking} for r in rule.races.values()],
        )
    return not exists


def load_rule(conn: sa.Connection, event_id: str) -> EventRule | None:
    ev = conn.execute(sa.select(schema.events).where(schema.events.c.id == event_id)).first()
    if ev is None:
        return None
    rows = conn.execute(sa.select(schema.races).where(schema.races.c.event_id == event_id)).all()
    races = {r.race_id: Race(r.race_id, r.name, int(r.distance_m), r.ranking) for r in rows}
    return EventRule(ev.id, ev.name, Decimal(ev.points_per_km), races)
