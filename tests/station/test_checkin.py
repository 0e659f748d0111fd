"""Desk verdicts on a real Store: ok / already / invalid / unknown, logging, undo, sync across desks."""

from __future__ import annotations

import threading
import time

import pytest
from test_checkin_support import EVENT_ID, PEOPLE, make_env

from station.checkin import tickets
from station.checkin.desk import CheckinDesk, CheckinError
from station.checkin.state import CheckinState
from station.log.store import Store


@pytest.fixture
def env(tmp_path):
    e = make_env(tmp_path / "a", station_id="st-a")
    yield e
    e.store.close()


def test_ok_then_already_on_the_same_desk(env):
    desk = CheckinDesk(env.store, "desk-1", "alice")
    tok = env.ticket("R001")
    v = desk.scan(tok)
    assert v.status == "ok" and v.exit_code == 0
    assert v.participant.bib == "101" and v.participant.name == "张伟"
    assert v.participant.phone_masked == "138****1234"
    assert v.participant.email_masked == "zh***@example.com"
    again = desk.scan(tok)
    assert again.status == "already" and again.exit_code == 0
    assert again.previous.desk == "desk-1" and again.previous.operator == "alice"
    # shown in the event's zone (Asia/Shanghai, UTC+8)
    rec = env.store.entries(["checkin"])[0]
    assert again.previous.at_ms == rec.recorded_at
    assert again.previous.at_text == tickets.format_instant(rec.recorded_at, "Asia/Shanghai")
    assert "desk desk-1" in again.message()


def test_every_scan_is_one_entry_with_a_nonce(env):
    desk = CheckinDesk(env.store, "desk-1", "alice")
    tok = env.ticket("R001")
    for code in (tok, tok, "garbage", tok[:-4] + "AAAA"):
        desk.scan(code)
    ck = env.store.entries(["checkin"])
    ref = env.store.entries(["checkin_refused"])
    assert len(ck) == 1 and len(ref) == 3
    nonces = {e.payload["nonce"] for e in ck + ref}
    assert len(nonces) == 4
    assert all(e.payload["desk"] == "desk-1" and e.operator == "alice" for e in ck + ref)
    by_verdict = sorted(e.payload["verdict"] for e in ref)
    assert by_verdict == ["already", "invalid", "invalid"]
    short = next(e for e in ref if e.payload.get("code") == "garbage")
    assert short.payload["code_hash"] == tickets.code_hash("garbage")
    long_ = next(e for e in ref if e.payload["problem"] == "bad_signature")
    assert "code" not in long_.payload  # a long token is logged by hash only
    assert ck[0].payload["code_hash"] == tickets.code_hash(tok) and "code" not in ck[0].payload
    assert ck[0].payload["jti"] and ck[0].payload["kid"] == "k1"


@pytest.mark.parametrize("make, problem", [
    (lambda e: e.ticket("R001", evt="other-event"), "other_event"),
    (lambda e: e.ticket("R001", exp_in=-7200), "expired"),
    (lambda e: tickets.TicketSigner(tickets.generate_private_key(), "k1").sign({"evt": EVENT_ID, "sub": "R001",
                                                                                 "exp": 2_000_000_000}),
     "bad_signature"),
    (lambda e: tickets.TicketSigner(e.key, "k2").sign({"evt": EVENT_ID, "sub": "R001", "exp": 2_000_000_000}),
     "unknown_kid"),
    (lambda e: "x" * 10_000, "oversized"),
    (lambda e: "", "empty"),
])
def test_invalid_codes(env, make, problem):
    desk = CheckinDesk(env.store, "desk-1", "alice")
    v = desk.scan(make(env))
    assert v.status == "invalid" and v.exit_code == 1 and v.problem == problem
    assert v.reason and v.message().startswith("INVALID — ")
    [ref] = env.store.entries(["checkin_refused"])
    assert ref.payload["problem"] == problem and ref.payload["reason"] == v.reason
    assert env.store.entries(["checkin"]) == []


def test_unknown_registration_is_accepted_and_flagged(env):
    desk = CheckinDesk(env.store, "desk-1", "alice")
    tok = env.ticket("R777", bib="777", race="21k")
    v = desk.scan(tok)
    assert v.status == "unknown" and v.exit_code == 0 and v.flagged
    assert v.bib == "777" and "flagged for review" in v.message()
    [ck] = env.store.entries(["checkin"])
    assert ck.payload["verdict"] == "unknown" and ck.payload["flagged"] is True
    assert ck.payload["claims"]["sub"] == "R777"
    assert [r.registration_id for r in desk.state.flagged()] == ["R777"]
    assert desk.scan(tok).status == "already"


