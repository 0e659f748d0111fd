"""Real processes: `worun-station …` commands, their logs, their peak memory; a throwaway PostgreSQL.

Every station, ledger and helper is a separate `python -m station.cli …` process (the same code as the
`worun-station` command, found the same way on every platform). Peak memory is the kernel's high-water
mark of resident memory (`VmHWM` in /proc/PID/status), sampled while the process runs; on platforms
without /proc it is reported as unknown.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

from station.errors import UserError


def cli_argv(*args: str) -> list[str]:
    return [sys.executable, "-m", "station.cli", *args]


def child_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONUNBUFFERED"] = "1"
    env["WORUN_OPERATOR"] = "rehearsal"
    env.setdefault("QT_QPA_PLATFORM", "offscreen")
    root = str(Path(__file__).resolve().parents[2])
    env["PYTHONPATH"] = root + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    return env


def run_cli(*args: str, log: Path | None = None, timeout: float = 300, check: bool = True,
            input_text: str | None = None) -> subprocess.CompletedProcess[str]:
    """Run one `worun-station` command to completion (stdout captured; stderr to the log)."""
    cp = subprocess.run(cli_argv(*args), capture_output=True, text=True, encoding="utf-8", env=child_env(),
                        timeout=timeout, input=input_text)
    if log is not None:
        with log.open("a", encoding="utf-8") as f:
            f.write(f"$ worun-station {' '.join(args)}\n[exit {cp.returncode}]\n")
            if cp.stderr:
                f.write(cp.stderr if cp.stderr.endswith("\n") else cp.stderr + "\n")
    if check and cp.returncode != 0:
        raise UserError(f"`worun-station {' '.join(args)}` failed (exit {cp.returncode}): "
                        f"{(cp.stderr or cp.stdout).strip()[-800:]}")
    return cp


def peak_rss_kb(pid: int) -> int | None:
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except (OSError, ValueError):
        return None
    return None


class Proc:
    """A long-running `worun-station` process that can be killed, stopped and started again."""

    def __init__(self, name: str, args: list[str], logdir: Path) -> None:
        self.name = name
        self.args = args
        self.log = logdir / f"{name}.log"
        self.popen: subprocess.Popen[bytes] | None = None
        self.peak_kb: int | None = None
        self.starts = 0
        self.kills = 0
        self.exit_codes: list[int] = []

    def start(self) -> Proc:
        with self.log.open("ab") as log:
            log.write(f"\n=== start {time.strftime('%H:%M:%S')}: worun-station {' '.join(self.args)}\n".encode())
            log.flush()
            kw: dict[str, Any] = {}
            if os.name == "nt":
                kw["creationflags"] = subprocess.CREATE_NEW_PROCESS_GROUP  # type: ignore[attr-defined]
            self.popen = subprocess.Popen(cli_argv(*self.args), stdout=log, stderr=subprocess.STDOUT,
                                          stdin=subprocess.DEVNULL, env=child_env(), **kw)
        self.starts += 1
        return self

    @property
    def pid(self) -> int | None:
        return self.popen.pid if self.popen is not None else None

    def alive(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def sample(self) -> None:
        if self.alive() and self.pid is not None:
            kb = peak_rss_kb(self.pid)
            if kb is not None:
                self.peak_kb = max(self.peak_kb or 0, kb)

    def kill(self) -> None:
        """SIGKILL: no flush, no goodbye — a laptop whose battery died."""
        if self.popen is None:
            return
        self.sample()
        self.popen.kill()
        self.exit_codes.append(self.popen.wait(30))
        self.kills += 1

    def stop(self, timeout: float = 30.0) -> int | None:
        """SIGTERM (CTRL_BREAK on Windows) and wait: the verb flushes and exits 0."""
        if self.popen is None or self.popen.poll() is not None:
            return self.popen.returncode if self.popen is not None else None
        self.sample()
        try:
            if os.name == "nt":
                self.popen.send_signal(signal.CTRL_BREAK_EVENT)  # type: ignore[attr-defined]
            else:
                self.popen.terminate()
            rc = self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            self.popen.kill()
            rc = self.popen.wait(10)
        self.exit_codes.append(rc)
        return rc

    def tail(self, n: int = 15) -> str:
        try:
            return "\n".join(self.log.read_text(encoding="utf-8", errors="replace").splitlines()[-n:])
        except OSError:
            return ""


class MemorySampler(threading.Thread):
    def __init__(self, procs: list[Proc], every_s: float = 0.5) -> None:
        super().__init__(name="memory sampler", daemon=True)
        self.procs = procs
        self.every_s = every_s
        self.stop_event = threading.Event()
        self.samples: dict[str, list[tuple[float, int]]] = {}

    def run(self) -> None:
        while not self.stop_event.wait(self.every_s):
            for p in list(self.procs):
                p.sample()
                if p.alive() and p.pid is not None:
                    rss = current_rss_kb(p.pid)
                    if rss is not None:
                        self.samples.setdefault(p.name, []).append((time.monotonic(), rss))


def current_rss_kb(pid: int) -> int | None:
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except (OSError, ValueError):
        return None
    return None


def free_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def wait_port(port: int, timeout: float = 30.0, proc: Proc | None = None) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            if proc is not None and not proc.alive():
                raise UserError(f"{proc.name} exited early:\n{proc.tail()}") from None
            time.sleep(0.1)
    raise UserError(f"nothing listens on 127.0.0.1:{port} after {timeout:.0f} s")


# --------------------------------------------------------------------------- PostgreSQL
class Postgres:
    """A database for one rehearsal's ledger: a fresh database on the server named by
    WORUN_TEST_PG_URL (CI), else a throwaway cluster (initdb) on a free port in a temp folder."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.url = ""
        self._admin_url = ""
        self._dbname = ""
        self._cluster: Path | None = None
        self._bindir: Path | None = None
        self._runas: list[str] = []
        self.origin = ""

    def start(self) -> str:
        base = os.environ.get("WORUN_TEST_PG_URL")
        if base:
            self.origin = "WORUN_TEST_PG_URL"
            self._admin_url = base
        else:
            self._admin_url = self._throwaway()
        self._dbname = f"worun_rehearsal_{uuid.uuid4().hex[:10]}"
        self._execute(f'CREATE DATABASE "{self._dbname}"')
        head, _, _db = self._admin_url.rpartition("/")
        self.url = f"{head}/{self._dbname}"
        return self.url

    def _execute(self, sql: str) -> None:
        import psycopg

        url = self._admin_url.replace("postgresql+psycopg://", "postgresql://")
        with psycopg.connect(url, autocommit=True, connect_timeout=10) as conn:
            conn.execute(sql)

    def _throwaway(self) -> str:
        root = Path("/usr/lib/postgresql")
        cands = sorted(root.glob("*/bin/initdb"), key=lambda p: p.parts[-3]) if root.exists() else []
        initdb = str(cands[-1]) if cands else shutil.which("initdb")
        if not initdb:
            raise UserError("no PostgreSQL found: set WORUN_TEST_PG_URL, install PostgreSQL (initdb), "
                            "or run with --sqlite")
        self._bindir = Path(initdb).parent
        # its own temp folder: the output folder may sit where the postgres user cannot go (pytest's)
        self._cluster = Path(tempfile.mkdtemp(prefix="worun-rehearsal-pg-"))
        if hasattr(os, "geteuid") and os.geteuid() == 0:  # initdb refuses root: run as postgres
            os.chmod(self._cluster, 0o755)
            shutil.chown(self._cluster, "postgres", "postgres")
            self._runas = ["runuser", "-u", "postgres", "--"]
        port = free_port()
        data = self._cluster / "data"
        for argv in ([initdb, "-D", str(data), "-A", "trust", "-U", "worun", "-E", "UTF8"],
                     [str(self._bindir / "pg_ctl"), "-D", str(data), "-l", str(self._cluster / "server.log"),
                      "-w", "-o", f"-p {port} -k {self._cluster} -c listen_addresses=127.0.0.1 -c fsync=off",
                      "start"]):
            cp = subprocess.run([*self._runas, *argv], capture_output=True, text=True)
            if cp.returncode != 0:
                raise UserError(f"cannot start a throwaway PostgreSQL ({Path(argv[0]).name}: "
                                f"{(cp.stderr or cp.stdout).strip()[-400:]}); set WORUN_TEST_PG_URL or use --sqlite")
        self.origin = f"throwaway cluster {data} (port {port})"
        return f"postgresql+psycopg://worun@127.0.0.1:{port}/postgres"

    def stop(self) -> None:
        if self._dbname:
            try:
                self._execute(f'DROP DATABASE IF EXISTS "{self._dbname}" WITH (FORCE)')
            except Exception:
                pass
        if self._cluster is not None and self._bindir is not None:
            subprocess.run([*self._runas, str(self._bindir / "pg_ctl"), "-D", str(self._cluster / "data"),
                            "-m", "fast", "-w", "stop"], capture_output=True)
            shutil.rmtree(self._cluster, ignore_errors=True)
