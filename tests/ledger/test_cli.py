"""`worun-station ledger …` and `worun-station sync` from the command line."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
from ledger_testkit import Ledger, write_event

from station.cli import main


def test_ledger_admin_verbs(tmp_path: Path, capsys: Any) -> None:
    db = f"sqlite:///{(tmp_path / 'l.sqlite3').as_posix()}"
    ev = write_event(tmp_path)
    assert main(["ledger", "event", "add", "--db", db, str(ev)]) == 0
    assert "registered event wo-run-test: 10 points per km" in capsys.readouterr().out
    assert main(["ledger", "event", "add", "--db", db, str(ev)]) == 0
    assert "updated" in capsys.readouterr().out
    assert main(["ledger", "token", "add", "--db", db, "--event", "wo-run-test", "--station", "s1",
                 "--publish"]) == 0
    tok = capsys.readouterr().out.strip()
    assert tok.startswith("wrs_") and len(tok) > 40
    # User errors: exit 1 with the reason; bad usage: exit 2.
    assert main(["ledger", "token", "add", "--db", db, "--event", "nope", "--station", "s1"]) == 1
    assert "not registered" in capsys.readouterr().err
    bad = tmp_path / "bad.toml"
    bad.write_text("[event]\nid = 'x'\n", encoding="utf-8")
    assert main(["ledger", "event", "add", "--db", db, str(bad)]) == 1
    assert "points_per_km is missing" in capsys.readouterr().err
    assert main(["ledger", "event", "add", "--db", db, str(tmp_path / "missing.toml")]) == 1
    assert main(["ledger", "event", "add", "--db", "nosuchdialect://x", str(ev)]) == 1
    assert "bad ledger database URL" in capsys.readouterr().err
    assert main(["ledger"]) == 2
    assert main(["ledger", "token", "add", "--db", db]) == 2
    assert main(["ledger", "frobnicate"]) == 2


def test_sync_forever_stops_cleanly_on_sigterm(sqlite_ledger: Ledger, tmp_path: Path) -> None:
    from station.store import Store

    data = tmp_path / "st"
    with Store(data) as s:
        s.append_many([("read", {"reader": "r1", "point": "finish", "chip": f"c{i}", "t": i}) for i in range(20)])
        sid = s.station_id
    tok = sqlite_ledger.token(sid)
    proc = subprocess.Popen([sys.executable, "-m", "station.cli", "--data", str(data), "sync", "--ledger",
                             sqlite_ledger.url, "--token", tok], stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 20
        while sqlite_ledger.count("SELECT COUNT(*) FROM entries") < 20:
            assert time.monotonic() < deadline and proc.poll() is None
            time.sleep(0.05)
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=20)
    assert proc.returncode == 0, err
    assert "sync: online; waiting 0" in err


def test_exclude_own_skips_the_callers_stream(sqlite_ledger: Ledger) -> None:
    led = sqlite_ledger
    ta, tb = led.token("a"), led.token("b")
    for s, t in (("a", ta), ("b", tb)):
        httpx.post(f"{led.url}/v1/events/wo-run-test/stations/{s}/entries",
                   json=[{"seq": 1, "uuid": f"u-{s}", "kind": "race_closed", "payload": {"race": "10k"}, "recorded_at": 1}],
                   headers={"Authorization": f"Bearer {t}"}).raise_for_status()
    r = httpx.get(f"{led.url}/v1/events/wo-run-test/entries", params={"exclude_own": "true"},
                  headers={"Authorization": f"Bearer {ta}"}).json()
    assert [e["station_id"] for e in r["entries"]] == ["b"]
    r = httpx.get(f"{led.url}/v1/events/wo-run-test/entries",
                  headers={"Authorization": f"Bearer {ta}"}).json()
    assert [e["station_id"] for e in r["entries"]] == ["a", "b"]


def test_ledger_serve_stops_cleanly_on_sigterm(tmp_path: Path) -> None:
    """DESIGN: long-running verbs exit 0 on SIGTERM (uvicorn alone would re-raise the signal)."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([sys.executable, "-m", "station.cli", "ledger", "serve", "--db",
                             f"sqlite:///{(tmp_path / 'l.db').as_posix()}", "--port", str(port)],
                            stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 30
        while True:
            assert proc.poll() is None and time.monotonic() < deadline
            try:
                if httpx.get(f"http://127.0.0.1:{port}/v1/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err


def test_a_revoked_token_is_refused_and_what_it_sent_stays(sqlite_ledger: Ledger, capsys: Any) -> None:
    """A lost laptop: the organiser lists the tokens, revokes that station's, and its next push is
    refused with 401 while everything it sent before stays on the ledger."""
    led = sqlite_ledger
    lost, other = led.token("finish-2"), led.token("finish-1", publish=True)
    url = f"{led.url}/v1/events/wo-run-test/stations/finish-2/entries"
    one = [{"seq": 1, "uuid": "u-1", "kind": "race_closed", "payload": {"race": "10k"}, "recorded_at": 1}]
    httpx.post(url, json=one, headers={"Authorization": f"Bearer {lost}"}).raise_for_status()
    assert main(["ledger", "token", "list", "--db", led.db_url, "--event", "wo-run-test"]) == 0
    rows = [ln.split("\t") for ln in capsys.readouterr().out.strip().splitlines()]
    assert rows[0] == ["id", "event", "station", "role", "publish", "created", "revoked"]
    assert [(r[2], r[3], r[4], r[6]) for r in rows[1:]] == [("finish-2", "timing", "no", "-"),
                                                            ("finish-1", "results", "yes", "-")]
    assert lost not in "".join(map("".join, rows))  # only hashes are kept: the list never shows a token
    assert main(["ledger", "token", "revoke", "--db", led.db_url, "--event", "wo-run-test",
                 "--station", "finish-2"]) == 0
    assert "revoked 1 token" in capsys.readouterr().out
    two = [{"seq": 2, "uuid": "u-2", "kind": "race_closed", "payload": {"race": "10k"}, "recorded_at": 2}]
    r = httpx.post(url, json=two, headers={"Authorization": f"Bearer {lost}"})
    assert r.status_code == 401 and "revoked" in r.json()["error"]
    assert led.count("SELECT COUNT(*) FROM entries WHERE station_id='finish-2'") == 1
    ok = httpx.get(f"{led.url}/v1/events/wo-run-test/entries", headers={"Authorization": f"Bearer {other}"})
    assert ok.status_code == 200
    assert main(["ledger", "token", "list", "--db", led.db_url]) == 0
    assert capsys.readouterr().out.splitlines()[1].split("\t")[5] != "-"
    # Again: nothing left to revoke is an error that says so; no selector is a usage error.
    assert main(["ledger", "token", "revoke", "--db", led.db_url, "--token", lost]) == 1
    assert "no live token matched" in capsys.readouterr().err
    assert main(["ledger", "token", "revoke", "--db", led.db_url, "--event", "wo-run-test"]) == 1
    assert "--token, --id, or --event with --station" in capsys.readouterr().err
