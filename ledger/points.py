"""Points: one live credit per (event, registration) while its latest published status is `finished`.

The rule is the ledger's registered one: `floor(points_per_km × distance_m / 1000)` for the runner's
race. The latest publication is chosen by entry order `(recorded_at, station_id, seq)` — the same
"latest" every station uses — so a publication that arrives late but was recorded earlier changes
nothing. A change that ends the finish (DQ, DNF, …) writes a reversal line; a reinstatement a new
credit. A changed account (runner id added) or race moves the credit: reversal, then credit. All of this
runs inside the transaction that stores the entry, so a retried batch (already stored) credits nothing.
"""

from __future__ import annotations

import json
import math
from collections import defaultdict
from decimal import ROUND_FLOOR, Decimal
from typing import Any

import sqlalchemy as sa

from ledger import db as schema
from ledger.db import Database
from ledger.events import EventRule


def points_for(rule: EventRule, race: str) -> int | None:
    r = rule.races.get(race)
    if r is None:
        return None
    return int((rule.points_per_km * Decimal(r.distance_m) / Decimal(1000)).to_integral_value(ROUND_FLOOR))


def fmt_time(ms: int | None) -> str:
    """`H:MM:SS`, rounded up to the next whole second (rule 10)."""
    if ms is None:
        return "-"
    s = math.ceil(ms / 1000)
    return f"{s // 3600}:{s // 60 % 60:02d}:{s % 60:02d}"


def _credit_reason(rule: EventRule, race: str, p: dict[str, Any]) -> str:
    r = rule.races[race]
    ranking = r.ranking
    t = p.get("chip_ms") if ranking == "chip" else p.get("gun_ms")
    return f"{rule.name}: {r.name} ({race}) finished in {fmt_time(t)} ({ranking} time)"


def apply_results(db: Database, conn: sa.Connection, rule: EventRule, station_id: str,
                  published: list[tuple[int, int, dict[str, Any]]], now: int) -> None:
    """Apply newly stored `result_published` entries `(seq, recorded_at, payload)` of one station.

    Registrations are locked in sorted order so that two processes applying overlapping batches from
    different stations cannot deadlock.
    """
    by_reg: dict[str, list[tuple[int, int, dict[str, Any]]]] = defaultdict(list)
    for item in published:
        by_reg[str(item[2]["registration_id"])].append(item)
    res = schema.results
    for reg in sorted(by_reg):
        conn.execute(
            schema.upsert(db, res).values(event_id=rule.id, registration_id=reg).on_conflict_do_nothing()
        )
        row = conn.execute(
            sa.select(res).where(res.c.event_id == rule.id, res.c.registration_id == reg).with_for_update()
        ).one()
        cur_order = (row.o_recorded_at, row.o_station, row.o_seq) if row.o_seq is not None else None
        credit_points, credit_account = row.credit_points, row.credit_account
        latest: tuple[tuple[int, str, int], dict[str, Any]] | None = None
        for seq, recorded_at, p in by_reg[reg]:
            order = (recorded_at, station_id, seq)
            if (cur_order is None or order > cur_order) and (latest is None or order > latest[0]):
                latest = (order, p)
        if latest is None:
            continue  # only older publications: kept in the log, nothing changes
        order, p = latest
        status = str(p.get("status") or "")
        race = str(p.get("race") or "")
        runner = p.get("runner_id") or None
        account = str(runner) if runner else reg
        want = points_for(rule, race) if status == "finished" else None
        lines: list[dict[str, Any]] = []
        base = {"event_id": rule.id, "registration_id": reg, "at": now, "station_id": station_id,
                "seq": order[2]}
        if credit_points is not None and (want is None or account != credit_account or want != credit_points):
            if status != "finished":
                why = f"status now {status or 'unknown'}"
            elif account != credit_account:
                why = f"credit moved to account {account}"
            else:
                why = f"race now {race}"
            lines.append({**base, "account": credit_account, "kind": "reversal", "points": -credit_points,
                          "reason": f"{rule.name}: reversal of {row.race} finish ({why})"})
            credit_points, credit_account = None, None
        if want is not None and credit_points is None:
            lines.append({**base, "account": account, "kind": "credit", "points": want,
                          "reason": _credit_reason(rule, race, p)})
            credit_points, credit_account = want, account
        if lines:
            conn.execute(schema.point_lines.insert(), lines)
        conn.execute(
            res.update()
            .where(res.c.event_id == rule.id, res.c.registration_id == reg)
            .values(bib=str(p.get("bib") or ""), race=race, status=status, gun_ms=p.get("gun_ms"),
                    chip_ms=p.get("chip_ms"), runner_id=runner,
                    payload=json.dumps(p, ensure_ascii=False, sort_keys=True, separators=(",", ":")),
                    o_recorded_at=order[0], o_station=order[1], o_seq=order[2],
                    credit_points=credit_points, credit_account=credit_account)
        )


def balance(db: Database, account: str) -> dict[str, Any]:
    pl = schema.point_lines
    with db.read.connect() as conn:
        rows = conn.execute(
            sa.select(pl.c.event_id, pl.c.kind, pl.c.points, pl.c.reason, pl.c.at)
            .where(pl.c.account == account).order_by(pl.c.id)
        ).all()
    lines = [{"event": r.event_id, "kind": r.kind, "points": int(r.points), "reason": r.reason, "at": r.at}
             for r in rows]
    return {"runner": account, "balance": sum(x["points"] for x in lines), "lines": lines}


def finished_results(db: Database, event_id: str) -> list[dict[str, Any]]:
    res = schema.results
    with db.read.connect() as conn:
        rows = conn.execute(
            sa.select(res.c.payload).where(res.c.event_id == event_id, res.c.status == "finished")
            .order_by(res.c.race, res.c.registration_id)
        ).all()
    return [json.loads(r.payload) for r in rows]
