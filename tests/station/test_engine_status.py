"""Timing rules 8–11 (times, ranks, categories, status) and corrections."""

from __future__ import annotations

from typing import Any

import pytest


@pytest.fixture
def ef(race_ef: Any) -> Any:
    return race_ef


def finish(ef: Any, chip: str, start: str | None, fin: str) -> None:
    if start:
        ef.read(chip, "start", ef.hms(start))
    ef.read(chip, "finish", ef.hms(fin))


# --------------------------------------------------------------------------- rule 8: times and ties
def test_gun_and_chip_time(ef: Any) -> None:
    ef.participant("R1")
    ef.gun("A", ef.hms("07:30:02"))
    finish(ef, "C1", "07:31:00.250", "08:20:00.500")
    r = ef.result(ef.engine(), "R1")
    assert r.gun_ms == ef.hms("08:20:00.500") - ef.hms("07:30:02")
    assert r.chip_ms == ef.hms("08:20:00.500") - ef.hms("07:31:00.250")
    assert r.rank_key == r.chip_ms  # default ranking: chip


def test_ties_share_a_rank_competition_style(ef: Any) -> None:
    for i in range(1, 6):
        ef.participant(f"R{i}")
    finish(ef, "C1", None, "08:10:00.000")
    finish(ef, "C2", None, "08:10:00.100")
    finish(ef, "C3", None, "08:10:00.100")
    finish(ef, "C4", None, "08:10:00.101")
    eng = ef.engine()
    ranks = {r: eng.ranks(ef.result(eng, r))[0] for r in ("R1", "R2", "R3", "R4")}
    assert ranks == {"R1": 1, "R2": 2, "R3": 2, "R4": 4}
    assert eng.ranks(ef.result(eng, "R5")) == (None, None, None)


def test_tie_on_display_second_is_not_a_tie(ef: Any) -> None:
    ef.participant("R1")
    ef.participant("R2")
    finish(ef, "C1", None, "08:10:00.001")
    finish(ef, "C2", None, "08:10:00.999")  # both shown 0:40:01
    eng = ef.engine()
    rows = eng.rows()
    assert [(r["bib"], r["overall_rank"], r["chip_time"]) for r in rows] == [
        ("1", 1, "0:40:01"), ("2", 2, "0:40:01")]


def test_ranking_by_gun_time(ef: Any) -> None:
    data = ef.event()
    data["races"][1]["ranking"] = "gun"
    ef.config(data)
    ef.participant("R1", race="5k")
    ef.participant("R2", race="5k")
    finish(ef, "C1", "07:30:00", "07:55:00")  # gun 25:00, chip 25:00
    finish(ef, "C2", "07:32:00", "07:55:30")  # gun 25:30, chip 23:30
    eng = ef.engine()
    assert [r["bib"] for r in eng.rows("5k")] == ["1", "2"]
    assert eng.ranks(ef.result(eng, "R2"))[0] == 2


def test_ranking_by_chip_time(ef: Any) -> None:
    ef.participant("R1", race="5k")
    ef.participant("R2", race="5k")
    finish(ef, "C1", "07:30:00", "07:55:00")
    finish(ef, "C2", "07:32:00", "07:55:30")
    eng = ef.engine()
    assert [r["bib"] for r in eng.rows("5k")] == ["2", "1"]


def test_ranks_are_per_race(ef: Any) -> None:
    ef.participant("R1", race="10k")
    ef.participant("R2", race="5k")
    finish(ef, "C1", None, "08:10:00")
    finish(ef, "C2", None, "08:00:00")
    eng = ef.engine()
    assert eng.ranks(ef.result(eng, "R1"))[0] == 1
    assert eng.ranks(ef.result(eng, "R2"))[0] == 1


