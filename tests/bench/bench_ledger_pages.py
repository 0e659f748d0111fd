"""The ledger's public pages under load: 1,000 phones against `ledger serve --workers 4` on PostgreSQL.

Run: `source scripts/postgres.sh; .venv/bin/python tests/bench/bench_ledger_pages.py
[--clients 1000] [--seconds 45] [--runners 8000] [--workers 4] [--client-procs 2]` (not collected by
pytest; needs `WORUN_TEST_PG_URL` or `--pg-url`, whose role may CREATE DATABASE).

What it does, all on loopback and bounded in count and time:
1. creates a fresh PostgreSQL database (dropped at the end), registers the event with
   `worun-station ledger event add` and makes a results token with `ledger token add --publish`;
2. pushes `--runners` participants and a `result_published` for 90 % of them through the ledger's API
   (what a results station's `sync` sends), 10 and 21.1 km races, a few opted-out runners;
3. starts `worun-station ledger serve --db … --workers 4` as a real process on 127.0.0.1;
4. runs `--clients` simulated phones for `--seconds`, split over `--client-procs` processes (each an
   asyncio loop; each phone keeps its own keep-alive connection and speaks bare HTTP/1.1 — httpx's
   per-request CPU cost would make the client, not the server, the bottleneck on 2 cores). Each phone
   waits 2–5 s (uniform) between the starts of its requests, first requests spread over 5 s, and asks
   for: the event page (a race's overall list, a random page of 100) 40 %, a runner page 30 %, a search
   (bib or part of a name) 20 %, `results.json` of one race 10 %. Meanwhile the remaining 10 % of
   results are published, two a second, so every worker rebuilds its board while it serves;
5. prints p50/p95/p99/max per page type beside the target, throughput, errors (must be 0), and the
   CPU used by the client processes, the server processes and the whole machine during the load — a
   busy client (or its event loop lagging, also printed) would inflate the latencies, not the server.

Target (issue 17, item 5): p95 ≤ 300 ms per page with 1,000 concurrent clients, PostgreSQL, 4 workers.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing as mp
import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "ledger"))

import httpx  # noqa: E402
import sqlalchemy as sa  # noqa: E402
from ledger_testkit import EVENT_ID, free_port, write_event  # noqa: E402

TARGET_P95_MS = 300.0
KINDS = ("event page", "runner page", "search", "results.json")
WEIGHTS = (40, 30, 20, 10)
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏"
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华玉兰萍鹏辉玲建华飞鑫波宁"
CLUBS = ["", "", "Shanghai Runners", "浦东跑团", "复旦跑协", "Hash House", "静安夜跑"]
STATION = "st-results-bench"


def cli(*args: str) -> str:
    r = subprocess.run([sys.executable, "-m", "station.cli", "ledger", *args], capture_output=True, text=True,
                       timeout=120)
    if r.returncode != 0:
        raise RuntimeError(f"ledger {args[0]} failed: {r.stderr[-2000:]}")
    return r.stdout.strip()


# ------------------------------------------------------------------ the race, as a results station sends it
def people(n: int, rng: random.Random) -> list[dict[str, Any]]:
    out = []
    for i in range(1, n + 1):
        race = "half" if i % 3 == 0 else "10k"
        p = {"registration_id": f"r{i}", "bib": str(i),
             "name": rng.choice(SURNAMES) + rng.choice(GIVEN) + (rng.choice(GIVEN) if i % 3 else ""),
             "gender": "MF"[i % 2], "birth_date": f"{1955 + i % 50}-0{1 + i % 9}-1{i % 9}", "race": race,
             "wave": "A", "chips": [f"C{i:05d}"], "club": rng.choice(CLUBS), "runner_id": f"R{i}"}
        if i % 50 == 0:
            p["public"] = False
        out.append(p)
    return out


def published(p: dict[str, Any], rng: random.Random) -> dict[str, Any]:
    dist = 21_097 if p["race"] == "half" else 10_000
    chip = int(rng.uniform(210_000, 450_000) * dist / 1000)
    return {"registration_id": p["registration_id"], "bib": p["bib"], "race": p["race"], "status": "finished",
            "gun_ms": chip + rng.randint(0, 240_000), "chip_ms": chip, "runner_id": p["runner_id"]}


class Pusher:
    """The results station's stream: entries with consecutive seqs, pushed in batches."""

    def __init__(self, base: str, token: str) -> None:
        self.url = f"{base}/v1/events/{EVENT_ID}/stations/{STATION}/entries"
        self.headers = {"Authorization": f"Bearer {token}"}
        self.seq = 0
        self.client = httpx.Client(timeout=120)

    def push(self, items: list[tuple[str, dict[str, Any]]]) -> None:
        for i in range(0, len(items), 2000):
            batch = []
            for kind, payload in items[i:i + 2000]:
                self.seq += 1
                batch.append({"seq": self.seq, "uuid": str(uuid.uuid4()), "kind": kind, "payload": payload,
                              "recorded_at": int(time.time() * 1000), "operator": "bench"})
            self.client.post(self.url, json=batch, headers=self.headers).raise_for_status()


