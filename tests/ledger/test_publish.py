"""Publication: result_published entries as runners finish, again on correction, never twice."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ledger_testkit import GUN_MS, Ledger, event_config, finish_time, participant, points, read

from station.sync.engine import SyncEngine
from station.sync.publish import Publisher


def published(store: Any) -> list[dict[str, Any]]:
    return [e.payload for e in store.entries(["result_published"])]


def test_publish_on_finish_and_on_correction(stations: Any, tmp_path: Path) -> None:
    st = stations("results")
    st.append("event_config", event_config(tmp_path))
    st.append_many([("participant", participant(i)) for i in (1, 2, 3)])
    st.append_many([("read", read(i, "start", GUN_MS + 2_000 + i)) for i in (1, 2, 3)])
    pub = Publisher(st, now_ms=lambda: GUN_MS + 600_000)
    assert pub.poll() == 0  # running: nothing official yet
    st.append("read", read(1, "finish", finish_time(1)))
    assert pub.poll() == 1
    (p,) = published(st)
    assert p["registration_id"] == "r1" and p["status"] == "finished" and p["runner_id"] == "R1"
    assert p["chip_ms"] == finish_time(1) - (GUN_MS + 2_001) and p["gun_ms"] == finish_time(1) - GUN_MS
    assert pub.poll() == 0  # nothing changed
    st.append("correction", {"action": "dq", "registration_id": "r1"})
    assert pub.poll() == 1
    assert published(st)[-1]["status"] == "DQ" and published(st)[-1]["chip_ms"] is None
    st.append("correction", {"action": "reinstate", "registration_id": "r1"})
    st.append("read", read(2, "finish", finish_time(2)))
    assert pub.poll() == 2
    assert [(p["registration_id"], p["status"]) for p in published(st)[-2:]] == [
        ("r1", "finished"), ("r2", "finished")]
    # A restarted station (a new publisher reading the whole log) publishes nothing again.
    assert Publisher(st, now_ms=lambda: GUN_MS + 600_000).poll() == 0


def test_sync_publishes_only_with_a_publish_token(sqlite_ledger: Ledger, stations: Any,
                                                  tmp_path: Path) -> None:
    led = sqlite_ledger
    plain, res = stations("finish"), stations("results")
    for st in (plain, res):
        st.append("event_config", event_config(tmp_path))
        st.append("participant", participant(5))
        st.append_many([("read", read(5, "start", GUN_MS + 1_000)), ("read", read(5, "finish", finish_time(5)))])
    e1 = SyncEngine(plain, led.url, led.token("finish"))
    e1.sync_once()
    assert published(plain) == [] and not e1.status.can_publish
    e2 = SyncEngine(res, led.url, led.token("results", publish=True))
    e2.sync_once()
    assert e2.status.can_publish and e2.status.published == 1 and len(published(res)) == 1
    assert points(led.url, led.token("x"), "R5")["balance"] == 100
    e1.close()
    e2.close()
