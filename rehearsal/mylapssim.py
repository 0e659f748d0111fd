"""A simulated MYLAPS decoder (ASCII protocol V2): the TCP client that connects to the station.

It opens with ``<location>@Pong@$``, sends passings as they happen in messages of up to 100, keeps at
most 10 unacknowledged, resends a message not acknowledged within `resend_s` (and every unacknowledged
one after a reconnect, byte for byte: the station recognises a resend by its content), answers
``Ping``. Nothing is lost while the station is down: the decoder keeps trying to connect.
"""

from __future__ import annotations

import socket
import threading
import time
from collections import OrderedDict

from drivers import mylaps
from rehearsal.serialsim import Item, RaceClock

MAX_UNACKED = 10
MAX_PASSINGS = 100


class MylapsDecoderSim(threading.Thread):
    def __init__(self, location: str, host: str, port: int, items: list[Item], clock: RaceClock, *,
                 resend_s: float = 3.0, batch_s: float = 0.1) -> None:
        super().__init__(name=f"mylaps {location}", daemon=True)
        self.location = location
        self.addr = (host, port)
        self.items = items
        self.clock = clock
        self.resend_s = resend_s
        self.batch_s = batch_s
        self.stop_event = threading.Event()
        self.happened = 0
        self.unacked: OrderedDict[int, tuple[str, float]] = OrderedDict()
        self.msg_no = 0
        self.messages = 0
        self.resends = 0
        self.acks = 0
        self.connects = 0
        self.errors: list[str] = []
        self._pending: list[str] = []
        self._last_batch = 0.0
        self._lock = threading.Lock()

    @property
    def done(self) -> bool:
        with self._lock:
            return self.happened >= len(self.items) and not self._pending and not self.unacked

    def _connect(self) -> socket.socket | None:
        try:
            s = socket.create_connection(self.addr, timeout=1.0)
        except OSError:
            return None
        s.settimeout(0.05)
        s.sendall(f"{self.location}@Pong@$".encode())
        self.connects += 1
        # everything not acknowledged goes again, byte for byte
        for n, (text, _t) in list(self.unacked.items()):
            s.sendall(text.encode())
            self.unacked[n] = (text, time.monotonic())
            self.resends += 1
        return s

    def run(self) -> None:
        sock: socket.socket | None = None
        buf = b""
        while not self.stop_event.is_set():
            now = time.monotonic()
            with self._lock:
                while self.happened < len(self.items) and self.clock.real(self.items[self.happened].due_ms) <= now:
                    it = self.items[self.happened]
                    self._pending.append(mylaps.format_passing(it.chip, it.wall_ms))
                    self.happened += 1
            if sock is None:
                sock = self._connect()
                if sock is None:
                    self.stop_event.wait(0.3)
                    continue
                buf = b""
            try:
                # receive acknowledgements and pings
                try:
                    data = sock.recv(65536)
                    if not data:
                        raise ConnectionError("station closed the connection")
                    buf += data
                except TimeoutError:
                    pass
                *msgs, buf = buf.split(b"$")
                for m in msgs:
                    parts = m.decode("utf-8", "replace").strip().split("@")
                    if len(parts) >= 3 and parts[1] == "AckPassing" and parts[2].isdigit():
                        if self.unacked.pop(int(parts[2]), None) is not None:
                            self.acks += 1
                    elif len(parts) >= 2 and parts[1] == "Ping":
                        sock.sendall(f"{self.location}@AckPing@$".encode())
                # new messages
                with self._lock:
                    ready = self._pending and (len(self._pending) >= MAX_PASSINGS
                                               or now - self._last_batch >= self.batch_s)
                    while ready and self._pending and len(self.unacked) < MAX_UNACKED:
                        chunk, self._pending = self._pending[:MAX_PASSINGS], self._pending[MAX_PASSINGS:]
                        self.msg_no += 1
                        text = mylaps.format_message(self.location, chunk, self.msg_no)
                        self.unacked[self.msg_no] = (text, now)
                        self.messages += 1
                        self._last_batch = now
                        sock.sendall(text.encode())
                # resend what was not acknowledged in time
                for n, (text, t) in list(self.unacked.items()):
                    if now - t > self.resend_s:
                        sock.sendall(text.encode())
                        self.unacked[n] = (text, now)
                        self.resends += 1
            except OSError as e:
                self.errors.append(f"{type(e).__name__}: {e}")
                try:
                    sock.close()
                except OSError:
                    pass
                sock = None
                self.stop_event.wait(0.3)
        if sock is not None:
            sock.close()

    def stop(self) -> None:
        self.stop_event.set()
        self.join(5)
