"""Serial ports (pyserial names and URLs) with a reader thread per port and automatic reconnect.

Modelled on pyserial's `serial.threaded.ReaderThread`, with what a finish line needs on top:
- the port is named, never auto-detected, so a USB adapter pulled and plugged back is found again by
  its stable name (`/dev/serial/by-id/…`, `COM3`, a socat link) — we simply reopen the same name;
- a pulled cable is not an error: the thread reports `disconnected`, retries every `retry_s` (well
  within the 2 s promise once the port is back) and reports `connected` again, calling `on_connect` so
  the protocol can ask the reader to replay what was missed;
- bytes are delivered with the receive time taken as soon as `read()` returns, before any parsing.

Any pyserial URL works: `COM3`, `/dev/ttyUSB0`, `socket://host:port` (readers on TCP, e.g. Ultra on 23,
RACE RESULT on 3601), `loop://` (tests).
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable

import serial

log = logging.getLogger(__name__)

PARITIES = {"N": serial.PARITY_NONE, "E": serial.PARITY_EVEN, "O": serial.PARITY_ODD,
            "M": serial.PARITY_MARK, "S": serial.PARITY_SPACE}
BAUDS = (1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200, 230400)


def parse_framing(text: str) -> tuple[int, str, float]:
    """`8N1` → (bytesize, parity, stopbits); raises ValueError with what was expected."""
    t = text.strip().upper()
    if len(t) < 3 or not t[0].isdigit() or t[1] not in PARITIES:
        raise ValueError(f"framing {text!r}: expected like 8N1, 7E1, 8N2")
    size, parity, stop = int(t[0]), PARITIES[t[1]], float(t[2:])
    if size not in (5, 6, 7, 8) or stop not in (1, 1.5, 2):
        raise ValueError(f"framing {text!r}: data bits 5-8, stop bits 1, 1.5 or 2")
    return size, parity, stop


class SerialLink:
    """One port, one thread: open, read, deliver; on loss, report and reopen by the same name."""

    def __init__(
        self,
        url: str,
        on_data: Callable[[bytes, int], None],
        *,
        baud: int = 115200,
        framing: str = "8N1",
        on_connect: Callable[[], None] | None = None,
        on_status: Callable[[bool, str], None] | None = None,
        retry_s: float = 0.25,
        clock: Callable[[], int] = lambda: time.time_ns() // 1_000_000,
    ) -> None:
        self.url = url
        self.baud = baud
        self.bytesize, self.parity, self.stopbits = parse_framing(framing)
        self._on_data = on_data
        self._on_connect = on_connect
        self._on_status = on_status
        self._retry_s = retry_s
        self._clock = clock
        self._ser: serial.SerialBase | None = None
        self._wlock = threading.Lock()
        self._stop = threading.Event()
        self.connected = False
        self.last_error = ""
        self.reconnects = 0
        self._thread = threading.Thread(target=self._run, name=f"serial {url}", daemon=True)

    # ----------------------------------------------------------------- control
    def start(self) -> SerialLink:
        self._thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        ser = self._ser
        if ser is not None:
            try:
                ser.cancel_read()
            except Exception:
                pass
        self._thread.join(timeout)
        self._close()

    def send(self, data: bytes) -> bool:
        """Write to the reader; False when the port is down (the caller retries on reconnect)."""
        with self._wlock:
            ser = self._ser
            if ser is None or not self.connected:
                return False
            try:
                ser.write(data)
                return True
            except (serial.SerialException, OSError) as e:
                log.warning("%s: write failed: %s", self.url, e)
                return False

    # ----------------------------------------------------------------- thread
    def _open(self) -> serial.SerialBase:
        ser = serial.serial_for_url(self.url, do_not_open=True, baudrate=self.baud, bytesize=self.bytesize,
                                    parity=self.parity, stopbits=self.stopbits, timeout=0.05)
        if hasattr(ser, "exclusive"):
            try:
                ser.exclusive = True  # two programs on one reader would each miss half the reads
            except (ValueError, NotImplementedError, serial.SerialException):
                pass
        if self.url.startswith("socket://"):
            # pyserial's socket handler empties the input right after connecting (a "clean start"): a
            # decoder that pushes passings as soon as it is connected would lose them, silently when
            # the station knows no passing number yet to fetch them again. Keep them.
            ser.reset_input_buffer = lambda: None  # type: ignore[method-assign]
            try:
                ser.open()
            finally:
                del ser.reset_input_buffer
        else:
            ser.open()
        return ser

    def _close(self) -> None:
        with self._wlock:
            ser, self._ser = self._ser, None
        if ser is not None:
            try:
                ser.close()
            except Exception:
                pass

    def _set(self, connected: bool, why: str) -> None:
        if connected == self.connected and why == self.last_error:
            return
        self.connected = connected
        self.last_error = "" if connected else why
        if self._on_status is not None:
            try:
                self._on_status(connected, why)
            except Exception:
                log.exception("status callback failed")

    def _run(self) -> None:
        first = True
        while not self._stop.is_set():
            try:
                ser = self._open()
            except (serial.SerialException, OSError, ValueError) as e:
                self._set(False, f"cannot open {self.url}: {e}")
                self._stop.wait(self._retry_s)
                continue
            with self._wlock:
                self._ser = ser
            if not first:
                self.reconnects += 1
            first = False
            self._set(True, "")
            if self._on_connect is not None:
                try:
                    self._on_connect()
                except Exception:
                    log.exception("%s: on_connect failed", self.url)
            self._read_loop(ser)
            self._close()
        self._set(False, "stopped")

    def _read_loop(self, ser: serial.SerialBase) -> None:
        on_data, clock = self._on_data, self._clock
        while not self._stop.is_set():
            try:
                n = ser.in_waiting
                data = ser.read(n if n > 0 else 1)
            except (serial.SerialException, OSError, TypeError, AttributeError) as e:
                # TypeError/AttributeError: pyserial's posix port after the fd vanished under it.
                self._set(False, f"{self.url}: {e}")
                return
            if data:
                try:
                    on_data(data, clock())
                except Exception:
                    log.exception("%s: data callback failed", self.url)
            elif not self._port_alive(ser):
                self._set(False, f"{self.url}: port went away")
                return

    def _port_alive(self, ser: serial.SerialBase) -> bool:
        """A device path that vanished (USB adapter pulled, pty link gone) means the port is lost even
        when the open handle still reads empty instead of failing."""
        if "://" in self.url or not self.url.startswith("/"):
            return True  # URLs and Windows COM names fail loudly on their own
        return os.path.exists(self.url)
