"""Soak mode (on demand, not in CI): a station under a steady read rate for a long time.

`worun-station rehearse --soak 30` runs the finish station for 30 minutes at 2,000 reads/s: a MYLAPS
decoder on TCP carries the bulk (no serial line carries 2,000 reads/s: 115,200 baud is ~190 Ultra
lines/s) and an Ultra on a socat pty at 115,200 baud carries what a cable can; `sync` pushes everything
to the ledger (publishing results) the whole time.

The reads are what a busy finish mat sees (`FinishCrowd`): the runners arrive one after another spread
over the whole soak, and each stays in the antennas' range for a while after crossing (the finish
chute), read a few times a second — so 2,000 reads/s come from a few hundred chips in range at once,
each chip's reads less than a window apart (one crossing per runner, however long it lingers). Every 5 s it samples each process's resident memory,
the listener's status-line cadence (a late status line is a stall of the station's loop — the headless
stand-in for a GUI stall) and the sync lag (entries journaled but not yet on the ledger, in seconds at
the current rate). Pass: memory growth ≤ 10% (steady state after the first fifth vs the last fifth), no
growth in stalls or in sync lag (last third vs first third, with a small absolute tolerance).
"""

from __future__ import annotations

import json
import socket
import sqlite3
import sys
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from drivers import mylaps, ultra
from rehearsal import scenario as sc_mod
from rehearsal.procs import (
    MemorySampler,
    Postgres,
    Proc,
    current_rss_kb,
    free_port,
    run_cli,
    wait_port,
)
from rehearsal.serialsim import PtyPair, socat_available
from station import paths


@dataclass
class SoakOptions:
    minutes: float = 30.0
    rate: float = 2000.0
    out: Path = Path("soak")
    sqlite: bool = False
    runners: int = 5000
    sample_s: float = 5.0
    quiet: bool = False


