"""The event log store: gap-free seq, WAL, a second process appending, durability, listeners."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

from station.config import load_event_file
from station.entries import Entry
from station.store import Store

DATA = Path(__file__).with_name("data")
CLI = Path(sys.executable).with_name("worun-station")


def seqs(store: Store) -> list[int]:
    return sorted(e.seq for e in store.entries() if e.station_id == store.station_id)


def test_seq_is_gap_free_across_threads(tmp_path: Path) -> None:
    with Store(tmp_path) as s:
        def work(n: int) -> None:
            for i in range(50):
                s.submit("read", {"reader": "r1", "point": "finish", "chip": f"T{n}", "t": i})

        threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        s.append_many([("manual_time", {"bib": "1", "point": "finish", "t": i}) for i in range(20)])
        s.flush()
        assert seqs(s) == list(range(1, 221))
        assert s.last_seq() == 220
        assert len({e.uuid for e in s.entries()}) == 220


def test_wal_mode_and_station_id_stable(tmp_path: Path) -> None:
    with Store(tmp_path) as s:
        sid = s.station_id
        s.append("read", {"reader": "r1", "point": "finish", "chip": "A", "t": 1})
    assert sid.startswith("st-")
    con = sqlite3.connect(tmp_path / "station.sqlite3")
    try:
        assert con.execute("PRAGMA journal_mode").fetchone()[0].lower() == "wal"
    finally:
        con.close()
    with Store(tmp_path) as s:
        assert s.station_id == sid


def test_entries_survive_reopening(tmp_path: Path) -> None:
    with Store(tmp_path) as s:
        e1 = s.append("participant", {"registration_id": "R1", "name": "张伟"}, operator="ann",
                      recorded_at=1234)
        s.submit("read", {"reader": "r1", "point": "finish", "chip": "C1", "t": 5})  # queued, flushed by close()
    with Store(tmp_path) as s:
        got = s.entries()
        assert [e.seq for e in got] == [1, 2]
        assert got[0] == e1
        assert got[0].payload == {"registration_id": "R1", "name": "张伟"}
        assert (got[0].operator, got[0].recorded_at) == ("ann", 1234)
        assert s.append("read", {"reader": "r1", "point": "finish", "chip": "C2", "t": 1}).seq == 3
        assert [e.kind for e in s.entries(kinds=["read"])] == ["read", "read"]


def test_listeners_get_committed_entries(tmp_path: Path) -> None:
    got: list[Entry] = []
    with Store(tmp_path) as s:
        s.subscribe(got.extend)
        e = s.append("read", {"reader": "r1", "point": "finish", "chip": "A", "t": 1})
        s.append_many([("read", {"reader": "r1", "point": "finish", "chip": "B", "t": 1}), ("read", {"reader": "r1", "point": "finish", "chip": "C", "t": 1})])
        s.unsubscribe(got.extend)
        s.append("read", {"reader": "r1", "point": "finish", "chip": "D", "t": 1})
        assert [x.payload["chip"] for x in got] == ["A", "B", "C"]
        assert got[0] == e
        stored = {x.uuid for x in s.entries()}
        assert {x.uuid for x in got} <= stored


def test_dkey_resend_is_not_stored_twice(tmp_path: Path) -> None:
    with Store(tmp_path) as s:
        assert s.append("read", {"reader": "r1", "point": "finish", "chip": "A", "t": 1}, dkey="r1/1/7") is not None
        assert s.append("read", {"reader": "r1", "point": "finish", "chip": "A", "t": 1}, dkey="r1/1/7") is None
        assert s.append("read", {"reader": "r1", "point": "finish", "chip": "B", "t": 1}).seq == 2


def test_second_process_appending_keeps_seq_unique_and_gap_free(tmp_path: Path) -> None:
    data = tmp_path / "data"
    env = {**os.environ, "WORUN_OPERATOR": "proc2"}
    with Store(data) as s:
        s.append("event_config", load_event_file(DATA / "event.toml"))
        s.append("participant", {"registration_id": "R1", "bib": "1", "name": "A", "gender": "M",
                                 "birth_date": None, "race": "10k", "wave": "A", "chips": ["C1"]})
        stop = threading.Event()

        def pump() -> None:
            i = 0
            while not stop.is_set():
                s.append("read", {"reader": "r", "point": "finish", "role": "main", "chip": "C1",
                                  "t": i, "rx": i, "raw": str(i)})
                i += 1

        th = threading.Thread(target=pump)
        th.start()
        try:
            procs = [subprocess.Popen([str(CLI), "--data", str(data), "manual", "--bib", "1", "--point",
                                       "finish", "--time", f"08:20:0{n}"], env=env,
                                      stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                     for n in range(3)]
            outs = [p.communicate(timeout=120) for p in procs]
        finally:
            stop.set()
            th.join()
        for p, (out, err) in zip(procs, outs, strict=True):
            assert p.returncode == 0, err
            assert "manual time recorded" in out
        s.flush()
        all_seqs = seqs(s)
        assert all_seqs == list(range(1, len(all_seqs) + 1))
        manual = s.entries(kinds=["manual_time"])
        assert len(manual) == 3
        assert {e.operator for e in manual} == {"proc2"}
        assert s.append("read", {"reader": "r1", "point": "finish", "chip": "Z", "t": 1}).seq == len(all_seqs) + 1


def test_purge_removes_personal_data_keeps_results(tmp_path: Path) -> None:
    from station.config import EventConfig
    from station.participants import import_csv
    from station.purge import purge_personal_data
    from station.results.engine import Engine

    with Store(tmp_path) as s:
        payload = load_event_file(DATA / "event.toml")
        s.append("event_config", payload)
        cfg = EventConfig.from_payload(payload)
        import_csv(s, DATA / "participants.csv", cfg)
        before = Engine.from_store(s, now_ms=lambda: 0).rows()
        assert purge_personal_data(s, cfg) == 3  # R4 has no birth date, phone or email
        parts = {e.payload["registration_id"]: e.payload for e in s.entries(kinds=["participant"])}
        assert all(p["birth_date"] is None and p.get("phone") is None for p in parts.values())
        assert parts["R1"]["category"] == "M30-39"
        assert Engine.from_store(s, now_ms=lambda: 0).rows() == before
    raw = b"".join(f.read_bytes() for f in tmp_path.glob("station.sqlite3*"))
    assert b"13812341234" not in raw and b"1990-05-01" not in raw