def test_list_wins_over_the_ticket_and_the_difference_is_shown(env):
    desk = CheckinDesk(env.store, "desk-1", "alice")
    tok = env.ticket("R001", bib="999", race="21k")
    v = desk.scan(tok)
    assert v.status == "ok" and v.participant.bib == "101" and v.participant.race == "10k"
    assert any("bib: ticket says 999, list says 101" in d for d in v.differences)
    assert any("race: ticket says 21k, list says 10k" in d for d in v.differences)
    [ck] = env.store.entries(["checkin"])
    assert ck.payload["bib"] == "101" and len(ck.payload["differences"]) == 2


def test_already_across_two_stations(tmp_path):
    a = make_env(tmp_path / "a", station_id="st-a")
    b = Store(tmp_path / "b", station_id="st-b")
    try:
        b.store_foreign(a.store.entries())  # B learns the event and the participants from A
        desk_a = CheckinDesk(a.store, "desk-A", "alice")
        desk_b = CheckinDesk(b, "desk-B", "bob")
        tok = a.ticket("R002")
        assert desk_a.scan(tok).status == "ok"
        # Desk B is offline: it does not know yet.
        tok2 = a.ticket("R003")
        assert desk_b.scan(tok2).status == "ok"
        # Sync both ways; entries sync exactly once (a second pull stores nothing new).
        b.store_foreign(a.store.own_entries_after(0, 1000))
        a.store.store_foreign(b.own_entries_after(0, 1000))
        res = b.store_foreign(a.store.own_entries_after(0, 1000))
        assert res.stored == [] and res.conflicts == [] and res.duplicates > 0
        v = desk_b.scan(tok)
        assert v.status == "already" and v.previous.desk == "desk-A" and v.previous.station_id == "st-a"
        assert v.previous.operator == "alice"
        v2 = desk_a.scan(tok2)
        assert v2.status == "already" and v2.previous.desk == "desk-B"
    finally:
        a.store.close()
        b.close()


def test_both_desks_offline_checkin_the_same_runner(tmp_path):
    a = make_env(tmp_path / "a", station_id="st-a")
    b = Store(tmp_path / "b", station_id="st-b")
    try:
        b.store_foreign(a.store.entries())
        tok = a.ticket("R001")
        assert CheckinDesk(a.store, "desk-A", "alice").scan(tok).status == "ok"
        time.sleep(0.01)
        assert CheckinDesk(b, "desk-B", "bob").scan(tok).status == "ok"
        b.store_foreign(a.store.own_entries_after(0, 1000))
        desk_b = CheckinDesk(b, "desk-B", "bob")
        v = desk_b.scan(tok)
        assert v.status == "already" and v.previous.desk == "desk-A"  # the first check-in is reported
        # Both check-ins are kept; the later one is flagged for review, never merged away.
        assert len(b.entries(["checkin"])) == 2
        [dup] = desk_b.state.duplicate_checkins()
        assert dup.desk == "desk-B" and dup.station_id == "st-b"
    finally:
        a.store.close()
        b.close()


def test_undo_last_then_checkin_again(env):
    clock = [1_800_000_000_000]
    desk = CheckinDesk(env.store, "desk-1", "alice", clock=lambda: clock[0])
    tok = env.ticket("R001", iat=1_800_000_000 - 60, exp_in=86400)
    assert desk.scan(tok).status == "ok"
    clock[0] += 30_000
    rec = desk.undo_last("wrong runner")
    assert rec.registration_id == "R001"
    [undo] = env.store.entries(["checkin_undo"])
    assert undo.payload["target"] == rec.uuid and undo.payload["reason"] == "wrong runner"
    assert desk.state.active_checkin("R001") is None
    with pytest.raises(CheckinError, match="nothing to undo"):
        desk.undo_last()
    assert desk.scan(tok).status == "ok"
    clock[0] += 10 * 60_000  # too late to undo
    with pytest.raises(CheckinError, match="nothing to undo"):
        desk.undo_last()
    assert desk.scan(tok).status == "already"


def test_undo_syncs_to_another_station(tmp_path):
    a = make_env(tmp_path / "a", station_id="st-a")
    b = Store(tmp_path / "b", station_id="st-b")
    try:
        b.store_foreign(a.store.entries())
        desk_a = CheckinDesk(a.store, "desk-A", "alice")
        tok = a.ticket("R001")
        desk_a.scan(tok)
        desk_a.undo_last()
        b.store_foreign(a.store.own_entries_after(0, 1000))
        assert CheckinDesk(b, "desk-B", "bob").scan(tok).status == "ok"
    finally:
        a.store.close()
        b.close()


