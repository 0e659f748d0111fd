"""Simulated serial readers behind real pty pairs (socat), paced at the line's baud rate.

A reader keeps every read it made in its own log (as the hardware does) and writes each one on the line
when it happens (race time compressed by `RaceClock`). Bytes go out no faster than the baud rate allows
(10 bits per byte for 8N1), so a busy mat backs up exactly as a real cable does. What the reader writes
while the cable is out or nobody listens is lost on the wire — the station gets it back by asking for a
replay (Ultra ``800<from>\\r<to>\\r``, RACE RESULT ``PASSINGS`` + ``<first>:<count>``), or the timer
presses *rewind* on the reader's front panel (`rewind_since`).

`PtyPair` is one socat process with two linked ptys: ``reader`` (this module's end) and ``station``
(the end `worun-station reads listen --port` opens). Pulling the cable is killing socat; plugging it back
is starting it again with the same link names. POSIX only: on Windows the rehearsal uses
`TcpSerialPair` instead (pyserial ``socket://`` URL over loopback).
"""

from __future__ import annotations

import os
import random
import shutil
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from drivers import raceresult, ultra
from drivers.records import EPOCH_1980_S, wall_to_civil


class RaceClock:
    """Race time (UTC ms) ↔ real time (monotonic s): the race runs `speed` times faster than life."""

    def __init__(self, origin_ms: int, speed: float, t0: float | None = None) -> None:
        self.origin_ms = origin_ms
        self.speed = speed
        self.t0 = time.monotonic() if t0 is None else t0

    def real(self, race_ms: int) -> float:
        return self.t0 + (race_ms - self.origin_ms) / 1000 / self.speed

    def race_ms(self, mono: float | None = None) -> int:
        m = time.monotonic() if mono is None else mono
        return int(self.origin_ms + (m - self.t0) * 1000 * self.speed)


@dataclass(slots=True)
class Item:
    due_ms: int  # race time the reader sends it
    chip: str
    wall_ms: int  # reader wall clock of the read
    ant: int
    rssi: int


def socat_available() -> bool:
    return os.name == "posix" and shutil.which("socat") is not None


class PtyPair:
    """`socat PTY,link=<reader> PTY,link=<station>`; `pull()` kills it (cable out), `plug()` restarts."""

    def __init__(self, folder: Path, name: str) -> None:
        self.reader = str(folder / f"{name}-reader")
        self.station = str(folder / f"{name}-station")
        self.log = folder / f"socat-{name}.log"
        self.proc: subprocess.Popen[bytes] | None = None
        self.pulls = 0

    @property
    def station_url(self) -> str:
        return self.station

    def plug(self, timeout: float = 10.0) -> None:
        for p in (self.reader, self.station):
            try:
                os.unlink(p)
            except FileNotFoundError:
                pass
        opts = "raw,echo=0"
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(
                ["socat", "-d", "-d", f"PTY,link={self.reader},{opts}", f"PTY,link={self.station},{opts}"],
                stdout=subprocess.DEVNULL, stderr=log)
        end = time.monotonic() + timeout
        while not (os.path.exists(self.reader) and os.path.exists(self.station)):
            if time.monotonic() > end or self.proc.poll() is not None:
                raise RuntimeError(f"socat did not create {self.reader} / {self.station} (see {self.log})")
            time.sleep(0.02)

    def pull(self) -> None:
        self.pulls += 1
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait(10)
            self.proc = None
        for p in (self.reader, self.station):
            try:
                os.unlink(p)
            except FileNotFoundError:
                pass

    def close(self) -> None:
        self.pull()
        self.pulls -= 1


class TcpSerialPair:
    """Windows fallback for a pty pair: the reader listens on loopback TCP and the station opens the
    pyserial URL ``socket://127.0.0.1:PORT``. Pulling the cable closes the listening side."""

    def __init__(self, folder: Path, name: str) -> None:
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        self.port = s.getsockname()[1]
        s.close()
        self.reader = f"tcp-listen://127.0.0.1:{self.port}"
        self.station = f"socket://127.0.0.1:{self.port}"
        self.pulls = 0
        self.unplugged = threading.Event()

    @property
    def station_url(self) -> str:
        return self.station

    def plug(self, timeout: float = 10.0) -> None:
        self.unplugged.clear()

    def pull(self) -> None:
        self.pulls += 1
        self.unplugged.set()

    def close(self) -> None:
        self.unplugged.set()


