"""The demo: a generated race with simulated readers and check-ins, so anyone can see the station work.

Why it goes through the real paths: the simulated mats render Ultra wire lines (`drivers.simulated`)
and feed them into `station.timing.ingest` sessions exactly as a serial port would, and simulated desks scan
signed tickets through `CheckinDesk`. What the demo shows is therefore what a race day shows —
reader lights, reads/s, a cable pulled out and plugged back in, unknown chips, "already" verdicts from
another desk.

Time: by default the race plays on the station's wall clock (`speed` 1) and started some minutes before
the demo (`make_plan(now - elapsed)`), so finishers arrive at once and the readers' clocks agree with
the station's (offsets near 0 ms). Reads that "happened" before the demo started, or while a cable was
out, reach the station as the reader's stored reads (Ultra rewind lines), as they would on a race day;
they do not count toward the measured clock offset. With `speed` above 1 the simulated readers' clocks
really do run fast, and the readers table shows that drift truthfully.
"""

from __future__ import annotations

import datetime as dt
import logging
import random
import threading
import time
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from drivers import ultra
from drivers.simulated import SimPoint, SimulatedRace
from station.checkin.desk import CheckinDesk
from station.checkin.tickets import TicketSigner, generate_private_key, public_key_b64, ticket_claims
from station.event import commands as setup_commands
from station.event.config import EventConfig, normalize
from station.timing.bindings import ReaderBinding
from station.timing.commands import TimingCommands
from station.timing.ingest import Ingest
from station.timing.live import Session

log = logging.getLogger(__name__)

TZ = "Asia/Shanghai"
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = ["伟", "芳", "娜", "秀英", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟", "涛", "明",
         "超", "秀兰", "霞", "平", "刚", "桂英", "晨", "子涵", "浩然", "欣怡", "宇轩"]
LATIN = ["Anna Schmidt", "Tom Baker", "Lucas Martin", "Emma Rossi", "Kenji Sato", "Mia Jensen", "Noah Kim",
         "Olivia Brown", "Liam Dubois", "Sofia Garcia", "Ethan Wong", "Chloe Nguyen", "Ravi Patel"]
CLUBS = ["", "", "上海跑团", "浦东跑者", "Expat Runners", "复旦大学田径队", ""]


@dataclass
class DemoPlan:
    """What the demo generated (the app and the tests use it)."""

    payload: dict[str, Any]
    participants: list[dict[str, Any]]
    start_ms: int  # simulated time zero (UTC ms) = wall clock when the demo started
    speed: float
    signer: TicketSigner
    waves: dict[tuple[str, str], int]  # (race, wave) → gun UTC ms (simulated time)


def _local(ms: int, zone: ZoneInfo) -> dt.datetime:
    return dt.datetime.fromtimestamp(ms / 1000, zone)


def make_plan(now_ms: int, *, runners: int = 300, speed: float = 20.0, seed: int = 7,
              lead_s: float = 20.0) -> DemoPlan:
    """A small event: 10 km (waves A, B; start, km 5, finish) and 5 km (wave A), today in Shanghai."""
    zone = ZoneInfo(TZ)
    rnd = random.Random(seed)
    start = now_ms - now_ms % 1000
    g10a = start + int(lead_s * speed * 1000)
    g10a -= g10a % 1000
    g5a = g10a + 120_000
    g10b = g10a + 300_000

    def hms(ms: int) -> str:
        return _local(ms, zone).strftime("%H:%M:%S")

    key = generate_private_key()
    data = {
        "event": {"id": "wo-run-demo", "name": "WO.RUN 演示赛 Demo Race", "date": _local(g10a, zone).date().isoformat(),
                  "timezone": TZ, "points_per_km": 10},
        "races": [
            {"id": "10k", "name": "10 公里 10 km", "distance_m": 10000, "ranking": "chip",
             "waves": [{"id": "A", "start": hms(g10a)}, {"id": "B", "start": hms(g10b)}]},
            {"id": "5k", "name": "5 公里 5 km", "distance_m": 5000, "ranking": "chip",
             "waves": [{"id": "A", "start": hms(g5a)}]},
        ],
        "timing_points": [
            {"id": "start", "kind": "start", "distance_m": 0},
            {"id": "km5", "kind": "split", "distance_m": 5000, "races": ["10k"]},
            {"id": "finish", "kind": "finish", "distance_m": 10000},
        ],
        "checkin": {"public_keys": {"demo": public_key_b64(key)},
                    "walkup_bibs": {"desk-1": "9001-9100", "desk-2": "9101-9200"}},
    }
    payload = normalize(data, "demo")
    people = []
    for i in range(runners):
        race, wave = ("10k", "A") if i < runners * 0.4 else (("10k", "B") if i < runners * 0.6 else ("5k", "A"))
        bib = str(1001 + i) if race == "10k" else str(5001 + i)
        name = (rnd.choice(SURNAMES) + rnd.choice(GIVEN)) if rnd.random() < 0.8 else rnd.choice(LATIN)
        year = rnd.randint(1955, 2008)
        people.append({
            "registration_id": f"R{i + 1:05d}", "bib": bib, "name": name, "gender": rnd.choice("MMF"),
            "birth_date": f"{year}-{rnd.randint(1, 12):02d}-{rnd.randint(1, 28):02d}", "race": race,
            "wave": wave, "chips": [f"7{int(bib):06d}"], "club": rnd.choice(CLUBS),
            "phone": f"138{rnd.randint(10_000_000, 99_999_999)}",
        })
    return DemoPlan(payload, people, start, speed, TicketSigner(key, "demo"),
                    {("10k", "A"): g10a, ("10k", "B"): g10b, ("5k", "A"): g5a})


