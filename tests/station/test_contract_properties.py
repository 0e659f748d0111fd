"""Property tests of the entry contract: whatever a peer sends, the results engine and the check-in
state never raise on an entry the contract accepts (what it refuses is quarantined, never applied)."""

from __future__ import annotations

import copy
import datetime as dt
import uuid
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from station.checkin_state import CheckinState
from station.config import load_event_file
from station.contract import check_payload, check_run, spec_of
from station.entries import KINDS, Entry
from station.reads import ReadRun
from station.results.engine import Engine

# (not imported from conftest: tests/ledger has a conftest module of its own in a combined run)
_BASE_CONFIG = load_event_file(Path(__file__).with_name("data") / "event.toml")


def hms(text: str) -> int:
    """A time of day on the event's date in its zone → UTC ms."""
    ev = _BASE_CONFIG["event"]
    day = dt.datetime.fromisoformat(f"{ev['date']}T{text}").replace(tzinfo=ZoneInfo(ev["timezone"]))
    return int(day.timestamp() * 1000)


json_leaf = st.one_of(st.none(), st.booleans(), st.integers(-(2**60), 2**60), st.floats(allow_nan=True),
                      st.text(max_size=12), st.sampled_from(["", "A", "10k", "finish", "start", "M", "C1", "r1",
                                                             "1", "main", "07:30:00", "2026-11-29"]))
json_any = st.recursive(json_leaf, lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                           st.dictionaries(st.text(max_size=5), inner, max_size=3)),
                        max_leaves=8)
# values that often satisfy a field: ids of the base event, times near the gun, small counts
plausible = st.one_of(st.sampled_from(["r1", "r2", "1", "2", "A", "10k", "5k", "finish", "start", "km5", "C1", "C2",
                                       "finish-main", "main", "backup", "M", "F", "X", "", "1990-01-01",
                                       "dq", "dns", "dnf", "reinstate", "ignore", "force", "adjust", "chip_swap",
                                       "finished", "DNF", "hex"]),
                      st.integers(hms("07:00:00"), hms("10:00:00")), st.integers(-5000, 5000), st.booleans(),
                      st.lists(st.sampled_from(["C1", "C2", "C3"]), max_size=3), st.none())


_POOL: list[Any] = [
    "r1", "r2", "R9", "1", "2", "77", "A", "B", "10k", "5k", "half", "finish", "start", "km5", "nowhere", "C1",
    "C2", "C9", "finish-main", "main", "backup", "M", "F", "X", "", "1990-01-01", "2026-02-29", "dq", "dns",
    "dnf", "reinstate", "ignore", "force", "adjust", "chip_swap", "finished", "running", "DNF", "DNS", "DQ",
    "hex", "ultra", "张伟", "x" * 200, "07:30:00", None, True, False, 0, 1, -1, 2, 500, -60_000, 86_400_000,
    2**53, -(2**53), hms("07:30:00"), hms("08:10:00"), hms("08:10:01"), hms("09:59:59"), 1.5,
    [], ["C1"], ["C1", "C2"], ["C9"], {}, {"sub": "r1"},
]


@st.composite
def payloads(draw: Any, kind: str) -> dict[str, Any]:
    if kind == "event_config":
        cfg = copy.deepcopy(_BASE_CONFIG)
        for _ in range(draw(st.integers(0, 3))):
            where = draw(st.sampled_from(["event", "race", "wave", "point", "categories", "checkin"]))
            key = draw(st.text(max_size=8) | st.sampled_from(
                ["id", "date", "timezone", "distance_m", "laps", "start", "kind", "window_s", "pick",
                 "races", "age_groups", "public_keys", "revoked_keys", "min_time_ms", "cutoff_ms"]))
            value = draw(json_any | plausible)
            target = {"event": cfg["event"], "race": cfg["races"][0], "wave": cfg["races"][0]["waves"][0],
                      "point": cfg["timing_points"][-1]}.get(where)
            if target is None:
                cfg[where] = {key: value}
            else:
                target[key] = value
        return cfg
    spec = dict(spec_of(kind))
    if kind == "correction":
        action = draw(st.sampled_from(["dns", "dnf", "dq", "reinstate", "ignore", "unignore", "adjust",
                                       "chip_swap", "force", "other"]))
        if action != "other":
            spec.update(spec_of(kind, action))
    out: dict[str, Any] = {}
    for k, (_required, check) in spec.items():
        roll = draw(st.integers(0, 19))  # hypothesis leans to 0: mostly well-typed values
        if roll == 19:
            continue  # missing
        if roll == 18:
            out[k] = draw(json_any)  # anything at all
        else:  # a value of the field's type (what a buggy but well-typed peer sends)
            fits = [v for v in _POOL if check(v) is None]
            out[k] = draw(st.sampled_from(fits)) if fits else draw(json_any)
    if kind == "correction" and action != "other":
        out["action"] = action
    if draw(st.integers(0, 4)) == 4:
        out.update(draw(st.dictionaries(st.text(max_size=6), json_any, max_size=2)))
    return out


