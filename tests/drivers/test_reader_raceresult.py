"""RACE RESULT decoder passings: CRLF capture, commands, resends, garbage."""

from __future__ import annotations

import pytest
from reader_helpers import fixture, kinds, parse_capture

from drivers.base import Resume
from drivers.raceresult import CMD_GETTIME, CMD_PASSINGS, RaceResult, cmd_fetch, format_passing
from drivers.records import ClockReading, Status, TagRead, Unparsed, civil_to_wall_ms


def test_capture():
    parsed = parse_capture("raceresult", fixture("raceresult_capture.txt"))
    assert kinds(parsed) == ["ClockReading", "Heartbeat", "TagRead", "TagRead", "Status", "TagRead", "TagRead",
                             "Unparsed", "Unparsed", "Unparsed", "TagRead"]
    reads = [r for _, recs in parsed for r in recs if isinstance(r, TagRead)]
    a, b, short, resend, short_again = reads
    assert (a.chip, a.wall_ms, a.rssi, a.key, a.log_index) == (
        "123456", civil_to_wall_ms(2026, 11, 29, 7, 30, 1, 0), -60, "D1/1/1", 1)
    assert b.chip == "123457" and b.ant == 3 and b.key == "D1/1/2"  # pushed with the #P; prefix
    assert short.key is None and short.wall_ms == civil_to_wall_ms(2026, 11, 29, 7, 30, 3, 4)
    assert resend.key == a.key  # same decoder/file/passing number: a resend
    assert short_again.raw == short.raw  # the same short line again: same raw, hence same resend key
    clock = parsed[0][1][0]
    assert isinstance(clock, ClockReading) and clock.wall_ms == civil_to_wall_ms(2026, 11, 29, 7, 29, 59, 950)


@pytest.mark.parametrize("line,why", [
    ("4;123459;2026-13-40;07:30:03.004", "month"),
    ("5;123460;2026-11-29", "at least 4"),
    ("6;123460;2026-11-29;25:00:00.000", "out of range"),
    ("x;123460;2026-11-29;07:00:00.000", "not a RACE RESULT passing"),
    ("7;;2026-11-29;07:00:00.000", "transponder"),
])
def test_bad_passings_say_why(line, why):
    (rec,) = RaceResult().parse(line)
    assert isinstance(rec, Unparsed) and why in rec.error


def test_binary_and_truncated_input():
    data = b"\x00\xff\xfe;;;\r\n1;12;2026-11\r\n" + format_passing(9, "77", civil_to_wall_ms(2026, 1, 2, 3, 4, 5, 6)).encode()
    parsed = parse_capture("raceresult", data)  # the last line has no CRLF: flushed at the end
    assert kinds(parsed) == ["Unparsed", "Unparsed", "TagRead"]


def test_gap_recovery_conversation():
    rr = RaceResult()
    assert rr.on_connect(Resume()) == [CMD_GETTIME]
    assert rr.on_connect(Resume(last_index=10)) == [CMD_GETTIME, CMD_PASSINGS]
    (st,) = rr.parse("PASSINGS;25")
    assert isinstance(st, Status)
    assert rr.replies("PASSINGS;25", [st]) == [cmd_fetch(11, 15)]
    # The poll asks for the count too, so a gap at the end is found without a later passing.
    assert rr.poll() == [CMD_GETTIME, CMD_PASSINGS]
    assert rr.replies("PASSINGS;25", rr.parse("PASSINGS;25")) == []  # nothing new


def test_live_passing_beyond_the_next_number_fetches_the_gap():
    """A command lost on the line (the decoder not listening yet when the station reconnected) must
    not lose passings: the first live passing after the gap reveals it."""
    rr = RaceResult()
    rr.on_connect(Resume(last_index=100))
    w = civil_to_wall_ms(2026, 11, 29, 8, 0, 0, 0)
    line = format_passing(101, "7", w)
    assert rr.replies(line, rr.parse(line)) == []
    line = format_passing(150, "7", w)
    assert rr.replies(line, rr.parse(line)) == [cmd_fetch(102, 48)]
    # fetched passings (lower numbers) ask for nothing more
    line = format_passing(120, "7", w)
    assert rr.replies(line, rr.parse(line)) == []


def test_round_trip():
    w = civil_to_wall_ms(2026, 11, 29, 23, 59, 59, 999)
    (r,) = RaceResult().parse(format_passing(42, "A1B2", w, rssi=-71, box="BOX7", file_no=3))
    assert (r.chip, r.wall_ms, r.rssi, r.key) == ("A1B2", w, -71, "BOX7/3/42")
