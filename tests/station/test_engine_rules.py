"""Timing rules 1–7 of DESIGN.md: guns, time, crossings, start, finish, splits, gaps."""

from __future__ import annotations

from typing import Any

import pytest

GUN_A = "07:30:00"


@pytest.fixture
def ef(race_ef: Any) -> Any:
    return race_ef


# --------------------------------------------------------------------------- rule 1: gun
def test_gun_is_scheduled_start_without_gun_entry(ef: Any) -> None:
    ef.participant("R1")
    ef.participant("R2", wave="B")
    eng = ef.engine()
    assert ef.result(eng, "R1").gun_start_ms == ef.hms("07:30:00")
    assert ef.result(eng, "R2").gun_start_ms == ef.hms("07:40:00")


def test_latest_gun_entry_wins_by_recorded_at_not_by_time(ef: Any) -> None:
    ef.participant("R1")
    ef.gun("A", ef.hms("07:31:00"), recorded_at=2_000)
    ef.gun("A", ef.hms("07:30:05"), recorded_at=1_000)  # older entry, appended later
    eng = ef.engine()
    assert ef.result(eng, "R1").gun_start_ms == ef.hms("07:31:00")


def test_gun_tie_on_recorded_at_broken_by_station_then_seq(ef: Any) -> None:
    ef.participant("R1")
    ef.gun("A", ef.hms("07:30:07"), recorded_at=5_000, station_id="st-b")
    ef.gun("A", ef.hms("07:30:09"), recorded_at=5_000, station_id="st-a")
    eng = ef.engine()
    assert ef.result(eng, "R1").gun_start_ms == ef.hms("07:30:07")  # "st-b" > "st-a"
    ef.gun("A", ef.hms("07:30:11"), recorded_at=5_000, station_id="st-b")  # same station, higher seq
    eng = ef.engine()
    assert ef.result(eng, "R1").gun_start_ms == ef.hms("07:30:11")


def test_gun_without_race_applies_to_that_wave_in_every_race(ef: Any) -> None:
    ef.participant("R1", race="10k")
    ef.participant("R2", race="5k")
    ef.participant("R3", race="10k", wave="B")
    ef.gun("A", ef.hms("07:30:30"))
    eng = ef.engine()
    assert ef.result(eng, "R1").gun_start_ms == ef.hms("07:30:30")
    assert ef.result(eng, "R2").gun_start_ms == ef.hms("07:30:30")
    assert ef.result(eng, "R3").gun_start_ms == ef.hms("07:40:00")


def test_gun_for_one_race_and_generic_gun_latest_wins(ef: Any) -> None:
    ef.participant("R1", race="10k")
    ef.participant("R2", race="5k")
    ef.gun("A", ef.hms("07:30:30"))
    ef.gun("A", ef.hms("07:31:00"), race="5k")
    eng = ef.engine()
    assert ef.result(eng, "R1").gun_start_ms == ef.hms("07:30:30")
    assert ef.result(eng, "R2").gun_start_ms == ef.hms("07:31:00")
    ef.gun("A", ef.hms("07:30:40"))  # a later generic gun overrides the race-specific one
    eng = ef.engine()
    assert ef.result(eng, "R2").gun_start_ms == ef.hms("07:30:40")


# --------------------------------------------------------------------------- rule 4: start
def test_no_start_read_chip_start_is_gun(ef: Any) -> None:
    ef.participant("R1")
    ef.read("C1", "finish", ef.hms("08:20:00"))
    r = ef.result(ef.engine(), "R1")
    assert r.start_ms == ef.hms(GUN_A)
    assert r.start_source == "gun"
    assert r.chip_ms == r.gun_ms == ef.dur("0:50:00")


def test_reads_before_the_gun_are_ignored_for_the_start(ef: Any) -> None:
    ef.participant("R1")
    ef.read("C1", "start", ef.hms("07:20:00"))  # warm-up over the mat
    r = ef.result(ef.engine(), "R1")
    assert r.start_ms == ef.hms(GUN_A)
    assert r.status == "running"  # a pre-gun read is activity: not DNS


