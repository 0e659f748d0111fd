"""CSV exports never carry a live spreadsheet formula (OWASP "CSV injection"): a text cell starting
with = + - @, a tab or a CR gets a leading ' in `results --format csv`, `export results` and
`export participants`; numbers and the results JSON are left as they are."""

from __future__ import annotations

import csv
import io
import json
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

from station.cli import main

DATA = Path(__file__).with_name("data")
NASTY = ['=HYPERLINK("http://evil.example","click")', "+SUM(1,2)", "-2+3", "@cmd"]


def cli(data: Path, *args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = main(["--data", str(data), *args])
    return code, out.getvalue(), err.getvalue()


def station(tmp: Path) -> Path:
    data = tmp / "st"
    people = tmp / "people.csv"
    with open(people, "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["registration_id", "bib", "name", "gender", "birth_date", "race", "wave", "chips", "club"])
        for i, name in enumerate(NASTY, 1):
            w.writerow([f"R{i}", str(i), name, "M", "1990-01-01", "10k", "A", f"C{i}", "=1+1"])
    assert cli(data, "event", "load", str(DATA / "event.toml"))[0] == 0
    code, _, err = cli(data, "participants", "import", str(people))
    assert code == 0, err
    return data


def cells(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


def test_every_csv_export_neutralizes_formula_cells(tmp_path: Path) -> None:
    data = station(tmp_path)
    code, out, err = cli(data, "results", "--format", "csv")
    assert code == 0, err
    rows = cells(out)
    names = sorted(r[rows[0].index("name")] for r in rows[1:])
    assert names == sorted("'" + n for n in NASTY)

    assert cli(data, "export", "results", "--out", str(tmp_path / "r.csv"))[0] == 0
    rows = cells((tmp_path / "r.csv").read_text(encoding="utf-8"))
    assert sorted(r[rows[0].index("name")] for r in rows[1:]) == sorted("'" + n for n in NASTY)

    assert cli(data, "export", "participants", "--out", str(tmp_path / "p.csv"))[0] == 0
    rows = cells((tmp_path / "p.csv").read_text(encoding="utf-8"))
    assert sorted(r[rows[0].index("name")] for r in rows[1:]) == sorted("'" + n for n in NASTY)
    assert {r[rows[0].index("club")] for r in rows[1:]} == {"'=1+1"}

    # JSON carries the names as typed
    code, out, _ = cli(data, "results", "--format", "json")
    assert sorted(r["name"] for r in json.loads(out)["results"]) == sorted(NASTY)


def test_numbers_are_never_prefixed() -> None:
    from station.results.csvout import csv_cell

    assert [csv_cell(v) for v in (-5, 0, 3.5, None, "", "plain", "1:02:04", "\tx", "\rx", "a=b")] == \
        ["-5", "0", "3.5", "", "", "plain", "1:02:04", "'\tx", "'\rx", "a=b"]