def ticket(plan: DemoPlan, p: dict[str, Any], now_ms: int) -> str:
    """A signed QR ticket for a demo participant."""
    iat = now_ms // 1000 - 86_400
    return plan.signer.sign(ticket_claims(plan.payload["event"]["id"], p, iat=iat, exp=iat + 7 * 86_400))


class SimReader:
    """A simulated Ultra on a mat: lines go through a real `Session`/`Ingest`, like a serial port."""

    def __init__(self, store: Any, rid: str, point: str, zone: str, date: str) -> None:
        self.binding = ReaderBinding(id=rid, point=point, format="ultra", port=f"sim://{rid}")
        self.ingest = Ingest(store, self.binding, live=True, event_zone=zone, event_date=date, operator="demo")
        self.session = Session(self.ingest, f"sim://{rid}")
        self.ingest.set_connected(True)
        self.held: list[str] = []  # lines "read while the cable was out", sent on reconnect (as rewind)

    def status(self) -> Any:
        self.ingest.check_heartbeat()
        return self.ingest.status()

    def feed(self, lines: list[str]) -> None:
        if not self.ingest.connected:
            self.held += lines
            return
        self._send(lines)

    def _send(self, lines: list[str]) -> None:
        data = b"".join(s.encode() + b"\r\n" for s in lines)
        self.session.on_data(data, int(time.time() * 1000))

    def unplug(self) -> None:
        self.ingest.set_connected(False, "cable unplugged (simulated)")

    def plug(self) -> None:
        self.ingest.set_connected(True)
        held, self.held = self.held, []
        # the reader's stored reads are replayed on reconnect, flagged as rewind (Ultra field 7)
        self._send([as_rewind(s) for s in held])

    def stop(self) -> None:
        rest = self.session.framer.flush()
        if rest:
            self.ingest.process(rest, int(time.time() * 1000), self.session.port, self.session.protocol, None)
        self.ingest.store.flush()


def as_rewind(line: str) -> str:
    """An Ultra read line as its rewind replay (is_rewind = 1); other lines unchanged."""
    f = line.split(",")
    if len(f) == 12 and f[0] == "0":
        f[6] = "1"
        return ",".join(f)
    return line


