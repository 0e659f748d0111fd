"""DESIGN.md timing rules 1–11 for one runner: crossings from chains (rule 3), start (4), finish (5),
splits (6), gaps filled by backup readers and manual times (7), times (8), category (9), status (11).

Why a part of its own: this is the code a timer argues with; it reads facts and chains and writes
nothing but the runner's result (and, when asked, the trace of why).
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterable
from typing import Any

from station.event.config import EventConfig, Race
from station.log.entries import Entry
from station.results.chains import Chain, merge_pieces
from station.results.model import (
    C_FIRST,
    C_LAST,
    C_POINT,
    C_SOURCE,
    C_TIME,
    C_UUIDS,
    DAY_MS,
    XCACHE_MAX_PIECES,
    BucketKey,
    Crossing,
    Order,
    RunnerResult,
    Trace,
    _RaceCtx,
)
from station.results.timefmt import category as category_of


class TimingRules:
    """The timing rules for one runner.

    A part of `Engine` (engine.py): one class whose parts live in modules named for their
    responsibility. They share the engine's state (set up in `Engine.__init__`) because the hot paths
    read it directly: a split into objects would add an attribute hop per read.
    """

    def _race_ctx(self, race: Race) -> _RaceCtx:
        """Per-race lookups computed once per configuration (the hot loop touches only dicts)."""
        ctx = self._race_cache.get(race.id)
        if ctx is None:
            cfg = self.config
            assert cfg is not None
            kinds = {p.id: p.kind for p in cfg.points.values() if p.serves(race.id)}
            guns = {w.id: self.gun_time(race, w.id) for w in race.waves}
            earlier = {w: min((g for g in guns.values() if g < gun), default=None) for w, gun in guns.items()}
            ctx = _RaceCtx(kinds, [p.id for p in cfg.split_points(race.id)],
                           {pid for pid, k in kinds.items() if k in ("start", "start_finish")},
                           {pid for pid, k in kinds.items() if k in ("finish", "start_finish")},
                           guns, earlier, race.waves[0].id)
            self._race_cache[race.id] = ctx
        return ctx

    # One function on purpose (a hot loop, measured with tests/bench/bench_results.py): this runs once per
    # dirty runner on every batch, 40,000 times on a full recompute; helpers would add calls and pass the
    # configuration, race context and gun time around for each runner.
    def compute(self, reg: str, trace: Trace | None = None,
                chains: dict[str, dict[BucketKey, list[Chain]]] | None = None) -> RunnerResult | None:
        cfg = self.config
        cur = self._participants.get(reg)
        if cfg is None or cur is None:
            return None
        p = cur[1]
        race = cfg.races.get(p.get("race"))
        if race is None:
            return None
        rc = self._race_cache.get(race.id) or self._race_ctx(race)
        wave_id = p.get("wave") or rc.first_wave
        gun = rc.guns.get(wave_id)
        if gun is None:
            wave_id = rc.first_wave
            gun = rc.guns[wave_id]
        cat = self._category(reg, p, cfg)
        res = RunnerResult(reg, str(p.get("bib", "")), p.get("name") or "", p.get("gender") or "X", cat,
                           race.id, wave_id, "DNS", gun, None, None, None, None, {})
        crossings, activity, start_spans = self._crossings_of(reg, p, rc, gun, trace, chains)
        if trace is not None:
            for cs in crossings.values():
                trace.crossings.extend(Crossing(*c) for c in cs)
        # Rule 4: the start.
        start = None
        start_src = "gun"
        starts = [c for pid in rc.start_points if pid in crossings for c in crossings[pid]]
        if starts:
            if len(starts) > 1:
                starts.sort(key=_by_first)
            limit = gun + race.start_window_ms
            for c in starts:
                if c[C_LAST] >= gun and c[C_FIRST] <= limit:
                    start = c[C_LAST]
                    start_src = c[C_SOURCE]
                    break
        if start is None:
            start = gun
        res.start_ms = start
        res.start_source = start_src
        if start_spans:
            lo = rc.earlier_gun.get(wave_id)
            if lo is not None and self._any_read_in(start_spans, lo, gun):
                res.flags = ("wrong wave",)
        # Rule 5: the finish.
        fins = [c for pid in rc.finish_points if pid in crossings for c in crossings[pid]]
        finish = None
        passes: list[tuple] = []
        if fins:
            if len(fins) > 1:
                fins.sort(key=_by_time)
            laps = race.laps
            min_time = race.min_time_ms
            prev = start
            for c in fins:
                if (c[C_TIME] - prev) * laps > min_time:
                    passes.append(c)
                    prev = c[C_TIME]
                    if len(passes) == laps:
                        break
                elif trace is not None:
                    trace.notes.append(f"{c[C_POINT]} crossing at {c[C_TIME]} ignored: within the minimum "
                                       f"time of the previous pass")
            if len(passes) == laps:
                finish = passes[-1][0]
                res.finish_source = passes[-1][4]
        adj = self._adjust.get(reg)
        if finish is not None and adj:
            finish += sum(adj.values())
        # Rule 6: splits.
        splits = res.splits
        for sp in rc.split_points:
            cs = crossings.get(sp)
            if cs:
                for c in cs:
                    if c[C_TIME] > start and (finish is None or c[C_TIME] < finish):
                        splits[sp] = c[C_TIME] - start
                        break
        if race.laps > 1:
            for n, c in enumerate(passes[: race.laps - 1], start=1):
                splits[f"{c[C_POINT]}_{n}"] = c[C_TIME] - start
        # Rules 8 and 11.
        explicit = self._status.get(reg)
        if explicit and explicit[1]:
            res.status = explicit[1]
        elif finish is not None:
            res.status = "finished"
        elif activity:
            closed = race.id in self._closed or (
                race.cutoff_ms is not None and self.now_ms() > gun + race.cutoff_ms)
            res.status = "DNF" if closed else "running"
        else:
            res.status = "DNS"
        res.finish_ms = finish
        if finish is not None:
            res.gun_ms = finish - gun
            res.chip_ms = finish - start
        if res.status == "finished":
            res.rank_key = rank_key_of(race, res.gun_ms, res.chip_ms)
        return res

    def _category(self, reg: str, p: dict[str, Any], cfg: EventConfig) -> str:
        """Rule 9: the runner's category (cached; a purged participant keeps the one computed before)."""
        cat = self._cat_cache.get(reg)
        if cat is None and p.get("category"):
            cat = str(p["category"])  # kept by a privacy purge in place of the birth date
        if cat is None:
            cat = category_of(p.get("gender") or "X", p.get("birth_date"), cfg.date, cfg.age_groups,
                              cfg.age_basis)
            self._cat_cache[reg] = cat
        return cat

    def _any_read_in(self, spans: list[tuple], lo: int, hi: int) -> bool:
        """Wrong-wave check (rule 4): has any start read a corrected time in [lo, hi)? A span is a
        chain's (first, last, chip, key, correction); its reads are less than the build window apart,
        so a chain spanning [lo, hi) has a read inside once hi - lo reaches that window."""
        for f, la, chip, key, d in spans:
            if lo <= f < hi or lo <= la < hi:
                return True
            if f < lo and la >= hi:
                pid = key[0]
                if hi - lo >= max(self._bw.get(pid, 0), self._wins.get(pid) or self._window(pid)):
                    return True
                if self._reads_between(chip, key, f - d, la - d, d, lo, hi):
                    return True
        return False

    # One function on purpose (a hot loop, measured with tests/bench/bench_results.py): the per-runner
    # inner loop of `compute`, over each chip's chains at each serving point; it reads the engine's dicts
    # into locals once and keeps them for the whole walk.
    def _crossings_of(self, reg: str, p: dict[str, Any], rc: _RaceCtx, gun: int, trace: Trace | None,
                      chains: dict[str, dict[BucketKey, list[Chain]]] | None = None,
                      ) -> tuple[dict[str, list[tuple]], bool, list[tuple]]:
        """Rules 2, 3 and 7 for one runner: the chains of their chips at serving points (owned, clock
        corrected as a whole: a chain never spans an offset or swap cut), merged into crossings per
        point, gaps filled by backup and manual entries. Cached per runner (only reads, chips,
        corrections or configuration change it). `chains`: chains with read uuids, for the trace."""
        cached = self._xcache.get(reg) if trace is None and chains is None else None
        if cached is not None:
            return cached
        cfg = self.config
        assert cfg is not None
        traced = chains is not None
        if chains is None:
            chains = self._chains
        dateless_seen = False
        kinds = rc.kinds
        points = cfg.points
        main: dict[str, list[tuple]] = {}
        backup: dict[str, list[tuple]] | None = None
        activity = False
        start_spans: list[tuple] = []
        offsets = self._offsets
        dateless = self._dateless
        npieces = 0
        if self._assigned or self._swapped_to:
            chips = self.chips_of(reg)
        else:
            chips = p.get("chips") or ()
        for chip in chips:
            buckets = chains.get(chip)
            dl = dateless.get(chip) if dateless else None
            if not buckets and not dl:
                continue
            swapped = chip in self._swaps
            if not swapped:
                base = self._chip_base.get(chip)
                if base is None or base[1] != reg:
                    continue  # the chip now belongs to a later participant row (latest wins)
            if buckets:
                for key, lst in buckets.items():
                    pid, role, reader = key
                    kind = kinds.get(pid)
                    if kind is None or not lst:
                        continue
                    corr = bool(offsets) and reader in offsets
                    is_start = kind == "start" or kind == "start_finish"
                    if role == "main":
                        dest = main.get(pid)
                        if dest is None:
                            dest = main[pid] = []
                    else:
                        if backup is None:
                            backup = {}
                        dest = backup.setdefault(pid, [])
                    for c in lst:
                        f = c.first
                        if swapped and self._owner_at(chip, f) != reg:
                            continue
                        activity = True
                        npieces += 1
                        d = self._correct(reader, f) - f if corr else 0
                        if d:
                            dest.append((f + d, c.last + d, c.peak_rssi, c.peak_t + d,
                                         c.uuids if traced else c.targets, c.count))  # type: ignore[attr-defined]
                        else:  # share the chain's int objects (no new ones per crossing)
                            dest.append((f, c.last, c.peak_rssi, c.peak_t,
                                         c.uuids if traced else c.targets, c.count))  # type: ignore[attr-defined]
                        if is_start:
                            start_spans.append((f + d, c.last + d, chip, key, d))
            if dl:
                for t, rssi, pid, role, uuid, reader, _dl in dl:
                    kind = kinds.get(pid)
                    if kind is None:
                        continue
                    t += round((gun - t) / DAY_MS) * DAY_MS
                    dateless_seen = True
                    if swapped and self._owner_at(chip, t) != reg:
                        continue
                    if offsets and reader in offsets:
                        t = self._correct(reader, t)
                    activity = True
                    piece = (t, t, rssi, t, [(t, uuid)] if traced else (uuid,), 1)
                    if role == "main":
                        main.setdefault(pid, []).append(piece)
                    else:
                        if backup is None:
                            backup = {}
                        backup.setdefault(pid, []).append(piece)
                    if kind == "start" or kind == "start_finish":
                        start_spans.append((t, t, chip, None, 0))
        manual: dict[str, list[tuple[int, str]]] | None = None
        for src in (self._manual_by_reg.get(reg), self._manual_by_bib.get(str(p.get("bib", "")))):
            if src:
                for t, pid, uuid in src:
                    if pid not in kinds:
                        continue
                    activity = True
                    if manual is None:
                        manual = {}
                    manual.setdefault(pid, []).append((t, uuid))
        ignore = self._ignore
        # Crossings are tuples (time, first, last, uuids, source, point, reads) in the hot path.
        crossings: dict[str, list[tuple]] = {}
        if backup is None and manual is None:
            for pid, rs in main.items():
                pt = points[pid]
                cs = merge_pieces(rs, pt.window_ms, pt.pick, "main", pid)
                if ignore:
                    cs = _drop_ignored(cs, ignore, trace)
                crossings[pid] = cs
        else:
            for pid in set(main) | set(backup or ()) | set(manual or ()):
                crossings[pid] = self._fill_gaps(pid, main.get(pid, []), (backup or {}).get(pid, []),
                                                 (manual or {}).get(pid, ()), trace)
        out = (crossings, activity, start_spans)
        if self.cache_crossings and trace is None and not traced and not dateless_seen and npieces <= XCACHE_MAX_PIECES:
            # Dateless reads move with the gun: never cached. A runner with very many chains (a chip
            # left on a mat) is not cached either: the cache would double what the chains cost.
            self._xcache[reg] = out
        return out

    def _fill_gaps(self, pid: str, mains_r: Any, backup_r: Any, manual_r: Any,
                   trace: Trace | None) -> list[tuple]:
        """Rule 7: backup readers and manual entries count only where main readers have nothing
        within the backup window; a forced manual time counts and displaces main crossings."""
        assert self.config is not None
        pt = self.config.points[pid]
        ignore = self._ignore
        mains = merge_pieces(mains_r, pt.window_ms, pt.pick, "main", pid)
        if ignore:
            mains = _drop_ignored(mains, ignore, trace)
        bw = pt.backup_window_ms
        forced_t: list[int] = []
        extra: list[tuple] = []
        for t, uuid in manual_r:
            c = (t, t, t, (uuid,), "manual", pid, 1)
            if ignore and _is_ignored(c, ignore):
                if trace is not None:
                    trace.notes.append(f"manual {pid} {t}: ignored by a correction")
                continue
            f = self._forced.get(uuid)
            if f and f[1]:
                forced_t.append(t)
            extra.append(c)
        if forced_t:
            kept = []
            for c in mains:
                if any(abs(c[C_TIME] - ft) <= bw for ft in forced_t):
                    if trace is not None:
                        trace.notes.append(f"{pid} main crossing at {c[C_TIME]} replaced by a forced manual time")
                    continue
                kept.append(c)
            mains = kept
        fill = merge_pieces(backup_r, pt.window_ms, pt.pick, "backup", pid)
        if ignore:
            fill = _drop_ignored(fill, ignore, trace)
        out = list(mains)
        mtimes = [c[C_TIME] for c in mains]
        for c in fill + extra:
            forced = c[C_SOURCE] == "manual" and c[C_TIME] in forced_t
            if not forced and mtimes:
                j = bisect_left(mtimes, c[C_TIME] - bw)
                if j < len(mtimes) and mtimes[j] <= c[C_TIME] + bw:
                    if trace is not None:
                        trace.notes.append(f"{pid} {c[C_SOURCE]} crossing at {c[C_TIME]} not used: a main "
                                           f"crossing is within {bw} ms")
                    continue
            out.append(c)
        out.sort(key=_by_time)
        return out

    def explain(self, reg: str, reads: Iterable[Entry] | None = None) -> tuple[RunnerResult | None, Trace]:
        """The runner's result and why. The engine keeps no per-read data, so a trace lists each
        crossing's read count and targeted uuids; pass `reads` (read entries, e.g. the store's
        `iter_rows(0, ["read"])`; others are skipped) to list every read's uuid as well."""
        tr = Trace()
        chains = None
        if reads is not None:
            chains = self._traced_chains(set(self.chips_of(reg)), reads)
        return self.compute(reg, tr, chains), tr



def _by_time(c: tuple) -> int:
    return c[C_TIME]


def _by_first(c: tuple) -> int:
    return c[C_FIRST]


def _is_ignored(c: tuple, ignore: dict[str, tuple[Order, bool]]) -> bool:
    for u in c[C_UUIDS]:
        v = ignore.get(u)
        if v and v[1]:
            return True
    return False


def _drop_ignored(cs: list[tuple], ignore: dict[str, tuple[Order, bool]],
                  trace: Trace | None) -> list[tuple]:
    out = []
    for c in cs:
        if _is_ignored(c, ignore):
            if trace is not None:
                trace.notes.append(f"{c[C_POINT]} {c[C_SOURCE]} crossing at {c[C_TIME]} ignored by a correction")
            continue
        out.append(c)
    return out


def rank_key_of(race: Race, gun_ms: int | None, chip_ms: int | None) -> int | None:
    """Rule 8: the time a finisher is ranked by — chip or gun time, as the race says."""
    return chip_ms if race.ranking == "chip" else gun_ms
