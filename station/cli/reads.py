"""`worun-station reads import|listen` — reader captures and headless live timing.

Both go through `station.timing.ingest`, the code path the app uses, so a capture replayed here gives exactly
the entries the live reader would have given.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from drivers import FORMATS
from station.errors import UserError
from station.log.entry_log import EntryLog
from station.timing.bindings import ReaderBinding
from station.timing.captures import import_file, throughput_mode
from station.timing.live import LiveReader


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--point", required=True, help="timing point id the reader is bound to")
    p.add_argument("--format", required=True, choices=FORMATS, dest="fmt", help="reader protocol")
    p.add_argument("--reader", help="reader id (default <point>-<format>)")
    p.add_argument("--role", choices=("main", "backup"), default="main")
    p.add_argument("--chip-format", choices=("hex",), default=None, help="convert hex chip ids to decimal")
    p.add_argument("--zone", help="reader clock zone (default: the event's time zone)")
    p.add_argument("--gps", action="store_true", help="the reader's clock is GPS-synced (never corrected)")
    p.add_argument("--wave", action="append", default=[], metavar="CH=WAVE",
                   help="Timy: impulse channel → wave (C0=A, or C0=10k/A); repeatable")


def register(sub: Any) -> None:
    p = sub.add_parser("reads", help="RFID reader captures and live timing")
    rs = p.add_subparsers(dest="reads_cmd")
    pi = rs.add_parser("import", help="replay a reader capture file (same code path as live data)")
    _common(pi)
    pi.add_argument("file", help="capture file, as the reader sent it")
    pi.set_defaults(func=run_import)
    pl = rs.add_parser("listen", help="headless live timing on a serial port or a TCP listener")
    _common(pl)
    g = pl.add_mutually_exclusive_group(required=True)
    g.add_argument("--port", help="pyserial name or URL: COM3, /dev/ttyUSB0, socket://host:port, loop://")
    g.add_argument("--listen", help="HOST:PORT to accept decoders on (MYLAPS: default port 3097)")
    pl.add_argument("--baud", type=int, help="9600-115200 (default: the protocol's usual rate)")
    pl.add_argument("--framing", default="8N1", help="data bits, parity, stop bits (default 8N1)")
    pl.add_argument("--status-every", type=float, default=1.0, metavar="S", help="status line period")
    pl.set_defaults(func=run_listen)
    pc = rs.add_parser("clock", help="confirm a reader's clock offset (a clock_offset entry)")
    pc.add_argument("--reader", required=True, help="reader id (as in `reads listen --reader`)")
    pc.add_argument("--offset-ms", type=int, required=True,
                    help="station time minus reader time, in ms (the offset shown by `reads listen`)")
    pc.add_argument("--from", dest="from_time", default=None,
                    help="apply to reads at or after this time of day HH:MM:SS (default: every read)")
    pc.add_argument("--operator", help="who confirms (default: $WORUN_OPERATOR or your login)")
    pc.set_defaults(func=run_clock)
    p.set_defaults(func=lambda a, c: (p.print_help(sys.stderr), 2)[1])


def _binding(args: Any, **extra: Any) -> ReaderBinding:
    waves: dict[str, str] = {}
    for w in args.wave:
        ch, eq, wave = w.partition("=")
        if not eq or not ch.strip() or not wave.strip():
            raise UserError(f"--wave {w!r}: expected CHANNEL=WAVE, e.g. C0=A")
        waves[ch.strip().upper()] = wave.strip()
    b = ReaderBinding(id=args.reader or f"{args.point}-{args.fmt}", point=args.point, format=args.fmt,
                      role=args.role, zone=args.zone, gps=args.gps, chip_format=args.chip_format,
                      channel_waves=waves, **extra)
    b.validate()
    return b


def run_import(args: Any, ctx: Any) -> int:
    path = Path(args.file)
    b = _binding(args)
    try:
        fh = path.open("rb")
    except OSError as e:
        raise UserError(f"{path}: cannot read: {e.strerror}") from None
    with fh, ctx.open_store() as store, throughput_mode():
        follower = _follow_results(store)
        try:
            try:
                ing = import_file(store, b, fh, str(path))
            except OSError as e:
                raise UserError(f"{path}: cannot read: {e.strerror}") from None
            st = ing.status()
            summary = _crossings_summary(follower, b.point) if follower is not None else None
        finally:
            if follower is not None:
                follower.close()
    if st.zone_note:
        print(f"note: {st.zone_note}", file=sys.stderr)
    print(f"{path}: {st.lines} lines, {st.reads} reads ({st.stored} new entries, "
          f"{st.duplicates} already stored), {st.unparsed} unparsed, {st.guns} guns")
    if summary:
        print(summary)
    return 0


def _follow_results(store: EntryLog) -> Any:
    """With an event loaded, the results engine follows the import: crossings are detected as the
    capture goes in (the same engine and rules as the app), and the timer sees what it gave."""
    from station.cli.core import current_config
    from station.results.engine import Engine
    from station.results.follow import EngineFollower

    try:
        current_config(store)
    except UserError:
        return None  # no event: reads are journaled, results come once an event is loaded
    return EngineFollower(store, Engine.from_store(store))


def _crossings_summary(follower: Any, point: str) -> str:
    follower.drain()
    eng = follower.engine
    results = list(eng.results().values())
    kind = ""
    cfg = getattr(eng, "config", None)
    if cfg is not None and point in cfg.points:
        kind = cfg.points[point].kind
    if kind in ("finish", "start_finish"):
        at = sum(1 for r in results if r.finish_ms is not None)
    elif kind == "split":
        at = sum(1 for r in results if point in r.splits)
    elif kind == "start":
        at = sum(1 for r in results if r.start_source in ("main", "backup"))
    else:
        at = 0
    statuses: dict[str, int] = {}
    for r in results:
        statuses[r.status] = statuses.get(r.status, 0) + 1
    by = ", ".join(f"{n} {s}" for s, n in sorted(statuses.items(), key=lambda x: -x[1]))
    return f"results: {at} runner{'' if at == 1 else 's'} with a time at {point}; {by or 'no participants'}"


def run_listen(args: Any, ctx: Any) -> int:
    from station.cli import install_stop_handlers

    if args.baud is not None and not 1200 <= args.baud <= 921600:
        raise UserError(f"--baud {args.baud}: expected a serial rate such as 9600, 19200, 57600 or 115200")
    b = _binding(args, port=args.port, listen=args.listen, baud=args.baud)
    install_stop_handlers(ctx)
    store = ctx.open_store()
    try:
        live = LiveReader(store, b, framing=args.framing).start()
        addr = live.address
        where = args.port or f"{args.listen} (bound {addr[0]}:{addr[1]})" if addr else args.port
        print(f"listening: reader {b.id} ({b.format}, {b.role}) at point {b.point} on {where}", flush=True)
        if live.ingest.zone_note:
            print(f"note: {live.ingest.zone_note}", flush=True)
        try:
            while not ctx.stop.wait(args.status_every):
                print(live.status().line(), flush=True)
        finally:
            live.stop()
            st = live.status()
            print(f"stopped: {st.lines} lines, {st.reads} reads, {st.stored} new entries, "
                  f"{st.duplicates} already stored, {st.unparsed} unparsed — all flushed", flush=True)
    finally:
        store.close()
    return 0


def run_clock(args: Any, ctx: Any) -> int:
    """The timer confirms an offset: only then does it change results (DESIGN rule 2)."""
    from station.cli.core import current_config, operator_name, time_of_day_ms

    with ctx.open_store() as store:
        gps = False
        for e in store.entries(kinds=["reader_config"]):
            if e.payload.get("id") == args.reader:
                gps = bool(e.payload.get("gps"))
        if gps:
            raise UserError(f"reader {args.reader} is GPS-synced: its clock is never corrected")
        from_ms = 0
        if args.from_time:
            from_ms = time_of_day_ms(current_config(store), args.from_time)
        store.append("clock_offset", {"reader": args.reader, "offset_ms": args.offset_ms, "from_ms": from_ms},
                     operator=operator_name(args))
    print(f"clock offset confirmed: reader {args.reader} {args.offset_ms:+d} ms"
          f"{' from ' + args.from_time if args.from_time else ''}")
    return 0
