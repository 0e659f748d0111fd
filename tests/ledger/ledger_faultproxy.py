"""A fault-injecting TCP proxy on loopback, between a station and a real ledger server.

Faults are armed by count and hit the next connection data in that direction:
- `reset_requests`: forward only part of the next request, then reset both sides (the server never
  sees a whole request, so nothing is committed);
- `drop_responses`: let the server answer (it has committed), swallow the answer and reset the client;
- `delay_s`: hold every chunk this long (slow network / slow server);
- `only_method`: resets and drops hit only requests of this HTTP method (default POST: pushes);
- `down()` / `up()`: refuse connections (the venue lost its uplink) and cut open ones.
"""

from __future__ import annotations

import socket
import struct
import threading
import time


def _rst(sock: socket.socket) -> None:
    """Abort a connection with a TCP reset (linger 0), waking a thread blocked reading it."""
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    except OSError:
        pass
    try:
        sock.shutdown(socket.SHUT_RD)
    except OSError:
        pass
    try:
        sock.close()
    except OSError:
        pass


class FaultProxy:
    def __init__(self, target_port: int, target_host: str = "127.0.0.1") -> None:
        self.target = (target_host, target_port)
        self.reset_requests = 0
        self.drop_responses = 0
        self.delay_s = 0.0
        self.only_method = b"POST"  # faults hit only requests of this method (b"" = any)
        self.connections = 0  # accepted connections (to check there is no busy loop)
        self.resets = 0
        self.drops = 0
        self._lock = threading.Lock()
        self._down = False
        self._socks: set[socket.socket] = set()
        self._srv = socket.create_server(("127.0.0.1", 0))
        self.port = self._srv.getsockname()[1]
        self._closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def down(self) -> None:
        """Refuse new connections (closed immediately) and cut the open ones."""
        with self._lock:
            self._down = True
            socks, self._socks = list(self._socks), set()
        for s in socks:
            _rst(s)

    def up(self) -> None:
        with self._lock:
            self._down = False

    def close(self) -> None:
        self._closed = True
        self.down()
        try:
            self._srv.close()
        except OSError:
            pass

    def _take(self, name: str) -> bool:
        with self._lock:
            n = getattr(self, name)
            if n > 0:
                setattr(self, name, n - 1)
                return True
            return False

    def _accept(self) -> None:
        while not self._closed:
            try:
                c, _ = self._srv.accept()
            except OSError:
                return
            with self._lock:
                self.connections += 1
                down = self._down
            if down:
                _rst(c)
                continue
            try:
                s = socket.create_connection(self.target, timeout=5)
            except OSError:
                _rst(c)
                continue
            s.settimeout(None)
            with self._lock:
                self._socks.update((c, s))
            state = {"method": b""}
            threading.Thread(target=self._pipe, args=(c, s, True, state), daemon=True).start()
            threading.Thread(target=self._pipe, args=(s, c, False, state), daemon=True).start()

    def _pipe(self, src: socket.socket, dst: socket.socket, upstream: bool, state: dict[str, bytes]) -> None:
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                if self.delay_s:
                    time.sleep(self.delay_s)
                if upstream and data[:5] in (b"GET /", b"POST "):
                    state["method"] = data.split(b" ", 1)[0]
                if state["method"] != self.only_method and self.only_method:
                    dst.sendall(data)
                    continue
                if upstream and self._take("reset_requests"):
                    self.resets += 1
                    dst.sendall(data[: max(1, len(data) // 2)])
                    break_both(src, dst)
                    return
                if not upstream and self._take("drop_responses"):
                    self.drops += 1
                    break_both(src, dst)
                    return
                dst.sendall(data)
        except OSError:
            pass
        break_both(src, dst)


def break_both(a: socket.socket, b: socket.socket) -> None:
    _rst(a)
    _rst(b)
