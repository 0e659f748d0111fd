"""Reads kept as chains (see `station.results.chains`): a chip's reads at one reader folded into
crossing-sized chains as they arrive, cut where a clock offset or a chip swap starts, rebuilt from
the read source when a window narrows or a chain must be split.

Why: a race day holds millions of reads; the rules need crossings, and a chain is what a crossing
is made from, at a fraction of the memory (test_engine_chainstore.py measures it).
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterable
from typing import Any

from station.log.entries import Entry
from station.results.chains import Chain, TracedChain, find, insert, same_side, straddling
from station.results.model import (
    DEFAULT_WINDOW_MS,
    BucketKey,
    ReadT,
)


class ChainStore:
    """Reads kept as chains, per chip and reader.

    A part of `Engine` (engine.py): one class whose parts live in modules named for their
    responsibility. They share the engine's state (set up in `Engine.__init__`) because the hot paths
    read it directly: a split into objects would add an attribute hop per read.
    """

    def _add_read(self, e: Entry, p: dict[str, Any], dirty: set[str]) -> bool:
        chip = str(p["chip"])
        t = int(p["t"])
        # Point, role and reader repeat on every read: one shared string each.
        intern = self._strings
        pt = str(p.get("point", ""))
        pt = intern.setdefault(pt, pt)
        role = str(p.get("role") or "main")
        role = intern.setdefault(role, role)
        reader = str(p.get("reader", ""))
        reader = intern.setdefault(reader, reader)
        rssi = p.get("rssi")
        if rssi is not None:
            rssi = self._ints.setdefault(rssi, rssi)
        dateless = bool(p.get("dateless", False))
        if self._log is not None:
            self._log.add(e)
        uuid = e.uuid
        if self._absorbed and uuid in self._absorbed:
            self._absorbed.discard(uuid)  # already merged by a rebuild from the store
        elif dateless:
            rec: ReadT = (t, rssi, pt, role, uuid, reader, True)
            self._dateless.setdefault(chip, []).append(rec)
        else:
            key = (pt, role, reader)
            key = self._keys.setdefault(key, key)
            target = uuid if uuid in self._targets else None
            self._chain_read(chip, t, rssi, key, self._wins.get(pt) or self._window(pt), target)
            if target is not None:
                self._target_loc[uuid] = (chip, t)
        owner = self._owner_at(chip, t)
        if owner is not None:
            dirty.add(owner)
        if dateless:
            # A dateless read is placed relative to a gun: any runner might own it later.
            dirty.update(self._all_owners(chip))
        if p.get("gps") and reader not in self._gps_readers:
            # Rule 2: a GPS-synced reader is never corrected (reads already computed may change).
            self._gps_readers.add(reader)
            return reader in self._offsets
        return False

    def _chain_read(self, chip: str, t: int, rssi: Any, key: tuple[str, str, str], w: int,
                    target: str | None) -> None:
        """Merge one read into its (chip, point/role/reader) chains."""
        buckets = self._chains.get(chip)
        if buckets is None:
            buckets = self._chains[chip] = {}
        bucket = buckets.get(key)
        if bucket is None:
            bucket = buckets[key] = []
            self._reader_chips.setdefault(key[2], set()).add(chip)
        insert(bucket, t, rssi, target, w, self._cuts_r.get(key[2]), self._cuts_c.get(chip))

    def _add_run(self, cr: Any, dirty: set[str]) -> bool:
        """A run of reads committed together (`station.log.store.CommittedRun`), taken column by column:
        no entry or payload dict per read. Anything unusual — dateless or GPS reads, reads the engine
        must remember for a later rebuild, targeted uuids — goes read by read through `_add_read`."""
        run = cr.run
        if (self._log is not None or self._absorbed or run.dateless is not None or run.gps
                or (self._targets and self._run_targeted(cr.uuid, len(run.chip)))):
            full = False
            for e in cr.entries():
                full = self._add_read(e, e.payload, dirty) or full
            return full
        intern = self._strings
        pt = intern.setdefault(run.point, run.point)
        role = run.role or "main"
        role = intern.setdefault(role, role)
        reader = intern.setdefault(run.reader, run.reader)
        key = (pt, role, reader)
        key = self._keys.setdefault(key, key)
        w = self._wins.get(pt) or self._window(pt)
        ints = self._ints
        chain = self._chain_read
        owner_at = self._owner_at
        add = dirty.add
        chains, swaps, base_of, cuts_c = self._chains, self._swaps, self._chip_base, self._cuts_c
        plain = not self._cuts_r.get(reader)
        rssis = run.rssi if run.rssi is not None else [None] * len(run.chip)
        for chip, t, rssi in zip(run.chip, run.t, rssis, strict=True):
            if rssi is not None:
                rssi = ints.setdefault(rssi, rssi)
            buckets = chains.get(chip)
            bucket = buckets.get(key) if buckets is not None else None
            c = bucket[-1] if bucket else None
            if c is not None and plain and t >= c.last and t - c.last < w and not cuts_c.get(chip):
                # the usual case, inlined: the next read of the chip's newest chain (as chains.insert)
                c.last = t
                c.count += 1
                pr = c.peak_rssi
                if rssi is not None and (pr is None or rssi > pr):
                    c.peak_rssi = rssi
                    c.peak_t = t
            else:
                chain(chip, t, rssi, key, w, None)
            if swaps.get(chip):
                owner = owner_at(chip, t)
            else:
                base = base_of.get(chip)
                owner = base[1] if base else None
            if owner is not None:
                add(owner)
        return False

    def _run_targeted(self, first: str, n: int) -> bool:
        """Does a correction name one of this run's reads? Its uuids count up from `first` in the last
        8 hex digits (`station.log.store.nth_uuid`): a range check per target, no uuid per read."""
        head = first[:28]
        try:
            base = int(first[28:], 16)
        except ValueError:
            return True  # not a packed-row uuid: take the careful path
        for u in self._targets:
            if u[:28] == head and len(u) == len(first):
                try:
                    k = int(u[28:], 16) - base
                except ValueError:
                    continue
                if 0 <= k < n:
                    return True
        return False

    def _window(self, pid: str) -> int:
        cfg = self.config
        pt = cfg.points.get(pid) if cfg is not None else None
        w = pt.window_ms if pt is not None else DEFAULT_WINDOW_MS
        self._wins[pid] = w
        if self._bw.get(pid, 0) < w:
            self._bw[pid] = w
        return w

    def _config_windows(self) -> None:
        """A new configuration may narrow a point's window: chains built wider must be rebuilt (a
        wider window needs nothing: finer chains are merged at compute time)."""
        self._wins.clear()
        for pid, bw in list(self._bw.items()):
            if self._window(pid) < bw:
                self._pend_pids.add(pid)

    def _add_cut(self, cuts: dict[str, list[int]], name: str, cut: int,
                 scope: list[tuple[str, str | None]]) -> None:
        """Register a chain cut (offset or swap `from_ms`); chains already spanning it are split at
        the end of the batch. `scope`: (chip, reader or None for every reader) buckets to check."""
        lst = cuts.setdefault(name, [])
        i = bisect_left(lst, cut)
        if i < len(lst) and lst[i] == cut:
            return
        lst.insert(i, cut)
        for chip, reader in scope:
            for key, bucket in self._chains.get(chip, {}).items():
                if (reader is None or key[2] == reader) and straddling(bucket, cut) is not None:
                    self._pend_buckets.add((chip, key))

    def _read_key(self, p: dict[str, Any]) -> BucketKey:
        pt = str(p.get("point", ""))
        role = str(p.get("role") or "main")
        reader = str(p.get("reader", ""))
        key = (self._strings.setdefault(pt, pt), self._strings.setdefault(role, role),
               self._strings.setdefault(reader, reader))
        return self._keys.setdefault(key, key)

    # One function on purpose (a hot loop, measured with tests/bench/bench_results.py): the scan below
    # visits every read of the log when a window narrows, checking the pending sets held in locals; the
    # phases share those sets (ranges, pids, uuids, what was collected and found).
    def _resolve(self, dirty: set[str]) -> bool:
        """One pass over the read source for what this batch left pending: split chains that span a
        new cut, rebuild points whose window narrowed, find the chains of late-targeted reads.
        Returns True when chains were rebuilt (cached crossings are then stale)."""
        ranges: dict[tuple[str, BucketKey], list[Chain]] = {}
        for chip, key in self._pend_buckets:
            bucket = self._chains.get(chip, {}).get(key)
            if not bucket:
                continue
            cr, cc = self._cuts_r.get(key[2]), self._cuts_c.get(chip)
            bad = [c for c in bucket if not (same_side(cr, c.first, c.last) and same_side(cc, c.first, c.last))]
            if bad:
                ranges[(chip, key)] = bad
        pids = set(self._pend_pids)
        uuids = set(self._pend_uuids)
        self._pend_buckets.clear()
        self._pend_pids.clear()
        self._pend_uuids.clear()
        if not ranges and not pids and not uuids:
            return False
        collected: dict[tuple[str, BucketKey], list[tuple[int, Any, str]]] = {}
        found: dict[str, tuple[str, BucketKey, int]] = {}
        # Only late targets (the usual correction): look them up by uuid instead of a scan; chains to
        # split (a chip swap, a clock offset): the reads of their chips only, when the source can.
        source: Iterable[Entry]
        of_chips = getattr(self._source, "of_chips", None)
        if not ranges and not pids:
            source = self._source.find(uuids)
        elif not pids and of_chips is not None:
            picked = list(of_chips({chip for chip, _key in ranges}))
            if uuids:
                seen = {e.uuid for e in picked}
                picked += [e for e in self._source.find(uuids) if e.uuid not in seen]
            source = picked
        else:
            source = self._source.scan()
        for e in source:
            if e.kind != "read":
                continue
            p = e.payload
            if p.get("dateless"):
                continue  # dateless reads are kept as reads: nothing to rebuild or search
            chip = str(p["chip"])
            key = self._read_key(p)
            t = int(p["t"])
            if uuids and e.uuid in uuids:
                found[e.uuid] = (chip, key, t)
            if key[0] in pids:
                collected.setdefault((chip, key), []).append((t, p.get("rssi"), e.uuid))
                continue
            bad = ranges.get((chip, key)) if ranges else None
            if bad and any(c.first <= t <= c.last for c in bad):
                collected.setdefault((chip, key), []).append((t, p.get("rssi"), e.uuid))
        exact = self._source.exact
        rebuilt_chips: set[str] = set()
        for pid in pids:
            self._bw[pid] = self._window(pid)
            for chip, buckets in self._chains.items():
                for key in buckets:
                    if key[0] == pid:
                        buckets[key] = []
                        rebuilt_chips.add(chip)
        for (chip, key), bad in ranges.items():
            if key[0] in pids:
                continue
            ids = {id(c) for c in bad}
            bucket = self._chains[chip][key]
            bucket[:] = [c for c in bucket if id(c) not in ids]
            rebuilt_chips.add(chip)
        for (chip, key), reads in collected.items():
            buckets = self._chains.setdefault(chip, {})
            bucket = buckets.setdefault(key, [])
            self._reader_chips.setdefault(key[2], set()).add(chip)
            w = self._wins.get(key[0]) or self._window(key[0])
            cr, cc = self._cuts_r.get(key[2]), self._cuts_c.get(chip)
            targets = self._targets
            for t, rssi, u in reads:
                if rssi is not None:
                    rssi = self._ints.setdefault(rssi, rssi)
                target = u if u in targets else None
                insert(bucket, t, rssi, target, w, cr, cc)
                if target is not None:
                    self._target_loc[u] = (chip, t)
                if not exact:
                    self._absorbed.add(u)
            rebuilt_chips.add(chip)
        for u, (chip, key, t) in found.items():
            bucket = self._chains.get(chip, {}).get(key)
            c = find(bucket, t) if bucket else None
            if c is None:
                continue  # not applied yet: it is marked when it arrives (its uuid is targeted)
            c.mark(u)
            self._target_loc[u] = (chip, t)
            owner = self._owner_at(chip, t)
            if owner:
                dirty.add(owner)
                self._xcache.pop(owner, None)
        for chip in rebuilt_chips:
            dirty.update(self._all_owners(chip))
        return bool(rebuilt_chips)

    def _reads_between(self, chip: str, key: BucketKey, lo_raw: int, hi_raw: int, d: int, lo: int,
                       hi: int) -> bool:
        """Exact check (slow path, from the read source): has this bucket a read with raw time in
        [lo_raw, hi_raw] whose corrected time (raw + d) is in [lo, hi)?"""
        of_chips = getattr(self._source, "of_chips", None)
        for e in of_chips({chip}) if of_chips is not None else self._source.scan():
            if e.kind != "read":
                continue
            p = e.payload
            if p.get("dateless") or str(p["chip"]) != chip or self._read_key(p) != key:
                continue
            t = int(p["t"])
            if lo_raw <= t <= hi_raw and lo <= t + d < hi:
                return True
        return False

    @property
    def unknown_reads(self) -> int:
        """Reads of chips that belong to nobody at their time (kept and shown, matched to no runner).

        Computed on demand so the count does not depend on whether the read or the participant
        arrived first."""
        n = 0
        for chip, buckets in self._chains.items():
            known = chip in self._swaps or chip in self._chip_base
            for bucket in buckets.values():
                if not known:
                    n += sum(c.count for c in bucket)
                else:
                    n += sum(c.count for c in bucket if self._owner_at(chip, c.first) is None)
        for chip, lst in self._dateless.items():
            if chip not in self._swaps and chip not in self._chip_base:
                n += len(lst)
            else:
                n += sum(1 for r in lst if self._owner_at(chip, r[0]) is None)
        return n

    def _traced_chains(self, chips: set[str], reads: Iterable[Entry]) -> dict[str, dict[BucketKey, list[Chain]]]:
        out: dict[str, dict[BucketKey, list[Chain]]] = {}
        for e in reads:
            if e.kind != "read":
                continue
            p = e.payload
            chip = str(p["chip"])
            if chip not in chips or p.get("dateless"):
                continue
            key = self._read_key(p)
            t = int(p["t"])
            bucket = out.setdefault(chip, {}).setdefault(key, [])
            c = insert(bucket, t, p.get("rssi"), e.uuid if e.uuid in self._targets else None,
                       self._wins.get(key[0]) or self._window(key[0]), self._cuts_r.get(key[2]),
                       self._cuts_c.get(chip), TracedChain)
            c.uuids.append((t, e.uuid))  # type: ignore[attr-defined]
        return out

