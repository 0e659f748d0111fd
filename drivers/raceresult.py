"""RACE RESULT decoders (System/Active decoders, Ubidium) over serial or TCP (port 3601).

A passing is a `;`-separated line, CRLF terminated, in the decoder's documented field order:
``PassingNo;Transponder;Date;Time;EventID;Hits;MaxRSSI;InternalData;IsActive;Channel;LoopID;LoopOnly;
WakeupCounter;Battery;Temperature;InternalActiveData;BoxName;FileNumber;MaxRSSIAntenna;BoxId``. Pushed
passings may carry a ``#P;`` prefix. Only the first four fields are required. The same (decoder, file,
passing number) — or, when the line is too short to name them, the same line — is a resend.

Commands: ``GETTIME`` (answered ``GETTIME;<YYYY-MM-DD>;<HH:MM:SS.mmm>``; we poll it as heartbeat and to
measure the clock), ``SETTIME;<date>;<time>``, ``PASSINGS`` (answered ``PASSINGS;<count>``) and
``<first>:<count>`` to fetch stored passings by index: on a reconnect we ask for the count and fetch
everything after the last passing number stored (gap recovery).
"""

from __future__ import annotations

from drivers.base import Protocol, Resume
from drivers.records import (
    ClockReading,
    Heartbeat,
    Record,
    Status,
    TagRead,
    Unparsed,
    check_date,
    civil_to_wall_ms,
    parse_hms,
    wall_to_civil,
)

CMD_GETTIME = b"GETTIME\r\n"
CMD_PASSINGS = b"PASSINGS\r\n"


def cmd_settime(date: str, time: str) -> bytes:
    return f"SETTIME;{date};{time}\r\n".encode()


def cmd_fetch(first: int, count: int) -> bytes:
    return f"{first}:{count}\r\n".encode()


def parse_date(text: str) -> tuple[int, int, int]:
    p = text.split("-")
    if len(p) != 3 or not all(x.isdigit() for x in p):
        raise ValueError(f"date {text!r} is not YYYY-MM-DD")
    y, m, d = int(p[0]), int(p[1]), int(p[2])
    check_date(y, m, d)
    return y, m, d


def parse_passing(line: str, body: str) -> TagRead:
    f = body.split(";")
    if len(f) < 4:
        raise ValueError(f"passing needs at least 4 ';'-separated fields (number;chip;date;time), got {len(f)}")
    if not f[0].isdigit():
        raise ValueError(f"field 1 (passing number): expected digits, got {f[0]!r}")
    chip = f[1].strip()
    if not chip or not chip.isalnum():
        raise ValueError(f"field 2 (transponder): expected letters/digits, got {f[1]!r}")
    y, m, d = parse_date(f[2])
    tod = parse_hms(f[3])
    rssi = int(f[6]) if len(f) > 6 and f[6].lstrip("-").isdigit() else None
    ant = int(f[18]) if len(f) > 18 and f[18].isdigit() else None
    key = f"{f[16] or (f[19] if len(f) > 19 else '')}/{f[17]}/{f[0]}" if len(f) > 17 and f[17] else None
    return TagRead(chip=chip, wall_ms=civil_to_wall_ms(y, m, d, 0, 0, 0, 0) + tod, raw=line, key=key,
                   ant=ant, rssi=rssi, log_index=int(f[0]))


class RaceResult(Protocol):
    name = "raceresult"
    heartbeat_s = 5.0
    poll_s = 5.0
    baud = 19200

    def __init__(self) -> None:
        # The next passing number we expect. A live passing beyond it, or a PASSINGS count beyond it,
        # means passings were missed (cable pulled, station down, a command lost on the line):
        # they are fetched by index at once. Fetched passings are resends, stored once.
        self._next: int | None = None

    def parse_line(self, line: str) -> list[Record]:
        s = line.strip()
        if not s:
            return []
        body = s[3:] if s.startswith("#P;") else s
        if body[:1].isdigit() and ";" in body:
            return [parse_passing(line, body)]
        head, sep, rest = s.partition(";")
        head = head.upper()
        if not sep and head in ("GETTIME", "PASSINGS", "SETTIME", "GETSTATUS", "STARTOPERATION"):
            return [Status(line, f"echo {head}")]  # our own command echoed (loopback, some converters)
        if head == "GETTIME":
            p = rest.split(";")
            if len(p) < 2:
                raise ValueError("GETTIME reply needs ;date;time")
            y, m, d = parse_date(p[0])
            return [ClockReading(civil_to_wall_ms(y, m, d, 0, 0, 0, 0) + parse_hms(p[1]), line),
                    Heartbeat(line, "GETTIME")]
        if head == "PASSINGS":
            if not rest.strip().isdigit():
                raise ValueError("PASSINGS reply needs ;<count>")
            return [Status(line, f"passings:{int(rest)}")]
        if head in ("SETTIME", "SETPUSHPASSINGS", "STARTOPERATION", "GETSTATUS", "PING", "ONLY", "OK"):
            return [Status(line, head)]
        return [Unparsed(line, "not a RACE RESULT passing or command reply")]

    def on_connect(self, resume: Resume) -> list[bytes]:
        self._next = resume.last_index + 1 if resume.last_index is not None else None
        cmds = [CMD_GETTIME]
        if resume.last_index is not None:
            cmds.append(CMD_PASSINGS)
        return cmds

    def poll(self) -> list[bytes]:
        # PASSINGS too: a gap at the end (no later live passing to reveal it) is still found.
        return [CMD_GETTIME, CMD_PASSINGS] if self._next is not None else [CMD_GETTIME]

    def replies(self, line: str, records: list[Record]) -> list[bytes]:
        out: list[bytes] = []
        for r in records:
            if isinstance(r, TagRead) and r.log_index is not None:
                n = r.log_index
                if self._next is None or n >= self._next:
                    if self._next is not None and n > self._next:
                        out.append(cmd_fetch(self._next, n - self._next))
                    self._next = n + 1
            elif isinstance(r, Status) and r.info.startswith("passings:"):
                total = int(r.info.split(":")[1])
                if self._next is not None and total >= self._next:
                    out.append(cmd_fetch(self._next, total - self._next + 1))
                    self._next = total + 1
        return out


def format_passing(number: int, chip: str, wall_ms: int, *, rssi: int = -60, box: str = "D1",
                   file_no: int = 1, ant: int = 1) -> str:
    """One passing line as a decoder sends it (simulated reader, fixtures)."""
    y, mo, d, h, mi, s, mss = wall_to_civil(wall_ms)
    return (f"{number};{chip};{y:04d}-{mo:02d}-{d:02d};{h:02d}:{mi:02d}:{s:02d}.{mss:03d};1;5;{rssi};0;1;1;1;0;0;0;0;0;"
            f"{box};{file_no};{ant};{box}")
