"""Results as the results station *published* them, ranked and ordered by the same engine.

Why: the online ledger shows results from `result_published` entries (the official channel), not by
recomputing every read it happens to hold. Those payloads carry times and status but no ranks, names
or categories. Rather than re-implement ranking, categories and the list order for the ledger, this
engine is the results engine with one rule swapped: a runner's status, times and splits come from their
latest publication (by entry order) instead of from crossings. Participants, categories (rule 9),
ranks and ties (rule 8) and ordering are the engine's own code.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from station.entries import Entry
from station.results.engine import Engine
from station.results.model import RunnerResult, _latest
from station.results.rules import rank_key_of
from station.results.sources import ReadLog

Order = tuple[int, str, int]
_BASE_KINDS = frozenset({"event_config", "participant"})


class PublishedEngine(Engine):
    """Takes `event_config`, `participant` and `result_published` entries; ignores the rest.

    `config` (a normalized event file) fixes the configuration — the ledger's registered event file —
    and `event_config` entries are then ignored. Only published runners have a result."""

    def __init__(self, config: dict[str, Any] | None = None) -> None:
        super().__init__(now_ms=lambda: 0, reads=ReadLog())
        self._published: dict[str, tuple[Order, dict[str, Any]]] = {}
        self._fixed_config = config is not None
        if config is not None:
            super().apply([Entry("", 0, "", "event_config", config, 0, "")], recompute=False)

    def apply(self, entries: Iterable[Entry], recompute: bool = True) -> set[str]:
        base: list[Entry] = []
        dirty: set[str] = set()
        for e in entries:
            k = e.kind
            if k == "result_published":
                p = e.payload
                reg = str(p.get("registration_id", ""))
                if reg and _latest(self._published, reg, e.order, p):
                    dirty.add(reg)
                    if reg not in self._participants:
                        # A publication whose participant entry is not here (yet): shown by bib. The
                        # lowest possible order, so the real participant entry replaces it.
                        stub = {"registration_id": reg, "bib": str(p.get("bib", "")), "name": "",
                                "gender": "X", "race": str(p.get("race", "")), "wave": "", "chips": []}
                        self._add_participant(Entry("", 0, "", "participant", stub, -1, ""), stub, dirty)
            elif k in _BASE_KINDS and not (k == "event_config" and self._fixed_config):
                base.append(e)
        if base:
            dirty |= super().apply(base, recompute=False)
        if recompute and dirty:
            self.update(dirty)
        return dirty

    def compute(self, reg: str, trace: Any = None, chains: Any = None) -> RunnerResult | None:
        cfg = self.config
        pub = self._published.get(reg)
        cur = self._participants.get(reg)
        if cfg is None or pub is None or cur is None:
            return None
        pp, p = pub[1], cur[1]
        race = cfg.races.get(str(pp.get("race")))
        if race is None:
            return None
        status = str(pp.get("status") or "")
        gun_ms = pp.get("gun_ms") if status == "finished" else None
        chip_ms = pp.get("chip_ms") if status == "finished" else None
        if status == "finished" and gun_ms is None:
            gun_ms = chip_ms
        if status == "finished" and chip_ms is None:
            chip_ms = gun_ms
        raw = pp.get("splits")
        splits: dict[str, Any] = raw if isinstance(raw, dict) else {}
        res = RunnerResult(reg, str(pp.get("bib") or p.get("bib") or ""), p.get("name") or "",
                           p.get("gender") or "X", self._category(reg, p, cfg), race.id,
                           str(p.get("wave") or race.waves[0].id), status, None, None, None, gun_ms, chip_ms,
                           {str(k): int(v) for k, v in splits.items() if isinstance(v, int)})
        if status == "finished":
            res.rank_key = rank_key_of(race, gun_ms, chip_ms)
        return res
