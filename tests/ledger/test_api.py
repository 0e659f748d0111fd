"""The ledger HTTP API against a real server, on SQLite and PostgreSQL: streams, cursor, limits, auth."""

from __future__ import annotations

import json

import httpx
from ledger_testkit import Ledger, pull_all, push, result, wire

from ledger import streams


def stored(led: Ledger) -> int:
    return led.count("SELECT COUNT(*) FROM entries")


def test_push_is_idempotent_and_gap_free(ledger: Ledger) -> None:
    tok = ledger.token("st-a")
    batch = [wire(i) for i in range(1, 6)]
    r = push(ledger.url, tok, "st-a", batch)
    assert r.status_code == 200, r.text
    assert r.json() == {"acked_seq": 5}
    # The same batch again (the answer was lost): acknowledged again, stored once.
    assert push(ledger.url, tok, "st-a", batch).json() == {"acked_seq": 5}
    # Overlapping batch: 4..8 — old ones re-acknowledged, new ones stored.
    more = batch[3:] + [wire(i) for i in range(6, 9)]
    assert push(ledger.url, tok, "st-a", more).json() == {"acked_seq": 8}
    assert stored(ledger) == 8
    # A gap (starts after acked + 1): refused whole, the answer says where the ledger stands.
    r = push(ledger.url, tok, "st-a", [wire(10), wire(11)])
    assert r.status_code == 409
    assert r.json()["code"] == "gap" and r.json()["acked_seq"] == 8
    assert stored(ledger) == 8


def test_same_seq_other_uuid_is_refused_loudly(ledger: Ledger) -> None:
    tok = ledger.token("st-a")
    push(ledger.url, tok, "st-a", [wire(1), wire(2)])
    # A station whose database was replaced starts again at seq 1 with new uuids.
    r = push(ledger.url, tok, "st-a", [wire(1), wire(2), wire(3)])
    assert r.status_code == 409
    body = r.json()
    assert body["code"] == "conflict" and body["seq"] == 1
    assert "another uuid" in body["error"] and "replaced" in body["error"]
    assert stored(ledger) == 2


def test_malformed_batches_are_refused_whole(ledger: Ledger) -> None:
    tok = ledger.token("st-a", publish=True)
    bad: list[tuple[object, str]] = [
        ([], "empty"),
        ({"x": 1}, "JSON list"),
        ([wire(1), {**wire(2), "kind": "nonsense"}], "unknown kind"),
        ([wire(1), {**wire(2), "payload": "x"}], "payload must be a JSON object"),
        ([wire(1), {**wire(2), "seq": "2"}], "seq must be a positive integer"),
        ([wire(1), {**wire(2), "recorded_at": 1.5}], "recorded_at"),
        ([wire(1), wire(3)], "without gaps"),
        ([wire(1), {**wire(2), "uuid": ""}], "uuid"),
        ([wire(1), {**wire(2), "station_id": "st-b"}], "differs"),
        ([wire(1, "result_published", {"registration_id": "r1", "race": "10k", "status": "won"})],
         "payload.status: expected one of"),
    ]
    for body, words in bad:
        r = push(ledger.url, tok, "st-a", body)
        assert r.status_code in (400, 422), (body, r.text)
        assert words in r.json()["error"], (words, r.json())
    r = push(ledger.url, tok, "st-a", None, content=b"{not json")
    assert r.status_code == 400 and "not valid JSON" in r.json()["error"]
    assert stored(ledger) == 0


def test_oversized_batches_are_refused(ledger: Ledger) -> None:
    tok = ledger.token("st-a")
    too_many = [wire(i, payload={}) for i in range(1, streams.MAX_BATCH + 2)]
    r = push(ledger.url, tok, "st-a", too_many)
    assert r.status_code == 413 and "too large" in r.json()["error"]
    huge = json.dumps([wire(1, payload={"raw": "x" * (streams.MAX_BODY_BYTES + 10)})]).encode()
    r = push(ledger.url, tok, "st-a", None, content=huge)
    assert r.status_code == 413 and "too large" in r.json()["error"]
    r = push(ledger.url, tok, "st-a", [wire(1, payload={"raw": "x" * (streams.MAX_PAYLOAD_BYTES + 1)})])
    assert r.status_code == 413 and "payload larger" in r.json()["error"]
    assert stored(ledger) == 0


