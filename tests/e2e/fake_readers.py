"""Fake reader hardware for end-to-end tests and benchmarks: socat pty pairs and a paced Ultra.

`SocatPair` runs `socat pty,raw,echo=0,link=A pty,raw,echo=0,link=B` (a null-modem cable between two
stable names) and can be stopped and started again on the same names: pulling and replugging the cable.
`FakeUltra` plays a list of reads into one end at a serial line's byte rate, keeps its own log like
the real reader does, keeps "reading" while the cable is out, and answers the replay command
`800<from>\\r<to>\\r` from its log — so gap recovery is exercised for real.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import threading
import time
from pathlib import Path

import serial

from drivers.ultra import format_read

SOCAT = shutil.which("socat") or "/usr/bin/socat"


class SocatPair:
    def __init__(self, a: Path, b: Path) -> None:
        self.a, self.b = a, b
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> SocatPair:
        self.proc = subprocess.Popen(
            [SOCAT, f"pty,raw,echo=0,link={self.a}", f"pty,raw,echo=0,link={self.b}"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 5
        while not (self.a.exists() and self.b.exists()):
            if time.monotonic() > deadline:
                raise RuntimeError("socat did not create its pty links")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(5)
            self.proc = None
        deadline = time.monotonic() + 5
        while (self.a.exists() or self.b.exists()) and time.monotonic() < deadline:
            time.sleep(0.01)


class FakeUltra(threading.Thread):
    """An Ultra reader on `port`: sends `reads` (chip, wall_ms) paced at `baud`, replays on request."""

    def __init__(self, port: Path, reads: list[tuple[str, int]], *, baud: int = 115200,
                 garbage_every: int = 0, heartbeat_every: int = 50, wait_for_start: bool = False) -> None:
        super().__init__(name="fake ultra", daemon=True)
        self.port = str(port)
        self.byte_rate = baud / 10  # 8N1: 10 bits per byte
        self.log: list[str] = [format_read(c, w, log_id=i, rssi=-60 - i % 20, ant=1 + i % 4)
                               for i, (c, w) in enumerate(reads)]
        self.garbage_every = garbage_every
        self.heartbeat_every = heartbeat_every
        self.ser: serial.Serial | None = None
        self.sent_lines: list[str] = []  # what actually went out (live, replayed, heartbeats, garbage)
        self.unsent = 0
        self.replays = 0
        self.done = threading.Event()
        self.started = threading.Event()  # set when the station sent the start command `R`
        self.wait_for_start = wait_for_start
        self._lock = threading.Lock()
        self._bytes = 0
        self._t0 = 0.0

    def open(self) -> FakeUltra:
        """Open the device end now (before the station starts, so no command of its is missed)."""
        with self._lock:
            if not self._open():
                raise RuntimeError(f"cannot open {self.port}")
        return self

    def _open(self) -> bool:
        try:
            self.ser = serial.Serial(self.port, 115200, timeout=0)
            return True
        except (serial.SerialException, OSError):
            self.ser = None
            return False

    def _write(self, line: str) -> bool:
        data = (line + "\r\n").encode()
        with self._lock:
            if self.ser is None and not self._open():
                return False
            try:
                assert self.ser is not None
                self.ser.write(data)
            except (serial.SerialException, OSError):
                self.ser = None
                return False
        self.sent_lines.append(line)
        self._bytes += len(data)
        # pace to the line's byte rate
        due = self._t0 + self._bytes / self.byte_rate
        delay = due - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        return True

    def _commands(self) -> None:
        buf = b""
        while not self.done.is_set():
            with self._lock:
                ser = self.ser
            if ser is None:
                time.sleep(0.02)
                continue
            try:
                chunk = ser.read(256)
            except (serial.SerialException, OSError, TypeError):
                time.sleep(0.02)
                continue
            if not chunk:
                time.sleep(0.01)
                continue
            buf += chunk
            if b"R\r" in buf:
                self.started.set()
            while True:
                i = buf.find(b"800")
                if i < 0:
                    buf = buf[-2:]
                    break
                rest = buf[i + 3 :]
                parts = rest.split(b"\r")
                if len(parts) < 3:
                    break
                first = int(parts[0])
                buf = b"\r".join(parts[2:])
                self.replays += 1
                for line in self.log[first : self._next]:
                    f = line.split(",")
                    f[6] = "1"
                    self._write(",".join(f))

    def run(self) -> None:
        self._t0 = time.monotonic()
        self._next = 0
        cmd = threading.Thread(target=self._commands, daemon=True)
        with self._lock:
            if self.ser is None:
                self._open()
        cmd.start()
        if self.wait_for_start:
            self.started.wait(15)
        self._t0 = time.monotonic()
        for i, line in enumerate(self.log):
            self._next = i + 1
            if not self._write(line):
                self.unsent += 1  # the reader keeps it in its log; a replay will bring it
                time.sleep(len(line) / self.byte_rate)
            if self.garbage_every and i % self.garbage_every == self.garbage_every - 1:
                self._write(f"#garbage {i} \x01\x02")
            if self.heartbeat_every and i % self.heartbeat_every == 0:
                self._write("V=24.6")
        self.finished_at = time.monotonic()
        # keep answering replay requests for a while (the station may reconnect late)
        time.sleep(0.1)

    def stop(self) -> None:
        self.done.set()
        with self._lock:
            if self.ser is not None:
                try:
                    self.ser.close()
                except Exception:
                    pass
                self.ser = None


def repo_env() -> dict[str, str]:
    root = Path(__file__).resolve().parents[2]
    env = dict(os.environ)
    env["PYTHONPATH"] = str(root) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    env["PYTHONUNBUFFERED"] = "1"
    return env
