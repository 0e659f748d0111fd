"""`worun-station tickets …` and `worun-station checkin …` as a user runs them (real processes, real files)."""

from __future__ import annotations

import csv
import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path
from zoneinfo import ZoneInfo

import cv2
import pytest

from drivers.camera import phone_frame

ZONE = ZoneInfo("Asia/Shanghai")
#: The event is today (in its zone), whatever day the suite runs: tickets signed by default last until
#: the end of the day after it, so every check-in below is valid on any calendar day.
TODAY = dt.datetime.now(ZONE).date()


def run(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "WORUN_OPERATOR": "vol-1", "PYTHONIOENCODING": "utf-8"}
    return subprocess.run([sys.executable, "-m", "station.cli", "--data", str(cwd / "data"), *args], cwd=cwd,
                          capture_output=True, text=True, encoding="utf-8", env=env, timeout=120)


EVENT = """\
[event]
id = "wo-run-shanghai-2026"
name = "WO.RUN Shanghai"
date = "{date}"
timezone = "Asia/Shanghai"
points_per_km = 10

[[races]]
id = "10k"
name = "10 km"
distance_m = 10000
waves = [ {{ id = "A", start = "07:30:00" }} ]

[[timing_points]]
id = "finish"
kind = "finish"
distance_m = 10000

[checkin]
public_keys = {{ {keys} }}
"""

PEOPLE = """\
registration_id,bib,name,gender,birth_date,race,wave,chips,runner_id,club,phone,email
R001,101,张伟,M,1990-03-01,10k,A,C101,,,13812341234,zw@example.com
R002,102,Li Na,F,1988-07-12,10k,A,,,,,
"""


@pytest.fixture(scope="module")
def event(tmp_path_factory):
    """An organizer's setup: a key, the event file with its public key, participants, issued tickets."""
    d = tmp_path_factory.mktemp("e2e")
    kg = run(d, "tickets", "keygen", "--kid", "k1", "--out", "organizer/k1.pem")
    assert kg.returncode == 0, kg.stderr
    line = kg.stdout.strip()
    assert line.startswith('k1 = "') and "keep it off the desk" in kg.stderr
    assert (d / "organizer/k1.pem").exists()
    again = run(d, "tickets", "keygen", "--kid", "k1", "--out", "organizer/k1.pem")
    assert again.returncode == 1 and "already exists" in again.stderr
    (d / "event.toml").write_text(EVENT.format(keys=line, date=TODAY.isoformat()), encoding="utf-8")
    (d / "people.csv").write_text(PEOPLE, encoding="utf-8")
    for args in (("event", "load", "event.toml"), ("participants", "import", "people.csv")):
        r = run(d, *args)
        assert r.returncode == 0, r.stderr
    iss = run(d, "tickets", "issue", "--key", "organizer/k1.pem", "--out", "tickets")
    assert iss.returncode == 0, iss.stderr
    assert "2 ticket(s)" in iss.stdout
    return d


def manifest(d: Path, folder: str = "tickets") -> dict[str, dict[str, str]]:
    with (d / folder / "tickets.csv").open(encoding="utf-8") as f:
        return {r["registration_id"]: r for r in csv.DictReader(f)}


def test_issue_writes_pngs_and_a_manifest(event):
    m = manifest(event)
    assert set(m) == {"R001", "R002"}
    assert (event / "tickets" / m["R001"]["file"]).exists()
    assert m["R001"]["bib"] == "101" and m["R001"]["token"].count(".") == 2
    # no names in tickets unless asked (PIPL)
    import base64
    body = m["R001"]["token"].split(".")[1]
    claims = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    assert "name" not in claims and claims["sub"] == "R001" and claims["evt"] == "wo-run-shanghai-2026"


def test_checkin_image_then_code_then_garbage(event):
    m = manifest(event)
    png = event / "tickets" / m["R001"]["file"]
    ok = run(event, "checkin", "--image", str(png))
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout.startswith("OK — bib 101 张伟")
    again = run(event, "checkin", m["R001"]["token"], "--json")
    assert again.returncode == 0
    v = json.loads(again.stdout)
    assert v["verdict"] == "already" and v["previous"]["operator"] == "vol-1"
    assert v["participant"]["phone"] == "138****1234"
    bad = run(event, "checkin", "not-a-ticket")
    assert bad.returncode == 1 and bad.stdout.startswith("INVALID — ")
    tampered = m["R002"]["token"][:-6] + ("AAAAAA" if not m["R002"]["token"].endswith("AAAAAA") else "BBBBBB")
    t = run(event, "checkin", tampered)
    assert t.returncode == 1 and "altered or forged" in t.stdout


