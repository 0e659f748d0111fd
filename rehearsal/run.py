"""The race-day rehearsal: the whole system end to end, under faults, as one repeatable run.

1. Generate the day (`scenario`): event, participants, reader captures with ground truth; the organizer's
   signing key (`tickets keygen`), signed QR tickets (`tickets issue`) tiled into sheets of photos.
2. Start the ledger (`ledger serve`, PostgreSQL unless --sqlite) behind the fault proxy, and three stations,
   each a data folder and real `worun-station` processes: the check-in desk (`sync`), the km-5 split
   (`reads listen` RACE RESULT on a pty, `sync`), the finish (`reads listen` Ultra on a pty and MYLAPS
   decoder on TCP for the start mat, `sync` with a publishing token).
3. Run the race: simulated readers write their wire formats paced at baud rate into socat ptys and the
   MYLAPS decoder connects over TCP; the desk checks runners in from the QR sheets (`checkin --image`).
   Faults on a schedule: garbage bursts on both serial lines, the network to the ledger cut (the proxy
   resets every connection), responses lost after commit, the km-5 serial cable pulled and re-plugged,
   the finish station SIGKILLed and restarted (the timer presses rewind on its Ultra), the ledger
   restarted.
4. Close the race, wait until every station and the ledger converge, and compare everything with the
   ground truth and with the expected results computed independently (`expected`) — `verdict`.
"""

from __future__ import annotations

import csv
import json
import sqlite3
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from rehearsal import expected as expected_mod
from rehearsal import scenario as sc_mod
from rehearsal.mylapssim import MylapsDecoderSim
from rehearsal.procs import MemorySampler, Postgres, Proc, free_port, run_cli, wait_port
from rehearsal.proxy import FaultProxy
from rehearsal.serialsim import (
    PtyPair,
    RaceClock,
    SerialReaderSim,
    TcpSerialPair,
    items_for,
    platform_note,
    socat_available,
)
from rehearsal.verdict import Verdict
from station import paths
from station.errors import UserError
from station.log.store import read_payloads

STATIONS = ("desk", "km5", "finish")
READERS = {  # reader id → (station, point, format)
    "start-mylaps": ("finish", "start", "mylaps"),
    "km5-raceresult": ("km5", "km5", "raceresult"),
    "finish-ultra": ("finish", "finish", "ultra"),
}
BAUD = {"km5-raceresult": 38400, "finish-ultra": 115200}


@dataclass
class Options:
    runners: int = 1000
    seed: int = 1
    faults: bool = True
    sqlite: bool = False
    out: Path = Path("rehearsal")
    race_seconds: float = 240.0  # the race's ~85 minutes, compressed
    cut_s: float = 120.0  # network to the ledger cut
    lose_s: float = 30.0  # responses lost after commit
    pull_s: float = 8.0  # serial cable out
    down_s: float = 8.0  # finish station dead
    ledger_down_s: float = 3.0
    converge_timeout_s: float = 600.0
    per_sheet: int = 12
    quiet: bool = False

    @classmethod
    def reduced(cls, out: Path, **kw: Any) -> Options:
        """The CI rehearsal: small, fast, every fault still there (the cut long enough for backoff)."""
        base = dict(runners=120, race_seconds=70.0, cut_s=12.0, lose_s=6.0, pull_s=3.0, down_s=3.0,
                    ledger_down_s=2.0, converge_timeout_s=240.0)
        base.update(kw)
        return cls(out=out, **base)


@dataclass
class Fault:
    name: str
    start: float
    end: float = 0.0
    detail: str = ""


@dataclass
class State:
    faults: list[Fault] = field(default_factory=list)
    checkin_verdicts: Counter[str] = field(default_factory=Counter)
    checkin_errors: list[str] = field(default_factory=list)
    events: list[str] = field(default_factory=list)


