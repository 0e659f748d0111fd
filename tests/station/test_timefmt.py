"""Display of times (rule 10) and ages/categories (rule 9)."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from station.results.timefmt import age_group, age_on, category, fmt_duration, fmt_duration_ms

GROUPS = (20, 30, 40, 50, 60, 70)


@pytest.mark.parametrize(("ms", "text"), [
    (3_723_001, "1:02:04"),  # World Athletics: 1:02:03.001 → 1:02:04
    (3_723_000, "1:02:03"),
    (3_723_999, "1:02:04"),
    (0, "0:00:00"),
    (1, "0:00:01"),
    (59_999, "0:01:00"),
    (3_599_001, "1:00:00"),
    (36_000_000, "10:00:00"),  # hours not padded, not capped
    (100 * 3_600_000, "100:00:00"),
    (-1, "-0:00:01"),
    (None, ""),
])
def test_fmt_duration(ms: int | None, text: str) -> None:
    assert fmt_duration(ms) == text


@pytest.mark.parametrize(("ms", "text"), [
    (3_723_001, "1:02:03.001"), (0, "0:00:00.000"), (-1500, "-0:00:01.500"), (None, "")])
def test_fmt_duration_ms(ms: int | None, text: str) -> None:
    assert fmt_duration_ms(ms) == text


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 30 * 3_600_000))
def test_rounding_up_property(ms: int) -> None:
    h, m, s = (int(x) for x in fmt_duration(ms).split(":"))
    shown = ((h * 60 + m) * 60 + s) * 1000
    assert ms <= shown < ms + 1000
    assert shown % 1000 == 0


@pytest.mark.parametrize(("birth", "day", "age"), [
    ("1990-05-01", "2026-04-30", 35),
    ("1990-05-01", "2026-05-01", 36),  # birthday on the event day
    ("2000-02-29", "2025-02-28", 24),  # common year: birthday is 1 March
    ("2000-02-29", "2025-03-01", 25),
    ("2000-02-29", "2024-02-28", 23),  # leap year: birthday is 29 February
    ("2000-02-29", "2024-02-29", 24),
    ("2000-02-29", "2100-02-28", 99),  # 2100 is not a leap year
    ("2000-02-29", "2100-03-01", 100),
    ("2000-02-28", "2001-02-28", 1),
])
def test_age_on(birth: str, day: str, age: int) -> None:
    assert age_on(dt.date.fromisoformat(birth), dt.date.fromisoformat(day)) == age


@pytest.mark.parametrize(("age", "group"), [
    (0, "U20"), (19, "U20"), (20, "20-29"), (29, "20-29"), (30, "30-39"), (69, "60-69"), (70, "70+"),
    (101, "70+")])
def test_age_group(age: int, group: str) -> None:
    assert age_group(age, GROUPS) == group


def test_category() -> None:
    day = dt.date(2026, 11, 29)
    assert category("M", "1996-11-29", day, GROUPS, "event_date") == "M30-39"
    assert category("F", "1996-11-30", day, GROUPS, "event_date") == "F20-29"
    assert category("F", "1996-12-31", day, GROUPS, "birth_year") == "F30-39"
    assert category("X", "2010-01-01", day, GROUPS, "event_date") == "XU20"
    assert category("X", "1950-01-01", day, GROUPS, "event_date") == "X70+"
    assert category("M", None, day, GROUPS, "event_date") == "M"
    assert category("M", "garbage", day, GROUPS, "event_date") == "M"
