"""Packed read rows: a run of reads is one table row, yet every reader of the log sees one entry per read
with its own seq and uuid; resend keys (intervals and plain) are exact across restarts and failures."""

from __future__ import annotations

import json
import sqlite3
from concurrent.futures import Future
from pathlib import Path

import pytest

from station.entries import Entry, dumps
from station.reads import ReadRun
from station.store import Store, nth_uuid, read_payloads


def run_of(n: int, first: int = 0, *, reader: str = "r1", stream: bool = True, rx: int = 5) -> ReadRun:
    r = ReadRun(reader, "finish", "main", rx, "COM3", chip=[f"C{i % 7}" for i in range(first, first + n)],
                t=[1000 + i for i in range(first, first + n)], raw=[f"line {i}" for i in range(first, first + n)],
                key=[f"1/1/{i}" for i in range(first, first + n)], rssi=[-60 - i % 5 for i in range(n)],
                idx=list(range(first, first + n)))
    if stream:
        r.index_stream, r.index_first = f"{reader}|1/1", first
    else:
        r.dkey = [f"{reader}|1/1#{i}" for i in range(first, first + n)]
    return r


def physical_rows(store: Store) -> list[tuple[int, int, str]]:
    con = sqlite3.connect(store.db_path)
    try:
        return con.execute("SELECT seq, n, kind FROM entries ORDER BY id").fetchall()
    finally:
        con.close()


def test_a_run_is_one_row_but_one_entry_per_read(tmp_path: Path) -> None:
    with Store(tmp_path) as s:
        s.append("manual_time", {"bib": "1", "point": "finish", "t": 1})
        assert s.submit_reads(run_of(500)).result(10) == 500
        s.append("manual_time", {"bib": "2", "point": "finish", "t": 2})
        assert physical_rows(s) == [(1, 1, "manual_time"), (2, 500, "read"), (502, 1, "manual_time")]
        es = s.entries()
        assert [e.seq for e in es] == list(range(1, 503))
        assert len({e.uuid for e in es}) == 502
        reads = [e for e in es if e.kind == "read"]
        assert reads[7].payload == {"reader": "r1", "point": "finish", "role": "main", "rx": 5, "port": "COM3",
                                    "chip": "C0", "t": 1007, "raw": "line 7", "key": "1/1/7", "rssi": -62,
                                    "idx": 7}
        assert s.counts()["read"] == 500
        assert s.last_seq() == 502
        assert s.max_read_index("r1") == 499
        assert [p["idx"] for p in read_payloads(s.db_path, "read")] == list(range(500))


def test_outbox_pages_cut_through_packed_rows(tmp_path: Path) -> None:
    """The sync outbox asks for "after seq N, at most M": pages may start and end inside a packed row."""
    with Store(tmp_path) as s:
        s.submit_reads(run_of(300)).result(10)
        s.append("manual_time", {"bib": "1", "point": "finish", "t": 1})
        s.submit_reads(run_of(300, 300)).result(10)
        everything = s.entries()
        got: list[Entry] = []
        after = 0
        while True:
            page = s.own_entries_after(after, 77)
            if not page:
                break
            assert len(page) <= 77 and page[0].seq == after + 1
            got += page
            after = page[-1].seq
        assert [(e.seq, e.uuid, e.payload) for e in got] == [(e.seq, e.uuid, e.payload) for e in everything]


def test_resends_are_stored_once_across_runs_restarts_and_out_of_order(tmp_path: Path) -> None:
    with Store(tmp_path) as s:
        assert s.submit_reads(run_of(100)).result(10) == 100
        assert s.submit_reads(run_of(50, 80)).result(10) == 30  # 80..99 already there
        assert s.submit_reads(run_of(10, 200, stream=False)).result(10) == 10  # a gap: 130..199 missing
    with Store(tmp_path) as s:  # a restart: the intervals come back from the file
        assert s.submit_reads(run_of(100, 120, stream=False)).result(10) == 80  # 130..199 and 210..219
        assert s.submit_reads(run_of(210)).result(10) == 0
        idx = sorted(p["idx"] for p in read_payloads(s.db_path, "read"))
        assert idx == list(range(220))
        # a different reader's log with the same numbers is a different stream
        assert s.submit_reads(run_of(5, reader="r2")).result(10) == 5


