"""Participants: the CSV import and the current participant table.

The import is all-or-nothing: every row is checked first and every problem is reported as
`file:line: column: problem`; only a clean file becomes `participant` entries, all committed in one
transaction. A re-import appends entries only for rows that changed (matched by registration id), so
importing the same file twice adds nothing.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from station.errors import InputErrors, UserError
from station.event.config import EventConfig
from station.log.entries import Entry
from station.log.latest import latest_by

REQUIRED = ["registration_id", "bib", "name", "gender", "birth_date", "race", "wave", "chips"]
OPTIONAL = ["runner_id", "club", "phone", "email", "public", "vip"]
#: `vip` column: "yes" pins the runner on the announcer's page
#: `public` column: "no" keeps the runner's name and club off public pages and published lists
_PUBLIC_NO = frozenset({"no", "n", "false", "0", "否", "不公开"})
_PUBLIC_YES = frozenset({"", "yes", "y", "true", "1", "是", "公开"})
GENDERS = ("M", "F", "X")
_PHONE = re.compile(r"^\+?[0-9][0-9 -]{4,19}$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def latest_participants(entries: Iterable[Entry]) -> dict[str, dict[str, Any]]:
    """Current participants by registration id (latest entry per id wins)."""
    rows = (e for e in entries if e.kind == "participant" and e.payload.get("registration_id") is not None)
    return {k: e.payload for k, e in latest_by(rows, lambda e: e.payload["registration_id"]).items()}


def parse_csv(path: Path, config: EventConfig,
              existing: dict[str, dict[str, Any]] | None = None) -> list[dict[str, Any]]:
    """Read and validate a participants CSV; returns participant payloads or raises InputErrors."""
    src = str(path)
    try:
        raw = path.read_bytes()
    except OSError as e:
        raise UserError(f"{src}: cannot read: {e.strerror}") from e
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = raw[: e.start].count(b"\n") + 1
        raise InputErrors([f"{src}:{line}: not UTF-8 text (save the file as UTF-8; byte {e.start})"],
                          f"{src}: nothing was imported") from e
    return parse_rows(text, src, config, existing or {})


def parse_rows(text: str, src: str, config: EventConfig,
               existing: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    problems: list[str] = []
    reader = csv.reader(io.StringIO(text, newline=""))
    header = _read_header(reader, src)
    col = {h: i for i, h in enumerate(header)}
    out: list[dict[str, Any]] = []
    seen = _Seen()
    try:
        for row in reader:
            line = reader.line_num
            if not row or all(not c.strip() for c in row):
                continue
            if len(row) != len(header):
                problems.append(f"{src}:{line}: row has {len(row)} fields; expected {len(header)} "
                                f"(check quotes around names or clubs containing commas)")
                continue

            def bad(column: str, msg: str, line: int = line) -> None:
                problems.append(f"{src}:{line}: {column}: {msg}")

            v = {h: row[i].strip() for h, i in col.items()}
            out.append(_parse_row(v, col, line, bad, config, seen))
    except csv.Error as e:
        problems.append(f"{src}:{reader.line_num}: {e}")
    _conflicts_with_existing(src, existing, seen, problems)
    if problems:
        problems.sort(key=_line_of)
        raise InputErrors(problems, f"{src}: {len(problems)} problem(s); nothing was imported")
    return out


class _Seen:
    """What the rows so far claimed: registration id and bib → line, chip → (line, bib)."""

    def __init__(self) -> None:
        self.reg: dict[str, int] = {}
        self.bib: dict[str, int] = {}
        self.chip: dict[str, tuple[int, str]] = {}


def _read_header(reader: Any, src: str) -> list[str]:
    """The header row, stripped; raises InputErrors for an empty file or missing/unknown columns."""
    try:
        header = next(reader)
    except StopIteration:
        raise InputErrors([f"{src}:1: empty file; expected the header row {','.join(REQUIRED)}"],
                          f"{src}: nothing was imported") from None
    except csv.Error as e:
        raise InputErrors([f"{src}:1: {e}"], f"{src}: nothing was imported") from None
    header = [h.strip() for h in header]
    missing = [h for h in REQUIRED if h not in header]
    unknown = [h for h in header if h not in REQUIRED and h not in OPTIONAL]
    if missing or unknown:
        msgs = []
        if missing:
            msgs.append(f"{src}:1: header: missing column(s) {', '.join(missing)}")
        if unknown:
            msgs.append(f"{src}:1: header: unknown column(s) {', '.join(unknown)}; expected "
                        f"{','.join(REQUIRED)} then optional {','.join(OPTIONAL)}")
        raise InputErrors(msgs, f"{src}: nothing was imported")
    return header


def _parse_row(v: dict[str, str], col: dict[str, int], line: int, bad: Callable[[str, str], None],
               config: EventConfig, seen: _Seen) -> dict[str, Any]:
    """One data row → a participant payload; each problem goes to `bad(column, message)`."""
    reg = v["registration_id"]
    if not reg:
        bad("registration_id", "empty; expected the registration id")
    elif reg in seen.reg:
        bad("registration_id", f"duplicate {reg!r} (also on line {seen.reg[reg]})")
    else:
        seen.reg[reg] = line
    bib = v["bib"]
    if not bib:
        bad("bib", "empty; expected a bib number")
    elif bib in seen.bib:
        bad("bib", f"duplicate bib {bib!r} (also on line {seen.bib[bib]})")
    else:
        seen.bib[bib] = line
    if not v["name"]:
        bad("name", "empty; expected the runner's name")
    g = v["gender"].upper()
    if g not in GENDERS:
        bad("gender", f"expected M, F or X, got {v['gender']!r}")
    bd = v["birth_date"]
    if bd:
        try:
            d = dt.date.fromisoformat(bd)
            if len(bd) != 10 or d > config.date or d.year < 1900:
                raise ValueError
        except ValueError:
            bad("birth_date", f"expected a date YYYY-MM-DD before the event, got {bd!r}")
    wave = _race_wave(v, bad, config)
    chips = v["chips"].split()
    for ch in chips:
        if ch in seen.chip and seen.chip[ch][0] != line:
            bad("chips", f"chip {ch!r} assigned twice (also to bib {seen.chip[ch][1]!r}"
                f" on line {seen.chip[ch][0]})")
        elif ch in seen.chip:
            bad("chips", f"chip {ch!r} listed twice")
        else:
            seen.chip[ch] = (line, bib)
    p: dict[str, Any] = {
        "registration_id": reg, "bib": bib, "name": v["name"], "gender": g,
        "birth_date": bd or None, "race": v["race"], "wave": wave, "chips": chips,
    }
    _optional_columns(p, v, col, bad)
    return p


def _race_wave(v: dict[str, str], bad: Callable[[str, str], None], config: EventConfig) -> str:
    """Checks the race and wave columns; returns the wave (the race's first wave when empty)."""
    races = config.races
    race = races.get(v["race"])
    if race is None:
        bad("race", f"unknown race {v['race']!r}; expected one of {', '.join(races)}")
    wave = v["wave"]
    if race is not None:
        wave_ids = [w.id for w in race.waves]
        if wave and wave not in wave_ids:
            bad("wave", f"unknown wave {wave!r} in race {race.id}; expected one of "
                f"{', '.join(w or '(none)' for w in wave_ids)}")
        if not wave:
            wave = race.waves[0].id
    return wave


def _optional_columns(p: dict[str, Any], v: dict[str, str], col: dict[str, int],
                      bad: Callable[[str, str], None]) -> None:
    """Adds the optional columns present in the file to the payload `p`, checking each."""
    for o in OPTIONAL:
        if o in col and o not in ("public", "vip"):
            p[o] = v[o] or None
    if "public" in col:
        pub = v["public"].strip().lower()
        if pub in _PUBLIC_NO:
            p["public"] = False  # only an opt-out is stored: other rows stay as they were
        elif pub not in _PUBLIC_YES:
            bad("public", f"expected yes or no, got {v['public']!r}")
    if "vip" in col:
        vip = v["vip"].strip().lower()
        if vip in _PUBLIC_YES - {""}:
            p["vip"] = True  # only a VIP is marked: other rows stay as they were
        elif vip not in _PUBLIC_NO and vip:
            bad("vip", f"expected yes or no, got {v['vip']!r}")
    if p.get("phone") and not _PHONE.match(p["phone"]):
        bad("phone", f"expected a phone number, got {p['phone']!r}")
    if p.get("email") and not _EMAIL.match(p["email"]):
        bad("email", f"expected an email address, got {p['email']!r}")


def _conflicts_with_existing(src: str, existing: dict[str, dict[str, Any]], seen: _Seen,
                             problems: list[str]) -> None:
    """Conflicts with participants already held but not in this file."""
    in_file = set(seen.reg)
    for rid, q in existing.items():
        if rid in in_file:
            continue
        if q.get("bib") in seen.bib:
            problems.append(f"{src}:{seen.bib[q['bib']]}: bib: {q['bib']!r} already belongs to "
                            f"registration {rid!r}")
        for ch in q.get("chips") or []:
            if ch in seen.chip:
                problems.append(f"{src}:{seen.chip[ch][0]}: chips: chip {ch!r} already belongs to "
                                f"bib {q.get('bib')!r}")


def _line_of(msg: str) -> int:
    m = re.search(r":(\d+): ", msg)
    return int(m.group(1)) if m else 0


def changed_rows(rows: list[dict[str, Any]], existing: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows that are new or differ from the participant already held."""
    out = []
    for r in rows:
        old = existing.get(r["registration_id"])
        if old is None or any(old.get(k) != r.get(k) for k in set(r) | set(old)):
            out.append(r)
    return out


Progress = Callable[[str, int, int], None]


def import_csv(store: Any, path: Path, config: EventConfig, operator: str = "",
               progress: Progress | None = None) -> tuple[int, int]:
    """Validate the file, then append changed rows in one transaction. Returns (rows, written).

    `progress(stage, done, total)` is called with stage "reading", "checking" and "saving" so an
    app can show a real progress bar (the import itself stays all-or-nothing).
    """
    def report(stage: str, done: int, total: int) -> None:
        if progress is not None:
            progress(stage, done, total)

    report("reading", 0, 3)
    existing = latest_participants(store.entries(kinds=["participant"]))
    report("checking", 1, 3)
    rows = parse_csv(path, config, existing)
    todo = changed_rows(rows, existing)
    report("saving", 2, 3)
    if todo:
        store.submit_batch([("participant", r, None) for r in todo], operator=operator).result(600)
    report("saving", 3, 3)
    return len(rows), len(todo)
