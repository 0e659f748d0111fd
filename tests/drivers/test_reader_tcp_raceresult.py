"""A RACE RESULT decoder on TCP (pyserial `socket://` URL): the station reconnects after the link
drops and fetches the passings it missed by index (PASSINGS, then `<first>:<count>`)."""

from __future__ import annotations

import socket
import threading
import time

from drivers.raceresult import format_passing
from drivers.records import civil_to_wall_ms
from station.log.store import Store
from station.timing.ingest import LiveReader, ReaderBinding

T0 = civil_to_wall_ms(2026, 11, 29, 7, 30, 0, 0)


class FakeDecoder(threading.Thread):
    """Serves one connection at a time; `drop()` closes the current one."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.srv = socket.create_server(("127.0.0.1", 0))
        self.srv.settimeout(0.2)
        self.port = self.srv.getsockname()[1]
        self.passings: list[str] = []
        self.conn: socket.socket | None = None
        self.commands: list[str] = []
        self.stop = threading.Event()
        self.connections = 0

    def add(self, n: int, push: bool) -> None:
        for _ in range(n):
            k = len(self.passings) + 1
            line = format_passing(k, str(7000 + k), T0 + k * 100)
            self.passings.append(line)
            if push and self.conn is not None:
                self.conn.sendall(b"#P;" + line.encode() + b"\r\n")

    def drop(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None

    def run(self) -> None:
        while not self.stop.is_set():
            try:
                c, _ = self.srv.accept()
            except TimeoutError:
                continue
            self.conn = c
            self.connections += 1
            buf = b""
            c.settimeout(0.1)
            while not self.stop.is_set() and self.conn is c:
                try:
                    data = c.recv(4096)
                except TimeoutError:
                    continue
                except OSError:
                    break
                if not data:
                    break
                buf += data
                while b"\r\n" in buf:
                    cmd, _, buf = buf.partition(b"\r\n")
                    text = cmd.decode()
                    self.commands.append(text)
                    if text == "GETTIME":
                        c.sendall(b"GETTIME;2026-11-29;07:31:00.000\r\n")
                    elif text == "PASSINGS":
                        c.sendall(f"PASSINGS;{len(self.passings)}\r\n".encode())
                    elif ":" in text:
                        first, count = (int(x) for x in text.split(":"))
                        for line in self.passings[first - 1 : first - 1 + count]:
                            c.sendall(line.encode() + b"\r\n")


def test_reconnect_and_fetch_missed_passings(tmp_path):
    dec = FakeDecoder()
    dec.start()
    with Store(tmp_path / "d") as store:
        live = LiveReader(store, ReaderBinding("rr", "finish", "raceresult", port=f"socket://127.0.0.1:{dec.port}"))
        live.start()
        try:
            deadline = time.monotonic() + 5
            while dec.conn is None and time.monotonic() < deadline:
                time.sleep(0.01)
            dec.add(20, push=True)
            while live.status().stored < 20 and time.monotonic() < deadline:
                time.sleep(0.01)
            dec.drop()  # the Wi-Fi bridge resets…
            dec.add(15, push=False)  # …while runners keep crossing
            deadline = time.monotonic() + 10
            while live.status().stored < 35 and time.monotonic() < deadline:
                time.sleep(0.02)
            st = live.status()
        finally:
            live.stop()
            dec.stop.set()
        chips = [e.payload["chip"] for e in store.entries(["read"])]
    assert sorted(chips) == sorted(str(7000 + k) for k in range(1, 36))
    assert dec.connections >= 2
    assert "21:15" in dec.commands  # fetched exactly what was missed
    assert st.clock_offset_ms is not None  # measured from the GETTIME answer


def test_timer_replay_gap_asks_for_everything_and_stores_it_once(tmp_path):
    """The Timing screen's "Replay gap": the reader resends all it holds; nothing is stored twice and a
    passing the station never saw (sent while nobody listened) is recovered."""
    dec = FakeDecoder()
    dec.add(5, push=False)  # stored in the decoder before the station connected
    dec.start()
    with Store(tmp_path / "d") as store:
        live = LiveReader(store, ReaderBinding("rr", "finish", "raceresult", port=f"socket://127.0.0.1:{dec.port}"))
        live.start()
        try:
            deadline = time.monotonic() + 5
            while dec.conn is None and time.monotonic() < deadline:
                time.sleep(0.01)
            dec.add(3, push=True)  # 6..8 live; 1..5 were sent before anyone listened
            while live.status().stored < 3 and time.monotonic() < deadline:
                time.sleep(0.01)
            assert live.request_replay() == 1
            deadline = time.monotonic() + 5
            while "1:8" not in dec.commands and time.monotonic() < deadline:
                time.sleep(0.02)
            deadline = time.monotonic() + 5
            while live.status().duplicates < 3 and time.monotonic() < deadline:
                time.sleep(0.02)  # 6..8 come again and are recognised as resends
            st = live.status()
        finally:
            live.stop()
            dec.stop.set()
        chips = [e.payload["chip"] for e in store.entries(["read"])]
    assert sorted(chips) == sorted(str(7000 + k) for k in range(1, 9))
    assert "1:8" in dec.commands
    assert st.stored == 8 and st.duplicates >= 3


def test_passings_pushed_the_moment_the_link_opens_are_kept(tmp_path):
    """A decoder that pushes its passings as soon as the station connects: pyserial's socket handler
    empties the input right after connecting, which lost them (the station knew no passing number
    yet, so nothing fetched them again). They are all stored."""
    srv = socket.create_server(("127.0.0.1", 0))
    port = srv.getsockname()[1]
    lines = b"".join(b"#P;" + format_passing(k, str(8000 + k), T0 + k * 100).encode() + b"\r\n"
                     for k in range(1, 11))

    def serve() -> None:
        c, _ = srv.accept()
        c.sendall(lines)  # before the station has said anything
        time.sleep(3)
        c.close()

    threading.Thread(target=serve, daemon=True).start()
    with Store(tmp_path / "d") as store:
        live = LiveReader(store, ReaderBinding("rr", "finish", "raceresult", port=f"socket://127.0.0.1:{port}"))
        live.start()
        try:
            deadline = time.monotonic() + 5
            while live.status().stored < 10 and time.monotonic() < deadline:
                time.sleep(0.01)
        finally:
            live.stop()
            srv.close()
        chips = sorted(e.payload["chip"] for e in store.entries(["read"]))
    assert chips == sorted(str(8000 + k) for k in range(1, 11))
