"""Read chains: what the results engine keeps of the reads instead of the reads themselves.

Why: a chip is read many times while it is on a mat, and a station at 2,000 reads/s would hold millions
of reads (~230 bytes each) although results only need crossings (DESIGN rule 3). The engine keeps, per
(chip, point, role, reader), the chains of reads less than the point's window apart — first and last
read time, the peak read (RSSI, time), the read count and the few uuids a correction targets — and
merges a read into them as it arrives, in any order (a read may extend a chain, start one, or bridge
two into one).

A chain never spans a *cut*: a `clock_offset` `from_ms` of its reader or a `chip_swap` `from_ms` of its
chip. So every read of a chain has the same clock correction and the same owner, and the engine
corrects and attributes whole chains. Chains need not be maximal: the runner-level merge
(`merge_pieces`) joins pieces less than a window apart, which gives exactly the crossings the reads
themselves would give (each piece is internally chained, so a gap of a window or more between reads
can only fall between pieces).
"""

from __future__ import annotations

from bisect import bisect_right
from operator import attrgetter
from typing import Any

first_of = attrgetter("first")


class Chain:
    """Reads of one (chip, point, role, reader) less than a window apart, all on one side of every cut.

    `peak_t` is meaningful only when `peak_rssi` is not None (no RSSI = weakest: a chain without
    RSSI peaks at its first read). `targets` holds the uuids in the chain named by an ignore/force
    correction (usually None). `uuids` (only on a `TracedChain`) lists every read for the trace view.
    """

    __slots__ = ("count", "first", "last", "peak_rssi", "peak_t", "targets")

    def __init__(self, t: int, rssi: Any, target: str | None) -> None:
        self.first = t
        self.last = t
        self.peak_t = t
        self.peak_rssi = rssi
        self.count = 1
        self.targets: tuple[str, ...] | None = (target,) if target is not None else None

    def add(self, t: int, rssi: Any, target: str | None) -> None:
        if t < self.first:
            self.first = t
        elif t > self.last:
            self.last = t
        self.count += 1
        pr = self.peak_rssi
        if rssi is not None and (pr is None or rssi > pr or (rssi == pr and t < self.peak_t)):
            self.peak_rssi = rssi
            self.peak_t = t
        if target is not None:
            self.targets = (*self.targets, target) if self.targets else (target,)

    def absorb(self, o: Chain) -> None:
        """Merge chain `o` (adjacent, same side of every cut) into this one."""
        if o.first < self.first:
            self.first = o.first
        if o.last > self.last:
            self.last = o.last
        self.count += o.count
        pr, r = self.peak_rssi, o.peak_rssi
        if r is not None and (pr is None or r > pr or (r == pr and o.peak_t < self.peak_t)):
            self.peak_rssi = r
            self.peak_t = o.peak_t
        if o.targets:
            self.targets = (*self.targets, *o.targets) if self.targets else o.targets

    def mark(self, target: str) -> None:
        if not self.targets or target not in self.targets:
            self.targets = (*self.targets, target) if self.targets else (target,)

    def __repr__(self) -> str:
        return f"Chain({self.first}..{self.last}, n={self.count}, peak={self.peak_rssi}@{self.peak_t})"


class TracedChain(Chain):
    """A chain that also lists its reads `(t, uuid)`: built only for the trace view, from reads the
    caller loads from the store (the engine itself keeps no per-read data)."""

    __slots__ = ("uuids",)

    def __init__(self, t: int, rssi: Any, target: str | None) -> None:
        super().__init__(t, rssi, target)
        self.uuids: list[tuple[int, str]] = []

    def absorb(self, o: Chain) -> None:
        super().absorb(o)
        self.uuids += getattr(o, "uuids", [])


def same_side(cuts: list[int] | None, a: int, b: int) -> bool:
    """True when no cut c has min(a, b) < c <= max(a, b) (cut c: reads t < c | t >= c)."""
    if not cuts:
        return True
    if a > b:
        a, b = b, a
    return bisect_right(cuts, a) == bisect_right(cuts, b)


