"""`worun-station rehearse` — the race-day rehearsal: the whole system end to end, under faults.

Generates an event, participants, signed tickets and reader captures with ground truth; starts the ledger
(PostgreSQL; SQLite with --sqlite) and three stations as real processes; feeds the readers through socat
ptys paced at baud rate and a MYLAPS decoder over TCP; checks runners in from QR images; injects faults;
then prints the verdict table and writes it as JSON. Exit 0 when every count is equal and every result
identical, 1 otherwise.

A tool, not domain core: it drives real processes, PostgreSQL and socat, so it lives in its own package
and reaches `worun-station` through the `worun_station.verbs` entry point, like `ledger` and `app`.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from station.errors import UserError


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="worun-station rehearse",
                                description="race-day rehearsal: a simulated race day across real processes, "
                                            "with faults, ending in a verdict")
    p.add_argument("--runners", type=int, help="runners (default 1000; 120 with --quick)")
    p.add_argument("--seed", type=int, default=1, help="random seed: the same seed, the same race (default 1)")
    p.add_argument("--faults", choices=("on", "off"), default="on", help="inject faults (default on)")
    p.add_argument("--sqlite", action="store_true", help="ledger on SQLite instead of PostgreSQL")
    p.add_argument("--out", type=Path, help="folder for everything the rehearsal makes (default: a new temp folder)")
    p.add_argument("--soak", type=float, metavar="MINUTES",
                   help="soak mode instead: MINUTES at a steady read rate (see --rate); memory, stalls, sync lag")
    p.add_argument("--rate", type=float, default=2000.0, help="soak: reads per second (default 2000)")
    p.add_argument("--race-seconds", type=float, help="real seconds the race is played in (default: 240)")
    p.add_argument("--cut-seconds", type=float, help="how long the network to the ledger is cut (default 120)")
    p.add_argument("--quick", action="store_true",
                   help="the reduced CI scale: 120 runners, race in 70 s, short faults")
    p.add_argument("--quiet", action="store_true", help="only the verdict")
    return p


def rehearse(argv: list[str], ctx: Any) -> int:
    """The `rehearse` verb (entry point): parse, then run."""
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as e:
        return int(e.code if isinstance(e.code, int) else 2)
    return run(args, ctx)


def run(args: argparse.Namespace, ctx: Any) -> int:
    if args.runners is not None and args.runners < 10:
        raise UserError(f"--runners {args.runners}: at least 10")
    out = args.out or Path(tempfile.mkdtemp(prefix="worun-rehearsal-"))
    out.mkdir(parents=True, exist_ok=True)
    if args.soak is not None:
        from rehearsal.soak import SoakOptions, run_soak

        res = run_soak(SoakOptions(minutes=args.soak, rate=args.rate, out=out, sqlite=args.sqlite,
                                   quiet=args.quiet))
        print(res.table())
        print(f"\nsoak report: {res.write(out)}")
        return 0 if res.ok else 1

    from rehearsal.run import Options, Rehearsal

    kw: dict[str, Any] = {"seed": args.seed, "faults": args.faults == "on", "sqlite": args.sqlite,
                          "quiet": args.quiet}
    if args.quick:
        opts = Options.reduced(out, **kw)
    else:
        opts = Options(out=out, **kw)
    if args.runners is not None:
        opts.runners = args.runners
    if args.race_seconds:
        opts.race_seconds = args.race_seconds
    if args.cut_seconds is not None:
        opts.cut_s = args.cut_seconds
    print(f"rehearsal in {out}", file=sys.stderr, flush=True)
    t = time.monotonic()
    verdict = Rehearsal(opts).run()
    path = verdict.write(out)
    print(verdict.table())
    print(f"\nverdict: {path} ({time.monotonic() - t:.0f} s)")
    return 0 if verdict.ok else 1
