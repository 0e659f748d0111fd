"""A real `worun-station web` process on a free loopback port over a station folder (shared by the
live-pages test, the browser test and the load benchmark)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]
CLI = Path(sys.executable).with_name("worun-station")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def env() -> dict[str, str]:
    e = {**os.environ, "WORUN_OPERATOR": "e2e", "PYTHONIOENCODING": "utf-8"}
    e.pop("WORUN_STATION_DATA", None)
    return e


def cli(data: Path, *args: str) -> subprocess.CompletedProcess[str]:
    p = subprocess.run([str(CLI), "--data", str(data), *args], capture_output=True, text=True,
                       encoding="utf-8", env=env(), timeout=120, cwd=ROOT)
    assert p.returncode == 0, f"{args}: exit {p.returncode}\n{p.stdout}\n{p.stderr}"
    return p


class WebServer:
    """`worun-station web --host 127.0.0.1 --port N` as a subprocess; `stop()` sends SIGTERM."""

    def __init__(self, data: Path, *extra: str) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc = subprocess.Popen([str(CLI), "--data", str(data), "web", "--host", "127.0.0.1",
                                      "--port", str(self.port), *extra],
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env(), cwd=ROOT)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx.get(self.url + "/", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            if self.proc.poll() is not None:
                raise RuntimeError("web exited: " + self.proc.stderr.read().decode()[-2000:])  # type: ignore[union-attr]
            time.sleep(0.05)
        self.stop()
        raise RuntimeError("web did not start")

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.terminate()
        try:
            rc = self.proc.wait(20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            rc = self.proc.wait(20)
        for f in (self.proc.stdout, self.proc.stderr):
            if f:
                f.close()
        return rc