def test_runner_waiting_on_the_mat_starts_when_leaving_it(ef: Any) -> None:
    ef.participant("R1")
    for t in ("07:29:57", "07:29:58.500", "07:30:00.400", "07:30:02", "07:30:03.900"):
        ef.read("C1", "start", ef.hms(t))
    ef.read("C1", "finish", ef.hms("08:20:00"))
    r = ef.result(ef.engine(), "R1")
    assert r.start_ms == ef.hms("07:30:03.900")
    assert r.start_source == "main"
    assert r.chip_ms == ef.hms("08:20:00") - ef.hms("07:30:03.900")
    assert r.gun_ms == ef.dur("0:50:00")


def test_start_crossing_ending_exactly_at_gun_counts(ef: Any) -> None:
    ef.participant("R1")
    ef.read("C1", "start", ef.hms("07:29:59"))
    ef.read("C1", "start", ef.hms("07:30:00"))
    assert ef.result(ef.engine(), "R1").start_ms == ef.hms("07:30:00")


def test_first_crossing_after_gun_is_the_start(ef: Any) -> None:
    ef.participant("R1")
    ef.read("C1", "start", ef.hms("07:25:00"))
    ef.read("C1", "start", ef.hms("07:31:00"))
    ef.read("C1", "start", ef.hms("07:45:00"))  # walked back over the mat
    assert ef.result(ef.engine(), "R1").start_ms == ef.hms("07:31:00")


def test_start_window(ef: Any) -> None:
    data = ef.event()
    data["races"][1]["start_window_s"] = 600
    ef.config(data)
    ef.participant("R1", race="5k")
    ef.participant("R2", race="5k")
    ef.read("C1", "start", ef.hms("07:40:00"))  # gun + 600 s: still in
    ef.read("C2", "start", ef.hms("07:40:00.001"))  # just out
    eng = ef.engine()
    assert ef.result(eng, "R1").start_ms == ef.hms("07:40:00")
    assert ef.result(eng, "R2").start_ms == ef.hms(GUN_A)


def test_default_start_window_is_an_hour(ef: Any) -> None:
    ef.participant("R1")
    ef.participant("R2")
    ef.read("C1", "start", ef.hms("08:29:59"))
    ef.read("C2", "start", ef.hms("08:30:01"))
    eng = ef.engine()
    assert ef.result(eng, "R1").start_ms == ef.hms("08:29:59")
    assert ef.result(eng, "R2").start_ms == ef.hms(GUN_A)


def test_wrong_wave_flag_leaves_results_unchanged(ef: Any) -> None:
    ef.participant("R1", wave="B")  # gun 07:40
    ef.participant("R2", wave="A")
    ef.read("C1", "start", ef.hms("07:31:00"))  # starts with wave A
    ef.read("C2", "start", ef.hms("07:31:00"))
    ef.read("C1", "finish", ef.hms("08:21:00"))
    eng = ef.engine()
    r1 = ef.result(eng, "R1")
    assert r1.flags == ("wrong wave",)
    assert r1.start_ms == ef.hms("07:40:00")  # the read ended before its own gun: ignored
    assert r1.chip_ms == r1.gun_ms == ef.dur("0:41:00")
    assert ef.result(eng, "R2").flags == ()


def test_no_wrong_wave_flag_for_read_before_every_gun(ef: Any) -> None:
    ef.participant("R1", wave="B")
    ef.read("C1", "start", ef.hms("07:29:00"))
    ef.read("C1", "start", ef.hms("07:40:01"))
    r = ef.result(ef.engine(), "R1")
    assert r.flags == ()
    assert r.start_ms == ef.hms("07:40:01")


