"""MYLAPS over loopback: the real `reads listen --listen` process and a fake decoder that keeps up to 10
messages unacknowledged, sends them out of order, drops the connection and resends what was not
acknowledged. Every passing must be stored exactly once, and every message acknowledged."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from fake_readers import repo_env

from drivers.mylaps import format_message, format_passing
from drivers.records import civil_to_wall_ms
from station.log.store import read_payloads

ROOT = Path(__file__).resolve().parents[2]
EXE = ROOT / ".venv" / "bin" / "worun-station"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def reads(data: Path) -> list[dict]:
    return read_payloads(data / "station.sqlite3", "read")


class Decoder:
    def __init__(self, port: int) -> None:
        self.port = port
        self.sock: socket.socket | None = None
        self.buf = b""

    def connect(self) -> None:
        deadline = time.monotonic() + 15
        while True:
            try:
                self.sock = socket.create_connection(("127.0.0.1", self.port), timeout=5)
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        self.buf = b""
        self.sock.sendall(b"Finish Line@Pong@$")
        assert self.recv() == "WORUN@AckPong@Version2.1@$"

    def recv(self, timeout: float = 5.0) -> str | None:
        assert self.sock is not None
        self.sock.settimeout(timeout)
        while b"$" not in self.buf:
            try:
                chunk = self.sock.recv(4096)
            except TimeoutError:
                return None
            if not chunk:
                return None
            self.buf += chunk
        msg, _, self.buf = self.buf.partition(b"$")
        return msg.decode() + "$"

    def close(self) -> None:
        if self.sock is not None:
            self.sock.close()
            self.sock = None


def test_unacknowledged_messages_are_resent_and_stored_once(tmp_path):
    data = tmp_path / "data"
    port = free_port()
    exe = [str(EXE)] if EXE.exists() else [sys.executable, "-m", "station.cli"]
    proc = subprocess.Popen([*exe, "--data", str(data), "reads", "listen", "--point", "finish", "--format",
                             "mylaps", "--listen", f"127.0.0.1:{port}", "--status-every", "0.5"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=repo_env())
    t0 = civil_to_wall_ms(2026, 11, 29, 7, 30, 0, 0)
    messages = {}
    for m in range(1, 31):
        ps = [format_passing(f"C{m:03d}{j}", t0 + m * 1000 + j, dated=(j % 2 == 0)) for j in range(1 + m % 4)]
        messages[m] = format_message("Finish Line", ps, m).encode()
    expected = sum(1 + m % 4 for m in messages)
    dec = Decoder(port)
    try:
        dec.connect()
        # 10 messages in flight, out of order
        first = [3, 1, 2, 5, 4, 7, 6, 9, 8, 10]
        for m in first:
            dec.sock.sendall(messages[m])
        acked: set[int] = set()
        # read only a few acks, then drop the connection as if the Wi-Fi bridge reset
        for _ in range(4):
            msg = dec.recv()
            assert msg and "@AckPassing@" in msg
            acked.add(int(msg.split("@")[2]))
        dec.close()
        dec.connect()
        pending = [m for m in messages if m not in acked]
        while pending:  # resend every unacknowledged message, 10 at a time
            window, pending = pending[:10], pending[10:]
            for m in reversed(window):
                dec.sock.sendall(messages[m])
            got = set()
            while len(got) < len(window):
                msg = dec.recv()
                assert msg is not None, f"no ack for {set(window) - got}"
                if "@AckPassing@" in msg:
                    got.add(int(msg.split("@")[2]))
            acked |= got
        assert acked == set(messages)
        dec.close()
        deadline = time.monotonic() + 5
        while len(reads(data)) < expected and time.monotonic() < deadline:
            time.sleep(0.05)
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=20)
    finally:
        dec.close()
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    got = reads(data)
    chips = [r["chip"] for r in got]
    assert len(chips) == len(set(chips)) == expected
    dateless = [r for r in got if r.get("dateless")]
    assert dateless and all(r["t"] > 0 for r in dateless)
    assert "stopped:" in out
