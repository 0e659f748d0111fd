"""Ultra: real-format capture, line endings, garbage, truncated and binary input, resend keys."""

from __future__ import annotations

import pytest
from reader_helpers import fixture, kinds, parse_capture

from drivers.base import Resume
from drivers.records import EPOCH_1980_S, ClockReading, Heartbeat, Status, TagRead, Unparsed, civil_to_wall_ms
from drivers.ultra import Ultra, cmd_replay_index, format_read, parse_read


def test_capture_parses_every_line():
    parsed = parse_capture("ultra", fixture("ultra_capture.txt"))
    assert kinds(parsed) == ["TagRead", "TagRead", "Heartbeat", "TagRead", "Status", "ClockReading",
                             "Unparsed", "Unparsed", "TagRead", "TagRead"]
    reads = [r for _, recs in parsed for r in recs if isinstance(r, TagRead)]
    first = reads[0]
    assert first.chip == "1001"
    assert first.wall_ms == civil_to_wall_ms(2026, 11, 29, 7, 30, 1, 0)
    assert (first.ant, first.rssi, first.key, first.rewind) == (1, -55, "1/1/1", False)
    assert reads[1].wall_ms == civil_to_wall_ms(2026, 11, 29, 7, 30, 2, 345)
    assert reads[2].chip == "E2801160"  # hex chip kept as sent; conversion is the binding's business
    # the rewind replay of log 1 has the same key: the same read
    assert reads[3].rewind and reads[3].key == first.key
    clock = next(r for _, recs in parsed for r in recs if isinstance(r, ClockReading))
    assert clock.wall_ms == civil_to_wall_ms(2026, 11, 29, 7, 30, 0, 250)


@pytest.mark.parametrize("chunk", [1, 3, 7, 64])
def test_same_result_whatever_the_chunking(chunk):
    data = fixture("ultra_capture.txt")
    assert parse_capture("ultra", data, chunk) == parse_capture("ultra", data)


@pytest.mark.parametrize("ending", [b"\n", b"\r", b"\r\n"])
def test_line_endings(ending):
    lines = [format_read("7", EPOCH_1980_S * 1000 + 5000, log_id=i) for i in range(3)]
    data = ending.join(x.encode() for x in lines) + ending
    parsed = parse_capture("ultra", data, chunk=5)
    assert [r.key for _, recs in parsed for r in recs] == ["1/1/0", "1/1/1", "1/1/2"]


@pytest.mark.parametrize("line", [
    "0,1001,1480404601,0,1,-55,0,1,1,1480404601,0",          # 11 fields
    "0,1001,1480404601,0,1,-55,0,1,1,1480404601,0,1,9",      # 13 fields
    "0,,1480404601,0,1,-55,0,1,1,1480404601,0,1",            # no chip
    "0,1001,14804x4601,0,1,-55,0,1,1,1480404601,0,1",        # bad seconds
    "0,1001,1480404601,1000,1,-55,0,1,1,1480404601,0,1",     # ms out of range
    "0,10 01,1480404601,0,1,-55,0,1,1,1480404601,0,1",       # space in chip
    "V=abc",
    "0,1001,1480404601,0\x00\x01\x02",
])
def test_garbage_is_unparsed_never_raised(line):
    recs = Ultra().parse(line)
    assert len(recs) == 1 and isinstance(recs[0], Unparsed)
    assert recs[0].raw == line and recs[0].error


def test_binary_noise_is_kept_visible():
    data = bytes(range(256)) + b"\n" + format_read("5", EPOCH_1980_S * 1000, log_id=9).encode() + b"\n"
    parsed = parse_capture("ultra", data)
    assert kinds(parsed)[-1] == "TagRead"
    raws = "".join(line for line, _ in parsed)
    assert "\\xff" in raws  # undecodable bytes are shown, not dropped


def test_endless_line_without_terminator_is_cut():
    parsed = parse_capture("ultra", b"x" * 10_000 + b"\n")
    assert all(isinstance(r, Unparsed) for _, recs in parsed for r in recs)
    assert sum(len(line) for line, _ in parsed) == 10_000


def test_heartbeat_status_and_replay_commands():
    u = Ultra()
    assert isinstance(u.parse("V=12.6")[0], Heartbeat)
    assert isinstance(u.parse("S=0")[0], Status)
    assert u.on_connect(Resume()) == [b"R\r"]
    assert u.on_connect(Resume(last_index=41)) == [b"R\r", cmd_replay_index(42)]
    assert cmd_replay_index(42).startswith(b"80042\r")


def test_format_and_parse_round_trip():
    w = civil_to_wall_ms(2026, 11, 29, 9, 1, 2, 3)
    r = parse_read(format_read("00601", w, ant=3, rssi=-77, log_id=123, box=2, reader=1))
    assert (r.chip, r.wall_ms, r.ant, r.rssi, r.key) == ("00601", w, 3, -77, "1/2/123")
