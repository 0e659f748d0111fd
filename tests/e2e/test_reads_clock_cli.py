"""`reads clock`: a measured reader offset changes results only once the timer confirms it."""

from __future__ import annotations

import csv
import io
import subprocess
import sys
from pathlib import Path

from drivers.records import civil_to_wall_ms
from drivers.ultra import format_read

DATA = Path(__file__).resolve().parents[1] / "station" / "data"


def run(data: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "station.cli", "--data", str(data), *args],
                          capture_output=True, text=True, timeout=120)


def chip_ms(data: Path, bib: str) -> str:
    out = run(data, "results").stdout
    return next(r["chip_ms"] for r in csv.DictReader(io.StringIO(out)) if r["bib"] == bib)


def test_confirmed_clock_offset_moves_the_finish(tmp_path: Path) -> None:
    d = tmp_path / "st"
    assert run(d, "event", "load", str(DATA / "event.toml")).returncode == 0
    assert run(d, "participants", "import", str(DATA / "participants.csv")).returncode == 0
    # Reader clock runs in event local time (Asia/Shanghai): bib 1 starts at 07:30:05, finishes 08:15:00.
    cap = tmp_path / "finish.txt"
    cap.write_text(format_read("C1", civil_to_wall_ms(2026, 11, 29, 8, 15, 0, 0), log_id=1) + "\r\n")
    scap = tmp_path / "start.txt"
    scap.write_text(format_read("C1", civil_to_wall_ms(2026, 11, 29, 7, 30, 5, 0), log_id=1) + "\r\n")
    assert run(d, "reads", "import", "--point", "finish", "--format", "ultra", str(cap)).returncode == 0
    assert run(d, "reads", "import", "--point", "start", "--format", "ultra", str(scap)).returncode == 0
    assert chip_ms(d, "1") == str((44 * 60 + 55) * 1000)
    r = run(d, "reads", "clock", "--reader", "finish-ultra", "--offset-ms", "1500")
    assert r.returncode == 0, r.stderr
    assert "confirmed" in r.stdout
    assert chip_ms(d, "1") == str((44 * 60 + 55) * 1000 + 1500)
    bad = run(d, "reads", "clock", "--reader", "finish-ultra", "--offset-ms", "x")
    assert bad.returncode == 2 and "Traceback" not in bad.stderr


def test_reads_import_reports_the_crossings_it_detected(tmp_path: Path) -> None:
    """With an event loaded, `reads import` follows the capture with the results engine and says what it
    found, so the timer knows at once whether the capture matched the participants."""
    d = tmp_path / "st"
    assert run(d, "event", "load", str(DATA / "event.toml")).returncode == 0
    assert run(d, "participants", "import", str(DATA / "participants.csv")).returncode == 0
    cap = tmp_path / "finish.txt"
    t = civil_to_wall_ms(2026, 11, 29, 8, 15, 0, 0)
    # bib 1 read five times on the mat, plus an unknown chip and a line of garbage
    lines = [format_read("C1", t + i * 100, log_id=i) for i in range(5)]
    lines += [format_read("NOBODY", t, log_id=5), "#garbage"]
    cap.write_text("\r\n".join(lines) + "\r\n")
    r = run(d, "reads", "import", "--point", "finish", "--format", "ultra", str(cap))
    assert r.returncode == 0, r.stderr
    assert "7 lines, 6 reads (7 new entries, 0 already stored), 1 unparsed" in r.stdout
    assert "results: 1 runner with a time at finish; 3 DNS, 1 finished" in r.stdout
    again = run(d, "reads", "import", "--point", "finish", "--format", "ultra", str(cap))
    assert "0 new entries, 7 already stored" in again.stdout
