"""Freed memory goes back to the OS in long-running processes (glibc keeps it otherwise)."""

from __future__ import annotations

import sys

from station import memtrim


def test_trim_is_safe_everywhere_and_rate_limited() -> None:
    supported = memtrim.trim()
    assert supported == (sys.platform.startswith("linux") and memtrim._malloc_trim() is not None)
    memtrim._last = None  # never trimmed: the first call trims, however long the machine has been up
    assert memtrim.maybe_trim(interval_s=3600) == supported
    assert memtrim.maybe_trim(interval_s=3600) is False  # not again within the interval


def test_trimming_returns_freed_heap(tmp_path) -> None:
    if not memtrim.trim():
        return  # nothing to prove where the allocator returns memory itself
    def rss_kb() -> int:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * 4
    memtrim.trim()
    before = rss_kb()
    junk = [bytearray(1000) for _ in range(100_000)]  # ~100 MB in small malloc'd blocks
    keep = junk[::1000]
    del junk
    memtrim.trim()
    assert rss_kb() - before < 20_000, "freed blocks were not given back"
    assert len(keep) == 100


def test_first_trim_on_a_machine_booted_seconds_ago(monkeypatch) -> None:
    """CI machines are fresh: `monotonic()` (seconds since boot on Linux) may be smaller than the interval."""
    supported = memtrim._malloc_trim() is not None
    monkeypatch.setattr(memtrim, "_last", None)
    monkeypatch.setattr(memtrim, "_clock", lambda: 5.0)
    assert memtrim.maybe_trim(interval_s=3600) == supported
    assert memtrim.maybe_trim(interval_s=3600) is False
