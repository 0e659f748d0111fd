"""Points: one live credit per (event, registration) while its latest published status is `finished`
and the event's participant list on the ledger holds that registration.

The rule is the ledger's registered one: `floor(points_per_km × distance_m / 1000)` for the runner's
race. The latest publication is chosen by entry order `(recorded_at, station_id, seq)` — the same
"latest" every station uses — so a publication that arrives late but was recorded earlier changes
nothing. A change that ends the finish (DQ, DNF, …) writes a reversal line; a reinstatement a new
credit. A changed account (runner id added) or race moves the credit: reversal, then credit. All of this
runs inside the transaction that stores the entry, so a retried batch (already stored) credits nothing.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa

from ledger import db as schema
from ledger.db import Database
from ledger.events import EventRule
from station.event.points import points_for as station_points
from station.results.timefmt import fmt_duration


def points_for(rule: EventRule, race: str) -> int | None:
    """The registered rule for one race (the formula itself lives once, in station.event.points)."""
    r = rule.races.get(race)
    if r is None:
        return None
    return station_points(rule.points_per_km, r.distance_m)


def fmt_time(ms: int | None) -> str:
    """`H:MM:SS`, rounded up to the next whole second (rule 10); "-" when there is none."""
    return "-" if ms is None else fmt_duration(ms)


def _credit_reason(rule: EventRule, race: str, p: dict[str, Any]) -> str:
    r = rule.races[race]
    ranking = r.ranking
    t = p.get("chip_ms") if ranking == "chip" else p.get("gun_ms")
    return f"{rule.name}: {r.name} ({race}) finished in {fmt_time(t)} ({ranking} time)"


Order = tuple[int, str, int]  # (recorded_at, station_id, seq): the entry order every "latest" uses
Account = tuple[str, str]  # (event of a registration-only account, or '' for a runner id; the id)


def account_of(event_id: str, registration_id: str, runner_id: str) -> Account:
    """A runner id where the participant list gives one, else the registration of that one event."""
    return ("", runner_id) if runner_id else (event_id, registration_id)


def _update_list(db: Database, conn: sa.Connection, event_id: str, station_id: str,
                 listed: list[tuple[int, int, dict[str, Any]]]) -> list[str]:
    """Store the latest `participant` entry of each registration (entry order); returns the registrations
    the batch named."""
    latest: dict[str, tuple[Order, str]] = {}
    for seq, rec, p in listed:
        reg, order = str(p["registration_id"]), (rec, station_id, seq)
        if reg not in latest or order > latest[reg][0]:
            latest[reg] = (order, str(p.get("runner_id") or ""))
    pt = schema.participants
    ins = schema.upsert(db, pt)
    newer = sa.tuple_(pt.c.o_recorded_at, pt.c.o_station, pt.c.o_seq) < sa.tuple_(
        ins.excluded.o_recorded_at, ins.excluded.o_station, ins.excluded.o_seq)
    stmt = ins.on_conflict_do_update(
        index_elements=[pt.c.event_id, pt.c.registration_id],
        set_={"runner_id": ins.excluded.runner_id, "o_recorded_at": ins.excluded.o_recorded_at,
              "o_station": ins.excluded.o_station, "o_seq": ins.excluded.o_seq},
        where=newer)
    regs = sorted(latest)  # sorted: two processes lock rows in the same order
    conn.execute(stmt, [{"event_id": event_id, "registration_id": r, "runner_id": latest[r][1],
                         "o_recorded_at": latest[r][0][0], "o_station": station_id, "o_seq": latest[r][0][2]}
                        for r in regs])
    return regs


def _listed(conn: sa.Connection, event_id: str, reg: str) -> str | None:
    """The list's runner id of a registration ('' for none), or None when the list does not hold it."""
    pt = schema.participants
    rid = conn.execute(sa.select(pt.c.runner_id).where(pt.c.event_id == event_id,
                                                        pt.c.registration_id == reg)).scalar()
    return None if rid is None else str(rid)