def test_plain_keys_and_runs_share_one_resend_check(tmp_path: Path) -> None:
    with Store(tmp_path) as s:
        r = run_of(3, stream=False)
        r.dkey = ["r1|msg 1", "r1|msg 2", None]  # no key: always stored
        assert s.submit_reads(r).result(10) == 3
        assert s.append("read", {"reader": "r1", "point": "finish", "chip": "X", "t": 1}, dkey="r1|msg 2") is None
        r2 = run_of(3, stream=False)
        r2.dkey = ["r1|msg 2", "r1|msg 3", None]
        assert s.submit_reads(r2).result(10) == 2
    with Store(tmp_path) as s:
        assert s.append("read", {"reader": "r1", "point": "finish", "chip": "X", "t": 1}, dkey="r1|msg 3") is None


def test_a_failed_commit_does_not_mark_keys_as_stored(tmp_path: Path) -> None:
    """The interval index lives in memory too: after a refused commit it must not claim the reads."""
    with Store(tmp_path) as s:
        s.submit_reads(run_of(10)).result(10)
        con = sqlite3.connect(s.db_path)
        con.execute("CREATE TRIGGER refuse BEFORE INSERT ON entries WHEN NEW.seq > 10 "
                    "BEGIN SELECT RAISE(ABORT, 'disk full'); END")
        con.commit()
        f: Future[int] = s.submit_reads(run_of(10, 10))
        with pytest.raises(sqlite3.IntegrityError):
            f.result(10)
        con.execute("DROP TRIGGER refuse")
        con.commit()
        con.close()
        assert s.submit_reads(run_of(10, 10)).result(10) == 10  # the retry stores them
        assert s.counts()["read"] == 20


def test_listeners_and_sync_see_each_read_of_a_run(tmp_path: Path) -> None:
    from station.sync import SyncEngine  # noqa: F401  (import: the outbox reader below is the sync one)

    with Store(tmp_path) as s:
        got: list[Entry] = []
        s.subscribe(got.extend)
        s.submit_reads(run_of(40)).result(10)
        s.flush()
        assert [e.seq for e in got] == list(range(1, 41))
        assert got == s.entries()
        from station.store import expand_raw, own_rows_after

        con = sqlite3.connect(s.db_path)
        rows = own_rows_after(con, s.station_id, 10, 5)
        raw = [x for r in rows for x in expand_raw(s.station_id, *r) if x[0] > 10][:5]
        con.close()
        assert [(x[0], x[1], x[3]) for x in raw] == [(e.seq, e.uuid, dumps(e.payload)) for e in got[10:15]]


def test_foreign_entry_under_a_packed_seq_is_a_duplicate_or_a_conflict(tmp_path: Path) -> None:
    with Store(tmp_path) as s:
        s.submit_reads(run_of(20)).result(10)
        mine = s.entries()[5]
        res = s.store_foreign([mine])
        assert (res.duplicates, res.conflicts, res.stored) == (1, [], [])
        other = Entry(mine.station_id, mine.seq, "00000000-0000-4000-8000-000000000000", "read", {}, 1)
        res = s.store_foreign([other])
        assert res.stored == [] and len(res.conflicts) == 1


def test_purge_rewrites_packed_payloads(tmp_path: Path) -> None:
    with Store(tmp_path) as s:
        s.submit_reads(run_of(5)).result(10)
        n = s.rewrite_payloads("read", lambda p: {**p, "raw": ""} if p["idx"] % 2 else None)
        assert n == 2
        assert [p["raw"] for p in read_payloads(s.db_path, "read")] == ["line 0", "", "line 2", "", "line 4"]


