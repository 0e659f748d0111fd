"""The event file (TOML): validation, normalization and the typed configuration the engine uses.

`load_event_file` turns an event file into a normalized JSON-able dict — the payload of an
`event_config` entry — or raises `InputErrors` naming each key and what was expected. `EventConfig`
is built from that payload (never from the file), so every station that holds the entry computes
with exactly the same configuration.
"""

from __future__ import annotations

import datetime as dt
import math
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from station.errors import InputErrors

POINT_KINDS = ("start", "split", "finish", "start_finish")
RANKINGS = ("chip", "gun")
PICKS = ("first", "peak")
ROLES = ("main", "backup")
FORMATS = ("ultra", "raceresult", "mylaps", "ipico", "timy")
DEFAULT_AGE_GROUPS = [20, 30, 40, 50, 60, 70]
_SLUG = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
_HMS = re.compile(r"^(\d{1,3}):([0-5]\d):([0-5]\d)(?:\.(\d{1,3}))?$")


def parse_hms(text: str) -> int:
    """`H:MM:SS[.fff]` → milliseconds; raises ValueError."""
    m = _HMS.match(text.strip())
    if not m:
        raise ValueError(text)
    h, mi, s, frac = m.groups()
    ms = int((frac or "0").ljust(3, "0"))
    return ((int(h) * 60 + int(mi)) * 60 + int(s)) * 1000 + ms


