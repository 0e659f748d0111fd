"""Plain, immutable pictures of the domain that the domain worker sends to the GUI thread.

Why snapshots: Qt models must never query SQLite or the engine inside `data()` (that would block
the GUI behind the writer thread), and sharing live domain objects across threads invites races. The
worker builds these from the engine on its own thread; the GUI only reads them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# Result row layout (tuples: 40,000 of them are built and sorted quickly).
R_RACE, R_RANK, R_BIB, R_NAME, R_GENDER, R_CAT, R_CAT_RANK, R_GENDER_RANK, R_STATUS, R_CHIP, R_GUN, \
    R_REG, R_SPLITS, R_CLUB, R_FLAGS, R_STATUS_ORDER, R_FINISH = range(17)
ResultRow = tuple[Any, ...]


@dataclass(frozen=True)
class RaceInfo:
    id: str
    name: str
    distance_m: float
    waves: tuple[tuple[str, int], ...]  # (wave id, scheduled gun UTC ms)


@dataclass(frozen=True)
class EventInfo:
    """What screens need of the configuration (empty id: no event loaded yet)."""

    id: str = ""
    name: str = ""
    date: str = ""
    timezone: str = "UTC"
    races: tuple[RaceInfo, ...] = ()
    points: tuple[tuple[str, str], ...] = ()  # (point id, kind)
    split_points: tuple[str, ...] = ()
    readers: tuple[dict[str, Any], ...] = ()  # latest reader_config payloads
    #: why this desk cannot register a walk-up (a station.errors.CommandError), None when it can
    walkup_refusal: Any = None


@dataclass(frozen=True)
class ResultsSnapshot:
    rows: tuple[ResultRow, ...]
    split_points: tuple[str, ...]
    version: int


@dataclass(frozen=True)
class FeedRow:
    """One crossing as the live feed shows it (a run of reads of one chip at one point)."""

    t: int
    point: str
    chip: str
    bib: str
    name: str
    source: str  # reader id or "manual"
    uuid: str


@dataclass(frozen=True)
class UnknownChip:
    chip: str
    reads: int
    last_t: int
    point: str


@dataclass(frozen=True)
class Counts:
    """Per race: participants, checked in, started, finished."""

    by_race: dict[str, tuple[int, int, int, int]] = field(default_factory=dict)
    checked_in: int = 0
    participants: int = 0


@dataclass(frozen=True)
class ReaderState:
    """A reader's light: everything the status bar and the readers table show."""

    id: str
    point: str
    format: str
    role: str
    running: bool
    connected: bool
    silent: bool
    connection: str
    reads: int
    reads_per_s: float
    last_chip: str | None
    last_read_t: int | None
    last_line_rx: int | None
    clock_offset_ms: int | None
    confirmed_offset_ms: int | None
    clock_warning: str
    unparsed: int
    address: str = ""  # the serial port or URL, or the TCP listen address

    @property
    def alive(self) -> bool:
        return self.running and self.connected and not self.silent


@dataclass(frozen=True)
class SyncInfo:
    configured: bool = False
    state: str = "off"
    online: bool = False
    waiting: int = 0
    last_sync_ms: int | None = None
    last_error: str | None = None


@dataclass(frozen=True)
class AnnouncerSnapshot:
    """The announcer screen's mat: who crossed it, newest first (`station.web.board.Crossed`, the same
    rows and rule as the web announcer's page), the VIPs among them pinned apart."""

    mat: str
    vips: tuple[Any, ...]
    rows: tuple[Any, ...]
