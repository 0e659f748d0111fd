"""Where the results engine re-reads reads it no longer holds.

The engine keeps read chains, not reads (see `station.results.chains`). A few rare events need the reads
themselves again: a `clock_offset` or `chip_swap` whose `from_ms` falls inside an existing chain (the
chain must be split there), an ignore/unignore/force naming a read that was merged before anyone
targeted it (which chain holds it?), a smaller `window_s` in a new event configuration, and the
wrong-wave check when two waves start less than a window apart. For those the engine scans a
`ReadSource` once (at the end of the `apply()` batch that needed it) — except a late target alone,
which `find()` looks up by uuid (an index probe in a store).

`exact` says whether `scan()` yields only reads the engine has already applied. A store scan may also
yield reads committed but not yet handed to the engine (a live view applies entries a tick later); the
engine then remembers the uuids it took from such a rebuild and skips them when they arrive.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any, Protocol

from station.log.entries import Entry

if TYPE_CHECKING:
    from station.log.store import Store


class ReadSource(Protocol):
    exact: bool

    def scan(self) -> Iterator[Entry]:
        """Every `read` entry (other kinds may be yielded too; the engine skips them)."""
        ...

    def find(self, uuids: set[str]) -> list[Entry]:
        """The entries with these uuids (those not found are left out): a late ignore/force finds its
        read without a scan."""
        ...

    # Optional: `of_chips(chips) -> Iterator[Entry]`, the reads of these chips only (a chip swap or a
    # clock offset splits the chains of a few chips: no need to read every read). The engine uses it
    # when the source has it and falls back to `scan()` otherwise.


class ReadLog:
    """The engine's own list of the read entries it applied: the source of last resort for an engine
    built from a plain iterable (tests, one-shot reports). Holds references only; an engine that can
    re-read a store (`Engine.from_store`, the publisher) does not keep it."""

    exact = True

    def __init__(self) -> None:
        self.entries: list[Entry] = []

    def add(self, e: Entry) -> None:
        self.entries.append(e)

    def scan(self) -> Iterator[Entry]:
        return iter(self.entries)

    def find(self, uuids: set[str]) -> list[Entry]:
        return [e for e in self.entries if e.uuid in uuids]

    def of_chips(self, chips: set[str]) -> Iterator[Entry]:
        return (e for e in self.entries if str(e.payload.get("chip")) in chips)


class StoreReads:
    """Reads from a `Store` (one pass over the `read` rows). With `upto` (a callable giving the last
    local row id the engine has applied) the scan stops there and is exact."""

    def __init__(self, store: Store | Any, upto: Callable[[], int] | None = None) -> None:
        self.store = store
        self.upto = upto
        self.exact = upto is not None

    def scan(self) -> Iterator[Entry]:
        limit = self.upto() if self.upto is not None else None
        for rid, e in self.store.iter_rows(0, ["read"]):
            if limit is not None and rid > limit:
                return
            yield e

    def find(self, uuids: set[str]) -> list[Entry]:
        limit = self.upto() if self.upto is not None else None
        return [e for rid, e in self.store.find_entries(uuids).values() if limit is None or rid <= limit]

    def of_chips(self, chips: set[str]) -> Iterator[Entry]:
        limit = self.upto() if self.upto is not None else None
        for rid, e in self.store.reads_of_chips(chips):
            if limit is not None and rid > limit:
                return
            yield e
