"""A tiny server-sent events reader on a raw socket, for tests: records when each `data:` line came,
and can be closed from the test's thread at once (a socket shutdown wakes the blocked reader — an
HTTP client's stream cannot be interrupted that way, and the server would keep the page open)."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable
from urllib.parse import urlsplit


class SseReader:
    def __init__(self, url: str) -> None:
        u = urlsplit(url)
        self.seen: list[tuple[float, str]] = []
        self._lock = threading.Lock()
        self._sock = socket.create_connection((u.hostname or "127.0.0.1", u.port or 80), timeout=10)
        self._sock.settimeout(None)
        path = u.path + (f"?{u.query}" if u.query else "")
        self._sock.sendall(f"GET {path} HTTP/1.1\r\nHost: {u.netloc}\r\nAccept: text/event-stream\r\n"
                           "Connection: close\r\n\r\n".encode())
        self._thread = threading.Thread(target=self._run, name="sse-reader", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        buf = b""
        try:
            while True:
                data = self._sock.recv(65536)
                if not data:
                    return
                buf += data
                *lines, buf = buf.split(b"\n")
                for ln in lines:
                    if ln.startswith(b"data: "):
                        with self._lock:
                            self.seen.append((time.monotonic(), ln[6:].decode().strip()))
        except OSError:
            return

    def wait(self, pred: Callable[[str], bool], timeout: float) -> tuple[float, str]:
        """The first (arrival time, data) matching `pred`, polling up to `timeout` seconds for it (5 ms
        polls: the arrival time is taken by the reader thread, so polling does not blur the measure)."""
        deadline = time.monotonic() + timeout
        while True:
            with self._lock:
                hit = next(((t, v) for t, v in self.seen if pred(v)), None)
            if hit is not None:
                return hit
            assert time.monotonic() < deadline, f"no matching event within {timeout} s: {self.seen}"
            time.sleep(0.005)

    def latest(self) -> str | None:
        with self._lock:
            return self.seen[-1][1] if self.seen else None

    def close(self) -> None:
        try:
            self._sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self._sock.close()
        self._thread.join()  # the shutdown above ends its read at once