class Rehearsal:
    def __init__(self, opts: Options) -> None:
        self.o = opts
        self.out = opts.out.resolve()
        self.state = State()
        self.procs: dict[str, Proc] = {}
        self.sampler: MemorySampler | None = None
        self.pg: Postgres | None = None
        self.proxy: FaultProxy | None = None
        self.pairs: dict[str, PtyPair | TcpSerialPair] = {}
        self.readers: dict[str, Any] = {}
        self.tokens: dict[str, str] = {}
        self.station_ids: dict[str, str] = {}
        self.t0 = time.monotonic()
        self._stop = threading.Event()

    # ------------------------------------------------------------------ helpers
    def say(self, msg: str) -> None:
        line = f"[{time.monotonic() - self.t0:7.1f}s] {msg}"
        self.state.events.append(line)
        if not self.o.quiet:
            print(line, file=sys.stderr, flush=True)

    def data(self, station: str) -> Path:
        return self.out / "stations" / station

    def cli(self, station: str | None, *args: str, **kw: Any) -> Any:
        pre = ["--data", str(self.data(station))] if station else []
        return run_cli(*pre, *args, log=self.out / "logs" / "commands.log", **kw)

    def proc(self, name: str, station: str | None, *args: str) -> Proc:
        pre = ["--data", str(self.data(station))] if station else []
        p = Proc(name, [*pre, *args], self.out / "logs")
        self.procs[name] = p
        return p

    # ------------------------------------------------------------------ 1. the day
    def prepare(self) -> None:
        for d in ("scenario", "logs", "tty", *(f"stations/{s}" for s in STATIONS)):
            (self.out / d).mkdir(parents=True, exist_ok=True)
        o = self.o
        self.sc = sc_mod.generate(o.runners, o.seed)
        scd = self.out / "scenario"
        key = scd / "ticket-key-k1.pem"
        kg = run_cli("tickets", "keygen", "--kid", "k1", "--out", str(key), "--force")
        kid, _, val = kg.stdout.splitlines()[0].partition(" = ")
        pub = {kid.strip(): val.strip().strip('"')}
        self.event_file = scd / "event.toml"
        self.event_file.write_text(sc_mod.event_toml(self.sc, pub), encoding="utf-8")
        self.participants_file = sc_mod.write_participants(self.sc, scd / "participants.csv")
        sc_mod.write_truth(self.sc, scd / "truth.csv")
        self.expected = expected_mod.compute(self.sc)
        with (scd / "expected.csv").open("w", encoding="utf-8", newline="") as f:
            w = csv.DictWriter(f, fieldnames=list(next(iter(self.expected.rows.values())).keys()),
                               lineterminator="\n")
            w.writeheader()
            w.writerows(self.expected.rows.values())
        self.say(f"scenario: {o.runners} runners, seed {o.seed}, event {self.sc.event_id} on {self.sc.date}; "
                 f"{len(self.sc.race.reads)} reads on the mats; "
                 f"{len(self.expected.finished())} expected finishers")

        # the ledger's database
        if o.sqlite:
            self.db_url = f"sqlite:///{(self.out / 'ledger.sqlite3').as_posix()}"
            self.say("ledger database: SQLite (--sqlite)")
        else:
            self.pg = Postgres(self.out)
            self.db_url = self.pg.start()
            self.say(f"ledger database: PostgreSQL ({self.pg.origin})")
        self.cli(None, "ledger", "event", "add", "--db", self.db_url, str(self.event_file))

        # stations: every laptop loads the event file; the desk holds the participant list and tickets
        for s in STATIONS:
            self.cli(s, "event", "load", str(self.event_file))
            info = self.cli(s, "info").stdout
            self.station_ids[s] = next(line.split(":", 1)[1].strip() for line in info.splitlines()
                                       if line.startswith("station_id:"))
            args = ["ledger", "token", "add", "--db", self.db_url, "--event", self.sc.event_id,
                    "--station", self.station_ids[s]]
            if s == "finish":
                args.append("--publish")
            self.tokens[s] = self.cli(None, *args).stdout.strip().splitlines()[-1]
        self.cli("desk", "participants", "import", str(self.participants_file))
        tdir = scd / "tickets"
        self.cli("desk", "tickets", "issue", "--key", str(key), "--out", str(tdir))
        forged = self._forged_ticket(scd)
        starters = self.sc.starters()
        self.sheets = sc_mod.compose_ticket_sheets(tdir, scd / "sheets", starters, per_sheet=o.per_sheet,
                                                   extra=[forged], repeat=starters[0] if starters else None)
        self.expected_checkins = {"ok": len(starters), "already": 1 if starters else 0, "invalid": 1}
        self.say(f"stations {', '.join(f'{k}={v}' for k, v in self.station_ids.items())}; "
                 f"{len(self.sheets)} ticket sheets for {len(starters)} starters (+1 repeat, +1 forged)")

    def _forged_ticket(self, scd: Path) -> Path:
        """A ticket signed with a key the event does not know, claiming key id k1: must be refused."""
        from station.checkin import tickets

        p = self.sc.participants[-1]
        key = tickets.generate_private_key()
        now = int(time.time())
        token = tickets.TicketSigner(key, "k1").sign(
            tickets.ticket_claims(self.sc.event_id, p, iat=now, exp=now + 7 * 86400))
        return tickets.render_qr_png(token, scd / "forged.png")

    # ------------------------------------------------------------------ 2. processes
    def start(self) -> None:
        self.ledger_port = free_port()
        self.proc("ledger", None, "ledger", "serve", "--db", self.db_url, "--host", "127.0.0.1",
                  "--port", str(self.ledger_port)).start()
        wait_port(self.ledger_port, 60, self.procs["ledger"])
        self.proxy = FaultProxy(("127.0.0.1", self.ledger_port)).start()
        self.ledger_direct = f"http://127.0.0.1:{self.ledger_port}"
        # the desk pushes the participant list; the timing stations pull it before the race
        for s in STATIONS:
            self.cli(s, "sync", "--ledger", self.proxy.url, "--token", self.tokens[s], "--once", "--wait", "60")
        self.say(f"ledger on :{self.ledger_port} behind the fault proxy {self.proxy.url}; stations in sync")

        use_pty = socat_available()
        note = platform_note()
        if note:
            self.say(f"note: {note}")
        for rid in ("km5-raceresult", "finish-ultra"):
            pair: PtyPair | TcpSerialPair = PtyPair(self.out / "tty", rid) if use_pty else \
                TcpSerialPair(self.out / "tty", rid)
            pair.plug()
            self.pairs[rid] = pair
        self.mylaps_port = free_port()
        self._listener("km5-raceresult")
        self._listener("finish-ultra")
        self._listener("start-mylaps")
        for s in STATIONS:
            self.proc(f"sync-{s}", s, "sync", "--ledger", self.proxy.url, "--token", self.tokens[s]).start()
        self.sampler = MemorySampler(list(self.procs.values()))
        self.sampler.start()
        wait_port(self.mylaps_port, 60, self.procs["start-mylaps"])
        for rid in ("km5-raceresult", "finish-ultra"):
            self._wait_log(self.procs[rid], "listening:", 60)

    def _listener(self, rid: str) -> Proc:
        station, point, fmt = READERS[rid]
        if fmt == "mylaps":
            where = ["--listen", f"127.0.0.1:{self.mylaps_port}"]
        else:
            where = ["--port", self.pairs[rid].station_url, "--baud", str(BAUD[rid])]
        p = self.procs.get(rid) or self.proc(rid, station, "reads", "listen", "--point", point, "--format", fmt,
                                             "--reader", rid, *where)
        return p.start()

    def _wait_log(self, p: Proc, needle: str, timeout: float, after: int = 0) -> None:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            try:
                text = p.log.read_text(encoding="utf-8", errors="replace")[after:]
            except OSError:
                text = ""
            if needle in text:
                return
            if not p.alive():
                raise UserError(f"{p.name} exited:\n{p.tail()}")
            time.sleep(0.1)
        raise UserError(f"{p.name}: no {needle!r} after {timeout:.0f} s:\n{p.tail()}")

    # ------------------------------------------------------------------ 3. the race
    def race(self) -> None:
        o = self.o
        race = self.sc.race
        items = {rid: items_for(race, READERS[rid][1]) for rid in READERS}
        first = min(it[0].due_ms for it in items.values() if it)
        last = max(it[-1].due_ms for it in items.values() if it)
        speed = max(1.0, (last - first) / 1000 / o.race_seconds)
        self.clock = clock = RaceClock(first - 500, speed, time.monotonic() + 1.0)
        self.race_real_s = (last - first) / 1000 / speed
        self.say(f"race: {len(race.reads)} reads over {(last - first) / 60000:.0f} race minutes, "
                 f"played {speed:.1f}x in {self.race_real_s:.0f} s")
        for rid in ("km5-raceresult", "finish-ultra"):
            r = SerialReaderSim(rid, READERS[rid][2], self.pairs[rid], BAUD[rid], items[rid], clock,
                                race.wall_ms, seed=o.seed)
            self.readers[rid] = r
            r.start()
        self.readers["start-mylaps"] = m = MylapsDecoderSim("Start Mat", "127.0.0.1", self.mylaps_port,
                                                            items["start-mylaps"], clock)
        m.start()
        threads = [threading.Thread(target=self._checkins, name="checkins", daemon=True)]
        if o.faults:
            threads.append(threading.Thread(target=self._faults, name="faults", daemon=True))
        for t in threads:
            t.start()
        deadline = time.monotonic() + self.race_real_s + 600
        while time.monotonic() < deadline:
            if all(r.done for r in self.readers.values()) and not any(t.is_alive() for t in threads):
                break
            time.sleep(0.5)
        else:
            pending = {k: (r.happened, len(r.items)) for k, r in self.readers.items() if not r.done}
            raise UserError(f"the race did not finish feeding: {pending}")
        time.sleep(1.0)  # the last lines reach the listeners
        self.cli("finish", "correct", "close", "--race", sc_mod.RACE_ID)
        self.t_inputs_done = time.monotonic()
        self.say("all reads sent, check-ins done, faults over; race closed at the finish")

    def _checkins(self) -> None:
        for sheet in self.sheets:
            cp = self.cli("desk", "checkin", "--image", str(sheet), "--json", check=False, timeout=120)
            if cp.returncode not in (0, 1):
                self.state.checkin_errors.append(f"{sheet.name}: exit {cp.returncode}: {cp.stderr.strip()[-300:]}")
            for line in cp.stdout.splitlines():
                try:
                    self.state.checkin_verdicts[json.loads(line)["verdict"]] += 1
                except (ValueError, KeyError, TypeError):
                    self.state.checkin_errors.append(f"{sheet.name}: {line[:200]}")
        self.say(f"check-in desk: {dict(self.state.checkin_verdicts)} from {len(self.sheets)} sheets")

    def _at(self, frac_or_s: float, *, seconds: bool = False) -> None:
        due = self.clock.t0 + (frac_or_s if seconds else frac_or_s * self.race_real_s)
        while time.monotonic() < due and not self._stop.is_set():
            time.sleep(min(0.2, max(0.0, due - time.monotonic())))

    def _fault(self, name: str, detail: str = "") -> Fault:
        f = Fault(name, time.monotonic(), detail=detail)
        self.state.faults.append(f)
        self.say(f"FAULT {name} {detail}".rstrip())
        return f

    def _faults(self) -> None:
        plan: list[tuple[float, Any]] = [
            (0.10, lambda: self._garbage("km5-raceresult")),
            (0.15, self._net_cut),
            (0.33, self._cable_pull),
            (0.45, lambda: self._garbage("finish-ultra")),
            (0.62, self._kill_finish),
            (0.78, self._ledger_restart),
            (0.88, lambda: self._garbage("km5-raceresult")),
        ]
        workers = []
        for frac, action in plan:
            self._at(frac)
            t = threading.Thread(target=self._guard, args=(action,), daemon=True)
            t.start()
            workers.append(t)
        for t in workers:
            t.join()

    def _guard(self, action: Any) -> None:
        try:
            action()
        except Exception as e:  # a fault that could not be injected is a failed rehearsal, not a crash
            self.state.faults.append(Fault(f"error: {e}", time.monotonic(), time.monotonic()))
            self.say(f"fault injection failed: {type(e).__name__}: {e}")

    def _garbage(self, rid: str) -> None:
        f = self._fault("garbage burst", f"on {rid}'s serial line (3 bursts of line noise)")
        for n in (40, 200, 90):
            self.readers[rid].inject_garbage(n)
            time.sleep(0.3)
        f.end = time.monotonic()

    def _net_cut(self) -> None:
        assert self.proxy is not None
        f = self._fault("network cut", f"to the ledger for {self.o.cut_s:.0f} s")
        self.proxy.set_mode("cut")
        time.sleep(self.o.cut_s)
        self.proxy.set_mode("pass")
        f.end = time.monotonic()
        f.detail += f"; {self.proxy.stats.refused_while_cut} connection attempts reset"
        time.sleep(1.0)
        g = self._fault("responses lost", f"after commit for {self.o.lose_s:.0f} s")
        self.proxy.set_mode("lose")
        time.sleep(self.o.lose_s)
        self.proxy.set_mode("pass")
        g.end = time.monotonic()
        g.detail += f"; {self.proxy.stats.responses_lost} responses dropped"

    def _cable_pull(self) -> None:
        rid = "km5-raceresult"
        f = self._fault("cable pulled", f"{rid} for {self.o.pull_s:.0f} s")
        self.pairs[rid].pull()
        time.sleep(self.o.pull_s)
        self.pairs[rid].plug()
        f.end = time.monotonic()
        self.say(f"cable re-plugged: {rid}")

    def _kill_finish(self) -> None:
        names = ["finish-ultra", "start-mylaps", "sync-finish"]
        f = self._fault("SIGKILL", "finish station (Ultra + MYLAPS listeners, sync)")
        for n in names:
            self.procs[n].kill()
        time.sleep(self.o.down_s)
        offsets = {n: self.procs[n].log.stat().st_size for n in names}
        for n in names:
            self.procs[n].start()
        # Nobody touches the reader: the restarted station asks the Ultra to replay from the highest
        # log index it had stored (reads sent while it was dead come again; resends are stored once).
        self._wait_log(self.procs["finish-ultra"], "] connected", 60, offsets["finish-ultra"])
        f.end = time.monotonic()
        f.detail += f"; restarted after {self.o.down_s:.0f} s; the station asked the Ultra to replay"
        self.say("finish station back; it asks the Ultra to replay what it missed")

    def _ledger_restart(self) -> None:
        f = self._fault("ledger restart", f"SIGTERM, down {self.o.ledger_down_s:.0f} s, start again")
        p = self.procs["ledger"]
        rc = p.stop()
        time.sleep(self.o.ledger_down_s)
        p.start()
        wait_port(self.ledger_port, 60, p)
        f.end = time.monotonic()
        f.detail += f"; exit {rc}"

    # ------------------------------------------------------------------ 4. convergence and verdict
    def station_counts(self, s: str) -> dict[str, Any]:
        db = self.data(s) / paths.DB_FILENAME
        con = sqlite3.connect(f"file:{db.as_posix()}?mode=ro", uri=True, timeout=30)
        try:
            # reads are stored in packed rows: count them through the store's own reader
            reads: dict[str, int] = {}
            for p in read_payloads(db, "read"):
                reads[p.get("reader")] = reads.get(p.get("reader"), 0) + 1
            kinds = dict(con.execute("SELECT kind, SUM(n) FROM entries GROUP BY kind").fetchall())
            per_station = dict(con.execute("SELECT station_id, SUM(n) FROM entries GROUP BY 1").fetchall())
            checkins = con.execute("SELECT count(DISTINCT json_extract(payload, '$.registration_id')) FROM entries "
                                   "WHERE kind = 'checkin'").fetchone()[0]
            refused = dict(con.execute("SELECT json_extract(payload, '$.verdict'), count(*) FROM entries "
                                       "WHERE kind = 'checkin_refused' GROUP BY 1").fetchall())
            unparsed = dict(con.execute("SELECT json_extract(payload, '$.reader'), count(*) FROM entries "
                                        "WHERE kind = 'unparsed' GROUP BY 1").fetchall())
        finally:
            con.close()
        return {"reads": reads, "kinds": kinds, "streams": per_station, "checkins": checkins,
                "refused": refused, "unparsed": unparsed, "entries": sum(kinds.values())}

    def _http(self) -> httpx.Client:
        return httpx.Client(base_url=self.ledger_direct, timeout=30,
                            headers={"Authorization": f"Bearer {self.tokens['desk']}"})

    def ledger_counts(self) -> dict[str, Any]:
        reads: Counter[str] = Counter()
        kinds: Counter[str] = Counter()
        streams: Counter[str] = Counter()
        checkins: set[str] = set()
        refused: Counter[str] = Counter()
        cursor = ""
        with self._http() as c:
            while True:
                r = c.get(f"/v1/events/{self.sc.event_id}/entries", params={"cursor": cursor, "limit": 5000})
                r.raise_for_status()
                doc = r.json()
                for e in doc["entries"]:
                    k = e["kind"]
                    kinds[k] += 1
                    streams[e["station_id"]] += 1
                    p = e["payload"] if isinstance(e["payload"], dict) else json.loads(e["payload"])
                    if k == "read":
                        reads[str(p.get("reader"))] += 1
                    elif k == "checkin":
                        checkins.add(str(p.get("registration_id")))
                    elif k == "checkin_refused":
                        refused[str(p.get("verdict"))] += 1
                cursor = doc["cursor"]
                if not doc.get("more"):
                    break
        return {"reads": dict(reads), "kinds": dict(kinds), "streams": dict(streams), "checkins": len(checkins),
                "refused": dict(refused), "entries": sum(kinds.values())}

    def station_results(self, s: str) -> list[dict[str, Any]]:
        cp = self.cli(s, "results", "--format", "json", timeout=300)
        return json.loads(cp.stdout)["results"]

    def ledger_results(self) -> list[dict[str, Any]]:
        with self._http() as c:
            r = c.get(f"/v1/events/{self.sc.event_id}/results")
            r.raise_for_status()
            return r.json()["results"]

    def converge(self) -> dict[str, Any]:
        """Poll until every station holds every stream the ledger holds, all reads are in, and every
        station's results and the ledger's published results equal the expected ones."""
        sent = {rid: len(r.items) for rid, r in self.readers.items()}
        end = time.monotonic() + self.o.converge_timeout_s
        snap: dict[str, Any] = {}
        polls = 0
        while True:
            polls += 1
            try:
                snap = self._snapshot(sent)
            except (httpx.HTTPError, sqlite3.Error, UserError) as e:
                snap = {"ok": False, "why": f"{type(e).__name__}: {e}"}
            if snap.get("ok"):
                snap["converged_at"] = time.monotonic()
                return snap
            if time.monotonic() > end:
                snap["converged_at"] = None
                self.say(f"NOT converged after {self.o.converge_timeout_s:.0f} s: {snap.get('why')}")
                return snap
            if polls % 5 == 1:
                self.say(f"waiting to converge: {snap.get('why')}")
            time.sleep(2.0)

    def _snapshot(self, sent: dict[str, int]) -> dict[str, Any]:
        counts = {s: self.station_counts(s) for s in STATIONS}
        ledger = self.ledger_counts()
        snap: dict[str, Any] = {"stations": counts, "ledger": ledger, "ok": False}
        for rid, n in sent.items():
            owner = READERS[rid][0]
            got = counts[owner]["reads"].get(rid, 0)
            if got != n:
                snap["why"] = f"{rid}: {got}/{n} reads journaled at {owner}"
                return snap
        for s in STATIONS:
            if counts[s]["streams"] != ledger["streams"]:
                snap["why"] = f"{s} holds {counts[s]['entries']} entries, the ledger {ledger['entries']}"
                return snap
        own = {self.station_ids[s]: counts[s]["streams"].get(self.station_ids[s], 0) for s in STATIONS}
        if any(ledger["streams"].get(sid, 0) != n for sid, n in own.items()):
            snap["why"] = "the ledger misses entries of a station"
            return snap
        lres = self.ledger_results()
        ldiff = expected_mod.diff_ledger(self.expected, lres)
        if ldiff:
            snap["why"] = f"ledger results: {len(ldiff)} differences, e.g. {ldiff[0]}"
            return snap
        sres = {}
        for s in STATIONS:
            rows = self.station_results(s)
            d = expected_mod.diff_station(self.expected, rows)
            if d:
                snap["why"] = f"{s} results: {len(d)} differences, e.g. {d[0]}"
                return snap
            sres[s] = rows
        snap.update(ok=True, station_results=sres, ledger_results=lres)
        return snap

    def points(self) -> dict[str, Any]:
        """Points per runner on the ledger: exactly one live credit for each finisher, none otherwise."""
        per = self.sc.points_per_finish
        fin = self.expected.finished()
        good = wrong = credits = reversals = 0
        problems: list[str] = []
        with self._http() as c:
            for p in self.sc.participants:
                who = p["runner_id"] or p["registration_id"]
                # a runner without a runner id has an account per event: `?event=` (README, points accounts)
                r = c.get(f"/v1/runners/{who}/points",
                          params=None if p["runner_id"] else {"event": self.sc.event_id})
                lines = [ln for ln in (r.json().get("lines") or []) if ln.get("event") == self.sc.event_id] \
                    if r.status_code == 200 else []
                cr = sum(1 for ln in lines if ln.get("kind") == "credit")
                rv = sum(1 for ln in lines if ln.get("kind") == "reversal")
                credits += cr
                reversals += rv
                live = cr - rv
                total = sum(int(ln.get("points") or 0) * (1 if ln.get("kind") == "credit" else -1) for ln in lines)
                want_live, want_pts = (1, per) if p["registration_id"] in fin else (0, 0)
                if live == want_live and total == want_pts:
                    good += want_live
                else:
                    wrong += 1
                    if len(problems) < 5:
                        problems.append(f"{who}: {live} live credit(s), {total} points; expected {want_live}, {want_pts}")
        return {"expected": len(fin), "credited_once": good, "wrong": wrong, "credit_lines": credits,
                "reversal_lines": reversals, "points_each": per, "problems": problems}

    def stop_all(self) -> dict[str, int | None]:
        self._stop.set()
        for r in self.readers.values():
            r.stop()
        codes: dict[str, int | None] = {}
        order = [n for n in self.procs if n.startswith(("km5-", "finish-", "start-"))] + \
                [n for n in self.procs if n.startswith("sync-")] + ["ledger"]
        for n in order:
            if n in self.procs:
                codes[n] = self.procs[n].stop()
        if self.sampler is not None:
            self.sampler.stop_event.set()
        if self.proxy is not None:
            self.proxy.stop()
        for pair in self.pairs.values():
            pair.close()
        if self.pg is not None:
            self.pg.stop()
        return codes

    # ------------------------------------------------------------------ the whole day
    def run(self) -> Verdict:
        started = time.monotonic()
        try:
            self.prepare()
            self.start()
            self.race()
            last_fault = max((f.end for f in self.state.faults if f.end), default=self.t_inputs_done)
            snap = self.converge()
            pts = self.points() if snap.get("ok") else {"expected": len(self.expected.finished()),
                                                         "credited_once": None, "wrong": None, "problems": []}
        finally:
            codes = self.stop_all()
        v = Verdict.build(self, snap, pts, codes, last_fault, started)
        return v
