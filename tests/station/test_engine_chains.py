"""Property tests: the chain-keeping engine gives exactly what the old read-keeping engine gives.

`engine_reference.py` is the engine as it was when it held every read (kept here, test-only, as the
straightforward reference). Scenarios stress what chains make hard: reads in bursts arriving in any
order (a read bridging two chains), clock offsets and chip swaps whose `from_ms` falls inside a burst
and arrive after it, ignore/unignore/force named before and after their read arrives, backup readers,
dateless reads, a narrower window in a later configuration, waves less than a window apart (the exact
wrong-wave path), and a read source that also yields reads the engine has not applied yet.
"""

from __future__ import annotations

import dataclasses
import os
import random
from collections.abc import Iterator
from typing import Any

from engine_reference import Engine as ReferenceEngine
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from station.log.entries import Entry
from station.results.engine import Engine

SETTINGS = settings(max_examples=int(os.environ.get("HYP_N", "60")), deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
NOW = 1_795_915_000_000  # 2026-11-29 09:16:40 +08:00
CHIPS = ["C1", "C2", "C3", "C4", "X"]
STEPS = [0, 1, 300, 700, 999, 1000, 1500, 1999, 2000, 2001, 2500, 4000]


@st.composite
def scenarios(draw: Any, factory_cls: Any) -> list[Entry]:
    ef = factory_cls()
    data = ef.event()
    fin = data["timing_points"][2]
    if draw(st.booleans()):
        fin["pick"] = "peak"
    fin["window_s"] = draw(st.sampled_from([1.0, 2.0, 3.0]))
    data["timing_points"][0]["window_s"] = draw(st.sampled_from([1.0, 2.0]))
    if draw(st.booleans()):
        data["timing_points"][0]["kind"] = "start_finish"
    ef.config(data)
    gun = ef.hms("07:30:00")
    regs = []
    for i in range(draw(st.integers(2, 4))):
        chips = draw(st.lists(st.sampled_from(CHIPS[:4]), min_size=1, max_size=2, unique=True))
        reg = f"R{i + 1}"
        regs.append(reg)
        ef.participant(reg, str(i + 1), race=draw(st.sampled_from(["10k", "10k", "5k"])),
                       wave=draw(st.sampled_from(["A", "B"])), chips=chips)
    if draw(st.integers(0, 3)) == 0:  # wave B a fraction of a window after A: exact wrong-wave path
        ef.gun("B", gun + draw(st.sampled_from([500, 1000, 1500])), "10k")
    uuids: list[str] = []
    bursts: list[int] = []
    for _ in range(draw(st.integers(2, 9))):
        chip = draw(st.sampled_from(CHIPS))
        point = draw(st.sampled_from(["start", "start", "km5", "finish", "finish"]))
        role = draw(st.sampled_from(["main", "main", "main", "backup"]))
        reader = draw(st.sampled_from(["r1", "r2"]))
        base = {"start": gun + draw(st.sampled_from([-600_000, -3_000, -1_000, 0, 500, 2_000, 30_000])),
                "km5": gun + 1_500_000, "finish": gun + draw(st.sampled_from([1_000_000, 1_600_000, 3_000_000]))}[point]
        t = base + draw(st.integers(-3, 3)) * 700
        bursts.append(t)
        for _ in range(draw(st.integers(1, 6))):
            dateless = draw(st.integers(0, 14)) == 0
            e = ef.read(chip, point, t, rssi=draw(st.sampled_from([None, -40, -50, -50, -60])), role=role,
                        reader=reader, **({"dateless": True} if dateless else {}))
            if dateless:
                e.payload["t"] = t - 86_400_000
            uuids.append(e.uuid)
            t += draw(st.sampled_from(STEPS))
            bursts.append(t)
    if draw(st.booleans()):
        uuids.append(ef.manual(draw(st.sampled_from(["1", "2"])), draw(st.sampled_from(["finish", "start"])),
                               draw(st.sampled_from(bursts))).uuid)
    for _ in range(draw(st.integers(0, 8))):
        kind = draw(st.sampled_from(["offset", "offset", "swap", "ignore", "ignore", "unignore", "force",
                                     "gps", "config"]))
        inside = draw(st.sampled_from(bursts)) + draw(st.sampled_from([-1, 0, 1, 250, 1000]))
        if kind == "offset":
            ef.offset(draw(st.sampled_from(["r1", "r2"])), draw(st.integers(-6, 6)) * 700,
                      from_ms=draw(st.sampled_from([0, inside, inside])))
        elif kind == "swap":
            ef.correction("chip_swap", registration_id=draw(st.sampled_from(regs)),
                          chip=draw(st.sampled_from(CHIPS)), from_ms=inside)
        elif kind in ("ignore", "unignore", "force"):
            if uuids:
                ef.correction(kind, target=draw(st.sampled_from(uuids)))
        elif kind == "gps":
            ef.reader_config("r2", "finish", gps=draw(st.booleans()))
        else:  # a later configuration with other windows (narrower ones force a rebuild)
            d2 = ef.event()
            d2["timing_points"][2]["window_s"] = draw(st.sampled_from([0.5, 1.0, 2.5]))
            d2["timing_points"][0]["window_s"] = draw(st.sampled_from([0.5, 2.0]))
            ef.config(d2)
    return list(ef.entries)


def snapshot(eng: Any) -> Any:
    """What the two engines must agree on: every runner's result, and the unknown reads."""
    res = {reg: sorted((k, repr(v)) for k, v in dataclasses.asdict(r).items()) for reg, r in eng.results().items()}
    return res, eng.unknown_reads


def competition_ranks(results: dict[str, Any]) -> dict[str, tuple[int | None, ...]]:
    """Rule 8/9 ranks computed the plain way (1 + how many in the group are faster; ties share), to check
    the engine's incremental ranking independently of its own code."""
    def group_keys(r: Any) -> tuple[tuple[str, ...], ...]:
        return (("o", r.race), ("g", r.race, r.gender), ("c", r.race, r.category))

    groups: dict[tuple[str, ...], list[int]] = {}
    for r in results.values():
        if r.rank_key is not None:
            for g in group_keys(r):
                groups.setdefault(g, []).append(r.rank_key)
    return {reg: (None, None, None) if r.rank_key is None else
            tuple(sum(1 for k in groups[g] if k < r.rank_key) + 1 for g in group_keys(r))
            for reg, r in results.items()}


def check_ranks(eng: Engine) -> None:
    assert {reg: eng.ranks(r) for reg, r in eng.results().items()} == competition_ranks(eng.results())


class _AllReads:
    """A non-exact source: yields every read of the scenario, also those not applied yet (as a store
    scan does while a live view still has entries queued)."""

    exact = False

    def __init__(self, entries: list[Entry]) -> None:
        self.entries = entries

    def scan(self) -> Iterator[Entry]:
        return (e for e in self.entries if e.kind == "read")

    def find(self, uuids: set[str]) -> list[Entry]:
        return [e for e in self.entries if e.uuid in uuids]

    def of_chips(self, chips: set[str]) -> Iterator[Entry]:
        return (e for e in self.entries if e.kind == "read" and str(e.payload["chip"]) in chips)


def _apply_in_batches(eng: Engine, entries: list[Entry], rnd: random.Random) -> None:
    cuts = sorted(rnd.randint(0, len(entries)) for _ in range(rnd.randint(0, 6)))
    prev = 0
    for c in [*cuts, len(entries)]:
        eng.apply(entries[prev:c])
        prev = c


@SETTINGS
@given(data=st.data())
def test_chain_engine_equals_read_engine(factory_cls: Any, data: Any) -> None:
    entries = data.draw(scenarios(factory_cls))
    rnd = random.Random(data.draw(st.integers(0, 2**32 - 1)))
    shuffled = list(entries)
    rnd.shuffle(shuffled)
    expected = snapshot(ReferenceEngine.from_entries(entries, now_ms=lambda: NOW))
    whole = Engine.from_entries(shuffled, now_ms=lambda: NOW)
    assert snapshot(whole) == expected
    check_ranks(whole)
    eng = Engine(now_ms=lambda: NOW)
    _apply_in_batches(eng, shuffled, rnd)
    assert snapshot(eng) == expected
    check_ranks(eng)


@SETTINGS
@given(data=st.data())
def test_chain_engine_with_a_store_like_source(factory_cls: Any, data: Any) -> None:
    entries = data.draw(scenarios(factory_cls))
    rnd = random.Random(data.draw(st.integers(0, 2**32 - 1)))
    shuffled = list(entries)
    rnd.shuffle(shuffled)
    eng = Engine(now_ms=lambda: NOW, reads=_AllReads(shuffled))
    _apply_in_batches(eng, shuffled, rnd)
    assert snapshot(eng) == snapshot(ReferenceEngine.from_entries(entries, now_ms=lambda: NOW))
    check_ranks(eng)


@SETTINGS
@given(data=st.data())
def test_trace_with_reads_equals_read_engine_trace(factory_cls: Any, data: Any) -> None:
    entries = data.draw(scenarios(factory_cls))
    shuffled = list(entries)
    random.Random(data.draw(st.integers(0, 2**32 - 1))).shuffle(shuffled)
    eng = Engine.from_entries(shuffled, now_ms=lambda: NOW)
    ref = ReferenceEngine.from_entries(entries, now_ms=lambda: NOW)
    reads = [e for e in entries if e.kind == "read"]
    for reg in ref.participants():
        r0, t0 = ref.explain(reg)
        r1, t1 = eng.explain(reg, reads=reads)
        assert (r0 and dataclasses.asdict(r0)) == (r1 and dataclasses.asdict(r1))
        assert sorted(t1.notes) == sorted(t0.notes)
        assert sorted((c.time, c.first, c.last, tuple(sorted(c.uuids)), c.source, c.point) for c in t1.crossings) \
            == sorted((c.time, c.first, c.last, tuple(sorted(c.uuids)), c.source, c.point) for c in t0.crossings)
        assert all(c.reads == len(c.uuids) for c in t1.crossings)
        # without the reads: the same crossings, with read counts (uuids: only targeted ones)
        _r2, t2 = eng.explain(reg)
        assert sorted((c.time, c.first, c.last, c.reads) for c in t2.crossings) \
            == sorted((c.time, c.first, c.last, len(c.uuids)) for c in t0.crossings)
