"""A reader bound to a timing point (`ReaderBinding`: its protocol, port, zone, role) and what the log
already says about it before it starts (`load_config`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from drivers import protocol_for
from station.errors import UserError
from station.log.entry_log import TimingLog

ROLES = ("main", "backup")
CHIP_FORMATS = (None, "hex")


@dataclass
class ReaderBinding:
    """A reader bound to a timing point (DESIGN: Domain → reader)."""

    id: str
    point: str
    format: str
    role: str = "main"
    port: str | None = None
    listen: str | None = None
    baud: int | None = None
    zone: str | None = None
    gps: bool = False
    chip_format: str | None = None
    #: Timy: channel → wave (`"C0": "A"`, or `"C0": "10k/A"` for one race's wave)
    channel_waves: dict[str, str] = field(default_factory=dict)

    def validate(self) -> None:
        if self.role not in ROLES:
            raise UserError(f"reader {self.id}: role must be main or backup, got {self.role!r}")
        if self.chip_format not in CHIP_FORMATS:
            raise UserError(f"reader {self.id}: chip_format must be hex or empty, got {self.chip_format!r}")
        try:
            protocol_for(self.format)
        except ValueError as e:
            raise UserError(str(e)) from None
        if not self.point:
            raise UserError(f"reader {self.id}: a timing point is required (--point)")

    def config_payload(self) -> dict[str, Any]:
        """The `reader_config` payload (documented keys, plus `channel_waves` for a Timy)."""
        p: dict[str, Any] = {"id": self.id, "point": self.point, "role": self.role, "format": self.format,
                             "gps": bool(self.gps), "chip_format": self.chip_format}
        for k in ("port", "listen", "baud", "zone"):
            v = getattr(self, k)
            if v is not None:
                p[k] = v
        if self.channel_waves:
            p["channel_waves"] = dict(self.channel_waves)
        return p

@dataclass
class StoredConfig:
    """What the log says about a reader before it starts: the event, its binding, its clock offset."""

    event: dict[str, Any] | None = None
    reader: dict[str, Any] | None = None
    clock_offset_ms: int | None = None


def load_config(store: TimingLog, reader_id: str) -> StoredConfig:
    """One pass over the configuration entries (a station holding a million reads starts fast)."""
    ev = rc = co = None
    for _, e in store.iter_rows(0, ["event_config", "reader_config", "clock_offset"]):
        p = e.payload
        if e.kind == "event_config":
            if ev is None or e.order > ev.order:
                ev = e
        elif p.get("id" if e.kind == "reader_config" else "reader") != reader_id:
            continue
        elif e.kind == "reader_config":
            if rc is None or e.order > rc.order:
                rc = e
        elif co is None or (p.get("from_ms", 0), e.order) > (co.payload.get("from_ms", 0), co.order):
            co = e
    return StoredConfig(ev.payload if ev else None, rc.payload if rc else None,
                        int(co.payload["offset_ms"]) if co else None)
