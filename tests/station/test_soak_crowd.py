"""The soak's read pattern is a finish crowd: every runner arrives once over the soak and lingers, read
often enough that its reads stay one crossing; a few hundred chips share the read rate at any moment."""

from __future__ import annotations

from rehearsal.soak import FinishCrowd


def test_every_runner_arrives_once_and_stays_one_crossing() -> None:
    chips = [f"C{i}" for i in range(500)]
    duration, rate = 60.0, 2000.0
    crowd = FinishCrowd(chips, duration, rate)
    last_seen: dict[str, float] = {}
    first_seen: dict[str, float] = {}
    worst_gap = 0.0
    n = 0
    t = 0.0
    while t < duration:
        for _ in range(20):  # 20 reads every 10 ms: 2,000 reads/s
            c = crowd.next(t)
            n += 1
            if c in last_seen:
                worst_gap = max(worst_gap, t - last_seen[c])
            else:
                first_seen[c] = t
            last_seen[c] = t
        t += 0.01
    assert set(chips) - set(first_seen) <= {"C499"}  # everyone came through (the last at the very end)
    assert worst_gap < 2.0  # a 2 s window keeps each runner's reads one crossing
    in_range_at_end = {crowd.next(duration - 0.01) for _ in range(1000)}
    assert 300 <= len(in_range_at_end) <= 400  # ~rate / 5 reads a second each
