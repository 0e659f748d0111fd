"""RFID Race Timing Systems "Ultra" readers (serial or TCP, port 23).

Wire format (one record per line, CR or LF endings):

- read: exactly 12 comma-separated fields
  ``0,<chip>,<seconds since 1980-01-01 00:00 reader time>,<ms>,<antenna>,<rssi>,<is_rewind>,<reader>,
  <box>,<reader_time>,<start_time>,<log_id>``; the chip is decimal or hex text, kept exactly as sent.
- ``V=<volts>``: the periodic voltage line, our heartbeat.
- ``S=<n>``: status.
- ``T=<seconds since 1980>[,<ms>]`` or ``U=…``: the reader's clock, the answer to the time query ``t``.

(reader, box, log_id) identifies a read: a resend or a rewind replay of it is the same read.

Commands (CR-terminated ASCII, as the Ultra's serial/telnet console takes them): ``R`` starts sending
reads; ``800<from>\\r<to>\\r`` replays stored reads by log index and ``600<from>\\r<to>\\r`` by time
(seconds since 1980); ``t`` asks the clock. On a reconnect we replay from the last stored log index,
which recovers whatever was read while the cable was out (duplicates are recognised by their key).
"""

from __future__ import annotations

import re
from itertools import repeat

from drivers.base import Protocol, Resume
from drivers.records import (
    EPOCH_1980_S,
    ClockReading,
    Heartbeat,
    ReadChunk,
    Record,
    Status,
    TagRead,
    Unparsed,
)

CMD_START = b"R\r"
# first field of a read line as the fast path accepts it (the line parser ignores it)
_DIGITS_OK = frozenset(str(i) for i in range(10))
_LEADING_ZERO = re.compile(r"(?:^|,)0\d")
CMD_CLOCK = b"t\r"
LAST_INDEX = 999_999_999


def cmd_replay_index(first: int, last: int = LAST_INDEX) -> bytes:
    return f"800{first}\r{last}\r".encode()


def cmd_replay_time(first_s1980: int, last_s1980: int) -> bytes:
    return f"600{first_s1980}\r{last_s1980}\r".encode()


def parse_read(line: str) -> TagRead:
    """A 12-field read line → TagRead; raises ValueError naming the field that is wrong.

    Written for speed (it runs once per read at tens of thousands of lines a second): the common
    well-formed line costs one split and a few int() calls; the checks only explain a failure.
    """
    f = line.split(",")
    if len(f) != 12:
        raise ValueError(f"read line needs 12 comma-separated fields, got {len(f)}")
    chip = f[1]
    if not chip.isalnum():
        chip = chip.strip()
        if not chip.isalnum():
            raise ValueError(f"field 2 (chip): expected decimal or hex digits, got {f[1]!r}")
    try:
        secs = int(f[2])
        ms = int(f[3])
        log_id = int(f[11])
    except ValueError:
        raise ValueError("fields 3, 4, 12 (seconds, ms, log id): expected integers") from None
    if ms < 0 or ms > 999:
        raise ValueError(f"field 4 (ms): expected 0-999, got {ms}")
    if secs < 0:
        raise ValueError(f"field 3 (seconds since 1980): negative {secs}")
    try:
        ant: int | None = int(f[4])
        rssi: int | None = int(f[5])
    except ValueError:
        ant = int(f[4]) if f[4].strip().lstrip("-").isdigit() else None
        rssi = int(f[5]) if f[5].strip().lstrip("-").isdigit() else None
    rw = f[6]
    return TagRead(chip, (EPOCH_1980_S + secs) * 1000 + ms, line, f"{f[7]}/{f[8]}/{log_id}", ant, rssi,
                   False, rw == "1" or (rw != "0" and rw.strip() == "1"), log_id)