# --------------------------------------------------------------------------- rule 3: crossings
def test_window_chains_read_to_read(ef: Any) -> None:
    ef.participant("R1")
    # each read 1.9 s after the previous: one crossing of 7.6 s although it exceeds the window
    for i in range(5):
        ef.read("C1", "start", ef.hms(GUN_A) + 10_000 + i * 1_900)
    r = ef.result(ef.engine(), "R1")
    assert r.start_ms == ef.hms(GUN_A) + 10_000 + 4 * 1_900


def test_read_exactly_window_apart_starts_a_new_crossing(ef: Any) -> None:
    ef.participant("R1")
    ef.read("C1", "finish", ef.hms("08:10:00"))
    ef.read("C1", "finish", ef.hms("08:10:02"))  # exactly 2.0 s: not "less than" the window
    eng = ef.engine()
    _res, trace = eng.explain("R1")
    assert [c.first for c in trace.crossings] == [ef.hms("08:10:00"), ef.hms("08:10:02")]


def test_window_s_is_per_point(ef: Any) -> None:
    data = ef.event()
    data["timing_points"][2]["window_s"] = 5.0
    ef.config(data)
    ef.participant("R1")
    ef.read("C1", "finish", ef.hms("08:10:00"))
    ef.read("C1", "finish", ef.hms("08:10:04.9"))
    _res, trace = ef.engine().explain("R1")
    assert len(trace.crossings) == 1
    assert trace.crossings[0].last == ef.hms("08:10:04.900")


def _peak_event(ef: Any) -> None:
    data = ef.event()
    data["timing_points"][2]["pick"] = "peak"
    ef.config(data)


def test_pick_first_is_default(ef: Any) -> None:
    ef.participant("R1")
    ef.read("C1", "finish", ef.hms("08:20:00"), rssi=-70)
    ef.read("C1", "finish", ef.hms("08:20:01"), rssi=-40)
    assert ef.result(ef.engine(), "R1").finish_ms == ef.hms("08:20:00")


def test_pick_peak_takes_strongest_read(ef: Any) -> None:
    _peak_event(ef)
    ef.participant("R1")
    ef.read("C1", "finish", ef.hms("08:20:00"), rssi=-70)
    ef.read("C1", "finish", ef.hms("08:20:01"), rssi=-40)
    ef.read("C1", "finish", ef.hms("08:20:02"), rssi=-55)
    assert ef.result(ef.engine(), "R1").finish_ms == ef.hms("08:20:01")


def test_pick_peak_equal_rssi_takes_earlier(ef: Any) -> None:
    _peak_event(ef)
    ef.participant("R1")
    ef.read("C1", "finish", ef.hms("08:20:00"), rssi=-70)
    ef.read("C1", "finish", ef.hms("08:20:01"), rssi=-40)
    ef.read("C1", "finish", ef.hms("08:20:02"), rssi=-40)
    assert ef.result(ef.engine(), "R1").finish_ms == ef.hms("08:20:01")


def test_pick_peak_equal_rssi_takes_earlier_whatever_the_entry_order(ef: Any) -> None:
    _peak_event(ef)
    ef.participant("R1")
    ef.read("C1", "finish", ef.hms("08:20:02"), rssi=-40)
    ef.read("C1", "finish", ef.hms("08:20:01"), rssi=-40)
    assert ef.result(ef.engine(), "R1").finish_ms == ef.hms("08:20:01")


def test_pick_peak_missing_rssi_is_weakest(ef: Any) -> None:
    _peak_event(ef)
    ef.participant("R1")
    ef.read("C1", "finish", ef.hms("08:20:00"))
    ef.read("C1", "finish", ef.hms("08:20:01"), rssi=-90)
    ef.read("C1", "finish", ef.hms("08:20:02"))
    assert ef.result(ef.engine(), "R1").finish_ms == ef.hms("08:20:01")


def test_pick_peak_without_any_rssi_is_first_read(ef: Any) -> None:
    _peak_event(ef)
    ef.participant("R1")
    ef.read("C1", "finish", ef.hms("08:20:01"))
    ef.read("C1", "finish", ef.hms("08:20:00"))
    ef.read("C1", "finish", ef.hms("08:20:02"))
    assert ef.result(ef.engine(), "R1").finish_ms == ef.hms("08:20:00")


