"""A fault-injecting TCP proxy on loopback, between the stations and the ledger.

Modes (switch at any time with `set_mode`):
- ``pass``  — bytes flow both ways;
- ``cut``   — the network is down: open connections are severed, new ones are accepted and reset at
  once (what a station sees when the venue's uplink drops), so the sync engine's backoff is exercised;
- ``lose``  — responses lost after commit: the request reaches the ledger, which commits and answers,
  but the answer is thrown away and the connection closed; the station must retry, the ledger must
  acknowledge the same entries again without storing them twice.
"""

from __future__ import annotations

import os
import socket
import struct
import threading
from dataclasses import dataclass, field


@dataclass
class ProxyStats:
    connections: int = 0
    refused_while_cut: int = 0
    severed: int = 0
    responses_lost: int = 0
    bytes_up: int = 0
    bytes_down: int = 0
    modes: list[tuple[float, str]] = field(default_factory=list)


class FaultProxy:
    def __init__(self, upstream: tuple[str, int], host: str = "127.0.0.1", port: int = 0) -> None:
        self.upstream = upstream
        self._srv = socket.create_server((host, port))
        self._srv.settimeout(0.2)
        self.address = self._srv.getsockname()[:2]
        self.mode = "pass"
        self.stats = ProxyStats()
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._pairs: set[tuple[socket.socket, socket.socket]] = set()
        self._thread = threading.Thread(target=self._accept, name="fault proxy", daemon=True)

    @property
    def url(self) -> str:
        return f"http://{self.address[0]}:{self.address[1]}"

    def start(self) -> FaultProxy:
        self._thread.start()
        return self

    def set_mode(self, mode: str) -> None:
        import time

        if mode not in ("pass", "cut", "lose"):
            raise ValueError(mode)
        self.mode = mode
        self.stats.modes.append((time.monotonic(), mode))
        if mode != "pass":
            self._sever_all()

    def _sever_all(self) -> None:
        with self._lock:
            pairs = list(self._pairs)
            self._pairs.clear()
        for a, b in pairs:
            self.stats.severed += 1
            _hard_close(a)
            _hard_close(b)

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                client, _ = self._srv.accept()
            except (TimeoutError, OSError):
                continue
            if self.mode == "cut":
                self.stats.refused_while_cut += 1
                _hard_close(client)
                continue
            try:
                up = socket.create_connection(self.upstream, timeout=5)
            except OSError:
                _hard_close(client)  # the ledger itself is down (restarting)
                continue
            self.stats.connections += 1
            with self._lock:
                self._pairs.add((client, up))
            threading.Thread(target=self._pump, args=(client, up, True), daemon=True).start()
            threading.Thread(target=self._pump, args=(up, client, False), daemon=True).start()

    def _pump(self, src: socket.socket, dst: socket.socket, upward: bool) -> None:
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                if not upward and self.mode == "lose":
                    # the ledger answered (so it committed): the answer never reaches the station
                    self.stats.responses_lost += 1
                    break
                if self.mode == "cut":
                    break
                dst.sendall(data)
                if upward:
                    self.stats.bytes_up += len(data)
                else:
                    self.stats.bytes_down += len(data)
        except OSError:
            pass
        finally:
            with self._lock:
                self._pairs.discard((src, dst) if upward else (dst, src))
            _hard_close(src)
            _hard_close(dst)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(2)
        self._srv.close()
        self._sever_all()


_LINGER_RST = struct.pack("HH", 1, 0) if os.name == "nt" else struct.pack("ii", 1, 0)


def _hard_close(s: socket.socket) -> None:
    try:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, _LINGER_RST)
    except OSError:
        pass
    try:
        s.close()
    except OSError:
        pass
