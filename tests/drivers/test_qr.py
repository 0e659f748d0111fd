"""QR decoding from real images: ticket PNGs from `tickets issue`, shown on a simulated phone screen."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from drivers.camera import phone_frame
from drivers.qr import (
    ImageReadError,
    OpenCVDecoder,
    ZxingDecoder,
    decode_image_file,
    make_decoder,
    read_image,
)
from station.checkin import tickets


@pytest.fixture(scope="module")
def ticket(tmp_path_factory):
    """A real signed ticket and its PNG, as `tickets issue` writes it."""
    # A fixed key and time: the same QR every run, so image-difficulty tests are repeatable.
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    key = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
    now = 1_795_000_000
    claims = tickets.ticket_claims("wo-run-shanghai-2026", {"registration_id": "R00042", "bib": "10042",
                                                            "race": "21k", "runner_id": "U123456"},
                                   iat=now, exp=now + 86400 * 7)
    token = tickets.TicketSigner(key, "k1").sign(claims)
    png = tickets.render_qr_png(token, tmp_path_factory.mktemp("qr") / "10042_R00042.png")
    return token, png, cv2.imread(str(png), cv2.IMREAD_GRAYSCALE)


CASES = {
    "plain": {},
    "small": {"code_px": 150},
    "rotated_30": {"angle": 30},
    "rotated_90": {"angle": 90},
    "rotated_200": {"angle": 200},
    "tilted": {"tilt": 0.15, "angle": -10},
    "blurred": {"blur": 1.5},
    "low_contrast": {"contrast": 0.35},
    "glare": {"glare": 0.6},
    "dark_mode": {"invert": True},
    "off_centre": {"center": (0.2, 0.3), "code_px": 180},
    "close_up": {"code_px": 620},
    "noisy": {"noise": 18},
}


@pytest.mark.parametrize("case", list(CASES))
def test_zxing_reads_phone_screens(ticket, case):
    token, _, img = ticket
    frame = phone_frame(img, **CASES[case], seed=list(CASES).index(case))
    assert frame.shape == (720, 1280, 3)
    got = ZxingDecoder().decode(frame)
    assert [d.text for d in got] == [token]
    assert len(got[0].points) == 4 and got[0].decoder == "zxing"


def test_hard_frame_needs_the_thorough_pass(ticket):
    token, _, img = ticket
    frame = phone_frame(img, code_px=200, angle=20, blur=1.0, contrast=0.5, glare=0.4, tilt=0.1, noise=10)
    assert [d.text for d in ZxingDecoder(thorough=True).decode(frame)] == [token]


def test_empty_frame(ticket):
    _, _, img = ticket
    frame = phone_frame(img, center=(5, 5))  # phone out of view
    assert ZxingDecoder().decode(frame) == []
    assert OpenCVDecoder().decode(frame) == []
    assert ZxingDecoder().decode(np.zeros((720, 1280), np.uint8)) == []


def test_opencv_reads_a_clean_ticket(ticket):
    token, png, img = ticket
    assert [d.text for d in OpenCVDecoder().decode(cv2.imread(str(png)))] == [token]
    assert [d.text for d in make_decoder("opencv-aruco").decode(phone_frame(img, code_px=400))] == [token]


def test_decode_image_file_screenshot(tmp_path, ticket):
    token, _, img = ticket
    f = tmp_path / "截图 票.jpg"  # a non-ASCII name, as phones save them
    ok, buf = cv2.imencode(".jpg", phone_frame(img, angle=12, code_px=300), [cv2.IMWRITE_JPEG_QUALITY, 70])
    assert ok
    buf.tofile(str(f))
    assert [d.text for d in decode_image_file(f)] == [token]


def test_decode_large_photo(tmp_path, ticket):
    token, _, img = ticket
    big = cv2.resize(phone_frame(img, code_px=300), (4000, 2250), interpolation=cv2.INTER_CUBIC)
    f = tmp_path / "photo.png"
    cv2.imwrite(str(f), big)
    assert [d.text for d in decode_image_file(f)] == [token]


def test_multiple_codes_in_one_image(ticket):
    token, _, img = ticket
    other = np.array(__import__("qrcode").make("WALKUP-9001").convert("L"), dtype=np.uint8)
    frame = np.full((720, 1280), 255, np.uint8)
    a = cv2.resize(img, (300, 300), interpolation=cv2.INTER_NEAREST)
    b = cv2.resize(other, (200, 200), interpolation=cv2.INTER_NEAREST)
    frame[100:400, 100:400] = a
    frame[200:400, 800:1000] = b
    got = {d.text for d in ZxingDecoder(multi=True).decode(frame)}
    assert got == {token, "WALKUP-9001"}


def test_unreadable_files(tmp_path):
    with pytest.raises(ImageReadError, match="cannot read"):
        read_image(tmp_path / "missing.png")
    bad = tmp_path / "not.png"
    bad.write_text("hello")
    with pytest.raises(ImageReadError, match="not an image"):
        read_image(bad)
    empty = tmp_path / "empty.png"
    empty.write_bytes(b"")
    with pytest.raises(ImageReadError):
        read_image(empty)
    with pytest.raises(ValueError, match="unknown QR decoder"):
        make_decoder("quirc")
