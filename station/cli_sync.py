"""`worun-station sync --ledger URL --token TOKEN [--once]` — headless sync with the online ledger.

Without `--once` it runs until SIGINT/SIGTERM, resuming by itself whenever the network returns; with
`--once` it pushes and pulls everything, retrying transient failures for up to `--wait` seconds, and
exits 1 (with the reason in plain words) when that is not possible.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
from typing import Any

from station.errors import UserError


def register(sub: Any) -> None:
    p = sub.add_parser("sync", help="push this station's entries to the ledger and pull its peers'")
    p.add_argument("--ledger", default=os.environ.get("WORUN_LEDGER_URL"),
                   help="ledger address, e.g. https://ledger.example.org ($WORUN_LEDGER_URL)")
    p.add_argument("--token", default=os.environ.get("WORUN_LEDGER_TOKEN"),
                   help="this station's token ($WORUN_LEDGER_TOKEN)")
    p.add_argument("--once", action="store_true", help="sync everything once, then exit")
    p.add_argument("--wait", type=float, default=60.0,
                   help="with --once: keep retrying an unreachable ledger this many seconds (default 60)")
    p.add_argument("--no-publish", action="store_true",
                   help="do not publish results even when the token allows it")
    p.set_defaults(func=run)


def _line(st: Any) -> str:
    last = time.strftime("%H:%M:%S", time.localtime(st.last_sync_ms / 1000)) if st.last_sync_ms else "never"
    s = f"sync: {st.state}; waiting {st.waiting}; pushed {st.pushed}; pulled {st.pulled}; last sync {last}"
    if st.published:
        s += f"; published {st.published}"
    if getattr(st, "quarantined", 0):
        s += (f"; {st.quarantined} peer entries set aside (they break the entry contract; "
              "`worun-station info` counts them)")
    if st.last_error:
        s += f"; {st.last_error}"
    return s


def run(args: argparse.Namespace, ctx: Any) -> int:
    from station.cli import install_stop_handlers
    from station.sync import SyncEngine

    if not args.ledger:
        raise UserError("say which ledger: --ledger URL (or $WORUN_LEDGER_URL)")
    if not args.token:
        raise UserError("say which token: --token TOKEN (or $WORUN_LEDGER_TOKEN)")
    logging.basicConfig(level=logging.WARNING, format="%(message)s")
    store = ctx.open_store()
    try:
        engine = SyncEngine(store, args.ledger, args.token, auto_publish=not args.no_publish)
        try:
            if args.once:
                ok = engine.run(once=True, give_up_after_s=max(0.0, args.wait))
                st = engine.status
                print(_line(st), file=sys.stderr)
                if not ok:
                    raise UserError(f"sync failed: {st.last_error}; {st.waiting} entries still waiting")
                return 0
            install_stop_handlers(ctx)
            last = [""]

            def show(st: Any) -> None:
                key = repr((st.state, st.waiting, st.pushed, st.pulled, st.published, st.last_error))
                if st.state != "syncing" and key != last[0]:
                    last[0] = key
                    print(_line(st), file=sys.stderr, flush=True)

            engine.add_listener(show)
            engine.start()
            while not ctx.stop.wait(0.5):
                pass
            engine.stop()
            return 0
        finally:
            engine.close()
    finally:
        store.close()