# --------------------------------------------------------------------------- rule 9: gender & category ranks
def test_gender_and_category_ranks(ef: Any) -> None:
    ef.participant("R1", gender="M", birth_date="1990-01-01")  # M30-39
    ef.participant("R2", gender="F", birth_date="1991-01-01")  # F30-39
    ef.participant("R3", gender="M", birth_date="2000-01-01")  # M20-29
    ef.participant("R4", gender="M", birth_date="1995-01-01")  # M30-39 (31 on event day)
    ef.participant("R5", gender="F", birth_date="2010-01-01")  # FU20
    for i, t in enumerate(("08:01:00", "08:02:00", "08:03:00", "08:04:00", "08:05:00"), start=1):
        finish(ef, f"C{i}", None, t)
    eng = ef.engine()
    got = {r: (ef.result(eng, r).category, *eng.ranks(ef.result(eng, r))) for r in
           ("R1", "R2", "R3", "R4", "R5")}
    assert got == {
        "R1": ("M30-39", 1, 1, 1),
        "R2": ("F30-39", 2, 1, 1),
        "R3": ("M20-29", 3, 2, 1),
        "R4": ("M30-39", 4, 3, 2),
        "R5": ("FU20", 5, 2, 1),
    }
    row = {r["bib"]: r for r in eng.rows()}["4"]
    assert (row["overall_rank"], row["gender_rank"], row["category_rank"]) == (4, 3, 2)


@pytest.mark.parametrize(("birth", "expected"), [
    ("1996-11-29", "M30-39"),  # 30th birthday on the event day
    ("1996-11-30", "M20-29"),  # the day after
    ("2006-11-29", "M20-29"),  # turns 20 on the day
    ("2006-11-30", "MU20"),
    ("1956-11-29", "M70+"),
    ("1900-01-01", "M70+"),
    ("1966-12-01", "M50-59"),
])
def test_category_by_age_on_event_date(ef: Any, birth: str, expected: str) -> None:
    ef.participant("R1", birth_date=birth)
    assert ef.result(ef.engine(), "R1").category == expected


def _on_date(ef: Any, date: str) -> None:
    data = ef.event()
    data["event"]["date"] = date
    ef.config(data)


@pytest.mark.parametrize(("born", "event_date", "expected"), [
    ("1996-02-29", "2026-02-28", "F20-29"),  # common year: still 29 on 28 February …
    ("1996-02-29", "2026-03-01", "F30-39"),  # … 30 on 1 March
    ("1992-02-29", "2032-02-28", "F30-39"),  # leap year: still 39 on 28 February …
    ("1992-02-29", "2032-02-29", "F40-49"),  # … 40 on 29 February
])
def test_category_born_29_february(ef: Any, born: str, event_date: str, expected: str) -> None:
    _on_date(ef, event_date)
    ef.participant("R1", gender="F", birth_date=born)
    assert ef.result(ef.engine(), "R1").category == expected


def test_category_by_birth_year(ef: Any) -> None:
    ef.config(ef.event(categories={"age_basis": "birth_year"}))
    ef.participant("R1", birth_date="1996-12-31")  # 29 on the day, 30 by birth year
    ef.participant("R2", birth_date="2007-01-01")  # 19 by birth year
    eng = ef.engine()
    assert ef.result(eng, "R1").category == "M30-39"
    assert ef.result(eng, "R2").category == "MU20"


def test_custom_age_groups(ef: Any) -> None:
    ef.config(ef.event(categories={"age_groups": [18, 35, 50]}))
    ef.participant("R1", birth_date="2010-01-01", gender="X")
    ef.participant("R2", birth_date="1990-01-01", gender="F")
    ef.participant("R3", birth_date="1960-01-01", gender="M")
    eng = ef.engine()
    assert [ef.result(eng, r).category for r in ("R1", "R2", "R3")] == ["XU18", "F35-49", "M50+"]


def test_category_without_birth_date_is_gender(ef: Any) -> None:
    ef.participant("R1", birth_date=None, gender="F")
    assert ef.result(ef.engine(), "R1").category == "F"


# --------------------------------------------------------------------------- rule 11: status
def test_dns_without_any_activity(ef: Any) -> None:
    ef.participant("R1")
    ef.participant("R2", race="5k")
    ef.read("C2", "km5", ef.hms("07:50:00"))  # km5 does not serve the 5k
    eng = ef.engine(now=ef.hms("12:00:00"))
    assert ef.result(eng, "R1").status == "DNS"
    assert ef.result(eng, "R2").status == "DNS"


