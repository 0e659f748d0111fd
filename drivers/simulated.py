"""A simulated race: reads as real mats would see them, in any of the five wire formats, with truth.

For the demo, the rehearsal and the tests: `SimulatedRace` draws a pace for every runner, places their
crossings of each timing point (the start mat with the corral's shuffle, splits, the finish), and turns
each crossing into 1–4 tag reads spread over the time a runner spends over the antennas, with RSSI
peaking in the middle. A few runners do not start or do not finish, a few reads are missed, a few
unknown chips wander over the mats. `truth` keeps what really happened, so a test can compare the
results engine with it.

`lines(fmt, point)` renders a point's reads in a real wire format (Ultra, RACE RESULT, MYLAPS, Ipico;
Timy gives the gun impulses), so a rehearsal can feed them into socat ptys or a TCP socket exactly as a
reader would; `play()` paces them in real time or faster.
"""

from __future__ import annotations

import datetime as dt
import random
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from drivers import ipico, mylaps, raceresult, timy, ultra
from drivers.records import TagRead


@dataclass(frozen=True)
class SimPoint:
    id: str
    distance_m: float
    kind: str = "finish"  # start | split | finish


@dataclass(frozen=True)
class SimRead:
    point: str
    chip: str
    utc_ms: int
    ant: int
    rssi: int
    truth: str | None  # registration id, None for a stray chip


@dataclass
class RunnerTruth:
    registration_id: str
    chips: list[str]
    pace_s_per_km: float
    crossings: dict[str, int] = field(default_factory=dict)  # point → UTC ms of the true crossing
    status: str = "finished"  # finished | DNF | DNS