def test_two_chips_of_one_runner_form_one_crossing(ef: Any) -> None:
    ef.participant("R1", chips=["SHOE", "BIB"])
    ef.read("SHOE", "finish", ef.hms("08:20:00.500"))
    ef.read("BIB", "finish", ef.hms("08:20:00.200"))
    ef.read("SHOE", "start", ef.hms("07:30:10"))
    r = ef.result(ef.engine(), "R1")
    assert r.finish_ms == ef.hms("08:20:00.200")
    assert r.start_ms == ef.hms("07:30:10")
    _res, trace = ef.engine().explain("R1")
    assert len([c for c in trace.crossings if c.point == "finish"]) == 1


def test_backup_reads_do_not_chain_with_main(ef: Any) -> None:
    ef.participant("R1")
    ef.read("C1", "finish", ef.hms("08:20:00"), role="backup")
    ef.read("C1", "finish", ef.hms("08:20:01"))
    r = ef.result(ef.engine(), "R1")
    assert r.finish_ms == ef.hms("08:20:01")  # the main crossing; the backup is within the window
    assert r.finish_source == "main"


# --------------------------------------------------------------------------- rule 2: time, chips, points
def test_unknown_chip_read_is_kept_counted_and_matches_nobody(ef: Any) -> None:
    ef.participant("R1")
    ef.read("NOBODY", "finish", ef.hms("08:20:00"))
    eng = ef.engine()
    assert eng.unknown_reads == 1
    assert ef.result(eng, "R1").status == "DNS"


def test_unknown_read_count_does_not_depend_on_entry_order(ef: Any) -> None:
    from station.results.engine import Engine

    ef.participant("R1")
    ef.read("C1", "finish", ef.hms("08:20:00"))
    ef.read("XX", "finish", ef.hms("08:20:00"))
    fwd = Engine.from_entries(ef.entries, now_ms=lambda: 0)
    rev = Engine.from_entries(list(reversed(ef.entries)), now_ms=lambda: 0)
    assert fwd.unknown_reads == rev.unknown_reads == 1


def test_chip_ids_are_exact_text(ef: Any) -> None:
    ef.participant("R1", chips=["0060172"])
    ef.read("60172", "finish", ef.hms("08:20:00"))
    eng = ef.engine()
    assert ef.result(eng, "R1").status == "DNS"
    assert eng.unknown_reads == 1


def test_point_without_races_serves_every_race_and_listed_races_only(ef: Any) -> None:
    ef.participant("R1", race="5k")
    ef.participant("R2", race="5k")
    ef.read("C1", "start", ef.hms("07:30:05"))  # `start` has no races: serves the 5k
    ef.read("C2", "km5", ef.hms("07:50:00"))  # km5 serves only the 10k
    eng = ef.engine()
    assert ef.result(eng, "R1").start_ms == ef.hms("07:30:05")
    r2 = ef.result(eng, "R2")
    assert r2.status == "DNS"
    assert r2.splits == {}


def test_clock_offset_applies_from_from_ms(ef: Any) -> None:
    ef.participant("R1")
    ef.participant("R2")
    ef.offset("fin", 1_500, from_ms=ef.hms("08:00:00"))
    ef.read("C1", "finish", ef.hms("08:20:00"), reader="fin")
    ef.read("C2", "start", ef.hms("07:30:10"), reader="fin")  # before from_ms: uncorrected
    eng = ef.engine()
    assert ef.result(eng, "R1").finish_ms == ef.hms("08:20:01.500")
    assert ef.result(eng, "R2").start_ms == ef.hms("07:30:10")


