"""Runs of reads taken in bulk (`Engine._add_run`, fed by a store listener with `runs=True`) give the
same results as the same reads taken one entry at a time — whatever the chunking, the arrival order,
swaps and ignores arriving in between."""

from __future__ import annotations

import dataclasses
import os
import tempfile
from itertools import pairwise
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from station.log.reads import ReadRun
from station.log.store import Store
from station.results.engine import Engine
from station.results.follow import EngineFollower

N = int(os.environ.get("HYP_N", "60"))

# reads in bursts: a few crossings per chip, reads a few hundred ms apart, few distinct RSSI values (ties)
read_st = st.tuples(st.sampled_from(["C1", "C2", "C3", "C9"]), st.sampled_from(["start", "finish"]),
                    st.tuples(st.integers(0, 3), st.integers(0, 4000)).map(lambda x: x[0] * 40_000 + x[1]),
                    st.one_of(st.none(), st.integers(-62, -58)))


def results(eng: Engine) -> dict[str, Any]:
    return {k: dataclasses.asdict(v) for k, v in eng.results().items()}


@settings(max_examples=N, deadline=None)
@given(reads=st.lists(read_st, min_size=1, max_size=60), cuts=st.lists(st.integers(1, 59), max_size=4),
       swap_at=st.one_of(st.none(), st.integers(0, 60)), ignore_at=st.one_of(st.none(), st.integers(0, 60)),
       with_rssi=st.booleans())
def test_runs_equal_entries(factory_cls: Any, reads: list[tuple[str, str, int, int | None]], cuts: list[int],
                            swap_at: int | None, ignore_at: int | None, with_rssi: bool) -> None:
    f = factory_cls()
    base = f.hms("08:05:00")
    ev = f.event()
    ev["timing_points"] = [{**tp, "pick": "peak"} if tp["id"] == "finish" else tp for tp in ev["timing_points"]]
    f.config(ev)
    for i in (1, 2, 3):
        f.participant(f"R{i}", str(i))
    with tempfile.TemporaryDirectory() as d, Store(Path(d)) as store:
        for e in f.entries:
            store.append(e.kind, e.payload)
        live = Engine.from_store(store)
        follower = EngineFollower(store, live)
        bounds = sorted({0, len(reads), *[c for c in cuts if c < len(reads)]})
        for k, (a, b) in enumerate(pairwise(bounds)):
            if swap_at is not None and a <= swap_at < b:
                store.append("correction", {"action": "chip_swap", "registration_id": "R1", "chip": "C9",
                                            "from_ms": base + 30_000})
            if ignore_at is not None and a <= ignore_at < b:
                first = next((e for e in store.entries(["read"])), None)
                if first is not None:
                    store.append("correction", {"action": "ignore", "target": first.uuid})
            for point in ("start", "finish"):
                part = [r for r in reads[a:b] if r[1] == point]
                if not part:
                    continue
                run = ReadRun(f"{point}-main", point, "main", base, "cap",
                              chip=[r[0] for r in part], t=[base + r[2] for r in part],
                              raw=[f"{k}:{i}" for i in range(len(part))],
                              rssi=[r[3] for r in part] if with_rssi else None)
                store.submit_reads(run).result(10)
        follower.drain()
        follower.close()
        again = Engine.from_store(store)  # the same log, entry by entry
        assert results(live) == results(again)
        assert live.rows() == again.rows()
        assert live.unknown_reads == again.unknown_reads
        assert live.entry_count == again.entry_count


def test_equal_rssi_keeps_the_earlier_peak_in_bulk_too(factory_cls: Any) -> None:
    """Rule 3: the strongest read picks the time; equal RSSI → the earlier read."""
    f = factory_cls()
    ev = f.event()
    ev["timing_points"] = [{**tp, "pick": "peak"} if tp["id"] == "finish" else tp for tp in ev["timing_points"]]
    f.config(ev)
    f.participant("R1", "1")
    b = f.hms("08:10:00")
    with tempfile.TemporaryDirectory() as d, Store(Path(d)) as store:
        for e in f.entries:
            store.append(e.kind, e.payload)
        live = Engine.from_store(store)
        with EngineFollower(store, live) as follower:
            store.submit_reads(ReadRun("finish-main", "finish", "main", b, "cap", chip=["C1"] * 4,
                                       t=[b, b + 100, b + 200, b + 300], raw=["a", "b", "c", "d"],
                                       rssi=[-61, -58, -58, -70])).result(10)
            follower.drain()
        assert live.result("R1").finish_ms == b + 100
        assert results(live) == results(Engine.from_store(store))


def test_a_run_holding_a_targeted_read_takes_the_read_by_read_path(factory_cls: Any) -> None:
    """An ignore that reaches the engine before its read (a peer's correction pulled first) still
    applies when the read arrives inside a run; runs holding no targeted read keep the bulk path."""
    from station.log.store import CommittedRun, nth_uuid

    f = factory_cls()
    f.config(f.event())
    f.participant("R1", "1")
    f.participant("R2", "2")
    b = f.hms("08:10:00")
    first, other = "0a0b0c0d-0e0f-4000-8000-000000000100", "1a0b0c0d-0e0f-4000-8000-000000000100"
    run = ReadRun("finish-main", "finish", "main", b, "cap", chip=["C1"] * 3 + ["C2"] * 3,
                  t=[b, b + 100, b + 200, b + 60_000, b + 60_100, b + 60_200], raw=list("abcdef"))
    ignore = f.correction("ignore", target=nth_uuid(first, 4))  # C2's second read
    later = ReadRun("finish-main", "finish", "main", b, "cap", chip=["C1"], t=[b + 300], raw=["g"])
    runs = [CommittedRun("st-x", 1, first, run, 0, ""), CommittedRun("st-x", 7, other, later, 0, "")]
    bulk = Engine(now_ms=lambda: 0)
    bulk.apply([*f.entries, ignore, *runs])
    one_by_one = Engine(now_ms=lambda: 0)
    one_by_one.apply([*f.entries, ignore, *[e for cr in runs for e in cr.entries()]])
    assert results(bulk) == results(one_by_one)
    assert bulk.result("R2").finish_ms is None  # its only crossing is ignored
    assert bulk.result("R1").finish_ms == b
    assert not bulk._run_targeted(other, 1) and bulk._run_targeted(first, 6)
