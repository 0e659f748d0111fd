"""The public board: an immutable snapshot of one event's results, ready to render.

Why a snapshot: the results engine is mutated by a follower thread while web requests are served on
others. The source builds one `Board` per change (under its lock) and requests only read boards, so a
page never sees half an update and 200 phones refreshing cost one build, not 200.

Privacy (PIPL) is applied here and only here: a board never holds birth dates, phones or emails, and a
runner who opted out (`public = no` in the participants CSV) has no name or club on it — pages show
"Runner <bib>" and search finds them by bib only.
"""

from __future__ import annotations

from bisect import bisect_left
from dataclasses import dataclass, field
from typing import Any

from station.event.points import points_for
from station.people.privacy import is_public
from station.people.search import SearchIndex
from station.results.engine import Engine
from station.results.timefmt import fmt_duration, fmt_pace, pace_ms_per_km

FINISHED = "finished"


@dataclass(frozen=True, slots=True)
class RaceInfo:
    id: str
    name: str
    distance_m: int
    ranking: str
    points: int


@dataclass(frozen=True, slots=True)
class Split:
    point: str  # split column key: point id, or `<point>_<lap>` on lapped races
    distance_m: float | None
    ms: int
    time: str
    pace: str


@dataclass(frozen=True, slots=True)
class PublicResult:
    registration_id: str
    bib: str
    name: str  # empty when the runner opted out
    club: str
    public: bool
    gender: str
    category: str
    race: str
    status: str
    overall: int | None
    gender_rank: int | None
    category_rank: int | None
    gun_ms: int | None
    chip_ms: int | None
    gun_time: str
    chip_time: str
    pace: str
    splits: tuple[Split, ...]
    finish_ms: int | None  # instant of the finish (UTC ms) where known (the station's own results)
    start_ms: int | None  # instant of the (chip) start where known
    vip: bool

    @property
    def finished(self) -> bool:
        return self.status == FINISHED

    def as_json(self) -> dict[str, Any]:
        return {"registration_id": self.registration_id, "bib": self.bib, "name": self.name,
                "club": self.club, "public": self.public, "gender": self.gender,
                "category": self.category, "race": self.race, "status": self.status,
                "overall_rank": self.overall, "gender_rank": self.gender_rank,
                "category_rank": self.category_rank, "gun_ms": self.gun_ms, "chip_ms": self.chip_ms,
                "gun_time": self.gun_time, "chip_time": self.chip_time, "pace": self.pace,
                "splits": {s.point: s.ms for s in self.splits}}


FINISH_MAT = "finish"


@dataclass(frozen=True, slots=True)
class Crossed:
    """One runner at one mat, for the announcer."""

    row: PublicResult
    at: int | None  # the crossing instant (UTC ms) where known
    elapsed_ms: int
    elapsed: str
    place: int
    predicted_ms: int | None
    predicted: str


