"""Results CSV and JSON (DESIGN.md "Results CSV" contract)."""

from __future__ import annotations

import csv
import json
from typing import IO, Any

CONTRACT_COLUMNS = ["race", "overall_rank", "bib", "name", "gender", "category", "category_rank",
                    "gender_rank", "status", "gun_time", "chip_time", "gun_ms", "chip_ms"]


def write_csv(rows: list[dict[str, Any]], out: IO[str], split_cols: list[str]) -> None:
    """Contract columns then one split column per split point; UTF-8, LF line endings."""
    cols = CONTRACT_COLUMNS + split_cols
    w = csv.writer(out, lineterminator="\n")
    w.writerow(cols)
    for r in rows:
        w.writerow(["" if r.get(c) is None else r.get(c) for c in cols])


def write_json(rows: list[dict[str, Any]], out: IO[str], split_cols: list[str],
               event: dict[str, Any] | None = None) -> None:
    cols = CONTRACT_COLUMNS + split_cols + ["registration_id", "club", "wave", "flags"]

    def val(v: Any) -> Any:
        return None if v == "" else v

    doc = {"event": event or {}, "split_columns": split_cols,
           "results": [{c: val(r.get(c)) for c in cols} for r in rows]}
    json.dump(doc, out, ensure_ascii=False, indent=1)
    out.write("\n")
