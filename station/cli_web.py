"""`worun-station web` — the station's live public results pages on the venue network.

Headless (no Qt), no internet: the pages come from this station's own log, followed live
(`station.web.sources.StationSource`), so runners and spectators on the venue Wi-Fi see a finish within
2 s of the crossing — whichever process recorded it (`reads listen`, the app, `manual`, a `sync`).
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from station.errors import UserError


def register(sub: Any) -> None:
    p = sub.add_parser("web", help="serve the live public results pages on the venue network")
    p.add_argument("--host", default="0.0.0.0",
                   help="address to listen on (default 0.0.0.0: every network of this laptop)")
    p.add_argument("--port", type=int, default=8081, help="port (default 8081)")
    p.add_argument("--official", action="store_true",
                   help="mark the pages' results official (default: provisional)")
    p.add_argument("--web-url", help="this server's address as phones reach it (e.g. http://192.168.1.20:8081), "
                                     "for the QR code on downloaded certificates (default: the address asked)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace, ctx: Any) -> int:
    import uvicorn

    from station.cli import install_stop_handlers
    from station.web.app import create_app
    from station.web.sources import StationSource

    if not 0 < args.port < 65536:
        raise UserError(f"--port {args.port}: expected a port number 1-65535")
    if args.web_url and not args.web_url.startswith(("http://", "https://")):
        raise UserError(f"--web-url {args.web_url!r}: give an http:// or https:// address")
    with ctx.open_store() as store:
        source = StationSource(store, official=args.official)
        try:
            if source.board_any() is None:
                print("note: no event loaded yet; the pages show it once `worun-station event load` runs",
                      file=sys.stderr)
            app = create_app(source, web_url=args.web_url)
            config = uvicorn.Config(app, host=args.host, port=args.port, log_level="warning",
                                    access_log=False, timeout_graceful_shutdown=2)
            server = uvicorn.Server(config)
            # uvicorn catches SIGINT/SIGTERM while it runs (finishes requests, then returns); ours set
            # ctx.stop before and after it, and a stop from elsewhere ends the server through _watch.
            install_stop_handlers(ctx)

            import threading

            def _watch() -> None:
                ctx.stop.wait()
                server.should_exit = True

            threading.Thread(target=_watch, name="web-stop", daemon=True).start()
            ids = source.event_ids()
            where = f"/events/{ids[0]}" if ids else "/"
            hosts = _addresses() if args.host in ("0.0.0.0", "::") else [args.host]
            urls = "  ".join(f"http://{h}:{args.port}{where}" for h in hosts)
            print(f"results pages on {urls} (Ctrl-C to stop)", flush=True)
            try:
                server.run()
            except SystemExit as e:  # uvicorn exits when it cannot bind
                raise UserError(f"cannot listen on {args.host}:{args.port} (in use, or not this machine's "
                                "address?)") from e
            if server.started is False and not ctx.stop.is_set():
                raise UserError(f"cannot listen on {args.host}:{args.port} (in use, or not this machine's "
                                "address?)")
        finally:
            source.close()
    return 0


def _addresses() -> list[str]:
    """This laptop's IPv4 addresses, venue network first (what volunteers give to runners' phones)."""
    import socket

    found: list[str] = []
    try:
        for info in socket.getaddrinfo(socket.gethostname(), None, socket.AF_INET):
            ip = str(info[4][0])
            if ip not in found and not ip.startswith("127."):
                found.append(ip)
    except OSError:
        pass
    return [*found, "localhost"]