class _Checker:
    """Collects problems as `file: key: expected …, got …` so a user fixes them all in one pass."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.problems: list[str] = []

    def bad(self, key: str, msg: str) -> None:
        self.problems.append(f"{self.source}: {key}: {msg}")

    def get(self, table: dict[str, Any], key: str, where: str, typ: type | tuple[type, ...],
            expected: str, required: bool = True, default: Any = None) -> Any:
        if key not in table:
            if required:
                self.bad(f"{where}{key}", f"missing; expected {expected}")
            return default
        v = table[key]
        if isinstance(v, bool) and typ is not bool and (typ is int or typ == (int, float)):
            self.bad(f"{where}{key}", f"expected {expected}, got {v!r}")
            return default
        if not isinstance(v, typ):
            self.bad(f"{where}{key}", f"expected {expected}, got {v!r}")
            return default
        return v


def load_event_file(path: Path) -> dict[str, Any]:
    """Read and validate an event file; returns the normalized `event_config` payload."""
    src = str(path)
    try:
        raw = path.read_bytes()
    except OSError as e:
        raise InputErrors([f"{src}: cannot read: {e.strerror}"], "cannot load the event file") from e
    try:
        data = tomllib.loads(raw.decode("utf-8-sig"))
    except UnicodeDecodeError as e:
        raise InputErrors([f"{src}: not UTF-8 text (byte {e.start})"], "cannot load the event file") from e
    except tomllib.TOMLDecodeError as e:
        raise InputErrors([f"{src}: TOML syntax error: {e}"], "cannot load the event file") from e
    return normalize(data, src)


def normalize(data: dict[str, Any], source: str = "event") -> dict[str, Any]:
    """Validate every section, collecting all problems (in file order) before raising once."""
    c = _Checker(source)
    ev = _normalize_event(c, data)
    races, race_ids = _normalize_races(c, data)
    points, pids = _normalize_timing_points(c, data, race_ids)
    cats = _normalize_categories(c, data)
    checkin = _normalize_checkin(c, data)
    readers = _normalize_readers(c, data, pids)
    known = {"event", "races", "timing_points", "categories", "checkin", "readers"}
    for k in data:
        if k not in known:
            c.bad(k, f"unknown section; expected one of {', '.join(sorted(known))}")
    if c.problems:
        raise InputErrors(c.problems, f"{source}: {len(c.problems)} problem(s); the event was not loaded")
    return {"event": ev, "races": races, "timing_points": points, "categories": cats,
            "checkin": checkin, "readers": readers}


def _normalize_event(c: _Checker, data: dict[str, Any]) -> dict[str, Any]:
    ev_in = data.get("event")
    if not isinstance(ev_in, dict):
        c.bad("[event]", "missing table; expected [event] with id, name, date, timezone")
        ev_in = {}
    ev: dict[str, Any] = {}
    eid = c.get(ev_in, "id", "event.", str, "a slug such as \"wo-run-shanghai-2026\"")
    if eid is not None and not _SLUG.match(eid):
        c.bad("event.id", f"expected a slug (letters, digits, - _ .), got {eid!r}")
    ev["id"] = eid
    ev["name"] = c.get(ev_in, "name", "event.", str, "the event's name", default=eid) or eid
    date_v = c.get(ev_in, "date", "event.", (str, dt.date), "a date YYYY-MM-DD")
    if isinstance(date_v, dt.datetime):
        date_v = date_v.date()
    if isinstance(date_v, str):
        try:
            date_v = dt.date.fromisoformat(date_v)
        except ValueError:
            c.bad("event.date", f"expected a date YYYY-MM-DD, got {date_v!r}")
            date_v = None
    ev["date"] = date_v.isoformat() if isinstance(date_v, dt.date) else None
    tz = c.get(ev_in, "timezone", "event.", str, "an IANA time zone such as \"Asia/Shanghai\"")
    if tz is not None:
        try:
            ZoneInfo(tz)
        except (ZoneInfoNotFoundError, ValueError):
            c.bad("event.timezone", f"expected an IANA time zone such as \"Asia/Shanghai\", got {tz!r}")
    ev["timezone"] = tz
    ppk = c.get(ev_in, "points_per_km", "event.", (int, float), "a number", required=False, default=0)
    ev["points_per_km"] = ppk if ppk is not None and ppk >= 0 else 0
    if ppk is not None and ppk < 0:
        c.bad("event.points_per_km", f"expected a number ≥ 0, got {ppk!r}")
    return ev


def _normalize_races(c: _Checker, data: dict[str, Any]) -> tuple[list[dict[str, Any]], set[str]]:
    races_in = data.get("races")
    if not isinstance(races_in, list) or not races_in:
        c.bad("[[races]]", "missing; expected at least one [[races]] table")
        races_in = []
    races: list[dict[str, Any]] = []
    race_ids: set[str] = set()
    for i, r in enumerate(races_in):
        w = f"races[{i}]."
        if not isinstance(r, dict):
            c.bad(f"races[{i}]", "expected a table")
            continue
        races.append(_normalize_race(c, r, w, race_ids))
    return races, race_ids


def _normalize_race(c: _Checker, r: dict[str, Any], w: str, race_ids: set[str]) -> dict[str, Any]:
    rid = c.get(r, "id", w, str, "a race id")
    if rid is not None:
        if not _SLUG.match(rid):
            c.bad(w + "id", f"expected a slug, got {rid!r}")
        if rid in race_ids:
            c.bad(w + "id", f"duplicate race id {rid!r}")
        race_ids.add(rid)
    dist = c.get(r, "distance_m", w, (int, float), "a distance in metres")
    if dist is not None and dist <= 0:
        c.bad(w + "distance_m", f"expected a distance in metres > 0, got {dist!r}")
    laps = c.get(r, "laps", w, int, "a whole number of laps ≥ 1", required=False, default=1)
    if laps is not None and laps < 1:
        c.bad(w + "laps", f"expected a whole number of laps ≥ 1, got {laps!r}")
    ranking = c.get(r, "ranking", w, str, "\"chip\" or \"gun\"", required=False, default="chip")
    if ranking not in RANKINGS:
        c.bad(w + "ranking", f"expected \"chip\" or \"gun\", got {ranking!r}")
    min_time_ms = None
    mt = c.get(r, "min_time", w, str, "a duration H:MM:SS", required=False)
    if mt is not None:
        try:
            min_time_ms = parse_hms(mt)
        except ValueError:
            c.bad(w + "min_time", f"expected a duration H:MM:SS, got {mt!r}")
    cutoff_ms = None
    co = c.get(r, "cutoff", w, str, "a duration H:MM:SS", required=False)
    if co is not None:
        try:
            cutoff_ms = parse_hms(co)
        except ValueError:
            c.bad(w + "cutoff", f"expected a duration H:MM:SS, got {co!r}")
    sw = c.get(r, "start_window_s", w, (int, float), "seconds", required=False, default=3600)
    waves = _normalize_waves(c, r, w, rid)
    return {
        "id": rid, "name": r.get("name") if isinstance(r.get("name"), str) else rid,
        "distance_m": dist, "laps": laps or 1, "ranking": ranking if ranking in RANKINGS else "chip",
        "min_time_ms": min_time_ms, "start_window_s": sw if sw is not None else 3600,
        "cutoff_ms": cutoff_ms, "waves": waves,
    }


def _normalize_waves(c: _Checker, r: dict[str, Any], w: str, rid: str | None) -> list[dict[str, str | None]]:
    waves_in = r.get("waves")
    waves: list[dict[str, str | None]] = []
    if waves_in is None and "start" in r:
        waves_in = [{"id": "", "start": r["start"]}]
    if not isinstance(waves_in, list) or not waves_in:
        c.bad(w + "waves", "missing; expected waves = [{ id = \"A\", start = \"07:30:00\" }] (or start = …)")
        waves_in = []
    wave_ids: set[str] = set()
    for j, wv in enumerate(waves_in):
        ww = f"{w}waves[{j}]."
        if not isinstance(wv, dict):
            c.bad(f"{w}waves[{j}]", "expected an inline table { id = \"A\", start = \"07:30:00\" }")
            continue
        wid = c.get(wv, "id", ww, str, "a wave id")
        if wid is not None and wid in wave_ids:
            c.bad(ww + "id", f"duplicate wave id {wid!r} in race {rid!r}")
        wave_ids.add(wid or "")
        st = wv.get("start")
        if isinstance(st, dt.time):
            st = st.isoformat()
        if not isinstance(st, str) or not _HMS.match(st) or parse_hms(st) >= 86_400_000:
            c.bad(ww + "start", f"expected a time of day HH:MM:SS, got {st!r}")
            st = None
        waves.append({"id": wid or "", "start": st})
    return waves


def _normalize_timing_points(c: _Checker, data: dict[str, Any],
                             race_ids: set[str]) -> tuple[list[dict[str, Any]], set[str]]:
    pts_in = data.get("timing_points")
    if not isinstance(pts_in, list) or not pts_in:
        c.bad("[[timing_points]]", "missing; expected at least one [[timing_points]] table")
        pts_in = []
    points: list[dict[str, Any]] = []
    pids: set[str] = set()
    for i, p in enumerate(pts_in):
        w = f"timing_points[{i}]."
        if not isinstance(p, dict):
            c.bad(f"timing_points[{i}]", "expected a table")
            continue
        pid = c.get(p, "id", w, str, "a timing point id")
        if pid is not None:
            if not _SLUG.match(pid):
                c.bad(w + "id", f"expected a slug, got {pid!r}")
            if pid in pids:
                c.bad(w + "id", f"duplicate timing point id {pid!r}")
            pids.add(pid)
        kind = c.get(p, "kind", w, str, "start, split, finish or start_finish")
        if kind is not None and kind not in POINT_KINDS:
            c.bad(w + "kind", f"expected start, split, finish or start_finish, got {kind!r}")
        pr = p.get("races")
        if pr is not None:
            if not isinstance(pr, list) or not all(isinstance(x, str) for x in pr):
                c.bad(w + "races", f"expected a list of race ids, got {pr!r}")
                pr = None
            else:
                for x in pr:
                    if x not in race_ids:
                        c.bad(w + "races", f"unknown race {x!r}; known: {', '.join(sorted(race_ids))}")
        win = c.get(p, "window_s", w, (int, float), "seconds > 0", required=False, default=2.0)
        if win is not None and win <= 0:
            c.bad(w + "window_s", f"expected seconds > 0, got {win!r}")
        pick = c.get(p, "pick", w, str, "\"first\" or \"peak\"", required=False, default="first")
        if pick not in PICKS:
            c.bad(w + "pick", f"expected \"first\" or \"peak\", got {pick!r}")
        bw = c.get(p, "backup_window_s", w, (int, float), "seconds", required=False, default=30)
        dm = c.get(p, "distance_m", w, (int, float), "metres from the start", required=False, default=0)
        points.append({
            "id": pid, "kind": kind, "distance_m": dm if dm is not None else 0, "races": pr,
            "window_s": win or 2.0, "pick": pick if pick in PICKS else "first",
            "backup_window_s": bw if bw is not None else 30,
        })
    return points, pids


def _normalize_categories(c: _Checker, data: dict[str, Any]) -> dict[str, Any]:
    cat_in = data.get("categories", {})
    cats = {"age_groups": DEFAULT_AGE_GROUPS, "age_basis": "event_date"}
    if isinstance(cat_in, dict):
        ag = cat_in.get("age_groups", DEFAULT_AGE_GROUPS)
        if (not isinstance(ag, list) or not ag or not all(isinstance(x, int) and x > 0 for x in ag)
                or sorted(set(ag)) != ag):
            c.bad("categories.age_groups", f"expected increasing ages such as [20, 30, 40], got {ag!r}")
        else:
            cats["age_groups"] = ag
        basis = cat_in.get("age_basis", "event_date")
        if basis not in ("event_date", "birth_year"):
            c.bad("categories.age_basis", f"expected \"event_date\" or \"birth_year\", got {basis!r}")
        else:
            cats["age_basis"] = basis
    else:
        c.bad("[categories]", "expected a table")
    return cats


def _normalize_checkin(c: _Checker, data: dict[str, Any]) -> dict[str, Any]:
    ck_in = data.get("checkin", {})
    checkin: dict[str, Any] = {"public_keys": {}, "revoked_keys": []}
    if isinstance(ck_in, dict):
        pk = ck_in.get("public_keys", {})
        if not isinstance(pk, dict) or not all(isinstance(v, str) for v in pk.values()):
            c.bad("checkin.public_keys", "expected { key_id = \"<base64 Ed25519 public key>\" }")
        else:
            checkin["public_keys"] = dict(pk)
        rk = ck_in.get("revoked_keys", [])
        if isinstance(rk, list):
            checkin["revoked_keys"] = [str(x) for x in rk]
        for k, v in ck_in.items():
            if k not in ("public_keys", "revoked_keys"):
                checkin[k] = v
    return checkin


def _normalize_readers(c: _Checker, data: dict[str, Any], pids: set[str]) -> list[dict[str, Any]]:
    readers: list[dict[str, Any]] = []
    rds = data.get("readers", [])
    if not isinstance(rds, list):
        c.bad("[[readers]]", "expected [[readers]] tables")
        rds = []
    rdr_ids: set[str] = set()
    for i, rd in enumerate(rds):
        w = f"readers[{i}]."
        if not isinstance(rd, dict):
            c.bad(f"readers[{i}]", "expected a table")
            continue
        rid = c.get(rd, "id", w, str, "a reader id")
        if rid in rdr_ids:
            c.bad(w + "id", f"duplicate reader id {rid!r}")
        rdr_ids.add(rid or "")
        pt = c.get(rd, "point", w, str, "a timing point id")
        if pt is not None and pt not in pids:
            c.bad(w + "point", f"unknown timing point {pt!r}; known: {', '.join(sorted(pids))}")
        role = rd.get("role", "main")
        if role not in ROLES:
            c.bad(w + "role", f"expected \"main\" or \"backup\", got {role!r}")
        fmt = rd.get("format")
        if fmt not in FORMATS:
            c.bad(w + "format", f"expected one of {', '.join(FORMATS)}, got {fmt!r}")
        zone = rd.get("zone")
        if zone is not None:
            try:
                ZoneInfo(str(zone))
            except (ZoneInfoNotFoundError, ValueError):
                c.bad(w + "zone", f"expected an IANA time zone, got {zone!r}")
        cf = rd.get("chip_format")
        if cf not in (None, "hex", "decimal"):
            c.bad(w + "chip_format", f"expected \"hex\" or \"decimal\", got {cf!r}")
        readers.append({
            "id": rid, "point": pt, "role": role, "format": fmt, "port": rd.get("port"),
            "listen": rd.get("listen"), "baud": rd.get("baud"), "zone": zone,
            "gps": bool(rd.get("gps", False)), "chip_format": cf if cf == "hex" else None,
        })
    return readers


# --------------------------------------------------------------------------- typed configuration
@dataclass(frozen=True, slots=True)
class Wave:
    id: str
    start_ms: int  # scheduled gun, UTC ms


@dataclass(frozen=True, slots=True)
class Race:
    id: str
    name: str
    distance_m: float
    laps: int
    ranking: str
    min_time_ms: int
    start_window_ms: int
    cutoff_ms: int | None
    waves: tuple[Wave, ...]
    index: int

    def wave(self, wave_id: str | None) -> Wave:
        if wave_id:
            for w in self.waves:
                if w.id == wave_id:
                    return w
        return self.waves[0]


@dataclass(frozen=True, slots=True)
class TimingPoint:
    id: str
    kind: str
    distance_m: float
    races: frozenset[str] | None
    window_ms: int
    pick: str
    backup_window_ms: int
    index: int

    def serves(self, race_id: str) -> bool:
        return self.races is None or race_id in self.races

    @property
    def is_start(self) -> bool:
        return self.kind in ("start", "start_finish")

    @property
    def is_finish(self) -> bool:
        return self.kind in ("finish", "start_finish")


@dataclass(frozen=True)
class EventConfig:
    id: str
    name: str
    date: dt.date
    timezone: str
    points_per_km: float
    races: dict[str, Race]
    points: dict[str, TimingPoint]
    age_groups: tuple[int, ...]
    age_basis: str
    checkin: dict[str, Any] = field(default_factory=dict)
    readers: tuple[dict[str, Any], ...] = ()
    payload: dict[str, Any] = field(default_factory=dict)

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def split_points(self, race_id: str | None = None) -> list[TimingPoint]:
        """Split points in course order (distance, then file order)."""
        pts = [p for p in self.points.values() if p.kind == "split"
               and (race_id is None or p.serves(race_id))]
        return sorted(pts, key=lambda p: (p.distance_m, p.index))

    def local_to_utc_ms(self, day: dt.date, ms_of_day: int) -> int:
        base = dt.datetime.combine(day, dt.time(0), tzinfo=self.tz)
        local = base + dt.timedelta(milliseconds=ms_of_day)
        # Recompute through the zone so a DST change on race day lands right.
        naive = local.replace(tzinfo=None)
        return int(naive.replace(tzinfo=self.tz).timestamp() * 1000)

    def instant_ms(self, text: str) -> int:
        """A moment a timer types, in the event's zone: ``HH:MM[:SS[.fff]]`` on the event date, or
        ``YYYY-MM-DD HH:MM[:SS[.fff]]`` (a ``T`` also separates). ValueError says what was expected."""
        raw = text.strip()
        day, _, clock = raw.replace("T", " ").rpartition(" ")
        try:
            d = dt.date.fromisoformat(day.strip()) if day.strip() else self.date
            ms = parse_hms(clock if clock.count(":") == 2 else clock + ":00")
        except ValueError:
            raise ValueError(f"expected HH:MM[:SS] or YYYY-MM-DD HH:MM[:SS] (event time), got {text!r}") from None
        if not 0 <= ms < 86_400_000:
            raise ValueError(f"expected a time of day before 24:00, got {text!r}")
        return self.local_to_utc_ms(d, ms)

    @classmethod
    def from_payload(cls, p: dict[str, Any]) -> EventConfig:
        ev = p["event"]
        day = dt.date.fromisoformat(ev["date"])
        tz = ZoneInfo(ev["timezone"])
        races: dict[str, Race] = {}
        for i, r in enumerate(p["races"]):
            waves = []
            for w in r["waves"]:
                local = dt.datetime.combine(day, dt.time(0)) + dt.timedelta(milliseconds=parse_hms(w["start"]))
                waves.append(Wave(w["id"], int(local.replace(tzinfo=tz).timestamp() * 1000)))
            dist = r["distance_m"]
            min_time = r.get("min_time_ms")
            if min_time is None:
                min_time = math.floor(dist / 6.5 * 1000)
            races[r["id"]] = Race(
                r["id"], r.get("name") or r["id"], dist, int(r.get("laps") or 1), r.get("ranking", "chip"),
                int(min_time), int(float(r.get("start_window_s", 3600)) * 1000), r.get("cutoff_ms"),
                tuple(waves), i,
            )
        points: dict[str, TimingPoint] = {}
        for i, t in enumerate(p["timing_points"]):
            points[t["id"]] = TimingPoint(
                t["id"], t["kind"], t.get("distance_m", 0),
                frozenset(t["races"]) if t.get("races") is not None else None,
                round(float(t.get("window_s", 2.0)) * 1000), t.get("pick", "first"),
                round(float(t.get("backup_window_s", 30)) * 1000), i,
            )
        cats = p.get("categories") or {}
        return cls(
            ev["id"], ev.get("name") or ev["id"], day, ev["timezone"], float(ev.get("points_per_km") or 0),
            races, points, tuple(cats.get("age_groups") or DEFAULT_AGE_GROUPS),
            cats.get("age_basis", "event_date"), p.get("checkin") or {}, tuple(p.get("readers") or ()), p,
        )
