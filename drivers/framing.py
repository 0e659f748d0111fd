"""Splitting a byte stream into lines (or `$`-terminated messages).

Kept apart from the ports so that a capture file, a serial port and a TCP socket are framed by the same
code. A stream of garbage with no terminator cannot grow without bound: past `max_len` bytes the
pending text is cut and handed on as a line of its own (it will be kept raw and flagged unparsed).
"""

from __future__ import annotations

from drivers.records import decode

MAX_LINE = 4096


class LineFramer:
    """CR, LF or CRLF terminated lines; empty lines are dropped (CRLF split across reads is one end)."""

    def __init__(self, max_len: int = MAX_LINE) -> None:
        self._buf = b""
        self._max = max_len

    def feed(self, data: bytes) -> list[str]:
        buf = self._buf + data if self._buf else data
        if b"\r" in buf:
            buf = buf.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
        i = buf.rfind(b"\n")
        # decode everything up to the last line end at once (a line end never cuts a character)
        lines = decode(buf[:i]).split("\n") if i >= 0 else []
        tail = buf[i + 1 :]
        if len(tail) > self._max:
            lines.append(decode(tail))
            tail = b""
        self._buf = tail
        return list(filter(None, lines))

    def flush(self) -> list[str]:
        """What is left without a terminator (end of a capture file, a closed port)."""
        tail, self._buf = self._buf, b""
        return [decode(tail)] if tail.strip() else []


class DelimFramer:
    """Messages ended by one delimiter byte (MYLAPS `$`); surrounding CR/LF/space is stripped."""

    def __init__(self, delim: bytes = b"$", max_len: int = 65536) -> None:
        self._buf = b""
        self._delim = delim
        self._max = max_len

    def feed(self, data: bytes) -> list[str]:
        buf = self._buf + data
        parts = buf.split(self._delim)
        tail = parts.pop()
        if len(tail) > self._max:
            parts.append(tail)
            tail = b""
        self._buf = tail
        out = []
        for p in parts:
            p = p.strip()
            if p:
                out.append(decode(p) + self._delim.decode())
        return out

    def flush(self) -> list[str]:
        tail, self._buf = self._buf.strip(), b""
        return [decode(tail)] if tail else []
