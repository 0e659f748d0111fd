"""station.ingest: reader records → durable entries in a real station database."""

from __future__ import annotations

import datetime as dt
import socket
import time
from pathlib import Path

import pytest

from drivers.records import civil_to_wall_ms
from drivers.ultra import format_read
from station.ingest import Ingest, LiveReader, ReaderBinding, import_file
from station.store import Store

FIX = Path(__file__).parents[1] / "drivers" / "fixtures"
SH = dt.timezone(dt.timedelta(hours=8))


def utc_ms(y, mo, d, h, mi, s, ms=0, tz=SH):
    return int(dt.datetime(y, mo, d, h, mi, s, ms * 1000, tzinfo=tz).timestamp() * 1000)


@pytest.fixture
def store(tmp_path):
    with Store(tmp_path / "data") as s:
        yield s


def event(store, tz="Asia/Shanghai", date="2026-11-29"):
    store.append("event_config", {"event": {"id": "e", "name": "E", "date": date, "timezone": tz},
                                  "races": [], "timing_points": []})


def of_kind(store, kind):
    return [e.payload for e in store.entries([kind])]


def test_ultra_capture_to_entries_and_reimport_adds_nothing(store):
    event(store)
    b = ReaderBinding("fin-u", "finish", "ultra")
    ing = import_file(store, b, (FIX / "ultra_capture.txt").read_bytes(), "ultra_capture.txt")
    st = ing.status()
    assert (st.reads, st.stored, st.duplicates, st.unparsed) == (5, 6, 1, 2)
    reads = of_kind(store, "read")
    assert [r["chip"] for r in reads] == ["1001", "1002", "E2801160", "1004"]
    r0 = reads[0]
    assert r0["t"] == utc_ms(2026, 11, 29, 7, 30, 1)  # reader time read in the event's zone
    assert (r0["reader"], r0["point"], r0["role"], r0["rssi"], r0["ant"], r0["key"]) == (
        "fin-u", "finish", "main", -55, 1, "1/1/1")
    assert r0["raw"].startswith("0,1001,") and r0["port"] == "ultra_capture.txt" and r0["rx"] > 0
    unp = of_kind(store, "unparsed")
    assert [u["raw"] for u in unp] == ["this is not a read", "0,1003,1480404603,12"]
    assert all(u["error"] for u in unp)
    assert len(of_kind(store, "reader_config")) == 1
    n = len(store.entries())
    ing2 = import_file(store, b, (FIX / "ultra_capture.txt").read_bytes(), "ultra_capture.txt")
    assert len(store.entries()) == n  # same binding: no new reader_config; same keys: nothing new
    assert ing2.status().duplicates == 7
    assert ing2.status().clock_offset_ms is None  # a capture says nothing about the clock now


def test_binding_change_records_reader_config(store):
    import_file(store, ReaderBinding("r1", "finish", "ultra"), b"", "x")
    import_file(store, ReaderBinding("r1", "finish", "ultra"), b"", "x")
    import_file(store, ReaderBinding("r1", "finish", "ultra", role="backup", chip_format="hex"), b"", "x")
    cfgs = of_kind(store, "reader_config")
    assert [c["role"] for c in cfgs] == ["main", "backup"]
    assert cfgs[1] == {"id": "r1", "point": "finish", "role": "backup", "format": "ultra", "gps": False,
                       "chip_format": "hex"}


def test_hex_chip_format_and_no_event_means_utc(store):
    b = ReaderBinding("r", "finish", "ultra", chip_format="hex")
    w = civil_to_wall_ms(2026, 11, 29, 7, 0, 0, 0)
    data = (format_read("E2801160", w, log_id=1) + "\n" + format_read("XYZ", w, log_id=2) + "\n").encode()
    ing = import_file(store, b, data, "f")
    assert "UTC" in ing.status().zone_note
    (r,) = of_kind(store, "read")
    assert r["chip"] == str(0xE2801160) and r["t"] == utc_ms(2026, 11, 29, 7, 0, 0, tz=dt.UTC)
    (u,) = of_kind(store, "unparsed")
    assert "hex" in u["error"]


def test_raceresult_resends_and_dst_free_zone(store):
    event(store)
    ing = import_file(store, ReaderBinding("rr", "split5", "raceresult", role="backup"),
                      (FIX / "raceresult_capture.txt").read_bytes(), "rr.txt")
    reads = of_kind(store, "read")
    assert [r["chip"] for r in reads] == ["123456", "123457", "123458"]
    assert all(r["role"] == "backup" for r in reads)
    assert ing.status().duplicates == 2  # passing 1 by (decoder,file,number), the short line by content
    assert ing.status().unparsed == 3


def test_mylaps_dateless_gets_event_date(store):
    event(store)
    import_file(store, ReaderBinding("ml", "finish", "mylaps"), (FIX / "mylaps_capture.txt").read_bytes(), "m")
    reads = of_kind(store, "read")
    assert [r["chip"] for r in reads] == ["KX12345", "KX12346", "KX12347", "KX12348"]
    dl = reads[2]
    assert dl["dateless"] is True and dl["t"] == utc_ms(2026, 11, 29, 7, 30, 3, 125)
    assert "dateless" not in reads[0]
    assert "rssi" not in reads[0]


