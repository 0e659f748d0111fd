"""End to end over a real pty pair: the real `worun-station reads listen` process reads what a paced
fake Ultra writes at 115200 baud's byte rate; then the cable is pulled mid-race and plugged back."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from fake_readers import SOCAT, FakeUltra, SocatPair, repo_env

from drivers.records import civil_to_wall_ms
from station.store import read_payloads

ROOT = Path(__file__).resolve().parents[2]
EXE = ROOT / ".venv" / "bin" / "worun-station"

pytestmark = [
    pytest.mark.skipif(sys.platform == "win32", reason="socat ptys are POSIX-only"),
    pytest.mark.skipif(not Path(SOCAT).exists() and os.environ.get("CI") != "true",
                       reason="socat not installed (CI fails instead of skipping)"),
]


def station_cmd(data: Path, port: Path) -> list[str]:
    exe = [str(EXE)] if EXE.exists() else [sys.executable, "-m", "station.cli"]
    return [*exe, "--data", str(data), "reads", "listen", "--point", "finish", "--format", "ultra",
            "--port", str(port), "--baud", "115200", "--status-every", "0.5"]


def rows(data: Path, kind: str) -> list[tuple[dict, str | None]]:
    """(payload, resend key) of the station's entries of one kind, read from its file as it runs."""
    return [(p, p.get("key")) for p in read_payloads(data / "station.sqlite3", kind)]


def wait_for(pred, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return True
        time.sleep(0.05)
    return pred()


def race(n: int) -> list[tuple[str, int]]:
    t0 = civil_to_wall_ms(2026, 11, 29, 7, 30, 0, 0)
    return [(str(1000 + i % 300), t0 + i * 37) for i in range(n)]


def stop_station(proc: subprocess.Popen[str]) -> str:
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=20)
    assert proc.returncode == 0, err
    assert "Traceback" not in err, err
    return out


def test_every_line_reaches_the_journal(tmp_path):
    a, b = tmp_path / "ttyA", tmp_path / "ttyB"
    pair = SocatPair(a, b).start()
    data = tmp_path / "data"
    # like a real Ultra, it streams once the station has sent the start command
    dev = FakeUltra(a, race(400), garbage_every=40, heartbeat_every=25, wait_for_start=True).open()
    proc = subprocess.Popen(station_cmd(data, b), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=repo_env())
    try:
        dev.start()
        dev.join(30)
        assert wait_for(lambda: len(rows(data, "read")) >= 400, 10)
        out = stop_station(proc)
    finally:
        dev.stop()
        if proc.poll() is None:
            proc.kill()
        pair.stop()
    reads = rows(data, "read")
    assert sorted(int(p["key"].split("/")[2]) for p, _ in reads) == list(range(400))
    unparsed = rows(data, "unparsed")
    assert len(unparsed) == 10 and all(p["raw"].startswith("#garbage") for p, _ in unparsed)
    sent_reads = [x for x in dev.sent_lines if x[0].isdigit()]
    assert [p["raw"] for p, _ in reads] == sent_reads  # byte for byte, in order
    assert all(p["port"] == str(b) for p, _ in reads)
    last = out.strip().splitlines()[-1]
    assert "stopped:" in last and f"{len(dev.sent_lines)} lines" in last
    assert "reads/s" in out and "last chip" in out


def test_cable_pulled_mid_race_no_crash_no_loss_no_duplicate(tmp_path):
    a, b = tmp_path / "ttyA", tmp_path / "ttyB"
    pair = SocatPair(a, b).start()
    data = tmp_path / "data"
    n = 600
    dev = FakeUltra(a, race(n), heartbeat_every=0, wait_for_start=True).open()
    proc = subprocess.Popen(station_cmd(data, b), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=repo_env())
    try:
        dev.start()
        assert wait_for(lambda: len(rows(data, "read")) >= 150, 20)
        pair.stop()  # pull the cable
        time.sleep(0.6)  # the race goes on: the reader logs reads nobody receives
        assert proc.poll() is None, "station died when the cable was pulled"
        pair.start()  # plug it back: same link names
        t_back = time.monotonic()
        assert wait_for(lambda: dev.replays >= 1, 5), "station did not ask for a replay after reconnecting"
        assert time.monotonic() - t_back < 2.5
        dev.join(30)
        assert wait_for(lambda: len({k for _, k in rows(data, "read")}) >= n, 15)
        out = stop_station(proc)
    finally:
        dev.stop()
        if proc.poll() is None:
            proc.kill()
        pair.stop()
    assert dev.unsent > 0, "the outage did not cost any live line: test proves nothing"
    reads = rows(data, "read")
    keys = [k for _, k in reads]
    assert len(keys) == len(set(keys)) == n  # every read once, nothing lost, nothing doubled
    assert sorted(int(p["key"].split("/")[2]) for p, _ in reads) == list(range(n))
    assert any(p.get("rewind") for p, _ in reads)  # some came back through the replay
    assert "DISCONNECTED" in out
