"""From reader bytes to durable `read` / `unparsed` / `gun` entries, with live status for the UI/CLI.

The path is the same for a capture file (`reads import`), a serial port and a TCP decoder:
bytes → framer → protocol parser (drivers/, never raises) → entries → `Store.submit_batch`. Every line
that carries a read or cannot be parsed becomes an entry holding the raw line, its receive time and its
port, so nothing received is lost; the writer commits whatever arrived while the previous commit ran,
so a line is durable within one commit time (well under the journal's 50 ms). Resends and rewind
replays carry the protocol's resend key as the entry's `dkey` (prefixed with the reader id): the
writer stores each key once.

Clock (DESIGN rule 2): a read keeps the reader's time (`t`, converted to UTC through the reader's zone)
and the station's receive time (`rx`). The reader's offset to the station clock is measured where the
protocol can answer a time query, else derived from receive times (the smallest `rx - t` over recent
live reads: transmission only ever adds delay). It is shown, never applied silently: the timer confirms
it as a `clock_offset` entry. A drift beyond `drift_warn_ms` raises a warning.

The parts: `bindings` (a reader bound to a point, what the log says about it), `zoneclock` (reader time
to UTC), `sidejournal` (lines that are not entries), this module (`Ingest`: records → entries, counters),
`live` (sessions, `LiveReader`) and `captures` (`import_file`, `SimulatedFeed`).
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any

from drivers import protocol_for
from drivers.base import Protocol, Resume
from drivers.records import DAY_MS, ClockReading, Heartbeat, Impulse, Record, Status, TagRead, Unparsed
from station.errors import UserError
from station.log import contract
from station.log.entry_log import TimingLog
from station.log.reads import ReadRun
from station.timing.bindings import ReaderBinding, load_config
from station.timing.sidejournal import SideJournal
from station.timing.zoneclock import ZoneClock

log = logging.getLogger(__name__)


def now_ms() -> int:
    return time.time_ns() // 1_000_000


@dataclass
class IngestStatus:
    """A snapshot for the status line / UI: plain values, safe to hand to another thread."""

    reader: str
    point: str
    format: str
    connected: bool
    connection: str
    reads: int
    stored: int
    duplicates: int
    unparsed: int
    guns: int
    lines: int
    reads_per_s: float
    last_chip: str | None
    last_read_t: int | None
    heartbeat_lost: bool
    last_line_rx: int | None
    clock_offset_ms: int | None
    confirmed_offset_ms: int | None
    clock_warning: str
    zone: str
    zone_note: str
    pending: int

    def line(self) -> str:
        """One status line for a terminal."""
        off = "—" if self.clock_offset_ms is None else f"{self.clock_offset_ms:+d} ms"
        conn = "connected" if self.connected else f"DISCONNECTED ({self.connection})"
        parts = [f"[{self.reader}@{self.point}] {conn}", f"{self.reads_per_s:.1f} reads/s",
                 f"reads {self.reads}", f"last chip {self.last_chip or '—'}", f"unparsed {self.unparsed}",
                 f"dup {self.duplicates}", f"clock offset {off}"]
        if self.guns:
            parts.append(f"guns {self.guns}")
        if self.heartbeat_lost:
            parts.append("!! HEARTBEAT LOST")
        if self.clock_warning:
            parts.append("!! " + self.clock_warning)
        return " | ".join(parts)

_SIDE_KINDS = (Heartbeat, Status, ClockReading)
_RETRIES = 20
_RETRY_S = 0.5


@dataclass
class _Pending:
    """What one `process` call queued: kept until durable (retries, acks after commit)."""

    run: ReadRun | None
    items: list[tuple[str, dict[str, Any], str | None]]
    rx: int
    acks: list[tuple[str, list[Record]]]

    def size(self) -> int:
        return (len(self.run) if self.run is not None else 0) + len(self.items)

    def raw_lines(self) -> list[str]:
        return (list(self.run.raw) if self.run is not None else []) + [str(p.get("raw", ""))
                                                                        for _, p, _ in self.items]


def _divert_bad_reads(run: ReadRun) -> tuple[ReadRun, list[tuple[str, dict[str, Any], str | None]]]:
    """Reads that break the entry contract (a 600 KB chip field, a time beyond ±2^53 ms) become
    `unparsed` entries with the reason: reader input is never refused, and never stored as a read the
    ledger would refuse. Returns the run of the good reads and the unparsed items (with their keys)."""
    if run.dkey is None and run.index_stream is not None:  # keep resend keys through the selection
        run.dkey = [f"{run.index_stream}#{run.index_first + i}" for i in range(len(run))]
        run.index_stream = None
    bad = dict(contract.bad_reads(run))
    payloads = run.payloads()
    items: list[tuple[str, dict[str, Any], str | None]] = []
    for i, why in bad.items():
        raw = payloads[i].get("raw")
        items.append(("unparsed", {"reader": run.reader, "point": run.point, "rx": run.rx,
                                   "raw": raw if isinstance(raw, str) else repr(raw),
                                   "error": f"not a valid read ({why})", "port": run.port},
                      run.dkey[i] if run.dkey is not None else None))
    return run.select([i not in bad for i in range(len(run))]), items


def _finish_run(run: ReadRun, keys: list[str | None], rssis: list[int | None], ants: list[int | None],
                idxs: list[int | None], dateless: list[bool], rewind: list[bool],
                key_head: str | None = None) -> None:
    """Attach the optional columns that carry something, and the resend keys.

    A key with a running index (`…/<index>`, the reader's own log number) is checked by the store as
    `stream#index` intervals; a run whose keys are one consecutive stretch of one stream is checked
    at once (the usual case: a reader's log, read in order)."""
    n = len(run.chip)
    if keys.count(None) != n:
        run.key = keys
    if rssis.count(None) != n:
        run.rssi = rssis
    if ants.count(None) != n:
        run.ant = ants
    if idxs.count(None) != n:
        run.idx = idxs
    if True in dateless:
        run.dateless = dateless
    if True in rewind:
        run.rewind = rewind
    rid = run.reader
    if run.idx is not None and None not in idxs and None not in keys:
        ks: list[str] = keys  # type: ignore[assignment]
        ix: list[int] = idxs  # type: ignore[assignment]
        head, _, tail = ks[0].rpartition("/")
        first = ix[0]
        if (tail == str(first) and ks[-1].endswith(f"/{ix[-1]}") and ix == list(range(first, first + n))
                and (key_head == head or all(k.rpartition("/")[0] == head for k in ks))):
            run.index_stream, run.index_first = f"{rid}|{head}", first
            return
    dk: list[str | None] = []
    for k, i, raw in zip(keys, idxs, run.raw, strict=True):
        if k is None:
            dk.append(f"{rid}|{raw}")
            continue
        head, _, tail = k.rpartition("/")
        dk.append(f"{rid}|{head}#{tail}" if i is not None and tail.isdigit() else f"{rid}|{k}")
    run.dkey = dk


class Ingest:
    """Turns one reader's records into entries and keeps its live counters."""

    def __init__(
        self,
        store: TimingLog,
        binding: ReaderBinding,
        *,
        live: bool = True,
        event_zone: str | None = None,
        event_date: str | None = None,
        clock: Callable[[], int] = now_ms,
        drift_warn_ms: int = 1000,
        heartbeat_grace: float = 2.5,
        operator: str = "",
    ) -> None:
        binding.validate()
        self.store = store
        self.b = binding
        self.live = live
        self.clock = clock
        self.drift_warn_ms = drift_warn_ms
        self.heartbeat_grace = heartbeat_grace
        self.operator = operator
        self.protocol_class = type(protocol_for(binding.format))
        stored = load_config(store, binding.id)
        ev = (stored.event or {}).get("event") or {}
        zone = binding.zone or event_zone or ev.get("timezone")
        self.zone_note = ""
        if not zone:
            zone = "UTC"
            self.zone_note = "no event loaded: reader times taken as UTC"
        self.zone = zone
        self.zclock = ZoneClock(zone)
        date = event_date or ev.get("date")
        self._date_wall: int | None = None
        if date:
            try:
                d = dt.date.fromisoformat(str(date))
            except ValueError:
                raise UserError(f"event date {date!r} is not YYYY-MM-DD") from None
            self._date_wall = (d - dt.date(1970, 1, 1)).days * DAY_MS
        elif self.b.format in ("mylaps", "timy"):
            self.zone_note = (self.zone_note + "; " if self.zone_note else "") + \
                "no event date: dateless times placed on the receive date"
        self._lock = threading.Lock()
        self.reads = self.stored = self.duplicates = self.unparsed = self.guns = self.lines = 0
        self.pending = 0
        self.last_chip: str | None = None
        self.last_read_t: int | None = None
        self.last_line_rx: int | None = None
        self.connected = not live
        self.connection = "" if not live else "not opened yet"
        self.heartbeat_lost = False
        self.measured_offset: int | None = None
        self._offset_samples: deque[int] = deque(maxlen=64)
        self._rate: deque[tuple[int, int]] = deque()
        self.resume = Resume()
        if live:
            # where this reader left off in an earlier run: a restarted station asks for what it missed
            saved = store.get_state(self.resume_state_key)
            if saved and saved.isdigit():
                self.resume.last_index = int(saved)
            # The saved point may be up to a few seconds old (a station killed outright): the reads
            # themselves carry the reader's index, so take the highest one already stored too.
            stored_idx = _stored_max_index(store, binding.id)
            if stored_idx is not None and (self.resume.last_index is None
                                           or stored_idx > self.resume.last_index):
                self.resume.last_index = stored_idx
        self.latencies: deque[int] = deque(maxlen=100_000)
        self.confirmed_offset = stored.clock_offset_ms
        self._side = SideJournal(store, binding.id)
        self._record_binding(stored.reader)

    @property
    def resume_state_key(self) -> str:
        return f"reader_resume:{self.b.id}"

    # ----------------------------------------------------------------- config
    def _record_binding(self, latest: dict[str, Any] | None) -> None:
        """A `reader_config` entry when this reader is first used with a binding that differs."""
        payload = self.b.config_payload()
        if latest != payload:
            self.store.append("reader_config", payload, operator=self.operator)

    def confirm_clock_offset(self, offset_ms: int | None = None, from_ms: int = 0) -> dict[str, Any]:
        """The timer accepts an offset (default: the measured one) → a `clock_offset` entry."""
        if self.b.gps:
            raise UserError(f"reader {self.b.id} is GPS-synced: its clock is never corrected")
        off = self.measured_offset if offset_ms is None else offset_ms
        if off is None:
            raise UserError(f"reader {self.b.id}: no clock offset measured yet")
        payload = {"reader": self.b.id, "offset_ms": int(off), "from_ms": int(from_ms)}
        self.store.append("clock_offset", payload, operator=self.operator)
        self.confirmed_offset = int(off)
        return payload

    # ----------------------------------------------------------------- conversion
    def _dateless_utc(self, tod_ms: int, rx: int) -> int:
        base = self._date_wall
        if base is None:
            base = self.zclock.wall_date_ms(rx)
        return self.zclock.to_utc(base + tod_ms)

    def process(
        self,
        lines: list[str],
        rx: int,
        port: str,
        protocol: Protocol,
        send: Callable[[bytes], bool] | None = None,
        line_key: str | None = None,
    ) -> Future[Any] | None:
        """Parse framed lines received at `rx` and queue their entries; returns the store's future.

        Reads go to the store as one `ReadRun` (columns, one packed row); unparsed lines and guns as
        single entries. `line_key` (imports: source and first line number) gives unparsed lines a key
        too, so importing the same capture twice stores nothing new; live garbage has no key (each
        arrival is kept).
        """
        # Split at chunk boundaries only, so the split costs nothing: `_take_columns` and `_parse_lines`
        # run once per chunk (up to thousands of lines); the per-line loop stays inlined in `_parse_lines`.
        b = self.b
        items: list[tuple[str, dict[str, Any], str | None]] = []
        acks: list[tuple[str, list[Record]]] = []
        run = ReadRun(b.id, b.point, b.role, rx, port, b.gps)
        key_head: str | None = None
        nunp = ngun = 0
        side: list[str] | None = None
        fast = None
        if b.chip_format != "hex" and (send is None or (type(protocol).replies is Protocol.replies
                                                        and type(protocol).after_commit is Protocol.after_commit)):
            fast = protocol.parse_chunk(lines)
        if fast is not None:
            keys, rssis, ants, idxs, dateless, rewind, key_head = self._take_columns(run, fast, rx)
        else:
            keys, rssis, ants, idxs, dateless, rewind, nunp, ngun, side = self._parse_lines(
                lines, rx, port, protocol, send, line_key, run, items, acks)
        chips, ts = run.chip, run.t
        nread = len(chips)
        if nread:
            _finish_run(run, keys, rssis, ants, idxs, dateless, rewind, key_head)
            if contract.check_run(run) is not None:  # a reader sent something no read may hold
                run, diverted = _divert_bad_reads(run)
                items += diverted
                nunp += len(diverted)
                nread = len(run)
                chips, ts = run.chip, run.t
            mx = max((i for i in idxs if i is not None), default=None)
            if mx is not None and (self.resume.last_index is None or mx > self.resume.last_index):
                self.resume.last_index = mx
        if side:
            self._side.write(rx, port, side)
        with self._lock:
            self.lines += len(lines)
            self.reads += nread
            self.unparsed += nunp
            self.guns += ngun
            if lines:
                self.last_line_rx = rx
                self.heartbeat_lost = False
            if nread:
                self.last_chip, self.last_read_t = chips[-1], ts[-1]
                self._rate.append((rx, nread))
            if self._offset_samples:
                self.measured_offset = min(self._offset_samples)
            if not items and not nread:
                return None
            self.pending += len(items) + nread
        return self._submit(_Pending(run if nread else None, items, rx, acks), protocol, send, 0)

    def _take_columns(self, run: ReadRun, fast: Any, rx: int) -> tuple[Any, ...]:
        """Every line a plain read: whole columns at once (same values as `_parse_lines`). Returns the
        optional columns (keys, rssi, antenna, reader index, dateless, rewind) and the keys' common head."""
        chips, ts, raws = run.chip, run.t, run.raw
        sample = self._offset_samples.append if self.live else None
        chips += fast.chip
        ts += self.zclock.to_utc_many(fast.wall_ms)
        raws += fast.raw
        keys, rssis, ants, idxs = fast.key, fast.rssi, fast.ant, fast.log_index
        rewind = fast.rewind
        dateless = [False] * len(chips)
        key_head = fast.key_head
        if sample is not None:
            for t, rw in zip(ts, rewind, strict=True):
                if not rw:
                    sample(rx - t)
        return keys, rssis, ants, idxs, dateless, rewind, key_head

    def _parse_lines(self, lines: list[str], rx: int, port: str, protocol: Protocol,
                     send: Callable[[bytes], bool] | None, line_key: str | None, run: ReadRun,
                     items: list[tuple[str, dict[str, Any], str | None]],
                     acks: list[tuple[str, list[Record]]]) -> tuple[Any, ...]:
        """Line by line (hex chips, a protocol that answers or acknowledges, a chunk that is not all plain
        reads): reads go to `run`'s columns, unparsed lines and guns to `items`, acknowledgements owed
        to `acks`. Returns the optional columns (as `_take_columns`), the unparsed and gun counts and the
        lines for the side journal."""
        b = self.b
        rid, hexchips = b.id, b.chip_format == "hex"
        to_utc = self.zclock.to_utc
        chips, ts, raws = run.chip, run.t, run.raw
        keys: list[str | None] = []
        rssis: list[int | None] = []
        ants: list[int | None] = []
        idxs: list[int | None] = []
        dateless: list[bool] = []
        rewind: list[bool] = []
        nunp = ngun = 0
        side: list[str] | None = None
        sample = self._offset_samples.append if self.live else None
        parse = protocol.parse
        for n, line in enumerate(lines):
            recs = parse(line)
            if recs and type(recs[0]) in _SIDE_KINDS:
                if side is None:
                    side = []
                side.append(line)
            if send is not None:
                for cmd in protocol.replies(line, recs):
                    send(cmd)
            for r in recs:
                tr = type(r)
                if tr is TagRead:
                    chip = r.chip
                    if hexchips:
                        try:
                            chip = str(int(chip, 16))
                        except ValueError:
                            items.append(("unparsed", {"reader": rid, "point": b.point, "rx": rx, "raw": r.raw,
                                                       "error": f"chip {chip!r} is not hex", "port": port},
                                          None))
                            nunp += 1
                            continue
                    t = self._dateless_utc(r.wall_ms, rx) if r.dateless else to_utc(r.wall_ms)
                    chips.append(chip)
                    ts.append(t)
                    raws.append(r.raw)
                    keys.append(r.key)
                    rssis.append(r.rssi)
                    ants.append(r.ant)
                    idxs.append(r.log_index)
                    dateless.append(r.dateless)
                    rewind.append(r.rewind)
                    if sample is not None and not r.rewind and not r.dateless:
                        sample(rx - t)
                elif tr is Unparsed:
                    if r.key is not None:
                        ukey: str | None = f"{rid}|{r.key}"
                    elif line_key is not None:
                        ukey = f"{rid}|u|{line_key}|{n}"
                    else:
                        ukey = None
                    items.append(("unparsed", {"reader": rid, "point": b.point, "rx": rx, "raw": r.raw,
                                               "error": r.error, "port": port}, ukey))
                    nunp += 1
                elif tr is Impulse:
                    item = self._gun(r, rx, port)
                    items.append(item)
                    if item[0] == "gun":
                        ngun += 1
                    else:
                        nunp += 1
                elif tr is ClockReading:
                    if sample is not None:
                        sample(rx - to_utc(r.wall_ms))
            if send is not None and recs and type(protocol).after_commit is not Protocol.after_commit:
                acks.append((line, recs))
        return keys, rssis, ants, idxs, dateless, rewind, nunp, ngun, side

    def _submit(self, pend: _Pending, protocol: Protocol, send: Callable[[bytes], bool] | None,
                attempt: int) -> Future[Any]:
        """Queue the run and the single entries; `_committed` runs once both are durable (the store
        commits in queue order, so the second future completes last)."""
        futs: list[Future[Any]] = []
        if pend.run is not None:
            futs.append(self.store.submit_reads(pend.run, operator=self.operator, checked=True))
        if pend.items:
            futs.append(self.store.submit_batch(pend.items, operator=self.operator))
        futs[-1].add_done_callback(lambda _f: self._committed(futs, pend, protocol, send, attempt))
        return futs[-1]

    def _gun(self, r: Impulse, rx: int, port: str) -> tuple[str, dict[str, Any], str | None]:
        rid = self.b.id
        key = f"{rid}|{r.number}/{r.channel}/{r.wall_ms}"
        wave = self.b.channel_waves.get(r.channel)
        if not wave:
            return ("unparsed", {"reader": rid, "point": self.b.point, "rx": rx, "raw": r.raw, "port": port,
                                 "error": f"impulse on channel {r.channel} maps to no wave"}, key)
        race, _, w = wave.rpartition("/")
        p: dict[str, Any] = {"wave": w, "t": self._dateless_utc(r.wall_ms, rx), "dateless": True,
                             "reader": rid, "channel": r.channel, "impulse": r.number, "raw": r.raw, "rx": rx,
                             "port": port}
        if race:
            p["race"] = race
        return ("gun", p, key)

    def _committed(self, futs: list[Future[Any]], pend: _Pending, protocol: Protocol,
                   send: Callable[[bytes], bool] | None, attempt: int) -> None:
        """On the writer thread, right after the commit: count, measure latency, send what was owed."""
        n = pend.size()
        try:
            res = [f.result() for f in futs]
        except Exception as e:
            # The batch was refused (disk full, file locked…): nothing is acknowledged (a MYLAPS decoder
            # resends); live data is retried, and in the end kept as text beside the database. Storing
            # again is safe: entries that did get in are recognised by their resend keys.
            log.error("reader %s: %d entries not stored (attempt %d): %s", self.b.id, n, attempt + 1, e)
            if self.live and attempt < _RETRIES:
                t = threading.Timer(_RETRY_S, self._retry, (pend, protocol, send, attempt + 1))
                t.daemon = True
                t.start()
                return
            with self._lock:
                self.pending -= n
            if self.live:
                self._side.write(pend.rx, "UNSAVED", pend.raw_lines(), unsaved=True)
            return
        done = self.clock()
        stored = 0
        for r in res:
            stored += r if isinstance(r, int) else sum(1 for e in r if e is not None)
        with self._lock:
            self.pending -= n
            self.duplicates += n - stored
            self.stored += stored
            self.latencies.append(done - pend.rx)
        if send is not None:
            for line, recs in pend.acks:
                for cmd in protocol.after_commit(line, recs):
                    send(cmd)

    def close(self) -> None:
        self._side.close()

    def _retry(self, pend: _Pending, protocol: Protocol, send: Callable[[bytes], bool] | None,
               attempt: int) -> None:
        try:
            self._submit(pend, protocol, send, attempt)
        except RuntimeError as e:  # store closed or its writer died
            log.critical("reader %s: %d entries cannot be stored: %s", self.b.id, pend.size(), e)
            with self._lock:
                self.pending -= pend.size()
            self._side.write(pend.rx, "UNSAVED", pend.raw_lines(), unsaved=True)

    def set_connected(self, connected: bool, why: str = "") -> None:
        with self._lock:
            was = self.connected
            self.connected = connected
            self.connection = "" if connected else why
            if connected:
                self.heartbeat_lost = False
                self.last_line_rx = self.clock()
        if was and not connected:
            log.warning("reader %s: DISCONNECTED — %s", self.b.id, why)
        elif connected and not was:
            log.warning("reader %s: connected", self.b.id)

    def check_heartbeat(self) -> bool:
        """True when the reader went quiet for longer than its heartbeat allows (reported loudly once)."""
        hb = self.protocol_class.heartbeat_s
        if hb is None or not self.connected or self.last_line_rx is None:
            return False
        lost = self.clock() - self.last_line_rx > hb * self.heartbeat_grace * 1000
        if lost and not self.heartbeat_lost:
            log.warning("reader %s: HEARTBEAT LOST — nothing heard for %.0f s", self.b.id,
                        (self.clock() - self.last_line_rx) / 1000)
        self.heartbeat_lost = lost
        return lost

    def status(self) -> IngestStatus:
        now = self.clock()
        with self._lock:
            while self._rate and self._rate[0][0] < now - 5000:
                self._rate.popleft()
            rate = sum(n for _, n in self._rate) / 5.0
            warn = ""
            if self.measured_offset is not None and not self.b.gps:
                ref = self.confirmed_offset or 0
                if abs(self.measured_offset - ref) > self.drift_warn_ms:
                    warn = (f"clock drift {self.measured_offset - ref:+d} ms vs "
                            f"{'confirmed offset' if self.confirmed_offset is not None else 'station clock'}")
            return IngestStatus(
                reader=self.b.id, point=self.b.point, format=self.b.format, connected=self.connected,
                connection=self.connection, reads=self.reads, stored=self.stored,
                duplicates=self.duplicates, unparsed=self.unparsed, guns=self.guns, lines=self.lines,
                reads_per_s=rate, last_chip=self.last_chip, last_read_t=self.last_read_t,
                heartbeat_lost=self.heartbeat_lost, last_line_rx=self.last_line_rx,
                clock_offset_ms=self.measured_offset, confirmed_offset_ms=self.confirmed_offset,
                clock_warning=warn, zone=self.zone, zone_note=self.zone_note, pending=self.pending,
            )


def _stored_max_index(store: TimingLog, reader_id: str) -> int | None:
    """The highest reader index among this reader's most recent stored reads (gap recovery)."""
    try:
        return store.max_read_index(reader_id)
    except Exception as e:  # bookkeeping only: never stop a reader for it
        log.warning("reader %s: cannot read its last stored index: %s", reader_id, e)
        return None


_MOVED = {"Session": "live", "LiveReader": "live", "import_file": "captures", "throughput_mode": "captures",
          "SimulatedFeed": "captures"}


def __getattr__(name: str) -> Any:
    """The live path and the captures moved to `station.timing.live` and `station.timing.captures`; they
    import `Ingest` from here, so this module hands their names on only when asked (an eager import
    would be a cycle)."""
    mod = _MOVED.get(name)
    if mod is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(f"station.timing.{mod}"), name)
