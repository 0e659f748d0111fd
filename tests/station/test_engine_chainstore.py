"""The chain store behind the results engine: the cases that need the reads again, a real Store as the
read source, the publisher's engine, and the memory a burst of reads costs."""

from __future__ import annotations

import dataclasses
import tracemalloc
from pathlib import Path
from typing import Any

from engine_reference import Engine as ReferenceEngine
from test_engine_chains import check_ranks

from station.log.entries import Entry
from station.log.store import Store
from station.results.engine import Engine
from station.sync.publish import Publisher


def same_as_reference(entries: list[Entry], eng: Engine | None = None, now: int = 0) -> Engine:
    ref = ReferenceEngine.from_entries(entries, now_ms=lambda: now)
    eng = eng or Engine.from_entries(entries, now_ms=lambda: now)
    assert {k: dataclasses.asdict(v) for k, v in eng.results().items()} == \
        {k: dataclasses.asdict(v) for k, v in ref.results().items()}
    assert eng.unknown_reads == ref.unknown_reads
    check_ranks(eng)
    return eng


def burst(ef: Any, chip: str, point: str, start: str, n: int, step_ms: int, **kw: Any) -> list[Entry]:
    t0 = ef.hms(start)
    return [ef.read(chip, point, t0 + i * step_ms, **kw) for i in range(n)]


def finish_crossings(eng: Engine, reg: str) -> list[tuple[int, int, int]]:
    _r, tr = eng.explain(reg)
    return sorted((c.first, c.last, c.reads) for c in tr.crossings if c.point == "finish")


def late_without_a_scan(tmp_path: Path, race_ef: Any, make_late: Any) -> Engine:
    """Store the scenario, build a store-backed engine, apply the correction `make_late()` makes: it
    must not scan every read held, and the results must equal the reference engine's."""
    with Store(tmp_path) as s:
        s.store_foreign(list(race_ef.entries))
        eng = Engine.from_store(s, now_ms=lambda: 0)
        scans: list[int] = []
        real_scan = eng._source.scan
        eng._source.scan = lambda: (scans.append(1), real_scan())[1]  # type: ignore[method-assign]
        late = [make_late()]
        s.store_foreign(late)
        eng.apply(late)
        assert scans == []
        same_as_reference(race_ef.entries, eng)
    return eng


def test_a_burst_is_one_chain(race_ef: Any) -> None:
    race_ef.participant("R1", "1")
    burst(race_ef, "C1", "finish", "08:10:00", 50, 100, reader="r1")
    eng = same_as_reference(race_ef.entries)
    assert sum(len(b) for bs in eng._chains.values() for b in bs.values()) == 1
    assert finish_crossings(eng, "R1") == [(race_ef.hms("08:10:00"), race_ef.hms("08:10:04.900"), 50)]


def test_a_read_bridging_two_chains_merges_them(race_ef: Any) -> None:
    race_ef.participant("R1", "1")
    a = race_ef.read("C1", "finish", race_ef.hms("08:10:00"), reader="r1")
    c = race_ef.read("C1", "finish", race_ef.hms("08:10:03"), reader="r1")
    b = race_ef.read("C1", "finish", race_ef.hms("08:10:01.5"), reader="r1")
    eng = Engine(now_ms=lambda: 0)
    eng.apply([race_ef.entries[0], race_ef.entries[1], a, c])
    assert len(finish_crossings(eng, "R1")) == 2
    eng.apply([b])
    assert finish_crossings(eng, "R1") == [(race_ef.hms("08:10:00"), race_ef.hms("08:10:03"), 3)]
    same_as_reference(race_ef.entries, eng)


def test_late_clock_offset_inside_a_burst_splits_the_chain(race_ef: Any) -> None:
    race_ef.participant("R1", "1")
    burst(race_ef, "C1", "finish", "08:10:00", 10, 300, reader="r1")
    race_ef.offset("r1", 5_000, from_ms=race_ef.hms("08:10:01.400"))
    eng = same_as_reference(race_ef.entries)
    # reads before 08:10:01.400 stay put; the rest move 5 s later: two crossings now
    assert finish_crossings(eng, "R1") == [(race_ef.hms("08:10:00"), race_ef.hms("08:10:01.200"), 5),
                                           (race_ef.hms("08:10:06.500"), race_ef.hms("08:10:07.700"), 5)]
    # and in every arrival order, incrementally
    for order in (race_ef.entries[::-1], race_ef.entries[:3] + race_ef.entries[:2:-1]):
        inc = Engine(now_ms=lambda: 0)
        for e in order:
            inc.apply([e])
        same_as_reference(race_ef.entries, inc)


def test_late_chip_swap_inside_a_burst_splits_the_chain(race_ef: Any) -> None:
    race_ef.participant("R1", "1")
    race_ef.participant("R2", "2")
    race_ef.read("C1", "start", race_ef.hms("07:30:05"))
    race_ef.read("C2", "start", race_ef.hms("07:30:05"))
    burst(race_ef, "C1", "finish", "08:10:00", 10, 300)
    race_ef.correction("chip_swap", registration_id="R2", chip="C1", from_ms=race_ef.hms("08:10:01.400"))
    eng = same_as_reference(race_ef.entries)
    assert eng.result("R2").finish_ms == race_ef.hms("08:10:01.500")
    assert eng.result("R1").finish_ms == race_ef.hms("08:10:00")


