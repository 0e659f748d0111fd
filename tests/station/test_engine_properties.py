"""Property tests: results are a pure function of the set of entries, and ranks agree with times."""

from __future__ import annotations

import dataclasses
import random
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from station.results.engine import Engine

SETTINGS = settings(max_examples=int(__import__("os").environ.get("HYP_N", "60")), deadline=None, suppress_health_check=[HealthCheck.too_slow])
BIBS = ["1", "2", "3", "4", "5", "6"]
CHIPS = ["C1", "C2", "C3", "C4", "C5", "C6", "X", "Y"]
POINTS = ["start", "km5", "finish", "finish", "nowhere"]


@st.composite
def scenarios(draw: Any, factory_cls: Any) -> list[Any]:
    ef = factory_cls()
    data = ef.event()
    if draw(st.booleans()):
        data["timing_points"][2]["pick"] = "peak"
    if draw(st.booleans()):
        data["races"][1]["cutoff"] = "0:40:00"
    ef.config(data)
    gun = ef.hms("07:30:00")
    for bib in BIBS[: draw(st.integers(2, len(BIBS)))]:
        chips = draw(st.lists(st.sampled_from(CHIPS), min_size=1, max_size=2, unique=True))
        ef.participant(f"R{bib}", bib, race=draw(st.sampled_from(["10k", "5k"])),
                       wave=draw(st.sampled_from(["A", "B", ""])), chips=chips,
                       gender=draw(st.sampled_from("MFX")),
                       birth_date=draw(st.sampled_from([None, "1990-01-01", "2010-11-29", "1950-06-01"])))
    uuids: list[str] = []
    n = draw(st.integers(5, 40))
    for _ in range(n):
        kind = draw(st.sampled_from(["read"] * 8 + ["manual", "gun", "correction", "offset", "closed",
                                                    "participant", "gps"]))
        base = draw(st.sampled_from([-60_000, 0, 5_000, 1_500_000, 1_560_000, 2_700_000, 3_000_000,
                                     3_030_000, 7_000_000]))
        t = gun + base + draw(st.integers(0, 8)) * 500
        if kind == "read":
            e = ef.read(draw(st.sampled_from([*CHIPS, "UNKNOWN"])), draw(st.sampled_from(POINTS)), t,
                        rssi=draw(st.sampled_from([None, -40, -50, -60])),
                        role=draw(st.sampled_from(["main", "main", "backup"])),
                        reader=draw(st.sampled_from(["r1", "r2"])),
                        **({"dateless": True} if draw(st.integers(0, 9)) == 0 else {}))
            if e.payload.get("dateless"):
                e.payload["t"] = t - 86_400_000
            uuids.append(e.uuid)
        elif kind == "manual":
            uuids.append(ef.manual(draw(st.sampled_from(BIBS)), draw(st.sampled_from(POINTS)), t).uuid)
        elif kind == "gun":
            race = draw(st.sampled_from([None, "10k", "5k"]))
            ef.gun(draw(st.sampled_from(["A", "B"])), gun + draw(st.integers(-60, 600)) * 1000, race,
                   station_id=draw(st.sampled_from(["st-a", "st-b"])),
                   recorded_at=ef.recorded_at + draw(st.integers(-3, 3)))
        elif kind == "offset":
            ef.offset(draw(st.sampled_from(["r1", "r2"])), draw(st.integers(-5, 5)) * 1000,
                      from_ms=draw(st.sampled_from([0, gun + 1_200_000])))
        elif kind == "gps":
            ef.reader_config("r2", "finish", gps=draw(st.booleans()))
        elif kind == "closed":
            ef.close(draw(st.sampled_from(["10k", "5k"])))
        elif kind == "participant":
            bib = draw(st.sampled_from(BIBS))
            ef.participant(f"R{bib}", bib, race=draw(st.sampled_from(["10k", "5k"])),
                           chips=draw(st.lists(st.sampled_from(CHIPS), max_size=2, unique=True)))
        else:
            action = draw(st.sampled_from(["dq", "dns", "dnf", "reinstate", "ignore", "unignore",
                                           "adjust", "chip_swap", "force"]))
            reg = f"R{draw(st.sampled_from(BIBS))}"
            if action in ("ignore", "unignore", "force"):
                if uuids:
                    ef.correction(action, target=draw(st.sampled_from(uuids)))
            elif action == "adjust":
                ef.correction(action, registration_id=reg, delta_ms=draw(st.integers(-5, 5)) * 1000)
            elif action == "chip_swap":
                ef.correction(action, registration_id=reg, chip=draw(st.sampled_from(CHIPS)),
                              from_ms=gun + draw(st.integers(0, 3600)) * 1000)
            else:
                ef.correction(action, registration_id=reg)
    return ef.entries