def test_search_checkin_without_ticket(env):
    desk = CheckinDesk(env.store, "desk-1", "alice")
    with pytest.raises(CheckinError, match="why"):
        desk.checkin_by_search("R002", reason=" ")
    with pytest.raises(CheckinError, match="ID"):
        desk.checkin_by_search("R002", reason="lost", id_checked=False)
    with pytest.raises(CheckinError, match="R999"):
        desk.checkin_by_search("R999", reason="lost")
    v = desk.checkin_by_search("R002", reason="phone battery dead, ID checked")
    assert v.status == "ok" and v.participant.bib == "102"
    [ck] = env.store.entries(["checkin"])
    assert ck.payload["method"] == "search" and ck.payload["reason"].startswith("phone battery")
    assert ck.operator == "alice" and ck.payload["id_checked"] is True
    assert desk.checkin_by_search("R002", reason="again").status == "already"
    assert desk.scan(env.ticket("R002")).status == "already"


def test_revoked_ticket_and_reprint(env):
    desk = CheckinDesk(env.store, "desk-1", "alice")
    old = env.ticket("R003", iat=int(time.time()) - 100, jti="old1")
    desk.revoke(registration_id="R003", issued_before=int(time.time()) - 10, reason="reprinted")
    v = desk.scan(old)
    assert v.status == "invalid" and v.problem == "revoked" and "newer ticket" in v.reason
    new = env.ticket("R003")
    assert desk.scan(new).status == "ok"
    # one ticket by jti
    t4 = env.ticket("R004", jti="leak42")
    desk.revoke(jti="leak42", reason="posted online")
    assert desk.scan(t4).reason == "this ticket was revoked"
    # all tickets of a registration
    desk.revoke(registration_id="R002", reason="refunded")
    assert desk.scan(env.ticket("R002")).reason == "this runner's tickets were revoked"
    assert len(env.store.entries(["ticket_revoked"])) == 3


def test_revocations_sync_like_everything_else(tmp_path):
    a = make_env(tmp_path / "a", station_id="st-a")
    b = Store(tmp_path / "b", station_id="st-b")
    try:
        b.store_foreign(a.store.entries())
        CheckinDesk(a.store, "desk-A", "alice").revoke(jti="j1", reason="leaked")
        b.store_foreign(a.store.own_entries_after(0, 1000))
        v = CheckinDesk(b, "desk-B", "bob").scan(a.ticket("R001", jti="j1"))
        assert v.status == "invalid" and v.problem == "revoked"
    finally:
        a.store.close()
        b.close()


def test_revoked_tickets_listed_in_the_event_file(tmp_path):
    e = make_env(tmp_path, revoked_tickets=["bad-jti"])
    try:
        v = CheckinDesk(e.store, "d", "op").scan(e.ticket("R001", jti="bad-jti"))
        assert v.problem == "revoked"
    finally:
        e.store.close()


def test_walk_up_bibs_from_disjoint_desk_pools(tmp_path):
    a = make_env(tmp_path / "a", station_id="st-a", walkup_bibs={"desk-A": "9001-9002", "desk-B": "9101-9102"})
    b = Store(tmp_path / "b", station_id="st-b")
    try:
        b.store_foreign(a.store.entries())
        da = CheckinDesk(a.store, "desk-A", "alice")
        db = CheckinDesk(b, "desk-B", "bob")
        v1 = da.walk_up(name="王芳", race="10k", wave="B", gender="F", phone="13600001234")
        v2 = db.walk_up(name="Tom Smith", race="21k", gender="M")
        v3 = da.walk_up(name="陈晨", race="21k")
        assert (v1.participant.bib, v2.participant.bib, v3.participant.bib) == ("9001", "9101", "9002")
        assert v2.participant.wave == "A"  # the race's only wave
        with pytest.raises(CheckinError, match="used up"):
            da.walk_up(name="One More", race="10k")
        with pytest.raises(CheckinError, match="unknown race"):
            db.walk_up(name="X", race="5k")
        with pytest.raises(CheckinError, match="no wave"):
            db.walk_up(name="X", race="10k", wave="Z")
        parts = [e for e in a.store.entries(["participant"]) if e.payload.get("source") == "walk_up"]
        assert {p.payload["bib"] for p in parts} == {"9001", "9002"}
        # walk-ups are checked in and findable
        assert da.state.active_checkin(v1.participant.registration_id) is not None
        assert da.search("王芳")[0].participant.phone_masked == "136****1234"
        # synced: desk A learns B's walk-up, no bib clash
        a.store.store_foreign(b.own_entries_after(0, 1000))
        da.state.refresh()
        assert len(da.state.by_bib("9101")) == 1
    finally:
        a.store.close()
        b.close()


