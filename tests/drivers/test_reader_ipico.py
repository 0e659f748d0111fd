"""Ipico: checksum, FS/LS modes, resends, truncated/binary lines."""

from __future__ import annotations

import pytest
from reader_helpers import fixture, kinds, parse_capture

from drivers.ipico import Ipico, checksum, format_record, parse_record
from drivers.records import TagRead, Unparsed, civil_to_wall_ms


def test_capture():
    parsed = parse_capture("ipico", fixture("ipico_capture.txt"))
    assert kinds(parsed) == ["TagRead", "TagRead", "TagRead", "Unparsed", "Unparsed", "TagRead", "Status"]
    a = parsed[0][1][0]
    assert a.chip == "058001234567"
    assert a.wall_ms == civil_to_wall_ms(2026, 11, 29, 7, 30, 1, 230)
    assert a.rssi is None
    assert parsed[5][1][0].key == a.key  # resend
    fs, ls = parsed[1][1][0], parsed[2][1][0]
    assert fs.key != ls.key and fs.key.endswith("FS") and ls.key.endswith("LS")
    assert "checksum" in parsed[3][1][0].error


def test_checksum_definition():
    rec = "aa0005800123456700002611290730011751"
    assert checksum(rec[2:34]) == int(rec[34:36], 16)
    assert parse_record(rec).chip == "058001234567"


@pytest.mark.parametrize("line", [
    "aa0005800123456700002611290730011752",      # checksum off by one
    "aa00058001234567000026112907300117",        # truncated
    "aa0005800123456700002613290730011751",      # month 13 (checksum also wrong)
    "aa00058001234567000026112907300164" + f"{checksum('00058001234567000026112907300164'):02x}",  # 0x64 > 99
    "aa000580012345670000261129073001zz51",
    "\x00\x01aa",
])
def test_garbage(line):
    recs = Ipico().parse(line)
    assert all(isinstance(r, Unparsed) for r in recs) and recs


def test_round_trip():
    w = civil_to_wall_ms(2027, 2, 28, 23, 59, 58, 990)
    r = parse_record(format_record("0123456789ab", w, reader="07"))
    assert isinstance(r, TagRead) and r.wall_ms == w and r.key.startswith("07/0123456789ab/")