# ------------------------------------------------------------------ the server process
class Server:
    def __init__(self, db_url: str, workers: int) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.err = tempfile.TemporaryFile()
        self.proc = subprocess.Popen([sys.executable, "-m", "station.cli", "ledger", "serve", "--db", db_url,
                                      "--port", str(self.port), "--workers", str(workers)],
                                     stdout=subprocess.DEVNULL, stderr=self.err)
        deadline = time.monotonic() + 60
        while True:
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.err.seek(0)
                raise RuntimeError("ledger serve did not start: " + self.err.read().decode()[-2000:])
            try:
                if httpx.get(self.base + "/v1/health", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.1)

    def pids(self) -> list[int]:
        """The serve process and its workers."""
        out = [self.proc.pid]
        try:
            kids = Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children").read_text().split()
            out += [int(k) for k in kids]
        except OSError:
            pass
        return out

    def stop(self) -> int | None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                for pid in self.pids()[1:]:
                    try:
                        os.kill(pid, signal.SIGKILL)
                    except OSError:
                        pass
                self.proc.kill()
                self.proc.wait(10)
        self.err.close()
        return self.proc.returncode


def cpu_s(pids: list[int]) -> float:
    """User + system CPU seconds of these processes (from /proc; 0 for one that is gone)."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for pid in pids:
        try:
            f = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(f[11]) + int(f[12])) / tick
        except OSError:
            pass
    return total


def sockets(pid: int) -> int:
    """Open sockets of a process (a worker's accepted connections, plus its few database ones)."""
    n = 0
    try:
        for fd in Path(f"/proc/{pid}/fd").iterdir():
            try:
                n += os.readlink(fd).startswith("socket:")
            except OSError:
                pass
    except OSError:
        pass
    return n


def machine_busy() -> tuple[float, float]:
    """(busy, total) jiffies of the whole machine."""
    f = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = f[3] + f[4]
    return sum(f) - idle, sum(f)


# ------------------------------------------------------------------ the phones
def client_proc(port: int, first: int, count: int, total: int, seconds: float, runners: int,
                names: list[str], start_at: float, q: Any) -> None:
    """`count` phones in one asyncio loop; puts (latencies per kind, errors, cpu s, loop lag list)."""
    rng = random.Random(first)
    host = "127.0.0.1"
    lat: dict[str, list[float]] = {k: [] for k in KINDS}
    errors: list[str] = []
    lags: list[float] = []
    retries: list[int] = []
    ev = f"/events/{EVENT_ID}"
    races = {"10k": (runners - runners // 3) * 9 // 10, "half": (runners // 3) * 9 // 10}

    def target(kind: str) -> str:
        if kind == "event page":
            race = rng.choice(("10k", "10k", "half"))
            params = {"race": race}
            pages = max(1, races[race] // 100)
            if rng.random() < 0.5:  # most look at the first page, others browse
                params["start"] = str(100 * rng.randrange(pages))
            return ev + "?" + urlencode(params)
        if kind == "runner page":
            i = rng.randint(1, runners)
            return f"{ev}/runners/r{i if i % 10 else i - 1}"  # one with a published result
        if kind == "search":
            term = str(rng.randint(1, runners)) if rng.random() < 0.5 else rng.choice(names)
            return ev + "?" + urlencode({"q": term})
        return f"{ev}/results.json?race={rng.choice(('10k', 'half'))}"

    async def get(conn: list, path: str) -> int:
        if not conn:
            conn[:] = await asyncio.open_connection(host, port)
        reader, writer = conn
        writer.write(f"GET {quote(path, safe='/?=&%')} HTTP/1.1\r\nHost: {host}:{port}\r\n"
                     "Accept-Language: zh-CN,zh;q=0.9\r\n\r\n".encode())
        await writer.drain()
        head = await reader.readuntil(b"\r\n\r\n")
        status = int(head.split(b" ", 2)[1])
        length = 0
        for line in head.split(b"\r\n"):
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":", 1)[1])
        await reader.readexactly(length)
        return status

    async def phone(n: int, until: float) -> None:
        await asyncio.sleep(5.0 * n / total)  # spread the first requests over 5 s
        conn: list = []
        while time.monotonic() < until:
            kind = rng.choices(KINDS, WEIGHTS)[0]
            path = target(kind)
            t0 = time.monotonic()
            for attempt in (1, 2):
                reused = bool(conn)
                try:
                    status = await asyncio.wait_for(get(conn, path), 15.0)
                    if status != 200:
                        errors.append(f"{status} {path}")
                    break
                except (TimeoutError, OSError, asyncio.IncompleteReadError, ValueError, IndexError) as e:
                    if conn:
                        conn[1].close()
                    conn = []
                    if attempt == 1 and reused and not isinstance(e, TimeoutError):
                        # the server closed the idle keep-alive connection (uvicorn: after 5 s) as we
                        # sent: a browser sends the GET again on a new connection; so do we, and count it
                        retries.append(1)
                        continue
                    errors.append(f"{type(e).__name__} {path}")
                    break
            lat[kind].append((time.monotonic() - t0) * 1000)
            await asyncio.sleep(max(0.0, t0 + rng.uniform(2.0, 5.0) - time.monotonic()))
        if conn:
            conn[1].close()

    async def lag_probe(until: float) -> None:  # how late the loop wakes a 100 ms sleep: client saturation
        while time.monotonic() < until:
            t = time.monotonic()
            await asyncio.sleep(0.1)
            lags.append((time.monotonic() - t - 0.1) * 1000)

    async def run() -> None:
        await asyncio.sleep(max(0.0, start_at - time.time()))
        until = time.monotonic() + seconds
        await asyncio.gather(lag_probe(until), *(phone(first + i, until) for i in range(count)))

    c0 = time.process_time()
    asyncio.run(run())
    q.put((lat, errors, time.process_time() - c0, lags, len(retries)))


def pct(v: list[float], p: float) -> float:
    return v[min(len(v) - 1, int(len(v) * p))] if v else float("nan")


# ------------------------------------------------------------------ main
def fresh_database(base: str) -> tuple[str, Any]:
    name = f"worun_bench_pages_{os.getpid()}"
    admin = sa.create_engine(sa.engine.make_url(base).set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(sa.text(f"DROP DATABASE IF EXISTS {name}"))
        c.execute(sa.text(f"CREATE DATABASE {name}"))
    return sa.engine.make_url(base).set(database=name).render_as_string(hide_password=False), (admin, name)


def drop_database(handle: Any) -> None:
    admin, name = handle
    with admin.connect() as c:
        c.execute(sa.text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
    admin.dispose()


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--pg-url", default=os.environ.get("WORUN_TEST_PG_URL"))
    ap.add_argument("--clients", type=int, default=1000)
    ap.add_argument("--seconds", type=float, default=45.0)
    ap.add_argument("--runners", type=int, default=8000)
    ap.add_argument("--workers", type=int, default=4)
    ap.add_argument("--client-procs", type=int, default=2)
    args = ap.parse_args()
    if not args.pg_url:
        print("PostgreSQL needed: source scripts/postgres.sh (WORUN_TEST_PG_URL) or --pg-url", file=sys.stderr)
        return 2
    if not (1 <= args.clients <= 5000 and 1 <= args.seconds <= 600 and 10 <= args.runners <= 50_000):
        print("bounds: 1–5000 clients, 1–600 s, 10–50,000 runners", file=sys.stderr)
        return 2
    rng = random.Random(17)
    db_url, handle = fresh_database(args.pg_url)
    srv: Server | None = None
    stop = threading.Event()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            t0 = time.monotonic()
            cli("event", "add", "--db", db_url, str(write_event(Path(tmp))))
            token = cli("token", "add", "--db", db_url, "--event", EVENT_ID, "--station", STATION, "--publish")
        srv = Server(db_url, args.workers)
        pusher = Pusher(srv.base, token)
        ppl = people(args.runners, rng)
        pusher.push([("participant", p) for p in ppl])
        done = [p for p in ppl if int(p["bib"]) % 10]
        late = [p for p in ppl if int(p["bib"]) % 10 == 0]
        pusher.push([("result_published", published(p, rng)) for p in done])
        print(f"ledger: PostgreSQL, {args.workers} workers; {args.runners} participants, {len(done)} results "
              f"published in {time.monotonic() - t0:.1f} s")
        warm = httpx.Client(base_url=srv.base, timeout=60)
        for _ in range(4 * args.workers):  # each worker builds its board once before the clock starts
            warm.get(f"/events/{EVENT_ID}").raise_for_status()
        warm.close()

        def finishes() -> None:  # the last 10 % finish during the load: 2 results a second
            while late and not stop.wait(0.5):
                pusher.push([("result_published", published(late.pop(), rng))])

        names = [p["name"][1:] for p in ppl[:200]] + [p["name"][:1] for p in ppl[:20]]
        ctx = mp.get_context("spawn")
        q = ctx.Queue()
        per = [args.clients // args.client_procs + (i < args.clients % args.client_procs)
               for i in range(args.client_procs)]
        start_at = time.time() + 3.0  # all client processes start together, after importing
        procs = []
        first = 0
        for n in per:
            procs.append(ctx.Process(target=client_proc, args=(srv.port, first, n, args.clients, args.seconds,
                                                              args.runners, names, start_at, q), daemon=True))
            first += n
        for p in procs:
            p.start()
        time.sleep(max(0.0, start_at - time.time()))
        srv_pids = srv.pids()
        s0, m0 = cpu_s(srv_pids), machine_busy()
        writer = threading.Thread(target=finishes, daemon=True)
        writer.start()
        w0 = time.monotonic()
        time.sleep(min(args.seconds / 2, 10.0))
        spread = [sockets(pid) for pid in srv_pids[1:]  # accepted connections per worker, mid-run
                  if b"spawn_main" in Path(f"/proc/{pid}/cmdline").read_bytes()]  # not the resource tracker
        results = [q.get(timeout=args.seconds + 60) for _ in procs]
        wall = time.monotonic() - w0
        s1, m1 = cpu_s(srv_pids), machine_busy()
        stop.set()
        writer.join(10)
        for p in procs:
            p.join(10)
        lat: dict[str, list[float]] = {k: [] for k in KINDS}
        errors: list[str] = []
        client_cpu = 0.0
        lags: list[float] = []
        retried = 0
        for r_lat, r_err, r_cpu, r_lags, r_retried in results:
            retried += r_retried
            for k in KINDS:
                lat[k] += r_lat[k]
            errors += r_err
            client_cpu += r_cpu
            lags += r_lags
        total = sum(len(v) for v in lat.values())
        ncpu = os.cpu_count() or 1
        busy = (m1[0] - m0[0]) / max(1, m1[1] - m0[1])
        print(f"{args.clients} clients in {args.client_procs} processes, one request every 2–5 s each, "
              f"{args.seconds:.0f} s: {total} requests ({total / wall:.0f}/s), {len(errors)} errors, {retried} sent again on a new "
              f"connection after the server closed an idle one; "
              f"{args.runners - len(done) - len(late)} results published meanwhile")
        worst = 0.0
        for k in KINDS:
            v = sorted(lat[k])
            if not v:
                continue
            worst = max(worst, pct(v, 0.95))
            print(f"  {k:<13} n={len(v):6d}  p50 {statistics.median(v):6.1f}  p95 {pct(v, 0.95):6.1f}  "
                  f"p99 {pct(v, 0.99):6.1f}  max {v[-1]:7.1f} ms   (target p95 ≤ {TARGET_P95_MS:.0f} ms)")
        allv = sorted(x for v in lat.values() for x in v)
        print(f"  {'all':<13} n={len(allv):6d}  p50 {statistics.median(allv):6.1f}  p95 {pct(allv, 0.95):6.1f}  "
              f"p99 {pct(allv, 0.99):6.1f}  max {allv[-1]:7.1f} ms")
        lags.sort()
        print(f"CPU during the load ({ncpu} cores): clients {client_cpu / wall:.2f} cores "
              f"({100 * client_cpu / wall / ncpu:.0f} % of the machine), server {(s1 - s0) / wall:.2f} cores "
              f"({100 * (s1 - s0) / wall / ncpu:.0f} %), whole machine busy {100 * busy:.0f} %; "
              f"client loop lag p95 {pct(lags, 0.95):.1f} ms, max {lags[-1] if lags else 0:.1f} ms")
        print(f"open sockets per server worker (mid-run; accepted connections + a few to the database): "
              f"{spread}")
        for e in sorted(set(errors))[:10]:
            print("  error:", e)
        ok = worst <= TARGET_P95_MS and not errors
        print(f"worst p95 {worst:.1f} ms vs target {TARGET_P95_MS:.0f} ms, errors {len(errors)} (must be 0): "
              f"{'met' if ok else 'NOT met'}")
        return 0 if ok else 1
    finally:
        stop.set()
        if srv is not None:
            rc = srv.stop()
            print(f"ledger serve stopped (exit {rc})")
        drop_database(handle)


if __name__ == "__main__":
    sys.exit(main())