def insert(bucket: list[Chain], t: int, rssi: Any, target: str | None, window: int,
           cuts_a: list[int] | None, cuts_b: list[int] | None, cls: type[Chain] = Chain) -> Chain:
    """Merge one read into a bucket (chains sorted by first read, disjoint). Returns its chain."""
    n = len(bucket)
    if n == 0:
        c = cls(t, rssi, target)
        bucket.append(c)
        return c
    if t >= bucket[-1].first:  # the usual case: reads arrive in time order
        i = n - 1
    else:
        i = bisect_right(bucket, t, key=first_of) - 1
    left = bucket[i] if i >= 0 else None
    if left is not None and t <= left.last:
        left.add(t, rssi, target)
        return left
    right = bucket[i + 1] if i + 1 < n else None
    jl = (left is not None and t - left.last < window and same_side(cuts_a, left.last, t)
          and same_side(cuts_b, left.last, t))
    jr = (right is not None and right.first - t < window and same_side(cuts_a, t, right.first)
          and same_side(cuts_b, t, right.first))
    if jl and jr:
        assert left is not None and right is not None
        left.add(t, rssi, target)
        left.absorb(right)
        del bucket[i + 1]
        return left
    if jl:
        assert left is not None
        left.add(t, rssi, target)
        return left
    if jr:
        assert right is not None
        right.add(t, rssi, target)
        return right
    c = cls(t, rssi, target)
    bucket.insert(i + 1, c)
    return c


def find(bucket: list[Chain], t: int) -> Chain | None:
    """The chain holding a read at time t (chains of a bucket are disjoint)."""
    i = bisect_right(bucket, t, key=first_of) - 1
    if i >= 0 and bucket[i].last >= t:
        return bucket[i]
    return None


def straddling(bucket: list[Chain], cut: int) -> Chain | None:
    """The chain with reads on both sides of a cut (first < cut <= last), if any."""
    i = bisect_right(bucket, cut - 1, key=first_of) - 1
    if i >= 0 and bucket[i].last >= cut:
        return bucket[i]
    return None


# A piece: one chain in corrected time, as the runner-level merge sees it:
# (first, last, peak_rssi, peak_t, targets_or_uuids, count)
Piece = tuple[int, int, Any, int, Any, int]


def _piece_first(p: Piece) -> int:
    return p[0]


def merge_pieces(pieces: list[Piece], window: int, pick: str, source: str, point: str) -> list[tuple]:
    """Rule 3 over a runner's pieces at one point: pieces less than `window` apart (gap between one
    crossing's last read and the next piece's first) are one crossing; time = first or peak read.

    A crossing is `(time, first, last, uuids, source, point, reads)`; `uuids` holds the targeted
    uuids (or, in the trace view, every read's uuid in time order).
    """
    if not pieces:
        return []
    peak = pick == "peak"
    if len(pieces) == 1:
        f, la, pr, pt, u, n = pieces[0]
        return [(pt if peak and pr is not None else f, f, la, _uuids(u), source, point, n)]
    pieces.sort(key=_piece_first)
    out: list[tuple] = []
    f, la, pr, pt, u, n = pieces[0]
    us = [u] if u else []
    for p in pieces[1:]:
        if p[0] - la < window:
            if p[1] > la:
                la = p[1]
            r = p[2]
            if r is not None and (pr is None or r > pr or (r == pr and p[3] < pt)):
                pr, pt = r, p[3]
            if p[4]:
                us.append(p[4])
            n += p[5]
            continue
        out.append((pt if peak and pr is not None else f, f, la, _join(us), source, point, n))
        f, la, pr, pt, u, n = p
        us = [u] if u else []
    out.append((pt if peak and pr is not None else f, f, la, _join(us), source, point, n))
    return out


def _uuids(u: Any) -> tuple[str, ...]:
    if not u:
        return ()
    if isinstance(u, tuple):
        return u
    return tuple(x for _, x in sorted(u, key=_piece_first))


def _join(us: list[Any]) -> tuple[str, ...]:
    if not us:
        return ()
    if len(us) == 1:
        return _uuids(us[0])
    if all(isinstance(u, tuple) for u in us):
        return tuple(x for u in us for x in u)
    return tuple(x for _, x in sorted((y for u in us for y in u), key=_piece_first))
