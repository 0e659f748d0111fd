"""Camera scanning for the check-in desk: `drivers.camera` decodes on its own thread; this bridges it to Qt.

Why a tapping frame source: the driver delivers scan events, not pictures, but a volunteer needs to
see what the camera sees (is the phone in the frame?) with the detected code outlined. The tap keeps a
downscaled copy of every few frames as a QImage (built on the camera thread, cheap to paint) and hands
it over by a queued signal, so neither decoding nor conversion ever runs on the GUI thread.
"""

from __future__ import annotations

import time
from typing import Any

import cv2
import numpy as np
from PySide6.QtCore import QObject, QPointF, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QImage, QPainter, QPen, QPolygonF
from PySide6.QtWidgets import QSizePolicy, QWidget

from drivers.camera import CameraScanner, ScanEvent, open_source
from ui.i18n import tr

PREVIEW_W = 480
PREVIEW_EVERY_S = 0.08


class TapSource:
    """Wraps a `FrameSource`; hands preview frames to `on_frame(QImage, scale)` at most ~12 per second."""

    def __init__(self, inner: Any, on_frame: Any) -> None:
        self.inner = inner
        self.live = inner.live
        self.on_frame = on_frame
        self._last = 0.0

    def read(self) -> tuple[np.ndarray, float] | None:
        got = self.inner.read()
        if got is not None:
            now = time.monotonic()
            if now - self._last >= PREVIEW_EVERY_S:
                self._last = now
                frame = got[0]
                h, w = frame.shape[:2]
                scale = PREVIEW_W / w if w > PREVIEW_W else 1.0
                small = cv2.resize(frame, (int(w * scale), int(h * scale))) if scale != 1.0 else frame
                if small.ndim == 2:
                    small = cv2.cvtColor(small, cv2.COLOR_GRAY2BGR)
                small = np.ascontiguousarray(small)
                img = QImage(small.data, small.shape[1], small.shape[0], small.strides[0],
                             QImage.Format.Format_BGR888).copy()
                self.on_frame(img, scale)
        return got

    def close(self) -> None:
        self.inner.close()


class CameraBridge(QObject):
    """Owns one `CameraScanner`; signals arrive on the GUI thread."""

    frame = Signal(QImage, float)
    scanned = Signal(str, object)  # text, corner points (full-frame pixels)
    error = Signal(str)
    ended = Signal()

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.scanner: CameraScanner | None = None

    @property
    def running(self) -> bool:
        return self.scanner is not None and self.scanner.running

    def start(self, source: Any, *, hold_s: float = 1.5, decoder: str = "zxing") -> None:
        """`source`: a device index, a file, or an iterable of frames (tests inject frames this way)."""
        self.stop()
        inner = source if hasattr(source, "read") and hasattr(source, "live") else open_source(source)
        tap = TapSource(inner, lambda img, s: self.frame.emit(img, s))
        self.scanner = CameraScanner(tap, on_scan=self._on_scan, decoder=decoder, hold_s=hold_s,
                                     on_error=self.error.emit, on_end=self.ended.emit)
        self.scanner.start()

    def _on_scan(self, ev: ScanEvent) -> None:
        self.scanned.emit(ev.text, ev.points)

    def stop(self) -> None:
        if self.scanner is not None:
            self.scanner.stop(2.0)
            self.scanner = None


class CameraView(QWidget):
    """The live preview, with the last detected code outlined in green for a moment."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAccessibleName(tr("Camera preview"))
        self.setMinimumSize(240, 120)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.image: QImage | None = None
        self.scale = 1.0
        self.outline: tuple[tuple[float, float], ...] = ()
        self.message = tr("Camera off")
        self._clear = QTimer(self)
        self._clear.setSingleShot(True)
        self._clear.timeout.connect(self._drop_outline)

    def show_frame(self, img: QImage, scale: float) -> None:
        self.image = img
        self.scale = scale
        self.update()

    def show_code(self, points: Any) -> None:
        self.outline = tuple(points or ())
        self._clear.start(1200)
        self.update()

    def _drop_outline(self) -> None:
        self.outline = ()
        self.update()

    def set_message(self, text: str) -> None:
        self.message = text
        self.update()

    def paintEvent(self, _ev: Any) -> None:
        p = QPainter(self)
        p.fillRect(self.rect(), QColor("#20242b"))
        if self.image is None or self.image.isNull():
            p.setPen(QColor("#e8eaed"))
            p.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, self.message)
            return
        iw, ih = self.image.width(), self.image.height()
        k = min(self.width() / iw, self.height() / ih)
        ox, oy = (self.width() - iw * k) / 2, (self.height() - ih * k) / 2
        p.save()
        p.translate(ox, oy)
        p.scale(k, k)
        p.drawImage(0, 0, self.image)
        if self.outline:
            pen = QPen(QColor("#34a853"))
            pen.setWidthF(4 / k)
            p.setPen(pen)
            p.drawPolygon(QPolygonF([QPointF(x * self.scale, y * self.scale) for x, y in self.outline]))
        p.restore()
