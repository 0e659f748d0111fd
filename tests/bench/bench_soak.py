"""Soak benchmark (on demand, not in CI): the station under a steady read rate for a long time.

Run: `.venv/bin/python tests/bench/bench_soak.py [--minutes 30] [--rate 2000] [--sqlite] [--out DIR]`
(the same as `worun-station rehearse --soak 30`). The finish station takes `--rate` reads/s (MYLAPS on
TCP for the bulk, an Ultra on a socat pty at 115,200 baud for what a cable carries) and syncs to the
ledger (PostgreSQL from $WORUN_TEST_PG_URL or a throwaway cluster; SQLite with --sqlite) the whole time.
Targets (issue): memory growth ≤ 10%, no growth in stalls of the station's loop or in sync lag.
Prints each figure with its verdict and writes soak.json; exit 1 when a target is missed.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from rehearsal.soak import SoakOptions, run_soak  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--minutes", type=float, default=30.0)
    ap.add_argument("--rate", type=float, default=2000.0, help="reads per second")
    ap.add_argument("--runners", type=int, default=5000)
    ap.add_argument("--sqlite", action="store_true")
    ap.add_argument("--out", type=Path)
    a = ap.parse_args()
    out = a.out or Path(tempfile.mkdtemp(prefix="worun-soak-"))
    res = run_soak(SoakOptions(minutes=a.minutes, rate=a.rate, runners=a.runners, out=out, sqlite=a.sqlite))
    print(res.table())
    print(f"report: {res.write(out)}")
    return 0 if res.ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
