"""Test kit for the ledger and sync tests: a real ledger server (uvicorn) on a free loopback port, its
event file, and small wire builders. Imported by conftest.py, the tests and tests/bench/bench_sync.py."""

from __future__ import annotations

import socket
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa

from ledger.auth import new_token
from ledger.db import Database, open_database
from ledger.events import parse_event_file, register

EVENT_ID = "wo-run-test"
EVENT_TOML = """
[event]
id = "{event_id}"
name = "WO.RUN Test"
date = "2026-11-29"
timezone = "Asia/Shanghai"
points_per_km = {ppk}

[[races]]
id = "10k"
name = "10 km"
distance_m = 10000
waves = [ {{ id = "A", start = "07:30:00" }} ]

[[races]]
id = "half"
name = "Half marathon"
distance_m = 21097
ranking = "gun"
waves = [ {{ id = "A", start = "07:30:00" }} ]

[[timing_points]]
id = "start"
kind = "start"

[[timing_points]]
id = "km5"
kind = "split"
distance_m = 5000

[[timing_points]]
id = "finish"
kind = "finish"
"""


def write_event(tmp: Path, event_id: str = EVENT_ID, ppk: Any = 10) -> Path:
    p = tmp / f"{event_id}.toml"
    p.write_text(EVENT_TOML.format(event_id=event_id, ppk=ppk), encoding="utf-8")
    return p


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Ledger:
    """A real ledger server on a loopback port: in a thread (fast), or a subprocess (killable)."""

    def __init__(self, db_url: str, tmp: Path, *, subprocess_mode: bool = False,
                 clock: Any = None) -> None:
        self.db_url = db_url
        self.tmp = tmp
        self.port = free_port()
        self.subprocess_mode = subprocess_mode
        self.clock = clock  # the ledger's clock (thread mode): a callable giving UTC ms
        self.db: Database = open_database(db_url)
        rule, config = parse_event_file(write_event(tmp))
        register(self.db, rule, config)
        self._server: Any = None
        self._thread: threading.Thread | None = None
        self._proc: subprocess.Popen[bytes] | None = None
        self.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def token(self, station: str, *, publish: bool = False, event: str = EVENT_ID, role: str | None = None) -> str:
        return new_token(self.db, event, station, publish=publish, role=role)

    def start(self) -> None:
        if self.subprocess_mode:
            self._proc = subprocess.Popen(
                [sys.executable, "-m", "station.cli", "ledger", "serve", "--db", self.db_url,
                 "--port", str(self.port)],
                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
            )
        else:
            import uvicorn

            from ledger.app import create_app

            cfg = uvicorn.Config(create_app(self.db_url, clock=self.clock), host="127.0.0.1", port=self.port,
                                 log_level="error", lifespan="off")
            self._server = uvicorn.Server(cfg)
            self._thread = threading.Thread(target=self._server.run, daemon=True)
            self._thread.start()
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                if httpx.get(self.url + "/v1/health", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            if self._proc is not None and self._proc.poll() is not None:
                raise RuntimeError("ledger exited: " + self._proc.stderr.read().decode()[-2000:])  # type: ignore[union-attr]
            time.sleep(0.05)
        raise RuntimeError("ledger did not start")

    def stop(self, *, kill: bool = False) -> None:
        if self._proc is not None:
            if kill:
                self._proc.kill()
            else:
                self._proc.terminate()
            self._proc.wait(20)
            if self._proc.stderr:
                self._proc.stderr.close()
            self._proc = None
        if self._server is not None:
            self._server.should_exit = True
            assert self._thread is not None
            self._thread.join(20)
            self._server = None

    def restart(self) -> None:
        self.stop()
        self.start()

    def close(self) -> None:
        self.stop()
        self.db.dispose()

    # -- direct views of the database, for assertions
    def count(self, sql: str, **params: Any) -> int:
        with self.db.read.connect() as c:
            return int(c.execute(sa.text(sql), params).scalar() or 0)



def wire(seq: int, kind: str = "read", payload: dict[str, Any] | None = None, *, uid: str | None = None,
         recorded_at: int | None = None) -> dict[str, Any]:
    return {"seq": seq, "uuid": uid or str(uuid.uuid4()), "kind": kind,
            "payload": payload if payload is not None else {"reader": "r1", "point": "finish", "chip": f"c{seq}",
                                                            "t": seq},
            "recorded_at": recorded_at if recorded_at is not None else 1_700_000_000_000 + seq,
            "operator": "t"}


def result(reg: str, status: str = "finished", *, race: str = "10k", chip_ms: int | None = 2_481_001,
           gun_ms: int | None = 2_500_000, runner: str | None = None) -> dict[str, Any]:
    p: dict[str, Any] = {"registration_id": reg, "bib": reg.lstrip("r"), "race": race, "status": status,
                         "gun_ms": gun_ms if status == "finished" else None,
                         "chip_ms": chip_ms if status == "finished" else None}
    if runner:
        p["runner_id"] = runner
    return p


def push(url: str, token: str | None, station: str, entries: Any, *, event: str = EVENT_ID,
         content: bytes | None = None) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    path = f"{url}/v1/events/{event}/stations/{station}/entries"
    if content is not None:
        return httpx.post(path, content=content, headers={**headers, "Content-Type": "application/json"},
                          timeout=30)
    return httpx.post(path, json=entries, headers=headers, timeout=30)


def pull_all(url: str, token: str, *, event: str = EVENT_ID, limit: int = 1000) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    cursor = ""
    while True:
        r = httpx.get(f"{url}/v1/events/{event}/entries", params={"cursor": cursor, "limit": limit},
                      headers={"Authorization": f"Bearer {token}"}, timeout=30)
        r.raise_for_status()
        body = r.json()
        out += body["entries"]
        cursor = body["cursor"]
        if not body["more"]:
            return out


def points(url: str, token: str, runner: str, *, event: str | None = None) -> dict[str, Any]:
    """A runner id's balance, or with `event` the registration-only account `runner` of that event."""
    r = httpx.get(f"{url}/v1/runners/{runner}/points", headers={"Authorization": f"Bearer {token}"},
                  params={"event": event} if event else None, timeout=30)
    r.raise_for_status()
    return r.json()


def roster(ledger: Ledger, regs: dict[str, str | None], *, event: str = EVENT_ID, station: str = "desk",
           first_seq: int = 1) -> int:
    """Push `participant` entries (registration → runner id or None) from a check-in desk's stream, as
    the event's participant list on the ledger; returns the next seq of that stream."""
    tok = ledger.token(station, event=event, role="checkin")
    seq = first_seq
    batch = []
    for reg, rid in regs.items():
        p: dict[str, Any] = {"registration_id": reg, "bib": reg.lstrip("r"), "name": reg, "race": "10k",
                             "wave": "A", "chips": []}
        if rid:
            p["runner_id"] = rid
        batch.append(wire(seq, "participant", p, recorded_at=1_000 + seq))
        seq += 1
    r = push(ledger.url, tok, station, batch, event=event)
    assert r.status_code == 200, r.text
    return seq


# ---------------------------------------------------------------- a small race, as station entries
GUN_MS = 1_795_908_600_000  # 2026-11-29 07:30:00 Asia/Shanghai (wave A's scheduled start)


def event_config(tmp: Path) -> dict[str, Any]:
    from station.event.config import load_event_file

    return load_event_file(write_event(tmp))


def participant(i: int, race: str = "10k") -> dict[str, Any]:
    return {"registration_id": f"r{i}", "bib": str(i), "name": f"跑者 {i}", "gender": "MF"[i % 2],
            "birth_date": "1990-01-01", "race": race, "wave": "A", "chips": [f"C{i:05d}"],
            "runner_id": f"R{i}"}


def read(i: int, point: str, t: int) -> dict[str, Any]:
    chip = f"C{i:05d}"
    return {"reader": f"{point}-1", "point": point, "role": "main", "chip": chip, "t": t, "rx": t,
            "raw": f"{chip},{t}"}


def finish_time(i: int) -> int:
    return GUN_MS + 2_400_000 + i * 1_237  # 40 min + a runner-specific offset, to the millisecond
