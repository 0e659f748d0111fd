"""Displaying times and computing categories (timing rules 9 and 10)."""

from __future__ import annotations

import datetime as dt
import itertools


def fmt_duration(ms: int | None) -> str:
    """`H:MM:SS`, hours not padded, rounded UP to the next whole second (World Athletics road rule)."""
    if ms is None:
        return ""
    neg = ms < 0
    s = -((-abs(ms)) // 1000)  # ceil
    h, rem = divmod(s, 3600)
    m, sec = divmod(rem, 60)
    return f"{'-' if neg else ''}{h}:{m:02d}:{sec:02d}"


def fmt_duration_ms(ms: int | None) -> str:
    """`H:MM:SS.fff` (exact, for exports and the timer's detail view)."""
    if ms is None:
        return ""
    s, milli = divmod(abs(ms), 1000)
    h, rem = divmod(s, 3600)
    m, sec = divmod(rem, 60)
    return f"{'-' if ms < 0 else ''}{h}:{m:02d}:{sec:02d}.{milli:03d}"


def age_on(birth: dt.date, day: dt.date) -> int:
    """Age in whole years on `day`. Born 29 February: the birthday is 1 March in common years."""
    years = day.year - birth.year
    bm, bd = birth.month, birth.day
    if bm == 2 and bd == 29:
        # In a common year the birthday falls on 1 March.
        leap = day.year % 4 == 0 and (day.year % 100 != 0 or day.year % 400 == 0)
        if not leap:
            bm, bd = 3, 1
    if (day.month, day.day) < (bm, bd):
        years -= 1
    return years


def age_group(age: int, groups: tuple[int, ...]) -> str:
    """`U20`, `20-29`, …, `70+` from the group boundaries `(20, 30, …, 70)`."""
    if age < groups[0]:
        return f"U{groups[0]}"
    for lo, hi in itertools.pairwise(groups):
        if lo <= age < hi:
            return f"{lo}-{hi - 1}"
    return f"{groups[-1]}+"


def category(gender: str, birth_date: str | None, event_date: dt.date, groups: tuple[int, ...],
             basis: str) -> str:
    """Gender-prefixed age group (`M30-39`); gender alone when the birth date is unknown."""
    if not birth_date:
        return gender
    try:
        b = dt.date.fromisoformat(birth_date)
    except ValueError:
        return gender
    age = event_date.year - b.year if basis == "birth_year" else age_on(b, event_date)
    return gender + age_group(age, groups)


def pace_ms_per_km(ms: int | None, distance_m: float | None) -> int | None:
    """Average pace in ms per km over `distance_m` (None when either is unknown or zero)."""
    if ms is None or not distance_m or distance_m <= 0:
        return None
    return round(ms * 1000 / distance_m)


def fmt_pace(ms_per_km: int | None) -> str:
    """`M:SS` per km, rounded up to the whole second like every time shown (rule 10)."""
    if ms_per_km is None:
        return ""
    s = -((-ms_per_km) // 1000)
    return f"{s // 60}:{s % 60:02d}"
