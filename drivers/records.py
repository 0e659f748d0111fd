"""Plain record types the reader drivers produce.

Drivers import nothing of the station (DESIGN: dependencies point one way), so they speak these small
records. Times are kept as the reader gave them: `wall_ms` is the reader's wall-clock time read as if it
were UTC (milliseconds since 1970-01-01 00:00 *reader time*); turning that into a true UTC instant needs
the reader's zone, which only the station knows. A dateless time (ALGE Timy, MYLAPS without `d`) is
milliseconds since the reader's midnight, flagged `dateless`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Union


@dataclass(slots=True)
class TagRead:
    """One tag read as the reader sent it."""

    chip: str
    wall_ms: int
    raw: str
    key: str | None = None  # the protocol's resend key (without the reader id); None → the raw line
    ant: int | None = None
    rssi: int | None = None
    dateless: bool = False
    rewind: bool = False  # sent by a replay/rewind command rather than live
    log_index: int | None = None  # the reader's own running index, for gap recovery


@dataclass(slots=True)
class ReadChunk:
    """Many well-formed tag reads parsed at once, as columns (a protocol's bulk fast path).

    Field i of every list belongs to read i; each read equals the `TagRead` the line parser would
    give for that line (the protocol's tests check that)."""

    chip: list[str]
    wall_ms: list[int]
    raw: list[str]
    key: list[str]
    ant: list[int]
    rssi: list[int]
    rewind: list[bool]
    log_index: list[int]
    #: set when every key is `<key_head>/<log_index>` (one reader, one box): a single resend stream
    key_head: str | None = None


@dataclass(slots=True)
class Impulse:
    """A timing impulse (photocell, start gun) from a chronometer: ALGE Timy."""

    channel: str
    number: int
    wall_ms: int  # ms since the reader's midnight
    raw: str
    dateless: bool = True


@dataclass(slots=True)
class Heartbeat:
    """Proof of life (Ultra `V=`, MYLAPS Ping, RACE RESULT GETTIME reply, …)."""

    raw: str
    info: str = ""


@dataclass(slots=True)
class ClockReading:
    """The reader's own clock as it answered a time query: used to measure its offset."""

    wall_ms: int
    raw: str


@dataclass(slots=True)
class Status:
    """A status or reply line that carries no read (Ultra `S=`, command echoes, MYLAPS Pong)."""

    raw: str
    info: str = ""


@dataclass(slots=True)
class Unparsed:
    """A line that could not be understood: kept raw, flagged and counted, never fatal."""

    raw: str
    error: str
    key: str | None = None


Record = Union[TagRead, Impulse, Heartbeat, ClockReading, Status, Unparsed]  # noqa: UP007

# Seconds between 1970-01-01 and 1980-01-01 (the Ultra epoch).
EPOCH_1980_S = 315_532_800
DAY_MS = 86_400_000


def civil_to_wall_ms(year: int, month: int, day: int, hh: int, mm: int, ss: int, ms: int) -> int:
    """Naive civil date/time → ms since 1970-01-01 (no zone): fast, no datetime objects."""
    # Howard Hinnant's days_from_civil.
    y = year - (month <= 2)
    era = y // 400
    yoe = y - era * 400
    doy = (153 * (month + (-3 if month > 2 else 9)) + 2) // 5 + day - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    days = era * 146097 + doe - 719468
    return ((days * 24 + hh) * 60 + mm) * 60_000 + ss * 1000 + ms


def check_date(year: int, month: int, day: int) -> None:
    """Raise ValueError for an impossible date (a parser turns it into an unparsed line)."""
    if not (1 <= month <= 12):
        raise ValueError(f"month {month} out of range")
    mdays = (31, 29 if (year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)) else 28, 31, 30, 31, 30,
             31, 31, 30, 31, 30, 31)[month - 1]
    if not (1 <= day <= mdays):
        raise ValueError(f"day {day} out of range for {year:04d}-{month:02d}")


def check_time(hh: int, mm: int, ss: int) -> None:
    if not (0 <= hh <= 23 and 0 <= mm <= 59 and 0 <= ss <= 59):
        raise ValueError(f"time {hh:02d}:{mm:02d}:{ss:02d} out of range")


def parse_hms(text: str) -> int:
    """`HH:MM:SS[.fff…]` → ms since midnight (fraction truncated to ms, as timers do)."""
    hms, _, frac = text.partition(".")
    parts = hms.split(":")
    if len(parts) != 3 or not all(p.isdigit() for p in parts):
        raise ValueError(f"time {text!r} is not HH:MM:SS[.fff]")
    hh, mm, ss = int(parts[0]), int(parts[1]), int(parts[2])
    check_time(hh, mm, ss)
    if frac and not frac.isdigit():
        raise ValueError(f"time {text!r} has a bad fraction")
    ms = int((frac + "000")[:3]) if frac else 0
    return ((hh * 60 + mm) * 60 + ss) * 1000 + ms


def decode(data: bytes) -> str:
    """Bytes from a port → text; undecodable bytes stay visible as `\\xNN` (nothing is dropped)."""
    return data.decode("utf-8", "backslashreplace")


def wall_to_civil(wall_ms: int) -> tuple[int, int, int, int, int, int, int]:
    """ms since 1970 (naive) → (year, month, day, hh, mm, ss, ms); for formatting wire lines."""
    import datetime as dt

    days, rem = divmod(wall_ms, DAY_MS)
    d = dt.date(1970, 1, 1) + dt.timedelta(days=days)
    hh, rem = divmod(rem, 3_600_000)
    mm, rem = divmod(rem, 60_000)
    ss, ms = divmod(rem, 1000)
    return d.year, d.month, d.day, hh, mm, ss, ms
