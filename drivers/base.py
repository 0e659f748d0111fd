"""What every reader protocol offers, whatever carries its bytes (serial port, TCP, capture file).

A protocol object is the parser plus the little conversation some readers need (start sending, replay
stored reads after a gap, answer a Ping, acknowledge a committed message). It never touches a port: the
port layer (`drivers.ports`, `drivers.tcp`) hands it text and sends the bytes it asks for, so the same
protocol code runs on a capture file, a pty in the tests and a real cable at a finish line.
"""

from __future__ import annotations

from dataclasses import dataclass

from drivers.framing import DelimFramer, LineFramer
from drivers.records import ReadChunk, Record, Unparsed


@dataclass(slots=True)
class Resume:
    """Where a reader left off, so a reconnect can ask for what was missed."""

    last_index: int | None = None  # highest reader log index / passing number stored
    last_wall_ms: int | None = None  # latest reader time stored


class Protocol:
    """Base class: line framed, no heartbeat, no commands."""

    name = ""
    #: seconds between proofs of life the reader is expected to send (None: the protocol has none)
    heartbeat_s: float | None = None
    #: seconds between polls the station sends (e.g. a time query doubling as a heartbeat)
    poll_s: float | None = None
    #: default serial settings
    baud = 115200

    def framer(self) -> LineFramer | DelimFramer:
        return LineFramer()

    def parse(self, line: str) -> list[Record]:
        """Parse one framed line. Must never raise: anything it cannot read becomes `Unparsed`."""
        try:
            return self.parse_line(line)
        except (ValueError, IndexError, KeyError) as e:
            return [Unparsed(line, str(e) or type(e).__name__)]

    def parse_chunk(self, lines: list[str]) -> ReadChunk | None:
        """All of `lines` as columns when every one is a plain, well-formed read; else None (the
        caller then parses line by line). Protocols with a bulk fast path override this."""
        return None

    def parse_line(self, line: str) -> list[Record]:  # pragma: no cover - abstract
        raise NotImplementedError

    def on_connect(self, resume: Resume) -> list[bytes]:
        """Commands to send when the link (re)opens: start sending, replay what was missed."""
        return []

    def poll(self) -> list[bytes]:
        """Commands sent every `poll_s` seconds."""
        return []

    def replies(self, line: str, records: list[Record]) -> list[bytes]:
        """Immediate answers to a line (handshakes); never used for acknowledgements of data."""
        return []

    def after_commit(self, line: str, records: list[Record]) -> list[bytes]:
        """Answers owed once a line's records are durable (MYLAPS AckPassing)."""
        return []
