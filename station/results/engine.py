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

import time
from collections.abc import Callable, Iterable
from typing import Any

from station.event.config import EventConfig
from station.log.entries import Entry
from station.results.chains import Chain
from station.results.chainstore import ChainStore
from station.results.facts import EngineFacts
from station.results.model import (
    STATUS_ORDER,
    BucketKey,
    Crossing,
    Order,
    ReadT,
    RunnerResult,
    Trace,
    _gc_paused,
    _RaceCtx,
)
from station.results.output import ResultsOutput
from station.results.ranking import Ranking
from station.results.rules import TimingRules
from station.results.sources import ReadLog, ReadSource, StoreReads

__all__ = ["STATUS_ORDER", "Crossing", "Engine", "RunnerResult", "Trace"]


class Engine(EngineFacts, ChainStore, TimingRules, Ranking, ResultsOutput):
    """Holds every fact relevant to results (reads as chains) and derives them incrementally.

    `reads` is where the engine re-reads reads in the rare cases a chain must be split or searched
    (`station.results.sources`); without one it keeps a list of the read entries it applied.

    Its parts, by responsibility: `facts` (what the log says), `chainstore` (reads as chains), `rules`
    (timing rules for one runner), `ranking` (results kept current, ranks), `output` (contract rows).
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
        self._appliers = self._kind_handlers()

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