@dataclass
class Board:
    event_id: str
    name: str
    date: str
    timezone: str
    races: list[RaceInfo]
    rows: list[PublicResult]  # contract order: races in file order, ranked, then running, DNF, DQ, DNS
    version: int = 0
    official: bool = False
    #: the normalized event file (certificates need it); no personal data
    event_payload: dict[str, Any] = field(default_factory=dict)
    #: (race, "", "") / (race, "g", gender) / (race, "c", category) → number of finishers
    field_sizes: dict[tuple[str, str, str], int] = field(default_factory=dict)
    by_reg: dict[str, PublicResult] = field(default_factory=dict)
    search_index: SearchIndex = field(default_factory=SearchIndex)
    #: registration → the (engine result, participant) objects its row was built from (see `build_board`)
    built_from: dict[str, tuple[Any, Any]] = field(default_factory=dict, repr=False)
    #: lists already cut from `rows` (a board never changes; at 8,000 runners a cut is ~1 ms a request)
    _memo: dict[tuple[Any, ...], list[Any]] = field(default_factory=dict, repr=False, compare=False)

    def race(self, race_id: str | None) -> RaceInfo | None:
        return next((r for r in self.races if r.id == race_id), None)

    def rows_of(self, race: str, *, gender: str | None = None, category: str | None = None) -> list[PublicResult]:
        """A race's list: everyone who started (DNS left out), filtered by gender or category.
        The same list object for the same question: do not change it."""
        key = ("rows", race, gender, category)
        got = self._memo.get(key)
        if got is None:
            if len(self._memo) > 512:  # categories asked for that do not exist: keep it bounded
                self._memo.clear()
            got = self._memo[key] = [
                r for r in self.rows if r.race == race and r.status != "DNS"
                and (gender is None or r.gender == gender) and (category is None or r.category == category)]
        return got

    def genders(self, race: str) -> list[str]:
        got = self._memo.get(("genders", race))
        if got is None:
            present = {r.gender for r in self.rows if r.race == race}
            got = self._memo[("genders", race)] = [g for g in ("F", "M", "X") if g in present]
        return list(got)

    def categories(self, race: str) -> list[str]:
        got = self._memo.get(("categories", race))
        if got is None:
            got = self._memo[("categories", race)] = sorted({r.category for r in self.rows if r.race == race})
        return list(got)

    def finishers(self, race: str) -> int:
        return self.field_sizes.get((race, "", ""), 0)

    def mats(self) -> list[tuple[str, float]]:
        """Timing points an announcer can follow: split points in course order, then the finish."""
        seen: dict[str, float] = {}
        for r in self.rows:
            for sp in r.splits:
                if sp.point not in seen and sp.distance_m is not None:
                    seen[sp.point] = sp.distance_m
        return [*sorted(seen.items(), key=lambda kv: kv[1]), (FINISH_MAT, 0.0)]

    def crossings(self, mat: str, limit: int = 50) -> tuple[list[Crossed], list[Crossed]]:
        """(VIPs, everyone) who crossed `mat` (a split point id or FINISH_MAT), newest first.

        Place so far: rank by elapsed time at that mat among the runner's race (ties share a place);
        predicted finish: the pace so far held to the race distance (chip time)."""
        races = {r.id: r for r in self.races}
        got: list[tuple[PublicResult, int, float | None]] = []  # (row, elapsed ms, mat distance)
        for r in self.rows:
            if mat == FINISH_MAT:
                if r.finished and r.chip_ms is not None:
                    got.append((r, r.chip_ms, float(races[r.race].distance_m) if r.race in races else None))
                continue
            for sp in r.splits:
                if sp.point == mat:
                    got.append((r, sp.ms, sp.distance_m))
                    break
        by_race: dict[str, list[int]] = {}
        for r, ms, _ in got:
            by_race.setdefault(r.race, []).append(ms)
        for lst in by_race.values():
            lst.sort()
        out: list[Crossed] = []
        for r, ms, d in got:
            race = races.get(r.race)
            place = bisect_left(by_race[r.race], ms) + 1
            if mat == FINISH_MAT:
                place = r.overall or place
            predicted = None
            if mat != FINISH_MAT and race is not None and d:
                predicted = round(ms * race.distance_m / d)
            at = (r.finish_ms if mat == FINISH_MAT and r.finish_ms is not None
                  else (r.start_ms + ms if r.start_ms is not None else None))
            out.append(Crossed(r, at, ms, fmt_duration(ms), place, predicted, fmt_duration(predicted)))
        # newest first: by crossing instant where known (a station), else by elapsed time (the ledger)
        out.sort(key=lambda c: (c.at if c.at is not None else c.elapsed_ms), reverse=True)
        vips = [c for c in out if c.row.vip][:limit]
        return vips, out[:limit]

    def search(self, query: str, limit: int = 30) -> list[PublicResult]:
        """By bib (exact first), name (any part; opted-out runners only by bib) or registration id."""
        q = query.strip()
        if not q:
            return []
        ask = limit
        while True:  # an index may hold registrations not on the board (the ledger's: unpublished ones)
            out: list[PublicResult] = []
            hits = self.search_index.search(q, limit=ask)
            for hit in hits:
                r = self.by_reg.get(hit.registration_id)
                if r is not None and r not in out:
                    out.append(r)
            if len(out) >= limit or len(hits) < ask:
                return out[:limit]
            ask *= 4