class Ultra(Protocol):
    name = "ultra"
    heartbeat_s = 10.0
    baud = 115200

    def parse(self, line: str) -> list[Record]:
        # fast path for the common case (a read line); everything else through the checked path
        if line[:1].isdigit():
            try:
                return [parse_read(line)]
            except ValueError as e:
                return [Unparsed(line, str(e))]
        return super().parse(line)

    def parse_chunk(self, lines: list[str]) -> ReadChunk | None:
        """A capture or a busy line is almost all read lines: split them all at once and convert whole
        columns with C-level `map(int, …)` — several times cheaper per read than `parse_read`. Any line
        that is not a plain, well-formed read (heartbeat, garbage, padding, odd numbers) sends the whole
        chunk back to the line parser, so the result is always exactly what `parse_read` would give."""
        n = len(lines)
        if not n or set(map(str.count, lines, repeat(","))) != {11}:
            return None
        f = ",".join(lines).split(",")
        chips = f[1::12]
        logs_text = f[11::12]
        try:
            secs = list(map(int, f[2::12]))
            ms = list(map(int, f[3::12]))
            ant = list(map(int, f[4::12]))
            rssi = list(map(int, f[5::12]))
            logs = list(map(int, logs_text))
        except ValueError:
            return None
        joined = "".join(chips)
        # log ids must read back as they were written: the key carries the text, the index the number
        logs_joined = ",".join(logs_text)
        if (not joined.isalnum() or not joined.isascii() or "" in chips or min(ms) < 0 or max(ms) > 999
                or min(secs) < 0 or not set(f[0::12]) <= _DIGITS_OK
                or not logs_joined.replace(",", "").isdigit() or _LEADING_ZERO.search(logs_joined)):
            return None
        rw = f[6::12]
        kinds = set(rw)
        if not kinds <= {"0", "1"}:
            return None
        e = EPOCH_1980_S * 1000
        wall = [(s * 1000 + m + e) for s, m in zip(secs, ms, strict=True)]
        readers, boxes = set(f[7::12]), set(f[8::12])
        head = None
        if len(readers) == 1 and len(boxes) == 1:
            head = f"{next(iter(readers))}/{next(iter(boxes))}"
            pre = head + "/"
            keys = [pre + x for x in logs_text]
        else:
            keys = list(map("{}/{}/{}".format, f[7::12], f[8::12], logs_text))
        rewind = [x == "1" for x in rw] if "1" in kinds else [False] * n
        return ReadChunk(chips, wall, lines, keys, ant, rssi, rewind, logs, head)

    def parse_line(self, line: str) -> list[Record]:
        s = line.strip()
        if not s:
            return []
        c = s[0]
        if c.isdigit() and "," in s:
            return [parse_read(s)]
        if s.startswith("V="):
            float(s[2:].strip() or "x")  # a garbled voltage is not a heartbeat
            return [Heartbeat(line, s)]
        if s.startswith("S="):
            return [Status(line, s)]
        if s[:2] in ("T=", "U="):
            secs, _, ms = s[2:].partition(",")
            return [ClockReading((EPOCH_1980_S + int(secs)) * 1000 + (int(ms) if ms else 0), line)]
        if s in ("R", "S", "Connected") or s.startswith(("Connected", "Ultra")):
            return [Status(line, s)]
        return [Unparsed(line, "not an Ultra read, V=, S= or clock line")]

    def on_connect(self, resume: Resume) -> list[bytes]:
        cmds = [CMD_START]
        if resume.last_index is not None:
            cmds.append(cmd_replay_index(resume.last_index + 1))
        return cmds


def format_read(chip: str, wall_ms: int, *, ant: int = 1, rssi: int = -60, rewind: bool = False,
                reader: int = 1, box: int = 1, log_id: int = 0) -> str:
    """One read line as an Ultra sends it (used by the simulated reader and fixtures)."""
    secs, ms = divmod(wall_ms - EPOCH_1980_S * 1000, 1000)
    return f"0,{chip},{secs},{ms},{ant},{rssi},{int(rewind)},{reader},{box},{secs},0,{log_id}"



__all__ = ["Ultra", "Unparsed", "format_read", "parse_read"]
