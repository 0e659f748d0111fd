"""Ipico readers (Lite/Elite "direct" ASCII records over serial or TCP port 10000).

A record is ``aa`` + reader (2 hex) + tag (12 hex) + I/Q counters (4 hex) + ``yyMMddHHmmss`` +
hundredths (2 hex, 00–63) + checksum (2 hex) [+ ``FS``|``LS`` in first/last-seen mode], CRLF. The
checksum is the low byte of the ASCII sum of the 32 characters between ``aa`` and it; a record whose
checksum fails is garbage (line noise), never a read. The same (reader, tag, time) again is a resend.
Ipico reports no RSSI.
"""

from __future__ import annotations

from drivers.base import Protocol
from drivers.records import (
    Record,
    Status,
    TagRead,
    Unparsed,
    check_date,
    check_time,
    civil_to_wall_ms,
    wall_to_civil,
)

_HEX = frozenset("0123456789abcdefABCDEF")


def checksum(body32: str) -> int:
    return sum(body32.encode("ascii")) & 0xFF


def parse_record(line: str) -> TagRead:
    s = line.strip()
    mode = ""
    if len(s) == 38 and s[36:] in ("FS", "LS"):
        mode, s = s[36:], s[:36]
    if len(s) != 36:
        raise ValueError(f"record must be 36 characters (+FS/LS), got {len(s)}")
    if not s.startswith("aa"):
        raise ValueError("record must start with 'aa'")
    if not set(s) <= _HEX:
        raise ValueError("record has non-hex characters")
    body = s[2:34]
    want = int(s[34:36], 16)
    got = checksum(body)
    if want != got:
        raise ValueError(f"bad checksum: record says {want:02x}, characters sum to {got:02x}")
    reader, tag, stamp = s[2:4], s[4:16], s[20:32]
    if not stamp.isdigit():
        raise ValueError(f"time {stamp!r} is not yyMMddHHmmss")
    y, mo, d = 2000 + int(stamp[0:2]), int(stamp[2:4]), int(stamp[4:6])
    hh, mi, ss = int(stamp[6:8]), int(stamp[8:10]), int(stamp[10:12])
    check_date(y, mo, d)
    check_time(hh, mi, ss)
    hundredths = int(s[32:34], 16)
    if hundredths > 99:
        raise ValueError(f"hundredths {s[32:34]} above 63 (99)")
    return TagRead(chip=tag, wall_ms=civil_to_wall_ms(y, mo, d, hh, mi, ss, hundredths * 10), raw=line,
                   key=f"{reader}/{tag}/{s[20:34]}{mode}")


class Ipico(Protocol):
    name = "ipico"
    baud = 9600

    def parse_line(self, line: str) -> list[Record]:
        s = line.strip()
        if not s:
            return []
        if s.startswith("aa"):
            return [parse_record(line)]
        if s.startswith("ab") or s.lower().startswith("ipico"):
            return [Status(line, s)]  # reader status/config records
        return [Unparsed(line, "not an Ipico 'aa' record")]


def format_record(tag: str, wall_ms: int, *, reader: str = "00", iq: str = "0000", mode: str = "") -> str:
    """One record with a correct checksum (simulated reader, fixtures). `tag` is 12 hex digits."""
    y, mo, d, hh, mi, ss, ms = wall_to_civil(wall_ms)
    body = f"{reader}{tag.lower():0>12}{iq}{y % 100:02d}{mo:02d}{d:02d}{hh:02d}{mi:02d}{ss:02d}{ms // 10:02x}"
    return f"aa{body}{checksum(body):02x}{mode}"
