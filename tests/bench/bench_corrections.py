"""Corrections and runner detail with a million reads held (run on demand:
`.venv/bin/python tests/bench/bench_corrections.py [--quick]`).

The results engine keeps read chains, not reads; a few actions need reads again. Each is timed against
the full scan of every read it would otherwise take (the peer, measured in the same run):
1. a late `ignore` naming a read merged long ago (found by uuid: one index probe);
2. a chip swap whose time falls inside a chip's chain (the chain is split from that chip's reads only);
3. the runner detail (every read behind each crossing) from the runner's chips only.
No issue names a target for these; each is printed beside the full scan it replaces (seconds, on the
worker that also answers the check-in desk).
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "bench"))

from bench_ingest import finish_capture, prepare_station  # noqa: E402

from station.log.entries import Entry  # noqa: E402
from station.results.engine import Engine  # noqa: E402
from station.timing.ingest import ReaderBinding, import_file, throughput_mode  # noqa: E402


def _ms(t0: float) -> float:
    return (time.perf_counter() - t0) * 1000


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="100,000 reads instead of 1,000,000")
    n = 100_000 if ap.parse_args().quick else 1_000_000
    tmp = Path(tempfile.mkdtemp(prefix="bench-corr-"))
    try:
        data, runners = finish_capture(n)
        (tmp / "cap.txt").write_bytes(data)
        store = prepare_station(tmp / "station", runners)
        with open(tmp / "cap.txt", "rb") as fh, throughput_mode():
            import_file(store, ReaderBinding("fin-ultra", "finish", "ultra"), fh, "cap.txt")
        t0 = time.perf_counter()
        eng = Engine.from_store(store)
        print(f"{store.counts()['read']:,} reads of {runners:,} runners held; engine built in {_ms(t0) / 1000:.1f} s")
        mid = runners // 2
        reg, chip = f"R{mid}", str(1_000_000 + mid)

        t0 = time.perf_counter()
        mine = [e for _, e in store.reads_of_chips([chip])]
        t_chip = _ms(t0)
        t0 = time.perf_counter()
        every = [e for _, e in store.iter_rows(0, ["read"]) if e.payload["chip"] == chip]
        t_scan = _ms(t0)
        assert [e.uuid for e in mine] == [e.uuid for e in every] and len(mine) == 10
        print(f"reads of one chip: {t_chip:8.1f} ms   full scan of every read (peer) {t_scan:8.1f} ms   "
              f"{t_scan / t_chip:,.0f}× faster")

        t0 = time.perf_counter()
        res, trace = eng.explain(reg, reads=(e for _, e in store.reads_of_chips(eng.chips_of(reg))))
        t_detail = _ms(t0)
        assert res is not None and res.status == "finished" and sum(len(c.uuids) for c in trace.crossings) == 10
        print(f"runner detail (reads behind each crossing): {t_detail:8.1f} ms   (full scan: {t_scan:.0f} ms)")

        target = mine[3]
        ign = store.append("correction", {"action": "ignore", "target": target.uuid, "reason": "bench"})
        t0 = time.perf_counter()
        eng.apply([ign])
        t_ign = _ms(t0)
        print(f"late ignore of a read merged long ago: {t_ign:8.1f} ms   (full scan: {t_scan:.0f} ms)")

        other = f"R{mid + 1}"
        t_mid = int(mine[5].payload["t"])
        swap: Entry = store.append("correction", {"action": "chip_swap", "registration_id": other, "chip": chip,
                                                  "from_ms": t_mid, "reason": "bench"})
        t0 = time.perf_counter()
        eng.apply([swap])
        t_swap = _ms(t0)
        assert eng.result(other) is not None
        print(f"chip swap inside a chain (split from that chip's reads): {t_swap:8.1f} ms   (full scan: {t_scan:.0f} ms)")
        store.close()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
