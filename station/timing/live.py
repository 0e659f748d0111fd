"""A reader running live: one `Session` per byte stream (framing + protocol into the `Ingest`), and the
`LiveReader` that owns the port (serial or TCP listener), its polls, heartbeat watch and resume point."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any

from drivers import protocol_for
from drivers.base import Resume
from drivers.framing import DelimFramer, LineFramer
from station.errors import UserError
from station.log.entry_log import TimingLog
from station.memtrim import maybe_trim
from station.timing.bindings import ReaderBinding
from station.timing.ingest import Ingest, IngestStatus

log = logging.getLogger("station.timing.ingest")


class Session:
    """One byte stream of one reader (a serial port, one TCP connection, a file): framing + protocol."""

    def __init__(self, ingest: Ingest, port: str, send: Callable[[bytes], bool] | None = None) -> None:
        self.ingest = ingest
        self.port = port
        self.send = send
        self.protocol = protocol_for(ingest.b.format)
        self.framer: LineFramer | DelimFramer = self.protocol.framer()
        self.futures: list[Future[list[Any]]] = []

    def on_data(self, data: bytes, rx: int) -> None:
        lines = self.framer.feed(data)
        if lines:
            self.ingest.process(lines, rx, self.port, self.protocol, self.send)

    def on_connect(self) -> None:
        self.ingest.set_connected(True)
        if self.send is not None:
            for cmd in self.protocol.on_connect(self.ingest.resume):
                self.send(cmd)

    def request_replay(self, from_index: int) -> bool:
        """Ask the reader to send again what it stored from `from_index` on (Ultra replay by log
        index, RACE RESULT fetch by passing number). Resends are stored once, so asking for too much
        is safe. False when the protocol has no replay or nothing can be sent on this session."""
        if self.send is None:
            return False
        cmds = self.protocol.on_connect(Resume(last_index=from_index - 1))
        if len(cmds) < 2:  # only the greeting: this protocol cannot replay (Ipico, Timy, MYLAPS)
            return False
        for cmd in cmds:
            self.send(cmd)
        return True

    def on_close(self, why: str) -> None:
        rest = self.framer.flush()
        if rest:
            self.ingest.process(rest, self.ingest.clock(), self.port, self.protocol, self.send)

    def poll(self) -> None:
        if self.send is not None:
            for cmd in self.protocol.poll():
                self.send(cmd)


class LiveReader:
    """A reader running live: its port (serial or TCP listener), sessions, polls and heartbeat watch.

    The app and `reads listen` both use this; `tick()` runs every ~0.25 s on a monitor thread so the
    heartbeat check and the protocol's polls (RACE RESULT `GETTIME`) happen without the caller.
    """

    def __init__(self, store: TimingLog, binding: ReaderBinding, *, framing: str = "8N1", **kw: Any) -> None:
        if bool(binding.port) == bool(binding.listen):
            raise UserError("give exactly one of --port (serial/URL) or --listen HOST:PORT")
        self.ingest = Ingest(store, binding, live=True, **kw)
        self.binding = binding
        self.framing = framing
        self.sessions: list[Session] = []
        self._link: Any = None
        self._stop = threading.Event()
        self._monitor = threading.Thread(target=self._watch, name=f"watch {binding.id}", daemon=True)
        self._last_poll = 0.0
        self._saved_index = self.ingest.resume.last_index
        self._last_save = 0.0

    def start(self) -> LiveReader:
        b = self.binding
        proto = protocol_for(b.format)
        if b.port:
            from drivers.ports import SerialLink

            sess = Session(self.ingest, b.port)
            try:
                link = SerialLink(b.port, sess.on_data, baud=b.baud or proto.baud, framing=self.framing,
                                  on_connect=sess.on_connect, on_status=self._on_status)
            except ValueError as e:
                raise UserError(str(e)) from None
            sess.send = link.send
            self.sessions.append(sess)
            self._link = link.start()
        else:
            from drivers.tcp import TcpListener, parse_hostport

            try:
                host, port = parse_hostport(str(b.listen), 3097)
                self._link = TcpListener(host, port, self._tcp_session).start()
            except (ValueError, OSError) as e:
                raise UserError(f"cannot listen on {b.listen}: {e}") from None
            self.ingest.set_connected(False, f"listening on {host}:{self._link.address[1]}, no decoder yet")
        self._monitor.start()
        return self

    @property
    def address(self) -> tuple[str, int] | None:
        return getattr(self._link, "address", None)

    def _tcp_session(self, conn: Any) -> Session:
        sess = Session(self.ingest, f"tcp://{conn.peer}", conn.send)
        self.sessions.append(sess)
        sess.on_connect()
        ing = self.ingest

        class _H:
            on_data = sess.on_data

            @staticmethod
            def on_close(why: str) -> None:
                sess.on_close(why)
                if sess in self.sessions:
                    self.sessions.remove(sess)
                if not self.sessions:
                    ing.set_connected(False, f"decoder {conn.peer} left: {why}")

        return _H()  # type: ignore[return-value]

    def _on_status(self, connected: bool, why: str) -> None:
        if not connected:
            for s in self.sessions:
                rest = s.framer.flush()
                if rest:
                    self.ingest.process(rest, self.ingest.clock(), s.port, s.protocol, None)
        self.ingest.set_connected(connected, why)

    def _watch(self) -> None:
        while not self._stop.wait(0.25):
            self.tick()

    def _save_resume(self) -> None:
        idx = self.ingest.resume.last_index
        if idx is not None and idx != self._saved_index:
            try:
                self.ingest.store.set_state(self.ingest.resume_state_key, str(idx))
                self._saved_index = idx
            except Exception as e:  # bookkeeping only: never stop a reader for it
                log.warning("reader %s: cannot save its resume point: %s", self.binding.id, e)

    def tick(self) -> None:
        self.ingest.check_heartbeat()
        maybe_trim()  # a day-long reader: give freed memory back (see station.memtrim)
        if time.monotonic() - self._last_save >= 2.0:
            self._last_save = time.monotonic()
            self._save_resume()
        poll_s = self.ingest.protocol_class.poll_s
        if poll_s and time.monotonic() - self._last_poll >= poll_s:
            self._last_poll = time.monotonic()
            for s in list(self.sessions):
                s.poll()

    def status(self) -> IngestStatus:
        return self.ingest.status()

    def request_replay(self, from_index: int = 1) -> int:
        """The timer's "replay gap": ask the reader to resend its stored reads from `from_index` (by
        default everything it holds). Returns how many connections were asked (0: no replay in this
        protocol, or the reader is not connected)."""
        return sum(1 for s in list(self.sessions) if s.request_replay(from_index))

    def stop(self) -> None:
        """Stop reading, keep whatever was half-received, and wait until everything is durable."""
        self._stop.set()
        if self._monitor.is_alive():
            self._monitor.join(2)
        if self._link is not None:
            self._link.stop()
        for s in list(self.sessions):
            s.on_close("station stopped")
        self.ingest.store.flush()
        self._save_resume()
        self.ingest.close()
