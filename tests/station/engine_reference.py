"""The reference for the chain-keeping results engine: test-only, deliberately simple, never fast.

What it is: the engine as it was when it held every read, trimmed to what the chain engine
(`station/results/engine.py`) must reproduce independently — the stored facts (participants, chip
ownership and swaps, clock offsets, guns, corrections) and the timing rules 1–11 for one runner, from
*all* of that runner's reads. `tests/station/test_engine_chains.py` and `test_engine_chainstore.py`
check that the chain engine's per-runner results equal these on generated scenarios.

What it is not: ranking and the results rows (CSV contract order, formatting) are left out on purpose.
A copy of that code would only compare the engine with itself; the tests check the engine's ranks
against an independent competition ranking of the results instead, and the output code has its own
rule tests (test_engine_output.py, test_engine_rules.py).
"""

from __future__ import annotations

import contextlib
import gc
import time
from bisect import bisect_left, bisect_right, insort
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from station.event.config import EventConfig, Race
from station.log.entries import Entry
from station.results.timefmt import category as category_of

DAY_MS = 86_400_000
STATUS_ORDER = {"finished": 0, "running": 1, "DNF": 2, "DQ": 3, "DNS": 4}
STATUS_ACTIONS = {"dns": "DNS", "dnf": "DNF", "dq": "DQ", "reinstate": None}
Order = tuple[int, str, int]

# A stored read: (t, rssi, point, role, uuid, reader, dateless)
ReadT = tuple[int, Any, str, str, str, str, bool]


@dataclass(slots=True)
class Crossing:
    """A runner passing a point: its chosen time, first and last read, the entries that made it."""

    time: int
    first: int
    last: int
    uuids: tuple[str, ...]
    source: str  # main | backup | manual
    point: str = ""


@dataclass(slots=True)
class RunnerResult:
    registration_id: str
    bib: str
    name: str
    gender: str
    category: str
    race: str
    wave: str
    status: str
    gun_start_ms: int | None = None
    start_ms: int | None = None
    finish_ms: int | None = None
    gun_ms: int | None = None
    chip_ms: int | None = None
    splits: dict[str, int] = field(default_factory=dict)
    flags: tuple[str, ...] = ()
    rank_key: int | None = None
    start_source: str = ""
    finish_source: str = ""


@dataclass(slots=True)
class _RaceCtx:
    kinds: dict[str, str]  # point id → kind, for points serving the race
    split_points: list[str]  # in course order
    start_points: set[str]
    finish_points: set[str]
    guns: dict[str, int]  # wave id → gun time (rule 1)
    earlier_gun: dict[str, int | None]  # wave id → earliest gun of an earlier wave (wrong wave flag)
    first_wave: str


@dataclass
class Trace:
    """Why a runner's result is what it is: every crossing kept or ignored, with the reason."""

    crossings: list[Crossing] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


