"""The results engine's vocabulary: the records it produces and the small helpers every part shares.
"""

from __future__ import annotations

import contextlib
import gc
from dataclasses import dataclass, field
from typing import Any

DAY_MS = 86_400_000
STATUS_ORDER = {"finished": 0, "running": 1, "DNF": 2, "DQ": 3, "DNS": 4}
STATUS_ACTIONS = {"dns": "DNS", "dnf": "DNF", "dq": "DQ", "reinstate": None}
Order = tuple[int, str, int]

# A dateless read, kept as is (rule 2 places it relative to each runner's gun, so it cannot be
# chained in advance): (t, rssi, point, role, uuid, reader, dateless)
ReadT = tuple[int, Any, str, str, str, str, bool]
BucketKey = tuple[str, str, str]  # (point, role, reader)
DEFAULT_WINDOW_MS = 2000

# While the rules run, a crossing is a plain tuple (built by the thousand, compared and sorted cheaply;
# see `station.results.chains.crossings`): (time, first read, last read, uuids, source, point, reads).
# These name its fields; `Crossing` is the record a trace shows.
C_TIME, C_FIRST, C_LAST, C_UUIDS, C_SOURCE, C_POINT, C_READS = range(7)
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


