"""MYLAPS ASCII protocol (Timing & Scoring exporter, protocol V2) — the decoder connects to us.

Messages are `$`-terminated, fields separated by `@`:
``<location>@Passing@<passing>[@<passing>…]@<msg#>@$`` where a passing is ``key=value`` pairs joined by
``|`` in any order: ``c`` chip, ``t`` ``hh:mm:ss.fff``, ``d`` ``YYMMDD`` (20YY; absent → a dateless
time, placed by DESIGN rule 2). Other keys are ignored. Up to 100 passings per message.

Conversation: the decoder opens with ``<location>@Pong@$`` → ``<srv>@AckPong@Version2.1@$``; either side
may ``Ping`` → ``AckPing``. A Passing message is acknowledged ``<srv>@AckPassing@<msg#>@$`` **only after
its passings are committed** (`after_commit`), else the decoder resends it; a resent message (same
location and content) yields the same keys, so it is stored once.
"""

from __future__ import annotations

import hashlib

from drivers.base import Protocol
from drivers.framing import DelimFramer
from drivers.records import (
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

DEFAULT_PORT = 3097
SERVER_NAME = "WORUN"


def _fields(message: str) -> tuple[str, str, list[str]]:
    body = message.strip()
    if body.endswith("$"):
        body = body[:-1]
    parts = body.split("@")
    if parts and parts[-1] == "":
        parts.pop()
    if len(parts) < 2:
        raise ValueError("message needs <location>@<type>@…@$")
    return parts[0], parts[1], parts[2:]


def passing_raw(location: str, text: str, msg_no: str) -> str:
    """A passing's raw text: its own message frame, ``<location>@Passing@<passing>@<msg#>@$``.

    A message carries up to 100 passings; keeping the whole message as every passing's raw stored it up
    to 100 times (~3 KB per read at a busy finish, pushed to the ledger with each read). The passing's
    frame keeps everything the passing said, verbatim, with where it came from (location, message
    number); the message's passings together (keys ``…/<digest>/<i>``) are the whole message."""
    return f"{location}@Passing@{text}@{msg_no}@$"


def parse_passing(message: str, text: str, key: str) -> TagRead:
    kv: dict[str, str] = {}
    for pair in text.split("|"):
        k, eq, v = pair.partition("=")
        if eq:
            kv[k.strip()] = v.strip()
    chip = kv.get("c", "")
    if not chip or not chip.isalnum():
        raise ValueError(f"passing {text!r}: field c (chip) missing or not letters/digits")
    if "t" not in kv:
        raise ValueError(f"passing {text!r}: field t (time) missing")
    tod = parse_hms(kv["t"])
    d = kv.get("d")
    if d:
        if len(d) != 6 or not d.isdigit():
            raise ValueError(f"passing {text!r}: field d expected YYMMDD, got {d!r}")
        y, m, dd = 2000 + int(d[:2]), int(d[2:4]), int(d[4:6])
        check_date(y, m, dd)
        return TagRead(chip=chip, wall_ms=civil_to_wall_ms(y, m, dd, 0, 0, 0, 0) + tod, raw=message, key=key)
    return TagRead(chip=chip, wall_ms=tod, raw=message, key=key, dateless=True)


class Mylaps(Protocol):
    name = "mylaps"
    heartbeat_s = 30.0

    def __init__(self, server_name: str = SERVER_NAME) -> None:
        self.server = server_name

    def framer(self) -> DelimFramer:
        return DelimFramer(b"$")

    def parse_line(self, line: str) -> list[Record]:
        location, mtype, rest = _fields(line)
        if mtype == "Passing":
            if not rest:
                raise ValueError("Passing message without passings or message number")
            msg_no, passings = rest[-1], rest[:-1]
            if not msg_no.strip().isdigit():
                raise ValueError(f"message number {msg_no!r} is not a number")
            digest = hashlib.sha1(line.strip().encode()).hexdigest()[:16]
            out: list[Record] = []
            no = msg_no.strip()
            for i, p in enumerate(passings):
                key = f"{location}/{digest}/{i}"
                raw = passing_raw(location, p, no)
                try:
                    out.append(parse_passing(raw, p, key))
                except ValueError as e:
                    out.append(Unparsed(raw, str(e), key=key))
            if not passings:
                out.append(Status(line, "empty Passing message"))
            return out
        if mtype in ("Ping", "AckPing", "Pong", "AckPong"):
            return [Heartbeat(line, mtype)]
        if mtype in ("Marker", "Store", "Status", "AckPassing"):
            return [Status(line, mtype)]
        return [Unparsed(line, f"unknown MYLAPS message type {mtype!r}")]

    def replies(self, line: str, records: list[Record]) -> list[bytes]:
        try:
            _loc, mtype, _rest = _fields(line)
        except ValueError:
            return []
        if mtype == "Pong":
            return [f"{self.server}@AckPong@Version2.1@$".encode()]
        if mtype == "Ping":
            return [f"{self.server}@AckPing@$".encode()]
        return []

    def after_commit(self, line: str, records: list[Record]) -> list[bytes]:
        try:
            _loc, mtype, rest = _fields(line)
        except ValueError:
            return []
        if mtype == "Passing" and rest and rest[-1].strip().isdigit():
            return [f"{self.server}@AckPassing@{rest[-1].strip()}@$".encode()]
        return []


def format_passing(chip: str, wall_ms: int, *, dated: bool = True) -> str:
    """One passing (`c=…|t=…|d=…`); `wall_ms` is reader wall time (ms since 1970, or since midnight)."""
    y, mo, d, h, mi, s, ms = wall_to_civil(wall_ms)
    text = f"c={chip}|t={h:02d}:{mi:02d}:{s:02d}.{ms:03d}"
    if dated:
        text += f"|d={y % 100:02d}{mo:02d}{d:02d}"
    return text


def format_message(location: str, passings: list[str], msg_no: int) -> str:
    return "@".join([location, "Passing", *passings, str(msg_no)]) + "@$"
