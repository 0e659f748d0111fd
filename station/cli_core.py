"""Core verbs: event load, participants import, results, info, manual, correct, gun, purge."""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import getpass
import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from station.cli import Context
from station.config import EventConfig, load_event_file, parse_hms
from station.entry_log import EntryLog
from station.errors import UserError

if TYPE_CHECKING:
    from station.timing_commands import TimingCommands


def operator_name(args: argparse.Namespace) -> str:
    """Every entry records who made it: --operator, $WORUN_OPERATOR, else the OS user."""
    if getattr(args, "operator", None):
        return str(args.operator)
    env = os.environ.get("WORUN_OPERATOR")
    if env:
        return env
    try:
        return getpass.getuser()
    except Exception:
        return "cli"


def _op(p: argparse.ArgumentParser) -> None:
    p.add_argument("--operator", help="who makes this entry (default: $WORUN_OPERATOR or your login)")


def register(sub: Any) -> None:
    ev = sub.add_parser("event", help="event configuration")
    evs = ev.add_subparsers(dest="action", required=True)
    load = evs.add_parser("load", help="create or update the event from an event file (TOML)")
    load.add_argument("file", type=Path)
    _op(load)
    load.set_defaults(func=cmd_event_load)
    show = evs.add_parser("show", help="print the current event configuration (JSON)")
    show.set_defaults(func=cmd_event_show)

    pa = sub.add_parser("participants", help="participants")
    pas = pa.add_subparsers(dest="action", required=True)
    imp = pas.add_parser("import", help="import participants from a CSV file (all or nothing)")
    imp.add_argument("file", type=Path)
    _op(imp)
    imp.set_defaults(func=cmd_participants_import)

    rs = sub.add_parser("results", help="print the results")
    rs.add_argument("--race", help="only this race")
    rs.add_argument("--format", choices=["csv", "json"], default="csv")
    add_as_of(rs)
    rs.set_defaults(func=cmd_results)

    info = sub.add_parser("info", help="station id, event and counts")
    info.set_defaults(func=cmd_info)

    man = sub.add_parser("manual", help="record a hand-timed crossing")
    man.add_argument("--bib", required=True)
    man.add_argument("--point", required=True)
    man.add_argument("--time", required=True, help="time of day HH:MM:SS[.fff] in the event's zone")
    man.add_argument("--date", help="YYYY-MM-DD (default: the event date)")
    _op(man)
    man.set_defaults(func=cmd_manual)

    gun = sub.add_parser("gun", help="record the gun of a wave")
    gun.add_argument("--wave", default=None, help="wave id (default: the race's first wave)")
    gun.add_argument("--race", help="race id (default: every race with that wave)")
    gun.add_argument("--time", help="time of day HH:MM:SS[.fff] (default: now)")
    _op(gun)
    gun.set_defaults(func=cmd_gun)

    co = sub.add_parser("correct", help="corrections (new entries; nothing is changed in place)")
    cos = co.add_subparsers(dest="action", required=True)
    for name, helptext in (("dq", "disqualify"), ("dns", "mark did not start"),
                           ("dnf", "mark did not finish"), ("reinstate", "undo DQ/DNS/DNF")):
        c = cos.add_parser(name, help=helptext)
        c.add_argument("--bib", required=True)
        c.add_argument("--reason", default="")
        _op(c)
        c.set_defaults(func=cmd_correct_status)
    for name, helptext in (("ignore", "ignore the crossing containing an entry"),
                           ("unignore", "undo an ignore"),
                           ("force", "make a manual time count even where main readers have one")):
        c = cos.add_parser(name, help=helptext)
        c.add_argument("--entry", required=True, help="uuid of the read or manual entry")
        c.add_argument("--reason", default="")
        _op(c)
        c.set_defaults(func=cmd_correct_target)
    adj = cos.add_parser("adjust", help="add time to (or remove from) a runner's finish")
    adj.add_argument("--bib", required=True)
    adj.add_argument("--delta", required=True, help="[+|-]H:MM:SS[.fff] or seconds, e.g. +0:01:00 or -2.5")
    adj.add_argument("--reason", default="")
    _op(adj)
    adj.set_defaults(func=cmd_correct_adjust)
    sw = cos.add_parser("chip-swap", help="give a runner a chip from a time on")
    sw.add_argument("--bib", required=True)
    sw.add_argument("--chip", required=True)
    sw.add_argument("--from", dest="from_time", default="00:00:00", help="time of day HH:MM:SS (default: all day)")
    _op(sw)
    sw.set_defaults(func=cmd_correct_swap)
    cl = cos.add_parser("close", help="close a race: runners without a finish become DNF")
    cl.add_argument("--race", required=True)
    _op(cl)
    cl.set_defaults(func=cmd_close)

    pu = sub.add_parser("purge", help="delete personal data of a past event, keeping results")
    pu.add_argument("--event", required=True)
    pu.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    pu.set_defaults(func=cmd_purge)


