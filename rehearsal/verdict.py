"""The verdict: one table (printed) and its JSON (written), every count next to what it must equal."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rehearsal.expected import SPLIT_COL

COLS = ("desk", "km5", "finish", "ledger")


@dataclass
class Row:
    check: str
    expected: Any
    values: dict[str, Any]
    ok: bool | None  # None: informational
    warn_only: bool = False  # a contract check outside "every count equal, every result identical"

    def cells(self) -> list[str]:
        bad = "WARN" if self.warn_only else "FAIL"
        return [self.check, _fmt(self.expected), *(_fmt(self.values.get(c, "")) for c in COLS),
                "" if self.ok is None else ("ok" if self.ok else bad)]


def _fmt(v: Any) -> str:
    if v is None:
        return "—"
    if isinstance(v, float):
        return f"{v:.1f}"
    return str(v)


def _crossings(rows: list[dict[str, Any]]) -> dict[str, int]:
    fin = [r for r in rows if r.get("status") == "finished"]
    return {
        "start": sum(1 for r in fin if r.get("chip_ms") is not None and r["chip_ms"] != r.get("gun_ms")),
        "km5": sum(1 for r in rows if r.get(SPLIT_COL) is not None),
        "finish": len(fin),
    }


@dataclass
class Verdict:
    rows: list[Row] = field(default_factory=list)
    memory: dict[str, int | None] = field(default_factory=dict)
    faults: list[dict[str, Any]] = field(default_factory=list)
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return all(r.ok is not False for r in self.rows if not r.warn_only)

    @property
    def warnings(self) -> list[str]:
        return [f"{r.check}: {r.values}" for r in self.rows if r.warn_only and r.ok is False]

    @classmethod
    def build(cls, reh: Any, snap: dict[str, Any], pts: dict[str, Any], codes: dict[str, int | None],
              last_fault: float, started: float) -> Verdict:
        v = cls()
        stations = snap.get("stations") or {}
        ledger = snap.get("ledger") or {}
        v.rows += _read_rows(reh, stations, ledger)
        v.rows += _crossing_rows(reh, snap)
        v.rows += _checkin_rows(reh, stations, ledger)
        v.rows += _outcome_rows(reh, snap, pts, codes, last_fault, stations, ledger)
        v.memory = {name: p.peak_kb for name, p in reh.procs.items()}
        v.faults = [{"name": f.name, "at_s": round(f.start - reh.clock.t0, 1),
                     "duration_s": round(f.end - f.start, 1) if f.end else None, "detail": f.detail}
                    for f in reh.state.faults]
        v.info = _info(reh, snap, pts, started)
        return v

    # ------------------------------------------------------------------ output
    def table(self) -> str:
        head = ["check", "expected", *COLS, "verdict"]
        rows = [head] + [r.cells() for r in self.rows]
        w = [max(len(r[i]) for r in rows) for i in range(len(head))]
        lines = ["| " + " | ".join(c.ljust(w[i]) for i, c in enumerate(r)) + " |" for r in rows]
        lines.insert(1, "|" + "|".join("-" * (x + 2) for x in w) + "|")
        out = "\n".join(lines)
        mem = " · ".join(f"{k} {v / 1024:.0f} MB" if v else f"{k} —" for k, v in self.memory.items())
        out += f"\n\nPeak memory (VmHWM): {mem}"
        out += "\n\nFaults: " + "; ".join(
            f"{f['name']} at {f['at_s']} s" + (f" ({f['duration_s']} s)" if f["duration_s"] else "")
            for f in self.faults) if self.faults else "\n\nFaults: none (--faults off)"
        i = self.info
        out += (f"\n\n{i['runners']} runners, seed {i['seed']}, ledger on {i['ledger_db']}, race played in "
                f"{i['race_seconds']} s ({i['speed']}x), whole rehearsal {i['wall_time_s']} s — "
                f"VERDICT: {'ALL EQUAL' if self.ok else 'FAILED'}")
        if self.warnings:
            out += "\nWarnings: " + "; ".join(self.warnings)
        return out

    def to_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "checks": [{"check": r.check, "expected": r.expected, **{c: r.values.get(c) for c in COLS},
                        "ok": r.ok, "warn_only": r.warn_only} for r in self.rows],
            "warnings": self.warnings,
            "peak_memory_kb": self.memory,
            "faults": self.faults,
            "info": self.info,
        }

    def write(self, out: Path) -> Path:
        p = out / "verdict.json"
        p.write_text(json.dumps(self.to_json(), ensure_ascii=False, indent=1, default=str) + "\n",
                     encoding="utf-8")
        (out / "verdict.md").write_text(self.table() + "\n", encoding="utf-8")
        return p


def _read_rows(reh: Any, stations: dict[str, Any], ledger: dict[str, Any]) -> list[Row]:
    """Reads sent by each reader against those journaled everywhere; garbage bursts against unparsed."""
    out: list[Row] = []
    for rid, r in reh.readers.items():
        sent = len(r.items)
        vals = {s: stations.get(s, {}).get("reads", {}).get(rid, 0) for s in ("desk", "km5", "finish")}
        vals["ledger"] = ledger.get("reads", {}).get(rid, 0)
        out.append(Row(f"reads {rid} (sent → journaled)", sent, vals,
                       all(x == sent for x in vals.values())))
    for rid, r in reh.readers.items():
        if hasattr(r, "garbage_bursts"):
            owner = {"km5-raceresult": "km5", "finish-ultra": "finish"}[rid]
            un = stations.get(owner, {}).get("unparsed", {}).get(rid, 0)
            out.append(Row(f"garbage bursts {rid} → unparsed", r.garbage_bursts, {owner: un}, None))
    return out


def _crossing_rows(reh: Any, snap: dict[str, Any]) -> list[Row]:
    """Crossings from each station's results (the ledger holds finishers only)."""
    out: list[Row] = []
    exp = reh.expected
    want = _crossings(list(exp.rows.values()))
    got = {s: _crossings(rows) for s, rows in (snap.get("station_results") or {}).items()}
    lfin = len(snap.get("ledger_results") or [])
    for point in ("start", "km5", "finish"):
        vals = {s: got.get(s, {}).get(point) for s in ("desk", "km5", "finish")}
        if point == "finish":
            vals["ledger"] = lfin
        out.append(Row(f"crossings {point}" + (" (finishers)" if point == "start" else ""), want[point],
                       vals, all(x == want[point] for x in vals.values())))
    return out


