"""The results as the contracts show them: rows in the Results CSV order (races in file order, ranked
runners by rank then bib, then running, DNF, DQ, DNS), split columns, formatted times (rule 10).
"""

from __future__ import annotations

from bisect import bisect_left
from operator import attrgetter
from typing import Any

from station.results.model import (
    STATUS_ORDER,
    RunnerResult,
    _gc_paused,
)
from station.results.timefmt import fmt_duration


class ResultsOutput:
    """Results rows in the contract's order and format.

    A part of `Engine` (engine.py): one class whose parts live in modules named for their
    responsibility. They share the engine's state (set up in `Engine.__init__`) because the hot paths
    read it directly: a split into objects would add an attribute hop per read.
    """

    def split_columns(self) -> list[str]:
        """Split column names: split points in course order, then lap passes of lapped races."""
        cfg = self.config
        if cfg is None:
            return []
        cols = [f"split_{p.id}_ms" for p in cfg.split_points()]
        lap_points = [p for p in sorted(cfg.points.values(), key=lambda p: p.index) if p.is_finish]
        max_laps = max((r.laps for r in cfg.races.values()), default=1)
        for n in range(1, max_laps):
            for p in lap_points:
                if any(r.laps > n and p.serves(r.id) for r in cfg.races.values()):
                    cols.append(f"split_{p.id}_{n}_ms")
        return cols

    def ordered(self, race: str | None = None) -> list[RunnerResult]:
        """Results in the CSV contract order (races in file order; ranked by rank then bib; then
        running, DNF, DQ, DNS, each by bib). Bibs sort as numbers when all are ASCII digits."""
        cfg = self.config
        if cfg is None:
            return []
        results = self._results.values()
        # "²".isdigit() is true but int("²") fails: only ASCII digits count as numbers.
        numeric = all(r.bib.isascii() and r.bib.isdigit() for r in results)
        by_race: dict[str, list[RunnerResult]] = {}
        for r in results:
            lst = by_race.get(r.race)
            if lst is None:
                by_race[r.race] = [r]
            else:
                lst.append(r)
        out: list[RunnerResult] = []
        by_bib = attrgetter("bib")
        for rc in sorted(cfg.races.values(), key=attrgetter("index")):
            if race is not None and rc.id != race:
                continue
            rs = by_race.get(rc.id, [])
            # Stable sorts, least significant key first: bib text, bib number, then rank/status.
            rs.sort(key=by_bib)
            if numeric:
                rs.sort(key=_bib_number)
            ranked = [r for r in rs if r.rank_key is not None]
            ranked.sort(key=_rank_key)
            others = [r for r in rs if r.rank_key is None]
            others.sort(key=_status_key)
            out += ranked
            out += others
        return out

    def ranked(self, race: str | None = None) -> list[tuple[RunnerResult, tuple[int | None, int | None,
                                                                                 int | None]]]:
        """`ordered()` with each runner's (overall, gender, category) ranks: one call for views."""
        with _gc_paused():
            ranks = self.ranks
            return [(r, ranks(r)) for r in self.ordered(race)]

    def row(self, r: RunnerResult, split_cols: list[str] | None = None,
            _fmt: dict[int, str] | None = None) -> dict[str, Any]:
        """One Results CSV row (contract columns, then registration_id, club and flags)."""
        key = r.rank_key
        if key is not None:
            groups = self._groups
            o = bisect_left(groups.get(("o", r.race), ()), key) + 1
            g = bisect_left(groups.get(("g", r.race, r.gender), ()), key) + 1
            c = bisect_left(groups.get(("c", r.race, r.category), ()), key) + 1
            gun_ms, chip_ms = r.gun_ms, r.chip_ms
            if _fmt is None:
                gun_t, chip_t = fmt_duration(gun_ms), fmt_duration(chip_ms)
            else:
                gs, cs = -(-gun_ms // 1000), -(-chip_ms // 1000)  # type: ignore[operator]
                gun_t = _fmt.get(gs) or _fmt.setdefault(gs, fmt_duration(gs * 1000))
                chip_t = _fmt.get(cs) or _fmt.setdefault(cs, fmt_duration(cs * 1000))
        else:
            o = g = c = gun_ms = chip_ms = gun_t = chip_t = ""  # type: ignore[assignment]
        row: dict[str, Any] = {
            "race": r.race, "overall_rank": o, "bib": r.bib, "name": r.name, "gender": r.gender,
            "category": r.category, "category_rank": c, "gender_rank": g, "status": r.status,
            "gun_time": gun_t, "chip_time": chip_t, "gun_ms": gun_ms, "chip_ms": chip_ms,
        }
        splits = r.splits
        cols = split_cols if split_cols is not None else self.split_columns()
        if splits:
            for col in cols:
                row[col] = splits.get(col[6:-3], "")
        else:
            for col in cols:
                row[col] = ""
        cur = self._participants.get(r.registration_id)
        p = cur[1] if cur else {}
        row["registration_id"] = r.registration_id
        row["club"] = p.get("club") or ""
        row["runner_id"] = p.get("runner_id") or ""
        row["wave"] = r.wave
        row["flags"] = " ".join(r.flags) if r.flags else ""
        return row

    def club(self, reg: str) -> str:
        """The participant's club (empty when none): for views that show it beside a result."""
        cur = self._participants.get(reg)
        return (cur[1].get("club") or "") if cur else ""

    def rows(self, race: str | None = None) -> list[dict[str, Any]]:
        cols = self.split_columns()
        fmt: dict[int, str] = {}  # many runners share a displayed second
        with _gc_paused():
            return [self.row(r, cols, fmt) for r in self.ordered(race)]



def _bib_number(r: RunnerResult) -> int:
    return int(r.bib)


def _rank_key(r: RunnerResult) -> int:
    return r.rank_key  # type: ignore[return-value]


def _status_key(r: RunnerResult) -> int:
    return STATUS_ORDER.get(r.status, 9)
