"""Token roles (issue 15): the ledger checks each entry's kind against the token's role before
anything else (403 naming the kind, nothing of the batch stored), and no legitimate station's stream
stalls: every station's own `event load` sends a copy of the registered configuration, which any role
may send; only an organizer may send a different one."""

from __future__ import annotations

import copy
import io
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from ledger_testkit import (
    EVENT_ID,
    GUN_MS,
    Ledger,
    event_config,
    participant,
    push,
    read,
    result,
    wire,
    write_event,
)

from ledger.auth import check_token, new_token
from ledger.db import open_database
from ledger.events import parse_event_file, register
from station.cli import main
from station.store import Store
from station.sync import SyncEngine

CHECKIN = {"registration_id": "r1", "bib": "1", "race": "10k", "verdict": "ok", "method": "scan", "flagged": False}


def refused(led: Ledger, tok: str, station: str, kind: str, payload: dict[str, Any]) -> dict[str, Any]:
    r = push(led.url, tok, station, [wire(1, "race_closed", {"race": "10k"}) if kind != "race_closed"
                                     else wire(1, "participant", participant(1)), wire(2, kind, payload)])
    assert r.status_code == 403, (kind, r.text)
    return r.json()


def test_a_checkin_token_writes_desk_kinds_only(sqlite_ledger: Ledger, tmp_path: Path) -> None:
    led = sqlite_ledger
    tok = led.token("desk-1", role="checkin")
    ok = [wire(1, "event_config", event_config(tmp_path)), wire(2, "participant", participant(1)),
          wire(3, "checkin", CHECKIN), wire(4, "chip_assigned", {"registration_id": "r1", "chip": "C9"}),
          wire(5, "ticket_revoked", {"jti": "j1", "reason": "lost"}),
          wire(6, "checkin_refused", {"verdict": "invalid", "reason": "bad"})]
    assert push(led.url, tok, "desk-1", ok).json() == {"acked_seq": 6}
    for kind, payload in [("read", read(1, "finish", GUN_MS)), ("gun", {"wave": "A", "t": GUN_MS}),
                          ("correction", {"action": "dq", "registration_id": "r1"}),
                          ("result_published", result("r1")), ("clock_offset", {"reader": "x", "offset_ms": 1})]:
        r = push(led.url, tok, "desk-1", [wire(7, "participant", participant(2)), wire(8, kind, payload)])
        assert r.status_code == 403, r.text
        body = r.json()
        assert body["code"] == "forbidden" and body["kind"] == kind and body["seq"] == 8
        assert f"checkin token may not write {kind}" in body["error"]
    assert led.count("SELECT COUNT(*) FROM entries WHERE station_id='desk-1'") == 6  # nothing of those


def test_only_an_organizer_changes_the_event_configuration(sqlite_ledger: Ledger, tmp_path: Path) -> None:
    led = sqlite_ledger
    changed = copy.deepcopy(event_config(tmp_path))
    changed["races"][0]["distance_m"] = 100  # a 100 m "10 km": points for nothing
    for role in ("checkin", "timing", "results"):
        tok = led.token(f"st-{role}", role=role)
        r = push(led.url, tok, f"st-{role}", [wire(1, "event_config", changed)])
        assert r.status_code == 403 and r.json()["kind"] == "event_config", r.text
        assert "differs from the event registered" in r.json()["error"]
        assert push(led.url, tok, f"st-{role}", [wire(1, "event_config", event_config(tmp_path))]).status_code == 200
    org = led.token("st-org", role="organizer")
    assert push(led.url, org, "st-org", [wire(1, "event_config", changed)]).status_code == 200
    # results only with a results or organizer token (--publish is the results role)
    assert push(led.url, led.token("pub", publish=True), "pub", [wire(1, "result_published", result("r1"))]
                ).status_code == 200
    assert refused(led, led.token("tim", role="timing"), "tim", "result_published", result("r1"))["kind"] \
        == "result_published"


def test_no_legitimate_station_stalls(sqlite_ledger: Ledger, tmp_path: Path) -> None:
    """A timing station and a desk, each with its own `event load` (and, for the timing station, a
    configuration registered before the organizer's latest change), sync everything."""
    led = sqlite_ledger
    old = event_config(tmp_path)
    with Store(tmp_path / "finish", station_id="finish") as fin, Store(tmp_path / "desk", station_id="desk") as desk:
        fin.append("event_config", old)
        fin.append_many([("participant", participant(1)), ("read", read(1, "finish", GUN_MS + 2_500_000))])
        # the organizer registers a new version of the file before the finish station syncs
        ev = tmp_path / "v2.toml"
        ev.write_text((tmp_path / f"{EVENT_ID}.toml").read_text(encoding="utf-8").replace(
            'name = "WO.RUN Test"', 'name = "WO.RUN Test (v2)"'), encoding="utf-8")
        rule, cfg = parse_event_file(ev)
        register(led.db, rule, cfg)
        desk.append("event_config", cfg)
        desk.append("checkin", CHECKIN)
        for st, role in ((fin, "timing"), (desk, "checkin")):
            e = SyncEngine(st, led.url, led.token(st.station_id, role=role))
            try:
                e.sync_once()
                assert e.status.last_error is None
            finally:
                e.close()
            assert led.count("SELECT COUNT(*) FROM entries WHERE station_id=:s", s=st.station_id) == st.last_seq()


def test_token_cli_roles_and_older_databases(tmp_path: Path) -> None:
    db_url = f"sqlite:///{(tmp_path / 'l.sqlite3').as_posix()}"
    db = open_database(db_url)
    rule, cfg = parse_event_file(write_event(tmp_path))
    register(db, rule, cfg)
    old_pub, old_plain = new_token(db, EVENT_ID, "a", publish=True), new_token(db, EVENT_ID, "b")
    with db.write.begin() as c:  # a database from before roles: no role column
        c.execute(sa.text("ALTER TABLE tokens DROP COLUMN role"))
    db.dispose()
    db = open_database(db_url)  # adds the column, maps publish → results, others → timing
    assert check_token(db, old_pub).role == "results" and check_token(db, old_plain).role == "timing"  # type: ignore[union-attr]
    db.dispose()
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        assert main(["ledger", "token", "add", "--db", db_url, "--event", EVENT_ID, "--station", "d",
                     "--role", "checkin"]) == 0
        assert main(["ledger", "token", "add", "--db", db_url, "--event", EVENT_ID, "--station", "p",
                     "--publish"]) == 0
        assert main(["ledger", "token", "list", "--db", db_url]) == 0
        assert main(["ledger", "token", "add", "--db", db_url, "--event", EVENT_ID, "--station", "x",
                     "--role", "boss"]) == 2
    rows = [ln.split("\t") for ln in out.getvalue().splitlines() if "\t" in ln]
    assert rows[0][3] == "role"
    assert [(r[2], r[3]) for r in rows[1:]] == [("a", "results"), ("b", "timing"), ("d", "checkin"),
                                                ("p", "results")]