def apply_results(db: Database, conn: sa.Connection, rule: EventRule, station_id: str,
                  published: list[tuple[int, int, dict[str, Any]]], now: int,
                  listed: Sequence[tuple[int, int, dict[str, Any]]] = ()) -> None:
    """Apply newly stored `participant` and `result_published` entries `(seq, recorded_at, payload)` of
    one station.

    A results token credits only participants of its own event as that event's log on the ledger lists
    them (the latest `participant` entry per registration), into the account the list names; a
    publication naming a registration not in the list, or another runner id, is kept (log and results
    row) but set aside with the reason, and credits nothing. A changed list entry settles its
    registration again (a runner id added moves the credit). Rows are locked in sorted order so that two
    processes applying overlapping batches cannot deadlock.
    """
    changed = _update_list(db, conn, rule.id, station_id, list(listed)) if listed else []
    by_reg: dict[str, list[tuple[int, int, dict[str, Any]]]] = defaultdict(list)
    for item in published:
        by_reg[str(item[2]["registration_id"])].append(item)
    res = schema.results
    if changed:
        known: set[str] = set()
        for i in range(0, len(changed), 500):
            known.update(conn.execute(sa.select(res.c.registration_id).where(
                res.c.event_id == rule.id, res.c.registration_id.in_(changed[i:i + 500]))).scalars())
        for reg in known:
            by_reg.setdefault(reg, [])
    relisted = set(changed)
    for reg in sorted(by_reg):
        conn.execute(
            schema.upsert(db, res).values(event_id=rule.id, registration_id=reg).on_conflict_do_nothing()
        )
        row = conn.execute(
            sa.select(res).where(res.c.event_id == rule.id, res.c.registration_id == reg).with_for_update()
        ).one()
        cur_order = (row.o_recorded_at, row.o_station, row.o_seq) if row.o_seq is not None else None
        latest: tuple[Order, dict[str, Any]] | None = None
        for seq, recorded_at, p in by_reg[reg]:
            order = (recorded_at, station_id, seq)
            if (cur_order is None or order > cur_order) and (latest is None or order > latest[0]):
                latest = (order, p)
        if latest is None:
            if cur_order is None or reg not in relisted:
                continue  # only older publications: kept in the log, nothing changes
            latest = (cur_order, json.loads(row.payload))  # the list changed: settle again
            by = (station_id, max(s for s, _, p in listed if str(p["registration_id"]) == reg))
        else:
            by = (station_id, latest[0][2])
        _settle(conn, rule, reg, row, latest, _listed(conn, rule.id, reg), now, by)


