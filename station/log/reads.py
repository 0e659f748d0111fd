"""A run of reads from one reader received together, held as columns: the ingest hot path's unit.

A busy reader or a capture import delivers thousands of reads a second. Turning each into a payload
dict, an `Entry` and a JSON document before it is even stored costs more than parsing it, so the
ingest hands the store one `ReadRun` per received chunk: the fields shared by the whole run (reader,
point, role, port, receive time) once, the per-read fields as lists. The store keeps a run as one
packed row (see migration 0002); everywhere else a run is still one `read` entry per read, with
exactly the payload `payload(i)` gives — the same dict the log documents in `station.log.entries`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# per-read optional columns, in payload order; absent column = no read of the run has that field
_OPTIONAL = ("key", "rssi", "ant", "idx")
_FLAGS = ("dateless", "rewind")
FORMAT = 1


@dataclass(slots=True)
class ReadRun:
    """Reads of one reader from one chunk of input (one receive time, one port)."""

    reader: str
    point: str
    role: str
    rx: int | None  # None only for runs rebuilt from payloads that had none (tests, benchmarks)
    port: str | None
    gps: bool = False
    chip: list[str] = field(default_factory=list)
    t: list[int] = field(default_factory=list)
    raw: list[str] = field(default_factory=list)
    key: list[str | None] | None = None
    rssi: list[int | None] | None = None
    ant: list[int | None] | None = None
    idx: list[int | None] | None = None
    dateless: list[bool] | None = None
    rewind: list[bool] | None = None
    #: resend keys as the store checks them (`reader|…`; a running index as `reader|stream#index`)
    dkey: list[str | None] | None = None
    #: set when the keys are exactly `index_stream#index_first` … +len-1: the store checks the span once
    index_stream: str | None = None
    index_first: int = 0

    def __len__(self) -> int:
        return len(self.chip)

    def common(self) -> dict[str, Any]:
        c: dict[str, Any] = {"reader": self.reader, "point": self.point, "role": self.role}
        if self.rx is not None:
            c["rx"] = self.rx
        if self.port is not None:
            c["port"] = self.port
        if self.gps:
            c["gps"] = True
        return c

    def payloads(self) -> list[dict[str, Any]]:
        """The `read` payload of every read, as `station.log.entries` documents it."""
        base = self.common()
        opt = [(k, col) for k in _OPTIONAL if (col := getattr(self, k)) is not None]
        flags = [(k, col) for k in _FLAGS if (col := getattr(self, k)) is not None]
        out = []
        for i, (chip, t, raw) in enumerate(zip(self.chip, self.t, self.raw, strict=True)):
            p = base.copy()
            p["chip"] = chip
            p["t"] = t
            p["raw"] = raw
            for k, col in opt:
                v = col[i]
                if v is not None:
                    p[k] = v
            for k, col in flags:
                if col[i]:
                    p[k] = True
            out.append(p)
        return out

    def select(self, keep: list[bool]) -> ReadRun:
        """The reads where `keep` is true (the store drops resends)."""
        def pick(col: list[Any] | None) -> list[Any] | None:
            return None if col is None else [v for v, k in zip(col, keep, strict=True) if k]

        return ReadRun(self.reader, self.point, self.role, self.rx, self.port, self.gps,
                       pick(self.chip) or [], pick(self.t) or [], pick(self.raw) or [], pick(self.key),
                       pick(self.rssi), pick(self.ant), pick(self.idx), pick(self.dateless), pick(self.rewind),
                       pick(self.dkey))

    def to_doc(self) -> dict[str, Any]:
        """The packed row's JSON document: common fields once, then one list per field."""
        d: dict[str, Any] = {"v": FORMAT, "c": self.common(), "chip": self.chip, "t": self.t, "raw": self.raw}
        for k in (*_OPTIONAL, *_FLAGS):
            col = getattr(self, k)
            if col is not None:
                d[k] = col
        return d

    @classmethod
    def from_doc(cls, d: dict[str, Any]) -> ReadRun:
        c = d["c"]
        return cls(c["reader"], c["point"], c["role"], c.get("rx"), c.get("port"), bool(c.get("gps")),
                   d["chip"], d["t"], d["raw"], d.get("key"), d.get("rssi"), d.get("ant"), d.get("idx"),
                   d.get("dateless"), d.get("rewind"))


_COMMON = ("reader", "point", "role", "rx", "port", "gps")
_KNOWN = frozenset(("chip", "t", "raw", *_COMMON, *_OPTIONAL, *_FLAGS))


def run_of_payloads(payloads: list[dict[str, Any]]) -> ReadRun | None:
    """The run holding exactly these `read` payloads, or None when they do not share reader, point,
    role, receive time and port or carry fields a run has no column for (they are then stored as
    they are). Exactness is checked: the run gives back the very same payloads."""
    if not payloads:
        return None
    p0 = payloads[0]
    if not all(k in p0 for k in ("reader", "point", "role")):
        return None
    common = tuple(p0.get(k) for k in _COMMON)
    chips, ts, raws = [], [], []
    cols: dict[str, list[Any]] = {k: [] for k in (*_OPTIONAL, *_FLAGS)}
    for p in payloads:
        if not _KNOWN.issuperset(p) or tuple(p.get(k) for k in _COMMON) != common:
            return None
        try:
            chips.append(p["chip"])
            ts.append(p["t"])
            raws.append(p["raw"])
        except KeyError:
            return None
        for k, col in cols.items():
            col.append(p.get(k))
    if common[5] not in (None, True):
        return None
    run = ReadRun(str(common[0]), str(common[1]), str(common[2]), common[3], common[4], common[5] is True,
                  chips, ts, raws)
    n = len(payloads)
    for k in _OPTIONAL:
        if cols[k].count(None) != n:
            setattr(run, k, cols[k])
    for k in _FLAGS:
        if cols[k].count(None) != n:
            setattr(run, k, [bool(v) for v in cols[k]])
    return run if run.payloads() == payloads else None


def unpack_payloads(doc: Any) -> list[dict[str, Any]]:
    """Payloads of a packed row's document: a columnar `ReadRun` document or a JSON array of payloads."""
    if isinstance(doc, list):
        return doc
    return ReadRun.from_doc(doc).payloads()