# --------------------------------------------------------------------------- helpers
def current_config(store: EntryLog) -> EventConfig:
    from station.latest import latest

    best = latest(store.entries(kinds=["event_config"]))
    if best is None:
        raise UserError("no event loaded: run `worun-station event load EVENT.toml` first")
    return EventConfig.from_payload(best.payload)


def add_as_of(p: argparse.ArgumentParser) -> None:
    p.add_argument("--as-of", metavar="TIME",
                   help="results as they stand at this moment (event time: HH:MM[:SS] on the event date, or "
                        "YYYY-MM-DD HH:MM[:SS]); decides who is past the cutoff (DNF) and is printed as the "
                        "list's time. Default: now")


def as_of_ms(cfg: EventConfig, text: str | None) -> int | None:
    """`--as-of` in UTC ms (None: now). The one clock-dependent rule is the cutoff (DNF), so a list printed
    "as of 09:00" is the same list however late it is reprinted, or replayed on another laptop."""
    if not text:
        return None
    try:
        return cfg.instant_ms(text)
    except ValueError as e:
        raise UserError(f"--as-of: {e}") from None


def load_engine(store: EntryLog, as_of: str | None = None) -> Any:
    """The results engine over the whole store; `as_of` (the `--as-of` text) pins its "now"."""
    from station.results.engine import Engine

    at = as_of_ms(current_config(store), as_of) if as_of else None
    eng = Engine.from_store(store, None if at is None else (lambda: at))
    if eng.config is None:
        raise UserError("no event loaded: run `worun-station event load EVENT.toml` first")
    return eng


def time_of_day_ms(cfg: EventConfig, text: str, date: str | None = None) -> int:
    try:
        ms = parse_hms(text)
    except ValueError:
        raise UserError(f"--time: expected HH:MM:SS[.fff], got {text!r}") from None
    if ms >= 86_400_000:
        raise UserError(f"--time: expected a time of day before 24:00:00, got {text!r}")
    day = cfg.date
    if date:
        try:
            day = dt.date.fromisoformat(date)
        except ValueError:
            raise UserError(f"--date: expected YYYY-MM-DD, got {date!r}") from None
    return cfg.local_to_utc_ms(day, ms)


# --------------------------------------------------------------------------- verbs
def cmd_event_load(args: argparse.Namespace, ctx: Context) -> int:
    from station.setup_commands import store_event

    payload = load_event_file(args.file)  # before the store: a bad file leaves no data folder behind
    with ctx.open_store() as store:
        verb = store_event(store, payload, operator_name(args))
    if verb == "unchanged":
        print(f"event {payload['event']['id']}: unchanged")
        return 0
    ev = payload["event"]
    print(f"event {ev['id']} {verb}: {ev['name']}, {ev['date']} ({ev['timezone']}), "
          f"{len(payload['races'])} race(s), {len(payload['timing_points'])} timing point(s)")
    return 0


def cmd_event_show(args: argparse.Namespace, ctx: Context) -> int:
    with ctx.open_store() as store:
        cfg = current_config(store)
    json.dump(cfg.payload, sys.stdout, ensure_ascii=False, indent=2)
    print()
    return 0


def cmd_participants_import(args: argparse.Namespace, ctx: Context) -> int:
    from station.participants import import_csv

    with ctx.open_store() as store:
        cfg = current_config(store)
        total, written = import_csv(store, args.file, cfg, operator=operator_name(args))
    print(f"{args.file}: {total} participant(s); {written} new or changed, {total - written} unchanged")
    return 0


def cmd_results(args: argparse.Namespace, ctx: Context) -> int:
    from station.results.csvout import write_csv, write_json

    with ctx.open_store() as store:
        eng = load_engine(store, args.as_of)
    if args.race and args.race not in eng.config.races:
        raise UserError(f"--race: unknown race {args.race!r}; expected one of {', '.join(eng.config.races)}")
    rows = eng.rows(args.race)
    cols = eng.split_columns()
    out = sys.stdout
    if hasattr(out, "reconfigure"):
        out.reconfigure(encoding="utf-8", newline="\n")
    if args.format == "csv":
        write_csv(rows, out, cols)
    else:
        ev = eng.config.payload["event"]
        write_json(rows, out, cols, {"id": ev["id"], "name": ev["name"], "date": ev["date"]})
    return 0


