"""Results CSV and JSON (DESIGN.md "Results CSV" contract)."""

from __future__ import annotations

import csv
import json
from typing import IO, Any

CONTRACT_COLUMNS = ["race", "overall_rank", "bib", "name", "gender", "category", "category_rank",
                    "gender_rank", "status", "gun_time", "chip_time", "gun_ms", "chip_ms"]


#: a text cell starting with one of these is read as a formula by spreadsheets (OWASP "CSV injection")
FORMULA_LEADS = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(v: Any) -> str:
    """One CSV cell: empty for None, numbers as written, text neutralized.

    A name like ``=HYPERLINK("http://evil", "click")`` typed at a walk-up desk would run as a formula
    when the organizer opens the export in a spreadsheet. Text starting with ``= + - @``, a tab or a CR
    gets a leading ``'`` (OWASP), so it shows as typed. Only text cells: ranks and milliseconds are
    numbers and are never changed (the results CSV has no negative numbers; a negative number that
    arrives as text, such as a bib "-5", is prefixed like any other text — simple, and safe).
    The results JSON and the ledger carry the values unchanged."""
    if v is None:
        return ""
    if type(v) is str:
        return "'" + v if v and v[0] in FORMULA_LEADS else v
    return str(v)


def write_csv(rows: list[dict[str, Any]], out: IO[str], split_cols: list[str]) -> None:
    """Contract columns then one split column per split point; UTF-8, LF line endings."""
    cols = CONTRACT_COLUMNS + split_cols
    w = csv.writer(out, lineterminator="\n")
    w.writerow(cols)
    for r in rows:
        w.writerow([csv_cell(r.get(c)) for c in cols])


def write_json(rows: list[dict[str, Any]], out: IO[str], split_cols: list[str],
               event: dict[str, Any] | None = None) -> None:
    cols = CONTRACT_COLUMNS + split_cols + ["registration_id", "club", "wave", "flags"]

    def val(v: Any) -> Any:
        return None if v == "" else v

    doc = {"event": event or {}, "split_columns": split_cols,
           "results": [{c: val(r.get(c)) for c in cols} for r in rows]}
    json.dump(doc, out, ensure_ascii=False, indent=1)
    out.write("\n")
