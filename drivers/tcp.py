"""Listening on TCP for decoders that connect to the timing software (MYLAPS, port 3097 by default).

One accepting thread; one reader thread per connected decoder. A decoder that drops its connection
(power cycle, Wi-Fi bridge reset) simply connects again; what it had not seen acknowledged it resends,
so nothing here needs to remember anything across connections.
"""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections.abc import Callable
from typing import Protocol as TypingProtocol

log = logging.getLogger(__name__)


class Handler(TypingProtocol):
    def on_data(self, data: bytes, rx_ms: int) -> None: ...

    def on_close(self, why: str) -> None: ...


class Connection:
    """One connected decoder: its socket, a write lock and its peer address."""

    def __init__(self, sock: socket.socket, peer: str) -> None:
        self.sock = sock
        self.peer = peer
        self._lock = threading.Lock()
        self.open = True

    def send(self, data: bytes) -> bool:
        with self._lock:
            if not self.open:
                return False
            try:
                self.sock.sendall(data)
                return True
            except OSError as e:
                log.warning("%s: send failed: %s", self.peer, e)
                return False

    def close(self) -> None:
        with self._lock:
            self.open = False
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()


def parse_hostport(text: str, default_port: int) -> tuple[str, int]:
    """`HOST:PORT`, `:PORT`, `HOST` → (host, port); raises ValueError saying what was expected."""
    host, sep, port = text.rpartition(":")
    if not sep:
        host, port = text, str(default_port)
    host = host.strip("[]") or "0.0.0.0"
    if not port.isdigit() or not 0 <= int(port) <= 65535:
        raise ValueError(f"listen address {text!r}: expected HOST:PORT with a port 0-65535")
    return host, int(port)


class TcpListener:
    """Accept decoders on (host, port); `make_handler(conn)` gives each one its handler."""

    def __init__(
        self,
        host: str,
        port: int,
        make_handler: Callable[[Connection], Handler],
        clock: Callable[[], int] = lambda: time.time_ns() // 1_000_000,
    ) -> None:
        self._make = make_handler
        self._clock = clock
        self._stop = threading.Event()
        self._srv = socket.create_server((host, port), reuse_port=False)
        self._srv.settimeout(0.2)
        self.address = self._srv.getsockname()[:2]
        self.connections: list[Connection] = []
        self._threads: list[threading.Thread] = []
        self._accept = threading.Thread(target=self._accept_loop, name=f"tcp listen {port}", daemon=True)

    def start(self) -> TcpListener:
        self._accept.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        self._accept.join(timeout)
        self._srv.close()
        for c in list(self.connections):
            c.close()
        for t in self._threads:
            t.join(timeout)

    def _accept_loop(self) -> None:
        while not self._stop.is_set():
            try:
                sock, addr = self._srv.accept()
            except TimeoutError:
                continue
            except OSError:
                if self._stop.is_set():
                    return
                continue
            sock.settimeout(0.2)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            conn = Connection(sock, f"{addr[0]}:{addr[1]}")
            self.connections.append(conn)
            t = threading.Thread(target=self._serve, args=(conn,), name=f"tcp {conn.peer}", daemon=True)
            self._threads.append(t)
            t.start()

    def _serve(self, conn: Connection) -> None:
        handler = self._make(conn)
        why = "closed by the decoder"
        try:
            while not self._stop.is_set():
                try:
                    data = conn.sock.recv(65536)
                except TimeoutError:
                    continue
                except OSError as e:
                    why = str(e)
                    break
                if not data:
                    break
                handler.on_data(data, self._clock())
        finally:
            if self._stop.is_set():
                why = "station stopped"
            try:
                handler.on_close(why)
            except Exception:
                log.exception("close handler failed")
            conn.close()
            if conn in self.connections:
                self.connections.remove(conn)