def test_auth(ledger: Ledger) -> None:
    tok_a = ledger.token("st-a")
    tok_b = ledger.token("st-b")
    # Missing, malformed, unknown token.
    r = push(ledger.url, None, "st-a", [wire(1)])
    assert r.status_code == 401 and "missing bearer token" in r.json()["error"]
    r = httpx.post(f"{ledger.url}/v1/events/wo-run-test/stations/st-a/entries", json=[wire(1)],
                   headers={"Authorization": "Basic abc"})
    assert r.status_code == 401
    r = push(ledger.url, "wrs_forged", "st-a", [wire(1)])
    assert r.status_code == 401 and "unknown" in r.json()["error"]
    # Writing another station's stream.
    r = push(ledger.url, tok_b, "st-a", [wire(1)])
    assert r.status_code == 403 and "only station 'st-b'" in r.json()["error"]
    # Another event.
    r = push(ledger.url, tok_a, "st-a", [wire(1)], event="other-event")
    assert r.status_code == 403
    # Results need --publish.
    r = push(ledger.url, tok_a, "st-a", [wire(1), wire(2, "result_published", result("r1"))])
    assert r.status_code == 403 and "timing token may not write result_published" in r.json()["error"]
    # Pull and points need a valid token too.
    assert httpx.get(f"{ledger.url}/v1/events/wo-run-test/entries").status_code == 401
    assert httpx.get(f"{ledger.url}/v1/runners/x/points").status_code == 401
    assert stored(ledger) == 0
    assert ledger.count("SELECT COUNT(*) FROM point_lines") == 0
    # The stored token is a hash, never the token itself.
    with ledger.db.read.connect() as c:
        hashes = [r[0] for r in c.exec_driver_sql("SELECT token_hash FROM tokens")]
    assert tok_a not in hashes and len(hashes[0]) == 64


def test_unknown_race_in_result_is_refused(ledger: Ledger) -> None:
    tok = ledger.token("pub", publish=True)
    r = push(ledger.url, tok, "pub", [wire(1, "result_published", result("r1", race="marathon"))])
    assert r.status_code == 422 and "not registered" in r.json()["error"]
    assert stored(ledger) == 0


def test_pull_cursor_walks_every_station_in_order(ledger: Ledger) -> None:
    toks = {s: ledger.token(s) for s in ("a", "b", "c")}
    for s, n in (("a", 7), ("b", 3), ("c", 12)):
        assert push(ledger.url, toks[s], s, [wire(i) for i in range(1, n + 1)]).status_code == 200
    got = pull_all(ledger.url, toks["a"], limit=4)
    assert [(e["station_id"], e["seq"]) for e in got] == sorted(
        [("a", i) for i in range(1, 8)] + [("b", i) for i in range(1, 4)] + [("c", i) for i in range(1, 13)])
    # Pulling after the final cursor returns nothing; new entries appear after it.
    r = httpx.get(f"{ledger.url}/v1/events/wo-run-test/entries", params={"limit": 100},
                  headers={"Authorization": f"Bearer {toks['b']}"}).json()
    cursor = r["cursor"]
    push(ledger.url, toks["b"], "b", [wire(4)])
    r = httpx.get(f"{ledger.url}/v1/events/wo-run-test/entries", params={"cursor": cursor},
                  headers={"Authorization": f"Bearer {toks['b']}"}).json()
    assert [(e["station_id"], e["seq"]) for e in r["entries"]] == [("b", 4)] and not r["more"]
    bad = httpx.get(f"{ledger.url}/v1/events/wo-run-test/entries", params={"cursor": "@@"},
                    headers={"Authorization": f"Bearer {toks['b']}"})
    assert bad.status_code == 400 and "cursor" in bad.json()["error"]


def test_pull_returns_payloads_intact(ledger: Ledger) -> None:
    tok = ledger.token("a")
    payload = {"reader": "r1", "point": "finish", "chip": "c1", "t": 1,
               "raw": 'line "quoted" \\ 张三 \u2028', "n": [1, 2.5, None, True], "nested": {"k": "v"}}
    e = wire(1, payload=payload)
    e["operator"] = "志愿者 \"1\""
    push(ledger.url, tok, "a", [e])
    (got,) = pull_all(ledger.url, tok)
    assert got["payload"] == payload and got["operator"] == e["operator"] and got["uuid"] == e["uuid"]