def test_pre_gun_read_is_activity(ef: Any) -> None:
    ef.participant("R1")
    ef.read("C1", "start", ef.hms("07:00:00"))
    ef.close("10k")
    assert ef.result(ef.engine(), "R1").status == "DNF"


def test_backup_read_is_activity(ef: Any) -> None:
    ef.participant("R1")
    ef.read("C1", "km5", ef.hms("07:55:00"), role="backup")
    assert ef.result(ef.engine(), "R1").status == "running"


def test_running_then_dnf_after_cutoff(ef: Any) -> None:
    ef.participant("R1")  # 10k cutoff 2:00:00 from the wave's gun
    ef.participant("R2", wave="B")
    ef.read("C1", "start", ef.hms("07:30:03"))
    ef.read("C2", "start", ef.hms("07:40:03"))
    at = ef.engine(now=ef.hms("09:30:00"))
    assert ef.result(at, "R1").status == "running"  # exactly gun + cutoff: not past it
    past = ef.engine(now=ef.hms("09:30:00") + 1)
    assert ef.result(past, "R1").status == "DNF"
    assert ef.result(past, "R2").status == "running"  # wave B's gun is 10 min later
    assert ef.result(ef.engine(now=ef.hms("09:40:01")), "R2").status == "DNF"


def test_cutoff_counts_from_actual_gun(ef: Any) -> None:
    ef.participant("R1")
    ef.gun("A", ef.hms("07:35:00"))
    ef.read("C1", "start", ef.hms("07:35:03"))
    assert ef.result(ef.engine(now=ef.hms("09:34:00")), "R1").status == "running"
    assert ef.result(ef.engine(now=ef.hms("09:35:01")), "R1").status == "DNF"


def test_live_engine_turns_running_into_dnf_when_the_cutoff_passes(ef: Any) -> None:
    """A live station never recomputes by itself: refresh_clock re-checks rule 11 as time passes."""
    from station.results.engine import Engine

    ef.participant("R1")
    ef.participant("R2")
    ef.read("C1", "start", ef.hms("07:30:03"))
    now = [ef.hms("09:29:00")]
    eng = Engine.from_entries(list(ef.entries), now_ms=lambda: now[0])
    assert eng.result("R1").status == "running"
    assert eng.refresh_clock() == set()
    now[0] = ef.hms("09:30:01")
    assert eng.refresh_clock() == {"R1"}
    assert eng.result("R1").status == "DNF"
    assert eng.result("R2").status == "DNS"


def test_race_without_cutoff_stays_running(ef: Any) -> None:
    ef.participant("R1", race="5k")
    ef.read("C1", "start", ef.hms("07:30:03"))
    assert ef.result(ef.engine(now=ef.hms("23:00:00")), "R1").status == "running"


def test_race_closed(ef: Any) -> None:
    ef.participant("R1", race="5k")
    ef.participant("R2", race="5k")
    ef.participant("R3", race="5k")
    ef.participant("R4", race="10k")
    ef.read("C1", "start", ef.hms("07:30:03"))
    finish(ef, "C2", None, "07:55:00")
    ef.read("C4", "start", ef.hms("07:30:03"))
    ef.close("5k")
    eng = ef.engine()
    assert [ef.result(eng, r).status for r in ("R1", "R2", "R3", "R4")] == [
        "DNF", "finished", "DNS", "running"]


