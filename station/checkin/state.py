"""What a check-in desk knows, kept in memory and up to date from the event log (no Qt).

Why in memory: a verdict must come "within a blink", so lookups (registration id, bib, chip, phone
suffix, name n-grams) and "was this runner already checked in, where, when?" are dictionary hits, not
SQL. The state is a pure function of the entries it has seen, and applying an entry twice changes
nothing, so it can be fed from both `Store.subscribe` (immediate, this process) and `refresh()`
(`Store.iter_rows(after_id)`: entries written by another process, e.g. a CLI call or the sync engine)
without bookkeeping. Entries arrive in local row order, which is not `Entry.order` (a peer's older
entries can arrive late), so every "latest wins" rule compares `Entry.order`.

Payloads of the kinds owned by check-in (every one carries ``nonce`` — a random hex id, also the
store's dedupe key, so a retried write is stored once and syncs exactly once — and ``desk``, the desk id;
the operator is the entry's ``operator``):

``checkin``  ``{"nonce", "desk", "registration_id", "bib", "race", "wave"?, "verdict": "ok"|"unknown",
    "method": "scan"|"search"|"walk_up", "flagged": bool, "reason"?, "id_checked"?, "code_hash"?,
    "kid"?, "jti"?, "claims"?, "differences"?: [str]}``. ``unknown`` = valid ticket whose registration is
    not in the local list: accepted from the ticket's ``claims``, ``flagged`` for review. ``method =
    "search"`` is a runner without a usable ticket, checked in after an ID check: ``reason`` says why
    (lost ticket, dead phone…). ``differences`` lists where ticket and list disagree (the list wins).
``checkin_refused``  ``{"nonce", "desk", "verdict": "invalid"|"already", "problem", "reason",
    "method", "code_hash"?, "code"?, "registration_id"?, "bib"?, "kid"?, "jti"?, "previous"?}``: every
    refused scan, for review. ``code`` (the raw text) only when it is short (≤ 64 characters; a long
    token is logged as ``code_hash`` = first 32 hex of its SHA-256); ``previous`` = uuid of the check-in
    that made it "already".
``checkin_undo``  ``{"nonce", "desk", "target": uuid of the checkin entry, "registration_id",
    "reason"}``: cancels that check-in (the runner may check in again).
``ticket_revoked``  ``{"nonce", "desk", "reason", "jti"}`` (one ticket) or ``{"nonce", "desk",
    "reason", "registration_id", "issued_before"?}`` (that registration's tickets with ``iat`` (unix
    seconds) before ``issued_before``, e.g. after a reprint; without it, all of them).
``chip_assigned``  ``{"nonce", "desk", "registration_id", "bib", "chip"}``: from now on the chip
    belongs to the runner (timing treats it like a chip in the participant's ``chips``).
``participant`` written at a desk: the usual payload plus ``"source": "walk_up"|"desk_change"``,
    ``"desk"``, ``"nonce"`` and ``"reason"``?. Walk-up bibs come from the desk's reserved pool.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, ClassVar

from station.checkin.tickets import TicketVerifier
from station.log.entries import Entry
from station.log.entry_log import EntryLog
from station.people.privacy import mask_email, mask_phone
from station.people.search import Hit, SearchIndex

KINDS = ("event_config", "participant", "checkin", "checkin_refused", "checkin_undo", "ticket_revoked",
         "chip_assigned")

Order = tuple[int, str, int]


@dataclass(frozen=True, slots=True)
class CheckinRecord:
    """One `checkin` entry, as the desk needs it."""

    uuid: str
    station_id: str
    seq: int
    recorded_at: int
    desk: str
    operator: str
    registration_id: str
    bib: str
    verdict: str
    method: str
    flagged: bool
    payload: dict[str, Any]

    @property
    def order(self) -> Order:
        return (self.recorded_at, self.station_id, self.seq)


@dataclass(frozen=True, slots=True)
class ParticipantView:
    """A participant as shown at the desk: contact details masked (PIPL)."""

    registration_id: str
    bib: str
    name: str
    gender: str
    race: str
    wave: str
    chips: tuple[str, ...]
    phone_masked: str
    email_masked: str
    club: str
    source: str
    birth_year: str = ""  # tells namesakes apart at the desk (the full birth date is not shown)


@dataclass(frozen=True, slots=True)
class SearchResult:
    participant: ParticipantView
    matched: str
    checked_in: CheckinRecord | None


def view(p: dict[str, Any]) -> ParticipantView:
    return ParticipantView(
        registration_id=str(p.get("registration_id", "")),
        bib=str(p.get("bib") or ""),
        name=str(p.get("name") or ""),
        gender=str(p.get("gender") or ""),
        race=str(p.get("race") or ""),
        wave=str(p.get("wave") or ""),
        chips=tuple(str(c) for c in (p.get("chips") or [])),
        phone_masked=mask_phone(p.get("phone")),
        email_masked=mask_email(p.get("email")),
        club=str(p.get("club") or ""),
        source=str(p.get("source") or "list"),
        birth_year=str(p.get("birth_date") or "")[:4],
    )


class CheckinState:
    """In-memory check-in index over a `Store`; thread-safe (one lock, short critical sections)."""

    def __init__(self, store: EntryLog, *, subscribe: bool = True) -> None:
        self.store = store
        #: counts entries applied: a caller compares it before and after an action to know whether the
        #: desk's counters changed (the app sends fresh counters with the verdict, no flag to remember)
        self.changes = 0
        self._lock = threading.RLock()
        self._last_row = 0
        self._config: dict[str, Any] | None = None
        self._config_order: Order | None = None
        self._verifier: TicketVerifier | None = None
        self._people: dict[str, dict[str, Any]] = {}
        self._people_order: dict[str, Order] = {}
        self.index = SearchIndex()
        self._list_chips: dict[str, set[str]] = {}  # chip → registrations holding it in the list
        self._assigned: dict[str, tuple[Order, str, str]] = {}  # chip → (order, registration, uuid)
        self._checkins: dict[str, CheckinRecord] = {}
        self._checkins_by_reg: dict[str, set[str]] = {}
        self._undone: dict[str, Entry] = {}  # target uuid → undo entry
        self._refused: dict[str, Entry] = {}
        self._revoked_jti: set[str] = set()
        self._revoked_all: set[str] = set()
        self._revoked_before: dict[str, float] = {}
        self._listeners: list[Callable[[list[Entry]], None]] = []
        self._subscribed = False
        if subscribe:
            store.subscribe(self._on_commit, runs=True)
            self._subscribed = True
        self.refresh()

    def close(self) -> None:
        if self._subscribed:
            self.store.unsubscribe(self._on_commit)
            self._subscribed = False

    # ----------------------------------------------------------------- feeding
    def add_listener(self, fn: Callable[[list[Entry]], None]) -> None:
        """Called (on the store's writer thread) after relevant entries were applied: for UI refresh."""
        self._listeners.append(fn)

    def _on_commit(self, entries: list[Entry]) -> None:
        relevant = [e for e in entries if e.kind in KINDS]
        if relevant:
            self.apply(relevant)
            for fn in list(self._listeners):
                fn(relevant)

    def refresh(self) -> int:
        """Apply entries committed since the last refresh (by any process); returns how many."""
        with self._lock:
            n = 0
            last = self._last_row
            batch: list[Entry] = []
            for row_id, e in self.store.iter_rows(self._last_row, KINDS):
                batch.append(e)
                last = row_id
                n += 1
            if batch:
                self.apply(batch)
            self._last_row = last
            return n

    def apply(self, entries: Iterable[Entry]) -> None:
        """Apply entries (idempotent: an entry seen twice changes nothing)."""
        with self._lock:
            for e in entries:
                fn = self._APPLY.get(e.kind)
                if fn is not None:
                    fn(self, e)
                    self.changes += 1

    def _apply_config(self, e: Entry) -> None:
        if self._config_order is not None and e.order <= self._config_order:
            return
        self._config = e.payload
        self._config_order = e.order
        self._verifier = None

    def _apply_participant(self, e: Entry) -> None:
        p = e.payload
        reg = str(p.get("registration_id") or "")
        if not reg:
            return
        old_order = self._people_order.get(reg)
        if old_order is not None and e.order <= old_order:
            return
        old = self._people.get(reg)
        if old is not None:
            for c in old.get("chips") or []:
                s = self._list_chips.get(str(c))
                if s is not None:
                    s.discard(reg)
                    if not s:
                        del self._list_chips[str(c)]
        self._people[reg] = p
        self._people_order[reg] = e.order
        for c in p.get("chips") or []:
            self._list_chips.setdefault(str(c), set()).add(reg)
        self.index.upsert(reg, bib=p.get("bib"), name=p.get("name"), phone=p.get("phone"))

    def _apply_checkin(self, e: Entry) -> None:
        if e.uuid in self._checkins:
            return
        p = e.payload
        reg = str(p.get("registration_id") or "")
        rec = CheckinRecord(e.uuid, e.station_id, e.seq, e.recorded_at, str(p.get("desk") or e.station_id),
                            e.operator, reg, str(p.get("bib") or ""), str(p.get("verdict") or "ok"),
                            str(p.get("method") or "scan"), bool(p.get("flagged")), p)
        self._checkins[e.uuid] = rec
        self._checkins_by_reg.setdefault(reg, set()).add(e.uuid)

    def _apply_undo(self, e: Entry) -> None:
        target = str(e.payload.get("target") or "")
        if target and target not in self._undone:
            self._undone[target] = e

    def _apply_refused(self, e: Entry) -> None:
        self._refused.setdefault(e.uuid, e)

    def _apply_revoked(self, e: Entry) -> None:
        p = e.payload
        if p.get("jti"):
            self._revoked_jti.add(str(p["jti"]))
        reg = p.get("registration_id")
        if reg:
            before = p.get("issued_before")
            if before is None:
                self._revoked_all.add(str(reg))
            elif isinstance(before, int | float):
                self._revoked_before[str(reg)] = max(self._revoked_before.get(str(reg), 0), before)

    def _apply_chip(self, e: Entry) -> None:
        chip = str(e.payload.get("chip") or "")
        reg = str(e.payload.get("registration_id") or "")
        if not chip or not reg:
            return
        cur = self._assigned.get(chip)
        if cur is None or e.order > cur[0]:
            self._assigned[chip] = (e.order, reg, e.uuid)

    _APPLY: ClassVar[dict[str, Callable[[CheckinState, Entry], None]]] = {
        "event_config": _apply_config,
        "participant": _apply_participant,
        "checkin": _apply_checkin,
        "checkin_undo": _apply_undo,
        "checkin_refused": _apply_refused,
        "ticket_revoked": _apply_revoked,
        "chip_assigned": _apply_chip,
    }

    # ----------------------------------------------------------------- config
    @property
    def config(self) -> dict[str, Any] | None:
        return self._config

    @property
    def event_id(self) -> str:
        return str(((self._config or {}).get("event") or {}).get("id") or "")

    @property
    def timezone(self) -> str | None:
        return ((self._config or {}).get("event") or {}).get("timezone") or None

    @property
    def checkin_config(self) -> dict[str, Any]:
        return dict((self._config or {}).get("checkin") or {})

    def verifier(self) -> TicketVerifier | None:
        """The ticket verifier for the current event config (None: no event loaded)."""
        with self._lock:
            if self._config is None:
                return None
            if self._verifier is None:
                ck = self.checkin_config
                self._verifier = TicketVerifier(self.event_id, ck.get("public_keys") or {},
                                                list(ck.get("revoked_keys") or []), timezone=self.timezone)
            return self._verifier

    def races(self) -> dict[str, set[str]]:
        """Race id → its wave ids, from the event config."""
        out: dict[str, set[str]] = {}
        for r in (self._config or {}).get("races") or []:
            if isinstance(r, dict) and r.get("id"):
                out[str(r["id"])] = {str(w.get("id")) for w in r.get("waves") or [] if isinstance(w, dict)}
        return out

    # ----------------------------------------------------------------- participants
    def participant(self, registration_id: str) -> dict[str, Any] | None:
        return self._people.get(str(registration_id))

    def participant_count(self) -> int:
        return len(self._people)

    def by_bib(self, bib: str) -> list[str]:
        return self.index.by_bib(bib)

    def bibs_in_use(self) -> set[str]:
        with self._lock:
            return {str(p.get("bib")) for p in self._people.values() if p.get("bib")}

    def chip_owner(self, chip: str) -> str | None:
        """Who holds a chip: the latest desk assignment wins over the imported list."""
        chip = str(chip)
        with self._lock:
            a = self._assigned.get(chip)
            if a is not None:
                return a[1]
            regs = self._list_chips.get(chip)
            return min(regs) if regs else None

    def search(self, query: str, limit: int = 20) -> list[SearchResult]:
        with self._lock:
            hits: list[Hit] = self.index.search(query, limit)
            out = []
            for h in hits:
                p = self._people.get(h.registration_id)
                if p is not None:
                    out.append(SearchResult(view(p), h.matched, self.active_checkin(h.registration_id)))
            return out

    # ----------------------------------------------------------------- check-ins
    def active_checkin(self, registration_id: str) -> CheckinRecord | None:
        """The first check-in of a registration (any station) that has not been undone."""
        with self._lock:
            uuids = self._checkins_by_reg.get(str(registration_id))
            if not uuids:
                return None
            live = [self._checkins[u] for u in uuids if u not in self._undone]
            return min(live, key=lambda r: r.order) if live else None

    def latest_checkin_by(self, station_id: str, desk: str) -> CheckinRecord | None:
        """The newest live check-in made at one desk of one station (what "undo" targets)."""
        with self._lock:
            live = [r for u, r in self._checkins.items()
                    if r.station_id == station_id and r.desk == desk and u not in self._undone]
            return max(live, key=lambda r: r.order) if live else None

    def checkin(self, uuid: str) -> CheckinRecord | None:
        return self._checkins.get(uuid)

    def checked_in_count(self) -> int:
        with self._lock:
            return sum(1 for reg in self._checkins_by_reg if self.active_checkin(reg) is not None)

    def flagged(self) -> list[CheckinRecord]:
        """Live check-ins needing review (unknown registrations)."""
        with self._lock:
            return sorted((r for u, r in self._checkins.items() if r.flagged and u not in self._undone),
                          key=lambda r: r.order)

    def counts_by_race(self) -> dict[str, tuple[int, int]]:
        """race id → (checked in, registered): the desk's per-race counters in one pass."""
        with self._lock:
            out: dict[str, list[int]] = {}
            for reg, p in self._people.items():
                c = out.setdefault(str(p.get("race") or ""), [0, 0])
                c[1] += 1
                if self.active_checkin(reg) is not None:
                    c[0] += 1
            return {k: (v[0], v[1]) for k, v in out.items()}

    def duplicate_checkins(self) -> list[CheckinRecord]:
        """Second (and later) live check-ins of one runner — typically two offline desks that both
        checked the runner in before syncing. Both entries are kept (nothing is merged away); every
        one after the first, by entry order, is flagged here for the supervisor to review."""
        with self._lock:
            out: list[CheckinRecord] = []
            for uuids in self._checkins_by_reg.values():
                live = sorted((self._checkins[u] for u in uuids if u not in self._undone),
                              key=lambda r: r.order)
                out += live[1:]
            return sorted(out, key=lambda r: r.order)

    def refused(self) -> list[Entry]:
        with self._lock:
            return sorted(self._refused.values(), key=lambda e: e.order)

    def revocation(self, registration_id: str, jti: str | None, iat: Any) -> str | None:
        """Why a (validly signed) ticket is revoked, or None."""
        with self._lock:
            ck_revoked = {str(x) for x in self.checkin_config.get("revoked_tickets") or []}
            if jti and (str(jti) in self._revoked_jti or str(jti) in ck_revoked):
                return "this ticket was revoked"
            reg = str(registration_id)
            if reg in self._revoked_all:
                return "this runner's tickets were revoked"
            before = self._revoked_before.get(reg)
            if before is not None:
                if not isinstance(iat, int | float) or iat < before:
                    return "a newer ticket was issued for this runner (this one was replaced)"
            return None