def snapshot(eng: Engine) -> Any:
    res = {}
    for reg, r in eng.results().items():
        d = dataclasses.asdict(r)
        res[reg] = (sorted((k, repr(v)) for k, v in d.items()), eng.ranks(r))
    return res, eng.rows(), eng.unknown_reads


NOW = 1_795_915_000_000  # 2026-11-29 09:16:40 +08:00: some runners past the 40 min cutoff


def build(entries: list[Any]) -> Engine:
    return Engine.from_entries(entries, now_ms=lambda: NOW)


@SETTINGS
@given(data=st.data())
def test_results_independent_of_entry_order(factory_cls: Any, data: Any) -> None:
    entries = data.draw(scenarios(factory_cls))
    seed = data.draw(st.integers(0, 2**32 - 1))
    shuffled = list(entries)
    random.Random(seed).shuffle(shuffled)
    assert snapshot(build(shuffled)) == snapshot(build(entries))


@SETTINGS
@given(data=st.data())
def test_incremental_apply_in_batches_matches_from_entries(factory_cls: Any, data: Any) -> None:
    entries = data.draw(scenarios(factory_cls))
    shuffled = list(entries)
    random.Random(data.draw(st.integers(0, 2**32 - 1))).shuffle(shuffled)
    cuts = sorted(data.draw(st.lists(st.integers(0, len(shuffled)), max_size=6)))
    eng = Engine(now_ms=lambda: NOW)
    prev = 0
    for c in [*cuts, len(shuffled)]:
        eng.apply(shuffled[prev:c])
        prev = c
    assert snapshot(eng) == snapshot(build(entries))


@SETTINGS
@given(data=st.data())
def test_ranks_consistent_with_times(factory_cls: Any, data: Any) -> None:
    eng = build(data.draw(scenarios(factory_cls)))
    results = list(eng.results().values())
    for r in results:
        o, g, c = eng.ranks(r)
        if r.status != "finished":
            assert (o, g, c, r.rank_key) == (None, None, None, None)
            continue
        race = eng.config.races[r.race]
        assert r.rank_key == (r.chip_ms if race.ranking == "chip" else r.gun_ms)
        same = [x for x in results if x.race == r.race and x.status == "finished"]
        assert o == 1 + sum(1 for x in same if x.rank_key < r.rank_key)
        assert g == 1 + sum(1 for x in same if x.gender == r.gender and x.rank_key < r.rank_key)
        assert c == 1 + sum(1 for x in same if x.category == r.category and x.rank_key < r.rank_key)
    for race in eng.config.races:
        ranked = [x for x in results if x.race == race and x.status == "finished"]
        ranks = sorted(eng.ranks(x)[0] for x in ranked)
        # competition ranking: a permutation of 1..n where ties repeat the lower rank
        for i, rank in enumerate(ranks, start=1):
            assert rank <= i
            assert rank == i or rank == ranks[i - 2]
        rows = [row for row in eng.rows(race) if row["overall_rank"] != ""]
        assert [row["overall_rank"] for row in rows] == ranks
