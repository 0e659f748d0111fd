"""ALGE-Timing Timy chronometers: impulse lines over RS-232 (9600 8N1).

An impulse line is ``<number> <channel> <HH:MM:SS.ffff> <group>``, e.g. ``0002 C0 10:27:28.4172 00``:
impulse number, channel (``C0``…``C8``, ``M`` suffixed for a manual impulse, e.g. ``C0M``), time of day
to 1/10 000 s (truncated to ms) and a group. The time has no date: DESIGN rule 2 places it. A channel →
wave map (kept by the station) turns impulses into `gun` entries. Other lines the Timy prints (headers,
blank classification lines) carry no impulse.
"""

from __future__ import annotations

from drivers.base import Protocol
from drivers.records import Impulse, Record, Status, Unparsed, parse_hms


def parse_impulse(line: str) -> Impulse:
    f = line.split()
    if len(f) < 3:
        raise ValueError(f"impulse line needs <number> <channel> <time>, got {len(f)} field(s)")
    if not f[0].isdigit():
        raise ValueError(f"field 1 (impulse number): expected digits, got {f[0]!r}")
    ch = f[1].upper()
    if not (len(ch) >= 2 and ch[0] == "C" and ch[1].isdigit()):
        raise ValueError(f"field 2 (channel): expected C0…C8, got {f[1]!r}")
    return Impulse(channel=ch.rstrip("M") if ch.endswith("M") else ch, number=int(f[0]),
                   wall_ms=parse_hms(f[2]), raw=line)


class Timy(Protocol):
    name = "timy"
    baud = 9600

    def parse_line(self, line: str) -> list[Record]:
        s = line.strip()
        if not s:
            return []
        if s[0].isdigit():
            return [parse_impulse(line)]
        if s.upper().startswith(("ALGE", "TIMY", "ALGE-TIMING")):
            return [Status(line, s)]
        return [Unparsed(line, "not a Timy impulse line")]


def format_impulse(number: int, channel: str, tod_ms: int) -> str:
    h, rem = divmod(tod_ms % 86_400_000, 3_600_000)
    m, rem = divmod(rem, 60_000)
    s, ms = divmod(rem, 1000)
    return f"{number:04d} {channel} {h:02d}:{m:02d}:{s:02d}.{ms:03d}0 00"
