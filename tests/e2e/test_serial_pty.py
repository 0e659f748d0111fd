"""End to end over a real pty pair: the real `worun-station reads listen` process reads what a paced
fake Ultra writes at 115200 baud's byte rate; then the cable is pulled mid-race and plugged back."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from fake_readers import SOCAT, FakeUltra, SocatPair, repo_env

from drivers.records import civil_to_wall_ms
from station.log.store import read_payloads

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


def race(n: int) -> list[tuple[str, int]]:
    t0 = civil_to_wall_ms(2026, 11, 29, 7, 30, 0, 0)
    return [(str(1000 + i % 300), t0 + i * 37) for i in range(n)]


def stop_station(proc: subprocess.Popen[str]) -> str:
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=20)
    assert proc.returncode == 0, err
    assert "Traceback" not in err, err
    return out


def test_every_line_reaches_the_journal(tmp_path, wait_for):
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


def test_cable_pulled_mid_race_no_crash_no_loss_no_duplicate(tmp_path, wait_for):
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


# ---------------------------------------------------------------------------------------------------
# Every serial protocol headless: a capture paced at the reader's own baud rate into a pty while
# `reads listen` reads the other end; the journal holds every line and the results equal what
# `reads import` of the same capture gives on a second station.

def _capture(fmt: str) -> tuple[list[str], int, list[str]]:
    """(lines, baud, extra CLI args): 12 runners crossing the finish, 3 reads each (Timy: gun impulses)."""
    from drivers.ipico import format_record
    from drivers.raceresult import format_passing
    from drivers.timy import format_impulse
    from drivers.ultra import format_read as ultra_read

    if fmt == "timy":
        tod = [(7 * 3600 + 30 * 60) * 1000, (7 * 3600 + 40 * 60) * 1000 + 250]
        return [format_impulse(1, "C0", tod[0]), format_impulse(2, "C1", tod[1])], 9600, \
            ["--wave", "C0=10k/A", "--wave", "C1=10k/B"]
    lines = []
    for k in range(12):
        for j in range(3):
            t = civil_to_wall_ms(2026, 11, 29, 8, 10, k * 7, j * 200)
            i = k * 3 + j
            if fmt == "ultra":
                lines.append(ultra_read(str(2001 + k), t, log_id=i + 1, rssi=-70 + j))
            elif fmt == "raceresult":
                lines.append(format_passing(i + 1, f"RR{2001 + k}", t, rssi=-70 + j))
            else:
                lines.append(format_record(f"{0xA0001 + k:012x}", t))
    return lines, {"ultra": 115200, "raceresult": 19200, "ipico": 9600}[fmt], []


def _participants(fmt: str, lines: list[str], path: Path) -> None:
    """A runner per chip the capture carries, as the protocol's parser reads it."""
    from drivers import protocol_for

    chips: list[str] = []
    for line in lines:
        for r in protocol_for(fmt).parse(line):
            chip = getattr(r, "chip", None)
            if chip and chip not in chips:
                chips.append(chip)
    with path.open("w", encoding="utf-8") as f:
        f.write("registration_id,bib,name,gender,birth_date,race,wave,chips\n")
        for k, chip in enumerate(chips or ["NONE"]):
            f.write(f"R{k},{k + 1},Runner {k},{'MF'[k % 2]},1990-01-01,10k,{'AB'[k % 2]},{chip}\n")


def _cli(data: Path, *args: str) -> str:
    r = subprocess.run([sys.executable, "-m", "station.cli", "--data", str(data), *args],
                       capture_output=True, text=True, timeout=120, env=repo_env())
    assert r.returncode == 0, r.stderr
    return r.stdout


def _pace(port: Path, data: bytes, baud: int) -> None:
    """The reader's side of the cable: bytes at the line's rate (a pty has no baud of its own)."""
    import serial

    rate = baud / 10
    with serial.Serial(str(port), baud, timeout=1) as s:
        t0 = time.monotonic()
        for i in range(0, len(data), 32):
            s.write(data[i:i + 32])
            ahead = t0 + (i + 32) / rate - time.monotonic()
            if ahead > 0:
                time.sleep(ahead)
        s.flush()


@pytest.mark.parametrize("fmt", ["ultra", "raceresult", "ipico", "timy"])
def test_each_serial_protocol_headless_matches_reads_import(tmp_path: Path, fmt: str, wait_for: Any) -> None:
    lines, baud, extra = _capture(fmt)
    cap = tmp_path / f"{fmt}.txt"
    cap.write_bytes("".join(x + "\r\n" for x in lines).encode())
    people = tmp_path / "people.csv"
    _participants(fmt, lines, people)
    live, imported = tmp_path / "live", tmp_path / "imported"
    for d in (live, imported):
        _cli(d, "event", "load", str(Path(__file__).resolve().parents[1] / "station" / "data" / "event.toml"))
        _cli(d, "participants", "import", str(people))
    kind = "gun" if fmt == "timy" else "read"
    a, b = tmp_path / "ttyA", tmp_path / "ttyB"
    pair = SocatPair(a, b).start()
    exe = [str(EXE)] if EXE.exists() else [sys.executable, "-m", "station.cli"]
    proc = subprocess.Popen([*exe, "--data", str(live), "reads", "listen", "--point", "finish", "--format", fmt,
                             "--port", str(b), "--baud", str(baud), "--status-every", "0.5", *extra],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=repo_env())
    said: list[str] = []

    def follow() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            said.append(line)

    reader = threading.Thread(target=follow, daemon=True)
    reader.start()
    try:
        # a dumb writer, unlike a real reader, does not wait for the station: wait until it has the port
        assert wait_for(lambda: any("] connected" in x for x in said), 15), said
        _pace(a, cap.read_bytes(), baud)
        assert wait_for(lambda: len(rows(live, kind)) >= len(lines), 15), (len(rows(live, kind)), said[-3:])
        proc.send_signal(signal.SIGINT)
        assert proc.wait(20) == 0
        reader.join(5)
        assert proc.stderr is not None
        err = proc.stderr.read()
        assert "Traceback" not in err, err
        assert said and said[-1].startswith("stopped:"), said[-3:]
    finally:
        if proc.poll() is None:
            proc.kill()
        pair.stop()
    _cli(imported, "reads", "import", "--point", "finish", "--format", fmt, str(cap), *extra)
    got = [p for p, _ in rows(live, kind)]
    assert [p["raw"] for p in got] == lines  # every line, byte for byte, once, in order
    assert all(p["port"] == str(b) for p in got)
    assert rows(live, "unparsed") == []
    if fmt == "timy":
        assert [(p["t"], p.get("wave"), p.get("race")) for p in got] == \
            [(p["t"], p.get("wave"), p.get("race")) for p, _ in rows(imported, "gun")]
    live_results = _cli(live, "results")
    assert live_results == _cli(imported, "results")
    if fmt != "timy":
        assert live_results.count(",finished,") == 12  # every runner's crossing detected