class _TcpPort:
    """A minimal serial-like object over one accepted TCP connection (Windows fallback)."""

    def __init__(self, pair: TcpSerialPair, srv: socket.socket) -> None:
        srv.settimeout(0.2)
        self.sock, _ = srv.accept()
        self.sock.settimeout(0.0)
        self.pair = pair

    def write(self, data: bytes) -> None:
        if self.pair.unplugged.is_set():
            raise OSError("cable pulled")
        self.sock.sendall(data)

    def read_available(self) -> bytes:
        if self.pair.unplugged.is_set():
            raise OSError("cable pulled")
        try:
            data = self.sock.recv(4096)
        except (BlockingIOError, InterruptedError):
            return b""
        if not data:
            raise OSError("station closed the connection")
        return data

    def close(self) -> None:
        self.sock.close()


class SerialReaderSim(threading.Thread):
    """One simulated serial reader (format ``ultra`` or ``raceresult``) feeding one pty pair."""

    def __init__(self, name: str, fmt: str, pair: PtyPair | TcpSerialPair, baud: int, items: list[Item],
                 clock: RaceClock, wall_of: Any, *, seed: int = 0) -> None:
        super().__init__(name=f"reader {name}", daemon=True)
        if fmt not in ("ultra", "raceresult"):
            raise ValueError(fmt)
        self.reader_name = name
        self.fmt = fmt
        self.pair = pair
        self.baud = baud
        self.items = items
        self.clock = clock
        self.wall_of = wall_of  # UTC ms → reader wall ms
        self.rnd = random.Random(seed)
        self.stop_event = threading.Event()
        self._lock = threading.Lock()
        self._outq: list[bytes] = []
        self.happened = 0  # items the reader has made so far (its log)
        self.sent_at: list[float | None] = [None] * len(items)
        self.bytes_written = 0
        self.lines_written = 0
        self.replayed = 0
        self.garbage_bursts = 0
        self.garbage_lost = 0
        self.replay_requests: list[str] = []
        self.connects = 0
        self.errors: list[str] = []
        self._free_at = 0.0
        self._cmdbuf = b""
        self._ultra_from: int | None = None
        self._last_hb = 0.0

    # ----------------------------------------------------------------- lines
    def line(self, i: int, *, rewind: bool = False) -> bytes:
        it = self.items[i]
        if self.fmt == "ultra":
            s = ultra.format_read(it.chip, it.wall_ms, ant=it.ant, rssi=it.rssi, log_id=i, rewind=rewind)
        else:
            s = raceresult.format_passing(i + 1, it.chip, it.wall_ms, rssi=it.rssi, ant=it.ant)
        return s.encode() + b"\r\n"

    @property
    def done(self) -> bool:
        with self._lock:
            return self.happened >= len(self.items) and not self._outq

    # ----------------------------------------------------------------- faults / front panel
    def inject_garbage(self, n: int = 120) -> None:
        """A burst of line noise (a loose connector): bytes without line ends, then CRLF."""
        alphabet = bytes(b for b in range(1, 256) if b not in b"\r\n,;0123456789")
        burst = bytes(self.rnd.choice(alphabet) for _ in range(n)) + b"\r\n"
        with self._lock:
            self._outq.append(burst)
            self.garbage_bursts += 1

    def rewind_since(self, mono: float) -> int:
        """Front-panel rewind: replay every read first sent at/after `mono` (or never sent); returns
        the first log index replayed."""
        with self._lock:
            first = self.happened
            for i in range(self.happened):
                t = self.sent_at[i]
                if t is None or t >= mono:
                    first = i
                    break
            self._replay(first, self.happened - 1)
            return first

    def _replay(self, first: int, last: int) -> None:
        last = min(last, self.happened - 1)
        for i in range(max(0, first), last + 1):
            self._outq.append(self.line(i, rewind=self.fmt == "ultra"))
            self.replayed += 1

    # ----------------------------------------------------------------- commands from the station
    def _on_commands(self, data: bytes, port: Any) -> None:
        self._cmdbuf += data
        if self.fmt == "ultra":
            *tokens, self._cmdbuf = self._cmdbuf.replace(b"\n", b"\r").split(b"\r")
            for tok in (t.decode("ascii", "replace").strip() for t in tokens):
                if not tok:
                    continue
                if self._ultra_from is not None:
                    last = int(tok) if tok.isdigit() else ultra.LAST_INDEX
                    self.replay_requests.append(f"800{self._ultra_from}..{last}")
                    with self._lock:
                        self._replay(self._ultra_from, last)
                    self._ultra_from = None
                elif tok.startswith("800") and tok[3:].isdigit():
                    self._ultra_from = int(tok[3:])
                elif tok == "t":
                    secs, ms = divmod(self.wall_of(self.clock.race_ms()) - EPOCH_1980_S * 1000, 1000)
                    with self._lock:
                        self._outq.append(f"T={secs},{ms}\r\n".encode())
                # "R" (start sending) and anything else: nothing to do
        else:
            *tokens, self._cmdbuf = self._cmdbuf.replace(b"\r", b"\n").split(b"\n")
            for tok in (t.decode("ascii", "replace").strip() for t in tokens):
                if not tok:
                    continue
                up = tok.upper()
                if up == "GETTIME":
                    y, mo, d, h, mi, s, ms = wall_to_civil(self.wall_of(self.clock.race_ms()))
                    reply = f"GETTIME;{y:04d}-{mo:02d}-{d:02d};{h:02d}:{mi:02d}:{s:02d}.{ms:03d}\r\n"
                    with self._lock:
                        self._outq.append(reply.encode())
                elif up == "PASSINGS":
                    with self._lock:
                        self._outq.append(f"PASSINGS;{self.happened}\r\n".encode())
                elif ":" in tok:
                    a, _, b = tok.partition(":")
                    if a.isdigit() and b.isdigit():
                        self.replay_requests.append(tok)
                        with self._lock:
                            self._replay(int(a) - 1, int(a) - 1 + int(b) - 1)

    # ----------------------------------------------------------------- thread
    def _open(self) -> Any:
        if isinstance(self.pair, TcpSerialPair):
            if self.pair.unplugged.is_set():
                return None
            srv = socket.create_server(("127.0.0.1", self.pair.port))
            try:
                return _TcpPort(self.pair, srv)
            except (TimeoutError, OSError):
                return None
            finally:
                srv.close()
        import serial

        if not os.path.exists(self.pair.reader):
            return None
        try:
            return serial.Serial(self.pair.reader, baudrate=self.baud, timeout=0, write_timeout=2)
        except (serial.SerialException, OSError):
            return None

    def _read(self, port: Any) -> bytes:
        if isinstance(port, _TcpPort):
            return port.read_available()
        n = port.in_waiting
        return port.read(n) if n else b""

    def run(self) -> None:
        port = None
        while not self.stop_event.is_set():
            now = time.monotonic()
            with self._lock:
                while self.happened < len(self.items) and self.clock.real(self.items[self.happened].due_ms) <= now:
                    i = self.happened
                    self.happened += 1
                    self._outq.append(self.line(i))
            if port is None:
                port = self._open()
                if port is None:
                    with self._lock:  # nobody on the line: what the reader sends now is lost
                        self._drop_outq(now)
                    self.stop_event.wait(0.05)
                    continue
                self.connects += 1
                self._free_at = now
            try:
                data = self._read(port)
                if data:
                    self._on_commands(data, port)
                if self.fmt == "ultra" and now - self._last_hb > 10:
                    self._last_hb = now
                    with self._lock:
                        self._outq.append(b"V=12.6\r\n")
                self._pump(port)
            except Exception as e:  # cable pulled: the port vanished under us
                self.errors.append(f"{type(e).__name__}: {e}")
                try:
                    port.close()
                except Exception:
                    pass
                port = None
                continue
            self.stop_event.wait(0.005)
        if port is not None:
            try:
                port.close()
            except Exception:
                pass

    def _drop_outq(self, now: float) -> None:
        for chunk in self._outq:
            if not chunk[:1].isdigit():
                if not chunk.startswith((b"V=", b"T=", b"GETTIME", b"PASSINGS")):
                    self.garbage_lost += 1
        # mark reads as "sent" (into a dead cable) so a front-panel rewind replays them
        for i in range(self.happened):
            if self.sent_at[i] is None:
                self.sent_at[i] = now
        self._outq.clear()

    def _pump(self, port: Any) -> None:
        now = time.monotonic()
        while True:
            if self._free_at > now + 0.02:
                return
            with self._lock:
                if not self._outq:
                    return
                chunk = self._outq.pop(0)
            port.write(chunk)
            self._free_at = max(self._free_at, now) + len(chunk) * 10 / self.baud
            self.bytes_written += len(chunk)
            self.lines_written += 1
            if chunk[:1].isdigit():
                idx = self._index_of(chunk)
                if idx is not None and idx < len(self.sent_at) and self.sent_at[idx] is None:
                    self.sent_at[idx] = now

    def _index_of(self, chunk: bytes) -> int | None:
        try:
            if self.fmt == "ultra":
                return int(chunk.rstrip().rsplit(b",", 1)[1])
            return int(chunk.split(b";", 1)[0]) - 1
        except (ValueError, IndexError):
            return None

    def stop(self) -> None:
        self.stop_event.set()
        self.join(5)


def items_for(race: Any, point: str) -> list[Item]:
    return [Item(r.utc_ms + 20, r.chip, race.wall_ms(r.utc_ms), r.ant, r.rssi) for r in race.point_reads(point)]


def platform_note() -> str:
    if socat_available():
        return ""
    if os.name == "posix":
        return "socat not found: serial legs run over pyserial socket:// URLs on loopback TCP (install socat for real ptys)"
    return (f"{sys.platform}: the pty legs need socat (POSIX only); serial legs run over pyserial "
            "socket:// URLs on loopback TCP instead")
