"""The finish-line stamp queue: which stamp a typed bib takes (no Qt)."""

from __future__ import annotations

from station.timing.stamps import REFUSED, SAVING, StampQueue


def test_a_bib_takes_the_oldest_waiting_stamp() -> None:
    q = StampQueue()
    a, b = q.stamp(100), q.stamp(200)
    assert q.take("1") is a and a.state == SAVING
    assert q.take("2") is b  # the first one is being saved: not taken twice
    q.saved(a.id)
    q.saved(b.id)
    assert len(q) == 0 and q.take("3") is None


def test_a_refused_bib_keeps_its_place_and_never_jumps_the_queue() -> None:
    q = StampQueue()
    a, b, c = q.stamp(100), q.stamp(200), q.stamp(300)
    q.take("9999")
    q.refused(a.id, "No participant with bib 9999.")
    assert [s.t for s in q.stamps] == [100, 200, 300] and a.state == REFUSED
    assert q.take("1011") is b  # the next runner's time, not the refused one
    assert q.next_for_bib() is c
    assert q.take("1013", selected=a.id) is a  # fixed only when chosen explicitly
    assert q.waiting() == 1


def test_selected_stamps_deletion_and_time_order() -> None:
    q = StampQueue()
    a, stray, b = q.stamp(100), q.stamp(150), q.stamp(200)
    late = q.stamp(120)  # out of order (a clock step): still in time order
    assert [s.t for s in q.stamps] == [100, 120, 150, 200]
    assert q.delete(stray.id) is stray and q.get(stray.id) is None
    q.take("1", selected=b.id)
    assert q.delete(b.id) is None  # being saved: not deletable
    assert q.next_for_bib(selected=b.id) is a  # a stamp being saved is never chosen again
    assert q.take("2") is a and q.take("3") is late


def test_stamps_survive_a_restart() -> None:
    q = StampQueue()
    a, _b, c = q.stamp(100), q.stamp(200), q.stamp(300)
    q.take("9999")
    q.refused(a.id, "No participant with bib 9999.")
    q.take("1011")  # _b is being saved when the station stops
    again = StampQueue()
    assert again.load([*q.dump(), {"t": "x"}, "junk"], unsure="check") == 3
    st = again.stamps
    assert [s.t for s in st] == [100, 200, 300]
    assert [s.state for s in st] == [REFUSED, REFUSED, "waiting"] and st[1].reason == "check"
    assert again.next_for_bib() is st[2] and c.t == 300
