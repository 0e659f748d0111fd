"""Keep a results engine current with what the store commits, off the writer thread.

The store calls its listeners on the writer thread right after each commit; anything slow there
delays the next commit (and so every reader's durability). The follower only queues the committed
entries there and applies them to the engine on a thread of its own, in commit order, batching
whatever piled up meanwhile — crossing detection keeps pace with ingest instead of holding it back.
Used by `reads import` (crossings detected as the capture goes in) and the ingest benchmark.
"""

from __future__ import annotations

import threading
from collections import deque
from typing import Any

from station.entries import Entry
from station.store import CommittedRun


class EngineFollower:
    """Applies every committed entry to `engine` (a `station.results.engine.Engine`)."""

    def __init__(self, store: Any, engine: Any) -> None:
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
        while True:
            with self._cond:
                while not self._queue and not self._stop:
                    self._cond.wait()
                if not self._queue:
                    return
                batch: list[Entry | CommittedRun] = []
                while self._queue:
                    batch += self._queue.popleft()
                self._busy = True
            try:
                entries: list[Entry] = []
                for c in batch:  # runs of reads are expanded here, off the writer thread
                    if type(c) is CommittedRun:
                        entries += c.entries()
                    else:
                        entries.append(c)  # type: ignore[arg-type]
                self.engine.apply(entries)
            except BaseException as e:  # surfaced by drain(): a results bug must not pass silently
                self.error = e
            finally:
                with self._cond:
                    self._busy = False
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
