"""The results engine: DESIGN.md timing rules 1–11 as a pure function of the event log.

Why it is shaped this way:
- Entries may arrive in any order (peers sync late, a CLI call runs beside the app), so the engine
  stores every fact as given and derives results on demand; "latest" always compares `Entry.order`.
  Applying the same set of entries in any order gives the same results.
- Live timing must stay instant at 40,000 runners: `apply()` recomputes only the runners an entry
  touches (a read → its chip's owner at that time) and keeps, per ranking group, a sorted list of
  ranking times, so a rank is a binary search rather than a re-sort of the race.
- Only configuration-wide facts (event config, guns, clock offsets, closing a race) trigger a full
  recompute, which is a single pass plus one sort per group.
- Rule 11 ("past its cutoff") depends on the clock, so the engine takes `now_ms` explicitly: results
  are a pure function of (entries, now).
"""

from __future__ import annotations

import contextlib
import gc
import time
from bisect import bisect_left, bisect_right, insort
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from operator import attrgetter
from typing import Any

from station.config import EventConfig, Race
from station.entries import Entry
from station.results.chains import Chain, TracedChain, find, insert, merge_pieces, same_side, straddling
from station.results.sources import ReadLog, ReadSource, StoreReads
from station.results.timefmt import category as category_of
from station.results.timefmt import fmt_duration

DAY_MS = 86_400_000
STATUS_ORDER = {"finished": 0, "running": 1, "DNF": 2, "DQ": 3, "DNS": 4}
STATUS_ACTIONS = {"dns": "DNS", "dnf": "DNF", "dq": "DQ", "reinstate": None}
Order = tuple[int, str, int]

# A dateless read, kept as is (rule 2 places it relative to each runner's gun, so it cannot be
# chained in advance): (t, rssi, point, role, uuid, reader, dateless)
ReadT = tuple[int, Any, str, str, str, str, bool]
BucketKey = tuple[str, str, str]  # (point, role, reader)
DEFAULT_WINDOW_MS = 2000
XCACHE_MAX_PIECES = 24