def test_clock_offset_greatest_from_ms_wins_then_latest(ef: Any) -> None:
    ef.participant("R1")
    ef.offset("fin", 1_000, from_ms=0)
    ef.offset("fin", -2_000, from_ms=ef.hms("08:00:00"), recorded_at=10)
    ef.offset("fin", -3_000, from_ms=ef.hms("08:00:00"), recorded_at=20)
    ef.offset("fin", 9_000, from_ms=ef.hms("09:00:00"))  # not yet in effect at 08:20
    ef.read("C1", "finish", ef.hms("08:20:00"), reader="fin")
    assert ef.result(ef.engine(), "R1").finish_ms == ef.hms("08:19:57")


def test_clock_offset_only_for_its_reader(ef: Any) -> None:
    ef.participant("R1")
    ef.offset("other", 5_000)
    ef.read("C1", "finish", ef.hms("08:20:00"), reader="fin")
    assert ef.result(ef.engine(), "R1").finish_ms == ef.hms("08:20:00")


def test_gps_reader_is_never_corrected(ef: Any) -> None:
    ef.participant("R1")
    ef.reader_config("gpsr", "finish", gps=True)
    ef.offset("gpsr", 5_000)
    ef.read("C1", "finish", ef.hms("08:20:00"), reader="gpsr")
    assert ef.result(ef.engine(), "R1").finish_ms == ef.hms("08:20:00")


def test_read_flagged_gps_is_never_corrected(ef: Any) -> None:
    """Ingest marks reads of a GPS-synced reader with `gps: true` (entries.py)."""
    ef.participant("R1")
    ef.offset("gpsr", 5_000)
    ef.read("C1", "finish", ef.hms("08:20:00"), reader="gpsr", gps=True)
    assert ef.result(ef.engine(), "R1").finish_ms == ef.hms("08:20:00")


def test_dateless_read_is_placed_nearest_the_gun(ef: Any) -> None:
    day = 86_400_000
    ef.participant("R1")
    ef.participant("R2")
    ef.read("C1", "finish", ef.hms("08:20:00") - 3 * day, dateless=True)
    ef.read("C2", "finish", ef.hms("08:20:00") + day, dateless=True)
    eng = ef.engine()
    assert ef.result(eng, "R1").finish_ms == ef.hms("08:20:00")
    assert ef.result(eng, "R2").finish_ms == ef.hms("08:20:00")


def test_dateless_read_just_before_midnight_relative_to_gun(ef: Any) -> None:
    # a gun at 23:50 local; a dateless read at 00:30 belongs to the next day
    data = ef.event()
    data["races"][1]["waves"] = [{"id": "A", "start": "23:50:00"}]
    ef.config(data)
    ef.participant("R1", race="5k")
    ef.read("C1", "finish", ef.hms("00:30:00"), dateless=True)
    r = ef.result(ef.engine(), "R1")
    assert r.finish_ms == ef.hms("00:30:00") + 86_400_000
    assert r.gun_ms == ef.dur("0:40:00")


# --------------------------------------------------------------------------- rule 5: finish
def test_early_pass_within_min_time_is_ignored(ef: Any) -> None:
    ef.participant("R1")
    ef.read("C1", "finish", ef.hms("07:45:00"))  # course passes the line early on
    ef.read("C1", "finish", ef.hms("08:20:00"))
    r = ef.result(ef.engine(), "R1")
    assert r.finish_ms == ef.hms("08:20:00")
    assert r.status == "finished"


def test_min_time_boundary_is_strict(ef: Any) -> None:
    ef.participant("R1")
    ef.participant("R2")
    ef.read("C1", "finish", ef.hms("07:55:00"))  # exactly min_time (25:00) after the gun
    ef.read("C2", "finish", ef.hms("07:55:00.001"))
    eng = ef.engine()
    assert ef.result(eng, "R1").status == "running"
    assert ef.result(eng, "R2").status == "finished"


