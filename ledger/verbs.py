"""`worun-station ledger …` — serve the reference ledger and administer it.

Found by `station.cli` through the `worun_station.verbs` entry point and called as
`ledger(argv, ctx)` with the arguments after `ledger`, so `station/` never imports this package.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from pathlib import Path
from typing import Any

from station.errors import UserError

_DB_HELP = "database URL: sqlite:///FILE (default sqlite:///ledger.sqlite3) or postgresql://USER:PW@HOST/DB"


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        self.print_usage(sys.stderr)
        self.exit(2, f"{self.prog}: error: {message}\n")


def _db_default() -> str:
    return os.environ.get("WORUN_LEDGER_DB") or "sqlite:///ledger.sqlite3"


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="worun-station ledger", description="The reference WO.RUN online ledger.")
    sub = p.add_subparsers(dest="cmd", parser_class=_Parser)

    s = sub.add_parser("serve", help="run the ledger HTTP service")
    s.add_argument("--db", default=None, help=_DB_HELP)
    s.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    s.add_argument("--port", type=int, default=8080, help="port (default 8080)")
    s.add_argument("--workers", type=int, default=1, help="server processes (PostgreSQL recommended)")
    s.set_defaults(func=_serve)

    ev = sub.add_parser("event", help="register events").add_subparsers(dest="evcmd", parser_class=_Parser)
    ea = ev.add_parser("add", help="register an event and its points rule from the event TOML file")
    ea.add_argument("--db", default=None, help=_DB_HELP)
    ea.add_argument("file", type=Path, help="EVENT.toml")
    ea.set_defaults(func=_event_add)

    tk = sub.add_parser("token", help="station tokens").add_subparsers(dest="tkcmd", parser_class=_Parser)
    ta = tk.add_parser("add", help="print a new token for one station of one event")
    ta.add_argument("--db", default=None, help=_DB_HELP)
    ta.add_argument("--event", required=True, help="event id")
    ta.add_argument("--station", required=True, help="station id (see `worun-station info`)")
    ta.add_argument("--publish", action="store_true", help="the station may publish results (= --role results)")
    ta.add_argument("--role", choices=["checkin", "timing", "results", "organizer"], default=None,
                    help="which entry kinds the station may write (default: timing; see the README's table)")
    ta.set_defaults(func=_token_add)
    tl = tk.add_parser("list", help="list tokens: id, event, station, role, publish, created, revoked")
    tl.add_argument("--db", default=None, help=_DB_HELP)
    tl.add_argument("--event", default=None, help="only this event's tokens")
    tl.set_defaults(func=_token_list)
    tr = tk.add_parser("revoke", help="revoke a token (a lost laptop, a leaked token): refused from then on")
    tr.add_argument("--db", default=None, help=_DB_HELP)
    tr.add_argument("--event", default=None, help="event id (with --station: all that station's tokens)")
    tr.add_argument("--station", default=None, help="station id")
    tr.add_argument("--id", type=int, default=None, dest="token_id", help="token id (see `token list`)")
    tr.add_argument("--token", default=None, help="the token itself")
    tr.set_defaults(func=_token_revoke)
    return p


def ledger(argv: list[str], ctx: Any) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as e:
        return int(e.code if isinstance(e.code, int) else 2)
    if not hasattr(args, "func"):
        parser.print_usage(sys.stderr)
        print("worun-station ledger: error: say what to do: serve, event add, token add|list|revoke", file=sys.stderr)
        return 2
    if getattr(args, "db", None) is None:
        args.db = _db_default()
    return int(args.func(args, ctx) or 0)


def _event_add(args: argparse.Namespace, _ctx: Any) -> int:
    from ledger.db import open_database
    from ledger.events import parse_event_file, register

    rule, config = parse_event_file(args.file)
    db = open_database(args.db)
    try:
        new = register(db, rule, config)
    finally:
        db.dispose()
    verb = "registered" if new else "updated"
    races = ", ".join(f"{r.id} ({r.distance_m} m)" for r in rule.races.values())
    print(f"{verb} event {rule.id}: {rule.points_per_km} points per km; races {races}")
    return 0


def _token_add(args: argparse.Namespace, _ctx: Any) -> int:
    from ledger.auth import new_token
    from ledger.db import open_database

    db = open_database(args.db)
    try:
        token = new_token(db, args.event, args.station, publish=args.publish, role=args.role)
    finally:
        db.dispose()
    print(token)
    return 0


def _token_list(args: argparse.Namespace, _ctx: Any) -> int:
    import datetime as dt

    from ledger.auth import list_tokens
    from ledger.db import open_database

    def when(ms: int | None) -> str:
        return "-" if ms is None else dt.datetime.fromtimestamp(ms / 1000).strftime("%Y-%m-%d %H:%M:%S")

    db = open_database(args.db)
    try:
        rows = list_tokens(db, args.event)
    finally:
        db.dispose()
    print("id\tevent\tstation\trole\tpublish\tcreated\trevoked")
    for r in rows:
        print(f"{r.id}\t{r.event_id}\t{r.station_id}\t{r.role}\t{'yes' if r.publish else 'no'}\t{when(r.created_at)}"
              f"\t{when(r.revoked_at)}")
    return 0


def _token_revoke(args: argparse.Namespace, _ctx: Any) -> int:
    from ledger.auth import revoke_tokens
    from ledger.db import open_database

    if args.token is None and args.token_id is None and (args.event is None or args.station is None):
        raise UserError("say which token to revoke: --token, --id, or --event with --station")
    db = open_database(args.db)
    try:
        n = revoke_tokens(db, event_id=args.event, station_id=args.station, token_id=args.token_id,
                          token=args.token)
    finally:
        db.dispose()
    if n == 0:
        raise UserError("no live token matched (unknown, or already revoked); see `ledger token list`")
    print(f"revoked {n} token(s); the ledger refuses them from the next request on")
    return 0


def _quiet_server_class() -> Any:
    import uvicorn

    class QuietServer(uvicorn.Server):
        """A uvicorn server that stops gracefully on SIGINT/SIGTERM and then returns normally."""

        def run(self, sockets: Any = None) -> None:
            super().run(sockets)
            self._captured_signals.clear()

        @contextlib.contextmanager
        def capture_signals(self) -> Any:
            with super().capture_signals():
                try:
                    yield
                finally:
                    self._captured_signals.clear()

    return QuietServer


def _serve(args: argparse.Namespace, ctx: Any) -> int:
    import uvicorn

    from ledger.app import ENV_DB, create_app

    _QuietServer = _quiet_server_class()
    from ledger.db import normalize_url, open_database

    if not 0 < args.port < 65536:
        raise UserError(f"--port {args.port}: not a TCP port")
    if args.workers < 1:
        raise UserError("--workers must be 1 or more")
    url = normalize_url(args.db)
    db = open_database(url)  # creates the schema once, and fails early with a clear message
    print(f"ledger on http://{args.host}:{args.port} (database {db.write.url.render_as_string()})",
          file=sys.stderr, flush=True)
    try:
        if args.workers > 1:
            db.dispose()
            os.environ[ENV_DB] = url
            uvicorn.run("ledger.app:app_from_env", factory=True, host=args.host, port=args.port,
                        workers=args.workers, log_level="warning")
        else:
            # uvicorn installs its own SIGINT/SIGTERM handlers: it finishes requests in flight and
            # returns, so everything acknowledged is committed before we exit 0.
            # uvicorn finishes requests in flight on SIGINT/SIGTERM, so everything acknowledged is
            # committed; but it then re-raises the signal, which would make the exit status -15
            # instead of the 0 DESIGN.md asks for. The signals are swallowed once handled.
            config = uvicorn.Config(create_app(db), host=args.host, port=args.port, log_level="warning",
                                    timeout_graceful_shutdown=10)
            server = _QuietServer(config)
            server.run()
    except OSError as e:
        raise UserError(f"cannot listen on {args.host}:{args.port}: {e.strerror}") from e
    finally:
        db.dispose()
    return 0
