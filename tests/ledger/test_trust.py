"""Trust between stations (issue 15): a malformed entry from a peer never crashes a station.

A ledger of another version (or a bug) may serve entries that break the entry contract. They are
planted straight into the ledger's database here — the ledger itself refuses them on push — and two
real stations pull through a real ledger on loopback: the one that pulled the bad entries keeps them
set aside (quarantined, counted by `info`), and its results, exports and manual entries are exactly
those of a station that never saw them.
"""

from __future__ import annotations

import io
import json
import uuid
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path
from typing import Any

import pytest
from ledger_testkit import EVENT_ID, GUN_MS, Ledger, event_config, finish_time, participant, push, read, wire

from ledger import db as schema
from station.cli import main
from station.store import Store
from station.sync import KEY_CURSOR, SyncEngine

BAD_PAYLOADS: list[tuple[str, Any]] = [
    ("gun", {}),
    ("gun", {"wave": "A", "t": "07:30"}),
    ("read", {"reader": "finish-1", "point": "finish", "chip": ["C00001"], "t": GUN_MS}),
    ("read", {"reader": "finish-1", "point": "finish", "chip": "C00001", "t": 10**4000}),
    ("manual_time", {"bib": "1", "point": "finish", "t": None}),
    ("clock_offset", {"reader": "finish-1", "from_ms": 0}),
    ("race_closed", {"race": {"id": "10k"}}),
    ("participant", {"registration_id": "r1", "chips": "C00001"}),
    ("participant", {"bib": "77"}),
    ("chip_assigned", {"registration_id": "r2"}),
    ("correction", {"action": "adjust", "registration_id": "r1", "delta_ms": "60000"}),
    ("correction", {"action": "chip_swap", "registration_id": "r1", "chip": "C00002"}),
    ("correction", {"action": "explode"}),
    ("event_config", {"event": "nope"}),
    ("checkin", {"registration_id": 5}),
]


def plant(led: Ledger, station: str, entries: list[tuple[str, Any]]) -> None:
    """Entries written straight into the ledger's database, past its checks (an older ledger's data)."""
    with led.db.write.begin() as conn:
        conn.execute(schema.streams.insert().values(event_id=EVENT_ID, station_id=station,
                                                    acked_seq=len(entries)))
        for i, (kind, payload) in enumerate(entries, 1):
            conn.execute(schema.entries.insert().values(
                event_id=EVENT_ID, station_id=station, seq=i, uuid=str(uuid.uuid4()), kind=kind,
                payload=json.dumps(payload), recorded_at=1_700_000_000_000 + i, operator="evil",
                received_at=0))


