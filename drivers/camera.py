"""Camera scanning: frames from a source, QR decoding on a worker thread, debounced scan events.

Why this shape:
- The source is pluggable (`FrameSource`): an OpenCV `VideoCapture` on a device index (the desk's
  webcam) or on a video/image file, or any iterator of frames. Tests and rehearsals use files; the desk
  uses a device; the decode loop is the same.
- Decoding runs on one worker thread so the GUI never waits for it; results go to a callback (the UI
  engineer bridges it to a Qt signal). The decoder is pluggable (`drivers.qr`).
- A phone held in front of the camera is seen in dozens of consecutive frames: that is *one* scan.
  `Debouncer` emits a code when it first appears and again only after it has been out of sight for
  ``hold_s`` (so a runner who steps away and comes back is scanned again, and the desk says "already").
  Time is the source's own clock (camera: monotonic; file: its position), so a file played faster than
  real time debounces the same way as the live camera would.

No imports from the station: events are `ScanEvent` records.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from drivers.qr import Decoded, QrDecoder, make_decoder, read_image

log = logging.getLogger(__name__)

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".webp", ".tif", ".tiff"}


class CameraError(Exception):
    """A camera or video that cannot be opened or stopped delivering frames."""


@dataclass(frozen=True, slots=True)
class ScanEvent:
    """One debounced scan: the text, when (source clock, seconds; wall clock, UTC ms), where, by whom."""

    text: str
    t: float
    wall_ms: int
    frame_index: int
    points: tuple[tuple[float, float], ...] = ()
    decoder: str = ""


class FrameSource(Protocol):
    live: bool

    def read(self) -> tuple[np.ndarray, float] | None:
        """The next frame and its time in seconds, or None at the end of a file/iterator."""
        ...

    def close(self) -> None: ...


class VideoCaptureSource:
    """OpenCV `VideoCapture` on a device index (live) or a video file."""

    def __init__(self, spec: int | str | Path, *, width: int | None = 1280, height: int | None = 720,
                 fail_after: int = 30) -> None:
        import cv2

        self._cv2 = cv2
        self.live = isinstance(spec, int)
        self.spec = spec
        self._cap = cv2.VideoCapture(spec if self.live else str(spec))
        if not self._cap.isOpened():
            what = f"camera {spec}" if self.live else f"video file {spec}"
            raise CameraError(f"cannot open {what}")
        if self.live:
            if width and height:
                self._cap.set(cv2.CAP_PROP_FRAME_WIDTH, width)
                self._cap.set(cv2.CAP_PROP_FRAME_HEIGHT, height)
            # Keep latency low: we want the newest frame, not a queue of old ones.
            self._cap.set(cv2.CAP_PROP_BUFFERSIZE, 1)
        self._fail_after = fail_after
        self._fails = 0

    def read(self) -> tuple[np.ndarray, float] | None:
        ok, frame = self._cap.read()
        if not ok or frame is None:
            if not self.live:
                return None
            self._fails += 1
            if self._fails >= self._fail_after:
                raise CameraError(f"camera {self.spec} stopped delivering frames (unplugged?)")
            time.sleep(0.01)
            return self.read()
        self._fails = 0
        t = time.monotonic() if self.live else self._cap.get(self._cv2.CAP_PROP_POS_MSEC) / 1000.0
        return frame, t

    def close(self) -> None:
        self._cap.release()


class IterSource:
    """Frames from any iterable (arrays, or ``(array, t)`` pairs); times at ``fps`` when not given."""

    live = False

    def __init__(self, frames: Iterable[np.ndarray | tuple[np.ndarray, float]], fps: float = 30.0) -> None:
        self._it: Iterator[Any] = iter(frames)
        self._fps = fps
        self._n = 0

    def read(self) -> tuple[np.ndarray, float] | None:
        try:
            item = next(self._it)
        except StopIteration:
            return None
        self._n += 1
        if isinstance(item, tuple):
            return item[0], float(item[1])
        return item, (self._n - 1) / self._fps

    def close(self) -> None:
        close = getattr(self._it, "close", None)
        if close is not None:
            close()


def open_source(spec: int | str | Path | Iterable[np.ndarray]) -> FrameSource:
    """A frame source from a device index ("0" too), a video or image file path, or an iterable of frames."""
    if isinstance(spec, int):
        return VideoCaptureSource(spec)
    if isinstance(spec, str) and spec.strip().isdigit():
        return VideoCaptureSource(int(spec))
    if isinstance(spec, str | Path):
        p = Path(spec)
        if not p.exists():
            raise CameraError(f"{p}: no such file")
        if p.suffix.lower() in IMAGE_SUFFIXES:
            try:
                return IterSource([read_image(p)])
            except Exception as e:
                raise CameraError(str(e)) from e
        return VideoCaptureSource(p)
    return IterSource(spec)


class Debouncer:
    """One scan per appearance: a code is emitted again only after ``hold_s`` without being seen."""

    def __init__(self, hold_s: float = 1.5) -> None:
        self.hold_s = hold_s
        self._last_seen: dict[str, float] = {}

    def accept(self, text: str, t: float) -> bool:
        last = self._last_seen.get(text)
        self._last_seen[text] = t
        if len(self._last_seen) > 256:
            self._last_seen = {k: v for k, v in self._last_seen.items() if t - v <= self.hold_s}
        return last is None or t - last > self.hold_s or t < last


@dataclass
class CameraStats:
    frames: int = 0
    decoded_frames: int = 0  # frames in which a code was found
    scans: int = 0
    decode_ms_total: float = 0.0


class CameraScanner:
    """Reads frames on a worker thread, decodes them and calls ``on_scan(ScanEvent)`` once per appearance.

    ``on_scan``/``on_error``/``on_end`` run on the worker thread: keep them quick (hand over to the UI
    thread or a queue). A failing callback is logged and does not stop scanning.
    """

    def __init__(self, source: FrameSource | int | str | Path | Iterable[np.ndarray], *,
                 on_scan: Callable[[ScanEvent], None],
                 decoder: QrDecoder | str = "zxing",
                 on_error: Callable[[str], None] | None = None,
                 on_end: Callable[[], None] | None = None,
                 hold_s: float = 1.5,
                 realtime: bool = False,
                 thorough_every: int = 4) -> None:
        self._source_spec = source
        self.decoder = make_decoder(decoder) if isinstance(decoder, str) else decoder
        # Hard frames (glare + blur + a dim screen at once) defeat the fast pass; every Nth frame without
        # a code gets the thorough pass instead, which costs several fast passes but stays well inside a
        # 30 fps budget on average. Only for decoders chosen by name (a custom decoder is used as is).
        self.thorough_decoder: QrDecoder | None = (make_decoder(decoder, thorough=True)
                                                   if isinstance(decoder, str) and thorough_every > 0 else None)
        self.thorough_every = thorough_every
        self._misses = 0
        self.on_scan = on_scan
        self.on_error = on_error
        self.on_end = on_end
        self.debouncer = Debouncer(hold_s)
        self.realtime = realtime  # pace file sources at their own frame times (rehearsals)
        self.stats = CameraStats()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.error: str | None = None

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> None:
        if self.running:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="camera-scanner", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        self.join(timeout)

    def join(self, timeout: float | None = None) -> bool:
        """Wait for the worker to end (end of file, error or stop); True when it has ended."""
        if self._thread is not None:
            self._thread.join(timeout)
            return not self._thread.is_alive()
        return True

    def _call(self, fn: Callable[..., None] | None, *args: Any) -> None:
        if fn is None:
            return
        try:
            fn(*args)
        except Exception:
            log.exception("camera scanner callback failed")

    def _run(self) -> None:
        src: FrameSource | None = None
        try:
            s = self._source_spec
            src = s if hasattr(s, "read") and hasattr(s, "live") else open_source(s)  # type: ignore[arg-type]
            start_wall = time.monotonic()
            first_t: float | None = None
            index = 0
            while not self._stop.is_set():
                got = src.read()
                if got is None:
                    break
                frame, t = got
                if self.realtime and not src.live:
                    first_t = t if first_t is None else first_t
                    delay = (t - first_t) - (time.monotonic() - start_wall)
                    if delay > 0 and self._stop.wait(delay):
                        break
                self._process(frame, t, index)
                index += 1
        except CameraError as e:
            self.error = str(e)
            self._call(self.on_error, str(e))
        except Exception as e:  # a driver must not die silently
            log.exception("camera scanner stopped")
            self.error = f"camera scanning stopped: {e}"
            self._call(self.on_error, self.error)
        finally:
            if src is not None:
                try:
                    src.close()
                except Exception:
                    log.exception("closing the camera failed")
            self._call(self.on_end)

    def _process(self, frame: np.ndarray, t: float, index: int) -> None:
        t0 = time.perf_counter()
        dec = self.decoder
        if self.thorough_decoder is not None and self._misses and self._misses % self.thorough_every == 0:
            dec = self.thorough_decoder
        found: list[Decoded] = dec.decode(frame)
        self._misses = 0 if found else self._misses + 1
        self.stats.decode_ms_total += (time.perf_counter() - t0) * 1000
        self.stats.frames += 1
        if found:
            self.stats.decoded_frames += 1
        for d in found:
            if self.debouncer.accept(d.text, t):
                self.stats.scans += 1
                self._call(self.on_scan, ScanEvent(d.text, t, time.time_ns() // 1_000_000, index, d.points,
                                                   d.decoder))


# ------------------------------------------------------------------------------------------- simulation
def phone_frame(code: np.ndarray, *, size: tuple[int, int] = (1280, 720), code_px: int = 260,
                angle: float = 0.0, tilt: float = 0.0, blur: float = 0.0, contrast: float = 1.0,
                glare: float = 0.0, noise: float = 6.0, invert: bool = False,
                center: tuple[float, float] | None = None, seed: int = 0) -> np.ndarray:
    """A synthetic camera frame: `code` (a QR image, grey) on a phone screen held in front of a webcam.

    For the demo's simulated camera, the tests and the bench: the code is scaled to ``code_px`` pixels,
    shown on a slightly blue backlit screen (``contrast`` < 1: a dimmed screen; ``invert``: dark mode)
    in a dark bezel, rotated by ``angle`` degrees and tilted (``tilt`` 0-0.3: perspective), placed at
    ``center`` (fractions of the frame) over a cluttered background, then optionally blurred (``blur``:
    Gaussian sigma, pixels), washed out by a glare spot (``glare`` 0-1) and sensor noise (``noise``)."""
    import cv2

    rng = np.random.default_rng(seed)
    w, h = size
    gray = code if code.ndim == 2 else cv2.cvtColor(code, cv2.COLOR_BGR2GRAY)
    q = cv2.resize(gray, (code_px, code_px), interpolation=cv2.INTER_AREA)
    if invert:
        q = 255 - q
    lo, hi = 128 - 127 * contrast, 128 + 127 * contrast
    q = (lo + (q.astype(np.float32) / 255.0) * (hi - lo)).astype(np.float32)
    margin = code_px // 6
    sw, sh = code_px + 2 * margin, int(code_px * 1.9)
    screen = np.full((sh, sw), hi if not invert else lo, np.float32)
    top = (sh - code_px) // 2
    screen[top:top + code_px, margin:margin + code_px] = q
    bez = max(6, code_px // 20)
    phone = np.full((sh + 2 * bez, sw + 2 * bez, 3), 25, np.float32)
    tint = np.array([1.0, 0.97, 0.93], np.float32)  # BGR: backlight slightly blue
    phone[bez:bez + sh, bez:bez + sw] = screen[..., None] * tint
    ph, pw = phone.shape[:2]
    # Background: smooth blobs (a room) plus fine texture.
    small = rng.integers(40, 200, (9, 16, 3)).astype(np.float32)
    bg = cv2.resize(small, (w, h), interpolation=cv2.INTER_CUBIC)
    bg += rng.normal(0, 12, (h, w, 3)).astype(np.float32)
    cx, cy = center if center is not None else (0.5, 0.5)
    cx, cy = cx * w, cy * h
    src = np.float32([[0, 0], [pw, 0], [pw, ph], [0, ph]])
    k = tilt * pw
    dst = np.float32([[0 + k, 0], [pw - k, 0], [pw, ph], [0, ph]]) - np.float32([pw / 2, ph / 2])
    rot = cv2.getRotationMatrix2D((0, 0), angle, 1.0)[:, :2]
    dst = dst @ rot.T.astype(np.float32) + np.float32([cx, cy])
    m = cv2.getPerspectiveTransform(src, dst)
    warped = cv2.warpPerspective(phone, m, (w, h), flags=cv2.INTER_LINEAR, borderValue=(0, 0, 0))
    mask = cv2.warpPerspective(np.ones((ph, pw), np.float32), m, (w, h), flags=cv2.INTER_LINEAR)
    frame = bg * (1 - mask[..., None]) + warped * mask[..., None]
    if glare > 0:
        yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
        gx, gy = cx + code_px * 0.2, cy - code_px * 0.15
        spot = np.exp(-(((xx - gx) ** 2 + (yy - gy) ** 2) / (2 * (code_px * 0.3) ** 2)))
        frame = frame + glare * 255 * spot[..., None]
    if blur > 0:
        frame = cv2.GaussianBlur(frame, (0, 0), blur)
    if noise > 0:
        frame = frame + rng.normal(0, noise, frame.shape).astype(np.float32)
    return np.clip(frame, 0, 255).astype(np.uint8)
