"""Check-in verdicts at a desk: scan → verify offline → look up → log → verdict.

Why this shape:
- The verdict a volunteer sees is one of four (DESIGN.md): ``ok`` (hand over the bib), ``already``
  (with when and at which desk — including check-ins synced from other desks), ``invalid`` (with the
  reason in plain words), ``unknown`` (valid signature, registration not in the local list: accepted
  from the ticket's claims and flagged for review — the list may simply be older than the ticket).
- Every scan becomes exactly one log entry (``checkin`` or ``checkin_refused``) with a random nonce that
  is also the store's dedupe key: a refusal is reviewable later, and each entry syncs exactly once.
- Nothing is edited: undo, revocation, bib/race/wave changes, walk-ups and chip hand-out are new
  entries. Payloads are documented in `station.checkin.state`.
- Where a ticket and the participant list disagree (bib, race), the list wins and the difference is
  shown, because the list carries later changes (a bib swap at the desk, a race transfer).
- A desk serialises its own decisions (one lock), so a runner scanned by the camera and the hand
  scanner at once is checked in once, and the second scan says "already".
"""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from station.checkin.state import CheckinRecord, CheckinState, ParticipantView, SearchResult, view
from station.checkin.tickets import code_hash, format_instant
from station.errors import CommandError
from station.log.entry_log import EntryLog

#: An undo is offered for this long after a check-in (a volunteer's slip, noticed at once).
UNDO_WINDOW_S = 120.0
#: Raw codes up to this length are logged verbatim in refusals; longer ones only by hash.
RAW_CODE_MAX = 64

VERDICTS = ("ok", "already", "invalid", "unknown")


class CheckinError(CommandError):
    """A desk action that cannot be done (no event loaded, bib taken, nothing to undo…).

    A `CommandError`: an English template (what is wrong and what to do next) with named values, so the
    app shows its translation to the volunteer (`field` names the input at fault)."""


@dataclass(frozen=True)
class PreviousCheckin:
    """Where and when a runner was already checked in."""

    at_ms: int
    at_text: str  # in the event's time zone
    desk: str
    station_id: str
    operator: str
    uuid: str


@dataclass(frozen=True)
class Verdict:
    """What the desk shows. ``exit_code``: 0 for ok/already/unknown, 1 for invalid (CLI contract)."""

    status: str
    reason: str = ""
    problem: str = ""
    participant: ParticipantView | None = None
    claims: dict[str, Any] = field(default_factory=dict)
    differences: tuple[str, ...] = ()
    previous: PreviousCheckin | None = None
    entry_uuid: str = ""
    flagged: bool = False
    elapsed_ms: float = 0.0

    @property
    def exit_code(self) -> int:
        return 1 if self.status == "invalid" else 0

    @property
    def bib(self) -> str:
        if self.participant is not None:
            return self.participant.bib
        return str(self.claims.get("bib") or "")

    def message(self) -> str:
        """One line for a terminal or a status bar."""
        who = ""
        if self.participant is not None:
            p = self.participant
            who = f"bib {p.bib}" + (f" {p.name}" if p.name else "") + (f" ({p.race}" + (f", wave {p.wave}"
                                                                                      if p.wave else "") + ")")
        elif self.claims.get("sub"):
            who = f"bib {self.claims.get('bib') or '?'} (registration {self.claims['sub']}, race " \
                  f"{self.claims.get('race') or '?'})"
        if self.status == "ok":
            text = f"OK — {who}"
        elif self.status == "unknown":
            text = f"UNKNOWN — {who}: not in the local list; accepted from the ticket, flagged for review"
        elif self.status == "already":
            pr = self.previous
            text = f"ALREADY — {who}: checked in at {pr.at_text} at desk {pr.desk}" if pr else f"ALREADY — {who}"
        else:
            text = f"INVALID — {self.reason}" + (f" [{who}]" if who else "")
        if self.differences:
            text += " | " + "; ".join(self.differences)
        return text

    def to_json(self) -> dict[str, Any]:
        d: dict[str, Any] = {"verdict": self.status, "reason": self.reason, "problem": self.problem,
                             "bib": self.bib, "differences": list(self.differences), "entry": self.entry_uuid,
                             "flagged": self.flagged, "message": self.message()}
        if self.participant is not None:
            p = self.participant
            d["participant"] = {"registration_id": p.registration_id, "bib": p.bib, "name": p.name,
                                "race": p.race, "wave": p.wave, "phone": p.phone_masked,
                                "email": p.email_masked}
        if self.previous is not None:
            pr = self.previous
            d["previous"] = {"at": pr.at_text, "at_ms": pr.at_ms, "desk": pr.desk, "station_id": pr.station_id,
                             "operator": pr.operator}
        if self.claims:
            d["claims"] = {k: v for k, v in self.claims.items() if k in ("evt", "sub", "bib", "race", "rid",
                                                                         "exp", "iat")}
        return d