def cli(data: Path, *args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = main(["--data", str(data), *args])
    return code, out.getvalue(), err.getvalue()


def race_day(st: Store, tmp: Path) -> None:
    st.append("event_config", event_config(tmp))
    st.append_many([("participant", participant(i)) for i in (1, 2, 3)])
    st.append_many([("read", read(i, "start", GUN_MS + 1_000 + i)) for i in (1, 2, 3)])
    st.append_many([("read", read(i, "finish", finish_time(i))) for i in (1, 2)])


def test_malformed_peer_entries_are_set_aside_and_change_nothing(sqlite_ledger: Ledger, tmp_path: Path) -> None:
    led = sqlite_ledger
    with Store(tmp_path / "finish", station_id="finish") as st:
        race_day(st, tmp_path)
        e = SyncEngine(st, led.url, led.token("finish"))
        e.sync_once()
        e.close()
    with Store(tmp_path / "clean", station_id="clean") as clean:  # pulls before anything bad exists
        e = SyncEngine(clean, led.url, led.token("clean"))
        e.sync_once()
        e.close()
    plant(led, "evil", BAD_PAYLOADS)
    with Store(tmp_path / "victim", station_id="victim") as victim:
        e = SyncEngine(victim, led.url, led.token("victim"))
        e.sync_once()
        assert e.status.quarantined == len(BAD_PAYLOADS) and e.status.last_error is None
        victim.set_state(KEY_CURSOR, "")  # a re-pull (as after a crash before the cursor was saved) …
        e.sync_once()  # … stores each bad entry once
        e.close()
        assert victim.quarantined_count() == len(BAD_PAYLOADS)
        kept = victim.quarantined()
        # kept exactly as received, with the field at fault named
        assert [(q["kind"], q["payload"]) for _, q in kept] == BAD_PAYLOADS
        reasons = [r for r, _ in kept]
        assert "payload.wave: missing" in reasons[0]
        assert "integer outside ±2^53" in reasons[3]
        assert "payload.delta_ms" in reasons[10]

    code, out, err = cli(tmp_path / "victim", "info")
    assert code == 0 and f"quarantined: {len(BAD_PAYLOADS)}" in out.splitlines(), err
    assert "quarantined: 0" in cli(tmp_path / "clean", "info")[1].splitlines()

    for fmt in ("csv", "json"):
        code_v, res_v, err_v = cli(tmp_path / "victim", "results", "--format", fmt)
        code_c, res_c, _ = cli(tmp_path / "clean", "results", "--format", fmt)
        assert code_v == 0 and code_c == 0, err_v
        assert res_v == res_c
    assert ",1,1," in res_c.replace('"', "") or '"status": "finished"' in res_c  # two finishers ranked

    code, _, err = cli(tmp_path / "victim", "export", "results", "--out", str(tmp_path / "r.csv"))
    assert code == 0 and (tmp_path / "r.csv").stat().st_size > 0, err
    code, out, err = cli(tmp_path / "victim", "manual", "--bib", "3", "--point", "finish", "--time", "08:20:00")
    assert code == 0 and "manual time recorded" in out, err


def test_the_ledger_refuses_each_malformed_entry_naming_seq_and_field(sqlite_ledger: Ledger) -> None:
    led = sqlite_ledger
    tok = led.token("st-a")
    for kind, payload in BAD_PAYLOADS:
        r = push(led.url, tok, "st-a", [wire(1), wire(2, kind, payload)])
        assert r.status_code == 422, (kind, payload, r.text)
        body = r.json()
        assert body["code"] == "malformed" and body["seq"] == 2 and body["field"].startswith("payload")
        assert "seq 2" in body["error"] and body["field"] in body["error"]
    assert led.count("SELECT COUNT(*) FROM entries") == 0  # nothing of any batch stored


@pytest.mark.parametrize("raw", [
    b'[{"seq":1,"uuid":"u","kind":{},"payload":{},"recorded_at":1}]',
    b'[{"seq":1,"uuid":"u","kind":[],"payload":{},"recorded_at":1}]',
    b'[{"seq":1,"uuid":"u","kind":"race_closed","payload":' + b'{"a":' * 5000 + b'1' + b'}' * 5000
    + b',"recorded_at":1}]',
    b'[' * 100_000 + b']' * 100_000,
    b'[{"seq":1,"uuid":"u\\ud800","kind":"race_closed","payload":{"race":"10k"},"recorded_at":1}]',
    b'[{"seq":1,"uuid":"u","kind":"race_closed","payload":{"race":"10k\\ud800"},"recorded_at":1}]',
    b'[{"seq":1,"uuid":"u\\u0000","kind":"race_closed","payload":{"race":"10k"},"recorded_at":1}]',
    b'[{"seq":1,"uuid":"u","kind":"race_closed","payload":{"race":"10\\u0000k"},"recorded_at":1}]',
    b'[{"seq":1,"uuid":"u","kind":"race_closed","payload":{"race":"' + b"r" * 201 + b'"},"recorded_at":1}]',
    b'[{"seq":1,"uuid":"u","kind":"gun","payload":{"wave":"A","t":NaN},"recorded_at":1}]',
    b'[{"seq":1,"uuid":"u","kind":"gun","payload":{"wave":"A","t":1,"x":Infinity},"recorded_at":1}]',
    b'[{"seq":1,"uuid":"u","kind":"race_closed","payload":{"race":"10k"},"recorded_at":1,"operator":"\\ud800"}]',
    b'[{"seq":1,"uuid":"u","kind":"race_closed","payload":{"race":"10k"},"recorded_at":1,"operator":"a\\u0000b"}]',
])
def test_hostile_bodies_get_a_4xx_with_the_error_body(ledger: Ledger, raw: bytes) -> None:
    """On SQLite and PostgreSQL (which cannot store NUL or lone surrogates: a 500 before)."""
    led = ledger
    r = push(led.url, led.token("st-a"), "st-a", None, content=raw)
    assert 400 <= r.status_code < 500, r.text
    body = r.json()
    assert set(body) >= {"error", "code"}
    assert led.count("SELECT COUNT(*) FROM entries") == 0


def test_the_payload_cap_counts_utf8_bytes(sqlite_ledger: Ledger) -> None:
    led = sqlite_ledger
    tok = led.token("st-a")
    base = {"reader": "r1", "point": "finish", "chip": "c", "t": 1}
    # 100,000 characters of three bytes each: under the cap in characters, over it in bytes
    r = push(led.url, tok, "st-a", [wire(1, "read", {**base, "note": "张" * 100_000})])
    assert r.status_code == 413 and "payload larger" in r.json()["error"]
    assert push(led.url, tok, "st-a", [wire(1, "read", {**base, "note": "张" * 80_000})]).status_code == 200


@pytest.mark.parametrize("runner", ["a%00b", "x" * 300])
def test_points_of_a_hostile_runner_id_is_a_4xx(ledger: Ledger, runner: str) -> None:
    import httpx

    led = ledger
    r = httpx.get(f"{led.url}/v1/runners/{runner}/points",
                  headers={"Authorization": f"Bearer {led.token('st-a')}"}, timeout=30)
    assert 400 <= r.status_code < 500 and set(r.json()) >= {"error", "code"}


def test_quarantined_entries_survive_as_sent(tmp_path: Path) -> None:
    """Lone surrogates, NaN and huge integers round-trip through the quarantine exactly."""
    from station.store import Quarantined

    with Store(tmp_path / "s", station_id="s") as st:
        odd = {"station_id": "p\ud800", "seq": 10**30, "uuid": "u", "kind": "gun",
               "payload": {"t": float("inf"), "n": 10**4000, "s": "\ud800"}, "recorded_at": 1}
        st.store_foreign([], [Quarantined(odd, "test")])
        st.store_foreign([], [Quarantined(odd, "test")])
        ((reason, back),) = st.quarantined()
        assert reason == "test" and back["payload"]["n"] == 10**4000 and back["payload"]["s"] == "\ud800"
        assert back["station_id"] == "p\ud800" and back["payload"]["t"] == float("inf")


def test_a_result_the_contract_refuses_is_not_published(tmp_path: Path) -> None:
    """A correction that puts the finish before the start gives a negative time: the ledger would refuse
    it (and stall the outbox), so the publisher leaves it out and says so, and publishes the rest."""
    from station.publish import Publisher

    with Store(tmp_path / "r", station_id="results") as st:
        st.append("event_config", event_config(tmp_path))
        st.append_many([("participant", participant(i)) for i in (1, 2)])
        st.append_many([("read", read(i, p, t)) for i in (1, 2)
                        for p, t in (("start", GUN_MS + 1_000), ("finish", finish_time(i)))])
        st.append("correction", {"action": "adjust", "registration_id": "r1", "delta_ms": -80_000_000})
        assert Publisher(st, now_ms=lambda: GUN_MS + 600_000).poll() == 1
        assert [e.payload["registration_id"] for e in st.entries(["result_published"])] == ["r2"]


@pytest.mark.parametrize("query", ["cursor=a%00b", "cursor=%ED%A0%80", "limit=abc", "limit=99999999999999999999999",
                                   "cursor=" + "x" * 5000])
def test_hostile_pull_queries_get_a_4xx_or_an_answer(ledger: Ledger, query: str) -> None:
    import httpx

    r = httpx.get(f"{ledger.url}/v1/events/{EVENT_ID}/entries?{query}",
                  headers={"Authorization": f"Bearer {ledger.token('st-a')}"}, timeout=30)
    assert r.status_code < 500, r.text
    assert r.status_code == 200 or set(r.json()) >= {"error", "code"}
