"""Hand-held barcode scanners: serial mode (pyserial) and a Qt-free keyboard-wedge detector.

Two ways a desk scanner talks to the laptop:
- **Serial mode** (USB-CDC / RS-232, shows up as ``COM5`` or ``/dev/ttyACM0``): each scan is the code
  followed by a suffix, usually CR, LF, CRLF or Tab (configurable on the scanner; some send none).
  `SerialScanner` reuses `drivers.ports.SerialLink` (its own thread, reopening the port by name after a
  cable is pulled), frames scans with `ScanFramer` (any of those terminators, or a pause of ``idle_s``
  when the scanner sends no suffix) and calls ``on_scan(ScannedCode)``.
- **Keyboard wedge** (USB HID): the scanner "types" the code very fast and ends with Enter or Tab. The
  key events are Qt's business (ui/), but telling a scan from a volunteer typing in the search box is a
  pure timing question, answered here by `WedgeDetector`, so it is testable without a QApplication.

No imports from the station: records are plain dataclasses.
"""

from __future__ import annotations

import itertools
import logging
import statistics
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from drivers.ports import SerialLink
from drivers.records import decode

log = logging.getLogger(__name__)

TERMINATORS = b"\r\n\t"
MAX_SCAN = 4096


@dataclass(frozen=True, slots=True)
class ScannedCode:
    """One scan from a serial scanner: the text, the receive time (UTC ms) and the port."""

    text: str
    at_ms: int
    port: str


class ScanFramer:
    """Split a scanner's byte stream into codes: CR, LF, CRLF or Tab end a code; empty codes are dropped.

    A code longer than ``max_len`` without a terminator is cut (garbage cannot grow without bound)."""

    def __init__(self, terminators: bytes = TERMINATORS, max_len: int = MAX_SCAN) -> None:
        self._term = set(terminators)
        self._buf = bytearray()
        self._max = max_len

    @property
    def pending(self) -> int:
        """Bytes received that do not yet form a code."""
        return len(self._buf)

    def feed(self, data: bytes) -> list[str]:
        out: list[str] = []
        for b in data:
            if b in self._term:
                if self._buf:
                    out.append(decode(bytes(self._buf)).strip())
                    self._buf.clear()
                continue
            self._buf.append(b)
            if len(self._buf) >= self._max:
                out.append(decode(bytes(self._buf)).strip())
                self._buf.clear()
        return [t for t in out if t]

    def flush(self) -> list[str]:
        """The pending code (a scanner configured without a suffix, after a pause)."""
        text = decode(bytes(self._buf)).strip()
        self._buf.clear()
        return [text] if text else []


