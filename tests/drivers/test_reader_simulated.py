"""The simulated race: deterministic, truthful, and speaking every wire format the parsers read."""

from __future__ import annotations

import threading

import pytest
from reader_helpers import parse_capture

from drivers.records import Impulse, TagRead, Unparsed, civil_to_wall_ms
from drivers.simulated import SimPoint, SimulatedRace

GUN = civil_to_wall_ms(2026, 11, 29, 0, 0, 0, 0)  # 08:00 in Shanghai


def make(**kw):
    chips = {f"reg{i}": [str(100 + i)] for i in range(60)}
    pts = [SimPoint("start", 0, "start"), SimPoint("km5", 5000, "split"), SimPoint("finish", 10_000, "finish")]
    return SimulatedRace(chips, GUN, pts, seed=7, zone="Asia/Shanghai", **kw)


def test_deterministic_and_truthful():
    a, b = make(), make()
    assert a.reads == b.reads
    finished = [t for t in a.truth.values() if t.status == "finished"]
    assert finished
    for t in finished:
        assert t.crossings["start"] < t.crossings["km5"] < t.crossings["finish"]
    for r in a.reads:
        if r.truth is not None and r.point == "finish":
            assert a.truth[r.truth].crossings["finish"] <= r.utc_ms < a.truth[r.truth].crossings["finish"] + 2000


@pytest.mark.parametrize("fmt", ["ultra", "raceresult", "mylaps", "ipico"])
def test_every_format_parses_back(fmt):
    race = make(stray_reads=0)
    parsed = parse_capture(fmt, race.capture(fmt, "finish"))
    recs = [r for _, rs in parsed for r in rs]
    assert not [r for r in recs if isinstance(r, Unparsed)]
    tag_reads = [r for r in recs if isinstance(r, TagRead)]
    want = race.point_reads("finish")
    assert len(tag_reads) == len(want)
    # reader wall time is the event zone's clock (UTC+8), to the ms (Ipico: hundredths)
    for got, w in zip(tag_reads, want, strict=True):
        assert abs(got.wall_ms - (w.utc_ms + 8 * 3600_000)) < 10
    if fmt == "ipico":
        assert int(tag_reads[0].chip, 16) == int(want[0].chip)
    else:
        assert tag_reads[0].chip == want[0].chip


def test_timy_guns():
    race = make(waves={"A": GUN, "B": GUN + 600_000})
    parsed = parse_capture("timy", b"".join(x.encode() + b"\r" for _, x in race.lines(
        "timy", channel_waves={"C0": "A", "C1": "B"})))
    imp = [r for _, rs in parsed for r in rs if isinstance(r, Impulse)]
    assert [(i.channel, i.wall_ms) for i in imp] == [("C0", 8 * 3600_000), ("C1", 8 * 3600_000 + 600_000)]


def test_play_paces_faster_than_real_time():
    race = SimulatedRace(["1", "2", "3"], GUN, [("finish", 100.0)], seed=1, stray_reads=0, dns_rate=0,
                         dnf_rate=0, miss_rate=0)
    got: list[bytes] = []
    n = race.play("ultra", "finish", got.append, speed=1000.0, stop=threading.Event())
    assert n == len(got) == len(race.point_reads("finish"))