def test_a_session_one_file_opens_and_keeps_its_resend_keys(tmp_path: Path) -> None:
    """A station file from before packed rows (schema 0001) is migrated: its resend keys still count."""
    with Store(tmp_path) as s:
        pass
    con = sqlite3.connect(tmp_path / "station.sqlite3")
    con.executescript("""
        DROP TABLE dkeys; DROP TABLE dkey_ranges; DROP INDEX ix_entries_kind; DROP INDEX ix_entries_uuid;
        DROP INDEX ix_entries_chips; ALTER TABLE entries DROP COLUMN n; ALTER TABLE entries DROP COLUMN chips;
        CREATE INDEX ix_entries_dkey ON entries (dkey);
        UPDATE alembic_version SET version_num='0001';
    """)
    sid = (tmp_path / "station_id").read_text().strip()
    con.execute("INSERT INTO entries (station_id, seq, uuid, kind, payload, recorded_at, operator, dkey)"
                " VALUES (?, 1, 'u-1', 'read', ?, 1, '', 'r1|old-key')", (sid, dumps({"chip": "A"})))
    con.commit()
    con.close()
    with Store(tmp_path) as s:
        assert s.append("read", {"reader": "r1", "point": "finish", "chip": "A", "t": 1}, dkey="r1|old-key") is None
        assert [e.payload for e in s.entries()] == [{"chip": "A"}]
        assert s.submit_reads(run_of(3)).result(10) == 3
        assert s.last_seq() == 4


def test_reads_queued_as_payloads_are_packed_as_columns_when_they_share_a_reader(tmp_path: Path) -> None:
    """Generic batches of read payloads (tests, demo, benchmarks) get the same columnar rows as live
    ingest when they can be given back exactly; anything else is kept as a JSON array."""
    same = [{"reader": "r", "point": "finish", "role": "main", "chip": f"C{i}", "t": i, "rx": 1, "raw": "x",
             "rssi": -60 if i % 2 else None} for i in range(5)]
    for p in same:
        if p["rssi"] is None:
            del p["rssi"]
    odd = [{"reader": "r", "point": "finish", "role": "main", "chip": "C1", "t": 1, "raw": "x", "extra": 1},
           {"reader": "r", "point": "finish", "role": "main", "chip": "C2", "t": 2, "raw": "y"}]
    with Store(tmp_path) as s:
        s.submit_batch([("read", p, None) for p in same]).result(10)
        s.submit_batch([("read", p, None) for p in odd]).result(10)
        con = sqlite3.connect(s.db_path)
        docs = [json.loads(t) for (t,) in con.execute("SELECT payload FROM entries WHERE n > 1 ORDER BY id")]
        con.close()
        assert isinstance(docs[0], dict) and docs[0]["chip"] == [f"C{i}" for i in range(5)]
        assert isinstance(docs[1], list)
        assert [e.payload for e in s.entries(["read"])] == same + odd


def test_listeners_have_seen_an_entry_when_append_returns(tmp_path: Path) -> None:
    """In-process state that follows the log (the desk's counts) is current as soon as a write returns."""
    with Store(tmp_path) as s:
        seen: list[int] = []
        s.subscribe(lambda es: seen.extend(e.seq for e in es))
        runs: list[int] = []
        s.subscribe(lambda es: runs.extend(getattr(e, "seq", 0) for e in es), runs=True)
        for i in range(20):
            e = s.append("manual_time", {"bib": str(i), "point": "finish", "t": i})
            assert e is not None and seen[-1] == e.seq and runs[-1] == e.seq
        assert s.submit_reads(run_of(10)).result(10) == 10
        assert seen[-1] == 30 and runs[-1] == 21  # a run arrives whole to run listeners


def test_an_entry_is_found_by_uuid_inside_a_packed_row_or_alone(tmp_path: Path) -> None:
    """A correction names a read by uuid: the store finds it with one index probe, whether it is the
    first, a middle or the last entry of a packed row, a single entry or a peer's entry."""
    with Store(tmp_path) as s:
        s.submit_reads(run_of(5)).result(10)
        single = s.append("checkin", {"registration_id": "R1"})
        s.submit_reads(run_of(3, 5)).result(10)
        everything = s.entries()
        peer = Entry("st-peer", 1, "0f0f0f0f-0000-4000-8000-000000000007", "read", {"chip": "P"}, 5, "")
        odd = Entry("st-peer", 2, "peer-read-2", "read", {"chip": "Q"}, 6, "")
        s.store_foreign([peer, odd])
        want = {e.uuid: e for e in [*everything, peer, odd]}
        got = s.find_entries([*want, "00000000-0000-4000-8000-000000000000", "not-a-uuid",
                              nth_uuid(everything[4].uuid, 1)])  # one past a packed row's end
        assert {u: (e.seq, e.station_id, e.kind, e.payload) for u, (_, e) in got.items()} == {
            u: (e.seq, e.station_id, e.kind, e.payload) for u, e in want.items()}
        assert got[single.uuid][1].kind == "checkin"
        ids = [got[e.uuid][0] for e in everything]
        assert ids == sorted(ids) and len(set(ids)) == 3  # two packed rows and the single entry


