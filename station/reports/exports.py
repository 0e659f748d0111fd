"""Results and participant exports: CSV (the Results CSV contract), JSON and XLSX.

Why one module: the three formats must carry the same rows and columns (a spreadsheet opened by the
organizer must match the CSV the timer published), so they share `results_table` and differ only in
encoding. Only contract columns are written: whatever else a row carries (registration id, club,
anything private) never reaches a public export. Files are written beside the target and moved into
place, so a failed export never leaves half a file under the requested name.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import IO, Any

from station.results.csvout import csv_cell

CONTRACT_COLUMNS = ("race", "overall_rank", "bib", "name", "gender", "category", "category_rank",
                    "gender_rank", "status", "gun_time", "chip_time", "gun_ms", "chip_ms")
_INT_COLUMNS = {"overall_rank", "category_rank", "gender_rank", "gun_ms", "chip_ms"}
_SPLIT_RE = re.compile(r"^split_.+_ms$")

PARTICIPANT_PUBLIC = ("registration_id", "bib", "name", "gender", "race", "wave", "chips", "runner_id",
                      "club", "checked_in", "checkin_at", "checkin_station")
PARTICIPANT_PERSONAL = ("birth_date", "phone", "email")


def results_columns(rows: Sequence[Mapping[str, Any]], split_keys: Sequence[str] | None = None) -> list[str]:
    """Contract columns, then the split columns (given, or as they appear in the rows)."""
    if split_keys is None:
        split_keys = [k for k in (rows[0] if rows else {}) if _SPLIT_RE.match(k)]
    return [*CONTRACT_COLUMNS, *split_keys]


def _typed(col: str, v: Any) -> Any:
    """The value as JSON/XLSX carry it: ranks and milliseconds as integers, empty as None."""
    if v is None or v == "":
        return None
    if col in _INT_COLUMNS or _SPLIT_RE.match(col):
        try:
            return int(v)
        except (TypeError, ValueError):
            return v
    return str(v)


def _text(v: Any) -> str:
    return "" if v is None else str(v)


@contextlib.contextmanager
def _atomic(out: Path | str, mode: str = "w") -> Iterator[IO[Any]]:
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".part")
    try:
        if "b" in mode:
            with open(tmp, mode) as f:
                yield f
        else:
            with open(tmp, mode, encoding="utf-8", newline="") as f:
                yield f
        os.replace(tmp, out)
    finally:
        if tmp.exists():
            with contextlib.suppress(OSError):
                tmp.unlink()


def write_results_csv(rows: Sequence[Mapping[str, Any]], f: IO[str],
                      split_keys: Sequence[str] | None = None) -> None:
    """The Results CSV contract: UTF-8, LF endings, every row has every column, empty where n/a."""
    cols = results_columns(rows, split_keys)
    w = csv.writer(f, lineterminator="\n")
    w.writerow(cols)
    for r in rows:
        w.writerow([csv_cell(r.get(c)) for c in cols])


def results_json(rows: Sequence[Mapping[str, Any]], event: Mapping[str, Any] | None = None, *,
                 split_keys: Sequence[str] | None = None, generated_at: str = "",
                 official: bool = False) -> dict[str, Any]:
    ev = (event or {}).get("event") or {}
    cols = results_columns(rows, split_keys)
    return {
        "event": {k: ev.get(k) for k in ("id", "name", "date", "timezone")},
        "generated_at": generated_at,
        "official": official,
        "columns": cols,
        "results": [{c: _typed(c, r.get(c)) for c in cols} for r in rows],
    }


def write_results_xlsx(rows: Sequence[Mapping[str, Any]], out: Path | str,
                       split_keys: Sequence[str] | None = None, title: str = "Results") -> None:
    """One sheet, the CSV's header and rows, numbers as numbers (sortable in the spreadsheet)."""
    cols = results_columns(rows, split_keys)
    _write_xlsx(out, title, cols, ([_typed(c, r.get(c)) for c in cols] for r in rows))


def _write_xlsx(out: Path | str, title: str, cols: Sequence[str], values: Any) -> None:
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font

    wb = Workbook(write_only=True)
    ws = wb.create_sheet(title[:31])
    ws.freeze_panes = "A2"
    for i, c in enumerate(cols):
        letter = _col_letter(i)
        ws.column_dimensions[letter].width = 22 if c in ("name", "club") else max(8, len(c) + 2)
    bold = Font(bold=True)
    header = []
    for c in cols:
        cell = WriteOnlyCell(ws, value=c)
        cell.font = bold
        header.append(cell)
    ws.append(header)
    for row in values:
        ws.append([_safe_cell(ws, v) for v in row])
    with _atomic(out, "wb") as f:
        wb.save(f)


def _safe_cell(ws: Any, v: Any) -> Any:
    """A name like `=HYPERLINK(…)` stays text: openpyxl would otherwise store it as a formula."""
    if isinstance(v, str) and v.startswith("="):
        from openpyxl.cell import WriteOnlyCell

        cell = WriteOnlyCell(ws, value=v)
        cell.data_type = "s"
        return cell
    return v


def _col_letter(i: int) -> str:
    s = ""
    i += 1
    while i:
        i, rem = divmod(i - 1, 26)
        s = chr(65 + rem) + s
    return s


def export_results(rows: Sequence[Mapping[str, Any]], out: Path | str, fmt: str, *,
                   event: Mapping[str, Any] | None = None, split_keys: Sequence[str] | None = None,
                   generated_at: str = "", official: bool = False) -> None:
    """Write `rows` to `out` as csv, json or xlsx."""
    if fmt == "csv":
        with _atomic(out) as f:
            write_results_csv(rows, f, split_keys)
    elif fmt == "json":
        doc = results_json(rows, event, split_keys=split_keys, generated_at=generated_at, official=official)
        with _atomic(out) as f:
            json.dump(doc, f, ensure_ascii=False, indent=1)
            f.write("\n")
    elif fmt == "xlsx":
        write_results_xlsx(rows, out, split_keys)
    else:
        raise ValueError(f"unknown export format {fmt!r}; expected csv, json or xlsx")


def participant_columns(personal: bool = False) -> list[str]:
    return [*PARTICIPANT_PUBLIC, *(PARTICIPANT_PERSONAL if personal else ())]


def participant_values(p: Mapping[str, Any], col: str) -> str:
    v = p.get(col)
    if col == "chips":
        return " ".join(str(c) for c in (v or []))
    if col == "checked_in":
        return "yes" if v else "no"
    return _text(v)


def export_participants(people: Sequence[Mapping[str, Any]], out: Path | str, fmt: str, *,
                        personal: bool = False) -> None:
    """Participants with their check-in state. Birth dates, phones and emails only with `personal`."""
    cols = participant_columns(personal)
    table: Callable[[], Iterator[list[str]]] = lambda: ([participant_values(p, c) for c in cols] for p in people)  # noqa: E731
    if fmt == "csv":
        with _atomic(out) as f:
            w = csv.writer(f, lineterminator="\n")
            w.writerow(cols)
            w.writerows([csv_cell(v) for v in row] for row in table())
    elif fmt == "xlsx":
        _write_xlsx(out, "Participants", cols, table())
    else:
        raise ValueError(f"unknown participants export format {fmt!r}; expected csv or xlsx")


def csv_text(rows: Sequence[Mapping[str, Any]], split_keys: Sequence[str] | None = None) -> str:
    buf = io.StringIO()
    write_results_csv(rows, buf, split_keys)
    return buf.getvalue()
