"""The reduced race-day rehearsal CI runs on every change: `worun-station rehearse --quick`.

120 runners, the race played in about 70 s, every fault injected (garbage bursts, the network to the
ledger cut and responses lost after commit, a serial cable pulled, the finish station SIGKILLed and
restarted, the ledger restarted), the ledger on PostgreSQL. The verdict must be all-equal: every count
equal, every result identical to the independently computed expected results, points credited once.
About 2-3 minutes on a 2-core machine.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]


def _ledger_db_args() -> list[str]:
    """PostgreSQL in CI (WORUN_TEST_PG_URL, or a throwaway cluster); SQLite only where none exists."""
    if os.environ.get("WORUN_TEST_PG_URL"):
        return []
    has_pg = any(Path("/usr/lib/postgresql").glob("*/bin/initdb")) or shutil.which("initdb")
    if has_pg:
        return []
    if os.environ.get("CI"):
        pytest.fail("CI must rehearse on PostgreSQL: set WORUN_TEST_PG_URL (scripts/postgres.sh)")
    return ["--sqlite"]


def _tail(path: Path, n: int = 20) -> str:
    try:
        return "\n".join(path.read_text(encoding="utf-8", errors="replace").splitlines()[-n:])
    except OSError:
        return ""


def test_reduced_rehearsal_is_all_equal(tmp_path: Path) -> None:
    out = tmp_path / "rehearsal"
    cmd = [sys.executable, "-m", "station.cli", "rehearse", "--quick", "--seed", "7", "--out", str(out),
           *_ledger_db_args()]
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    cp = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, encoding="utf-8", env=env, timeout=560)
    verdict_file = out / "verdict.json"
    logs = "\n".join(f"--- {p.name}\n{_tail(p)}" for p in sorted((out / "logs").glob("*.log")))
    assert verdict_file.exists(), f"no verdict (exit {cp.returncode})\n{cp.stdout}\n{cp.stderr}\n{logs}"
    verdict = json.loads(verdict_file.read_text(encoding="utf-8"))
    failed = [c for c in verdict["checks"] if c["ok"] is False and not c.get("warn_only")]
    assert not failed and verdict["ok"], f"{cp.stdout}\n{cp.stderr[-3000:]}\n{logs}"
    assert cp.returncode == 0
    # every fault really happened, and the system saw it
    names = [f["name"] for f in verdict["faults"]]
    for fault in ("garbage burst", "network cut", "responses lost", "cable pulled", "SIGKILL", "ledger restart"):
        assert fault in names, names
    info = verdict["info"]
    assert info["proxy"]["refused_while_cut"] > 0  # the stations kept retrying (with backoff) while cut
    assert info["restarts"].get("finish-ultra") == 1 and info["restarts"].get("ledger") == 1
    assert info["readers"]["start-mylaps"]["acks"] > 0
    rows = {c["check"]: c for c in verdict["checks"]}
    conv = rows["converged after the last fault (s)"]["ledger"]
    assert conv is not None and conv < 240