def test_default_min_time_is_distance_over_6_5_floored(ef: Any) -> None:
    from station.event.config import EventConfig, normalize

    cfg = EventConfig.from_payload(normalize(ef.event()))
    assert cfg.races["5k"].min_time_ms == 769_230  # 5000 / 6.5 s = 769.2307… s
    ef.participant("R1", race="5k")
    ef.participant("R2", race="5k")
    ef.read("C1", "finish", ef.hms(GUN_A) + 769_230)
    ef.read("C2", "finish", ef.hms(GUN_A) + 769_231)
    eng = ef.engine()
    assert ef.result(eng, "R1").status == "running"
    assert ef.result(eng, "R2").finish_ms == ef.hms(GUN_A) + 769_231


def test_min_time_counted_from_chip_start(ef: Any) -> None:
    ef.participant("R1")
    ef.read("C1", "start", ef.hms("07:35:00"))
    ef.read("C1", "finish", ef.hms("07:59:00"))  # 29 min after gun, 24 min after chip start
    ef.read("C1", "finish", ef.hms("08:10:00"))
    r = ef.result(ef.engine(), "R1")
    assert r.finish_ms == ef.hms("08:10:00")
    assert r.chip_ms == ef.dur("0:35:00")


def test_finish_after_cutoff_still_counts(ef: Any) -> None:
    ef.participant("R1")
    ef.read("C1", "finish", ef.hms("09:45:00"))
    r = ef.result(ef.engine(now=ef.hms("12:00:00")), "R1")
    assert r.status == "finished"
    assert r.gun_ms == ef.dur("2:15:00")


def test_first_valid_finish_counts_later_crossings_ignored(ef: Any) -> None:
    ef.participant("R1")
    ef.read("C1", "finish", ef.hms("08:20:00"))
    ef.read("C1", "finish", ef.hms("08:50:00"))  # walked back over the line later
    assert ef.result(ef.engine(), "R1").finish_ms == ef.hms("08:20:00")


def _lap_event(ef: Any, laps: int = 3, min_time: str | None = "0:30:00") -> None:
    race: dict[str, Any] = {"id": "laps", "distance_m": 10000, "laps": laps,
                            "waves": [{"id": "A", "start": "07:30:00"}]}
    if min_time:
        race["min_time"] = min_time
    data = ef.event(
        races=[race],
        timing_points=[{"id": "sf", "kind": "start_finish"},
                       {"id": "mid", "kind": "split", "distance_m": 1500}])
    ef.config(data)


def test_laps_on_start_finish_mat(ef: Any) -> None:
    _lap_event(ef)  # min 10 min per lap
    ef.participant("R1", race="laps")
    ef.read("C1", "sf", ef.hms("07:30:04"))  # start
    ef.read("C1", "sf", ef.hms("07:35:00"))  # within min_time/laps of the start: ignored
    ef.read("C1", "sf", ef.hms("07:45:00"))  # lap 1
    ef.read("C1", "sf", ef.hms("07:54:00"))  # only 9 min after lap 1: ignored
    ef.read("C1", "sf", ef.hms("08:00:00"))  # lap 2
    ef.read("C1", "sf", ef.hms("08:15:00"))  # lap 3 = finish
    ef.read("C1", "sf", ef.hms("08:30:00"))  # after the finish
    eng = ef.engine()
    r = ef.result(eng, "R1")
    assert r.start_ms == ef.hms("07:30:04")
    assert r.finish_ms == ef.hms("08:15:00")
    assert r.splits == {"sf_1": ef.hms("07:45:00") - ef.hms("07:30:04"),
                        "sf_2": ef.hms("08:00:00") - ef.hms("07:30:04")}
    assert eng.split_columns() == ["split_mid_ms", "split_sf_1_ms", "split_sf_2_ms"]
    row = eng.rows()[0]
    assert row["split_sf_1_ms"] == ef.dur("0:14:56")
    assert row["split_sf_2_ms"] == ef.dur("0:29:56")
    assert row["split_mid_ms"] == ""


