"""Benchmark: station ↔ ledger sync on loopback (issue figures).

Run: `.venv/bin/python tests/bench/bench_sync.py [--entries N] [--db URL]`
(`--db` defaults to a SQLite file; pass `$WORUN_TEST_PG_URL` for PostgreSQL). The ledger runs in its own
process (`worun-station ledger serve`), as in production. Prints each figure beside its target.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "ledger"))

from ledger_faultproxy import FaultProxy  # noqa: E402
from ledger_testkit import Ledger  # noqa: E402

from station.log.store import Store  # noqa: E402
from station.sync.engine import SyncEngine  # noqa: E402


def fill(store: Store, n: int) -> None:
    chunk = 20_000
    for k in range(0, n, chunk):
        items = [("read", {"reader": "finish-1", "point": "finish", "role": "main", "chip": f"C{i % 5000:05d}",
                           "t": 1_795_908_600_000 + i * 37, "rx": 1_795_908_600_000 + i * 37,
                           "rssi": -60 - i % 20, "ant": 1 + i % 4,
                           "raw": f"0,C{i % 5000:05d},{i},{i % 1000},1,-60,0,1,1,0,0,{i}"}, None)
                 for i in range(k, min(n, k + chunk))]
        store.submit_batch(items).result(600)


def row(name: str, value: float, target: float, unit: str = "s") -> bool:
    ok = value <= target
    print(f"  {name:<58} {value:8.2f} {unit}   target ≤ {target:g} {unit}   {'OK' if ok else 'MISSED'}")
    return ok


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--entries", type=int, default=200_000)
    ap.add_argument("--outage-entries", type=int, default=10_000)
    ap.add_argument("--db", default=None, help="ledger database URL (default: a SQLite file)")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench-sync-"))
    db = args.db or f"sqlite:///{(tmp / 'ledger.sqlite3').as_posix()}"
    led = Ledger(db, tmp, subprocess_mode=True)
    ok = True
    print(f"sync benchmark: {args.entries} entries, ledger on {db.split('@')[-1]}")
    try:
        a = Store(tmp / "a", station_id="bench-a")
        t0 = time.perf_counter()
        fill(a, args.entries)
        print(f"  (filled station A in {time.perf_counter() - t0:.1f} s)")
        ea = SyncEngine(a, led.url, led.token("bench-a"), auto_publish=False)
        t0 = time.perf_counter()
        ea.sync_once()
        push_s = time.perf_counter() - t0
        assert ea.status.waiting == 0 and led.count("SELECT COUNT(*) FROM entries") == args.entries
        ok &= row(f"push {args.entries} entries to the ledger", push_s, 20)
        print(f"  {'':<58} {args.entries / push_s:8.0f} entries/s")

        b = Store(tmp / "b", station_id="bench-b")
        eb = SyncEngine(b, led.url, led.token("bench-b"), auto_publish=False)
        t0 = time.perf_counter()
        eb.sync_once()
        pull_s = time.perf_counter() - t0
        assert eb.status.pulled == args.entries
        ok &= row(f"pull {args.entries} entries into a second station", pull_s, 20)
        print(f"  {'':<58} {args.entries / pull_s:8.0f} entries/s")
        ea.close()
        eb.close()
        a.close()
        b.close()

        # Outage: the ledger unreachable while entries pile up; time from "answers again" to synced.
        proxy = FaultProxy(led.port)
        proxy.down()
        c = Store(tmp / "c", station_id="bench-c")
        ec = SyncEngine(c, proxy.url, led.token("bench-c"), auto_publish=False)
        ec.start()
        fill(c, args.outage_entries)
        time.sleep(4.0)  # long enough for the backoff to reach its ceiling
        assert ec.status.state == "offline" and ec.status.waiting == args.outage_entries
        attempts = proxy.connections
        proxy.up()
        t0 = time.perf_counter()
        while ec.status.waiting:
            time.sleep(0.01)
            if time.perf_counter() - t0 > 60:
                break
        resume_s = time.perf_counter() - t0
        ok &= row(f"synced {args.outage_entries} waiting entries after the ledger answers", resume_s, 5)
        print(f"  {'':<58} {attempts:8d} connection attempts in 4 s offline (no busy loop)")
        ec.close()
        c.close()
        proxy.close()
    finally:
        led.close()
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
