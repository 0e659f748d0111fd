"""`worun-station web` as a real process over a real station folder: a finish recorded by another
process (`worun-station manual`) reaches the live stream and the page within 2 s; a DQ too; the
process stops cleanly on SIGTERM. And `report certificates` works offline (QR to the station's page,
or no QR and a note) — checked in the real PDF with pdftotext."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "station"))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from sse import SseReader
from webkit import EVENT_ID, SECRETS, write_event
from webproc import WebServer, cli

EV = f"/events/{EVENT_ID}"
LIMIT_S = 2.0  # the target: a crossing on the station's page within 2 s


@pytest.fixture
def station(tmp_path: Path) -> Path:
    data = tmp_path / "station"
    ev, people = write_event(tmp_path)
    cli(data, "event", "load", str(ev))
    cli(data, "participants", "import", str(people))
    cli(data, "manual", "--bib", "1", "--point", "finish", "--time", "08:15:02.5")
    return data


@pytest.fixture
def web(station: Path) -> Iterator[WebServer]:
    srv = WebServer(station)
    yield srv
    srv.stop()


def test_a_finish_from_another_process_reaches_the_page_within_2s(station: Path, web: WebServer) -> None:
    page = httpx.get(web.url + EV, params={"lang": "en"}, timeout=10)
    assert page.status_code == 200 and "张伟" in page.text and "Li Na" not in page.text
    stream = SseReader(web.url + EV + "/stream")
    try:
        _, first = stream.wait(lambda v: True, 10)
        v0 = int(first)
        t0 = time.monotonic()
        cli(station, "manual", "--bib", "2", "--point", "finish", "--time", "08:20:00")
        committed = time.monotonic()  # the manual process has exited: the entry is durable
        t_stream, _ = stream.wait(lambda v: int(v) > v0, 10)
        # the page itself (what the browser fetches on the event) shows the new finisher
        deadline = committed + 10
        while "Li Na" not in httpx.get(web.url + EV, params={"partial": "1"}, timeout=5).text:
            assert time.monotonic() < deadline
            time.sleep(0.02)
        t_page = time.monotonic()
        lag_stream, lag_page = t_stream - committed, t_page - committed
        print(f"\nfinish → stream {lag_stream * 1000:.0f} ms, → page {lag_page * 1000:.0f} ms after the "
              f"`manual` process exited ({(committed - t0) * 1000:.0f} ms to run it); target ≤ {LIMIT_S:.0f} s")
        assert lag_page <= LIMIT_S, f"page showed the finish after {lag_page:.2f} s"
        # a correction reaches the pages the same way
        v1 = int(stream.latest() or 0)
        cli(station, "correct", "dq", "--bib", "2", "--reason", "cut the course")
        committed = time.monotonic()
        stream.wait(lambda v: int(v) > v1, 10)
        deadline = committed + 10
        while '"status":"DQ"' not in httpx.get(web.url + EV + "/results.json", timeout=5).text.replace(" ", ""):
            assert time.monotonic() < deadline
            time.sleep(0.02)
        assert time.monotonic() - committed <= LIMIT_S
    finally:
        stream.close()
    body = httpx.get(web.url + EV + "/runners/R4", timeout=5).text + httpx.get(web.url + EV, timeout=5).text
    for s in SECRETS:
        assert s not in body
    assert web.stop() == 0  # SIGTERM: clean exit


# In CI (CI=true) a missing pdftotext must fail, not skip: scripts/test.sh installs poppler-utils.
@pytest.mark.skipif(shutil.which("pdftotext") is None and os.environ.get("CI") != "true",
                    reason="needs pdftotext (poppler-utils)")
def test_certificates_offline(station: Path, tmp_path: Path) -> None:
    out = tmp_path / "c.pdf"
    p = cli(station, "report", "certificates", "--out", str(out), "--web-url", "http://192.168.1.20:8081")
    text = subprocess.run(["pdftotext", str(out), "-"], capture_output=True, text=True, check=True).stdout
    assert "张伟" in text and "扫码查看成绩" in text
    assert f"http://192.168.1.20:8081/events/{EVENT_ID}/runners/R1" in text
    out2 = tmp_path / "c2.pdf"
    p = cli(station, "report", "certificates", "--out", str(out2))
    assert "without a QR code" in p.stderr
    text = subprocess.run(["pdftotext", str(out2), "-"], capture_output=True, text=True, check=True).stdout
    assert "张伟" in text and "Printed offline: no verification QR code" in text and "http" not in text


def test_published_exports_hide_opted_out_runner(station: Path, tmp_path: Path) -> None:
    cli(station, "manual", "--bib", "4", "--point", "finish", "--time", "08:10:00")
    out = tmp_path / "results.csv"
    cli(station, "export", "results", "--out", str(out))
    text = out.read_text(encoding="utf-8")
    assert "Runner 4" in text and "Bob Secret" not in text and "Hidden Club" not in text
    assert "张伟" in text
    # the timer's own view keeps the name
    assert "Bob Secret" in cli(station, "results").stdout


def test_web_port_in_use_is_a_user_error(station: Path, web: WebServer) -> None:
    from webproc import CLI, ROOT, env

    p = subprocess.run([str(CLI), "--data", str(station), "web", "--host", "127.0.0.1", "--port", str(web.port)],
                       capture_output=True, text=True, env=env(), cwd=ROOT, timeout=60)
    assert p.returncode == 1, p.stderr
    assert f"cannot listen on 127.0.0.1:{web.port}" in p.stderr and "Traceback" not in p.stderr
