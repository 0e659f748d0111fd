"""Recorded and simulated reads through the live code path: a capture file (`import_file`, streamed in
constant memory, with `throughput_mode` for the batch process) and a simulated reader (`SimulatedFeed`)."""

from __future__ import annotations

import contextlib
import io
import sys
import threading
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future
from typing import Any, BinaryIO

from drivers import protocol_for
from station.log.entry_log import TimingLog
from station.timing.bindings import ReaderBinding
from station.timing.ingest import Ingest, IngestStatus
from station.timing.live import Session


@contextlib.contextmanager
def throughput_mode(interval_s: float = 0.05) -> Iterator[None]:
    """For a batch process (`reads import`): hand the GIL between threads every `interval_s` instead
    of Python's 5 ms. An import keeps three threads busy at once (parsing here, the store's writer,
    the results follower); at 5 ms they trade the interpreter lock ~200 times a second and every
    trade costs cache and wake-up time — measured ~20-25 % of the import's CPU on this 2-core
    machine. Nothing in such a process waits on latency. Never for the app: its GUI thread shares
    the process and must get the lock back quickly."""
    old = sys.getswitchinterval()
    sys.setswitchinterval(max(old, interval_s))
    try:
        yield
    finally:
        sys.setswitchinterval(old)


def import_file(store: TimingLog, binding: ReaderBinding, data: bytes | BinaryIO, source: str, *,
                chunk_bytes: int = 1 << 18, max_inflight: int = 3, **kw: Any) -> Ingest:
    """Replay a capture through the live code path; returns the Ingest (its counters) once durable.

    The file is streamed in chunks with a bounded number of batches in flight, so a capture of millions
    of reads is imported in constant memory.
    """
    ing = Ingest(store, binding, live=False, **kw)
    proto = protocol_for(binding.format)
    framer = proto.framer()
    rx = ing.clock()
    stream = io.BytesIO(data) if isinstance(data, (bytes, bytearray)) else data
    inflight: deque[Future[list[Any]]] = deque()
    n = 0
    while True:
        chunk = stream.read(chunk_bytes)
        lines = framer.feed(chunk) if chunk else framer.flush()
        if lines:
            f = ing.process(lines, rx, source, proto, None, line_key=f"{source}:{n}")
            n += len(lines)
            if f is not None:
                inflight.append(f)
            while len(inflight) > max_inflight:
                inflight.popleft().result(600)
        if not chunk:
            break
    while inflight:
        inflight.popleft().result(600)
    store.flush()
    ing.close()
    return ing


class SimulatedFeed:
    """A simulated reader wired straight into the live path (no port): for the demo and rehearsals.

    `race` is a `drivers.simulated.SimulatedRace`; its lines for `point`, in the binding's wire format,
    are played in real time × `speed` into a `Session`, so they are framed, parsed, journaled and counted
    exactly like bytes from a cable.
    """

    def __init__(self, store: TimingLog, binding: ReaderBinding, race: Any, point: str | None = None, *,
                 speed: float | None = None, **kw: Any) -> None:
        self.ingest = Ingest(store, binding, live=True, **kw)
        self.session = Session(self.ingest, f"sim://{binding.id}")
        self.race = race
        self.point = point if point is not None else binding.point
        self.speed = speed
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"sim {binding.id}", daemon=True)
        self.sent = 0

    def _run(self) -> None:
        self.session.on_connect()
        clock = self.ingest.clock
        point = None if self.ingest.b.format == "timy" else self.point
        self.sent = self.race.play(self.ingest.b.format, point,
                                   lambda data: self.session.on_data(data, clock()),
                                   speed=self.speed, stop=self._stop)

    def start(self) -> SimulatedFeed:
        self._thread.start()
        return self

    def wait(self, timeout: float | None = None) -> bool:
        self._thread.join(timeout)
        return not self._thread.is_alive()

    def status(self) -> IngestStatus:
        return self.ingest.status()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)
        self.session.on_close("stopped")
        self.ingest.store.flush()
        self.ingest.close()