def new_nonce() -> str:
    return secrets.token_hex(12)


def parse_bib_pool(spec: str | Iterable[str] | None) -> list[str]:
    """``"9001-9100"`` or ``"9001-9050,9100-9120"`` or a list of bibs → bibs in order."""
    if spec is None:
        return []
    if not isinstance(spec, str):
        return [str(b) for b in spec]
    out: list[str] = []
    for part in spec.split(","):
        part = part.strip()
        if not part:
            continue
        if "-" in part:
            a, _, b = part.partition("-")
            if not (a.strip().isdigit() and b.strip().isdigit()) or int(a) > int(b):
                raise CheckinError("walkup_bibs", "walk-up bib pool '{spec}': '{part}' is not a range like 9001-9100 "
                                  "(fix [checkin] walkup_bibs in the event file)", spec=spec, part=part)
            width = len(a.strip()) if a.strip().startswith("0") else 0
            out += [str(n).zfill(width) for n in range(int(a), int(b) + 1)]
        else:
            out.append(part)
    return out


class CheckinDesk:
    """One check-in desk on a station. Qt-free; the UI calls it from a worker thread."""

    def __init__(self, store: EntryLog, desk_id: str, operator: str, *, state: CheckinState | None = None,
                 bib_pool: str | Iterable[str] | None = None, undo_window_s: float = UNDO_WINDOW_S,
                 clock: Any = None) -> None:
        self.store = store
        self.desk_id = str(desk_id)
        self.operator = str(operator)
        self._own_state = state is None
        self.state = state or CheckinState(store)
        self.undo_window_s = undo_window_s
        self._bib_pool_arg = bib_pool
        self._clock = clock or (lambda: time.time_ns() // 1_000_000)
        self._lock = threading.RLock()

    def close(self) -> None:
        """Stop following the store (only when this desk made its own state)."""
        if self._own_state:
            self.state.close()

    # ----------------------------------------------------------------- plumbing
    def now_ms(self) -> int:
        return int(self._clock())

    def _append(self, kind: str, payload: dict[str, Any]) -> Any:
        """Log one entry (durable on return) and fold it into the state at once."""
        payload = {"nonce": new_nonce(), "desk": self.desk_id, **payload}
        e = self.store.append(kind, payload, operator=self.operator, recorded_at=self.now_ms(),
                              dkey=f"{kind}:{payload['nonce']}")
        if e is not None:
            self.state.apply([e])
        return e

    def _require_event(self) -> None:
        if self.state.config is None:
            raise CheckinError("event", "no event loaded on this station: load the event file in Setup "
                                        "(or run `worun-station event load EVENT.toml`) first")

    def _previous(self, rec: CheckinRecord) -> PreviousCheckin:
        return PreviousCheckin(rec.recorded_at, format_instant(rec.recorded_at, self.state.timezone), rec.desk,
                               rec.station_id, rec.operator, rec.uuid)

    # ----------------------------------------------------------------- scanning
    def scan(self, code: str, *, method: str = "scan") -> Verdict:
        """The verdict for one scanned code; logs exactly one entry."""
        t0 = time.perf_counter()
        with self._lock:
            self.state.refresh()
            self._require_event()
            v = self._scan(code if isinstance(code, str) else "", method)
        return _with_elapsed(v, t0)

    def _scan(self, code: str, method: str) -> Verdict:
        verifier = self.state.verifier()
        assert verifier is not None
        code = code.strip()
        chk = verifier.verify(code, self.now_ms())
        hash_fields: dict[str, Any] = {"code_hash": code_hash(code)}
        if len(code) <= RAW_CODE_MAX:
            hash_fields["code"] = code
        if not chk.ok:
            claims = chk.claims or {}
            ref = self._refuse("invalid", chk.problem, chk.reason, method, hash_fields, claims, chk.kid)
            # An expired ticket of ours still names our runner (the volunteer may then use search); a
            # ticket of another event names someone of that event, not of our list.
            who = self._view_of(claims.get("sub")) if chk.problem in ("expired", "not_yet_valid") else None
            return Verdict("invalid", chk.reason, chk.problem, who, claims, entry_uuid=ref)
        claims = chk.claims
        reg = str(claims["sub"])
        revoked = self.state.revocation(reg, claims.get("jti"), claims.get("iat"))
        if revoked:
            ref = self._refuse("invalid", "revoked", revoked, method, hash_fields, claims, chk.kid)
            return Verdict("invalid", revoked, "revoked", self._view_of(reg), claims, entry_uuid=ref)
        p = self.state.participant(reg)
        prev = self.state.active_checkin(reg)
        differences = self._differences(claims, p) if p is not None else ()
        if prev is not None:
            pv = self._previous(prev)
            reason = f"already checked in at {pv.at_text} at desk {pv.desk}"
            ref = self._refuse("already", "already", reason, method, hash_fields, claims, chk.kid,
                               previous=prev.uuid)
            return Verdict("already", reason, "already", view(p) if p else None, claims, differences, pv,
                           entry_uuid=ref, flagged=prev.flagged)
        extra = {**hash_fields, "kid": chk.kid, "jti": claims.get("jti")}
        if p is None:
            # Valid signature, not in our list (list older than the ticket, or a late transfer): accept on
            # the ticket's word, flag for review.
            payload = {"registration_id": reg, "bib": str(claims.get("bib") or ""),
                       "race": str(claims.get("race") or ""), "verdict": "unknown", "method": method,
                       "flagged": True, "claims": _safe_claims(claims), **extra}
            e = self._append("checkin", payload)
            return Verdict("unknown", "registration not in the local participant list", "not_in_list", None,
                           claims, entry_uuid=e.uuid if e else "", flagged=True)
        payload = {"registration_id": reg, "bib": str(p.get("bib") or ""), "race": str(p.get("race") or ""),
                   "wave": str(p.get("wave") or ""), "verdict": "ok", "method": method, "flagged": False,
                   **extra}
        if differences:
            payload["differences"] = list(differences)
        e = self._append("checkin", payload)
        return Verdict("ok", "", "", view(p), claims, differences, entry_uuid=e.uuid if e else "")

    def _view_of(self, reg: Any) -> ParticipantView | None:
        if not reg:
            return None
        p = self.state.participant(str(reg))
        return view(p) if p else None

    @staticmethod
    def _differences(claims: dict[str, Any], p: dict[str, Any]) -> tuple[str, ...]:
        out = []
        for key, label in (("bib", "bib"), ("race", "race")):
            t = str(claims.get(key) or "")
            lst = str(p.get(key) or "")
            if t and t != lst:
                out.append(f"{label}: ticket says {t}, list says {lst} (list wins)")
        return tuple(out)

    def _refuse(self, verdict: str, problem: str, reason: str, method: str, hash_fields: dict[str, Any],
                claims: dict[str, Any], kid: str, previous: str | None = None) -> str:
        payload: dict[str, Any] = {"verdict": verdict, "problem": problem, "reason": reason, "method": method,
                                   **hash_fields}
        if claims.get("sub"):
            payload["registration_id"] = str(claims["sub"])
        if claims.get("bib"):
            payload["bib"] = str(claims["bib"])
        if kid:
            payload["kid"] = kid
        if claims.get("jti"):
            payload["jti"] = str(claims["jti"])
        if previous:
            payload["previous"] = previous
        e = self._append("checkin_refused", payload)
        return e.uuid if e else ""

    # ----------------------------------------------------------------- search path
    def search(self, query: str, limit: int = 20) -> list[SearchResult]:
        self.state.refresh()
        return self.state.search(query, limit)

    def checkin_by_search(self, registration_id: str, *, reason: str, id_checked: bool = True) -> Verdict:
        """A runner without a usable ticket (lost, dead phone), found by search after an ID check.

        The reason and the operator are logged; a runner already checked in gets ``already``."""
        t0 = time.perf_counter()
        reason = (reason or "").strip()
        if not reason:
            raise CheckinError("reason", "say why the runner has no ticket (e.g. 'phone battery dead, ID checked')")
        if not id_checked:
            raise CheckinError("id_checked", "check the runner's ID before checking them in without a ticket")
        with self._lock:
            self.state.refresh()
            self._require_event()
            reg = str(registration_id)
            p = self.state.participant(reg)
            if p is None:
                raise CheckinError("registration_id", "no participant with registration id '{reg}'", reg=reg)
            prev = self.state.active_checkin(reg)
            if prev is not None:
                pv = self._previous(prev)
                text = f"already checked in at {pv.at_text} at desk {pv.desk}"
                ref = self._refuse("already", "already", text, "search", {}, {"sub": reg, "bib": p.get("bib")}, "",
                                   previous=prev.uuid)
                return _with_elapsed(Verdict("already", text, "already", view(p), previous=pv, entry_uuid=ref), t0)
            e = self._append("checkin", {"registration_id": reg, "bib": str(p.get("bib") or ""),
                                         "race": str(p.get("race") or ""), "wave": str(p.get("wave") or ""),
                                         "verdict": "ok", "method": "search", "flagged": False,
                                         "reason": reason, "id_checked": True})
            return _with_elapsed(Verdict("ok", reason, "", view(p), entry_uuid=e.uuid if e else ""), t0)

    # ----------------------------------------------------------------- undo
    def undo_last(self, reason: str = "undone at the desk") -> CheckinRecord:
        """Cancel this desk's latest live check-in if it is recent (a new `checkin_undo` entry).

        Looked up in the log (this station, this desk), not in memory, so it also works after a restart
        or from the command line."""
        with self._lock:
            self.state.refresh()
            rec = self.state.latest_checkin_by(self.store.station_id, self.desk_id)
            if rec is None or self.now_ms() - rec.recorded_at > self.undo_window_s * 1000:
                raise CheckinError("desk", "nothing to undo: no check-in at desk {desk} in the last {seconds} s "
                                   "(to cancel an older one, ask the supervisor)", desk=self.desk_id,
                                   seconds=int(self.undo_window_s))
            self._append("checkin_undo", {"target": rec.uuid, "registration_id": rec.registration_id,
                                          "reason": reason})
            return rec

    # ----------------------------------------------------------------- race-day changes
    def _bib_pool(self) -> list[str]:
        if self._bib_pool_arg is not None:
            return parse_bib_pool(self._bib_pool_arg)
        pools = self.state.checkin_config.get("walkup_bibs") or {}
        spec = pools.get(self.desk_id) if isinstance(pools, dict) else None
        if spec is None:
            raise CheckinError("desk", "no walk-up bib pool is reserved for desk '{desk}': ask the organizer to "
                               "add one to the event file ([checkin] walkup_bibs = {{ \"{desk}\" = "
                               "\"9001-9100\" }}) and load it again", desk=self.desk_id)
        return parse_bib_pool(spec)

    def next_walkup_bib(self) -> str:
        used = self.state.bibs_in_use()
        for b in self._bib_pool():
            if b not in used:
                return b
        raise CheckinError("desk", "desk '{desk}': the walk-up bib pool is used up; ask the organizer for more "
                           "walk-up bibs ([checkin] walkup_bibs in the event file)", desk=self.desk_id)

    def walkup_refusal(self) -> CheckinError | None:
        """Why this desk cannot register a walk-up now (no event, no bib pool, pool used up), or None:
        the app disables its walk-up button with this reason instead of letting a volunteer fill a form."""
        with self._lock:
            self.state.refresh()
            try:
                self._require_event()
                self.next_walkup_bib()
            except CheckinError as e:
                return e
        return None

    def _check_race_wave(self, race: str, wave: str) -> None:
        races = self.state.races()
        if races and race not in races:
            raise CheckinError("race", "unknown race '{race}'; this event has {races}", race=race,
                               races=", ".join(sorted(races)))
        waves = races.get(race) or set()
        if wave and waves and wave not in waves:
            raise CheckinError("wave", "race '{race}' has no wave '{wave}'; its waves are {waves}", race=race,
                               wave=wave, waves=", ".join(sorted(waves)))

    def walk_up(self, *, name: str, race: str, gender: str = "X", birth_date: str = "", wave: str = "",
                phone: str = "", email: str = "", club: str = "", chips: Iterable[str] = (),
                check_in: bool = True) -> Verdict:
        """Register a runner at the desk: a new `participant` entry with a bib from this desk's reserved pool
        (pools are disjoint per desk, so two offline desks never hand out the same bib), then check in."""
        t0 = time.perf_counter()
        if not (name or "").strip():
            raise CheckinError("name", "a walk-up needs the runner's name")
        if gender not in ("M", "F", "X"):
            raise CheckinError("gender", "gender '{gender}': expected M, F or X", gender=gender)
        with self._lock:
            self.state.refresh()
            self._require_event()
            self._check_race_wave(race, wave)
            if not wave:
                waves = sorted(self.state.races().get(race) or ())
                wave = waves[0] if len(waves) == 1 else ""
            bib = self.next_walkup_bib()
            reg = f"W-{self.desk_id}-{bib}"
            p: dict[str, Any] = {"registration_id": reg, "bib": bib, "name": name.strip(), "gender": gender,
                                 "birth_date": birth_date, "race": race, "wave": wave,
                                 "chips": [str(c) for c in chips], "source": "walk_up"}
            for k, v in (("phone", phone), ("email", email), ("club", club)):
                if v:
                    p[k] = v
            self._append("participant", p)
            if not check_in:
                return _with_elapsed(Verdict("ok", "registered (not checked in)", "", view(p)), t0)
            e = self._append("checkin", {"registration_id": reg, "bib": bib, "race": race, "wave": wave,
                                         "verdict": "ok", "method": "walk_up", "flagged": False})
            return _with_elapsed(Verdict("ok", "walk-up registered", "", view(p), entry_uuid=e.uuid if e else ""),
                                 t0)

    def change_participant(self, registration_id: str, *, bib: str | None = None, race: str | None = None,
                           wave: str | None = None, reason: str = "") -> ParticipantView:
        """Bib, race or wave change: a new `participant` entry (latest wins)."""
        with self._lock:
            self.state.refresh()
            self._require_event()
            reg = str(registration_id)
            p = self.state.participant(reg)
            if p is None:
                raise CheckinError("registration_id", "no participant with registration id '{reg}'", reg=reg)
            new = {k: v for k, v in p.items() if k not in ("nonce", "desk", "reason")}
            if bib is not None and bib != p.get("bib"):
                holders = [r for r in self.state.by_bib(bib) if r != reg]
                if holders:
                    other = self.state.participant(holders[0]) or {}
                    raise CheckinError("bib", "bib {bib} already belongs to {name} (registration {reg}); choose "
                                       "another bib", bib=bib, name=other.get("name") or holders[0],
                                       reg=holders[0])
                new["bib"] = str(bib)
            new_race = race if race is not None else str(p.get("race") or "")
            new_wave = wave if wave is not None else (str(p.get("wave") or "") if race is None else "")
            self._check_race_wave(new_race, new_wave)
            new["race"], new["wave"] = new_race, new_wave
            new["source"] = "desk_change"
            if reason:
                new["reason"] = reason
            self._append("participant", new)
            return view(new)

    def revoke(self, *, registration_id: str | None = None, jti: str | None = None,
               issued_before: int | None = None, reason: str = "") -> None:
        """Revoke one ticket (jti) or a registration's tickets (all, or those issued before a time)."""
        if not registration_id and not jti:
            raise CheckinError("registration_id", "name the ticket (jti) or the registration whose tickets to revoke")
        payload: dict[str, Any] = {"reason": reason or "revoked"}
        if jti:
            payload["jti"] = str(jti)
        if registration_id:
            payload["registration_id"] = str(registration_id)
            if issued_before is not None:
                payload["issued_before"] = int(issued_before)
        with self._lock:
            self._append("ticket_revoked", payload)

    def revoke_earlier(self, registration_ids: Iterable[str], issued_before: int, reason: str) -> int:
        """After a reprint: every ticket of these registrations issued before `issued_before` stops
        working (one commit for a whole batch of reprinted tickets). Returns how many registrations."""
        regs = [str(r) for r in registration_ids]
        items = [("ticket_revoked", {"nonce": new_nonce(), "desk": self.desk_id, "registration_id": r,
                                     "issued_before": int(issued_before), "reason": reason or "reprinted"})
                 for r in regs]
        with self._lock:
            entries = self.store.append_many(items, operator=self.operator)
            self.state.apply(entries)
        return len(regs)

    # ----------------------------------------------------------------- chip hand-out
    def assign_chip(self, registration_id: str, chip: str) -> None:
        """Give a runner a chip (after an ok). A chip held by someone else is refused with their bib."""
        chip = str(chip or "").strip()
        if not chip:
            raise CheckinError("chip", "scan or type the chip id")
        with self._lock:
            self.state.refresh()
            reg = str(registration_id)
            p = self.state.participant(reg)
            bib = str((p or {}).get("bib") or "")
            if p is None:
                rec = self.state.active_checkin(reg)
                if rec is None:
                    raise CheckinError("registration_id", "no participant with registration id '{reg}'", reg=reg)
                bib = rec.bib
            owner = self.state.chip_owner(chip)
            if owner is not None and owner != reg:
                other = self.state.participant(owner) or {}
                raise CheckinError("chip", "chip {chip} is already assigned to bib {bib} ({name}); hand out another "
                                   "chip", chip=chip, bib=other.get("bib") or "?", name=other.get("name") or owner)
            if owner == reg:
                return
            self._append("chip_assigned", {"registration_id": reg, "bib": bib, "chip": chip})


def _safe_claims(claims: dict[str, Any]) -> dict[str, Any]:
    return {k: claims[k] for k in ("evt", "sub", "bib", "race", "rid", "name", "iat", "exp", "jti") if k in claims}


def _with_elapsed(v: Verdict, t0: float) -> Verdict:
    from dataclasses import replace

    return replace(v, elapsed_ms=(time.perf_counter() - t0) * 1000)