def test_ignore_before_and_after_its_read(race_ef: Any) -> None:
    race_ef.participant("R1", "1")
    reads = burst(race_ef, "C1", "finish", "08:10:00", 6, 300)
    burst(race_ef, "C1", "finish", "08:12:00", 3, 300)
    race_ef.correction("ignore", target=reads[3].uuid)  # a read in the middle of the crossing
    ents = race_ef.entries
    late = same_as_reference(ents)
    assert late.result("R1").finish_ms == race_ef.hms("08:12:00")
    early = Engine(now_ms=lambda: 0)
    early.apply([ents[0], ents[1], ents[-1]])  # the correction first, then the reads
    early.apply(ents[2:-1])
    same_as_reference(ents, early)
    race_ef.correction("unignore", target=reads[3].uuid)
    assert same_as_reference(race_ef.entries).result("R1").finish_ms == race_ef.hms("08:10:00")


def test_narrower_window_in_a_later_configuration_rebuilds_chains(race_ef: Any) -> None:
    race_ef.participant("R1", "1")
    burst(race_ef, "C1", "finish", "08:10:00", 5, 1_500)
    data = race_ef.event()
    data["timing_points"][2]["window_s"] = 1.0
    race_ef.config(data)
    eng = same_as_reference(race_ef.entries)
    assert len(finish_crossings(eng, "R1")) == 5


def test_wrong_wave_when_waves_start_less_than_a_window_apart(race_ef: Any) -> None:
    gun = race_ef.hms("07:30:00")
    race_ef.gun("B", gun + 1_000, "10k")
    race_ef.participant("R1", "1", wave="B")
    race_ef.participant("R2", "2", wave="B")
    race_ef.read("C1", "start", gun - 800)
    race_ef.read("C1", "start", gun + 1_100)  # nothing in [gun A, gun B): no flag
    race_ef.read("C2", "start", gun - 800)
    race_ef.read("C2", "start", gun + 500)
    race_ef.read("C2", "start", gun + 1_100)
    eng = same_as_reference(race_ef.entries)
    assert eng.result("R1").flags == ()
    assert eng.result("R2").flags == ("wrong wave",)


def test_store_backed_engine_and_late_corrections(tmp_path: Path, race_ef: Any) -> None:
    race_ef.participant("R1", "1")
    reads = burst(race_ef, "C1", "finish", "08:10:00", 6, 300, reader="r1")
    burst(race_ef, "C1", "finish", "08:12:00", 3, 300, reader="r1")
    with Store(tmp_path) as s:
        s.store_foreign(list(race_ef.entries))
        eng = Engine.from_store(s, now_ms=lambda: 0)
        assert eng._log is None  # re-reads the store instead of keeping the reads
        late = [race_ef.correction("ignore", target=reads[2].uuid),
                race_ef.offset("r1", -1_000, from_ms=race_ef.hms("08:12:00.400"))]
        s.store_foreign(late)
        eng.apply(late)
        same_as_reference(race_ef.entries, eng)
        # the offset moved 08:12:00.600 to 08:11:59.600, still one crossing with 08:12:00.000
        assert eng.result("R1").finish_ms == race_ef.hms("08:11:59.600")


def test_a_late_ignore_finds_its_read_by_uuid_without_scanning_the_store(tmp_path: Path, race_ef: Any) -> None:
    """A timer ignores a read merged long ago: the engine looks it up by uuid (one index probe), so
    the correction shows at once however many reads the station holds."""
    race_ef.participant("R1", "1")
    race_ef.participant("R2", "2", chips=["C2"])
    reads = burst(race_ef, "C1", "finish", "08:10:00", 6, 300, reader="r1")
    burst(race_ef, "C1", "finish", "08:12:00", 3, 300, reader="r1")
    burst(race_ef, "C2", "finish", "08:11:00", 4, 300, reader="r1")
    eng = late_without_a_scan(tmp_path, race_ef, lambda: race_ef.correction("ignore", target=reads[3].uuid))
    assert eng.result("R1").finish_ms == race_ef.hms("08:12:00")  # the 08:10 crossing is ignored


def test_publisher_engine_rereads_the_store(tmp_path: Path, race_ef: Any) -> None:
    race_ef.participant("R1", "1")
    reads = burst(race_ef, "C1", "finish", "08:10:00", 6, 300, reader="r1")
    burst(race_ef, "C1", "finish", "08:12:00", 3, 300, reader="r1")
    with Store(tmp_path) as s:
        s.store_foreign(list(race_ef.entries))
        pub = Publisher(s, now_ms=lambda: 0)
        assert pub.poll() == 1
        assert pub._engine._log is None
        assert pub._engine.cache_crossings is False  # runs all day: no per-runner crossings cache
        s.store_foreign([race_ef.correction("ignore", target=reads[0].uuid)])
        assert pub.poll() == 1
        pubs = [e.payload for e in s.entries(["result_published"])]
        assert [p["chip_ms"] for p in pubs] == [race_ef.hms("08:10:00") - race_ef.hms("07:30:00"),
                                                race_ef.hms("08:12:00") - race_ef.hms("07:30:00")]


