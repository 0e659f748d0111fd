"""The camera worker on a real video file (written with cv2.VideoWriter) holding ticket QR codes."""

from __future__ import annotations

import threading
import time

import cv2
import numpy as np
import pytest

from drivers.camera import CameraError, CameraScanner, Debouncer, IterSource, open_source, phone_frame
from station.checkin import tickets

FPS = 30


@pytest.fixture(scope="module")
def codes():
    """Two real signed tickets and their QR images."""
    signer = tickets.TicketSigner(tickets.generate_private_key(), "k1")
    now = int(time.time())
    out = []
    for i in (1, 2):
        tok = signer.sign(tickets.ticket_claims("evt", {"registration_id": f"R{i}", "bib": str(i), "race": "10k"},
                                                iat=now, exp=now + 3600))
        out.append((tok, _qr_image(tok)))
    return out


def _qr_image(text: str) -> np.ndarray:
    import qrcode

    q = qrcode.QRCode(box_size=8, border=4, error_correction=qrcode.constants.ERROR_CORRECT_M)
    q.add_data(text)
    q.make(fit=True)
    return np.array(q.make_image().convert("L"), dtype=np.uint8)


def _frames(codes, plan):
    """plan: list of (code index or None, number of frames)."""
    blank = phone_frame(codes[0][1], center=(5, 5), size=(640, 480))
    for which, n in plan:
        for k in range(n):
            if which is None:
                yield blank
            else:
                yield phone_frame(codes[which][1], size=(640, 480), code_px=260, angle=3 * k, seed=k)


def _write_video(path, frames):
    w = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), FPS, (640, 480))
    assert w.isOpened()
    for f in frames:
        w.write(f)
    w.release()
    return path


PLAN = [(None, 5), (0, 12), (None, 12), (0, 8), (1, 10), (None, 3)]


@pytest.fixture(scope="module")
def video(tmp_path_factory, codes):
    return _write_video(tmp_path_factory.mktemp("cam") / "desk.avi", _frames(codes, PLAN))


def test_worker_on_a_video_file(video, codes):
    got = []
    ended = threading.Event()
    sc = CameraScanner(video, on_scan=got.append, on_end=ended.set, hold_s=0.2)
    sc.start()
    assert ended.wait(30) and sc.join(5)
    assert sc.error is None
    # Runner 1 in 12 consecutive frames = one scan; gone 0.4 s and back = a second scan; runner 2 = one.
    assert [e.text for e in got] == [codes[0][0], codes[0][0], codes[1][0]]
    assert sc.stats.frames == sum(n for _, n in PLAN)
    assert sc.stats.scans == 3
    assert got[0].frame_index >= 5 and got[0].t == pytest.approx(got[0].frame_index / FPS, abs=0.05)
    assert len(got[0].points) == 4


def test_long_hold_debounces_a_short_absence(video, codes):
    got = []
    sc = CameraScanner(str(video), on_scan=got.append, hold_s=2.0, thorough_every=0)
    sc.start()
    assert sc.join(30)
    assert [e.text for e in got] == [codes[0][0], codes[1][0]]


def test_frame_iterator_and_stop(codes):
    def endless():
        i = 0
        while True:
            i += 1
            yield phone_frame(codes[i % 2][1], size=(640, 480)) if i % 10 < 5 else np.zeros((480, 640, 3), np.uint8)

    got = []
    sc = CameraScanner(IterSource(endless(), fps=FPS), on_scan=got.append, hold_s=0.1)
    sc.start()
    deadline = time.monotonic() + 20
    while len(got) < 3 and time.monotonic() < deadline:
        time.sleep(0.02)
    sc.stop()
    assert not sc.running and len(got) >= 3


def test_a_failing_callback_does_not_stop_scanning(codes):
    seen = []

    def boom(ev):
        seen.append(ev.text)
        raise RuntimeError("UI went away")

    frames = [phone_frame(codes[0][1], size=(640, 480)), np.zeros((480, 640, 3), np.uint8),
              phone_frame(codes[1][1], size=(640, 480))]
    sc = CameraScanner(frames, on_scan=boom, hold_s=0.0)
    sc.start()
    assert sc.join(20)
    assert seen == [codes[0][0], codes[1][0]]


def test_missing_sources_report_errors(tmp_path):
    errors = []
    sc = CameraScanner(tmp_path / "nope.avi", on_scan=lambda e: None, on_error=errors.append)
    sc.start()
    assert sc.join(10)
    assert errors and "no such file" in errors[0]
    bad = tmp_path / "bad.avi"
    bad.write_bytes(b"not a video")
    with pytest.raises(CameraError, match="cannot open"):
        open_source(bad)


def test_image_file_source(tmp_path, codes):
    f = tmp_path / "shot.png"
    cv2.imwrite(str(f), phone_frame(codes[1][1]))
    got = []
    sc = CameraScanner(f, on_scan=got.append)
    sc.start()
    assert sc.join(10)
    assert [e.text for e in got] == [codes[1][0]]


def test_debouncer():
    d = Debouncer(hold_s=1.0)
    assert d.accept("A", 0.0)
    assert not d.accept("A", 0.5)
    assert not d.accept("A", 1.4)  # still in view: each sighting extends the hold
    assert d.accept("B", 1.5)
    assert d.accept("A", 3.0)  # gone for 1.6 s
    assert d.accept("A", 0.1)  # source restarted (time went back)
