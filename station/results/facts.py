"""The facts the results depend on, kept as given: configuration, participants, chips, guns, clock
offsets, corrections, manual times — taken in by `apply()`, one handler per entry kind.

Why a part of its own: what the log *says* is kept apart from what the rules *derive*. `apply()` only
records facts and reports which runners they touch (or that everyone may have changed); recomputing
is the ranking part's job.
"""

from __future__ import annotations

from bisect import bisect_right, insort
from collections.abc import Callable, Iterable
from typing import Any

from station.event.config import EventConfig, Race
from station.log.entries import Entry
from station.results.model import (
    STATUS_ACTIONS,
    Order,
    RunnerResult,
    _latest,
)

#: how far one entry's effect reaches (`apply` keeps the widest of a batch)
TOUCHED = 0  # the runners it marked dirty
ALL = 1  # every runner's result (a gun, a race closed): recompute all, crossings still valid
ALL_CROSSINGS = 2  # every runner's crossings too (configuration, clock offsets, chain splits)


class EngineFacts:
    """The facts the results depend on, as the log states them.

    A part of `Engine` (engine.py): one class whose parts live in modules named for their
    responsibility. They share the engine's state (set up in `Engine.__init__`) because the hot paths
    read it directly: a split into objects would add an attribute hop per read.
    """

    config: EventConfig | None
    _config_entry: tuple[Order, dict[str, Any]] | None

    def apply(self, entries: Iterable[Entry], recompute: bool = True) -> set[str]:
        """Take in entries; returns the registration ids whose result may have changed.

        `recompute=False` only takes the entries in: results are brought up to date by a later
        `update(regs)` with the ids returned (a follower catching up on a backlog recomputes each
        runner once, not once per batch). Each kind has its handler (`_apply_<kind>`), which records
        the fact, marks the runners it touches and says how far its effect reaches (`TOUCHED`, `ALL`,
        `ALL_CROSSINGS`); kinds the results do not depend on are passed over."""
        dirty: set[str] = set()
        reach = TOUCHED
        handlers = self._appliers
        for e in entries:
            k = e.kind
            if k == "read" and type(e) is not Entry:  # a run of reads committed together (`_add_run`)
                self.entry_count += len(e.run)  # type: ignore[attr-defined]
                if self._add_run(e, dirty):
                    reach = ALL_CROSSINGS
                continue
            self.entry_count += 1
            handler = handlers.get(k)
            if handler is not None:
                r = handler(e, e.payload, dirty)
                if r > reach:
                    reach = r
        keep_crossings = reach < ALL_CROSSINGS
        if self._pend_buckets or self._pend_pids or self._pend_uuids:
            if self._resolve(dirty):
                keep_crossings = False
        if keep_crossings:
            for reg in dirty:
                self._xcache.pop(reg, None)
        else:
            self._xcache.clear()
        full = reach >= ALL
        if not recompute:
            # the caller recomputes later (`update`): tell it everyone when everyone may have changed
            return set(self._participants) if full else dirty
        if full:
            self.recompute_all()
            return set(self._participants)
        for reg in dirty:
            self._update(reg)
        return dirty

    def _kind_handlers(self) -> dict[str, Callable[[Entry, dict[str, Any], set[str]], int]]:
        """kind → handler, bound once per engine (`Engine.__init__`): a dict lookup per entry instead of
        an if/elif chain; kinds the results do not depend on have none."""
        return {"read": self._apply_read, "manual_time": self._apply_manual_time,
                "participant": self._apply_participant, "event_config": self._apply_event_config,
                "gun": self._apply_gun, "race_closed": self._apply_race_closed,
                "clock_offset": self._apply_clock_offset, "reader_config": self._apply_reader_config,
                "correction": self._apply_correction, "chip_assigned": self._apply_chip_assigned}

    # ------------------------------------------------------------------ one handler per kind
    def _apply_read(self, e: Entry, p: dict[str, Any], dirty: set[str]) -> int:
        return ALL_CROSSINGS if self._add_read(e, p, dirty) else TOUCHED

    def _apply_manual_time(self, e: Entry, p: dict[str, Any], dirty: set[str]) -> int:
        t = int(p["t"])
        pt = str(p.get("point", ""))
        if p.get("registration_id"):
            reg = str(p["registration_id"])
            self._manual_by_reg.setdefault(reg, []).append((t, pt, e.uuid))
            dirty.add(reg)
        else:
            bib = str(p.get("bib", ""))
            self._manual_by_bib.setdefault(bib, []).append((t, pt, e.uuid))
            reg = self._bib_to_reg.get(bib)
            if reg:
                dirty.add(reg)
        return TOUCHED

    def _apply_participant(self, e: Entry, p: dict[str, Any], dirty: set[str]) -> int:
        self._add_participant(e, p, dirty)
        return TOUCHED

    def _apply_event_config(self, e: Entry, p: dict[str, Any], dirty: set[str]) -> int:
        if self._config_entry is not None and e.order <= self._config_entry[0]:
            return TOUCHED
        self._config_entry = (e.order, p)
        self.config = EventConfig.from_payload(p)
        self._config_windows()
        self._cat_cache.clear()
        self._race_cache.clear()
        return ALL_CROSSINGS

    def _apply_gun(self, e: Entry, p: dict[str, Any], dirty: set[str]) -> int:
        race = p.get("race") or None
        if _latest(self._guns, (race, str(p.get("wave", ""))), e.order, int(p["t"])):
            self._race_cache.clear()
            return ALL
        return TOUCHED

    def _apply_race_closed(self, e: Entry, p: dict[str, Any], dirty: set[str]) -> int:
        self._closed.add(str(p["race"]))
        return ALL

    def _apply_clock_offset(self, e: Entry, p: dict[str, Any], dirty: set[str]) -> int:
        reader = str(p["reader"])
        lst = self._offsets.setdefault(reader, [])
        insort(lst, (int(p.get("from_ms", 0)), e.order, int(p["offset_ms"])))
        self._add_cut(self._cuts_r, reader, int(p.get("from_ms", 0)),
                      [(chip, reader) for chip in self._reader_chips.get(reader, ())])
        return ALL_CROSSINGS

    def _apply_reader_config(self, e: Entry, p: dict[str, Any], dirty: set[str]) -> int:
        if _latest(self._gps, str(p.get("id")), e.order, bool(p.get("gps", False))) and self._offsets:
            return ALL_CROSSINGS
        return TOUCHED

    def _apply_correction(self, e: Entry, p: dict[str, Any], dirty: set[str]) -> int:
        return ALL_CROSSINGS if self._add_correction(e, p, dirty) else TOUCHED

    def _apply_chip_assigned(self, e: Entry, p: dict[str, Any], dirty: set[str]) -> int:
        reg = str(p["registration_id"])
        chip = str(p["chip"])
        self._assigned.setdefault(reg, []).append(chip)
        old = self._chip_base.get(chip)
        if _latest(self._chip_base, chip, e.order, reg) and old:
            dirty.add(old[1])
        dirty.add(reg)
        return TOUCHED

    def _add_participant(self, e: Entry, p: dict[str, Any], dirty: set[str]) -> None:
        reg = str(p["registration_id"])
        cur = self._participants.get(reg)
        if cur is not None and e.order <= cur[0]:
            return
        old = cur[1] if cur else None
        self._participants[reg] = (e.order, p)
        self._cat_cache.pop(reg, None)
        if old is not None:
            if self._bib_to_reg.get(str(old.get("bib"))) == reg:
                del self._bib_to_reg[str(old.get("bib"))]
            for ch in old.get("chips") or []:
                base = self._chip_base.get(ch)
                if base and base[1] == reg and ch not in (p.get("chips") or []):
                    del self._chip_base[ch]
                    # Another participant still listing the chip holds it again (latest row wins),
                    # whatever order the rows arrived in.
                    for oreg, (oorder, op) in self._participants.items():
                        if oreg != reg and ch in (op.get("chips") or []) and _latest(
                                self._chip_base, ch, oorder, oreg):
                            dirty.add(oreg)
        self._bib_to_reg[str(p.get("bib"))] = reg
        for ch in p.get("chips") or []:
            prev = self._chip_base.get(ch)
            if _latest(self._chip_base, ch, e.order, reg) and prev and prev[1] != reg:
                dirty.add(prev[1])
        dirty.add(reg)

    def _add_correction(self, e: Entry, p: dict[str, Any], dirty: set[str]) -> bool:
        action = p.get("action")
        reg = p.get("registration_id")
        if reg is None and p.get("bib") is not None:
            reg = self._bib_to_reg.get(str(p["bib"]))
        if action in STATUS_ACTIONS:
            if reg:
                _latest(self._status, reg, e.order, STATUS_ACTIONS[action])
                dirty.add(reg)
            return False
        if action in ("ignore", "unignore"):
            _latest(self._ignore, str(p["target"]), e.order, action == "ignore")
            return self._dirty_for_target(str(p["target"]), dirty)
        if action == "force":
            _latest(self._forced, str(p["target"]), e.order, not p.get("undo", False))
            return self._dirty_for_target(str(p["target"]), dirty)
        if action == "adjust" and reg:
            self._adjust.setdefault(reg, {})[e.uuid] = int(p["delta_ms"])
            dirty.add(reg)
            return False
        if action == "chip_swap" and reg:
            chip = str(p["chip"])
            old_owners = self._all_owners(chip)
            insort(self._swaps.setdefault(chip, []), (int(p.get("from_ms", 0)), e.order, reg))
            self._add_cut(self._cuts_c, chip, int(p.get("from_ms", 0)), [(chip, None)])
            self._swapped_to.setdefault(reg, set()).add(chip)
            dirty.update(old_owners)
            dirty.add(reg)
            return False
        return False

    def _dirty_for_target(self, uuid: str, dirty: set[str]) -> bool:
        """Find whose crossing an ignore/force names. A read merged before anyone targeted it is
        searched in the read source at the end of the batch (rare: one pass per such correction);
        a read not yet arrived is marked in its chain when it arrives."""
        self._targets.add(uuid)
        loc = self._target_loc.get(uuid)
        if loc is not None:
            owner = self._owner_at(*loc)
            if owner:
                dirty.add(owner)
            return False
        for chip, lst in self._dateless.items():
            for r in lst:
                if r[4] == uuid:
                    owner = self._owner_at(chip, r[0])
                    if owner:
                        dirty.add(owner)
                    return False
        for reg, mlst in self._manual_by_reg.items():
            if any(u == uuid for _, _, u in mlst):
                dirty.add(reg)
                return False
        for bib, mlst in self._manual_by_bib.items():
            if any(u == uuid for _, _, u in mlst):
                reg = self._bib_to_reg.get(bib)
                if reg:
                    dirty.add(reg)
                return False
        if self._chains:
            self._pend_uuids.add(uuid)
        return False

    def _owner_at(self, chip: str, t: int) -> str | None:
        swaps = self._swaps.get(chip)
        if swaps:
            i = bisect_right(swaps, (t, (1 << 62, "\uffff", 1 << 62), "\uffff"))
            if i:
                return swaps[i - 1][2]
        base = self._chip_base.get(chip)
        return base[1] if base else None

    def _all_owners(self, chip: str) -> set[str]:
        out = {s[2] for s in self._swaps.get(chip, [])}
        base = self._chip_base.get(chip)
        if base:
            out.add(base[1])
        return out

    def chips_of(self, reg: str) -> list[str]:
        cur = self._participants.get(reg)
        if reg not in self._assigned and reg not in self._swapped_to:
            return cur[1].get("chips") or [] if cur else []
        chips = list(cur[1].get("chips") or []) if cur else []
        chips += [c for c in self._assigned.get(reg, []) if c not in chips]
        chips += [c for c in self._swapped_to.get(reg, ()) if c not in chips]
        return chips

    def gun_time(self, race: Race, wave_id: str) -> int:
        """Rule 1: latest gun entry for the wave (race-specific or for every race), else scheduled."""
        a = self._guns.get((race.id, wave_id))
        b = self._guns.get((None, wave_id))
        if a and b:
            return a[1] if a[0] > b[0] else b[1]
        if a or b:
            return (a or b)[1]  # type: ignore[index]
        return race.wave(wave_id).start_ms

    def _correct(self, reader: str, t: int) -> int:
        lst = self._offsets.get(reader)
        if not lst:
            return t
        gps = self._gps.get(reader)
        if (gps and gps[1]) or reader in self._gps_readers:
            return t
        i = bisect_right(lst, (t, (1 << 62, "\uffff", 1 << 62), 1 << 62))
        return t + lst[i - 1][2] if i else t

    def result(self, reg: str) -> RunnerResult | None:
        return self._results.get(reg)

    def results(self) -> dict[str, RunnerResult]:
        return self._results

    def participant(self, reg: str) -> dict[str, Any] | None:
        cur = self._participants.get(reg)
        return cur[1] if cur else None

    def participants(self) -> dict[str, dict[str, Any]]:
        return {k: v[1] for k, v in self._participants.items()}

    def reg_for_bib(self, bib: str) -> str | None:
        return self._bib_to_reg.get(str(bib))

    def owner_of_chip(self, chip: str, t: int | None = None) -> str | None:
        return self._owner_at(chip, t if t is not None else self.now_ms())

