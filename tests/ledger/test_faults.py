"""Faults between a station and a real ledger, through a fault-injecting TCP proxy: after every fault each
entry is stored exactly once and points are credited exactly once."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import pytest
from ledger_faultproxy import FaultProxy
from ledger_testkit import Ledger, participant, points, result

from station.sync.engine import SyncEngine

RUNNERS = 40


def fill(store: Any) -> None:
    """The participant list, reads, then results: every runner finishes; r1..r5 are then DQ'd and r1
    reinstated."""
    store.append_many([("participant", participant(i)) for i in range(1, RUNNERS + 1)])
    store.append_many([("read", {"reader": "r1", "point": "finish", "chip": f"c{i}", "t": i}) for i in range(1000)])
    store.append_many([("result_published", result(f"r{i}", runner=f"R{i}")) for i in range(1, RUNNERS + 1)])
    store.append_many([("result_published", result(f"r{i}", "DQ", runner=f"R{i}")) for i in range(1, 6)])
    store.append("result_published", result("r1", runner="R1"))


def check_exactly_once(led: Ledger, store: Any, tok: str) -> None:
    local = {(e.seq, e.uuid) for e in store.entries()}
    with led.db.read.connect() as c:
        remote = c.exec_driver_sql("SELECT seq, uuid FROM entries WHERE station_id='res'").all()
    assert len(remote) == len(local) == 1000 + 2 * RUNNERS + 6
    assert {(r[0], r[1]) for r in remote} == local
    # Per registration the lines alternate credit, reversal, credit … (never two live credits), and
    # end live exactly for the runners whose latest result is a finish. (How many lines a DQ'd runner
    # has depends on batching: a finish and its DQ in one batch collapse to the latest.)
    with led.db.read.connect() as c:
        rows = c.exec_driver_sql("SELECT registration_id, kind FROM point_lines ORDER BY id").all()
    by_reg: dict[str, list[str]] = {}
    for reg, kind in rows:
        by_reg.setdefault(reg, []).append(kind)
    for reg, kinds in by_reg.items():
        assert kinds == ["credit", "reversal"] * (len(kinds) // 2) + ["credit"] * (len(kinds) % 2), reg
    live = {reg for reg, kinds in by_reg.items() if kinds[-1] == "credit"}
    assert live == {f"r{i}" for i in range(1, RUNNERS + 1)} - {"r2", "r3", "r4", "r5"}
    assert points(led.url, tok, "R1")["balance"] == 100
    assert points(led.url, tok, "R2")["balance"] == 0
    assert points(led.url, tok, "R9")["balance"] == 100
    assert led.count("SELECT SUM(points) FROM point_lines") == 100 * (RUNNERS - 4)


def run_with(eng: SyncEngine, during: Any = None, give_up: float = 30.0) -> bool:
    out: list[bool] = []
    t = threading.Thread(target=lambda: out.append(eng.run(once=True, give_up_after_s=give_up)))
    t.start()
    if during:
        during()
    t.join(60)
    assert out, "sync did not finish"
    return out[0]


@pytest.mark.parametrize("fault", ["reset_mid_request", "response_lost", "slow_responses"])
def test_fault_then_exactly_once(fault: str, ledger: Ledger, stations: Any, wait_for: Any) -> None:
    proxy = FaultProxy(ledger.port)
    tok = ledger.token("res", publish=True)
    store = stations("res")
    fill(store)
    eng = SyncEngine(store, proxy.url, tok, push_batch=150, backoff_min=0.05, backoff_max=0.3,
                     timeout_s=0.3 if fault == "slow_responses" else 10, auto_publish=False)
    errors: list[str] = []
    eng.add_listener(lambda s: errors.append(s.last_error) if s.last_error else None)
    during = None
    if fault == "reset_mid_request":
        proxy.reset_requests = 3
    elif fault == "response_lost":
        proxy.drop_responses = 4
    else:
        proxy.delay_s = 0.4

        def during() -> None:
            # slow until the station has given up on a request at least once, then healthy again
            assert wait_for(lambda: any("did not answer within" in e for e in errors), 15)
            proxy.delay_s = 0.0
    try:
        assert run_with(eng, during)
        assert eng.status.waiting == 0 and eng.status.state == "online"
        if fault == "response_lost":
            assert proxy.drops == 4
            assert any("interrupted" in e for e in errors)
        elif fault == "reset_mid_request":
            assert proxy.resets == 3
        else:
            assert any("did not answer within" in e for e in errors)
        check_exactly_once(ledger, store, tok)
    finally:
        eng.close()
        proxy.close()


def test_server_restarted_mid_batch(db_url: str, tmp_path: Path, stations: Any) -> None:
    led = Ledger(db_url, tmp_path, subprocess_mode=True)
    try:
        tok = led.token("res", publish=True)
        store = stations("res")
        fill(store)
        eng = SyncEngine(store, led.url, tok, push_batch=100, backoff_min=0.05, backoff_max=0.5,
                         timeout_s=10, auto_publish=False)

        def kill_and_restart() -> None:
            deadline = time.monotonic() + 10
            while led.count("SELECT COUNT(*) FROM entries") < 300 and time.monotonic() < deadline:
                time.sleep(0.01)
            led.stop(kill=True)
            time.sleep(0.3)
            led.start()

        assert run_with(eng, kill_and_restart)
        assert eng.status.waiting == 0
        check_exactly_once(led, store, tok)
        eng.close()
    finally:
        led.close()