def test_laps_not_all_done_is_running_with_lap_splits(ef: Any) -> None:
    _lap_event(ef)
    ef.participant("R1", race="laps")
    ef.read("C1", "sf", ef.hms("07:30:00"))
    ef.read("C1", "sf", ef.hms("07:45:00"))
    r = ef.result(ef.engine(), "R1")
    assert r.status == "running"
    assert r.finish_ms is None
    assert r.splits == {"sf_1": ef.dur("0:15:00")}


def test_start_finish_first_crossing_within_start_window_is_the_start(ef: Any) -> None:
    """Rule 4 taken literally: on a start_finish mat, with no read at the start, the first lap
    pass (within start_window_s of the gun) is the runner's chip start. A timer with short laps
    sets start_window_s below the fastest lap."""
    _lap_event(ef)
    ef.participant("R1", race="laps")
    ef.read("C1", "sf", ef.hms("07:45:00"))
    r = ef.result(ef.engine(), "R1")
    assert r.start_ms == ef.hms("07:45:00")
    assert r.splits == {}


def test_lap_min_time_is_divided_by_laps_exactly(ef: Any) -> None:
    _lap_event(ef, laps=3, min_time="0:00:10")  # 10 s / 3 laps = 3.333 s per lap
    ef.participant("R1", race="laps")
    ef.participant("R2", race="laps")
    g = ef.hms(GUN_A)
    for t in (g, g + 3_334, g + 6_668, g + 10_002):
        ef.read("C1", "sf", t)
    for t in (g, g + 3_333, g + 6_666 + 3_334 * 2):  # 3.333 s is not more than 10/3 s
        ef.read("C2", "sf", t)
    eng = ef.engine()
    assert ef.result(eng, "R1").finish_ms == g + 10_002
    assert ef.result(eng, "R2").status == "running"


# --------------------------------------------------------------------------- rule 6: splits
def test_split_first_crossing_after_start_before_finish(ef: Any) -> None:
    ef.participant("R1")
    ef.read("C1", "start", ef.hms("07:30:05"))
    ef.read("C1", "km5", ef.hms("07:29:00"))  # before the start: ignored
    ef.read("C1", "km5", ef.hms("07:55:05"))
    ef.read("C1", "km5", ef.hms("08:00:00"))
    ef.read("C1", "finish", ef.hms("08:20:05"))
    r = ef.result(ef.engine(), "R1")
    assert r.splits == {"km5": ef.dur("0:25:00")}


def test_split_after_finish_is_not_a_split(ef: Any) -> None:
    ef.participant("R1")
    ef.read("C1", "finish", ef.hms("08:20:00"))
    ef.read("C1", "km5", ef.hms("08:25:00"))
    r = ef.result(ef.engine(), "R1")
    assert r.splits == {}


def test_splits_shown_for_every_status(ef: Any) -> None:
    ef.participant("R1")
    ef.participant("R2")
    ef.read("C1", "km5", ef.hms("07:55:00"))
    ef.read("C2", "km5", ef.hms("07:56:00"))
    ef.correction("dq", registration_id="R2")
    eng = ef.engine()
    rows = {r["bib"]: r for r in eng.rows()}
    assert rows["1"]["status"] == "running"
    assert rows["1"]["split_km5_ms"] == ef.dur("0:25:00")
    assert rows["2"]["status"] == "DQ"
    assert rows["2"]["split_km5_ms"] == ef.dur("0:26:00")


def test_split_columns_in_course_order(ef: Any) -> None:
    data = ef.event()
    data["timing_points"] = [
        {"id": "start", "kind": "start"},
        {"id": "km8", "kind": "split", "distance_m": 8000},
        {"id": "km3", "kind": "split", "distance_m": 3000},
        {"id": "finish", "kind": "finish", "distance_m": 10000},
    ]
    ef.config(data)
    assert ef.engine().split_columns() == ["split_km3_ms", "split_km8_ms"]


# --------------------------------------------------------------------------- rule 7: gaps
def test_backup_reader_fills_a_gap(ef: Any) -> None:
    ef.participant("R1")
    ef.read("C1", "finish", ef.hms("08:20:00"), role="backup")
    r = ef.result(ef.engine(), "R1")
    assert r.finish_ms == ef.hms("08:20:00")
    assert r.finish_source == "backup"