@dataclass
class SoakResult:
    opts: SoakOptions
    samples: list[dict[str, Any]] = field(default_factory=list)
    sent: int = 0
    journaled: int = 0
    on_ledger: int = 0
    checks: list[tuple[str, str, bool]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(ok for _, _, ok in self.checks)

    def table(self) -> str:
        w = max(len(c) for c, _, _ in self.checks) if self.checks else 10
        lines = [f"| {'check'.ljust(w)} | value | verdict |", f"|{'-' * (w + 2)}|-------|---------|"]
        lines += [f"| {c.ljust(w)} | {v} | {'ok' if ok else 'FAIL'} |" for c, v, ok in self.checks]
        return "\n".join(lines)

    def write(self, out: Path) -> Path:
        p = out / "soak.json"
        p.write_text(json.dumps({"ok": self.ok, "checks": self.checks, "sent": self.sent,
                                 "journaled": self.journaled, "on_ledger": self.on_ledger,
                                 "samples": self.samples}, indent=1) + "\n", encoding="utf-8")
        return p


class FinishCrowd:
    """Which chip a reader reads next, `elapsed` seconds into the soak.

    Runner j arrives at j × gap (gap = duration / runners) and stays in range for `dwell` seconds,
    chosen so that `rate` reads/s are shared by rate / per_chip runners in range at once (each read
    every 1 / per_chip s, well inside a 2 s crossing window). A soak that overruns its duration starts
    the runners over (a second lap)."""

    def __init__(self, chips: list[str], duration_s: float, rate: float, per_chip: float = 5.0) -> None:
        self.chips = chips
        self.gap = max(duration_s, 1.0) / len(chips)
        self.in_range = max(1, int(rate / per_chip))
        self._pos = -1

    def next(self, elapsed: float) -> str:
        """The next chip: round robin over the runners in range now (one reader's view of the crowd)."""
        hi = int(elapsed / self.gap)
        lo = max(0, hi - self.in_range + 1)
        p = self._pos + 1
        if p > hi or p < lo:
            p = lo
        self._pos = p
        return self.chips[p % len(self.chips)]


class _SteadyDecoder(threading.Thread):
    """A MYLAPS decoder sending `rate` passings/s of the crowd's chips, stamped with now."""

    def __init__(self, port: int, crowd: FinishCrowd, rate: float, wall_now: Any, t0: float) -> None:
        super().__init__(name="soak mylaps", daemon=True)
        self.port, self.crowd, self.rate, self.wall_now, self.t0 = port, crowd, rate, wall_now, t0
        self.stop_event = threading.Event()
        self.sent = 0
        self.unacked: OrderedDict[int, str] = OrderedDict()
        self.window_full = 0

    def run(self) -> None:
        sock = socket.create_connection(("127.0.0.1", self.port))
        sock.settimeout(0.01)
        sock.sendall(b"Soak@Pong@$")
        buf, n, t0 = b"", 0, time.monotonic()
        while not self.stop_event.is_set():
            try:
                data = sock.recv(65536)
                buf += data
            except TimeoutError:
                pass
            *msgs, buf = buf.split(b"$")
            for m in msgs:
                parts = m.decode(errors="replace").split("@")
                if len(parts) >= 3 and parts[1] == "AckPassing" and parts[2].isdigit():
                    self.unacked.pop(int(parts[2]), None)
            due = int((time.monotonic() - t0) * self.rate)
            while self.sent < due:
                if len(self.unacked) >= 10:
                    self.window_full += 1
                    break
                batch = min(100, due - self.sent)
                wall = self.wall_now()
                el = time.monotonic() - self.t0
                ps = [mylaps.format_passing(self.crowd.next(el), wall) for _ in range(batch)]
                n += 1
                text = mylaps.format_message("Soak", ps, n)
                self.unacked[n] = text
                sock.sendall(text.encode())
                self.sent += batch
            time.sleep(0.005)
        sock.close()


def run_soak(o: SoakOptions) -> SoakResult:
    out = o.out.resolve()
    for d in ("logs", "tty", "station", "scenario"):
        (out / d).mkdir(parents=True, exist_ok=True)
    res = SoakResult(o)

    def say(msg: str) -> None:
        if not o.quiet:
            print(msg, file=sys.stderr, flush=True)

    sc, db, pg, data, token = _set_up(o, out)
    lport, mport = free_port(), free_port()
    procs, pair = _start_processes(out, data, db, token, lport, mport)
    sampler = MemorySampler(procs, 1.0)
    sampler.start()
    watch = _StallWatch(procs[1].log)
    watch.start()
    chips = [p["chips"][0] for p in sc.participants]
    wall_now = lambda: sc.race.wall_ms(time.time_ns() // 1_000_000)  # noqa: E731
    serial_rate = 150.0 if pair else 0.0
    t_soak = time.monotonic()
    crowd = FinishCrowd(chips, o.minutes * 60, o.rate - serial_rate)
    ultra_crowd = FinishCrowd(chips, o.minutes * 60, serial_rate or 1.0)
    dec = _SteadyDecoder(mport, crowd, o.rate - serial_rate, wall_now, t_soak)
    dec.start()
    ultra_sent = [0]
    stop = threading.Event()
    if pair:
        _start_ultra_feed(pair, procs, ultra_crowd, serial_rate, wall_now, t_soak, stop, ultra_sent)
    db_path = out / "station" / paths.DB_FILENAME
    client = httpx.Client(base_url=f"http://127.0.0.1:{lport}", timeout=30,
                          headers={"Authorization": f"Bearer {token}"})
    try:
        ledger_reads, cursor = _sample(o, res, out, say, dec, ultra_sent, db_path, client, sc.event_id,
                                       watch, procs)
        _drain(res, dec, ultra_sent, stop, db_path, client, sc.event_id, ledger_reads, cursor)
    finally:
        stop.set()
        dec.stop_event.set()
        dec.join(5)
        codes = {p.name: p.stop() for p in reversed(procs)}
        sampler.stop_event.set()
        watch.stop_event.set()
        client.close()
        if pair:
            pair.close()
        if pg:
            pg.stop()
    res.sent = dec.sent + ultra_sent[0]
    _judge(res, codes)
    return res


def _set_up(o: SoakOptions, out: Path) -> tuple[sc_mod.Scenario, str, Postgres | None, list[str], str]:
    """The scenario, the ledger database, the station loaded with the event and participants, and a
    publishing token: (scenario, database URL, PostgreSQL or None, station `--data` args, token)."""
    sc = sc_mod.generate(o.runners, 1)
    ev = out / "scenario" / "event.toml"
    ev.write_text(sc_mod.event_toml(sc, {}), encoding="utf-8")
    parts = sc_mod.write_participants(sc, out / "scenario" / "participants.csv")
    pg = None
    if o.sqlite:
        db = f"sqlite:///{(out / 'ledger.sqlite3').as_posix()}"
    else:
        pg = Postgres(out)
        db = pg.start()
    data = ["--data", str(out / "station")]
    log = out / "logs" / "commands.log"
    run_cli("ledger", "event", "add", "--db", db, str(ev), log=log)
    run_cli(*data, "event", "load", str(ev), log=log)
    run_cli(*data, "participants", "import", str(parts), log=log)
    sid = next(x.split(":", 1)[1].strip() for x in run_cli(*data, "info").stdout.splitlines()
               if x.startswith("station_id:"))
    token = run_cli("ledger", "token", "add", "--db", db, "--event", sc.event_id, "--station", sid,
                    "--publish", log=log).stdout.strip().splitlines()[-1]
    return sc, db, pg, data, token


def _start_processes(out: Path, data: list[str], db: str, token: str, lport: int,
                     mport: int) -> tuple[list[Proc], PtyPair | None]:
    """Ledger, MYLAPS listener, Ultra listener on a pty (when socat is there) and sync: (procs, pty)."""
    procs = [Proc("ledger", ["ledger", "serve", "--db", db, "--port", str(lport)], out / "logs").start()]
    wait_port(lport, 60, procs[0])
    procs.append(Proc("listen-mylaps", [*data, "reads", "listen", "--point", "finish", "--format", "mylaps",
                                        "--reader", "soak-mylaps", "--listen", f"127.0.0.1:{mport}"],
                      out / "logs").start())
    pair = None
    if socat_available():
        pair = PtyPair(out / "tty", "soak-ultra")
        pair.plug()
        procs.append(Proc("listen-ultra", [*data, "reads", "listen", "--point", "km5", "--format", "ultra",
                                           "--reader", "soak-ultra", "--port", pair.station, "--baud", "115200"],
                          out / "logs").start())
    procs.append(Proc("sync", [*data, "sync", "--ledger", f"http://127.0.0.1:{lport}", "--token", token],
                      out / "logs").start())
    wait_port(mport, 60, procs[1])
    return procs, pair


def _start_ultra_feed(pair: PtyPair, procs: list[Proc], ultra_crowd: FinishCrowd, serial_rate: float,
                      wall_now: Callable[[], int], t_soak: float, stop: threading.Event,
                      ultra_sent: list[int]) -> None:
    """Once the Ultra listener has opened its port, a thread writes `serial_rate` reads/s to the pty
    (counting them in `ultra_sent[0]`) until `stop`."""

    def feed_ultra() -> None:
        import serial

        assert pair is not None
        ser = serial.Serial(pair.reader, 115200, timeout=0)
        t0 = time.monotonic()
        while not stop.is_set():
            due = int((time.monotonic() - t0) * serial_rate)
            while ultra_sent[0] < due:
                i = ultra_sent[0]
                chip = ultra_crowd.next(time.monotonic() - t_soak)
                ser.write(ultra.format_read(chip, wall_now(), log_id=i).encode() + b"\r\n")
                ultra_sent[0] += 1
            time.sleep(0.01)
        ser.close()

    ul = next(p for p in procs if p.name == "listen-ultra")
    end = time.monotonic() + 60
    while "] connected" not in ul.log.read_text(encoding="utf-8", errors="replace"):
        if time.monotonic() > end or not ul.alive():
            raise RuntimeError(f"the Ultra listener did not open its port:\n{ul.tail()}")
        time.sleep(0.1)
    threading.Thread(target=feed_ultra, daemon=True).start()


def _sample(o: SoakOptions, res: SoakResult, out: Path, say: Callable[[str], None], dec: _SteadyDecoder,
            ultra_sent: list[int], db_path: Path, client: httpx.Client, event_id: str, watch: _StallWatch,
            procs: list[Proc]) -> tuple[int, Any]:
    """The soak itself: every `sample_s`, one sample in `res.samples`; returns (ledger reads, cursor)."""
    cursor, ledger_reads = "", 0
    t_end = time.monotonic() + o.minutes * 60
    t_start = time.monotonic()
    say(f"soak: {o.minutes} min at {o.rate:.0f} reads/s in {out}")
    while time.monotonic() < t_end:
        time.sleep(o.sample_s)
        # In this order: what was sent, then at once what the journal holds (journal lag); then
        # what the ledger holds once pulled, against the journal at that same moment (sync lag).
        # Pulling takes a while: comparing counts taken at different times would show the pull's
        # duration as lag.
        sent = dec.sent + ultra_sent[0]
        journaled = _count_journaled(db_path)
        ledger_reads, cursor = _count_ledger(client, event_id, ledger_reads, cursor)
        journaled_then = _count_journaled(db_path)
        rate_now = max(1.0, o.rate)
        s = {"t": round(time.monotonic() - t_start, 1), "sent": sent, "journaled": journaled,
             "on_ledger": ledger_reads, "journal_lag_s": round((sent - journaled) / rate_now, 2),
             "sync_lag_s": round((journaled_then - ledger_reads) / rate_now, 2),
             "stalls": watch.stalls, "worst_gap_s": round(watch.worst_s, 2), "window_full": dec.window_full,
             "rss_kb": {p.name: current_rss_kb(p.pid) for p in procs if p.pid}}
        res.samples.append(s)
        say(json.dumps(s))
    return ledger_reads, cursor


def _drain(res: SoakResult, dec: _SteadyDecoder, ultra_sent: list[int], stop: threading.Event,
           db_path: Path, client: httpx.Client, event_id: str, ledger_reads: int, cursor: Any) -> None:
    """The feeders stop; everything sent must reach the journal and then the ledger (2 minutes at most)."""
    stop.set()
    dec.stop_event.set()
    dec.join(5)
    sent = dec.sent + ultra_sent[0]
    drain_end = time.monotonic() + 120
    while time.monotonic() < drain_end:
        time.sleep(2)
        res.journaled = _count_journaled(db_path)
        ledger_reads, cursor = _count_ledger(client, event_id, ledger_reads, cursor)
        res.on_ledger = ledger_reads
        if sent == res.journaled == res.on_ledger:
            break


class _StallWatch(threading.Thread):
    """Follows a listener's log: its status line comes every second; a gap over 2.5 s is a stall of
    the station's loop (the headless stand-in for a GUI stall)."""

    def __init__(self, log: Path, limit_s: float = 2.5) -> None:
        super().__init__(name="stall watch", daemon=True)
        self.log, self.limit_s = log, limit_s
        self.stalls = 0
        self.worst_s = 0.0
        self.stop_event = threading.Event()

    def run(self) -> None:
        pos, last = 0, None
        while not self.stop_event.wait(0.1):
            try:
                with self.log.open("rb") as f:
                    f.seek(pos)
                    chunk = f.read()
            except OSError:
                continue
            if not chunk:
                continue
            pos += len(chunk)
            n = chunk.count(b"reads/s")
            if n:
                now = time.monotonic()
                if last is not None:
                    gap = now - last
                    self.worst_s = max(self.worst_s, gap)
                    if gap > self.limit_s:
                        self.stalls += 1
                last = now


def _judge(res: SoakResult, codes: dict[str, Any]) -> None:
    s = res.samples
    if len(s) < 6:
        res.checks.append(("samples", str(len(s)), False))
        return
    n = len(s)
    a, b = s[n // 5: 2 * n // 5], s[-(n // 5):]

    def mean(xs: list[float]) -> float:
        return sum(xs) / max(1, len(xs))

    for name in s[0]["rss_kb"]:
        m0 = mean([x["rss_kb"].get(name) or 0 for x in a])
        m1 = mean([x["rss_kb"].get(name) or 0 for x in b])
        growth = (m1 - m0) / m0 * 100 if m0 else 0.0
        res.checks.append((f"memory growth {name}", f"{m0 / 1024:.0f} → {m1 / 1024:.0f} MB ({growth:+.1f}%)",
                           growth <= 10.0))
    third = max(1, n // 3)
    lag0 = mean([x["sync_lag_s"] for x in s[:third]])
    lag1 = mean([x["sync_lag_s"] for x in s[-third:]])
    res.checks.append(("sync lag (s, first third → last third)", f"{lag0:.2f} → {lag1:.2f}",
                       lag1 <= lag0 * 1.25 + 1.0))
    st0 = s[third - 1]["stalls"]
    st1 = s[-1]["stalls"] - s[-third]["stalls"]
    res.checks.append(("stalls of the station loop (first third → last third)", f"{st0} → {st1}",
                       st1 <= st0 + 1))
    j0 = mean([x["journal_lag_s"] for x in s[:third]])
    j1 = mean([x["journal_lag_s"] for x in s[-third:]])
    res.checks.append(("journal lag (s, first third → last third)", f"{j0:.2f} → {j1:.2f}", j1 <= j0 * 1.25 + 1.0))
    res.checks.append(("reads sent → journaled → on ledger", f"{res.sent} → {res.journaled} → {res.on_ledger}",
                       res.sent == res.journaled == res.on_ledger))
    bad = {k: v for k, v in codes.items() if v not in (0, None)}
    res.checks.append(("clean shutdown", "all 0" if not bad else json.dumps(bad), True))


def _count_journaled(db_path: Path) -> int:
    """Reads journaled by the station (a read-only look at its file; packed rows count `n` reads)."""
    con = sqlite3.connect(f"file:{db_path.as_posix()}?mode=ro", uri=True, timeout=30)
    try:
        return con.execute("SELECT COALESCE(SUM(n), 0) FROM entries WHERE kind='read'").fetchone()[0]
    finally:
        con.close()


def _count_ledger(client: httpx.Client, event_id: str, ledger_reads: int, cursor: Any) -> tuple[int, Any]:
    """Reads on the ledger so far, pulled incrementally from `cursor`."""
    try:
        while True:
            r = client.get(f"/v1/events/{event_id}/entries", params={"cursor": cursor, "limit": 5000})
            doc = r.json()
            ledger_reads += sum(1 for e in doc["entries"] if e["kind"] == "read")
            cursor = doc["cursor"]
            if not doc.get("more"):
                break
    except httpx.HTTPError:
        pass
    return ledger_reads, cursor