@contextlib.contextmanager
def _gc_paused() -> Any:
    """Bulk passes allocate hundreds of thousands of small acyclic objects; the cyclic collector
    would walk them again and again for nothing (~25% of a full recompute)."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def _latest(store: dict[Any, tuple[Order, Any]], key: Any, order: Order, value: Any) -> bool:
    cur = store.get(key)
    if cur is None or order > cur[0]:
        store[key] = (order, value)
        return True
    return False


class Engine:
    """Holds every fact relevant to results and derives them incrementally."""

    def __init__(self, now_ms: Callable[[], int] | None = None) -> None:
        self.now_ms = now_ms or (lambda: time.time_ns() // 1_000_000)
        self._config_entry: tuple[Order, dict[str, Any]] | None = None
        self.config: EventConfig | None = None
        self._participants: dict[str, tuple[Order, dict[str, Any]]] = {}
        self._cat_cache: dict[str, str] = {}
        self._bib_to_reg: dict[str, str] = {}
        self._chip_base: dict[str, tuple[Order, str]] = {}
        self._assigned: dict[str, list[str]] = {}  # reg → chips handed out at check-in
        self._swaps: dict[str, list[tuple[int, Order, str]]] = {}  # chip → [(from, order, reg)]
        self._swapped_to: dict[str, set[str]] = {}  # reg → chips swapped to them
        self._reads: dict[str, list[ReadT]] = {}
        self._gps_readers: set[str] = set()  # readers whose reads say `gps: true` (never corrected)
        self._manual_by_bib: dict[str, list[tuple[int, str, str]]] = {}  # (t, point, uuid)
        self._manual_by_reg: dict[str, list[tuple[int, str, str]]] = {}
        self._guns: dict[tuple[str | None, str], tuple[Order, int]] = {}
        self._closed: set[str] = set()
        self._offsets: dict[str, list[tuple[int, Order, int]]] = {}
        self._gps: dict[str, tuple[Order, bool]] = {}
        self._status: dict[str, tuple[Order, str | None]] = {}
        self._ignore: dict[str, tuple[Order, bool]] = {}
        self._forced: dict[str, tuple[Order, bool]] = {}
        self._adjust: dict[str, dict[str, int]] = {}  # reg → {uuid: delta}
        self._results: dict[str, RunnerResult] = {}
        self._race_cache: dict[str, _RaceCtx] = {}
        self._strings: dict[str, str] = {}
        self._ints: dict[Any, Any] = {}
        self._xcache: dict[str, tuple[dict[str, list[tuple]], bool, list[int]]] = {}
        self.entry_count = 0

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_entries(cls, entries: Iterable[Entry], now_ms: Callable[[], int] | None = None) -> Engine:
        eng = cls(now_ms)
        with _gc_paused():
            eng.apply(entries, recompute=False)
            eng.recompute_all()
        return eng

    @classmethod
    def from_store(cls, store: Any, now_ms: Callable[[], int] | None = None) -> Engine:
        return cls.from_entries((e for _, e in store.iter_rows()), now_ms)

    # ------------------------------------------------------------------ applying entries
    def apply(self, entries: Iterable[Entry], recompute: bool = True) -> set[str]:
        """Take in entries; returns the registration ids whose result may have changed."""
        dirty: set[str] = set()
        full = False
        keep_crossings = True  # False: something every runner's crossings depend on changed
        for e in entries:
            self.entry_count += 1
            k = e.kind
            p = e.payload
            if k == "read":
                if self._add_read(e, p, dirty):
                    full = True
                    keep_crossings = False
            elif k == "manual_time":
                t = int(p["t"])
                pt = str(p.get("point", ""))
                if p.get("registration_id"):
                    reg = str(p["registration_id"])
                    self._manual_by_reg.setdefault(reg, []).append((t, pt, e.uuid))
                    dirty.add(reg)
                else:
                    bib = str(p.get("bib", ""))
                    self._manual_by_bib.setdefault(bib, []).append((t, pt, e.uuid))
                    reg = self._bib_to_reg.get(bib)
                    if reg:
                        dirty.add(reg)
            elif k == "participant":
                self._add_participant(e, p, dirty)
            elif k == "event_config":
                if self._config_entry is None or e.order > self._config_entry[0]:
                    self._config_entry = (e.order, p)
                    self.config = EventConfig.from_payload(p)
                    self._cat_cache.clear()
                    self._race_cache.clear()
                    full = True
                    keep_crossings = False
            elif k == "gun":
                race = p.get("race") or None
                if _latest(self._guns, (race, str(p.get("wave", ""))), e.order, int(p["t"])):
                    self._race_cache.clear()
                    full = True
            elif k == "race_closed":
                self._closed.add(str(p["race"]))
                full = True
            elif k == "clock_offset":
                lst = self._offsets.setdefault(str(p["reader"]), [])
                insort(lst, (int(p.get("from_ms", 0)), e.order, int(p["offset_ms"])))
                full = True
                keep_crossings = False
            elif k == "reader_config":
                if _latest(self._gps, str(p.get("id")), e.order, bool(p.get("gps", False))) and self._offsets:
                    full = True
                    keep_crossings = False
            elif k == "correction":
                if self._add_correction(e, p, dirty):
                    full = True
                    keep_crossings = False
            elif k == "chip_assigned":
                reg = str(p["registration_id"])
                chip = str(p["chip"])
                self._assigned.setdefault(reg, []).append(chip)
                old = self._chip_base.get(chip)
                if _latest(self._chip_base, chip, e.order, reg) and old:
                    dirty.add(old[1])
                dirty.add(reg)
        if keep_crossings:
            for reg in dirty:
                self._xcache.pop(reg, None)
        else:
            self._xcache.clear()
        if not recompute:
            return dirty
        if full:
            self.recompute_all()
            return set(self._participants)
        for reg in dirty:
            self._update(reg)
        return dirty

    def _add_read(self, e: Entry, p: dict[str, Any], dirty: set[str]) -> bool:
        chip = str(p["chip"])
        t = int(p["t"])
        # Point, role and reader repeat on every read: one shared string each instead of one per
        # read (a station holding millions of reads saves ~150 bytes a read).
        intern = self._strings
        pt = str(p.get("point", ""))
        pt = intern.setdefault(pt, pt)
        role = str(p.get("role") or "main")
        role = intern.setdefault(role, role)
        reader = str(p.get("reader", ""))
        reader = intern.setdefault(reader, reader)
        rssi = p.get("rssi")
        if rssi is not None:
            rssi = self._ints.setdefault(rssi, rssi)
        rec: ReadT = (t, rssi, pt, role, e.uuid, reader, bool(p.get("dateless", False)))
        lst = self._reads.get(chip)
        if lst is None:
            self._reads[chip] = [rec]
        else:
            lst.append(rec)
        owner = self._owner_at(chip, t)
        if owner is not None:
            dirty.add(owner)
        if rec[6]:
            # A dateless read is placed relative to a gun: any runner might own it later.
            dirty.update(self._all_owners(chip))
        if p.get("gps") and rec[5] not in self._gps_readers:
            # Rule 2: a GPS-synced reader is never corrected (reads already computed may change).
            self._gps_readers.add(rec[5])
            return rec[5] in self._offsets
        return False

    @property
    def unknown_reads(self) -> int:
        """Reads of chips that belong to nobody at their time (kept and shown, matched to no runner).

        Computed on demand so the count does not depend on whether the read or the participant
        arrived first."""
        n = 0
        for chip, lst in self._reads.items():
            if chip not in self._swaps and chip not in self._chip_base:
                n += len(lst)
            else:
                n += sum(1 for r in lst if self._owner_at(chip, r[0]) is None)
        return n

    def _add_participant(self, e: Entry, p: dict[str, Any], dirty: set[str]) -> None:
        reg = str(p["registration_id"])
        cur = self._participants.get(reg)
        if cur is not None and e.order <= cur[0]:
            return
        old = cur[1] if cur else None
        self._participants[reg] = (e.order, p)
        self._cat_cache.pop(reg, None)
        if old is not None:
            if self._bib_to_reg.get(str(old.get("bib"))) == reg:
                del self._bib_to_reg[str(old.get("bib"))]
            for ch in old.get("chips") or []:
                base = self._chip_base.get(ch)
                if base and base[1] == reg and ch not in (p.get("chips") or []):
                    del self._chip_base[ch]
                    # Another participant still listing the chip holds it again (latest row wins),
                    # whatever order the rows arrived in.
                    for oreg, (oorder, op) in self._participants.items():
                        if oreg != reg and ch in (op.get("chips") or []) and _latest(
                                self._chip_base, ch, oorder, oreg):
                            dirty.add(oreg)
        self._bib_to_reg[str(p.get("bib"))] = reg
        for ch in p.get("chips") or []:
            prev = self._chip_base.get(ch)
            if _latest(self._chip_base, ch, e.order, reg) and prev and prev[1] != reg:
                dirty.add(prev[1])
        dirty.add(reg)

    def _add_correction(self, e: Entry, p: dict[str, Any], dirty: set[str]) -> bool:
        action = p.get("action")
        reg = p.get("registration_id")
        if reg is None and p.get("bib") is not None:
            reg = self._bib_to_reg.get(str(p["bib"]))
        if action in STATUS_ACTIONS:
            if reg:
                _latest(self._status, reg, e.order, STATUS_ACTIONS[action])
                dirty.add(reg)
            return False
        if action in ("ignore", "unignore"):
            _latest(self._ignore, str(p["target"]), e.order, action == "ignore")
            return self._dirty_for_target(str(p["target"]), dirty)
        if action == "force":
            _latest(self._forced, str(p["target"]), e.order, not p.get("undo", False))
            return self._dirty_for_target(str(p["target"]), dirty)
        if action == "adjust" and reg:
            self._adjust.setdefault(reg, {})[e.uuid] = int(p["delta_ms"])
            dirty.add(reg)
            return False
        if action == "chip_swap" and reg:
            chip = str(p["chip"])
            old_owners = self._all_owners(chip)
            insort(self._swaps.setdefault(chip, []), (int(p.get("from_ms", 0)), e.order, reg))
            self._swapped_to.setdefault(reg, set()).add(chip)
            dirty.update(old_owners)
            dirty.add(reg)
            return False
        return False

    def _dirty_for_target(self, uuid: str, dirty: set[str]) -> bool:
        """Find whose crossing an ignore/force names; unknown yet → recompute everything later."""
        for chip, lst in self._reads.items():
            for r in lst:
                if r[4] == uuid:
                    owner = self._owner_at(chip, r[0])
                    if owner:
                        dirty.add(owner)
                    return False
        for reg, lst in self._manual_by_reg.items():
            if any(u == uuid for _, _, u in lst):
                dirty.add(reg)
                return False
        for bib, lst in self._manual_by_bib.items():
            if any(u == uuid for _, _, u in lst):
                reg = self._bib_to_reg.get(bib)
                if reg:
                    dirty.add(reg)
                return False
        return False

    # ------------------------------------------------------------------ chip ownership
    def _owner_at(self, chip: str, t: int) -> str | None:
        swaps = self._swaps.get(chip)
        if swaps:
            i = bisect_right(swaps, (t, (1 << 62, "\uffff", 1 << 62), "\uffff"))
            if i:
                return swaps[i - 1][2]
        base = self._chip_base.get(chip)
        return base[1] if base else None

    def _all_owners(self, chip: str) -> set[str]:
        out = {s[2] for s in self._swaps.get(chip, [])}
        base = self._chip_base.get(chip)
        if base:
            out.add(base[1])
        return out

    def chips_of(self, reg: str) -> list[str]:
        cur = self._participants.get(reg)
        if reg not in self._assigned and reg not in self._swapped_to:
            return cur[1].get("chips") or [] if cur else []
        chips = list(cur[1].get("chips") or []) if cur else []
        chips += [c for c in self._assigned.get(reg, []) if c not in chips]
        chips += [c for c in self._swapped_to.get(reg, ()) if c not in chips]
        return chips

    # ------------------------------------------------------------------ time helpers
    def gun_time(self, race: Race, wave_id: str) -> int:
        """Rule 1: latest gun entry for the wave (race-specific or for every race), else scheduled."""
        a = self._guns.get((race.id, wave_id))
        b = self._guns.get((None, wave_id))
        if a and b:
            return a[1] if a[0] > b[0] else b[1]
        if a or b:
            return (a or b)[1]  # type: ignore[index]
        return race.wave(wave_id).start_ms

    def _correct(self, reader: str, t: int) -> int:
        lst = self._offsets.get(reader)
        if not lst:
            return t
        gps = self._gps.get(reader)
        if (gps and gps[1]) or reader in self._gps_readers:
            return t
        i = bisect_right(lst, (t, (1 << 62, "\uffff", 1 << 62), 1 << 62))
        return t + lst[i - 1][2] if i else t

    # ------------------------------------------------------------------ the rules for one runner
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

    def compute(self, reg: str, trace: Trace | None = None) -> RunnerResult | None:
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
        cat = self._cat_cache.get(reg)
        if cat is None and p.get("category"):
            cat = str(p["category"])  # kept by a privacy purge in place of the birth date
        if cat is None:
            cat = category_of(p.get("gender") or "X", p.get("birth_date"), cfg.date, cfg.age_groups,
                              cfg.age_basis)
            self._cat_cache[reg] = cat
        res = RunnerResult(reg, str(p.get("bib", "")), p.get("name") or "", p.get("gender") or "X", cat,
                           race.id, wave_id, "DNS", gun, None, None, None, None, {})
        crossings, activity, start_reads = self._crossings_of(reg, p, rc, gun, trace)
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
                if c[2] >= gun and c[1] <= limit:
                    start = c[2]
                    start_src = c[4]
                    break
        if start is None:
            start = gun
        res.start_ms = start
        res.start_source = start_src
        if start_reads:
            lo = rc.earlier_gun.get(wave_id)
            if lo is not None and any(lo <= t < gun for t in start_reads):
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
                if (c[0] - prev) * laps > min_time:
                    passes.append(c)
                    prev = c[0]
                    if len(passes) == laps:
                        break
                elif trace is not None:
                    trace.notes.append(f"{c[5]} crossing at {c[0]} ignored: within the minimum "
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
                    if c[0] > start and (finish is None or c[0] < finish):
                        splits[sp] = c[0] - start
                        break
        if race.laps > 1:
            for n, c in enumerate(passes[: race.laps - 1], start=1):
                splits[f"{c[5]}_{n}"] = c[0] - start
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
            res.rank_key = res.chip_ms if race.ranking == "chip" else res.gun_ms
        return res

    def _crossings_of(self, reg: str, p: dict[str, Any], rc: _RaceCtx, gun: int,
                      trace: Trace | None) -> tuple[dict[str, list[tuple]], bool, list[int]]:
        """Rules 2, 3 and 7 for one runner: their reads (owned chips, serving points, clock
        corrected), chained into crossings per point, gaps filled by backup and manual entries.
        Cached per runner (only reads, chips, corrections or configuration change it)."""
        cached = self._xcache.get(reg) if trace is None else None
        if cached is not None:
            return cached
        cfg = self.config
        assert cfg is not None
        dateless_seen = False
        kinds = rc.kinds
        points = cfg.points
        main: dict[str, list[tuple[int, Any, str]]] = {}
        backup: dict[str, list[tuple[int, Any, str]]] | None = None
        activity = False
        start_reads: list[int] = []
        offsets = self._offsets
        reads = self._reads
        if self._assigned or self._swapped_to:
            chips = self.chips_of(reg)
        else:
            chips = p.get("chips") or ()
        for chip in chips:
            lst = reads.get(chip)
            if not lst:
                continue
            swapped = chip in self._swaps
            if not swapped:
                base = self._chip_base.get(chip)
                if base is None or base[1] != reg:
                    continue  # the chip now belongs to a later participant row (latest wins)
            for t, rssi, pid, role, uuid, reader, dateless in lst:
                kind = kinds.get(pid)
                if kind is None:
                    continue
                if dateless:
                    t += round((gun - t) / DAY_MS) * DAY_MS
                    dateless_seen = True
                if swapped and self._owner_at(chip, t) != reg:
                    continue
                if offsets and reader in offsets:
                    t = self._correct(reader, t)
                activity = True
                if role == "main":
                    lst2 = main.get(pid)
                    if lst2 is None:
                        main[pid] = [(t, rssi, uuid)]
                    else:
                        lst2.append((t, rssi, uuid))
                else:
                    if backup is None:
                        backup = {}
                    backup.setdefault(pid, []).append((t, rssi, uuid))
                if kind == "start" or kind == "start_finish":
                    start_reads.append(t)
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
        # Crossings are tuples (time, first, last, uuids, source, point) in the hot path.
        crossings: dict[str, list[tuple]] = {}
        if backup is None and manual is None:
            for pid, rs in main.items():
                pt = points[pid]
                cs = _crossings(rs, pt.window_ms, pt.pick, "main", pid)
                if ignore:
                    cs = _drop_ignored(cs, ignore, trace)
                crossings[pid] = cs
        else:
            for pid in set(main) | set(backup or ()) | set(manual or ()):
                crossings[pid] = self._fill_gaps(pid, main.get(pid, ()), (backup or {}).get(pid, ()),
                                                 (manual or {}).get(pid, ()), trace)
        out = (crossings, activity, start_reads)
        if trace is None and not dateless_seen:
            self._xcache[reg] = out  # dateless reads move with the gun: never cached
        return out

    def _fill_gaps(self, pid: str, mains_r: Any, backup_r: Any, manual_r: Any,
                   trace: Trace | None) -> list[tuple]:
        """Rule 7: backup readers and manual entries count only where main readers have nothing
        within the backup window; a forced manual time counts and displaces main crossings."""
        assert self.config is not None
        pt = self.config.points[pid]
        ignore = self._ignore
        mains = _crossings(mains_r, pt.window_ms, pt.pick, "main", pid)
        if ignore:
            mains = _drop_ignored(mains, ignore, trace)
        bw = pt.backup_window_ms
        forced_t: list[int] = []
        extra: list[tuple] = []
        for t, uuid in manual_r:
            c = (t, t, t, (uuid,), "manual", pid)
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
                if any(abs(c[0] - ft) <= bw for ft in forced_t):
                    if trace is not None:
                        trace.notes.append(f"{pid} main crossing at {c[0]} replaced by a forced manual time")
                    continue
                kept.append(c)
            mains = kept
        fill = _crossings(backup_r, pt.window_ms, pt.pick, "backup", pid)
        if ignore:
            fill = _drop_ignored(fill, ignore, trace)
        out = list(mains)
        mtimes = [c[0] for c in mains]
        for c in fill + extra:
            forced = c[4] == "manual" and c[0] in forced_t
            if not forced and mtimes:
                j = bisect_left(mtimes, c[0] - bw)
                if j < len(mtimes) and mtimes[j] <= c[0] + bw:
                    if trace is not None:
                        trace.notes.append(f"{pid} {c[4]} crossing at {c[0]} not used: a main "
                                           f"crossing is within {bw} ms")
                    continue
            out.append(c)
        out.sort(key=_by_time)
        return out

    # ------------------------------------------------------------------ results (no ranking: see the docstring)

    def _update(self, reg: str) -> None:
        new = self.compute(reg)
        if new is None:
            self._results.pop(reg, None)
            return
        self._results[reg] = new

    def recompute_all(self) -> None:
        with _gc_paused():
            self._recompute_all()

    def _recompute_all(self) -> None:
        self._results = {}
        for reg in self._participants:
            r = self.compute(reg)
            if r is not None:
                self._results[reg] = r

    # ------------------------------------------------------------------ queries
    def result(self, reg: str) -> RunnerResult | None:
        return self._results.get(reg)

    def results(self) -> dict[str, RunnerResult]:
        return self._results

    def participant(self, reg: str) -> dict[str, Any] | None:
        cur = self._participants.get(reg)
        return cur[1] if cur else None

    def participants(self) -> dict[str, dict[str, Any]]:
        return {k: v[1] for k, v in self._participants.items()}

    def reg_for_bib(self, bib: str) -> str | None:
        return self._bib_to_reg.get(str(bib))

    def owner_of_chip(self, chip: str, t: int | None = None) -> str | None:
        return self._owner_at(chip, t if t is not None else self.now_ms())

    def explain(self, reg: str) -> tuple[RunnerResult | None, Trace]:
        tr = Trace()
        return self.compute(reg, tr), tr


def _by_time(c: tuple) -> int:
    return c[0]


def _by_first(c: tuple) -> int:
    return c[1]


def _crossings(reads: Any, window: int, pick: str, source: str, point: str) -> list[tuple]:
    """Rule 3: chain reads less than `window` ms apart into crossings; time = first or peak read.

    A crossing is `(time, first, last, uuids, source, point)`.
    """
    if not reads:
        return []
    if len(reads) == 1:
        t, _rssi, uuid = reads[0]
        return [(t, t, t, (uuid,), source, point)]
    rs = sorted(reads, key=_by_time)
    out: list[tuple] = []
    peak = pick == "peak"
    first = last = rs[0][0]
    best_t, best_rssi = rs[0][0], rs[0][1]
    uuids = [rs[0][2]]
    for t, rssi, uuid in rs[1:]:
        if t - last < window:
            last = t
            uuids.append(uuid)
            if peak and rssi is not None and (best_rssi is None or rssi > best_rssi):
                best_t, best_rssi = t, rssi
            continue
        out.append((best_t if peak else first, first, last, tuple(uuids), source, point))
        first = last = best_t = t
        best_rssi = rssi
        uuids = [uuid]
    out.append((best_t if peak else first, first, last, tuple(uuids), source, point))
    return out


def _is_ignored(c: tuple, ignore: dict[str, tuple[Order, bool]]) -> bool:
    for u in c[3]:
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
                trace.notes.append(f"{c[5]} {c[4]} crossing at {c[0]} ignored by a correction")
            continue
        out.append(c)
    return out
