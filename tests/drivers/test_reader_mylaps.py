"""MYLAPS ASCII: messages with several passings, fields in any order, dateless times, handshakes."""

from __future__ import annotations

from reader_helpers import fixture, kinds, parse_capture

from drivers.mylaps import Mylaps, format_message, format_passing
from drivers.records import Heartbeat, TagRead, Unparsed, civil_to_wall_ms


def test_capture():
    parsed = parse_capture("mylaps", fixture("mylaps_capture.txt"))
    assert kinds(parsed) == ["Heartbeat", "TagRead", "TagRead", "TagRead", "Heartbeat", "TagRead", "Unparsed",
                             "TagRead", "TagRead", "TagRead", "Unparsed"]
    msg1 = parsed[1][1]
    assert [r.chip for r in msg1] == ["KX12345", "KX12346", "KX12347"]
    assert msg1[0].wall_ms == civil_to_wall_ms(2026, 11, 29, 7, 30, 1, 0)
    assert msg1[1].wall_ms == civil_to_wall_ms(2026, 11, 29, 7, 30, 2, 500)  # t before c, extra key x
    assert msg1[2].dateless and msg1[2].wall_ms == (7 * 3600 + 30 * 60 + 3) * 1000 + 125
    assert all(r.rssi is None for r in msg1)
    # the resent message 1 gives the same keys: stored once
    assert [r.key for r in parsed[4][1]] == [r.key for r in msg1]
    assert len({r.key for r in msg1}) == 3
    bad = parsed[3][1][1]
    assert isinstance(bad, Unparsed) and "time" in bad.error


def test_handshake_and_ack_after_commit():
    m = Mylaps("WORUN")
    pong = "Finish Line@Pong@$"
    assert m.replies(pong, m.parse(pong)) == [b"WORUN@AckPong@Version2.1@$"]
    ping = "Finish Line@Ping@$"
    assert isinstance(m.parse(ping)[0], Heartbeat)
    assert m.replies(ping, []) == [b"WORUN@AckPing@$"]
    msg = format_message("Start", [format_passing("1", 1000)], 17)
    recs = m.parse(msg)
    assert m.replies(msg, recs) == []  # a passing is acknowledged only after the commit
    assert m.after_commit(msg, recs) == [b"WORUN@AckPassing@17@$"]


def test_location_with_spaces_and_many_passings():
    ps = [format_passing(f"C{i}", civil_to_wall_ms(2026, 11, 29, 8, 0, 0, i)) for i in range(100)]
    msg = format_message("5 km split east", ps, 3)
    recs = Mylaps().parse(msg)
    assert len(recs) == 100 and all(isinstance(r, TagRead) for r in recs)
    assert recs[0].key.startswith("5 km split east/")


def test_garbage_and_binary_never_raise():
    m = Mylaps()
    for text in ["", "@", "x@Passing@$", "x@Passing@c=1|t=07:00:00.000@notanumber@$", "\x00\xff@Passing@@$",
                 "x@Bogus@$", "x@Passing@c=1|t=07:00:00.000|d=2611@1@$"]:
        for r in m.parse(text):
            assert not isinstance(r, TagRead) or text == ""


def test_split_across_packets():
    data = fixture("mylaps_capture.txt")
    assert parse_capture("mylaps", data, chunk=5) == parse_capture("mylaps", data)


def test_each_passing_keeps_its_own_frame_as_raw():
    """A 100-passing message is not stored 100 times: each read's raw is its passing in the message's
    frame (location, passing text verbatim, message number); together they give back the message."""
    ps = [format_passing(f"C{i}", civil_to_wall_ms(2026, 11, 29, 8, 0, 0, i)) for i in range(100)]
    ps[7] = "t=08:00:00.007|x=9|c=C7"  # fields in any order, extra keys: kept as sent
    msg = format_message("Finish East", ps, 42)
    recs = Mylaps().parse(msg)
    assert [r.raw for r in recs] == [f"Finish East@Passing@{p}@42@$" for p in ps]
    assert "@".join(["Finish East", "Passing", *(r.raw.split("@")[2] for r in recs), "42"]) + "@$" == msg
    bad = Mylaps().parse(format_message("L", ["c=1|t=07:00:00.000", "c=2"], 5))
    assert isinstance(bad[1], Unparsed) and bad[1].raw == "L@Passing@c=2@5@$"
