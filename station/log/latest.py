""""Latest entry wins": the one helper for DESIGN's rule that the latest of several entries about the same
thing counts, entries ordered by `(recorded_at, station_id, seq)` (`Entry.order`).

Why one helper: the rule was written out by hand a dozen times (the event configuration, a runner's
participant row, a reader's configuration, a published result); one place keeps the ordering the same
everywhere, so two stations holding the same entries always pick the same one.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable
from typing import TypeVar

from station.log.entries import Entry

K = TypeVar("K", bound=Hashable)


def latest_by(entries: Iterable[Entry], key: Callable[[Entry], K]) -> dict[K, Entry]:
    """The latest entry for each `key(entry)`."""
    out: dict[K, Entry] = {}
    for e in entries:
        k = key(e)
        cur = out.get(k)
        if cur is None or e.order > cur.order:
            out[k] = e
    return out


def latest(entries: Iterable[Entry]) -> Entry | None:
    """The latest of `entries` (None when there is none)."""
    return latest_by(entries, lambda _e: 0).get(0)
