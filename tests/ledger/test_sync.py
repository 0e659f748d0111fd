"""The station sync engine against a real ledger: push/pull, status, offline/backoff/resume, conflicts."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from ledger_faultproxy import FaultProxy
from ledger_testkit import Ledger, event_config, participant, pull_all

from station.cli import main as cli_main
from station.entries import Entry
from station.sync import SyncEngine, SyncError, SyncStatus


def ids(store: Any) -> set[tuple[str, int, str]]:
    return {(e.station_id, e.seq, e.uuid) for e in store.entries()}


def engine(store: Any, url: str, token: str, **kw: Any) -> SyncEngine:
    kw.setdefault("backoff_min", 0.05)
    kw.setdefault("backoff_max", 0.5)
    kw.setdefault("poll_s", 0.2)
    return SyncEngine(store, url, token, **kw)


def test_two_stations_converge_and_status_is_reported(ledger: Ledger, stations: Any, tmp_path: Path) -> None:
    a, b = stations("desk-a"), stations("desk-b")
    a.append("event_config", event_config(tmp_path))
    a.append_many([("participant", participant(i)) for i in range(1, 51)])
    # Check-ins of one runner at two desks: both are kept, never merged away.
    a.append("checkin", {"registration_id": "r7", "desk": "desk-a"})
    b.append("checkin", {"registration_id": "r7", "desk": "desk-b"})
    seen: list[SyncStatus] = []
    ea = engine(a, ledger.url, ledger.token("desk-a"))
    ea.add_listener(seen.append)
    eb = engine(b, ledger.url, ledger.token("desk-b"), push_batch=7)
    assert ea.status.waiting == 52
    ea.sync_once()
    eb.sync_once()
    ea.sync_once()
    assert ids(a) == ids(b) and len(ids(a)) == 53
    assert len([e for e in b.entries(["checkin"]) if e.payload["registration_id"] == "r7"]) == 2
    st = ea.status
    assert st.state == "online" and st.online and st.waiting == 0 and st.last_error is None
    assert st.pushed == 52 and st.pulled == 1 and st.last_sync_ms is not None and st.event_id == "wo-run-test"
    assert [s.state for s in seen][:2] == ["syncing", "online"] or "syncing" in [s.state for s in seen]
    assert ledger.count("SELECT COUNT(*) FROM entries") == 53
    # Cursor and acked seq survive a restart: nothing is sent or stored twice.
    ea.close()
    ea2 = engine(a, ledger.url, ledger.token("desk-a"))
    ea2.sync_once()
    assert ea2.status.pushed == 0 and ea2.status.pulled == 0
    ea2.close()
    eb.close()


def test_offline_backs_off_then_resumes_by_itself(sqlite_ledger: Ledger, stations: Any, wait_for: Any) -> None:
    led = sqlite_ledger
    proxy = FaultProxy(led.port)
    proxy.down()
    st = stations("km5")
    eng = engine(st, proxy.url, led.token("km5"), backoff_min=0.1, backoff_max=1.0)
    states: list[SyncStatus] = []
    eng.add_listener(states.append)
    eng.start()
    try:
        t_off = time.monotonic()
        st.append_many([("read", {"reader": "r1", "point": "finish", "chip": f"c{i}", "t": i}) for i in range(500)])
        assert wait_for(lambda: proxy.connections >= 3 and eng.status.state == "offline", 10)
        s = eng.status
        assert s.state == "offline" and not s.online and s.waiting == 500
        assert "cannot reach the ledger" in (s.last_error or "") or "interrupted" in (s.last_error or "")
        # Backoff: three attempts take a while (0.1 s, then growing), not a busy loop.
        assert time.monotonic() - t_off >= 0.1 and proxy.connections <= 12, proxy.connections
        proxy.up()
        t0 = time.monotonic()
        while (eng.status.waiting or eng.status.state != "online") and time.monotonic() - t0 < 5:
            time.sleep(0.05)
        assert eng.status.waiting == 0 and eng.status.state == "online"
        assert time.monotonic() - t0 < 2.5
        assert led.count("SELECT COUNT(*) FROM entries") == 500
        # New entries go out promptly while online (woken by the store, not the poll).
        st.append("read", {"reader": "r1", "point": "finish", "chip": "late", "t": 1})
        t0 = time.monotonic()
        while led.count("SELECT COUNT(*) FROM entries") < 501 and time.monotonic() - t0 < 3:
            time.sleep(0.02)
        assert led.count("SELECT COUNT(*) FROM entries") == 501
    finally:
        eng.close()
        proxy.close()
    assert eng.status.state == "stopped"


def test_replaced_database_is_refused_loudly(ledger: Ledger, stations: Any) -> None:
    tok = ledger.token("finish")
    old = stations("finish", folder="old")
    old.append_many([("read", {"reader": "r1", "point": "finish", "chip": f"c{i}", "t": i}) for i in range(10)])
    engine(old, ledger.url, tok).sync_once()
    # The laptop's database is replaced; the station id stays (it lives beside the file).
    new = stations("finish", folder="new")
    new.append_many([("read", {"reader": "r1", "point": "finish", "chip": f"n{i}", "t": i}) for i in range(3)])
    eng = engine(new, ledger.url, tok)
    with pytest.raises(SyncError) as err:
        eng.sync_once()
    assert err.value.fatal and "CONFLICT" in err.value.message and "replaced" in err.value.message
    assert eng.status.state == "error" and eng.status.waiting == 3
    assert eng.run(once=True) is False
    assert ledger.count("SELECT COUNT(*) FROM entries") == 10
    eng.close()


def test_pulled_conflicting_peer_entry_is_refused_and_reported(ledger: Ledger, stations: Any) -> None:
    peer, me = stations("peer"), stations("me")
    peer.append("read", {"reader": "r1", "point": "finish", "chip": "x", "t": 1})
    engine(peer, ledger.url, ledger.token("peer")).sync_once()
    # `me` already holds another entry 1 of "peer" (e.g. copied from an older, replaced peer database).
    me.store_foreign([Entry("peer", 1, "not-the-same", "read", {"chip": "y", "t": 2}, 5)])
    eng = engine(me, ledger.url, ledger.token("me"))
    eng.sync_once()
    assert len(eng.status.conflicts) == 1 and "peer seq 1" in eng.status.conflicts[0]
    assert "refused" in (eng.status.last_error or "")
    assert [e.uuid for e in me.entries() if e.station_id == "peer"] == ["not-the-same"]
    eng.close()


def test_ledger_that_lost_data_gets_everything_again(tmp_path: Path, stations: Any) -> None:
    st = stations("start")
    st.append_many([("read", {"reader": "r1", "point": "finish", "chip": f"c{i}", "t": i}) for i in range(20)])
    led = Ledger(f"sqlite:///{(tmp_path / 'one.sqlite3').as_posix()}", tmp_path)
    port = led.port
    eng = engine(st, led.url, led.token("start"))
    eng.sync_once()
    led.close()
    # A fresh ledger database behind the same address (restored from an old backup, say).
    led2 = Ledger(f"sqlite:///{(tmp_path / 'two.sqlite3').as_posix()}", tmp_path)
    led2.stop()
    led2.port = port
    led2.start()
    eng.close()
    eng = engine(st, led2.url, led2.token("start"))
    st.append("read", {"reader": "r1", "point": "finish", "chip": "after", "t": 1})
    eng.sync_once()
    assert led2.count("SELECT COUNT(*) FROM entries") == 21
    eng.close()
    led2.close()


def test_token_checks(ledger: Ledger, stations: Any) -> None:
    st = stations("desk-a")
    eng = engine(st, ledger.url, ledger.token("desk-b"))
    with pytest.raises(SyncError) as err:
        eng.sync_once()
    assert "belongs to station 'desk-b'" in err.value.message and err.value.fatal
    eng.close()
    eng = engine(st, ledger.url, "wrs_nonsense")
    with pytest.raises(SyncError) as err:
        eng.sync_once()
    assert "refused this station's token" in err.value.message
    eng.close()


def test_cli_sync_once(sqlite_ledger: Ledger, tmp_path: Path, capsys: Any) -> None:
    led = sqlite_ledger
    data = tmp_path / "cli-station"
    from station.store import Store

    def info() -> dict[str, str]:
        capsys.readouterr()
        assert cli_main(["--data", str(data), "info"]) == 0
        return dict(line.split(": ", 1) for line in capsys.readouterr().out.splitlines())

    with Store(data) as s:
        sid = s.station_id
        s.append_many([("read", {"reader": "r1", "point": "finish", "chip": f"c{i}", "t": i}) for i in range(5)])
    assert info()["unsynced"] == "5"
    tok = led.token(sid)
    assert cli_main(["--data", str(data), "sync", "--ledger", led.url, "--token", tok, "--once"]) == 0
    assert "waiting 0" in capsys.readouterr().err
    assert len(pull_all(led.url, tok)) == 5
    # The line a timer reads before switching the laptop off: everything is on the ledger.
    assert info()["unsynced"] == "0"
    # A wrong token: exit 1, a plain message, no traceback.
    rc = cli_main(["--data", str(data), "sync", "--ledger", led.url, "--token", "wrs_bad", "--once"])
    err = capsys.readouterr().err
    assert rc == 1 and "refused this station's token" in err and "Traceback" not in err
    # Unreachable ledger with a short wait.
    rc = cli_main(["--data", str(data), "sync", "--ledger", "http://127.0.0.1:9", "--token", tok,
                   "--once", "--wait", "0.3"])
    err = capsys.readouterr().err
    assert rc == 1 and "cannot reach the ledger" in err
    assert cli_main(["--data", str(data), "sync", "--token", tok]) == 1
    assert "--ledger" in capsys.readouterr().err
    assert cli_main(["--data", str(data), "sync", "--ledger", "ftp://x", "--token", tok]) == 1