def test_backup_never_overrides_main_within_backup_window(ef: Any) -> None:
    ef.participant("R1")
    ef.read("C1", "finish", ef.hms("08:19:40"), role="backup")  # 20 s before the main crossing
    ef.read("C1", "finish", ef.hms("08:20:00"))
    r = ef.result(ef.engine(), "R1")
    assert r.finish_ms == ef.hms("08:20:00")
    assert r.finish_source == "main"


def test_backup_at_exactly_backup_window_is_still_covered(ef: Any) -> None:
    ef.participant("R1")
    ef.read("C1", "start", ef.hms("07:31:00"))
    ef.read("C1", "start", ef.hms("07:30:30"), role="backup")  # 30 s before: within the window
    assert ef.result(ef.engine(), "R1").start_ms == ef.hms("07:31:00")


def test_backup_outside_backup_window_counts(ef: Any) -> None:
    ef.participant("R1")
    ef.read("C1", "start", ef.hms("07:30:05"), role="backup")  # main missed the start
    ef.read("C1", "start", ef.hms("07:45:00"))  # main: walking back, 15 min later
    r = ef.result(ef.engine(), "R1")
    assert r.start_ms == ef.hms("07:30:05")
    assert r.start_source == "backup"


def test_backup_window_s_is_per_point(ef: Any) -> None:
    data = ef.event()
    data["timing_points"][2]["backup_window_s"] = 5
    ef.config(data)
    ef.participant("R1")
    ef.read("C1", "finish", ef.hms("08:20:00"), role="backup")
    ef.read("C1", "finish", ef.hms("08:20:10"))
    r = ef.result(ef.engine(), "R1")
    assert r.finish_ms == ef.hms("08:20:00")
    assert r.finish_source == "backup"


def test_manual_time_fills_a_gap(ef: Any) -> None:
    ef.participant("R1")
    ef.manual("1", "finish", ef.hms("08:20:00"))
    r = ef.result(ef.engine(), "R1")
    assert r.finish_ms == ef.hms("08:20:00")
    assert r.finish_source == "manual"
    assert r.status == "finished"


def test_manual_time_by_registration_id(ef: Any) -> None:
    ef.participant("R1")
    ef.entry("manual_time", {"registration_id": "R1", "point": "finish", "t": ef.hms("08:20:00")})
    assert ef.result(ef.engine(), "R1").finish_source == "manual"


def test_manual_time_never_overrides_main_within_backup_window(ef: Any) -> None:
    ef.participant("R1")
    ef.manual("1", "finish", ef.hms("08:20:03"))
    ef.read("C1", "finish", ef.hms("08:20:00"))
    r = ef.result(ef.engine(), "R1")
    assert r.finish_ms == ef.hms("08:20:00")
    assert r.finish_source == "main"


def test_forced_manual_time_overrides_main(ef: Any) -> None:
    ef.participant("R1")
    m = ef.manual("1", "finish", ef.hms("08:20:03"))
    ef.read("C1", "finish", ef.hms("08:20:00"))
    ef.correction("force", target=m.uuid)
    r = ef.result(ef.engine(), "R1")
    assert r.finish_ms == ef.hms("08:20:03")
    assert r.finish_source == "manual"


def test_manual_time_at_point_not_serving_race_is_no_activity(ef: Any) -> None:
    ef.participant("R1", race="5k")
    ef.manual("1", "km5", ef.hms("07:50:00"))
    assert ef.result(ef.engine(), "R1").status == "DNS"


def test_manual_start_counts_as_start(ef: Any) -> None:
    ef.participant("R1")
    ef.manual("1", "start", ef.hms("07:30:20"))
    r = ef.result(ef.engine(), "R1")
    assert r.start_ms == ef.hms("07:30:20")
    assert r.start_source == "manual"
