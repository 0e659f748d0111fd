"""Points on the ledger: one live credit per finish, reversals, reinstatements, the registered rule."""

from __future__ import annotations

import httpx
from ledger_testkit import Ledger, points, push, result, roster, wire, write_event

from ledger.events import parse_event_file, register


def test_credit_reversal_reinstatement(ledger: Ledger) -> None:
    roster(ledger, {"r1": "R1"})
    tok = ledger.token("res", publish=True)
    seq = iter(range(1, 100))

    def pub(*payloads: dict) -> None:
        r = push(ledger.url, tok, "res", [wire(next(seq), "result_published", p) for p in payloads])
        assert r.status_code == 200, r.text

    pub(result("r1", runner="R1"))
    acct = points(ledger.url, tok, "R1")
    assert acct["balance"] == 100  # 10 points/km × 10 km
    (line,) = acct["lines"]
    assert line["kind"] == "credit" and line["event"] == "wo-run-test"
    assert "10 km" in line["reason"] and "0:41:22" in line["reason"]  # 2,481,001 ms rounds up
    # A corrected time keeps the one live credit.
    pub(result("r1", runner="R1", chip_ms=2_400_000))
    assert points(ledger.url, tok, "R1")["balance"] == 100
    assert len(points(ledger.url, tok, "R1")["lines"]) == 1
    # DQ: a reversal line; DQ again: nothing more.
    pub(result("r1", "DQ", runner="R1"))
    pub(result("r1", "DQ", runner="R1"))
    acct = points(ledger.url, tok, "R1")
    assert acct["balance"] == 0
    assert [x["kind"] for x in acct["lines"]] == ["credit", "reversal"]
    assert "DQ" in acct["lines"][1]["reason"]
    # Reinstated: a new credit, never two live ones.
    pub(result("r1", runner="R1"), result("r1", runner="R1"))
    acct = points(ledger.url, tok, "R1")
    assert acct["balance"] == 100
    assert [x["kind"] for x in acct["lines"]] == ["credit", "reversal", "credit"]
    # The results endpoint has the latest finished result.
    res = httpx.get(f"{ledger.url}/v1/events/wo-run-test/results",
                    headers={"Authorization": f"Bearer {tok}"}).json()["results"]
    assert [(r["registration_id"], r["status"]) for r in res] == [("r1", "finished")]


def test_latest_by_entry_order_not_arrival(ledger: Ledger) -> None:
    roster(ledger, {"r2": None})
    a = ledger.token("res-a", publish=True)
    b = ledger.token("res-b", publish=True)
    # res-b's DQ was recorded later than res-a's finish but reaches the ledger first.
    push(ledger.url, b, "res-b", [wire(1, "result_published", result("r2", "DQ"), recorded_at=2000)])
    push(ledger.url, a, "res-a", [wire(1, "result_published", result("r2"), recorded_at=1000)])
    acct = points(ledger.url, a, "r2", event="wo-run-test")  # no runner id: the event's registration
    assert acct["balance"] == 0 and acct["lines"] == []
    push(ledger.url, a, "res-a", [wire(2, "result_published", result("r2"), recorded_at=3000)])
    assert points(ledger.url, a, "r2", event="wo-run-test")["balance"] == 100


def test_rule_is_the_ledgers_and_balance_spans_events(ledger: Ledger) -> None:
    rule, cfg = parse_event_file(write_event(ledger.tmp, "second-event", ppk=2.5))
    register(ledger.db, rule, cfg)
    roster(ledger, {"r9": "R7"})
    roster(ledger, {"h1": "R7"}, event="second-event")
    t1 = ledger.token("res", publish=True)
    t2 = ledger.token("res", publish=True, event="second-event")
    push(ledger.url, t1, "res", [wire(1, "result_published", {**result("r9", runner="R7"),
                                                              "points": 99999})])
    half = result("h1", race="half", runner="R7")
    assert push(ledger.url, t2, "res", [wire(1, "result_published", half)], event="second-event").status_code == 200
    acct = points(ledger.url, t1, "R7")
    # 100 for the 10 km; floor(2.5 × 21.097) = 52 for the half; the station's "points" is ignored.
    assert sorted(x["points"] for x in acct["lines"]) == [52, 100]
    assert acct["balance"] == 152
    assert {x["event"] for x in acct["lines"]} == {"wo-run-test", "second-event"}


def test_runner_id_arriving_later_moves_the_credit(ledger: Ledger) -> None:
    nxt = roster(ledger, {"r3": None})
    tok = ledger.token("res", publish=True)
    push(ledger.url, tok, "res", [wire(1, "result_published", result("r3"))])
    assert points(ledger.url, tok, "r3", event="wo-run-test")["balance"] == 100
    # The desk adds the runner id: the list decides the account, so the credit moves at once …
    roster(ledger, {"r3": "R3"}, first_seq=nxt)
    assert points(ledger.url, tok, "r3", event="wo-run-test")["balance"] == 0
    assert points(ledger.url, tok, "R3")["balance"] == 100
    # … and the results station's republication naming it changes nothing more.
    push(ledger.url, tok, "res", [wire(2, "result_published", result("r3", runner="R3"))])
    assert points(ledger.url, tok, "R3")["balance"] == 100
    assert ledger.count("SELECT COUNT(*) FROM point_lines WHERE kind='credit'") == 2
