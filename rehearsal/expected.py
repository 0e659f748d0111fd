"""Expected results, computed from the ground truth alone — deliberately NOT with station/results/engine.

The ground truth knows which runner made each read (`SimRead.truth`), so chips, readers and wire formats
play no part here; only the timing rules of DESIGN.md do, written out again as plainly as possible:
crossings chain reads less than the window apart and take the first read; the chip start is the last
read of the first start crossing that ends at/after the gun and begins within the start window; the
finish is the first finish crossing more than `min_time` after the chip start; the split the first
crossing after the start and before the finish; ties on the full precision share a rank; categories by
age on the event date with a leap-day birthday on 1 March in common years.
"""

from __future__ import annotations

import datetime as dt
import math
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from rehearsal.scenario import DISTANCE_M, RACE_ID, Scenario

WINDOW_MS = 2000
START_WINDOW_MS = 3600 * 1000
AGE_GROUPS = (20, 30, 40, 50, 60, 70)
SPLIT_COL = "split_km5_ms"


@dataclass
class Expected:
    rows: dict[str, dict[str, Any]]  # registration id → expected row
    reads: dict[str, int]  # point → reads the mats saw (known and stray chips)
    crossings: dict[str, int] = field(default_factory=dict)  # point → runners with a crossing there

    def finished(self) -> dict[str, dict[str, Any]]:
        return {r: row for r, row in self.rows.items() if row["status"] == "finished"}


def _crossings(times: list[int]) -> list[tuple[int, int]]:
    """(first, last) of each crossing: a read less than the window after the previous one chains."""
    out: list[list[int]] = []
    for t in sorted(times):
        if out and t - out[-1][1] < WINDOW_MS:
            out[-1][1] = t
        else:
            out.append([t, t])
    return [(a, b) for a, b in out]


def age_on(birth: dt.date, day: dt.date) -> int:
    try:
        bday = birth.replace(year=day.year)
    except ValueError:  # 29 February in a common year: the birthday is 1 March
        bday = dt.date(day.year, 3, 1)
    return day.year - birth.year - (1 if day < bday else 0)


def category(gender: str, birth: str, day: dt.date) -> str:
    age = age_on(dt.date.fromisoformat(birth), day)
    if age < AGE_GROUPS[0]:
        label = f"U{AGE_GROUPS[0]}"
    elif age >= AGE_GROUPS[-1]:
        label = f"{AGE_GROUPS[-1]}+"
    else:
        lo = max(a for a in AGE_GROUPS if a <= age)
        hi = AGE_GROUPS[AGE_GROUPS.index(lo) + 1] - 1
        label = f"{lo}-{hi}"
    return f"{gender}{label}"


def _ranks(rows: list[dict[str, Any]], key: str) -> None:
    """Rank finished rows within groups of `key` (None: the whole race) by chip time; ties share."""
    groups: dict[Any, list[dict[str, Any]]] = defaultdict(list)
    for r in rows:
        groups[r[key] if key != "overall" else None].append(r)
    col = {"overall": "overall_rank", "gender": "gender_rank", "category": "category_rank"}[key]
    for members in groups.values():
        times = sorted(r["chip_ms"] for r in members)
        for r in members:
            r[col] = 1 + sum(1 for t in times if t < r["chip_ms"])


def compute(sc: Scenario) -> Expected:
    gun = sc.gun_ms
    min_time = math.floor(DISTANCE_M / 6.5 * 1000)
    by_runner: dict[str, dict[str, list[int]]] = defaultdict(lambda: defaultdict(list))
    reads: dict[str, int] = defaultdict(int)
    for r in sc.race.reads:
        reads[r.point] += 1
        if r.truth is not None:
            by_runner[r.truth][r.point].append(r.utc_ms)
    rows: dict[str, dict[str, Any]] = {}
    crossings: dict[str, int] = defaultdict(int)
    for p in sc.participants:
        reg = p["registration_id"]
        mine = by_runner.get(reg, {})
        for point, ts in mine.items():
            if ts:
                crossings[point] += 1
        start = gun
        for first, last in _crossings(mine.get("start", [])):
            if last >= gun and first <= gun + START_WINDOW_MS:
                start = last
                break
        finish = None
        for first, _last in _crossings(mine.get("finish", [])):
            if first - start > min_time:
                finish = first
                break
        split = None
        for first, _last in _crossings(mine.get("km5", [])):
            if first > start and (finish is None or first < finish):
                split = first
                break
        if finish is not None:
            status = "finished"
        elif any(mine.values()):
            status = "DNF"  # the rehearsal closes the race at the end
        else:
            status = "DNS"
        row = {
            "registration_id": reg, "race": RACE_ID, "bib": p["bib"], "gender": p["gender"],
            "category": category(p["gender"], p["birth_date"], sc.date), "status": status,
            "gun_ms": finish - gun if finish is not None else None,
            "chip_ms": finish - start if finish is not None else None,
            SPLIT_COL: split - start if split is not None else None,
            "overall_rank": None, "gender_rank": None, "category_rank": None,
        }
        rows[reg] = row
    fin = [r for r in rows.values() if r["status"] == "finished"]
    for key in ("overall", "gender", "category"):
        _ranks(fin, key)
    return Expected(rows, dict(reads), dict(crossings))


COMPARED = ("race", "bib", "status", "gun_ms", "chip_ms", SPLIT_COL, "overall_rank", "gender_rank",
            "category", "category_rank")


def diff_station(expected: Expected, results: list[dict[str, Any]]) -> list[str]:
    """Differences between a station's `results --format json` rows and the expected rows."""
    out: list[str] = []
    seen: set[str] = set()
    for row in results:
        reg = str(row.get("registration_id"))
        seen.add(reg)
        exp = expected.rows.get(reg)
        if exp is None:
            out.append(f"{reg}: not a participant")
            continue
        for k in COMPARED:
            got = row.get(k)
            want = exp[k]
            if isinstance(want, int) and got is not None and not isinstance(got, bool):
                try:
                    got = int(got)
                except (TypeError, ValueError):
                    pass
            if got != want:
                out.append(f"bib {exp['bib']}: {k} {got!r} != expected {want!r}")
    for reg in expected.rows.keys() - seen:
        out.append(f"bib {expected.rows[reg]['bib']}: missing")
    return out


def diff_ledger(expected: Expected, results: list[dict[str, Any]]) -> list[str]:
    """Differences between the ledger's published results (finished runners) and the expected ones."""
    out: list[str] = []
    fin = expected.finished()
    seen: set[str] = set()
    for row in results:
        reg = str(row.get("registration_id"))
        seen.add(reg)
        exp = fin.get(reg)
        if exp is None:
            out.append(f"{reg}: published as {row.get('status')!r}, expected no finish")
            continue
        for k in ("bib", "race", "status", "gun_ms", "chip_ms"):
            if row.get(k) != exp[k]:
                out.append(f"bib {exp['bib']}: {k} {row.get(k)!r} != expected {exp[k]!r}")
        splits = row.get("splits")
        if isinstance(splits, dict) and splits.get("km5") != exp[SPLIT_COL]:
            out.append(f"bib {exp['bib']}: split km5 {splits.get('km5')!r} != expected {exp[SPLIT_COL]!r}")
    for reg in fin.keys() - seen:
        out.append(f"bib {fin[reg]['bib']}: finished but not published")
    return out
