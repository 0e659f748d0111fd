"""Worker jobs behind the Timing screen's reader buttons (they run on the domain worker thread).

A reader's settings are its latest `reader_config` entry (saved in Setup through
`station.event.commands`); these start and stop its live link, confirm its clock offset and ask it to
resend — nothing here is a rule of the race, only plumbing between a button and `station.timing.ingest`.
"""

from __future__ import annotations

from typing import Any

from station.errors import UserError
from station.timing.bindings import ReaderBinding
from station.timing.live import LiveReader
from ui.i18n import tr


def binding_from_config(cfg: dict[str, Any]) -> ReaderBinding:
    """A `reader_config` payload (latest per reader) as a binding: live start and capture replay alike."""
    fields: dict[str, Any] = {k: cfg.get(k) for k in ("id", "point", "format", "role", "port", "listen", "baud", "zone",
                                       "gps", "chip_format")}
    fields["id"], fields["point"], fields["format"] = str(cfg["id"]), str(cfg["point"]), str(cfg["format"])
    fields["role"] = fields["role"] or "main"
    fields["gps"] = bool(fields["gps"])
    fields["channel_waves"] = dict(cfg.get("channel_waves") or {})
    return ReaderBinding(**fields)


def start_reader(d: Any, cfg: dict[str, Any]) -> str:
    rid = str(cfg["id"])
    if rid in d.readers:
        return rid
    b = binding_from_config(cfg)
    if not b.port and not b.listen:
        raise UserError(tr("Reader {id} has no port or listen address: set one in Setup.").format(id=rid))
    d.readers[rid] = LiveReader(d.store, b, operator=d.operator).start()
    d.stopped.pop(rid, None)
    return rid


def stop_reader(d: Any, rid: str) -> str:
    h = d.readers.pop(rid, None)
    if h is not None:
        h.stop()
        d.stopped[rid] = h.binding
    return rid


def confirm_clock(d: Any, rid: str) -> dict[str, Any]:
    h = d.readers.get(rid)
    if h is None:
        raise UserError(tr("Start reader {id} first.").format(id=rid))
    return h.ingest.confirm_clock_offset()


def ask_resend(d: Any, rid: str) -> int:
    """The reader resends everything it stored (resends are stored once): fills any gap."""
    h = d.readers.get(rid)
    if h is None:
        raise UserError(tr("Start reader {id} first.").format(id=rid))
    ask = getattr(h, "request_replay", None)
    n = ask() if ask is not None else 0
    if not n:
        raise UserError(tr("Reader {id} cannot resend its stored reads (this protocol has no replay, or it "
                           "is not connected): replay a capture file instead.").format(id=rid))
    return n
