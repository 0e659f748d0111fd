"""`ledger serve --workers N`: several server processes start, serve the API and the pages, and all stop
cleanly on SIGTERM (exit 0, no worker left behind) — on SQLite and PostgreSQL."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
from ledger_testkit import EVENT_ID, free_port, write_event

from station.cli import main


def _children(pid: int) -> list[int]:
    try:
        return [int(x) for x in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def test_serve_with_workers_starts_serves_and_stops_cleanly_on_sigterm(db_url: str, tmp_path: Path) -> None:
    assert main(["ledger", "event", "add", "--db", db_url, str(write_event(tmp_path))]) == 0
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "station.cli", "ledger", "serve", "--db", db_url,
                             "--port", str(port), "--workers", "3"], stderr=subprocess.PIPE, text=True)
    workers: list[int] = []
    try:
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
            assert time.monotonic() < deadline, "ledger serve --workers 3 did not answer within 60 s"
            try:
                if httpx.get(f"http://127.0.0.1:{port}/v1/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as c:
            for _ in range(6):  # keep-alive off: successive requests may land on different workers
                assert c.get(f"/events/{EVENT_ID}", headers={"Connection": "close"}).status_code == 200
        workers = _children(proc.pid)
        assert len(workers) >= 3  # the workers (and multiprocessing's resource tracker)
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    # every worker (and multiprocessing's resource tracker, which ends when it sees the server gone) is
    # gone within a few seconds: nothing is left running after the server's exit
    deadline = time.monotonic() + 10
    left = workers
    while left and time.monotonic() < deadline:
        left = [pid for pid in left if _running(pid)]
        time.sleep(0.05)
    assert not left, f"still running after the server exited: {left}"


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (ProcessLookupError, FileNotFoundError):
        return False
    return state != "Z"
