"""Finish-line hand timing: the queue of time stamps waiting for a bib (no Qt, no storage).

How a hand-timer works: they press a key the instant a runner crosses (a *stamp*), then type the
runner's bib when they can read it. Stamps wait here, in time order, until they are given a bib and
saved, or deliberately deleted. The rule for which stamp a typed bib takes:

- the stamp the timer **selected** explicitly, if any;
- otherwise the **oldest waiting** stamp — not one being saved right now, and not one whose bib was
  refused (a wrong bib, e.g. "No participant with bib 9999").

A refused stamp stays in its time position, marked, until the timer selects it and types the right
bib, or deletes it. It is never put back in front of the queue: the next bib typed must take the next
runner's time, not the time of the runner whose bib was mistyped.

Stamps are not entries: nothing is recorded until a stamp is saved with its bib (`manual_time`). The
app keeps the waiting ones in its settings (`dump`/`load`), so a restart or a language switch loses
none; a stamp that was being saved when the station stopped comes back marked, to be checked.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

WAITING, SAVING, REFUSED = "waiting", "saving", "refused"


@dataclass
class Stamp:
    id: int
    t: int  # UTC ms
    state: str = WAITING
    bib: str = ""  # the bib being saved, or the one refused
    reason: str = ""  # why the bib was refused


class StampQueue:
    def __init__(self) -> None:
        self._ids = itertools.count(1)
        self._stamps: list[Stamp] = []

    def __len__(self) -> int:
        return len(self._stamps)

    @property
    def stamps(self) -> list[Stamp]:
        """Every stamp not yet saved or deleted, oldest first."""
        return list(self._stamps)

    def get(self, sid: int | None) -> Stamp | None:
        return next((s for s in self._stamps if s.id == sid), None)

    def stamp(self, t: int) -> Stamp:
        s = Stamp(next(self._ids), t)
        i = len(self._stamps)
        while i > 0 and self._stamps[i - 1].t > t:  # keep time order (clock steps, tests)
            i -= 1
        self._stamps.insert(i, s)
        return s

    def next_for_bib(self, selected: int | None = None) -> Stamp | None:
        """The stamp a bib typed now would take (see the module docstring)."""
        sel = self.get(selected)
        if sel is not None and sel.state != SAVING:
            return sel
        return next((s for s in self._stamps if s.state == WAITING), None)

    def take(self, bib: str, selected: int | None = None) -> Stamp | None:
        """Give the next stamp (or the selected one) this bib: it is being saved until `saved` or
        `refused`. None when no stamp waits (the caller then uses the time of Enter)."""
        s = self.next_for_bib(selected)
        if s is not None:
            s.state, s.bib, s.reason = SAVING, bib, ""
        return s

    def saved(self, sid: int) -> None:
        self._stamps = [s for s in self._stamps if s.id != sid]

    def refused(self, sid: int, reason: str) -> None:
        s = self.get(sid)
        if s is not None:
            s.state, s.reason = REFUSED, reason

    def delete(self, sid: int) -> Stamp | None:
        s = self.get(sid)
        if s is None or s.state == SAVING:
            return None
        self._stamps.remove(s)
        return s

    def waiting(self) -> int:
        """Stamps still needing a bib (waiting or refused)."""
        return sum(1 for s in self._stamps if s.state != SAVING)

    def dump(self) -> list[dict[str, Any]]:
        """The stamps as plain data (to keep across a restart)."""
        return [{"t": s.t, "state": s.state, "bib": s.bib, "reason": s.reason} for s in self._stamps]

    def load(self, items: Any, unsure: str = "not confirmed saved: check the live crossings") -> int:
        """Add stamps kept by `dump` (bad items are skipped); one that was being saved comes back
        refused with `unsure` as its reason (it may or may not have been recorded). Returns the count."""
        n = 0
        for it in items if isinstance(items, list) else []:
            try:
                t = int(it["t"])
            except (TypeError, KeyError, ValueError):
                continue
            s = self.stamp(t)
            state = str(it.get("state") or WAITING)
            s.bib, s.reason = str(it.get("bib") or ""), str(it.get("reason") or "")
            if state == SAVING:
                s.state, s.reason = REFUSED, unsure
            elif state == REFUSED:
                s.state = REFUSED
            n += 1
        return n
