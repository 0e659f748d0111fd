"""Resend-key bookkeeping of the writer: a Bloom filter in front of the `dkeys` table, and running reader
indexes kept as intervals (`dkey_ranges`). Neither can mark a key stored unless its entry was committed."""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable
from typing import Any


class _Bloom:
    """A Bloom filter over resend keys: 2**26 bits (8 MB), two probes from one 64-bit hash.

    About 1 % false positives at 3.6 million keys (a 30-minute soak at 2,000 reads/s); a false
    positive only costs one indexed query. `hash()` varies between processes, so the filter is
    rebuilt from the database at start (never stored).
    """

    _BITS = 26
    _MASK = (1 << 26) - 1

    def __init__(self) -> None:
        self._a = bytearray(1 << (self._BITS - 3))

    def update(self, keys: Iterable[str]) -> None:
        a, m = self._a, self._MASK
        for k in keys:
            h = hash(k)
            b1, b2 = h & m, (h >> 32) & m
            a[b1 >> 3] |= 1 << (b1 & 7)
            a[b2 >> 3] |= 1 << (b2 & 7)

    def maybe(self, keys: Iterable[str]) -> list[str]:
        """The keys the filter may have seen (the rest are certainly new)."""
        a, m = self._a, self._MASK
        out = []
        for k in keys:
            h = hash(k)
            b1, b2 = h & m, (h >> 32) & m
            if (a[b1 >> 3] >> (b1 & 7)) & 1 and (a[b2 >> 3] >> (b2 & 7)) & 1:
                out.append(k)
        return out

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and bool(self.maybe((key,)))


class _Ranges:
    """Exact set of running-index resend keys (`<stream>#<index>`: an Ultra's box/log id, a RACE RESULT
    decoder's file/passing number) kept as disjoint index intervals per stream.

    A reader's log runs 1, 2, 3 …, so the keys of a whole day are a handful of intervals: checking and
    recording a key costs a bisect in memory instead of a B-tree insert per read. The intervals are
    persisted in `dkey_ranges` in the same transaction; after a failed commit they are reloaded from
    there, so a key never counts as stored unless its read was committed.
    """

    def __init__(self, rows: Iterable[tuple[str, int, int]]) -> None:
        self._lo: dict[str, list[int]] = {}
        self._hi: dict[str, list[int]] = {}
        for stream, lo, hi in sorted(rows):
            self._lo.setdefault(stream, []).append(lo)
            self._hi.setdefault(stream, []).append(hi)
        self.dirty: dict[tuple[str, int], int | None] = {}  # (stream, lo) → hi, None: gone

    def add(self, stream: str, i: int) -> bool:
        """Record index `i` of `stream`; False if it was already there."""
        return self.add_span(stream, i, i)

    def add_span(self, stream: str, lo: int, hi: int) -> bool:
        """Record lo … hi at once if none of them is there yet (True); else change nothing (False)."""
        los = self._lo.get(stream)
        if los is None:
            self._lo[stream], self._hi[stream] = [lo], [hi]
            self.dirty[(stream, lo)] = hi
            return True
        his = self._hi[stream]
        k = bisect_right(los, hi) - 1  # last interval starting at or before hi
        if k >= 0 and his[k] >= lo:
            return False  # overlaps
        dirty = self.dirty
        joins_left = k >= 0 and his[k] == lo - 1
        joins_right = k + 1 < len(los) and los[k + 1] == hi + 1
        if joins_left and joins_right:
            his[k] = his[k + 1]
            dirty[(stream, los[k + 1])] = None
            del los[k + 1], his[k + 1]
            dirty[(stream, los[k])] = his[k]
        elif joins_left:
            his[k] = hi
            dirty[(stream, los[k])] = hi
        elif joins_right:
            dirty[(stream, los[k + 1])] = None
            los[k + 1] = lo
            dirty[(stream, lo)] = his[k + 1]
        else:
            los.insert(k + 1, lo)
            his.insert(k + 1, hi)
            dirty[(stream, lo)] = hi
        return True

    def save(self, cur: Any) -> None:
        if not self.dirty:
            return
        cur.executemany("DELETE FROM dkey_ranges WHERE stream=? AND lo=?", list(self.dirty))
        cur.executemany("INSERT INTO dkey_ranges (stream, lo, hi) VALUES (?,?,?)",
                        [(s, lo, hi) for (s, lo), hi in self.dirty.items() if hi is not None])
        self.dirty = {}