def test_timy_impulses_become_guns(store):
    event(store)
    b = ReaderBinding("timy", "start", "timy", channel_waves={"C0": "A", "C1": "10k/B"})
    ing = import_file(store, b, (FIX / "timy_capture.txt").read_bytes(), "t")
    guns = of_kind(store, "gun")
    assert [(g["wave"], g.get("race"), g["t"]) for g in guns] == [
        ("A", None, utc_ms(2026, 11, 29, 7, 30, 0, 123)),
        ("A", None, utc_ms(2026, 11, 29, 7, 40, 0)),
        ("B", "10k", utc_ms(2026, 11, 29, 8, 5, 11, 456)),
    ]
    assert all(g["dateless"] for g in guns)
    assert ing.status().guns == 3 and ing.status().unparsed == 2


def test_timy_unmapped_channel_is_kept_unparsed(store):
    event(store)
    import_file(store, ReaderBinding("timy", "start", "timy"), b"0001 C3 07:30:00.0000 00\r", "t")
    (u,) = of_kind(store, "unparsed")
    assert "C3" in u["error"] and u["raw"].startswith("0001 C3")


def test_clock_offset_measured_confirmed_and_gps_refused(store):
    event(store, tz="UTC")
    now = [civil_to_wall_ms(2026, 11, 29, 7, 0, 10, 0)]
    ing = Ingest(store, ReaderBinding("r", "finish", "ultra"), clock=lambda: now[0])
    from drivers.ultra import Ultra

    p = Ultra()
    # reader clock 1.5 s behind: reads arrive 1.5 s (plus transmission) after their reader time
    for i, delay in enumerate([1520, 1500, 1700]):
        t = civil_to_wall_ms(2026, 11, 29, 7, 0, i, 0)
        ing.process([format_read("9", t, log_id=i)], t + delay, "p", p).result(5)
    st = ing.status()
    assert st.clock_offset_ms == 1500
    assert "drift" in st.clock_warning
    ing.confirm_clock_offset()
    assert of_kind(store, "clock_offset") == [{"reader": "r", "offset_ms": 1500, "from_ms": 0}]
    assert ing.status().clock_warning == ""
    gps = Ingest(store, ReaderBinding("g", "finish", "ultra", gps=True))
    with pytest.raises(Exception, match="GPS"):
        gps.confirm_clock_offset(100)


def test_live_on_loop_url_answers_commands(store):
    """pyserial's loop:// echoes what we write: the start command comes back as a status line."""
    live = LiveReader(store, ReaderBinding("lp", "finish", "ultra", port="loop://")).start()
    try:
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and live.status().lines == 0:
            time.sleep(0.02)
        st = live.status()
        assert st.connected and st.lines >= 1 and st.unparsed == 0
    finally:
        live.stop()


def test_mylaps_listener_acks_after_commit_and_resend_is_stored_once(store):
    event(store)
    live = LiveReader(store, ReaderBinding("ml", "finish", "mylaps", listen="127.0.0.1:0")).start()
    try:
        host, port = live.address
        with socket.create_connection((host, port), timeout=5) as c:
            f = c.makefile("rb")

            def recv_msg():
                buf = b""
                while not buf.endswith(b"$"):
                    ch = f.read(1)
                    assert ch, "station closed the connection"
                    buf += ch
                return buf.decode()

            c.sendall(b"Finish@Pong@$")
            assert recv_msg() == "WORUN@AckPong@Version2.1@$"
            msg = b"Finish@Passing@c=A1|t=07:30:01.000|d=261129@c=A2|t=07:30:02.000@5@$"
            c.sendall(msg)
            assert recv_msg() == "WORUN@AckPassing@5@$"
            assert [r["chip"] for r in of_kind(store, "read")] == ["A1", "A2"]  # durable before the ack
            c.sendall(msg)  # resent (as if the ack was lost)
            assert recv_msg() == "WORUN@AckPassing@5@$"
            c.sendall(b"Finish@Ping@$")
            assert recv_msg() == "WORUN@AckPing@$"
        assert len(of_kind(store, "read")) == 2
    finally:
        live.stop()


def test_heartbeat_loss_is_reported_loudly(store, caplog):
    now = [1_000_000]
    ing = Ingest(store, ReaderBinding("r", "finish", "ultra"), clock=lambda: now[0])
    ing.set_connected(True)
    from drivers.ultra import Ultra

    ing.process(["V=24.0"], now[0], "p", Ultra())
    now[0] += 10_000
    assert not ing.check_heartbeat()
    now[0] += 20_000  # 30 s of silence from a reader that says V= every 10 s
    with caplog.at_level("WARNING"):
        assert ing.check_heartbeat()
    assert "HEARTBEAT LOST" in caplog.text
    st = ing.status()
    assert st.heartbeat_lost and "HEARTBEAT LOST" in st.line()
    ing.process(["V=24.0"], now[0], "p", Ultra())
    assert not ing.status().heartbeat_lost
    ing.set_connected(False, "cable out")
    assert "DISCONNECTED (cable out)" in ing.status().line()


