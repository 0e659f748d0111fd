"""`worun-station` — the command line.

The dispatcher knows each verb group's module by name and imports it only when that verb runs, so
headless verbs never load Qt, and `station/` never imports `ui/` or `ledger/`: their verbs (`app`,
`demo`, `ledger …`) are found through the `worun_station.verbs` entry points.

A verb module exposes `register(sub)` which adds its argparse parser(s) with
`set_defaults(func=run)`; `run(args, ctx)` returns the exit status. User errors raise
`station.errors.UserError`: printed on stderr, exit 1, no traceback. Bad usage exits 2.
"""

from __future__ import annotations

import argparse
import importlib
import os
import signal
import sys
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

from station import paths
from station.errors import UserError

# verb → module that registers it (imported lazily).
VERB_MODULES: dict[str, str] = {
    "event": "station.cli_core",
    "participants": "station.cli_core",
    "results": "station.cli_core",
    "info": "station.cli_core",
    "manual": "station.cli_core",
    "correct": "station.cli_core",
    "gun": "station.cli_core",
    "reads": "station.cli_reads",
    "checkin": "station.cli_checkin",
    "tickets": "station.cli_checkin",
    "report": "station.cli_report",
    "export": "station.cli_report",
    "sync": "station.cli_sync",
    "purge": "station.cli_core",
    "web": "station.cli_web",
}

PLUGIN_GROUP = "worun_station.verbs"


@dataclass
class Context:
    """What every verb gets: the data folder and a way to open the store (passed in, no globals)."""

    data_dir: Path
    stop: threading.Event = field(default_factory=threading.Event)

    def open_store(self) -> Any:
        from station.store import Store

        return Store(self.data_dir)


def _plugins() -> dict[str, Any]:
    return {ep.name: ep for ep in entry_points(group=PLUGIN_GROUP)}


def _split_data(argv: list[str]) -> tuple[str | None, list[str]]:
    """Accept `--data DIR` anywhere (DESIGN: before the verb; also after it)."""
    data = None
    out: list[str] = []
    i = 0
    while i < len(argv):
        a = argv[i]
        if a == "--":
            out += argv[i:]
            break
        if a == "--data":
            if i + 1 >= len(argv):
                raise SystemExit(_usage_error("--data needs a folder"))
            data = argv[i + 1]
            i += 2
            continue
        if a.startswith("--data="):
            data = a.split("=", 1)[1]
            i += 1
            continue
        out.append(a)
        i += 1
    return data, out


def _usage_error(msg: str) -> int:
    print(f"worun-station: error: {msg}", file=sys.stderr)
    return 2


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        self.print_usage(sys.stderr)
        self.exit(2, f"{self.prog}: error: {message}\n")


def build_parser(verb: str | None) -> argparse.ArgumentParser:
    epilog = None
    if verb is None:
        names = sorted(_plugins())
        if names:
            epilog = ("also: " + ", ".join(names) + " (the desktop app, the demo race, the reference "
                      "ledger; `worun-station VERB --help`). No verb opens the app.")
    p = _Parser(prog="worun-station", description="WO.RUN Station: check-in and timing.", epilog=epilog)
    p.add_argument("--data", help="folder holding the station's database")
    sub = p.add_subparsers(dest="verb", parser_class=_Parser)
    modules = sorted(set(VERB_MODULES.values())) if verb is None else [VERB_MODULES[verb]]
    for name in modules:
        try:
            mod = importlib.import_module(name)
        except ModuleNotFoundError as e:
            if e.name == name:
                continue  # verb group not built yet
            raise
        mod.register(sub)
    return p


def install_stop_handlers(ctx: Context) -> None:
    """SIGINT/SIGTERM set `ctx.stop`: long-running verbs flush what they received, then exit 0."""

    def _handler(signum: int, _frame: Any) -> None:
        if ctx.stop.is_set():
            raise KeyboardInterrupt
        ctx.stop.set()

    signal.signal(signal.SIGINT, _handler)
    if hasattr(signal, "SIGTERM"):
        signal.signal(signal.SIGTERM, _handler)


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        data, rest = _split_data(argv)
    except SystemExit as e:
        return int(e.code or 2)
    verb = next((a for a in rest if not a.startswith("-")), None)
    if verb is None and any(a in ("-h", "--help") for a in rest):
        build_parser(None).print_help()
        return 0
    ctx = Context(paths.resolve_data_dir(data))
    if verb is None:
        verb = "app"
        rest = ["app", *rest]
    try:
        if verb not in VERB_MODULES:
            plugins = _plugins()
            if verb not in plugins:
                build_parser(None).print_usage(sys.stderr)
                print(f"worun-station: error: unknown verb {verb!r}", file=sys.stderr)
                return 2
            idx = rest.index(verb)
            fn = plugins[verb].load()
            return int(fn(rest[idx + 1 :], ctx) or 0)
        parser = build_parser(verb)
        try:
            args = parser.parse_args(rest)
        except SystemExit as e:
            return int(e.code if isinstance(e.code, int) else 2)
        if not hasattr(args, "func"):
            parser.parse_args([verb, "--help"])
            return 2
        return int(args.func(args, ctx) or 0)
    except UserError as e:
        print(f"worun-station: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 0
    except BrokenPipeError:
        # `worun-station results | head`: not an error worth a traceback.
        try:
            sys.stdout = open(os.devnull, "w")
        except OSError:
            pass
        return 0


if __name__ == "__main__":
    raise SystemExit(main())
