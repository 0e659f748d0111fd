"""Three stations (check-in, km 5, finish) with interleaved offline periods converge through the ledger:
the same entries, the same results to the millisecond, equal to one station holding everything; the
finish station publishes results as runners finish, and the ledger credits points once."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
from ledger_faultproxy import FaultProxy
from ledger_testkit import GUN_MS, Ledger, event_config, finish_time, participant, points, read

from station.log.entries import Entry
from station.results.engine import Engine
from station.sync.engine import SyncEngine

N = 30


def results_of(entries: list[Entry]) -> list[dict[str, Any]]:
    return Engine.from_entries(entries, now_ms=lambda: GUN_MS + 3_600_000).rows()


def keys(store: Any) -> set[tuple[str, int, str]]:
    return {(e.station_id, e.seq, e.uuid) for e in store.entries()}


def test_three_stations_converge(ledger: Ledger, stations: Any, tmp_path: Path, wait_for: Any) -> None:
    checkin, km5, finish = stations("checkin"), stations("km5"), stations("finish")
    proxies = {name: FaultProxy(ledger.port) for name in ("checkin", "km5", "finish")}
    engines = {
        "checkin": SyncEngine(checkin, proxies["checkin"].url, ledger.token("checkin"), poll_s=0.1,
                              backoff_min=0.05, backoff_max=0.3),
        "km5": SyncEngine(km5, proxies["km5"].url, ledger.token("km5"), poll_s=0.1, backoff_min=0.05,
                          backoff_max=0.3),
        "finish": SyncEngine(finish, proxies["finish"].url, ledger.token("finish", publish=True),
                             poll_s=0.1, backoff_min=0.05, backoff_max=0.3),
    }
    for e in engines.values():
        e.start()
    try:
        # Phase 1: km 5 is offline.
        proxies["km5"].down()
        checkin.append("event_config", event_config(tmp_path))
        checkin.append_many([("participant", participant(i)) for i in range(1, N + 1)])
        finish.append_many([("read", read(i, "start", GUN_MS + 3_000 + i * 7)) for i in range(1, N + 1)])
        km5.append_many([("read", read(i, "km5", GUN_MS + 1_200_000 + i * 11)) for i in range(1, N + 1)])
        # the stations still online have pushed everything before they go offline in turn
        assert wait_for(lambda: engines["checkin"].status.waiting == 0 and engines["finish"].status.waiting == 0, 20)
        # Phase 2: check-in and finish offline, km 5 back.
        proxies["checkin"].down()
        proxies["finish"].down()
        proxies["km5"].up()
        checkin.append_many([("checkin", {"registration_id": f"r{i}"}) for i in range(1, N + 1)])
        finish.append_many([("read", read(i, "finish", finish_time(i))) for i in range(1, N // 2)])
        # The same runner checked in at the finish desk too: both kept.
        finish.append("checkin", {"registration_id": "r1"})
        assert wait_for(lambda: engines["km5"].status.waiting == 0, 20)  # km 5 caught up while the others are out
        # Phase 3: all online; the rest finish; r3 is disqualified at the check-in desk.
        for p in proxies.values():
            p.up()
        finish.append_many([("read", read(i, "finish", finish_time(i))) for i in range(N // 2, N + 1)])
        checkin.append("correction", {"action": "dq", "registration_id": "r3", "reason": "short cut"})
        stores = (checkin, km5, finish)

        reader = ledger.token("reader")

        def official_count() -> int:
            got = httpx.get(f"{ledger.url}/v1/events/wo-run-test/results",
                            headers={"Authorization": f"Bearer {reader}"})
            return len(got.json()["results"]) if got.status_code == 200 else -1

        def converged() -> bool:
            ks = [keys(s) for s in stores]
            return (ks[0] == ks[1] == ks[2]
                    and ledger.count("SELECT COUNT(*) FROM entries") == len(ks[0])
                    and all(e.status.waiting == 0 for e in engines.values())
                    and engines["finish"].publisher is not None
                    and not engines["finish"].publisher.pending()
                    # the outcome itself: every finisher's result official on the ledger (r3 is DQ)
                    and official_count() == N - 1)

        assert wait_for(converged, 20), "the stations did not converge"
    finally:
        for e in engines.values():
            e.close()
        for p in proxies.values():
            p.close()

    everything = finish.entries()
    assert len([e for e in everything if e.kind == "checkin" and e.payload["registration_id"] == "r1"]) == 2
    rows = [results_of(s.entries()) for s in (checkin, km5, finish)]
    assert rows[0] == rows[1] == rows[2]
    # Equal to one station that holds all entries (in another order).
    assert rows[0] == results_of(sorted(everything, key=lambda e: (e.kind, e.uuid)))
    by_reg = {r["registration_id"]: r for r in rows[0]}
    assert sum(1 for r in rows[0] if r["status"] == "finished") == N - 1
    assert by_reg["r3"]["status"] == "DQ" and by_reg["r5"]["split_km5_ms"] is not None

    # The ledger holds the official results, and points were credited once per finisher.
    tok = ledger.token("reader")
    official = httpx.get(f"{ledger.url}/v1/events/wo-run-test/results",
                         headers={"Authorization": f"Bearer {tok}"}).json()["results"]
    assert {(r["registration_id"], r["chip_ms"], r["gun_ms"]) for r in official} == {
        (r["registration_id"], r["chip_ms"], r["gun_ms"]) for r in rows[0] if r["status"] == "finished"}
    assert points(ledger.url, tok, "R7")["balance"] == 100
    assert points(ledger.url, tok, "R3")["balance"] == 0
    assert ledger.count("SELECT SUM(points) FROM point_lines") == 100 * (N - 1)
