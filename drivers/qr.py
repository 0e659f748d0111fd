"""QR decoding for the check-in camera and for photos/screenshots: pluggable decoders, plain records.

Why two decoders: zxing-cpp is built for exactly this job (finding and decoding symbols in camera
frames) and on a 1280×720 frame it is one to two orders of magnitude faster than OpenCV's
`QRCodeDetector`, and more tolerant of glare, screen moiré and small codes (figures in
tests/bench/bench_checkin.py). OpenCV's detector stays available as a fallback (``decoder="opencv"``)
because it ships with OpenCV, which the camera needs anyway.

Race-day frames are hard: phone screens at an angle, glare on a laminated print, codes a few
centimetres wide at arm's length. The fast path is one zxing pass on the grey frame; `thorough=True`
(used for single photos, where time is cheap) adds passes on a contrast-equalised copy and an upscaled
copy before giving up.

No imports from the station: results are `Decoded` records.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

Point = tuple[float, float]


@dataclass(frozen=True, slots=True)
class Decoded:
    """One code found in an image: its text, its corner points (pixels) and which decoder found it."""

    text: str
    points: tuple[Point, ...] = ()
    decoder: str = ""


class QrDecoder(Protocol):
    name: str

    def decode(self, frame: np.ndarray) -> list[Decoded]:
        """All QR codes in a BGR or greyscale frame (empty list: none)."""
        ...


def to_gray(frame: np.ndarray) -> np.ndarray:
    import cv2

    if frame.ndim == 2:
        return frame
    if frame.shape[2] == 4:
        return cv2.cvtColor(frame, cv2.COLOR_BGRA2GRAY)
    return cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)


def _enhanced(gray: np.ndarray) -> list[np.ndarray]:
    """Variants that rescue hard frames: CLAHE for glare/low contrast, 2× upscale for tiny codes."""
    import cv2

    clahe = cv2.createCLAHE(clipLimit=3.0, tileGridSize=(8, 8)).apply(gray)
    out = [clahe]
    if max(gray.shape) <= 2000:
        out.append(cv2.resize(gray, None, fx=2.0, fy=2.0, interpolation=cv2.INTER_CUBIC))
    blurred = cv2.GaussianBlur(gray, (0, 0), 1.2)
    sharp = cv2.addWeighted(gray, 1.8, blurred, -0.8, 0)
    out.append(sharp)
    return out


class ZxingDecoder:
    """zxing-cpp, QR only.

    Defaults chosen on bench figures: `read_barcode` (stop at the first code: a desk scans one runner at
    a time; about twice as fast on frames holding a code as collecting all), downscaling on (a phone
    held close gives a huge code), inversion on (dark-mode screens show light-on-dark codes; only tried
    when the normal pass found nothing). ``multi=True`` returns every code in the frame.
    """

    name = "zxing"

    def __init__(self, *, thorough: bool = False, multi: bool = False, try_downscale: bool = True,
                 try_invert: bool = True) -> None:
        import zxingcpp

        self._zx = zxingcpp
        self._formats = zxingcpp.BarcodeFormat.QRCode
        self.thorough = thorough
        self.multi = multi
        self.try_downscale = try_downscale
        self.try_invert = try_invert

    def _read(self, gray: np.ndarray, scale: float = 1.0) -> list[Decoded]:
        img = np.ascontiguousarray(gray)
        opts = {"formats": self._formats, "try_rotate": True, "try_downscale": self.try_downscale,
                "try_invert": self.try_invert}
        if self.multi:
            found = self._zx.read_barcodes(img, **opts)
        else:
            one = self._zx.read_barcode(img, **opts)
            found = [one] if one is not None else []
        out = []
        for b in found:
            if not b.valid or not b.text:
                continue
            p = b.position
            pts = tuple((pt.x / scale, pt.y / scale)
                        for pt in (p.top_left, p.top_right, p.bottom_right, p.bottom_left))
            out.append(Decoded(b.text, pts, self.name))
        return out

    def decode(self, frame: np.ndarray) -> list[Decoded]:
        gray = to_gray(frame)
        got = self._read(gray)
        if got or not self.thorough:
            return got
        for variant in _enhanced(gray):
            scale = variant.shape[1] / gray.shape[1]
            got = self._read(variant, scale)
            if got:
                return got
        return []


class OpenCVDecoder:
    """OpenCV's own detectors: `QRCodeDetector` (``variant="classic"``, the baseline the bench compares
    against) or `QRCodeDetectorAruco` (``"aruco"``: slower to start, finds more on camera frames)."""

    def __init__(self, *, thorough: bool = False, variant: str = "classic") -> None:
        import cv2

        if variant == "aruco":
            self._det = cv2.QRCodeDetectorAruco()
            self.name = "opencv-aruco"
        else:
            self._det = cv2.QRCodeDetector()
            self.name = "opencv"
        self.thorough = thorough

    def _read(self, gray: np.ndarray, scale: float = 1.0) -> list[Decoded]:
        try:
            text, points, _ = self._det.detectAndDecode(gray)
        except Exception:  # OpenCV raises cv2.error on some degenerate detections
            return []
        if not text:
            return []
        pts = tuple((float(x) / scale, float(y) / scale) for x, y in points.reshape(-1, 2)) \
            if points is not None else ()
        return [Decoded(text, pts, self.name)]

    def decode(self, frame: np.ndarray) -> list[Decoded]:
        gray = to_gray(frame)
        got = self._read(gray)
        if got or not self.thorough:
            return got
        for variant in _enhanced(gray):
            got = self._read(variant, variant.shape[1] / gray.shape[1])
            if got:
                return got
        return []


DECODERS = ("zxing", "opencv", "opencv-aruco")


def make_decoder(name: str = "zxing", *, thorough: bool = False) -> QrDecoder:
    """A decoder by name: ``zxing`` (default: fastest, most tolerant), ``opencv``, ``opencv-aruco``."""
    if name == "zxing":
        return ZxingDecoder(thorough=thorough)
    if name == "opencv":
        return OpenCVDecoder(thorough=thorough)
    if name == "opencv-aruco":
        return OpenCVDecoder(thorough=thorough, variant="aruco")
    raise ValueError(f"unknown QR decoder {name!r}; expected one of {', '.join(DECODERS)}")


class ImageReadError(Exception):
    """An image file that cannot be read (missing, not an image)."""


def read_image(path: Path | str) -> np.ndarray:
    """Load an image as BGR. Goes through `np.fromfile` + `imdecode` so non-ASCII paths work on
    Windows (plain `cv2.imread` fails on them)."""
    import cv2

    p = Path(path)
    try:
        data = np.fromfile(str(p), dtype=np.uint8)
    except OSError as e:
        raise ImageReadError(f"{p}: cannot read ({e.strerror or e})") from e
    img = cv2.imdecode(data, cv2.IMREAD_COLOR) if data.size else None
    if img is None:
        raise ImageReadError(f"{p}: not an image OpenCV can read (PNG, JPEG, BMP, WebP…)")
    return img


def decode_image_file(path: Path | str, decoders: Sequence[str] = ("zxing", "opencv-aruco")) -> list[Decoded]:
    """Every QR code in a photo or screenshot, trying each decoder thoroughly until one finds something."""
    img = read_image(path)
    # Phone photos can be 12 MP: bring them to a size where modules are still several pixels wide.
    h, w = img.shape[:2]
    if max(h, w) > 2600:
        import cv2

        f = 2600 / max(h, w)
        img = cv2.resize(img, None, fx=f, fy=f, interpolation=cv2.INTER_AREA)
    for name in decoders:
        dec = ZxingDecoder(thorough=True, multi=True) if name == "zxing" else make_decoder(name, thorough=True)
        got = dec.decode(img)
        if got:
            return got
    return []