def test_memory_of_bursts_is_a_fraction_of_the_reads(race_ef: Any) -> None:
    for i in range(200):
        race_ef.participant(f"R{i}", str(i), chips=[f"C{i}"])
    t0 = race_ef.hms("08:00:00")
    reads = [race_ef.read(f"C{i}", "finish", t0 + i * 5_000 + k * 150, rssi=-40 - k % 7, reader="r1")
             for i in range(200) for k in range(20)]
    other = [e for e in race_ef.entries if e.kind != "read"]

    def size(cls: Any, **kw: Any) -> int:
        tracemalloc.start()
        eng = cls(now_ms=lambda: 0, **kw)
        eng.apply(other)
        base = tracemalloc.get_traced_memory()[0]
        eng.apply([Entry(e.station_id, e.seq, e.uuid, e.kind, dict(e.payload), e.recorded_at) for e in reads],
                  recompute=False)
        used = tracemalloc.get_traced_memory()[0] - base
        tracemalloc.stop()
        return used

    class _NoReads:
        exact = True

        def scan(self) -> Any:
            return iter(())

        def find(self, uuids: set[str]) -> Any:
            return []

    chains = size(Engine, reads=_NoReads())
    held = size(ReferenceEngine)
    assert chains * 5 < held, (chains, held)


def test_without_a_crossings_cache_results_are_the_same_and_nothing_is_cached(race_ef: Any) -> None:
    """The publisher's engine keeps no crossings cache (memory over a whole race day): same results."""
    race_ef.participant("R1", "1")
    race_ef.participant("R2", "2", chips=["C2"])
    reads = burst(race_ef, "C1", "finish", "08:10:00", 6, 300, reader="r1")
    burst(race_ef, "C2", "finish", "08:11:00", 4, 300, reader="r1")
    burst(race_ef, "C1", "finish", "08:12:00", 3, 300, reader="r1")
    lean = Engine.from_entries(race_ef.entries, now_ms=lambda: 0, cache_crossings=False)
    same_as_reference(race_ef.entries, lean)
    late = [race_ef.correction("ignore", target=reads[1].uuid)]
    lean.apply(late)
    same_as_reference(race_ef.entries, lean)
    assert lean._xcache == {}


def test_runner_detail_from_their_chips_reads_equals_the_full_scan(tmp_path: Path, race_ef: Any) -> None:
    """The runner detail (every read behind each crossing) from `Store.reads_of_chips` is the trace the
    full read scan gave, after a chip swap too: the runner's reads only, not every read held."""
    race_ef.participant("R1", "1")
    race_ef.participant("R2", "2", chips=["C2"])
    burst(race_ef, "C1", "finish", "08:10:00", 6, 300, reader="r1")
    burst(race_ef, "C2", "finish", "08:10:01", 5, 300, reader="r1")
    burst(race_ef, "C1", "km5", "07:40:00", 3, 300, reader="r2")
    # R2's chip failed at km 5: from 07:50 the spare chip C9 counts for them
    race_ef.correction("chip_swap", registration_id="R2", chip="C9", from_ms=race_ef.hms("07:50:00"))
    burst(race_ef, "C9", "finish", "08:20:00", 4, 300, reader="r1")
    with Store(tmp_path) as s:
        s.store_foreign(list(race_ef.entries))
        eng = Engine.from_store(s, now_ms=lambda: 0)
        assert set(eng.chips_of("R2")) == {"C2", "C9"}
        for reg in ("R1", "R2"):
            full = eng.explain(reg, reads=(e for _, e in s.iter_rows(0, ["read"])))
            mine = eng.explain(reg, reads=(e for _, e in s.reads_of_chips(eng.chips_of(reg))))
            assert mine == full
            assert sum(len(c.uuids) for c in mine[1].crossings) == {"R1": 9, "R2": 9}[reg]


def test_a_chip_swap_inside_a_chain_reads_that_chip_only(tmp_path: Path, race_ef: Any) -> None:
    """A chip swap (or a clock offset) whose time falls inside a chain splits it from the reads of
    that chip alone (`Store.reads_of_chips`), not a scan of every read held."""
    race_ef.participant("R1", "1")
    race_ef.participant("R2", "2", chips=["C2"])
    burst(race_ef, "C1", "finish", "08:10:00", 10, 300, reader="r1")
    burst(race_ef, "C2", "finish", "08:11:00", 4, 300, reader="r1")
    # C1 goes to R2 from 08:10:01.5, in the middle of C1's burst
    eng = late_without_a_scan(tmp_path, race_ef, lambda: race_ef.correction(
        "chip_swap", registration_id="R2", chip="C1", from_ms=race_ef.hms("08:10:01.500")))
    assert eng.result("R2") is not None