def test_reads_of_chips_finds_a_runners_reads_without_parsing_the_rest(tmp_path: Path) -> None:
    """A runner's detail lists the reads of their chips only: inside packed runs, single reads, a peer's
    reads (a numeric chip included), in arrival order; a raw line that merely quotes the chip is not a
    read of it."""
    with Store(tmp_path / "st") as s:
        s.submit_reads(run_of(70)).result(10)  # chips C0…C6
        s.append("read", {"reader": "hand", "point": "finish", "role": "main", "chip": "C3", "t": 5,
                          "raw": "manual"})
        s.append("read", {"reader": "hand", "point": "finish", "role": "main", "chip": "C9", "t": 6,
                          "raw": 'someone typed "C3"'})
        s.store_foreign([Entry("peer", 1, "peer-u1", "read", {"reader": "p", "point": "finish", "role": "main",
                                                              "chip": 4711, "t": 7, "raw": "x"}, 1, "op")])
        got = [e for _, e in s.reads_of_chips(["C3"])]
        assert [e.payload["t"] for e in got] == [1003 + 7 * i for i in range(10)] + [5]
        assert all(e.payload["chip"] == "C3" for e in got)
        every = {e.uuid: e for e in s.entries(["read"])}
        assert all(every[e.uuid] == e for e in got)  # the same entries the log holds (seq, uuid, payload)
        assert [e.uuid for _, e in s.reads_of_chips(["4711"])] == ["peer-u1"]
        assert sorted(e.payload["chip"] for _, e in s.reads_of_chips(["C1", "C2"])) == ["C1"] * 10 + ["C2"] * 10
        assert list(s.reads_of_chips([])) == [] and list(s.reads_of_chips(["nobody"])) == []


def test_a_file_from_before_the_chips_column_gets_it_from_its_payloads(tmp_path: Path) -> None:
    """Migration 0004 fills `chips` for reads stored before it (single, columnar run, array of payloads,
    a peer's numeric chip); a runner's reads are found in all of them."""
    with Store(tmp_path) as s:
        s.submit_reads(run_of(14)).result(10)  # columnar: C0…C6 twice
        s.append("read", {"reader": "hand", "point": "finish", "role": "main", "chip": "C3", "t": 5, "raw": "m"})
        s.store_foreign([Entry("peer", 1, "peer-u1", "read", {"chip": 4711, "t": 7, "raw": "x"}, 1, "op")])
        s.append("manual_time", {"bib": "1", "point": "finish", "t": 1})
    con = sqlite3.connect(tmp_path / "station.sqlite3")
    sid = (tmp_path / "station_id").read_text().strip()
    array_row = dumps_many_for_test([{"chip": "C3", "t": 9, "raw": "a"}, {"chip": "Z", "t": 10, "raw": "b"}])
    con.execute("INSERT INTO entries (station_id, seq, n, uuid, kind, payload, recorded_at, operator)"
                " VALUES (?, 100, 2, ?, 'read', ?, 1, '')", (sid, "00000000-0000-4000-8000-000000000001", array_row))
    con.executescript("DROP INDEX ix_entries_chips; ALTER TABLE entries DROP COLUMN chips;"
                      " UPDATE alembic_version SET version_num='0003';")
    con.commit()
    con.close()
    with Store(tmp_path) as s:
        con = sqlite3.connect(tmp_path / "station.sqlite3")
        chips = [json.loads(c) if c else c for (c,) in con.execute("SELECT chips FROM entries ORDER BY id")]
        con.close()
        assert chips[-5:] == [[f"C{i % 7}" for i in range(14)], ["C3"], [4711], None, ["C3", "Z"]]
        got = sorted((e.payload["t"], e.uuid) for _, e in s.reads_of_chips(["C3"]))
        assert [t for t, _ in got] == [5, 9, 1003, 1010]
        assert [e.uuid for _, e in s.reads_of_chips(["4711"])] == ["peer-u1"]
        assert [e.payload["t"] for _, e in s.reads_of_chips(["Z"])] == [10]


def dumps_many_for_test(payloads: list[dict]) -> str:
    return json.dumps(payloads, separators=(",", ":"), sort_keys=True)
