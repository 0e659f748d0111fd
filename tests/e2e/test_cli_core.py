"""The real `worun-station` process on a temporary --data folder: core verbs end to end."""

from __future__ import annotations

import csv
import io
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "tests" / "station" / "data"
CLI = Path(sys.executable).with_name("worun-station")


def run(*args: str, data: Path | None = None, after: bool = False) -> subprocess.CompletedProcess[str]:
    argv = [str(CLI)]
    if data is not None and not after:
        argv += ["--data", str(data)]
    argv += list(args)
    if data is not None and after:
        argv += ["--data", str(data)]
    env = {**os.environ, "WORUN_OPERATOR": "e2e", "PYTHONIOENCODING": "utf-8"}
    env.pop("WORUN_STATION_DATA", None)
    return subprocess.run(argv, capture_output=True, text=True, encoding="utf-8", env=env, timeout=120,
                          cwd=ROOT)


def ok(p: subprocess.CompletedProcess[str]) -> str:
    assert p.returncode == 0, f"exit {p.returncode}\nstdout:{p.stdout}\nstderr:{p.stderr}"
    assert "Traceback" not in p.stderr
    return p.stdout


def user_error(p: subprocess.CompletedProcess[str]) -> str:
    assert p.returncode == 1, f"exit {p.returncode}\nstdout:{p.stdout}\nstderr:{p.stderr}"
    assert "Traceback" not in p.stderr + p.stdout
    assert p.stderr.strip()
    return p.stderr


def results(data: Path, as_of: str = "08:30") -> dict[str, dict[str, str]]:
    """The results as they stood at 08:30 on race day (before the 10k's 2-hour cutoff), on any calendar day."""
    text = ok(run("results", "--as-of", as_of, data=data))
    assert "\r" not in text
    return {r["bib"]: r for r in csv.DictReader(io.StringIO(text))}


@pytest.fixture
def station(tmp_path: Path) -> Path:
    data = tmp_path / "station"
    assert "loaded" in ok(run("event", "load", str(DATA / "event.toml"), data=data))
    out = ok(run("participants", "import", str(DATA / "participants.csv"), data=data))
    assert "4 participant(s); 4 new or changed, 0 unchanged" in out
    return data


def test_event_load_unchanged_and_bad_file(tmp_path: Path) -> None:
    data = tmp_path / "d"
    out = ok(run("event", "load", str(DATA / "event.toml"), data=data))
    assert out.startswith("event wo-run-test-2026 loaded: WO.RUN Test, 2026-11-29 (Asia/Shanghai)")
    assert "unchanged" in ok(run("event", "load", str(DATA / "event.toml"), data=data, after=True))
    bad = tmp_path / "bad.toml"
    bad.write_text((DATA / "event.toml").read_text(encoding="utf-8")
                   .replace('timezone = "Asia/Shanghai"', 'timezone = "Asia/Nowhere"')
                   .replace('races = ["10k"]', 'races = ["21k"]'), encoding="utf-8")
    err = user_error(run("event", "load", str(bad), data=data))
    assert "event.timezone: expected an IANA time zone" in err
    assert "timing_points[1].races: unknown race '21k'" in err
    assert "not loaded" in err
    err = user_error(run("event", "load", str(tmp_path / "missing.toml"), data=data))
    assert "missing.toml" in err


def test_participants_import_bad_csv_nothing_imported(tmp_path: Path) -> None:
    data = tmp_path / "d"
    ok(run("event", "load", str(DATA / "event.toml"), data=data))
    bad = tmp_path / "bad.csv"
    bad.write_text(
        "registration_id,bib,name,gender,birth_date,race,wave,chips\n"
        "R1,1,张伟,M,1990-01-01,10k,A,C1\n"
        "R2,1,李娜,F,1990-13-01,42k,A,C1\n"
        "R3,3,Bob,Q,1990-01-01,5k,Z,C3\n", encoding="utf-8")
    err = user_error(run("participants", "import", str(bad), data=data))
    for expected in (f"{bad}:3: bib: duplicate bib '1'", f"{bad}:3: birth_date:", f"{bad}:3: race:",
                     f"{bad}:3: chips: chip 'C1' assigned twice", f"{bad}:4: gender:", f"{bad}:4: wave:"):
        assert expected in err
    assert "nothing was imported" in err
    info = ok(run("info", data=data))
    assert "participants: 0" in info


