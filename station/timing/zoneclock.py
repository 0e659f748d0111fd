"""Reader wall time → UTC through the reader's (or the event's) time zone."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from drivers.records import DAY_MS
from station.errors import UserError


class ZoneClock:
    """Reader wall time (naive ms) → UTC ms through a zone; the offset is cached per wall-clock hour."""

    def __init__(self, zone: str) -> None:
        try:
            self.tz = ZoneInfo(zone)
        except (ZoneInfoNotFoundError, ValueError):
            raise UserError(f"unknown time zone {zone!r} (expected e.g. Asia/Shanghai)") from None
        self._cache: dict[int, int] = {}

    def to_utc(self, wall_ms: int) -> int:
        h = wall_ms // 3_600_000
        off = self._cache.get(h)
        if off is None:
            naive = dt.datetime(1970, 1, 1) + dt.timedelta(milliseconds=h * 3_600_000)
            delta = naive.replace(tzinfo=self.tz).utcoffset() or dt.timedelta(0)
            off = self._cache[h] = int(delta.total_seconds() * 1000)
        return wall_ms - off

    def to_utc_many(self, walls: list[int]) -> list[int]:
        """`to_utc` of a whole column: one subtraction when the offset is the same at both ends (a
        chunk of reads never straddles two zone changes)."""
        if not walls:
            return []
        off = self.to_utc(walls[0]) - walls[0]
        lo, hi = min(walls), max(walls)
        if self.to_utc(lo) - lo == off and self.to_utc(hi) - hi == off:
            return [w + off for w in walls]
        return [self.to_utc(w) for w in walls]

    def wall_date_ms(self, utc_ms: int) -> int:
        """Naive ms of local midnight of the day containing the UTC instant."""
        d = dt.datetime.fromtimestamp(utc_ms / 1000, tz=self.tz).date()
        return (d - dt.date(1970, 1, 1)).days * DAY_MS
