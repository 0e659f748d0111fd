"""Several ledger server processes on one database: concurrent writers of one stream stay gap-free and
a reader paging with the seq-vector cursor while they commit never skips an entry."""

from __future__ import annotations

import threading
from pathlib import Path

import httpx
from ledger_testkit import Ledger, wire


def test_two_processes_one_database(db_url: str, tmp_path: Path) -> None:
    # Two server processes: this test process and a child process, each with its own connections.
    one = Ledger(db_url, tmp_path, subprocess_mode=True)
    two = Ledger(db_url, tmp_path)
    try:
        toks = {s: one.token(s) for s in ("a", "b", "c")}
        reader = one.token("reader")
        per_station = 200
        batches = {s: [[wire(i) for i in range(k, k + 50)] for k in range(1, per_station + 1, 50)]
                   for s in toks}
        errors: list[str] = []

        def writer(station: str, urls: list[str]) -> None:
            # Every batch goes to both servers at once (a retry landing on another process).
            with httpx.Client(timeout=30) as c:
                for batch in batches[station]:
                    rs: list[httpx.Response] = []
                    ts = [threading.Thread(target=lambda u=u, b=batch, out=rs: out.append(c.post(
                        f"{u}/v1/events/wo-run-test/stations/{station}/entries", json=b,
                        headers={"Authorization": f"Bearer {toks[station]}"}))) for u in urls]
                    for t in ts:
                        t.start()
                    for t in ts:
                        t.join()
                    good = [r for r in rs if r.status_code == 200]
                    if not good or any(r.json()["acked_seq"] != batch[-1]["seq"] for r in good):
                        errors.append(f"{station}: {[r.text for r in rs]}")

        pulled: list[tuple[str, int]] = []
        done = threading.Event()

        def puller() -> None:
            cursor = ""
            urls = [one.url, two.url]
            with httpx.Client(timeout=30) as c:
                i = 0
                while True:
                    finished = done.is_set()
                    while True:
                        r = c.get(f"{urls[i % 2]}/v1/events/wo-run-test/entries",
                                  params={"cursor": cursor, "limit": 37},
                                  headers={"Authorization": f"Bearer {reader}"}).json()
                        i += 1
                        pulled.extend((e["station_id"], e["seq"]) for e in r["entries"])
                        cursor = r["cursor"]
                        if not r["more"]:
                            break
                    if finished:
                        return

        threads = [threading.Thread(target=writer, args=(s, [one.url, two.url])) for s in toks]
        p = threading.Thread(target=puller)
        p.start()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        done.set()
        p.join(60)
        assert not errors, errors[:3]
        expected = [(s, i) for s in sorted(toks) for i in range(1, per_station + 1)]
        assert one.count("SELECT COUNT(*) FROM entries") == len(expected)
        assert sorted(pulled) == expected  # every entry once: none skipped, none twice
    finally:
        one.close()
        two.close()