def test_timing_day_through_the_cli(station: Path) -> None:
    data = station
    out = ok(run("manual", "--bib", "1", "--point", "finish", "--time", "08:20:00.250", data=data))
    manual_uuid = re.search(r"\(entry ([0-9a-f-]{36})\)", out).group(1)
    ok(run("manual", "--bib", "3", "--point", "finish", "--time", "07:58:00", data=data, after=True))
    ok(run("gun", "--wave", "A", "--time", "07:30:05", data=data))
    rows = results(data)
    assert (rows["1"]["status"], rows["1"]["gun_ms"], rows["1"]["gun_time"]) == ("finished", "2995250", "0:49:56")
    assert (rows["3"]["status"], rows["3"]["chip_time"]) == ("finished", "0:27:55")
    assert rows["2"]["status"] == "DNS" and rows["2"]["overall_rank"] == ""

    ok(run("correct", "dq", "--bib", "1", "--reason", "no bib", data=data))
    assert results(data)["1"]["status"] == "DQ"
    ok(run("correct", "reinstate", "--bib", "1", data=data))
    ok(run("correct", "adjust", "--bib", "1", "--delta", "+0:01:00", data=data))
    r1 = results(data)["1"]
    assert (r1["status"], r1["gun_ms"], r1["overall_rank"]) == ("finished", "3055250", "1")

    ok(run("correct", "ignore", "--entry", manual_uuid, data=data))
    assert results(data)["1"]["status"] == "running"
    # Past the cutoff (gun 07:30:05 + 2:00:00) a runner with no finish is DNF; so is every replay after it.
    assert results(data, "09:30:04")["1"]["status"] == "running"
    assert results(data, "2026-11-29 09:30:06")["1"]["status"] == "DNF"
    assert results(data, "2026-11-30T07:00")["1"]["status"] == "DNF"
    assert "--as-of: expected HH:MM[:SS]" in user_error(run("results", "--as-of", "half past nine", data=data))
    err = user_error(run("correct", "ignore", "--entry", "no-such-uuid", data=data))
    assert "--entry" in err

    doc = json.loads(ok(run("results", "--format", "json", "--race", "5k", data=data)))
    assert doc["event"]["id"] == "wo-run-test-2026"
    assert [(r["bib"], r["status"], r["chip_ms"]) for r in doc["results"]] == [("3", "finished", 1_675_000)]

    info = dict(line.split(": ", 1) for line in ok(run("info", data=data)).splitlines())
    assert info["event"] == "wo-run-test-2026"
    assert info["participants"] == "4"
    assert (info["manual_times"], info["guns"], info["corrections"]) == ("2", "1", "4")
    assert info["entries"] == info["last_seq"]


def test_user_errors_exit_1(station: Path) -> None:
    err = user_error(run("manual", "--bib", "999", "--point", "finish", "--time", "08:00:00", data=station))
    assert "999" in err
    err = user_error(run("manual", "--bib", "1", "--point", "moon", "--time", "08:00:00", data=station))
    assert "moon" in err
    err = user_error(run("results", "--race", "42k", data=station))
    assert "42k" in err


def test_info_station_id_stable_and_data_after_verb(tmp_path: Path) -> None:
    data = tmp_path / "d"
    first = ok(run("info", data=data))
    second = ok(run("info", data=data, after=True))
    sid = [ln for ln in first.splitlines() if ln.startswith("station_id: ")]
    assert len(sid) == 1 and re.fullmatch(r"station_id: st-[0-9a-f]{12}", sid[0])
    assert sid[0] in second.splitlines()
    for line in first.splitlines():
        assert re.fullmatch(r"[a-z_]+: .*", line), line


@pytest.mark.parametrize("args", [
    ["bogus"],
    ["manual", "--bib", "1"],
    ["event"],
    ["results", "--format", "xml"],
    ["--data"],
])
def test_bad_usage_exit_2(tmp_path: Path, args: list[str]) -> None:
    p = run(*args, data=None if args == ["--data"] else tmp_path / "d")
    assert p.returncode == 2, (p.returncode, p.stdout, p.stderr)
    assert "Traceback" not in p.stderr
    assert "error" in p.stderr