def cmd_info(args: argparse.Namespace, ctx: Context) -> int:
    from station.participants import latest_participants
    from station.sync import unsynced

    with ctx.open_store() as store:
        counts = store.counts()
        cfg = None
        try:
            cfg = current_config(store)
        except UserError:
            pass
        parts = latest_participants(store.entries(kinds=["participant"]))
        print(f"station_id: {store.station_id}")
        print(f"data: {store.data_dir}")
        print(f"event: {cfg.id if cfg else ''}")
        print(f"event_name: {cfg.name if cfg else ''}")
        print(f"event_date: {cfg.date.isoformat() if cfg else ''}")
        print(f"races: {len(cfg.races) if cfg else 0}")
        print(f"participants: {len(parts)}")
        print(f"entries: {sum(counts.values())}")
        print(f"last_seq: {store.last_seq()}")
        for label, k in (("reads", "read"), ("unparsed", "unparsed"), ("checkins", "checkin"),
                         ("manual_times", "manual_time"), ("corrections", "correction"), ("guns", "gun")):
            print(f"{label}: {counts.get(k, 0)}")
        print(f"unsynced: {unsynced(store)}")
        print(f"quarantined: {store.quarantined_count()}")
    return 0


def _commands(store: EntryLog, args: argparse.Namespace, eng: Any = None) -> TimingCommands:
    from station.store import now_ms
    from station.timing_commands import TimingCommands

    return TimingCommands.over_engine(store, eng if eng is not None else load_engine(store), operator_name(args),
                                      now_ms)


@contextlib.contextmanager
def _as_flags() -> Iterator[None]:
    """A command's refusal names the option at fault: `--point: unknown timing point …`."""
    from station.timing_commands import CommandError

    try:
        yield
    except CommandError as e:
        raise UserError(f"--{e.field}: {e}") from None


def cmd_manual(args: argparse.Namespace, ctx: Context) -> int:
    with ctx.open_store() as store, _as_flags():
        cmds = _commands(store, args)
        t = time_of_day_ms(cmds.config(), args.time, args.date)
        e = cmds.manual_time(args.bib, args.point, t)
    print(f"manual time recorded: bib {args.bib} at {args.point} {args.time} (entry {e.uuid})")
    return 0


def cmd_gun(args: argparse.Namespace, ctx: Context) -> int:
    with ctx.open_store() as store, _as_flags():
        cmds = _commands(store, args)
        t = time_of_day_ms(cmds.config(), args.time) if args.time else None
        e = cmds.gun(args.wave, args.race, t)
    wave = e.payload["wave"]
    print(f"gun recorded: wave {wave or '(default)'}{' race ' + args.race if args.race else ''}")
    return 0


def cmd_correct_status(args: argparse.Namespace, ctx: Context) -> int:
    with ctx.open_store() as store, _as_flags():
        _commands(store, args).set_status(args.bib, args.action, args.reason)
    print(f"correction recorded: {args.action} bib {args.bib}")
    return 0


def cmd_correct_target(args: argparse.Namespace, ctx: Context) -> int:
    with ctx.open_store() as store, _as_flags():
        _commands(store, args).target(args.action, args.entry, args.reason)
    print(f"correction recorded: {args.action} {args.entry}")
    return 0


def cmd_correct_adjust(args: argparse.Namespace, ctx: Context) -> int:
    from station.timing_commands import parse_delta

    with _as_flags():
        delta = parse_delta(args.delta)
    with ctx.open_store() as store, _as_flags():
        _commands(store, args).adjust(args.bib, delta, args.reason)
    print(f"correction recorded: bib {args.bib} finish {delta:+d} ms")
    return 0


def cmd_correct_swap(args: argparse.Namespace, ctx: Context) -> int:
    with ctx.open_store() as store, _as_flags():
        cmds = _commands(store, args)
        cmds.chip_swap(args.bib, args.chip, time_of_day_ms(cmds.config(), args.from_time))
    print(f"correction recorded: chip {args.chip} belongs to bib {args.bib} from {args.from_time}")
    return 0


def cmd_close(args: argparse.Namespace, ctx: Context) -> int:
    with ctx.open_store() as store, _as_flags():
        _commands(store, args).close_race(args.race)
    print(f"race {args.race} closed: runners without a finish are DNF")
    return 0


def cmd_purge(args: argparse.Namespace, ctx: Context) -> int:
    from station.purge import purge_personal_data

    with ctx.open_store() as store:
        cfg = current_config(store)
        if cfg.id != args.event:
            raise UserError(f"--event: this station holds event {cfg.id!r}, not {args.event!r}")
        if not args.yes:
            if not sys.stdin.isatty():
                raise UserError("purge deletes personal data for good: add --yes to confirm")
            ans = input(f"Delete birth dates, phones and emails of event {cfg.id}? [y/N] ")
            if ans.strip().lower() not in ("y", "yes"):
                print("nothing deleted")
                return 0
        n = purge_personal_data(store, cfg)
    print(f"personal data removed from {n} participant entries; results kept")
    return 0