def test_checkin_photo_of_a_phone_screen(event, tmp_path):
    m = manifest(event)
    img = cv2.imread(str(event / "tickets" / m["R002"]["file"]), cv2.IMREAD_GRAYSCALE)
    shot = tmp_path / "phone.jpg"
    cv2.imwrite(str(shot), phone_frame(img, angle=15, code_px=320, glare=0.3, blur=0.8))
    r = run(event, "checkin", "--image", str(shot), "--desk", "desk-2")
    assert r.returncode == 0, r.stderr
    assert r.stdout.split(" — ")[0] in ("OK", "ALREADY")


def test_search_undo_and_no_ticket_path(event):
    s = run(event, "checkin", "--search", "li na")
    assert s.returncode == 0 and "102\tLi Na" in s.stdout
    u = run(event, "checkin", "--registration", "R002", "--desk", "desk-3")
    assert u.returncode == 1 and "say why" in u.stderr
    r = run(event, "checkin", "--registration", "R002", "--reason", "phone dead, ID checked", "--desk", "desk-3")
    assert r.returncode == 0 and r.stdout.split(" — ")[0] in ("OK", "ALREADY")


def test_reprint_revokes_the_old_ticket(event):
    old = manifest(event)["R002"]["token"]
    r = run(event, "tickets", "issue", "--key", "organizer/k1.pem", "--out", "reprint", "--bib", "102", "--replace")
    assert r.returncode == 0, r.stderr
    v = run(event, "checkin", old)
    assert v.returncode == 1 and "newer ticket" in v.stdout
    new = manifest(event, "reprint")["R002"]["token"]
    assert run(event, "checkin", new).returncode == 0


def test_user_errors_are_clear(event, tmp_path):
    none = run(event, "checkin")
    assert none.returncode == 1 and "exactly one" in none.stderr
    txt = tmp_path / "x.png"
    txt.write_text("not an image")
    bad = run(event, "checkin", "--image", str(txt))
    assert bad.returncode == 1 and "x.png" in bad.stderr and "Traceback" not in bad.stderr
    blank = tmp_path / "blank.png"
    cv2.imwrite(str(blank), phone_frame(cv2.imread(str(event / "tickets" / "101_R001.png"), 0), center=(9, 9)))
    nq = run(event, "checkin", "--image", str(blank))
    assert nq.returncode == 1 and "no QR code" in nq.stderr
    wrong_key = run(event, "tickets", "keygen", "--kid", "k9", "--out", str(tmp_path / "k9.pem"))
    assert wrong_key.returncode == 0
    iss = run(event, "tickets", "issue", "--key", str(tmp_path / "k9.pem"), "--out", str(tmp_path / "t"))
    assert iss.returncode == 1 and "public_keys" in iss.stderr
    nob = run(event, "tickets", "issue", "--key", "organizer/k1.pem", "--bib", "4040", "--out", str(tmp_path / "t"))
    assert nob.returncode == 1 and "4040" in nob.stderr


def test_no_event_loaded(tmp_path):
    r = run(tmp_path, "checkin", "abc")
    assert r.returncode == 1 and "event load" in r.stderr


def test_tickets_for_a_past_event_are_refused_unless_given_an_expiry(tmp_path):
    """Tickets that would be expired when signed are refused (naming the expiry); --expires signs them."""
    kg = run(tmp_path, "tickets", "keygen", "--kid", "k1", "--out", "k1.pem")
    assert kg.returncode == 0, kg.stderr
    past = TODAY - dt.timedelta(days=10)
    (tmp_path / "event.toml").write_text(EVENT.format(keys=kg.stdout.strip(), date=past.isoformat()),
                                         encoding="utf-8")
    (tmp_path / "people.csv").write_text(PEOPLE, encoding="utf-8")
    for args in (("event", "load", "event.toml"), ("participants", "import", "people.csv")):
        assert run(tmp_path, *args).returncode == 0
    refused = run(tmp_path, "tickets", "issue", "--key", "k1.pem", "--out", "old")
    expiry = (past + dt.timedelta(days=2)).isoformat() + " 00:00"
    assert refused.returncode == 1 and "Traceback" not in refused.stderr
    assert f"tickets would expire on {expiry}" in refused.stderr and "--expires YYYY-MM-DD" in refused.stderr
    assert not (tmp_path / "old").exists()  # nothing signed, nothing written
    later = TODAY + dt.timedelta(days=20)
    ok = run(tmp_path, "tickets", "issue", "--key", "k1.pem", "--out", "new", "--expires", later.isoformat())
    assert ok.returncode == 0, ok.stderr
    m = manifest(tmp_path, "new")
    end = dt.datetime.combine(later + dt.timedelta(days=1), dt.time(0, 0), ZONE)
    assert int(m["R001"]["exp"]) == int(end.timestamp())
    assert run(tmp_path, "checkin", m["R001"]["token"]).stdout.startswith("OK — bib 101")
    bad = run(tmp_path, "tickets", "issue", "--key", "k1.pem", "--out", "x", "--expires", "next week")
    assert bad.returncode == 1 and "YYYY-MM-DD" in bad.stderr and not (tmp_path / "x").exists()
