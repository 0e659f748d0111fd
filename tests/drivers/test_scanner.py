"""Serial-mode barcode scanners on real pyserial ports (loop://, socat ptys) and the wedge detector."""

from __future__ import annotations

import shutil
import subprocess
import sys

import pytest
import serial

from drivers.scanner import ScanFramer, SerialScanner, WedgeDetector


def test_framer_terminators_and_split_reads():
    f = ScanFramer()
    assert f.feed(b"eyJhb.x.") == []
    assert f.feed(b"y\r") == ["eyJhb.x.y"]
    assert f.feed(b"\nSECOND\tTHIRD\r\n\r\n") == ["SECOND", "THIRD"]
    assert f.feed("张伟\n".encode()) == ["张伟"]
    assert f.feed(b"\xff\xfeX\n") == ["\\xff\\xfeX"]  # undecodable bytes stay visible
    assert f.feed(b"PENDING") == [] and f.pending
    assert f.flush() == ["PENDING"] and not f.pending


def test_framer_bounds_garbage():
    f = ScanFramer(max_len=100)
    out = f.feed(b"A" * 250)
    assert [len(x) for x in out] == [100, 100] and f.pending


def test_serial_scanner_on_loop_port(wait_for):
    got = []
    sc = SerialScanner("loop://", got.append, idle_s=None).start()
    try:
        assert wait_for(lambda: sc.connected)
        assert sc.send(b"CODE-1\r\nCODE-2\tCODE-3\r")
        assert wait_for(lambda: len(got) == 3)
        assert [c.text for c in got] == ["CODE-1", "CODE-2", "CODE-3"]
        assert all(c.port == "loop://" and c.at_ms > 0 for c in got)
    finally:
        sc.stop()


def test_scanner_without_suffix_is_flushed_after_a_pause(wait_for):
    got = []
    sc = SerialScanner("loop://", got.append, idle_s=0.15).start()
    try:
        assert wait_for(lambda: sc.connected)
        sc.send(b"NO-SUFFIX-1")
        assert wait_for(lambda: [c.text for c in got] == ["NO-SUFFIX-1"])
    finally:
        sc.stop()
    sc = SerialScanner("loop://", got.append, idle_s=30).start()
    try:
        assert wait_for(lambda: sc.connected)
        sc.send(b"NO-SUFFIX-2")
        assert wait_for(lambda: sc.pending == 11)
    finally:
        sc.stop()
    assert [c.text for c in got] == ["NO-SUFFIX-1", "NO-SUFFIX-2"]  # nothing received is lost on stop


@pytest.mark.skipif(sys.platform == "win32", reason="socat ptys are a POSIX test fixture")
def test_serial_scanner_on_a_pty(tmp_path, wait_for):
    if shutil.which("socat") is None:
        pytest.fail("socat is needed for this test (scripts/test.sh installs it)")
    a, b = tmp_path / "scanner", tmp_path / "station"
    proc = subprocess.Popen(["socat", f"pty,raw,echo=0,link={a}", f"pty,raw,echo=0,link={b}"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        assert wait_for(lambda: a.exists() and b.exists())
        got = []
        sc = SerialScanner(str(b), got.append, baud=9600).start()
        try:
            assert wait_for(lambda: sc.connected)
            with serial.Serial(str(a), 9600) as dev:
                for code in ("eyJhbGciOiJFZERTQSJ9.e30.sig", "R00042"):
                    dev.write(code.encode() + b"\r\n")
                    dev.flush()
            assert wait_for(lambda: len(got) == 2)
            assert [c.text for c in got] == ["eyJhbGciOiJFZERTQSJ9.e30.sig", "R00042"]
        finally:
            sc.stop()
    finally:
        proc.terminate()
        proc.wait(5)


def keys(text, gap, t0=0.0, end="\r"):
    out = [(c, t0 + i * gap) for i, c in enumerate(text)]
    return [*out, (end, t0 + len(text) * gap)]


def test_wedge_classifies_scanner_bursts_and_typing():
    d = WedgeDetector()
    assert d.classify(keys("eyJhbGciOi.abc.def", 0.004)).is_scan
    assert d.classify(keys("R00042", 0.025)).is_scan  # a slow-configured scanner
    assert not d.classify(keys("zhang", 0.12)).is_scan  # a volunteer typing
    assert not d.classify(keys("zhangwei", 0.045)).is_scan  # a fast typist
    assert not d.classify(keys("ab", 0.002)).is_scan  # too short to be a ticket
    hiccup = keys("R0004212345", 0.005)
    hiccup[5] = (hiccup[5][0], hiccup[5][1] + 0.2)  # one long stall: not one burst
    assert not d.classify(hiccup).is_scan


def test_wedge_feed_per_key():
    d = WedgeDetector()
    typed = [d.feed(c, t) for c, t in keys("101", 0.15)]
    assert typed == [None] * 4
    # typing, a pause, then a scan: the scan is recognised on its own
    out = [d.feed(c, t) for c, t in keys("ab", 0.15, t0=10.0, end="x")]
    out += [d.feed(c, t) for c, t in keys("TICKET-123", 0.006, t0=11.0, end="\t")]
    assert out[-1] == "TICKET-123" and all(o is None for o in out[:-1])
    d.reset()
    assert d.feed("\r", 20.0) is None
