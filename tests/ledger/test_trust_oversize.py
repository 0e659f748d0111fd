"""Oversized reader input is bounded where it enters (issue 15): an `unparsed` line keeps at most
4 KiB in the log, with its full length and the SHA-256 of its full bytes; the full bytes stay in the
station's local `raw_lines` table (never synced). The station then syncs to a real ledger like any
other day, and a read whose fields no read may hold (a 600 KB chip) becomes an unparsed line instead
of being refused."""

from __future__ import annotations

import hashlib
import io
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import sqlalchemy as sa
from ledger_testkit import GUN_MS, Ledger

from drivers import protocol_for
from drivers.records import civil_to_wall_ms
from drivers.ultra import format_read
from station.cli import main
from station.contract import UNPARSED_RAW_BYTES
from station.ingest import Ingest, ReaderBinding
from station.store import Store, read_payloads
from station.sync import SyncEngine

T0 = civil_to_wall_ms(2026, 11, 29, 8, 0, 0, 0)


def full_text(store: Store, p: dict) -> bytes:
    if "raw_sha256" in p:
        data = store.raw_line(p["raw_sha256"])
        assert data is not None and hashlib.sha256(data).hexdigest() == p["raw_sha256"]
        assert len(data) == p["raw_bytes"]
        return data
    return p["raw"].encode("utf-8")


def sync_all(st: Store, led: Ledger) -> None:
    e = SyncEngine(st, led.url, led.token(st.station_id))
    try:
        e.sync_once()
    finally:
        e.close()
    assert led.count("SELECT COUNT(*) FROM entries WHERE station_id = :s", s=st.station_id) == st.last_seq()


def test_a_600kb_line_from_a_reader_is_bounded_and_syncs(sqlite_ledger: Ledger, tmp_path: Path) -> None:
    garbage = "G" * 600_000
    huge_chip = format_read("9" * 600_000, T0 + 5, log_id=2)  # parses as a read no read may hold
    lines = [format_read("0001", T0, log_id=1), garbage, huge_chip, format_read("0002", T0 + 9, log_id=3)]
    with Store(tmp_path / "st", station_id="finish") as st:
        ing = Ingest(st, ReaderBinding("finish-ultra", "finish", "ultra"), live=True, event_zone="Asia/Shanghai")
        ing.process(lines, GUN_MS, "COM3", protocol_for("ultra")).result(60)
        st.flush()
        reads = read_payloads(st.db_path, "read")
        assert [r["chip"] for r in reads] == ["0001", "0002"]
        unparsed = read_payloads(st.db_path, "unparsed")
        assert len(unparsed) == 2
        for p, want in zip(unparsed, (garbage, huge_chip), strict=True):
            assert len(p["raw"].encode()) <= UNPARSED_RAW_BYTES and want.startswith(p["raw"])
            assert full_text(st, p) == want.encode()  # nothing lost
        assert "not a valid read" in unparsed[1]["error"] and "chip" in unparsed[1]["error"]
        sync_all(st, sqlite_ledger)


def test_reads_import_with_a_5mb_line_is_bounded_and_syncs(sqlite_ledger: Ledger, tmp_path: Path) -> None:
    big = "x" * 5_000_000
    good = [format_read(f"{i:04d}", T0 + i * 1000, log_id=i) for i in range(1, 21)]
    cap = tmp_path / "capture.txt"
    cap.write_text("\n".join([*good[:10], big, *good[10:]]) + "\n", encoding="utf-8")
    data = tmp_path / "st"
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = main(["--data", str(data), "reads", "import", "--point", "finish", "--format", "ultra", str(cap)])
    assert code == 0, err.getvalue()
    with Store(data) as st:
        assert len(read_payloads(st.db_path, "read")) == 20
        pieces = read_payloads(st.db_path, "unparsed")
        assert pieces and all(len(p["raw"].encode()) <= UNPARSED_RAW_BYTES for p in pieces)
        assert b"".join(full_text(st, p) for p in pieces) == big.encode()  # the whole line, in order
        sync_all(st, sqlite_ledger)
    with sqlite_ledger.db.read.connect() as c:
        longest = c.execute(sa.text("SELECT MAX(LENGTH(payload)) FROM entries")).scalar()
    assert longest < 2 * UNPARSED_RAW_BYTES