@dataclass(slots=True)
class Crossing:
    """A runner passing a point: its chosen time, first and last read, the entries that made it."""

    time: int
    first: int
    last: int
    uuids: tuple[str, ...]  # targeted uuids only, or every read's when the trace was given the reads
    source: str  # main | backup | manual
    point: str = ""
    reads: int = 0  # how many reads (or manual entries) made it


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
    """Holds every fact relevant to results (reads as chains) and derives them incrementally.

    `reads` is where the engine re-reads reads in the rare cases a chain must be split or searched
    (`station.results.sources`); without one it keeps a list of the read entries it applied.
    """

    def __init__(self, now_ms: Callable[[], int] | None = None, reads: ReadSource | None = None, *,
                 cache_crossings: bool = True) -> None:
        self.now_ms = now_ms or (lambda: time.time_ns() // 1_000_000)
        #: keep each runner's crossings between recomputes (fast live updates for the app); a
        #: long-running publisher recomputes a runner only when their reads change and saves the memory
        self.cache_crossings = cache_crossings
        self._config_entry: tuple[Order, dict[str, Any]] | None = None
        self.config: EventConfig | None = None
        self._participants: dict[str, tuple[Order, dict[str, Any]]] = {}
        self._cat_cache: dict[str, str] = {}
        self._bib_to_reg: dict[str, str] = {}
        self._chip_base: dict[str, tuple[Order, str]] = {}
        self._assigned: dict[str, list[str]] = {}  # reg → chips handed out at check-in
        self._swaps: dict[str, list[tuple[int, Order, str]]] = {}  # chip → [(from, order, reg)]
        self._swapped_to: dict[str, set[str]] = {}  # reg → chips swapped to them
        # chip → (point, role, reader) → chains sorted by first read (see station.results.chains)
        self._chains: dict[str, dict[BucketKey, list[Chain]]] = {}
        self._dateless: dict[str, list[ReadT]] = {}
        self._keys: dict[BucketKey, BucketKey] = {}
        self._reader_chips: dict[str, set[str]] = {}
        self._cuts_r: dict[str, list[int]] = {}  # reader → clock_offset from_ms values (chain cuts)
        self._cuts_c: dict[str, list[int]] = {}  # chip → chip_swap from_ms values (chain cuts)
        self._wins: dict[str, int] = {}  # point → window (ms) of the current configuration
        self._bw: dict[str, int] = {}  # point → widest window chains were built with since a rebuild
        self._targets: set[str] = set()  # uuids named by ignore/unignore/force
        self._target_loc: dict[str, tuple[str, int]] = {}  # targeted read uuid → (chip, t)
        self._absorbed: set[str] = set()  # reads taken from a non-exact source before being applied
        self._pend_buckets: set[tuple[str, BucketKey]] = set()
        self._pend_pids: set[str] = set()
        self._pend_uuids: set[str] = set()
        self._log: ReadLog | None = None
        if reads is None:
            self._log = ReadLog()
            reads = self._log
        self._source: ReadSource = reads
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
        self._groups: dict[tuple[str, ...], list[int]] = {}
        self.entry_count = 0

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_entries(cls, entries: Iterable[Entry], now_ms: Callable[[], int] | None = None,
                     reads: ReadSource | None = None, *, cache_crossings: bool = True) -> Engine:
        eng = cls(now_ms, reads, cache_crossings=cache_crossings)
        with _gc_paused():
            eng.apply(entries, recompute=False)
            eng.recompute_all()
        return eng

    @classmethod
    def from_store(cls, store: Any, now_ms: Callable[[], int] | None = None) -> Engine:
        return cls.from_entries((e for _, e in store.iter_rows(runs=True)), now_ms, StoreReads(store))

    # ------------------------------------------------------------------ applying entries
    def apply(self, entries: Iterable[Entry], recompute: bool = True) -> set[str]:
        """Take in entries; returns the registration ids whose result may have changed.

        `recompute=False` only takes the entries in: results are brought up to date by a later
        `update(regs)` with the ids returned (a follower catching up on a backlog recomputes each
        runner once, not once per batch)."""
        dirty: set[str] = set()
        full = False
        keep_crossings = True  # False: something every runner's crossings depend on changed
        for e in entries:
            k = e.kind
            if k == "read" and type(e) is not Entry:  # a run of reads committed together (`_add_run`)
                self.entry_count += len(e.run)  # type: ignore[attr-defined]
                if self._add_run(e, dirty):
                    full = True
                    keep_crossings = False
                continue
            self.entry_count += 1
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
                    self._config_windows()
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
                reader = str(p["reader"])
                lst = self._offsets.setdefault(reader, [])
                insort(lst, (int(p.get("from_ms", 0)), e.order, int(p["offset_ms"])))
                self._add_cut(self._cuts_r, reader, int(p.get("from_ms", 0)),
                              [(chip, reader) for chip in self._reader_chips.get(reader, ())])
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
        if self._pend_buckets or self._pend_pids or self._pend_uuids:
            if self._resolve(dirty):
                keep_crossings = False
        if keep_crossings:
            for reg in dirty:
                self._xcache.pop(reg, None)
        else:
            self._xcache.clear()
        if not recompute:
            # the caller recomputes later (`update`): tell it everyone when everyone may have changed
            return set(self._participants) if full else dirty
        if full:
            self.recompute_all()
            return set(self._participants)
        for reg in dirty:
            self._update(reg)
        return dirty

    def _add_read(self, e: Entry, p: dict[str, Any], dirty: set[str]) -> bool:
        chip = str(p["chip"])
        t = int(p["t"])
        # Point, role and reader repeat on every read: one shared string each.
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
        dateless = bool(p.get("dateless", False))
        if self._log is not None:
            self._log.add(e)
        uuid = e.uuid
        if self._absorbed and uuid in self._absorbed:
            self._absorbed.discard(uuid)  # already merged by a rebuild from the store
        elif dateless:
            rec: ReadT = (t, rssi, pt, role, uuid, reader, True)
            self._dateless.setdefault(chip, []).append(rec)
        else:
            key = (pt, role, reader)
            key = self._keys.setdefault(key, key)
            target = uuid if uuid in self._targets else None
            self._chain_read(chip, t, rssi, key, self._wins.get(pt) or self._window(pt), target)
            if target is not None:
                self._target_loc[uuid] = (chip, t)
        owner = self._owner_at(chip, t)
        if owner is not None:
            dirty.add(owner)
        if dateless:
            # A dateless read is placed relative to a gun: any runner might own it later.
            dirty.update(self._all_owners(chip))
        if p.get("gps") and reader not in self._gps_readers:
            # Rule 2: a GPS-synced reader is never corrected (reads already computed may change).
            self._gps_readers.add(reader)
            return reader in self._offsets
        return False

    def _chain_read(self, chip: str, t: int, rssi: Any, key: tuple[str, str, str], w: int,
                    target: str | None) -> None:
        """Merge one read into its (chip, point/role/reader) chains."""
        buckets = self._chains.get(chip)
        if buckets is None:
            buckets = self._chains[chip] = {}
        bucket = buckets.get(key)
        if bucket is None:
            bucket = buckets[key] = []
            self._reader_chips.setdefault(key[2], set()).add(chip)
        insert(bucket, t, rssi, target, w, self._cuts_r.get(key[2]), self._cuts_c.get(chip))

    def _add_run(self, cr: Any, dirty: set[str]) -> bool:
        """A run of reads committed together (`station.store.CommittedRun`), taken column by column:
        no entry or payload dict per read. Anything unusual — dateless or GPS reads, reads the engine
        must remember for a later rebuild, targeted uuids — goes read by read through `_add_read`."""
        run = cr.run
        if (self._log is not None or self._absorbed or run.dateless is not None or run.gps
                or (self._targets and self._run_targeted(cr.uuid, len(run.chip)))):
            full = False
            for e in cr.entries():
                full = self._add_read(e, e.payload, dirty) or full
            return full
        intern = self._strings
        pt = intern.setdefault(run.point, run.point)
        role = run.role or "main"
        role = intern.setdefault(role, role)
        reader = intern.setdefault(run.reader, run.reader)
        key = (pt, role, reader)
        key = self._keys.setdefault(key, key)
        w = self._wins.get(pt) or self._window(pt)
        ints = self._ints
        chain = self._chain_read
        owner_at = self._owner_at
        add = dirty.add
        chains, swaps, base_of, cuts_c = self._chains, self._swaps, self._chip_base, self._cuts_c
        plain = not self._cuts_r.get(reader)
        rssis = run.rssi if run.rssi is not None else [None] * len(run.chip)
        for chip, t, rssi in zip(run.chip, run.t, rssis, strict=True):
            if rssi is not None:
                rssi = ints.setdefault(rssi, rssi)
            buckets = chains.get(chip)
            bucket = buckets.get(key) if buckets is not None else None
            c = bucket[-1] if bucket else None
            if c is not None and plain and t >= c.last and t - c.last < w and not cuts_c.get(chip):
                # the usual case, inlined: the next read of the chip's newest chain (as chains.insert)
                c.last = t
                c.count += 1
                pr = c.peak_rssi
                if rssi is not None and (pr is None or rssi > pr):
                    c.peak_rssi = rssi
                    c.peak_t = t
            else:
                chain(chip, t, rssi, key, w, None)
            if swaps.get(chip):
                owner = owner_at(chip, t)
            else:
                base = base_of.get(chip)
                owner = base[1] if base else None
            if owner is not None:
                add(owner)
        return False

    def _run_targeted(self, first: str, n: int) -> bool:
        """Does a correction name one of this run's reads? Its uuids count up from `first` in the last
        8 hex digits (`station.store.nth_uuid`): a range check per target, no uuid per read."""
        head = first[:28]
        try:
            base = int(first[28:], 16)
        except ValueError:
            return True  # not a packed-row uuid: take the careful path
        for u in self._targets:
            if u[:28] == head and len(u) == len(first):
                try:
                    k = int(u[28:], 16) - base
                except ValueError:
                    continue
                if 0 <= k < n:
                    return True
        return False

    # ------------------------------------------------------------------ chains: windows, cuts, rebuilds
    def _window(self, pid: str) -> int:
        cfg = self.config
        pt = cfg.points.get(pid) if cfg is not None else None
        w = pt.window_ms if pt is not None else DEFAULT_WINDOW_MS
        self._wins[pid] = w
        if self._bw.get(pid, 0) < w:
            self._bw[pid] = w
        return w

    def _config_windows(self) -> None:
        """A new configuration may narrow a point's window: chains built wider must be rebuilt (a
        wider window needs nothing: finer chains are merged at compute time)."""
        self._wins.clear()
        for pid, bw in list(self._bw.items()):
            if self._window(pid) < bw:
                self._pend_pids.add(pid)

    def _add_cut(self, cuts: dict[str, list[int]], name: str, cut: int,
                 scope: list[tuple[str, str | None]]) -> None:
        """Register a chain cut (offset or swap `from_ms`); chains already spanning it are split at
        the end of the batch. `scope`: (chip, reader or None for every reader) buckets to check."""
        lst = cuts.setdefault(name, [])
        i = bisect_left(lst, cut)
        if i < len(lst) and lst[i] == cut:
            return
        lst.insert(i, cut)
        for chip, reader in scope:
            for key, bucket in self._chains.get(chip, {}).items():
                if (reader is None or key[2] == reader) and straddling(bucket, cut) is not None:
                    self._pend_buckets.add((chip, key))

    def _read_key(self, p: dict[str, Any]) -> BucketKey:
        pt = str(p.get("point", ""))
        role = str(p.get("role") or "main")
        reader = str(p.get("reader", ""))
        key = (self._strings.setdefault(pt, pt), self._strings.setdefault(role, role),
               self._strings.setdefault(reader, reader))
        return self._keys.setdefault(key, key)

    def _resolve(self, dirty: set[str]) -> bool:
        """One pass over the read source for what this batch left pending: split chains that span a
        new cut, rebuild points whose window narrowed, find the chains of late-targeted reads.
        Returns True when chains were rebuilt (cached crossings are then stale)."""
        ranges: dict[tuple[str, BucketKey], list[Chain]] = {}
        for chip, key in self._pend_buckets:
            bucket = self._chains.get(chip, {}).get(key)
            if not bucket:
                continue
            cr, cc = self._cuts_r.get(key[2]), self._cuts_c.get(chip)
            bad = [c for c in bucket if not (same_side(cr, c.first, c.last) and same_side(cc, c.first, c.last))]
            if bad:
                ranges[(chip, key)] = bad
        pids = set(self._pend_pids)
        uuids = set(self._pend_uuids)
        self._pend_buckets.clear()
        self._pend_pids.clear()
        self._pend_uuids.clear()
        if not ranges and not pids and not uuids:
            return False
        collected: dict[tuple[str, BucketKey], list[tuple[int, Any, str]]] = {}
        found: dict[str, tuple[str, BucketKey, int]] = {}
        # Only late targets (the usual correction): look them up by uuid instead of a scan; chains to
        # split (a chip swap, a clock offset): the reads of their chips only, when the source can.
        source: Iterable[Entry]
        of_chips = getattr(self._source, "of_chips", None)
        if not ranges and not pids:
            source = self._source.find(uuids)
        elif not pids and of_chips is not None:
            picked = list(of_chips({chip for chip, _key in ranges}))
            if uuids:
                seen = {e.uuid for e in picked}
                picked += [e for e in self._source.find(uuids) if e.uuid not in seen]
            source = picked
        else:
            source = self._source.scan()
        for e in source:
            if e.kind != "read":
                continue
            p = e.payload
            if p.get("dateless"):
                continue  # dateless reads are kept as reads: nothing to rebuild or search
            chip = str(p["chip"])
            key = self._read_key(p)
            t = int(p["t"])
            if uuids and e.uuid in uuids:
                found[e.uuid] = (chip, key, t)
            if key[0] in pids:
                collected.setdefault((chip, key), []).append((t, p.get("rssi"), e.uuid))
                continue
            bad = ranges.get((chip, key)) if ranges else None
            if bad and any(c.first <= t <= c.last for c in bad):
                collected.setdefault((chip, key), []).append((t, p.get("rssi"), e.uuid))
        exact = self._source.exact
        rebuilt_chips: set[str] = set()
        for pid in pids:
            self._bw[pid] = self._window(pid)
            for chip, buckets in self._chains.items():
                for key in buckets:
                    if key[0] == pid:
                        buckets[key] = []
                        rebuilt_chips.add(chip)
        for (chip, key), bad in ranges.items():
            if key[0] in pids:
                continue
            ids = {id(c) for c in bad}
            bucket = self._chains[chip][key]
            bucket[:] = [c for c in bucket if id(c) not in ids]
            rebuilt_chips.add(chip)
        for (chip, key), reads in collected.items():
            buckets = self._chains.setdefault(chip, {})
            bucket = buckets.setdefault(key, [])
            self._reader_chips.setdefault(key[2], set()).add(chip)
            w = self._wins.get(key[0]) or self._window(key[0])
            cr, cc = self._cuts_r.get(key[2]), self._cuts_c.get(chip)
            targets = self._targets
            for t, rssi, u in reads:
                if rssi is not None:
                    rssi = self._ints.setdefault(rssi, rssi)
                target = u if u in targets else None
                insert(bucket, t, rssi, target, w, cr, cc)
                if target is not None:
                    self._target_loc[u] = (chip, t)
                if not exact:
                    self._absorbed.add(u)
            rebuilt_chips.add(chip)
        for u, (chip, key, t) in found.items():
            bucket = self._chains.get(chip, {}).get(key)
            c = find(bucket, t) if bucket else None
            if c is None:
                continue  # not applied yet: it is marked when it arrives (its uuid is targeted)
            c.mark(u)
            self._target_loc[u] = (chip, t)
            owner = self._owner_at(chip, t)
            if owner:
                dirty.add(owner)
                self._xcache.pop(owner, None)
        for chip in rebuilt_chips:
            dirty.update(self._all_owners(chip))
        return bool(rebuilt_chips)

    def _reads_between(self, chip: str, key: BucketKey, lo_raw: int, hi_raw: int, d: int, lo: int,
                       hi: int) -> bool:
        """Exact check (slow path, from the read source): has this bucket a read with raw time in
        [lo_raw, hi_raw] whose corrected time (raw + d) is in [lo, hi)?"""
        of_chips = getattr(self._source, "of_chips", None)
        for e in of_chips({chip}) if of_chips is not None else self._source.scan():
            if e.kind != "read":
                continue
            p = e.payload
            if p.get("dateless") or str(p["chip"]) != chip or self._read_key(p) != key:
                continue
            t = int(p["t"])
            if lo_raw <= t <= hi_raw and lo <= t + d < hi:
                return True
        return False

    @property
    def unknown_reads(self) -> int:
        """Reads of chips that belong to nobody at their time (kept and shown, matched to no runner).

        Computed on demand so the count does not depend on whether the read or the participant
        arrived first."""
        n = 0
        for chip, buckets in self._chains.items():
            known = chip in self._swaps or chip in self._chip_base
            for bucket in buckets.values():
                if not known:
                    n += sum(c.count for c in bucket)
                else:
                    n += sum(c.count for c in bucket if self._owner_at(chip, c.first) is None)
        for chip, lst in self._dateless.items():
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
            self._add_cut(self._cuts_c, chip, int(p.get("from_ms", 0)), [(chip, None)])
            self._swapped_to.setdefault(reg, set()).add(chip)
            dirty.update(old_owners)
            dirty.add(reg)
            return False
        return False

    def _dirty_for_target(self, uuid: str, dirty: set[str]) -> bool:
        """Find whose crossing an ignore/force names. A read merged before anyone targeted it is
        searched in the read source at the end of the batch (rare: one pass per such correction);
        a read not yet arrived is marked in its chain when it arrives."""
        self._targets.add(uuid)
        loc = self._target_loc.get(uuid)
        if loc is not None:
            owner = self._owner_at(*loc)
            if owner:
                dirty.add(owner)
            return False
        for chip, lst in self._dateless.items():
            for r in lst:
                if r[4] == uuid:
                    owner = self._owner_at(chip, r[0])
                    if owner:
                        dirty.add(owner)
                    return False
        for reg, mlst in self._manual_by_reg.items():
            if any(u == uuid for _, _, u in mlst):
                dirty.add(reg)
                return False
        for bib, mlst in self._manual_by_bib.items():
            if any(u == uuid for _, _, u in mlst):
                reg = self._bib_to_reg.get(bib)
                if reg:
                    dirty.add(reg)
                return False
        if self._chains:
            self._pend_uuids.add(uuid)
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
                if c[2] >= gun and c[1] <= limit:
                    start = c[2]
                    start_src = c[4]
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
                if any(abs(c[0] - ft) <= bw for ft in forced_t):
                    if trace is not None:
                        trace.notes.append(f"{pid} main crossing at {c[0]} replaced by a forced manual time")
                    continue
                kept.append(c)
            mains = kept
        fill = merge_pieces(backup_r, pt.window_ms, pt.pick, "backup", pid)
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

    # ------------------------------------------------------------------ ranking
    @staticmethod
    def _group_keys(r: RunnerResult) -> tuple[tuple[str, ...], ...]:
        return (("o", r.race), ("g", r.race, r.gender), ("c", r.race, r.category))

    def _update(self, reg: str) -> None:
        old = self._results.get(reg)
        if old is not None and old.rank_key is not None:
            for g in self._group_keys(old):
                lst = self._groups.get(g)
                if lst:
                    i = bisect_left(lst, old.rank_key)
                    if i < len(lst) and lst[i] == old.rank_key:
                        del lst[i]
        new = self.compute(reg)
        if new is None:
            self._results.pop(reg, None)
            return
        self._results[reg] = new
        if new.rank_key is not None:
            for g in self._group_keys(new):
                insort(self._groups.setdefault(g, []), new.rank_key)

    def update(self, regs: Iterable[str]) -> None:
        """Recompute the given runners (after `apply(..., recompute=False)` batches)."""
        regs = set(regs)
        if len(regs) * 2 > len(self._participants):
            self.recompute_all()
            return
        for reg in regs:
            self._update(reg)

    def recompute_all(self) -> None:
        with _gc_paused():
            self._recompute_all()

    def _recompute_all(self) -> None:
        self._results = {}
        groups: dict[tuple[str, ...], list[int]] = {}
        compute = self.compute
        for reg in self._participants:
            r = compute(reg)
            if r is None:
                continue
            self._results[reg] = r
            if r.rank_key is not None:
                for g in self._group_keys(r):
                    lst = groups.get(g)
                    if lst is None:
                        groups[g] = [r.rank_key]
                    else:
                        lst.append(r.rank_key)
        for lst in groups.values():
            lst.sort()
        self._groups = groups

    def refresh_clock(self) -> set[str]:
        """Rule 11 depends on the clock: re-check runners still `running` in races whose cutoff has
        passed (live views call this every few seconds). Returns the registrations that changed."""
        cfg = self.config
        if cfg is None:
            return set()
        now = self.now_ms()
        changed: set[str] = set()
        for reg, r in list(self._results.items()):
            if r.status != "running":
                continue
            race = cfg.races.get(r.race)
            if race is None or race.cutoff_ms is None or r.gun_start_ms is None:
                continue
            if now > r.gun_start_ms + race.cutoff_ms:
                self._update(reg)
                changed.add(reg)
        return changed

    def ranks(self, r: RunnerResult) -> tuple[int | None, int | None, int | None]:
        """(overall, gender, category) competition ranks: ties share a rank (1, 2, 2, 4)."""
        if r.rank_key is None:
            return (None, None, None)
        out = []
        for g in self._group_keys(r):
            out.append(bisect_left(self._groups.get(g, []), r.rank_key) + 1)
        return (out[0], out[1], out[2])

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

    def explain(self, reg: str, reads: Iterable[Entry] | None = None) -> tuple[RunnerResult | None, Trace]:
        """The runner's result and why. The engine keeps no per-read data, so a trace lists each
        crossing's read count and targeted uuids; pass `reads` (read entries, e.g. the store's
        `iter_rows(0, ["read"])`; others are skipped) to list every read's uuid as well."""
        tr = Trace()
        chains = None
        if reads is not None:
            chains = self._traced_chains(set(self.chips_of(reg)), reads)
        return self.compute(reg, tr, chains), tr

    def _traced_chains(self, chips: set[str], reads: Iterable[Entry]) -> dict[str, dict[BucketKey, list[Chain]]]:
        out: dict[str, dict[BucketKey, list[Chain]]] = {}
        for e in reads:
            if e.kind != "read":
                continue
            p = e.payload
            chip = str(p["chip"])
            if chip not in chips or p.get("dateless"):
                continue
            key = self._read_key(p)
            t = int(p["t"])
            bucket = out.setdefault(chip, {}).setdefault(key, [])
            c = insert(bucket, t, p.get("rssi"), e.uuid if e.uuid in self._targets else None,
                       self._wins.get(key[0]) or self._window(key[0]), self._cuts_r.get(key[2]),
                       self._cuts_c.get(chip), TracedChain)
            c.uuids.append((t, e.uuid))  # type: ignore[attr-defined]
        return out

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


def rank_key_of(race: Race, gun_ms: int | None, chip_ms: int | None) -> int | None:
    """Rule 8: the time a finisher is ranked by — chip or gun time, as the race says."""
    return chip_ms if race.ranking == "chip" else gun_ms


def _bib_number(r: RunnerResult) -> int:
    return int(r.bib)


def _rank_key(r: RunnerResult) -> int:
    return r.rank_key  # type: ignore[return-value]


def _status_key(r: RunnerResult) -> int:
    return STATUS_ORDER.get(r.status, 9)


def _by_time(c: tuple) -> int:
    return c[0]


def _by_first(c: tuple) -> int:
    return c[1]


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
