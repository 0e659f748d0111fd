"""What callers need from the station's event log: a `Protocol`, so signatures say `EntryLog`, not `Any`.

Why a protocol and not the `Store` class: commands, check-in and reports only append and read entries
and a little state; tests and tools may hand them anything that does that (a store opened read-only by a
report, a store on another file), and the type checker still checks every call.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future
from pathlib import Path
from typing import Any, Protocol

from station.log.entries import Entry


class EntryLog(Protocol):
    """The append-only event log of one station (implemented by `station.log.store.Store`)."""

    @property
    def station_id(self) -> str: ...

    def append(self, kind: str, payload: dict[str, Any], *, operator: str = "",
               recorded_at: int | None = None, dkey: str | None = None,
               timeout: float = 30.0) -> Entry | None: ...

    def append_many(self, items: Iterable[tuple[str, dict[str, Any]]], *, operator: str = "",
                    timeout: float = 600.0) -> list[Entry]: ...

    def submit_batch(self, items: list[tuple[str, dict[str, Any], str | None]], *,
                     operator: str = "") -> Future[list[Entry | None]]: ...

    def entries(self, kinds: Iterable[str] | None = None) -> list[Entry]: ...

    def iter_rows(self, after_id: int = 0, kinds: Iterable[str] | None = None, batch: int = 256, *,
                  runs: bool = False) -> Iterator[tuple[int, Any]]: ...

    def find_entries(self, uuids: Iterable[str]) -> dict[str, tuple[int, Entry]]: ...

    def flush(self, timeout: float = 60.0) -> None: ...

    def last_seq(self, station_id: str | None = None) -> int: ...

    def get_state(self, key: str, default: str | None = None) -> str | None: ...

    def subscribe(self, listener: Callable[[list[Any]], None], *, runs: bool = False) -> None: ...

    def unsubscribe(self, listener: Callable[[list[Any]], None]) -> None: ...

    def set_state(self, key: str, value: str) -> None: ...


class TimingLog(EntryLog, Protocol):
    """What reader ingest needs besides: runs of reads as packed rows, and the highest reader index stored
    (a restarted station asks its reader for what it missed)."""

    @property
    def data_dir(self) -> Path: ...

    def submit_reads(self, run: Any, *, operator: str = "", checked: bool = False) -> Future[int]: ...

    def max_read_index(self, reader_id: str, window: int = 5000) -> int | None: ...


def appended(entry: Entry | None) -> Entry:
    """The entry an append returned. None means "the same dedup key was already stored", which a command
    that passes no dedup key never gets: seeing it is a bug, not a user error."""
    if entry is None:
        raise RuntimeError("append returned no entry for an entry without a dedup key")
    return entry
