"""Timing commands: the one place where a timer's actions become log entries.

Why a layer of its own: the CLI (`worun-station manual|gun|correct …`) and the app (Timing and Results
screens) are two front doors onto the same facts. When each built its own payloads they disagreed —
the CLI refused an unknown timing point and the app did not; the CLI allowed `force` only on a manual
time and the app's ignore checked nothing about its target. Here every check lives once, and neither
front door builds an entry (`tests/ui/test_no_entries_in_ui.py` keeps `ui/` that way).

Errors are `CommandError`s: an English template with named values, so the CLI prints
`--field: message` and the app shows the template translated (`ui.i18n.tr(e.template)`) with the same
values. `field` names the input at fault (the CLI's option without its dashes).

The supervisor PIN is not checked here: it guards who may press a button on a shared laptop (the app),
while a shell on the laptop already holds the data folder, so the CLI asks for none (README).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from station.errors import CommandError
from station.event.config import EventConfig, parse_hms
from station.log.entries import Entry
from station.log.entry_log import EntryLog, appended

__all__ = ["CommandError", "TimingCommands", "parse_delta"]

STATUS_ACTIONS = ("dq", "dns", "dnf", "reinstate")
TARGET_ACTIONS = ("ignore", "unignore", "force")


def parse_delta(text: str) -> int:
    """A time adjustment typed by a timer → ms: ``[+|-]H:MM:SS[.fff]``, ``[+|-]M:SS`` or seconds."""
    s = text.strip()
    sign = -1 if s.startswith("-") else 1
    s = s.lstrip("+-")
    try:
        if ":" in s:
            return sign * parse_hms(s if s.count(":") == 2 else "0:" + s.zfill(5))
        return sign * round(float(s) * 1000)
    except (ValueError, OverflowError):
        raise CommandError("delta", "expected [+|-]H:MM:SS[.fff] or seconds, got {text!r}", text=text) from None


class TimingCommands:
    """Manual times, guns, status changes, corrections and race closing, checked and appended.

    `store` appends entries; `config` and `runners` are read when a command runs (the app's engine
    changes as entries arrive); `operator` is recorded on every entry."""

    def __init__(self, store: EntryLog, operator: str, config: Callable[[], EventConfig | None],
                 runners: Callable[[], Any], now_ms: Callable[[], int]) -> None:
        self.store = store
        self.operator = operator
        self._config = config
        self._runners = runners
        self.now_ms = now_ms

    @classmethod
    def over_engine(cls, store: EntryLog, engine: Any, operator: str, now_ms: Callable[[], int]) -> TimingCommands:
        """Commands checked against a results engine (the CLI's fresh one, the app's live one)."""
        return cls(store, operator, lambda: engine.config, lambda: engine, now_ms)

    # ------------------------------------------------------------------ checks
    def config(self) -> EventConfig:
        cfg = self._config()
        if cfg is None:
            raise CommandError("event", "no event loaded: load the event file first (Setup, or "
                                        "`worun-station event load EVENT.toml`)")
        return cfg

    def registration(self, bib: str) -> str:
        reg = self._runners().reg_for_bib(str(bib))
        if reg is None:
            raise CommandError("bib", "no participant with bib {bib!r}", bib=str(bib))
        return str(reg)

    def _point(self, point: str) -> None:
        cfg = self.config()
        if point not in cfg.points:
            raise CommandError("point", "unknown timing point {point!r}; expected one of {points}",
                               point=point, points=", ".join(cfg.points))

    def _race(self, race: str) -> None:
        cfg = self.config()
        if race not in cfg.races:
            raise CommandError("race", "unknown race {race!r}; expected one of {races}",
                               race=race, races=", ".join(cfg.races))

    def _append(self, kind: str, payload: dict[str, Any]) -> Entry:
        return appended(self.store.append(kind, payload, operator=self.operator))

    # ------------------------------------------------------------------ commands
    def manual_time(self, bib: str, point: str, t_ms: int) -> Entry:
        """A hand-timed crossing (rule 7: fills gaps only, unless forced)."""
        self._point(point)
        self.registration(bib)
        return self._append("manual_time", {"bib": str(bib), "point": point, "t": int(t_ms)})

    def gun(self, wave: str | None = None, race: str | None = None, t_ms: int | None = None) -> Entry:
        """A wave's gun (rule 1: the latest gun of a wave wins). No `race`: every race with that wave."""
        cfg = self.config()
        if race is not None:
            self._race(race)
        races = [cfg.races[race]] if race is not None else list(cfg.races.values())
        if wave is None:
            if race is None:
                raise CommandError("wave", "name the wave (or the race, to use its first wave)")
            wave = races[0].waves[0].id
        if not any(w.id == wave for r in races for w in r.waves):
            raise CommandError("wave", "unknown wave {wave!r}", wave=wave)
        payload: dict[str, Any] = {"wave": wave, "t": int(t_ms if t_ms is not None else self.now_ms())}
        if race is not None:
            payload["race"] = race
        return self._append("gun", payload)

    def set_status(self, bib: str, action: str, reason: str = "") -> Entry:
        """DQ / DNS / DNF by hand, or reinstate (rule 11)."""
        if action not in STATUS_ACTIONS:
            raise CommandError("action", "unknown status change {action!r}; expected one of {actions}",
                               action=action, actions=", ".join(STATUS_ACTIONS))
        reg = self.registration(bib)
        return self._append("correction", {"action": action, "registration_id": reg, "bib": str(bib),
                                           "reason": reason})

    def target(self, action: str, entry_uuid: str, reason: str = "") -> Entry:
        """Ignore or unignore a read or manual time, or force a manual time (rule 7)."""
        if action not in TARGET_ACTIONS:
            raise CommandError("action", "unknown correction {action!r}; expected one of {actions}",
                               action=action, actions=", ".join(TARGET_ACTIONS))
        found = self.store.find_entries([entry_uuid]).get(entry_uuid)
        target = found[1] if found else None
        if target is None or target.kind not in ("read", "manual_time"):
            raise CommandError("entry", "no read or manual entry with uuid {uuid!r}", uuid=entry_uuid)
        if action == "force" and target.kind != "manual_time":
            raise CommandError("entry", "only a manual time can be forced (this entry is a chip read)")
        return self._append("correction", {"action": action, "target": entry_uuid, "reason": reason})

    def adjust(self, bib: str, delta_ms: int, reason: str = "") -> Entry:
        """Add `delta_ms` to the runner's finish (a penalty, or a fix): gun and chip time move together."""
        reg = self.registration(bib)
        return self._append("correction", {"action": "adjust", "registration_id": reg, "bib": str(bib),
                                           "delta_ms": int(delta_ms), "reason": reason})

    def chip_swap(self, bib: str, chip: str, from_ms: int) -> Entry:
        """`chip` belongs to this runner from `from_ms` on (a chip handed over at the start)."""
        chip = str(chip).strip()
        if not chip:
            raise CommandError("chip", "give the chip id")
        reg = self.registration(bib)
        return self._append("correction", {"action": "chip_swap", "registration_id": reg, "bib": str(bib),
                                           "chip": chip, "from_ms": int(from_ms)})

    def close_race(self, race: str) -> Entry:
        """Runners of `race` without a finish become DNF (rule 11)."""
        self._race(race)
        return self._append("race_closed", {"race": race})