def test_walk_up_needs_a_pool(env):
    with pytest.raises(CheckinError, match="no walk-up bib pool"):
        CheckinDesk(env.store, "desk-9", "op").walk_up(name="A B", race="10k")
    desk = CheckinDesk(env.store, "desk-9", "op", bib_pool="101-103")
    assert desk.walk_up(name="A B", race="10k").participant.bib == "103"  # 101 and 102 are taken


def test_bib_race_wave_changes(env):
    desk = CheckinDesk(env.store, "desk-1", "alice")
    pv = desk.change_participant("R001", bib="150", reason="bib damaged")
    assert pv.bib == "150"
    with pytest.raises(CheckinError, match="bib 102 already belongs"):
        desk.change_participant("R001", bib="102")
    pv = desk.change_participant("R001", race="21k")
    assert pv.race == "21k" and pv.wave == ""
    pv = desk.change_participant("R001", wave="A")
    assert pv.wave == "A"
    with pytest.raises(CheckinError, match="no wave"):
        desk.change_participant("R001", wave="B")
    # the ticket still says 101/10k: the list wins, and the difference is shown
    v = desk.scan(env.ticket("R001"))
    assert v.status == "ok" and v.participant.bib == "150" and len(v.differences) == 2
    latest = [e for e in env.store.entries(["participant"]) if e.payload["registration_id"] == "R001"][-1]
    assert latest.payload["source"] == "desk_change" and latest.payload["chips"] == ["C101"]


def test_chip_hand_out(env):
    desk = CheckinDesk(env.store, "desk-1", "alice")
    assert desk.scan(env.ticket("R002")).status == "ok"
    desk.assign_chip("R002", "C900")
    [e] = env.store.entries(["chip_assigned"])
    assert e.payload["chip"] == "C900" and e.payload["bib"] == "102"
    desk.assign_chip("R002", "C900")  # same runner again: nothing new
    assert len(env.store.entries(["chip_assigned"])) == 1
    with pytest.raises(CheckinError, match="bib 102"):
        desk.assign_chip("R004", "C900")
    with pytest.raises(CheckinError, match="bib 101"):
        desk.assign_chip("R004", "C101")  # held in the imported list
    with pytest.raises(CheckinError, match="chip id"):
        desk.assign_chip("R004", "  ")


def test_no_event_loaded(tmp_path):
    with Store(tmp_path) as s:
        with pytest.raises(CheckinError, match="event load"):
            CheckinDesk(s, "d", "op").scan("abc")


def test_entries_from_another_process_are_seen(env, tmp_path):
    desk = CheckinDesk(env.store, "desk-1", "alice")
    other = Store(tmp_path / "a")  # a CLI call beside the app: same file, another writer
    try:
        other.append("participant", {"registration_id": "R100", "bib": "100", "name": "新人", "race": "10k",
                                     "wave": "A", "chips": []})
    finally:
        other.close()
    v = desk.scan(env.ticket("R100"))
    assert v.status == "ok" and v.participant.name == "新人"


def test_concurrent_scans_of_one_ticket_check_in_once(env):
    desk = CheckinDesk(env.store, "desk-1", "alice")
    tok = env.ticket("R001")
    out = []
    ts = [threading.Thread(target=lambda: out.append(desk.scan(tok).status)) for _ in range(6)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    assert sorted(out) == ["already"] * 5 + ["ok"]


def test_state_is_a_function_of_the_entries(env, tmp_path):
    desk = CheckinDesk(env.store, "desk-1", "alice")
    desk.scan(env.ticket("R001"))
    desk.scan(env.ticket("R002"))
    desk.undo_last()
    desk.assign_chip("R001", "C77")
    fresh = CheckinState(env.store, subscribe=False)
    fresh.apply(env.store.entries())  # applied twice: nothing changes
    assert fresh.active_checkin("R001") is not None and fresh.active_checkin("R002") is None
    assert fresh.chip_owner("C77") == "R001" and fresh.checked_in_count() == 1
    assert fresh.participant_count() == len(PEOPLE)


def test_counts_by_race(env):
    desk = CheckinDesk(env.store, "desk-1", "alice")
    before = desk.state.counts_by_race()
    assert sum(n for _, n in before.values()) == desk.state.participant_count()
    assert all(c == 0 for c, _ in before.values())
    assert desk.scan(env.ticket("R001")).status == "ok"
    after = desk.state.counts_by_race()
    race = desk.state.participant("R001")["race"]
    assert after[race][0] == 1