def test_dq_and_reinstate(ef: Any) -> None:
    ef.participant("R1")
    ef.participant("R2")
    finish(ef, "C1", None, "08:10:00")
    finish(ef, "C2", None, "08:11:00")
    ef.correction("dq", registration_id="R1", reason="cut the course")
    eng = ef.engine()
    r1 = ef.result(eng, "R1")
    assert r1.status == "DQ"
    assert r1.rank_key is None
    assert eng.ranks(ef.result(eng, "R2"))[0] == 1
    row = {r["bib"]: r for r in eng.rows()}["1"]
    assert row["overall_rank"] == row["gun_time"] == row["chip_ms"] == ""
    ef.correction("reinstate", registration_id="R1")
    eng = ef.engine()
    assert ef.result(eng, "R1").status == "finished"
    assert eng.ranks(ef.result(eng, "R2"))[0] == 2


def test_dns_and_dnf_corrections(ef: Any) -> None:
    ef.participant("R1")
    ef.participant("R2")
    ef.participant("R3")
    ef.read("C1", "start", ef.hms("07:30:03"))  # a stray read from a runner who did not run
    ef.correction("dns", registration_id="R1")
    ef.read("C2", "start", ef.hms("07:30:03"))
    ef.correction("dnf", registration_id="R2")
    ef.correction("dnf", registration_id="R3")
    eng = ef.engine()
    assert [ef.result(eng, r).status for r in ("R1", "R2", "R3")] == ["DNS", "DNF", "DNF"]


def test_latest_status_correction_wins(ef: Any) -> None:
    ef.participant("R1")
    finish(ef, "C1", None, "08:10:00")
    ef.correction("dq", registration_id="R1", recorded_at=10**13 + 2)
    ef.correction("reinstate", registration_id="R1", recorded_at=10**13 + 1)  # older
    assert ef.result(ef.engine(), "R1").status == "DQ"


def test_status_correction_by_bib(ef: Any) -> None:
    ef.participant("R1")
    finish(ef, "C1", None, "08:10:00")
    ef.correction("dq", bib="1")
    assert ef.result(ef.engine(), "R1").status == "DQ"


# --------------------------------------------------------------------------- corrections on crossings
def test_ignore_and_unignore_a_crossing(ef: Any) -> None:
    ef.participant("R1")
    ef.read("C1", "finish", ef.hms("08:10:00"))
    bad = ef.read("C1", "finish", ef.hms("08:10:01"))  # same crossing
    ef.read("C1", "finish", ef.hms("08:20:00"))
    ef.correction("ignore", target=bad.uuid)
    r = ef.result(ef.engine(), "R1")
    assert r.finish_ms == ef.hms("08:20:00")  # the whole crossing containing the read is ignored
    ef.correction("unignore", target=bad.uuid)
    assert ef.result(ef.engine(), "R1").finish_ms == ef.hms("08:10:00")


def test_ignored_main_crossing_lets_backup_fill(ef: Any) -> None:
    ef.participant("R1")
    bad = ef.read("C1", "finish", ef.hms("08:10:00"))
    ef.read("C1", "finish", ef.hms("08:10:05"), role="backup")
    ef.correction("ignore", target=bad.uuid)
    r = ef.result(ef.engine(), "R1")
    assert (r.finish_ms, r.finish_source) == (ef.hms("08:10:05"), "backup")


def test_ignore_a_manual_time(ef: Any) -> None:
    ef.participant("R1")
    m = ef.manual("1", "finish", ef.hms("08:10:00"))
    ef.correction("ignore", target=m.uuid)
    r = ef.result(ef.engine(), "R1")
    assert r.status == "DNS" or r.finish_ms is None


def test_ignored_start_read_start_is_gun(ef: Any) -> None:
    ef.participant("R1")
    s = ef.read("C1", "start", ef.hms("07:31:00"))
    ef.read("C1", "finish", ef.hms("08:20:00"))
    ef.correction("ignore", target=s.uuid)
    r = ef.result(ef.engine(), "R1")
    assert r.start_ms == ef.hms("07:30:00")


def test_time_adjust(ef: Any) -> None:
    ef.participant("R1")
    ef.participant("R2")
    finish(ef, "C1", None, "08:10:00")
    finish(ef, "C2", None, "08:10:30")
    ef.correction("adjust", registration_id="R1", delta_ms=60_000)  # a one-minute penalty
    ef.correction("adjust", registration_id="R1", delta_ms=-1_000)  # adjustments add up
    eng = ef.engine()
    r1 = ef.result(eng, "R1")
    assert r1.finish_ms == ef.hms("08:10:59")
    assert r1.gun_ms == ef.dur("0:40:59")
    assert [r["bib"] for r in eng.rows()] == ["2", "1"]