def _settle(conn: sa.Connection, rule: EventRule, reg: str, row: Any, latest: tuple[Order, dict[str, Any]],
            listed: str | None, now: int, by: tuple[str, int]) -> None:
    """Make the live credit of `reg` what its latest publication and the participant list say."""
    res = schema.results
    order, p = latest
    status = str(p.get("status") or "")
    race = str(p.get("race") or "")
    runner = str(p.get("runner_id") or "")
    credit_points = row.credit_points
    credit_account: Account | None = (
        (str(row.credit_event or ""), str(row.credit_account)) if credit_points is not None else None)
    set_aside: str | None = None
    if listed is None:
        set_aside = f"registration {reg} is not in the participant list of event {rule.id} on the ledger"
    elif runner and runner != listed:
        set_aside = (f"runner id {runner} differs from the participant list's "
                     f"({listed or 'none'}) for registration {reg}")
    account = account_of(rule.id, reg, listed or "")
    want = points_for(rule, race) if status == "finished" and set_aside is None else None
    lines: list[dict[str, Any]] = []
    base = {"event_id": rule.id, "registration_id": reg, "at": now, "station_id": by[0], "seq": by[1]}
    if credit_points is not None and credit_account is not None and (
            want is None or account != credit_account or want != credit_points):
        if set_aside is not None:
            why = "set aside: " + set_aside
        elif status != "finished":
            why = f"status now {status or 'unknown'}"
        elif account != credit_account:
            why = f"credit moved to account {_show(account)}"
        else:
            why = f"race now {race}"
        lines.append({**base, "account": credit_account[1], "account_event": credit_account[0], "kind": "reversal",
                      "points": -credit_points, "reason": f"{rule.name}: reversal of {row.race} finish ({why})"})
        credit_points, credit_account = None, None
    if want is not None and credit_points is None:
        lines.append({**base, "account": account[1], "account_event": account[0], "kind": "credit",
                      "points": want, "reason": _credit_reason(rule, race, p)})
        credit_points, credit_account = want, account
    if lines:
        conn.execute(schema.point_lines.insert(), lines)
    conn.execute(
        res.update()
        .where(res.c.event_id == rule.id, res.c.registration_id == reg)
        .values(bib=str(p.get("bib") or ""), race=race, status=status, gun_ms=p.get("gun_ms"),
                chip_ms=p.get("chip_ms"), runner_id=runner or None,
                payload=json.dumps(p, ensure_ascii=False, sort_keys=True, separators=(",", ":")),
                o_recorded_at=order[0], o_station=order[1], o_seq=order[2],
                credit_points=credit_points, credit_account=credit_account[1] if credit_account else None,
                credit_event=credit_account[0] if credit_account else "", set_aside=set_aside)
    )


def _show(account: Account) -> str:
    return f"{account[1]} of event {account[0]}" if account[0] else account[1]


def listed_runner(db: Database, event_id: str, reg: str) -> str | None:
    """The participant list's runner id of a registration ('' for none; None when not listed)."""
    with db.read.connect() as conn:
        return _listed(conn, event_id, reg)


def may_read(db: Database, event_id: str, account: Account) -> bool:
    """Who reads a balance: a valid token of an event reads the registration accounts of that event and
    the runner accounts its participant list names (a runner's account spans events: the desks of any
    event they run may show it), or that hold a line of that event (a runner id since corrected in the
    list). Nobody else — a balance is personal data, not a public page."""
    if account[0]:
        return account[0] == event_id
    pt, pl = schema.participants, schema.point_lines
    with db.read.connect() as conn:
        if conn.execute(sa.select(pt.c.registration_id).where(
                pt.c.event_id == event_id, pt.c.runner_id == account[1]).limit(1)).first() is not None:
            return True
        return conn.execute(sa.select(pl.c.id).where(
            pl.c.account == account[1], pl.c.account_event == "", pl.c.event_id == event_id).limit(1)
        ).first() is not None


def balance(db: Database, account: Account) -> dict[str, Any]:
    pl = schema.point_lines
    with db.read.connect() as conn:
        rows = conn.execute(
            sa.select(pl.c.event_id, pl.c.kind, pl.c.points, pl.c.reason, pl.c.at)
            .where(pl.c.account == account[1], pl.c.account_event == account[0]).order_by(pl.c.id)
        ).all()
    lines = [{"event": r.event_id, "kind": r.kind, "points": int(r.points), "reason": r.reason, "at": r.at}
             for r in rows]
    out: dict[str, Any] = {"runner": account[1], "balance": sum(x["points"] for x in lines), "lines": lines}
    if account[0]:
        out["event"] = account[0]
    return out


def finished_results(db: Database, event_id: str) -> list[dict[str, Any]]:
    res = schema.results
    with db.read.connect() as conn:
        rows = conn.execute(
            sa.select(res.c.payload).where(res.c.event_id == event_id, res.c.status == "finished",
                                           res.c.set_aside.is_(None))
            .order_by(res.c.race, res.c.registration_id)
        ).all()
    return [json.loads(r.payload) for r in rows]
