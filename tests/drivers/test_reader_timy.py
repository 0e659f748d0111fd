"""ALGE Timy impulse lines."""

from __future__ import annotations

from reader_helpers import fixture, kinds, parse_capture

from drivers.records import Impulse
from drivers.timy import Timy, format_impulse, parse_impulse


def test_capture():
    parsed = parse_capture("timy", fixture("timy_capture.txt"))
    assert kinds(parsed) == ["Status", "Impulse", "Impulse", "Impulse", "Unparsed", "Unparsed"]
    first = parsed[1][1][0]
    assert isinstance(first, Impulse)
    assert (first.number, first.channel, first.wall_ms, first.dateless) == (1, "C0", 27_000_123, True)
    manual = parsed[2][1][0]
    assert manual.channel == "C0" and manual.number == 2  # C0M: a manual impulse on channel 0
    assert parsed[3][1][0].wall_ms == (8 * 3600 + 5 * 60 + 11) * 1000 + 456


def test_round_trip_and_garbage():
    assert parse_impulse(format_impulse(12, "C1", 3_723_004)).wall_ms == 3_723_004
    for bad in ["0001", "0001 C0", "0001 Q0 10:00:00.0000 00", "0001 C0 10:61:00.0000", "\xff\xfe"]:
        (r,) = Timy().parse(bad)
        assert type(r).__name__ == "Unparsed"