class _NoStore:
    def iter_rows(self, *_a: Any, **_k: Any) -> Any:
        return iter(())


def _entries(kinds_payloads: list[tuple[str, dict[str, Any]]]) -> list[Entry]:
    base = [Entry("peer", 1, str(uuid.uuid4()), "event_config", _BASE_CONFIG, 1, "t")]
    for i, (k, p) in enumerate(kinds_payloads, 2):
        base.append(Entry("peer", i, str(uuid.uuid4()), k, p, i, "t"))
    return base


def _exercise(entries: list[Entry]) -> None:
    eng = Engine.from_entries(entries, now_ms=lambda: hms("09:00:00"))
    eng.rows()
    eng.split_columns()
    for reg in list(eng.participants())[:3]:
        eng.explain(reg)
    state = CheckinState(_NoStore(), subscribe=False)
    state.apply(entries)
    state.verifier()
    state.races()
    state.search("1")
    state.counts_by_race()
    state.bibs_in_use()
    for reg in ("r1", "r2"):
        state.active_checkin(reg)
        state.participant(reg)
    state.chip_owner("C1")


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                   HealthCheck.filter_too_much])
@given(st.data())
def test_what_the_contract_accepts_never_breaks_the_engine_or_the_desk(data: Any) -> None:
    n = data.draw(st.integers(1, 6))
    drawn = []
    for _ in range(n):
        kind = data.draw(st.sampled_from(KINDS))
        drawn.append((kind, data.draw(payloads(kind))))
    accepted = [(k, p) for k, p in drawn if check_payload(k, p) is None]
    # always with a runner and a gun, so accepted entries meet something to act on
    accepted = [("participant", {"registration_id": "r1", "bib": "1", "race": "10k", "wave": "A",
                                 "chips": ["C1"], "gender": "M", "birth_date": "1990-01-01"}),
                ("read", {"reader": "finish-main", "point": "finish", "chip": "C1", "t": hms("08:10:00")}),
                *accepted]
    _exercise(_entries(accepted))


@settings(max_examples=150, deadline=None)
@given(st.data())
def test_every_kind_accepts_its_documented_shape_and_refuses_garbage(data: Any) -> None:
    kind = data.draw(st.sampled_from(KINDS))
    garbage = data.draw(st.one_of(json_leaf, st.lists(json_leaf, max_size=2)))
    assert check_payload(kind, garbage) is not None  # not an object at all
    if kind in ("gun", "manual_time", "race_closed", "clock_offset", "chip_assigned", "read"):
        assert check_payload(kind, {}) is not None  # required fields are named
        assert "missing" in str(check_payload(kind, {}))


def test_reads_runs_are_checked_column_by_column() -> None:
    ok = ReadRun("finish-main", "finish", "main", 1, "COM3", chip=["C1", "C2"], t=[1, 2], raw=["a", "b"])
    assert check_run(ok) is None
    assert "chip" in str(check_run(ReadRun("r", "p", "main", 1, None, chip=["C1", "x" * 300], t=[1, 2],
                                           raw=["a", "b"])))
    assert "NUL" in str(check_run(ReadRun("r", "p", "main", 1, None, chip=["C\x001"], t=[1], raw=["a"])))
    assert "out of range" in str(check_run(ReadRun("r", "p", "main", 1, None, chip=["C1"], t=[2**60],
                                                   raw=["a"])))
    assert "raw" in str(check_run(ReadRun("r", "p", "main", 1, None, chip=["C1"], t=[1], raw=["z" * 9000])))


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_the_check_itself_never_raises(data: Any) -> None:
    """The pull path runs `check_wire` on whatever the ledger sent: it answers, it never raises."""
    from station.contract import check_wire

    kind = data.draw(st.sampled_from([*KINDS, "nonsense"]))
    payload = data.draw(json_any | payloads(kind if kind in KINDS else "gun"))
    check_payload(kind, payload)
    d = {"station_id": data.draw(st.sampled_from(["peer", "", None, "p\x00", "x" * 300]) | json_leaf),
         "seq": data.draw(st.integers(-5, 2**70) | json_leaf), "uuid": data.draw(st.text(max_size=70) | json_leaf),
         "kind": data.draw(st.sampled_from([kind, None, 5]) | json_any), "payload": payload,
         "recorded_at": data.draw(st.integers(-5, 2**60) | json_leaf), "operator": data.draw(json_leaf)}
    check_wire(d)
    check_wire(data.draw(json_any))
