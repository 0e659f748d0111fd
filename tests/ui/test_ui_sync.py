"""Sync feedback that lasts: what a button did stays on screen across the twice-a-second status."""

from __future__ import annotations

import time
from typing import Any

from station.sync.engine import SyncStatus


def _statuses(qtbot: Any, window: Any, n: int) -> None:
    """Wait until the domain worker has sent `n` more sync statuses (each rewrites the screen)."""
    seen: list[Any] = []
    window.client.worker.sync.connect(seen.append)
    qtbot.waitUntil(lambda: len(seen) >= n, timeout=10_000)


def test_missing_setup_and_sync_now_messages_stay(qtbot: Any, window: Any) -> None:
    s = window.modes["sync"]
    window.tabs.setCurrentWidget(s)
    s.b_start.click()
    assert "ledger URL and station token" in s.outcome.text()
    _statuses(qtbot, window, 4)  # two seconds of status updates
    assert "ledger URL and station token" in s.outcome.text()
    s.b_now.click()
    qtbot.waitUntil(lambda: "not running" in s.outcome.text(), timeout=5000)
    _statuses(qtbot, window, 4)
    assert "not running" in s.outcome.text()


class FakeSync:
    """A sync engine that completes a round when woken."""

    def __init__(self) -> None:
        self.status = SyncStatus(state="offline", online=False, waiting=7, last_error="ledger unreachable")

    def wake(self) -> None:
        self.status = SyncStatus(state="online", online=True, waiting=0, last_sync_ms=int(time.time() * 1000))

    def close(self) -> None:
        pass


def test_sync_now_reports_the_round_it_asked_for(qtbot: Any, window: Any) -> None:
    s = window.modes["sync"]
    window.tabs.setCurrentWidget(s)
    window.client.call(lambda d: setattr(d, "sync", FakeSync()))
    qtbot.waitUntil(lambda: "unreachable" in s.error.text(), timeout=5000)
    s.b_now.click()
    assert "Syncing now" in s.outcome.text()
    qtbot.waitUntil(lambda: s.outcome.text().startswith("Synced at"), timeout=5000)
    assert "0 entries waiting" in s.outcome.text()
    _statuses(qtbot, window, 4)
    assert s.outcome.text().startswith("Synced at")
    window.client.call(lambda d: setattr(d, "sync", None))