def test_unparsed_never_stops_ingest_even_for_binary(store):
    data = bytes(range(256)) * 4 + b"\n" + format_read("1", 315_532_800_000 + 1000, log_id=1).encode() + b"\n"
    ing = import_file(store, ReaderBinding("r", "finish", "ultra"), data, "bin")
    assert ing.status().reads == 1 and ing.status().unparsed >= 1
    assert all(u["raw"] for u in of_kind(store, "unparsed"))


def test_lines_without_reads_go_to_the_side_journal(store):
    import_file(store, ReaderBinding("fin-u", "finish", "ultra"), (FIX / "ultra_capture.txt").read_bytes(), "cap")
    text = (store.data_dir / "journal" / "fin-u.log").read_text(encoding="utf-8")
    kept = [line.split("\t")[2] for line in text.splitlines()]
    assert kept == ["V=24.7", "S=1", "T=1480404600,250"]


def test_restarted_station_asks_for_what_it_missed(store):
    store.set_state("reader_resume:r", "41")
    ing = Ingest(store, ReaderBinding("r", "finish", "ultra"), live=True)
    from drivers.ultra import Ultra, cmd_replay_index

    assert Ultra().on_connect(ing.resume) == [b"R\r", cmd_replay_index(42)]
    assert Ingest(store, ReaderBinding("r", "finish", "ultra"), live=False).resume.last_index is None


def test_simulated_feed_plays_a_race_into_the_store(store):
    from drivers.simulated import SimPoint, SimulatedRace
    from station.ingest import SimulatedFeed

    event(store)
    gun = utc_ms(2026, 11, 29, 7, 30, 0)
    race = SimulatedRace({f"r{i}": [str(500 + i)] for i in range(30)}, gun,
                         [SimPoint("start", 0, "start"), SimPoint("finish", 1000, "finish")], seed=3,
                         zone="Asia/Shanghai", stray_reads=0)
    feed = SimulatedFeed(store, ReaderBinding("sim-fin", "finish", "raceresult"), race, speed=50_000).start()
    assert feed.wait(20)
    feed.stop()
    reads = of_kind(store, "read")
    want = race.point_reads("finish")
    assert len(reads) == len(want) == feed.status().reads
    assert [(r["chip"], r["t"]) for r in reads] == [(w.chip, w.utc_ms) for w in want]


def test_a_refused_commit_is_retried_for_live_data(store, monkeypatch):
    """The writer refuses a batch (disk full for a moment): live reads are submitted again, not lost."""
    from concurrent.futures import Future

    import station.ingest as ingest_mod

    monkeypatch.setattr(ingest_mod, "_RETRY_S", 0.01)
    real = store.submit_reads
    fails = [2]

    def flaky(run, operator="", checked=False):
        if fails[0] > 0:
            fails[0] -= 1
            f: Future = Future()
            f.set_exception(OSError("database or disk is full"))
            return f
        return real(run, operator=operator, checked=checked)

    monkeypatch.setattr(store, "submit_reads", flaky)
    from drivers.ultra import Ultra

    ing = Ingest(store, ReaderBinding("r", "finish", "ultra"), live=True)
    ing.process([format_read("77", 315_532_800_000, log_id=5)], 1, "p", Ultra())
    deadline = time.monotonic() + 5
    while ing.status().stored < 1 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert [r["chip"] for r in of_kind(store, "read")] == ["77"]
    assert ing.status().pending == 0


def test_restarted_reader_resumes_from_the_highest_stored_index(tmp_path):
    """A station killed outright may not have saved its resume point: the stored reads tell."""
    from drivers.records import civil_to_wall_ms
    from drivers.ultra import format_read
    from station.ingest import Ingest, ReaderBinding, import_file
    from station.store import Store

    b = ReaderBinding(id="fin-ultra", point="finish", format="ultra")
    lines = "".join(format_read("C1", civil_to_wall_ms(2026, 11, 29, 8, 0, i, 0), log_id=100 + i) + "\r\n"
                    for i in range(5))
    with Store(tmp_path) as store:
        import_file(store, b, lines.encode(), "cap")
        assert store.max_read_index("fin-ultra") == 104
        ing = Ingest(store, b, live=True)
        try:
            assert ing.resume.last_index == 104
        finally:
            ing.close()


def test_throughput_mode_lengthens_the_gil_interval_only_while_importing() -> None:
    import sys

    from station.ingest import throughput_mode

    before = sys.getswitchinterval()
    with throughput_mode(0.05):
        assert abs(sys.getswitchinterval() - max(before, 0.05)) < 1e-6  # stored in µs
    assert sys.getswitchinterval() == before
    try:
        with throughput_mode(0.05):
            raise KeyboardInterrupt
    except KeyboardInterrupt:
        pass
    assert sys.getswitchinterval() == before  # restored even when the import is interrupted