class DemoRun:
    """Loads the plan into the store, then plays reads and check-ins on a background thread."""

    def __init__(self, store: Any, plan: DemoPlan, *, checkins: bool = True, unplug_at_s: float = 45.0,
                 unplug_for_s: float = 20.0) -> None:
        self.store = store
        self.plan = plan
        self.stop_event = threading.Event()
        self.checkins = checkins
        self.unplug_at_s = unplug_at_s
        self.unplug_for_s = unplug_for_s
        self.readers: dict[str, SimReader] = {}
        self._thread: threading.Thread | None = None
        self._lines: list[tuple[int, str, str]] = []  # (sim UTC ms, reader id, line)

    def load(self) -> None:
        st = self.store
        ev = self.plan.payload["event"]
        if not any(True for _ in st.iter_rows(kinds=["event_config"])):
            setup_commands.store_event(st, self.plan.payload, "demo")
            setup_commands.add_participants(st, self.plan.participants, "demo", timeout=60)
        for rid, point in (("start-1", "start"), ("km5-1", "km5"), ("finish-1", "finish")):
            self.readers[rid] = SimReader(st, rid, point, ev["timezone"], ev["date"])
        self._build_lines()

    def _build_lines(self) -> None:
        by_wave: dict[tuple[str, str], dict[str, list[str]]] = {}
        for p in self.plan.participants:
            by_wave.setdefault((p["race"], p["wave"]), {})[p["registration_id"]] = p["chips"]
        log_ids = {"start": 0, "km5": 0, "finish": 0}
        rid_of = {"start": "start-1", "km5": "km5-1", "finish": "finish-1"}
        for n, ((race, _wave), people) in enumerate(sorted(by_wave.items())):
            pts = [SimPoint("start", 0, "start")]
            if race == "10k":
                pts += [SimPoint("km5", 5000, "split"), SimPoint("finish", 10000, "finish")]
            else:
                pts += [SimPoint("finish", 5000, "finish")]
            sim = SimulatedRace(people, self.plan.waves[(race, _wave)], pts, seed=11 + n, zone=TZ,
                                stray_reads=2)
            for r in sim.reads:
                log_ids[r.point] += 1
                line = ultra.format_read(r.chip, sim.wall_ms(r.utc_ms), ant=r.ant, rssi=r.rssi,
                                         log_id=log_ids[r.point])
                self._lines.append((r.utc_ms, rid_of[r.point], line))
        self._lines.sort()

    def sim_now(self) -> int:
        return self.plan.start_ms + int((time.time() * 1000 - self.plan.start_ms) * self.plan.speed)

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="demo", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self.stop_event.set()
        if self._thread is not None:
            self._thread.join(5)
        for r in self.readers.values():
            r.stop()

    def _run(self) -> None:
        try:
            self._play()
        except Exception:
            log.exception("demo simulation stopped")

    def _play(self) -> None:
        i = 0
        t0 = time.monotonic()
        last_hb = 0.0
        last_scan = 0.0
        unplugged = False
        desk = CheckinDesk(self.store, "desk-2", "demo") if self.checkins else None
        rnd = random.Random(3)
        scanned: list[dict[str, Any]] = []
        guns_done: set[tuple[str, str]] = set()
        cfg = EventConfig.from_payload(self.plan.payload)
        timy = TimingCommands(self.store, "demo (Timy)", lambda: cfg, lambda: None, self.sim_now)
        first = True
        while first or not self.stop_event.wait(0.05):
            el = time.monotonic() - t0
            now = self.sim_now()
            batch: dict[str, list[str]] = {}
            while i < len(self._lines) and self._lines[i][0] <= now:
                line = self._lines[i][2]
                # before the demo started: the reader's memory, fetched as rewind when the station connects
                batch.setdefault(self._lines[i][1], []).append(as_rewind(line) if first else line)
                i += 1
            first = False
            for rid, lines in batch.items():
                self.readers[rid].feed(lines)
            if el - last_hb >= 3:
                last_hb = el
                for r in self.readers.values():
                    r.feed(["V=12.6"])
            km5 = self.readers["km5-1"]
            if not unplugged and self.unplug_at_s <= el < self.unplug_at_s + self.unplug_for_s:
                km5.unplug()
                unplugged = True
            elif unplugged and el >= self.unplug_at_s + self.unplug_for_s:
                km5.plug()
                unplugged = False
            for (race, wave), g in self.plan.waves.items():
                if (race, wave) not in guns_done and now >= g:
                    guns_done.add((race, wave))
                    timy.gun(wave, race, g)
            if desk is not None and el - last_scan >= 2.5:
                last_scan = el
                if scanned and rnd.random() < 0.15:
                    p = rnd.choice(scanned)  # a runner who comes back: "already"
                else:
                    p = rnd.choice(self.plan.participants)
                    scanned.append(p)
                code = "not-a-ticket" if rnd.random() < 0.05 else ticket(self.plan, p, int(time.time() * 1000))
                try:
                    desk.scan(code)
                except Exception:
                    log.exception("demo check-in failed")
        if desk is not None:
            desk.state.close()