class SimulatedRace:
    """`participants_chips`: registration id → chips (or a list of chips: ids are made up)."""

    def __init__(
        self,
        participants_chips: dict[str, list[str]] | Iterable[str],
        gun_ms: int,
        points: Iterable[SimPoint | tuple[str, float] | tuple[str, float, str]] = (
            SimPoint("start", 0, "start"), SimPoint("finish", 10_000, "finish")),
        seed: int = 1,
        speed: float = 1.0,
        *,
        zone: str = "UTC",
        dns_rate: float = 0.02,
        dnf_rate: float = 0.02,
        miss_rate: float = 0.01,
        stray_reads: int = 5,
        waves: dict[str, int] | None = None,
    ) -> None:
        if isinstance(participants_chips, dict):
            people = {k: list(v) for k, v in participants_chips.items()}
        else:
            people = {f"R{i + 1:05d}": [c] for i, c in enumerate(participants_chips)}
        self.points = [p if isinstance(p, SimPoint) else SimPoint(*p) for p in points]
        self.gun_ms = gun_ms
        self.speed = speed
        self.seed = seed
        self.zone = ZoneInfo(zone)
        self.waves = waves or {"A": gun_ms}
        rnd = random.Random(seed)
        self.truth: dict[str, RunnerTruth] = {}
        reads: list[SimRead] = []
        for i, (reg, chips) in enumerate(people.items()):
            pace = rnd.uniform(210, 480)  # 3:30 to 8:00 per km
            rt = RunnerTruth(reg, chips, pace)
            self.truth[reg] = rt
            if rnd.random() < dns_rate:
                rt.status = "DNS"
                continue
            corral = i / max(1, len(people)) * 90_000 + rnd.uniform(0, 5000)  # time to reach the mat
            stop_at = rnd.uniform(0.2, 0.9) if rnd.random() < dnf_rate else None
            if stop_at is not None:
                rt.status = "DNF"
            total = max((p.distance_m for p in self.points), default=0)
            for p in self.points:
                if stop_at is not None and p.distance_m > stop_at * total:
                    continue
                t = int(gun_ms + corral + p.distance_m / 1000 * pace * 1000 * rnd.uniform(0.97, 1.03))
                rt.crossings[p.id] = t
                if not chips:
                    continue
                n = rnd.randint(1, 4)
                for k in range(n):
                    if rnd.random() < miss_rate:
                        continue
                    off = int(k * rnd.uniform(150, 450))
                    rssi = -40 - abs(k - n // 2) * rnd.randint(3, 9) - rnd.randint(0, 5)
                    reads.append(SimRead(p.id, rnd.choice(chips), t + off, 1 + k % 4, rssi, reg))
        span = max((r.utc_ms for r in reads), default=gun_ms) - gun_ms
        for _ in range(stray_reads):
            p = rnd.choice(self.points)
            reads.append(SimRead(p.id, str(rnd.randint(900_000, 999_999)), gun_ms + rnd.randint(0, max(1, span)),
                                 1, -80, None))
        reads.sort(key=lambda r: (r.utc_ms, r.point, r.chip))
        self.reads = reads

    # ----------------------------------------------------------------- times
    def wall_ms(self, utc_ms: int) -> int:
        """UTC → the reader's wall clock (naive ms), as a reader set to the event's zone shows it."""
        d = dt.datetime.fromtimestamp(utc_ms / 1000, tz=self.zone)
        off = d.utcoffset() or dt.timedelta(0)
        return utc_ms + int(off.total_seconds() * 1000)

    def point_reads(self, point: str) -> list[SimRead]:
        return [r for r in self.reads if r.point == point]

    def records(self, point: str) -> list[TagRead]:
        """Reads as driver records (no wire format): for the demo's in-process readers."""
        return [TagRead(chip=r.chip, wall_ms=self.wall_ms(r.utc_ms), raw=f"sim,{r.point},{r.chip},{r.utc_ms}",
                        key=f"sim/{i}", ant=r.ant, rssi=r.rssi) for i, r in enumerate(self.point_reads(point))]

    # ----------------------------------------------------------------- wire formats
    def lines(self, fmt: str, point: str | None = None, *, channel_waves: dict[str, str] | None = None
              ) -> list[tuple[int, str]]:
        """(UTC ms when the reader sends it, line) in wire format `fmt` for one point's reads.

        Timy renders the wave guns instead (`channel_waves`: channel → wave, default C0 → the first).
        Ipico tags are 12 hex digits: decimal chips are written in hex (bind with chip_format hex).
        """
        if fmt == "timy":
            cw = channel_waves or {"C0": next(iter(self.waves))}
            out = []
            for n, (ch, wave) in enumerate(sorted(cw.items()), start=1):
                g = self.waves[wave.rpartition("/")[2]]
                out.append((g, timy.format_impulse(n, ch, self.wall_ms(g) % 86_400_000)))
            return out
        if point is None:
            raise ValueError("a point is required for a tag reader format")
        rs = self.point_reads(point)
        out = []
        for i, r in enumerate(rs):
            w = self.wall_ms(r.utc_ms)
            if fmt == "ultra":
                line = ultra.format_read(r.chip, w, ant=r.ant, rssi=r.rssi, log_id=i)
            elif fmt == "raceresult":
                line = raceresult.format_passing(i + 1, r.chip, w, rssi=r.rssi, ant=r.ant)
            elif fmt == "mylaps":
                line = mylaps.format_message(point, [mylaps.format_passing(r.chip, w)], i + 1)
            elif fmt == "ipico":
                tag = f"{int(r.chip):012x}" if r.chip.isdigit() else r.chip
                line = ipico.format_record(tag, w)
            else:
                raise ValueError(f"unknown format {fmt!r}")
            out.append((r.utc_ms + 20, line))
        return out

    def capture(self, fmt: str, point: str | None = None) -> bytes:
        """A whole capture file as the reader would have sent it."""
        end = "" if fmt == "mylaps" else ("\r" if fmt == "timy" else "\r\n")
        return "".join(line + end for _, line in self.lines(fmt, point)).encode()

    def play(self, fmt: str, point: str | None, write: Callable[[bytes], object], *,
             speed: float | None = None, stop: threading.Event | None = None,
             start_utc_ms: int | None = None) -> int:
        """Send the lines in real time (× speed) through `write`; returns how many were sent."""
        speed = speed or self.speed
        lines = self.lines(fmt, point)
        if not lines:
            return 0
        end = b"" if fmt == "mylaps" else (b"\r" if fmt == "timy" else b"\r\n")
        origin = start_utc_ms if start_utc_ms is not None else lines[0][0]
        t0 = time.monotonic()
        sent = 0
        for at, line in lines:
            due = t0 + (at - origin) / 1000 / speed
            while True:
                delay = due - time.monotonic()
                if delay <= 0:
                    break
                if stop is not None and stop.wait(min(delay, 0.2)):
                    return sent
                if stop is None:
                    time.sleep(min(delay, 0.2))
            write(line.encode() + end)
            sent += 1
        return sent