def build_board(engine: Engine, *, version: int = 0, official: bool = False,
                finish_instants: bool = True, index: SearchIndex | None = None,
                prev: Board | None = None) -> Board | None:
    """The public board of what `engine` holds now (None before an event is loaded).

    `index`: the previous board's search index, when no participant changed since (a finish does not
    change names or bibs; indexing them again was half the cost of a rebuild). `prev`: the previous
    board of the same engine — a runner whose result and participant objects are the ones it was built
    from keeps its row (formatting times and splits was most of the rest); only ranks are new."""
    cfg = engine.config
    if cfg is None:
        return None
    points_per_km = (cfg.payload.get("event") or {}).get("points_per_km", cfg.points_per_km)
    races = [RaceInfo(r.id, r.name, int(r.distance_m), r.ranking, points_for(points_per_km, r.distance_m))
             for r in sorted(cfg.races.values(), key=lambda r: r.index)]
    dist = {r.id: r.distance_m for r in races}
    point_dist = {p.id: float(p.distance_m) for p in cfg.points.values()}
    participants = engine.participants()
    rows: list[PublicResult] = []
    sizes: dict[tuple[str, str, str], int] = {}
    reuse = index is not None
    index = index if index is not None else SearchIndex()
    before = prev.built_from if prev is not None else {}
    built_from: dict[str, tuple[Any, Any]] = {}
    prev_rows = prev.by_reg if prev is not None else {}
    for res, (o, g, c) in engine.ranked():
        reg = res.registration_id
        p = participants.get(reg) or {}
        built_from[reg] = (res, p)
        old = before.get(reg)
        if old is not None and old[0] is res and old[1] is p:
            row = prev_rows[reg]
            if (row.overall, row.gender_rank, row.category_rank) != (o, g, c):
                row = PublicResult(row.registration_id, row.bib, row.name, row.club, row.public, row.gender,
                                   row.category, row.race, row.status, o, g, c, row.gun_ms, row.chip_ms,
                                   row.gun_time, row.chip_time, row.pace, row.splits, row.finish_ms,
                                   row.start_ms, row.vip)
            rows.append(row)
            if row.status == FINISHED:
                for sk in ((res.race, "", ""), (res.race, "g", res.gender), (res.race, "c", res.category)):
                    sizes[sk] = sizes.get(sk, 0) + 1
            if not reuse:
                index.upsert(reg, bib=res.bib, name=row.name or None, phone=None)
            continue
        public = is_public(p)
        chip = res.chip_ms if res.status == FINISHED else None
        gun = res.gun_ms if res.status == FINISHED else None
        splits = []
        for key, ms in res.splits.items():
            d = _split_distance(key, point_dist, cfg.races.get(res.race))
            splits.append(Split(key, d, ms, fmt_duration(ms), fmt_pace(pace_ms_per_km(ms, d))))
        splits.sort(key=lambda s: s.ms)
        row = PublicResult(
            registration_id=res.registration_id, bib=res.bib, name=res.name if public else "",
            club=str(p.get("club") or "") if public else "", public=public, gender=res.gender,
            category=res.category, race=res.race, status=res.status, overall=o, gender_rank=g,
            category_rank=c, gun_ms=gun, chip_ms=chip, gun_time=fmt_duration(gun), chip_time=fmt_duration(chip),
            pace=fmt_pace(pace_ms_per_km(chip, dist.get(res.race))), splits=tuple(splits),
            finish_ms=res.finish_ms if finish_instants else None,
            start_ms=res.start_ms if finish_instants else None, vip=p.get("vip") is True)
        rows.append(row)
        if row.finished:
            for sk in ((res.race, "", ""), (res.race, "g", res.gender), (res.race, "c", res.category)):
                sizes[sk] = sizes.get(sk, 0) + 1
        if not reuse:
            index.upsert(res.registration_id, bib=res.bib, name=res.name if public else None, phone=None)
    return Board(event_id=cfg.id, name=cfg.name, date=cfg.date.isoformat(), timezone=cfg.timezone,
                 races=races, rows=rows, version=version, official=official, event_payload=cfg.payload,
                 field_sizes=sizes, by_reg={r.registration_id: r for r in rows}, search_index=index,
                 built_from=built_from)


def _split_distance(key: str, point_dist: dict[str, float], race: Any) -> float | None:
    """A split column's distance: its timing point's, or for a lap pass `<point>_<n>` of a lapped race,
    n laps' worth of the race distance."""
    if key in point_dist:
        return point_dist[key]
    lap = key.rsplit("_", 1)[-1]
    if race is not None and lap.isdigit() and race.laps > 1:
        return race.distance_m * int(lap) / race.laps
    return None
