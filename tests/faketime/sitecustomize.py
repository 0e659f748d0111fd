"""Loaded by every Python process of the suite's second run, the one 400 days ahead (scripts/test.sh puts
this folder on PYTHONPATH only there).

Why: that run moves the calendar with libfaketime and leaves the monotonic clock alone
(FAKETIME_DONT_FAKE_MONOTONIC=1) — with a faked monotonic clock, Debian's libfaketime 0.9.10 makes every
timed wait (`threading.Event.wait`, lock timeouts) sleep for the 400 days. But that library also rewrites
`clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, …)`, which CPython's `time.sleep` uses, into an invalid
call (EINVAL). Here `time.sleep` waits with `select()` (a relative timeout, passed through untouched) until
the real monotonic deadline: the same behaviour, so the code under test runs unchanged.
"""

from __future__ import annotations

import select
import time


def _sleep(seconds: float) -> None:
    if seconds < 0:
        raise ValueError("sleep length must be non-negative")
    end = time.monotonic() + seconds
    while (left := end - time.monotonic()) > 0:
        select.select([], [], [], left)


time.sleep = _sleep