class SerialScanner:
    """A serial-mode barcode scanner on a pyserial port name or URL (``COM5``, ``/dev/ttyACM0``, ``loop://``).

    ``on_scan`` runs on the port's thread; keep it quick. ``idle_s``: a code pending without terminator
    for this long is delivered anyway (None: wait for a terminator)."""

    def __init__(self, port: str, on_scan: Callable[[ScannedCode], None], *, baud: int = 9600,
                 framing: str = "8N1", terminators: bytes = TERMINATORS, idle_s: float | None = 0.3,
                 on_status: Callable[[bool, str], None] | None = None) -> None:
        self.port = port
        self.on_scan = on_scan
        self.idle_s = idle_s
        self._framer = ScanFramer(terminators)
        self._lock = threading.Lock()
        self._last_rx = 0.0
        self._stop = threading.Event()
        self.link = SerialLink(port, self._on_data, baud=baud, framing=framing, on_status=on_status)
        self._idle_thread: threading.Thread | None = None
        self.scans = 0

    def start(self) -> SerialScanner:
        self.link.start()
        if self.idle_s is not None:
            self._idle_thread = threading.Thread(target=self._idle_loop, name=f"scanner idle {self.port}",
                                                 daemon=True)
            self._idle_thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        self.link.stop(timeout)
        if self._idle_thread is not None:
            self._idle_thread.join(timeout)
        with self._lock:
            rest = self._framer.flush()
        self._deliver(rest, time.time_ns() // 1_000_000)

    def send(self, data: bytes) -> bool:
        """Write to the scanner (configuration commands; tests write through ``loop://``)."""
        return self.link.send(data)

    @property
    def connected(self) -> bool:
        return self.link.connected

    @property
    def pending(self) -> int:
        """Bytes of a code still waiting for its terminator (or the idle pause)."""
        return self._framer.pending

    def _on_data(self, data: bytes, at_ms: int) -> None:
        with self._lock:
            codes = self._framer.feed(data)
            self._last_rx = time.monotonic()
        self._deliver(codes, at_ms)

    def _deliver(self, codes: list[str], at_ms: int) -> None:
        for c in codes:
            self.scans += 1
            try:
                self.on_scan(ScannedCode(c, at_ms, self.port))
            except Exception:
                log.exception("%s: scan callback failed", self.port)

    def _idle_loop(self) -> None:
        assert self.idle_s is not None
        tick = min(0.05, self.idle_s / 3)
        while not self._stop.wait(tick):
            with self._lock:
                if not self._framer.pending or time.monotonic() - self._last_rx < self.idle_s:
                    continue
                codes = self._framer.flush()
            self._deliver(codes, time.time_ns() // 1_000_000)


# ------------------------------------------------------------------------------------------- keyboard wedge
Keystroke = tuple[str, float]  # (character, time in seconds)


@dataclass(frozen=True, slots=True)
class WedgeVerdict:
    is_scan: bool
    text: str
    median_gap_ms: float
    max_gap_ms: float


class WedgeDetector:
    """Tells a keyboard-wedge scanner's burst from a person typing, from key times alone.

    Scanners emit a key every 1-20 ms (some slow-configured ones ~30 ms); even fast typists rarely
    sustain gaps under 60 ms over a whole word. A burst is a scan when it has at least ``min_length``
    characters, its median gap is at most ``max_median_gap_s`` and no gap exceeds ``max_gap_s``.

    Two ways to use it from the UI's key handler:
    - `classify(keys)` on a finished sequence of ``(char, t)``;
    - `feed(char, t)` per key: returns the code when an Enter/Tab ends a scan-like burst (the UI then
      treats the keys as a scan and clears what they typed), else None. A pause longer than
      ``max_gap_s`` starts a new burst, so text typed before a scan does not spoil it.
    """

    ENDS = ("\r", "\n", "\t")

    def __init__(self, *, min_length: int = 4, max_median_gap_s: float = 0.035, max_gap_s: float = 0.1) -> None:
        self.min_length = min_length
        self.max_median_gap_s = max_median_gap_s
        self.max_gap_s = max_gap_s
        self._keys: list[Keystroke] = []

    def classify(self, keys: Sequence[Keystroke]) -> WedgeVerdict:
        chars = [(c, t) for c, t in keys if c not in self.ENDS]
        text = "".join(c for c, _ in chars)
        times = [t for _, t in keys]
        gaps = [b - a for a, b in itertools.pairwise(times)]
        if len(chars) < self.min_length or not gaps:
            return WedgeVerdict(False, text, 0.0, 0.0)
        med = statistics.median(gaps)
        mx = max(gaps)
        ok = med <= self.max_median_gap_s and mx <= self.max_gap_s
        return WedgeVerdict(ok, text, med * 1000, mx * 1000)

    def feed(self, char: str, t: float) -> str | None:
        if self._keys and t - self._keys[-1][1] > self.max_gap_s:
            self._keys.clear()
        self._keys.append((char, t))
        if char not in self.ENDS:
            if len(self._keys) > MAX_SCAN:
                del self._keys[: len(self._keys) - MAX_SCAN]
            return None
        keys, self._keys = self._keys, []
        v = self.classify(keys)
        return v.text if v.is_scan else None

    def reset(self) -> None:
        self._keys.clear()
