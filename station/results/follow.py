"""Keep a results engine current with what the store commits, off the writer thread.

The store calls its listeners on the writer thread right after each commit; anything slow there
delays the next commit (and so every reader's durability). The follower only queues the committed
entries there and applies them to the engine on a thread of its own, in commit order, batching
whatever piled up meanwhile — crossing detection keeps pace with ingest instead of holding it back.
Used by `reads import` (crossings detected as the capture goes in) and the ingest benchmark.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from typing import Any

from station.log.entries import Entry
from station.log.entry_log import EntryLog
from station.log.store import CommittedRun

_MAX_STALE_S = 0.5


class EngineFollower:
    """Applies every committed entry to `engine` (a `station.results.engine.Engine`)."""

    def __init__(self, store: EntryLog, engine: Any) -> None:
        self.store = store
        self.engine = engine
        self.error: BaseException | None = None
        self._queue: deque[list[Entry | CommittedRun]] = deque()
        self._cond = threading.Condition()
        self._busy = False
        self._stop = False
        self._thread = threading.Thread(target=self._run, name="engine-follower", daemon=True)
        self._thread.start()
        store.subscribe(self._on_commit, runs=True)

    def _on_commit(self, entries: list[Entry | CommittedRun]) -> None:
        with self._cond:
            self._queue.append(entries)
            self._cond.notify()

    def _run(self) -> None:
        dirty: set[str] = set()
        behind_since: float | None = None
        while True:
            with self._cond:
                while not self._queue and not self._stop and not dirty:
                    self._cond.wait()
                if not self._queue and not dirty:
                    return
                batch: list[Entry | CommittedRun] = []
                while self._queue:
                    batch += self._queue.popleft()
                self._busy = True
            try:
                # runs of reads go in as they are: the engine takes their columns (see Engine._add_run)
                if batch:
                    dirty |= self.engine.apply(batch, recompute=False)
                now = time.monotonic()
                if behind_since is None:
                    behind_since = now
                # Results are recomputed once caught up (each runner once, however many batches its
                # reads came in), or at least every half second while a backlog lasts.
                if dirty and (not self._queue or now - behind_since > _MAX_STALE_S):
                    self.engine.update(dirty)
                    dirty = set()
                    behind_since = None
            except BaseException as e:  # surfaced by drain(): a results bug must not pass silently
                self.error = e
                dirty = set()
            finally:
                with self._cond:
                    self._busy = bool(dirty)
                    self._cond.notify_all()

    def drain(self, timeout: float = 600.0) -> None:
        """Wait until everything committed so far has been applied."""
        self.store.flush()
        with self._cond:
            if not self._cond.wait_for(lambda: not self._queue and not self._busy, timeout):
                raise TimeoutError("results engine did not catch up")
        if self.error is not None:
            raise RuntimeError(f"results engine failed: {self.error}") from self.error

    def close(self) -> None:
        self.store.unsubscribe(self._on_commit)
        with self._cond:
            self._stop = True
            self._cond.notify_all()
        self._thread.join()

    def __enter__(self) -> EngineFollower:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
