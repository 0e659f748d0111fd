"""Points accounts and who may credit or read them (issue 15): accounts per runner id or per (event,
registration); a results token credits only its own event's listed participants; `recorded_at` is bounded
by the ledger's (pinned) clock; a balance is read with a token of an event the account belongs to."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from ledger_testkit import EVENT_ID, Ledger, points, push, result, roster, wire, write_event

from ledger.events import parse_event_file, register
from ledger.streams import MAX_AHEAD_MS

NOW = 1_795_920_000_000  # the ledger's pinned clock (2026-11-29, race day)
OTHER = "other-event"


@pytest.fixture
def led(db_url: str, tmp_path: Path) -> Iterator[Ledger]:
    led = Ledger(db_url, tmp_path, clock=lambda: NOW)
    rule, cfg = parse_event_file(write_event(tmp_path, OTHER))
    register(led.db, rule, cfg)
    yield led
    led.close()


def _get(led: Ledger, token: str | None, runner: str, event: str | None = None) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.get(f"{led.url}/v1/runners/{runner}/points", headers=headers,
                     params={"event": event} if event else None, timeout=30)


def _set_aside(led: Ledger, event: str, reg: str) -> str | None:
    with led.db.read.connect() as c:
        import sqlalchemy as sa

        return c.execute(sa.text("SELECT set_aside FROM results WHERE event_id = :e AND registration_id = :r"),
                         {"e": event, "r": reg}).scalar()


def test_same_registration_id_in_two_events_is_two_accounts(led: Ledger) -> None:
    roster(led, {"R001": None})
    roster(led, {"R001": None}, event=OTHER)
    a = led.token("res", publish=True)
    b = led.token("res", publish=True, event=OTHER)
    assert push(led.url, a, "res", [wire(1, "result_published", result("R001"))]).status_code == 200
    assert push(led.url, b, "res", [wire(1, "result_published", result("R001", race="half"))],
                event=OTHER).status_code == 200
    mine = points(led.url, a, "R001", event=EVENT_ID)
    assert mine["balance"] == 100 and mine["event"] == EVENT_ID
    assert {x["event"] for x in mine["lines"]} == {EVENT_ID}
    theirs = points(led.url, b, "R001", event=OTHER)
    assert theirs["balance"] == 210 and {x["event"] for x in theirs["lines"]} == {OTHER}
    # Without ?event= the path names a runner id: nobody has R001 as one; the refusal says where to look.
    r = _get(led, a, "R001")
    assert r.status_code == 403 and f"/v1/runners/R001/points?event={EVENT_ID}" in r.json()["error"]
    # A token reads the registration accounts of its own event only.
    r = _get(led, a, "R001", OTHER)
    assert r.status_code == 403 and r.json()["code"] == "forbidden" and OTHER in r.json()["error"]


def test_results_token_credits_only_its_events_listed_participants(led: Ledger) -> None:
    roster(led, {"r1": "R1", "r2": None})
    roster(led, {"x1": "RX"}, event=OTHER)
    a = led.token("res", publish=True)
    b = led.token("res", publish=True, event=OTHER)
    batch = [wire(1, "result_published", result("r1", runner="R1")),
             wire(2, "result_published", result("r9")),                    # not in the list
             wire(3, "result_published", result("r2", runner="RX"))]        # a runner id the list does not give
    r = push(led.url, a, "res", batch)
    assert r.status_code == 200 and r.json() == {"acked_seq": 3}  # never refused: the stream goes on
    assert points(led.url, a, "R1")["balance"] == 100
    assert points(led.url, b, "RX")["lines"] == []
    assert points(led.url, a, "r2", event=EVENT_ID)["lines"] == []
    assert "not in the participant list" in (_set_aside(led, EVENT_ID, "r9") or "")
    assert "differs from the participant list" in (_set_aside(led, EVENT_ID, "r2") or "")
    official = httpx.get(f"{led.url}/v1/events/{EVENT_ID}/results",
                         headers={"Authorization": f"Bearer {a}"}).json()["results"]
    assert [x["registration_id"] for x in official] == ["r1"]
    # Another event's results token naming our runner's registration and runner id credits nothing.
    assert push(led.url, b, "res", [wire(1, "result_published", result("r1", runner="R1"))],
                event=OTHER).status_code == 200
    assert points(led.url, a, "R1")["balance"] == 100
    assert len(points(led.url, a, "R1")["lines"]) == 1
    # The stored entries are all there for the stations to pull.
    assert led.count("SELECT COUNT(*) FROM entries WHERE kind = 'result_published'") == 4
    # A walk-up reaches the list later: its set-aside finish counts from then on.
    roster(led, {"r9": "R9"}, first_seq=3)
    assert points(led.url, a, "R9")["balance"] == 100
    assert _set_aside(led, EVENT_ID, "r9") is None
    # A credited runner taken off the runner id the result names: reversal, with the reason.
    roster(led, {"r1": "R1-new"}, first_seq=4)
    acct = points(led.url, a, "R1")
    assert acct["balance"] == 0 and "set aside" in acct["lines"][-1]["reason"]


def test_recorded_at_is_bounded_by_the_ledgers_clock(led: Ledger) -> None:
    roster(led, {"r1": "R1"})
    tok = led.token("res", publish=True)
    pinned = [wire(1, "read"), wire(2, "result_published", result("r1", runner="R1"), recorded_at=2**53 - 1)]
    r = push(led.url, tok, "res", pinned)
    assert r.status_code == 422
    body = r.json()
    assert body["code"] == "malformed" and body["seq"] == 2 and body["field"] == "recorded_at"
    assert "ahead of the ledger's clock" in body["error"]
    assert led.count("SELECT COUNT(*) FROM entries WHERE station_id = 'res'") == 0
    # A participant entry decides the account: bounded the same way.
    desk = led.token("desk2", role="checkin")
    r = push(led.url, desk, "desk2", [wire(1, "participant", {"registration_id": "r1", "runner_id": "MINE"},
                                          recorded_at=NOW + MAX_AHEAD_MS + 1)])
    assert r.status_code == 422 and r.json()["field"] == "recorded_at"
    # Up to the bound is accepted (a station clock a few minutes fast), and a later entry still wins.
    ok = [wire(1, "read"), wire(2, "result_published", result("r1", runner="R1"), recorded_at=NOW + MAX_AHEAD_MS)]
    assert push(led.url, tok, "res", ok).status_code == 200
    assert points(led.url, tok, "R1")["balance"] == 100
    assert push(led.url, tok, "res", [wire(3, "result_published", result("r1", "DQ", runner="R1"),
                                           recorded_at=NOW + MAX_AHEAD_MS + 1)]).status_code == 422
    assert push(led.url, tok, "res", [wire(3, "result_published", result("r1", "DQ", runner="R1"),
                                           recorded_at=NOW + MAX_AHEAD_MS)]).status_code == 200
    assert points(led.url, tok, "R1")["balance"] == 0


def test_who_reads_a_balance(led: Ledger) -> None:
    roster(led, {"r1": "R1"})
    roster(led, {"x1": "R1", "x2": "R2"}, event=OTHER)
    mine = led.token("desk-a", role="checkin")
    other = led.token("res", publish=True, event=OTHER)
    assert push(led.url, other, "res", [wire(1, "result_published", result("x2", runner="R2"))],
                event=OTHER).status_code == 200
    assert _get(led, None, "R1").status_code == 401
    assert _get(led, "wrs_nope", "R1").status_code == 401
    # Any valid token of an event whose participant list names the runner (the account spans events).
    assert _get(led, mine, "R1").status_code == 200
    assert _get(led, other, "R1").status_code == 200
    # Not a runner of another event: R2 ran only the other event.
    r = _get(led, mine, "R2")
    assert r.status_code == 403 and r.json()["code"] == "forbidden"
    assert _get(led, other, "R2").json()["balance"] == 100
    # Hostile addressing is a clear 4xx.
    for runner, event in (("a%00b", None), ("R1", "e%00"), ("x" * 300, None), ("R1", "y" * 300)):
        r = httpx.get(f"{led.url}/v1/runners/{runner}/points" + (f"?event={event}" if event else ""),
                      headers={"Authorization": f"Bearer {mine}"})
        assert r.status_code == 422 and r.json()["code"] == "malformed", (runner, event, r.text)


def test_a_ledger_from_before_accounts_is_upgraded(led: Ledger) -> None:
    roster(led, {"r1": None, "r2": "R2"})
    tok = led.token("res", publish=True)
    assert push(led.url, tok, "res", [wire(1, "result_published", result("r1")),
                                      wire(2, "result_published", result("r2", runner="R2"))]).status_code == 200
    led.stop()
    import sqlalchemy as sa

    from ledger.db import open_database

    with led.db.write.begin() as c:  # back to the version-1 shape: no list, accounts by bare id
        c.execute(sa.text("DROP TABLE participants"))
        c.execute(sa.text("ALTER TABLE results DROP COLUMN credit_event"))
        c.execute(sa.text("ALTER TABLE results DROP COLUMN set_aside"))
        c.execute(sa.text("ALTER TABLE point_lines DROP COLUMN account_event"))
    led.db.dispose()
    led.db = open_database(led.db_url)
    led.start()
    assert led.count("SELECT COUNT(*) FROM participants") == 2
    assert points(led.url, tok, "r1", event=EVENT_ID)["balance"] == 100
    assert points(led.url, tok, "R2")["balance"] == 100
    # The upgraded ledger goes on: a DQ reverses the registration account's credit.
    assert push(led.url, tok, "res", [wire(3, "result_published", result("r1", "DQ"))]).status_code == 200
    assert points(led.url, tok, "r1", event=EVENT_ID)["balance"] == 0
