"""Results kept current and ranked: recompute the runners an entry touched (or everyone), and keep per
ranking group (overall, gender, category within a race) a sorted list of ranking times, so a rank
is a binary search rather than a re-sort of the race (rules 8, 9).
"""

from __future__ import annotations

from bisect import bisect_left, insort
from collections.abc import Iterable

from station.results.model import (
    RunnerResult,
    _gc_paused,
)


class Ranking:
    """Results kept current; ranks by binary search.

    A part of `Engine` (engine.py): one class whose parts live in modules named for their
    responsibility. They share the engine's state (set up in `Engine.__init__`) because the hot paths
    read it directly: a split into objects would add an attribute hop per read.
    """

    @staticmethod
    def _group_keys(r: RunnerResult) -> tuple[tuple[str, ...], ...]:
        return (("o", r.race), ("g", r.race, r.gender), ("c", r.race, r.category))

    def _update(self, reg: str) -> None:
        old = self._results.get(reg)
        if old is not None and old.rank_key is not None:
            for g in self._group_keys(old):
                lst = self._groups.get(g)
                if lst:
                    i = bisect_left(lst, old.rank_key)
                    if i < len(lst) and lst[i] == old.rank_key:
                        del lst[i]
        new = self.compute(reg)
        if new is None:
            self._results.pop(reg, None)
            return
        self._results[reg] = new
        if new.rank_key is not None:
            for g in self._group_keys(new):
                insort(self._groups.setdefault(g, []), new.rank_key)

    def update(self, regs: Iterable[str]) -> None:
        """Recompute the given runners (after `apply(..., recompute=False)` batches)."""
        regs = set(regs)
        if len(regs) * 2 > len(self._participants):
            self.recompute_all()
            return
        for reg in regs:
            self._update(reg)

    def recompute_all(self) -> None:
        with _gc_paused():
            self._recompute_all()

    def _recompute_all(self) -> None:
        self._results = {}
        groups: dict[tuple[str, ...], list[int]] = {}
        compute = self.compute
        for reg in self._participants:
            r = compute(reg)
            if r is None:
                continue
            self._results[reg] = r
            if r.rank_key is not None:
                for g in self._group_keys(r):
                    lst = groups.get(g)
                    if lst is None:
                        groups[g] = [r.rank_key]
                    else:
                        lst.append(r.rank_key)
        for lst in groups.values():
            lst.sort()
        self._groups = groups

    def refresh_clock(self) -> set[str]:
        """Rule 11 depends on the clock: re-check runners still `running` in races whose cutoff has
        passed (live views call this every few seconds). Returns the registrations that changed."""
        cfg = self.config
        if cfg is None:
            return set()
        now = self.now_ms()
        changed: set[str] = set()
        for reg, r in list(self._results.items()):
            if r.status != "running":
                continue
            race = cfg.races.get(r.race)
            if race is None or race.cutoff_ms is None or r.gun_start_ms is None:
                continue
            if now > r.gun_start_ms + race.cutoff_ms:
                self._update(reg)
                changed.add(reg)
        return changed

    def ranks(self, r: RunnerResult) -> tuple[int | None, int | None, int | None]:
        """(overall, gender, category) competition ranks: ties share a rank (1, 2, 2, 4)."""
        if r.rank_key is None:
            return (None, None, None)
        out = []
        for g in self._group_keys(r):
            out.append(bisect_left(self._groups.get(g, []), r.rank_key) + 1)
        return (out[0], out[1], out[2])