def _checkin_rows(reh: Any, stations: dict[str, Any], ledger: dict[str, Any]) -> list[Row]:
    out: list[Row] = []
    ek = reh.expected_checkins
    vals = {s: stations.get(s, {}).get("checkins") for s in ("desk", "km5", "finish")}
    vals["ledger"] = ledger.get("checkins")
    out.append(Row("check-ins ok", ek["ok"], vals, all(x == ek["ok"] for x in vals.values())))
    for verdict in ("already", "invalid"):
        vals = {s: stations.get(s, {}).get("refused", {}).get(verdict, 0) for s in ("desk", "km5", "finish")}
        vals["ledger"] = ledger.get("refused", {}).get(verdict, 0)
        out.append(Row(f"check-ins refused: {verdict}", ek[verdict], vals,
                       all(x == ek[verdict] for x in vals.values())))
    cv = reh.state.checkin_verdicts
    out.append(Row("desk verdicts printed ok/already/invalid",
                   f"{ek['ok']}/{ek['already']}/{ek['invalid']}",
                   {"desk": f"{cv.get('ok', 0)}/{cv.get('already', 0)}/{cv.get('invalid', 0)}"},
                   (cv.get("ok", 0), cv.get("already", 0), cv.get("invalid", 0))
                   == (ek["ok"], ek["already"], ek["invalid"])))
    return out


def _outcome_rows(reh: Any, snap: dict[str, Any], pts: dict[str, Any], codes: dict[str, int | None],
                  last_fault: float, stations: dict[str, Any], ledger: dict[str, Any]) -> list[Row]:
    """Log entries, results, points, convergence and a clean shutdown."""
    out: list[Row] = []
    conv = snap.get("converged_at")
    exp = reh.expected
    lfin = len(snap.get("ledger_results") or [])
    # entries: every station holds every stream the ledger holds
    vals = {s: stations.get(s, {}).get("entries") for s in ("desk", "km5", "finish")}
    vals["ledger"] = ledger.get("entries")
    out.append(Row("log entries (all streams)", ledger.get("entries"), vals,
                   bool(snap.get("ok")) and len(set(vals.values())) == 1))
    # results
    ok = bool(snap.get("ok"))
    nres = len(exp.rows)
    vals = {s: ("identical" if ok else "differ") for s in ("desk", "km5", "finish")}
    vals["ledger"] = f"{lfin} identical" if ok else "differ"
    out.append(Row("results vs expected (ground truth)", f"{nres} rows", vals, ok))
    # points
    cred = pts.get("credited_once")
    out.append(Row("points credited exactly once", pts.get("expected"),
                   {"ledger": cred if pts.get("wrong") in (0, None) else f"{cred} ({pts.get('wrong')} wrong)"},
                   cred == pts.get("expected") and pts.get("wrong") == 0))
    # convergence
    conv_s = None if conv is None else max(0.0, conv - max(last_fault, reh.t_inputs_done))
    out.append(Row("converged after the last fault (s)", "≤ timeout", {"ledger": conv_s}, conv is not None))
    # clean shutdown
    bad = {k: c for k, c in codes.items() if c not in (0, None)}
    out.append(Row("clean shutdown (SIGTERM → exit 0)", f"{len(codes)} processes",
                   {"ledger": "all 0" if not bad else json.dumps(bad)}, not bad, warn_only=True))
    return out


def _info(reh: Any, snap: dict[str, Any], pts: dict[str, Any], started: float) -> dict[str, Any]:
    ok = bool(snap.get("ok"))
    o = reh.o
    return {
        "runners": o.runners, "seed": o.seed, "faults": o.faults,
        "ledger_db": "sqlite" if o.sqlite else "postgresql", "event": reh.sc.event_id,
        "race_seconds": round(reh.race_real_s, 1), "speed": round(reh.clock.speed, 1),
        "wall_time_s": round(time.monotonic() - started, 1),
        "converged": ok, "why_not": None if ok else snap.get("why"),
        "checkin_errors": reh.state.checkin_errors[:10], "points": pts,
        "readers": {rid: {k: getattr(r, k) for k in ("lines_written", "replayed", "garbage_bursts", "connects",
                                                     "replay_requests", "messages", "resends", "acks")
                          if hasattr(r, k)} for rid, r in reh.readers.items()},
        "proxy": vars(reh.proxy.stats) if reh.proxy is not None else None,
        "restarts": {n: p.starts - 1 for n, p in reh.procs.items() if p.starts > 1},
    }
