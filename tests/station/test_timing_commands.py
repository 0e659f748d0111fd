"""The timing commands both front doors call: every check once, the entries they append."""

from __future__ import annotations

from pathlib import Path

import pytest

from station.event.config import EventConfig, load_event_file
from station.log.store import Store
from station.people.participants import import_csv
from station.results.engine import Engine
from station.timing.commands import CommandError, TimingCommands, parse_delta

DATA = Path(__file__).with_name("data")

NOW = 1_795_915_000_000  # 2026-11-29 09:16:40 +08:00, pinned


@pytest.fixture
def cmds(tmp_path: Path):
    with Store(tmp_path / "st") as store:
        payload = load_event_file(DATA / "event.toml")
        store.append("event_config", payload, operator="t")
        import_csv(store, DATA / "participants.csv", EventConfig.from_payload(payload), operator="t")
        engine = Engine.from_store(store, lambda: NOW)
        yield TimingCommands.over_engine(store, engine, "timer-1", lambda: NOW)


def test_manual_time_checks_point_and_bib(cmds) -> None:
    e = cmds.manual_time("1", "finish", NOW)
    assert (e.kind, e.payload, e.operator) == ("manual_time", {"bib": "1", "point": "finish", "t": NOW}, "timer-1")
    with pytest.raises(CommandError) as err:
        cmds.manual_time("1", "km7", NOW)
    assert err.value.field == "point" and "unknown timing point 'km7'" in str(err.value)
    with pytest.raises(CommandError) as err:
        cmds.manual_time("9999", "finish", NOW)
    assert (err.value.field, err.value.template, err.value.params) == (
        "bib", "no participant with bib {bib!r}", {"bib": "9999"})


def test_gun_defaults_and_checks(cmds) -> None:
    race = next(iter(cmds.config().races))
    e = cmds.gun(race=race)
    assert e.payload == {"wave": cmds.config().races[race].waves[0].id, "t": NOW, "race": race}
    with pytest.raises(CommandError, match="name the wave"):
        cmds.gun()
    with pytest.raises(CommandError, match="unknown wave 'Q'"):
        cmds.gun("Q")
    with pytest.raises(CommandError, match="unknown race '42k'"):
        cmds.gun("A", "42k")


def test_corrections_name_their_runner_and_target(cmds) -> None:
    reg = cmds.registration("1")
    assert cmds.set_status("1", "dq", "no bib").payload == {"action": "dq", "registration_id": reg, "bib": "1",
                                                            "reason": "no bib"}
    with pytest.raises(CommandError, match="unknown status change"):
        cmds.set_status("1", "delete")
    hand = cmds.manual_time("1", "finish", NOW)
    assert cmds.target("force", hand.uuid).payload == {"action": "force", "target": hand.uuid, "reason": ""}
    read = cmds.store.append("read", {"chip": "C1", "t": NOW, "reader": "r1", "point": "finish"})
    assert cmds.target("ignore", read.uuid, "ghost read").payload["target"] == read.uuid
    with pytest.raises(CommandError, match="only a manual time can be forced"):
        cmds.target("force", read.uuid)
    gun = cmds.gun("A", next(iter(cmds.config().races)))
    with pytest.raises(CommandError) as err:  # a gun is not a crossing: the app's ignore once took anything
        cmds.target("ignore", gun.uuid)
    assert err.value.field == "entry"
    assert cmds.adjust("1", parse_delta("+0:01:00")).payload["delta_ms"] == 60_000
    assert cmds.chip_swap("1", " C9 ", NOW).payload["chip"] == "C9"
    with pytest.raises(CommandError, match="give the chip id"):
        cmds.chip_swap("1", "  ", NOW)
    assert cmds.close_race(next(iter(cmds.config().races))).kind == "race_closed"


@pytest.mark.parametrize(("text", "ms"), [("+0:01:00", 60_000), ("-2.5", -2_500), ("1:30", 90_000),
                                          ("-0:00:02.5", -2_500), ("45", 45_000)])
def test_parse_delta(text: str, ms: int) -> None:
    assert parse_delta(text) == ms


@pytest.mark.parametrize("text", ["", "abc", "1:2:3:4", "+", "1e999"])
def test_parse_delta_refuses(text: str) -> None:
    with pytest.raises(CommandError, match="expected"):
        parse_delta(text)