def test_adjust_without_finish_does_nothing(ef: Any) -> None:
    ef.participant("R1")
    ef.read("C1", "start", ef.hms("07:30:05"))
    ef.correction("adjust", registration_id="R1", delta_ms=60_000)
    r = ef.result(ef.engine(), "R1")
    assert (r.status, r.finish_ms) == ("running", None)


def test_chip_swap_from_a_time(ef: Any) -> None:
    ef.participant("R1", chips=["X"])
    ef.participant("R2", chips=["C2"])
    ef.read("X", "start", ef.hms("07:30:05"))  # R1 starts with chip X
    ef.read("X", "finish", ef.hms("08:10:00"))  # R1 hands chip X to R2 … who wears it over the line
    ef.correction("chip_swap", registration_id="R2", chip="X", from_ms=ef.hms("08:00:00"))
    eng = ef.engine()
    r1, r2 = ef.result(eng, "R1"), ef.result(eng, "R2")
    assert r1.start_ms == ef.hms("07:30:05")
    assert r1.status == "running"
    assert r2.finish_ms == ef.hms("08:10:00")
    assert eng.owner_of_chip("X", ef.hms("07:59:59")) == "R1"
    assert eng.owner_of_chip("X", ef.hms("08:00:00")) == "R2"


def test_chip_swap_to_unknown_chip(ef: Any) -> None:
    ef.participant("R1", chips=["BROKEN"])
    ef.read("SPARE", "finish", ef.hms("08:10:00"))
    ef.correction("chip_swap", registration_id="R1", chip="SPARE", from_ms=0)
    eng = ef.engine()
    assert ef.result(eng, "R1").finish_ms == ef.hms("08:10:00")
    assert eng.unknown_reads == 0


def test_participant_update_moves_runner(ef: Any) -> None:
    ef.participant("R1", race="10k")
    finish(ef, "C1", None, "08:10:00")
    ef.participant("R1", race="5k")  # moved to the 5k at the desk
    eng = ef.engine()
    r = ef.result(eng, "R1")
    assert r.race == "5k"
    assert eng.ranks(r) == (1, 1, 1)
    assert [x["race"] for x in eng.rows()] == ["5k"]


def test_participant_chip_removed_returns_to_earlier_holder(ef: Any) -> None:
    """Ownership is a function of the current participant rows, not of arrival order."""
    from station.results.engine import Engine

    ef.participant("R1", chips=["X"])
    ef.participant("R2", chips=["X"])  # chip handed out twice by mistake: latest wins
    ef.participant("R2", chips=["C2"])  # fixed: X is R1's again
    ef.read("X", "finish", ef.hms("08:10:00"))
    fwd = Engine.from_entries(ef.entries, now_ms=lambda: 0)
    rev = Engine.from_entries(list(reversed(ef.entries)), now_ms=lambda: 0)
    assert fwd.owner_of_chip("X", 0) == rev.owner_of_chip("X", 0) == "R1"
    assert fwd.result("R1").finish_ms == rev.result("R1").finish_ms == ef.hms("08:10:00")


def test_chip_given_to_a_later_participant_row_leaves_the_earlier_holder(ef: Any) -> None:
    """A chip handed to another runner at the desk (their row updated, the old row not): only the
    latest row holding the chip gets its reads."""
    ef.participant("R1", chips=["X"])
    ef.participant("R2", chips=["C2"])
    ef.participant("R2", chips=["C2", "X"])
    ef.read("X", "finish", ef.hms("08:10:00"))
    eng = ef.engine()
    assert ef.result(eng, "R2").finish_ms == ef.hms("08:10:00")
    assert ef.result(eng, "R1").status == "DNS"
    assert eng.owner_of_chip("X") == "R2"
