"""Give freed memory back to the operating system in long-running station processes.

A station runs for a whole race day. Python frees its objects, but glibc's allocator (Linux) keeps
freed blocks in its per-thread arenas instead of returning them, so a process that handles bursts of
reads on several threads looks like it grows without bound even when its live data is flat (the soak
showed +40 MB of resident memory over 10 minutes for ~6 MB of live objects). `malloc_trim(0)` hands
the free pages back. Elsewhere (Windows, macOS, musl) the allocators return memory on their own and
this is a no-op.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import sys
import threading
import time
from typing import Any

log = logging.getLogger(__name__)

#: seconds between trims: cheap (a few ms), and often enough that no day-long growth builds up
INTERVAL_S = 30.0

_trim_fn: Any = None
_looked = False
_lock = threading.Lock()
_clock = time.monotonic  # seconds from an arbitrary start (Linux: boot)
_last: float | None = None  # monotonic time of the last trim; None: never (the first call trims)


def _malloc_trim() -> Any:
    global _trim_fn, _looked
    if not _looked:
        _looked = True
        if sys.platform.startswith("linux"):
            try:
                libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
                _trim_fn = libc.malloc_trim
                _trim_fn.argtypes = [ctypes.c_size_t]
                _trim_fn.restype = ctypes.c_int
            except (OSError, AttributeError):  # not glibc (musl): nothing to do
                _trim_fn = None
    return _trim_fn


def trim() -> bool:
    """Return free heap memory to the OS now; True when the platform supports it."""
    fn = _malloc_trim()
    if fn is None:
        return False
    try:
        fn(0)
    except Exception:  # pragma: no cover - never let housekeeping break a station
        log.debug("malloc_trim failed", exc_info=True)
        return False
    return True


def maybe_trim(interval_s: float = INTERVAL_S) -> bool:
    """`trim()` at most once per `interval_s` across the process (call it from any periodic loop)."""
    global _last
    now = _clock()
    with _lock:
        # `monotonic()` counts from an arbitrary point (on Linux: boot), so "never trimmed" must not be
        # a number: 0.0 made a machine up for less than `interval_s` refuse its first trim.
        if _last is not None and now - _last < interval_s:
            return False
        _last = now
    return trim()


_thread: threading.Thread | None = None


def start_background(interval_s: float = INTERVAL_S) -> None:
    """A daemon thread trimming every `interval_s` (for servers whose loops are not ours: the ledger).
    Started once per process; a no-op where trimming is not supported."""
    global _thread
    if _malloc_trim() is None:
        return
    with _lock:
        if _thread is not None:
            return
        _thread = threading.Thread(target=_trim_forever, args=(interval_s,), name="memtrim", daemon=True)
        _thread.start()


def _trim_forever(interval_s: float) -> None:
    while True:
        time.sleep(interval_s)
        trim()
