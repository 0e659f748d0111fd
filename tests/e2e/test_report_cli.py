"""`worun-station report …` and `worun-station export …` on a real station folder: event loaded,
participants imported, tickets signed and scanned, finishes hand-timed — all through the CLI."""

from __future__ import annotations

import csv
import datetime as dt
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import openpyxl
import pytest

from station.cli import main

# In CI (CI=true) a missing pdftotext must fail, not skip: scripts/test.sh installs poppler-utils.
pytestmark = pytest.mark.skipif(shutil.which("pdftotext") is None and os.environ.get("CI") != "true",
                                reason="poppler-utils not installed")

EVENT = """\
[event]
id = "wo-run-e2e-2026"
name = "WO.RUN 杭州 E2E"
date = "2026-11-29"
timezone = "Asia/Shanghai"
points_per_km = 10

[[races]]
id = "10k"
name = "10 公里"
distance_m = 10000
waves = [ { id = "A", start = "07:30:00" }, { id = "B", start = "07:40:00" } ]

[[races]]
id = "5k"
name = "5 公里"
distance_m = 5000
waves = [ { id = "A", start = "07:30:00" } ]

[[timing_points]]
id = "finish"
kind = "finish"
distance_m = 10000

[checkin]
public_keys = { k1 = "PUBKEY" }
"""

PEOPLE = """\
registration_id,bib,name,gender,birth_date,race,wave,chips,runner_id,club,phone,email
R1,1,张伟,M,1990-05-01,10k,A,C1,U1,上海跑团,13812341234,zw@example.com
R2,2,Li Na 李娜,F,1985-02-28,10k,B,C2,,,13900005678,
R3,3,王芳,F,2000-02-29,5k,A,C3,,,,
R4,4,José Álvarez,M,1979-01-30,10k,A,C4,,,,
R5,5,欧阳娜娜,F,1995-07-07,5k,A,C5,,,,
"""


def pdftext(pdf: Path) -> list[str]:
    out = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, check=True).stdout
    return out.decode("utf-8").split("\f")[:-1]


@pytest.fixture(scope="module")
def station(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("st")
    data = root / "data"
    key = root / "k1.pem"
    import contextlib
    import io

    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        assert main(["--data", str(data), "tickets", "keygen", "--kid", "k1", "--out", str(key)]) == 0
    pub = re.search(r'k1\s*=\s*"([^"]+)"', buf.getvalue())
    assert pub, buf.getvalue()
    (root / "event.toml").write_text(EVENT.replace("PUBKEY", pub.group(1)), encoding="utf-8")
    (root / "people.csv").write_text(PEOPLE, encoding="utf-8")
    assert main(["--data", str(data), "event", "load", str(root / "event.toml")]) == 0
    assert main(["--data", str(data), "participants", "import", str(root / "people.csv")]) == 0
    # The event was on 2026-11-29; the tickets are signed for the desk "today", whatever day the suite runs.
    valid_until = (dt.date.today() + dt.timedelta(days=30)).isoformat()
    assert main(["--data", str(data), "tickets", "issue", "--key", str(key), "--out", str(root / "tickets"),
                 "--with-names", "--expires", valid_until]) == 0
    # two runners check in by scanning their ticket
    with open(root / "tickets" / "tickets.csv", encoding="utf-8") as f:
        tokens = {r["registration_id"]: r["token"] for r in csv.DictReader(f)}
    for reg in ("R1", "R3"):
        assert main(["--data", str(data), "checkin", tokens[reg]]) == 0
    # finishes (hand-timed: no reader on this test course)
    for bib, t in (("1", "08:10:05.200"), ("2", "08:25:00"), ("3", "08:00:01"), ("5", "07:59:30")):
        assert main(["--data", str(data), "manual", "--bib", bib, "--point", "finish", "--time", t]) == 0
    return root


def run(station: Path, *argv: str) -> int:
    return main(["--data", str(station / "data"), *argv])


def test_report_results(station: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = station / "results.pdf"
    assert run(station, "report", "results", "--out", str(out)) == 0
    pages = pdftext(out)
    assert len(pages) == 2  # one page per race
    assert "张伟" in pages[0] and "Li Na 李娜" in pages[0] and "José Álvarez" in pages[0]
    line = next(ln for ln in pages[0].splitlines() if "张伟" in ln)
    assert line.split()[0] == "1" and "0:40:06" in line  # 08:10:05.200 − 07:30 rounded up
    assert "王芳" in pages[1] and "欧阳娜娜" in pages[1]
    assert "13812341234" not in "".join(pages) and "1990-05-01" not in "".join(pages)
    assert "2 page(s)" in capsys.readouterr().out


def test_report_results_race_and_awards(station: Path) -> None:
    out = station / "awards.pdf"
    assert run(station, "report", "results", "--out", str(out), "--race", "5k", "--by", "awards",
               "--top", "1", "--official") == 0
    text = "\n".join(pdftext(out))
    assert "欧阳娜娜" in text and "张伟" not in text and "OFFICIAL" in text


def test_report_certificates(station: Path) -> None:
    out = station / "cert.pdf"
    assert run(station, "report", "certificates", "--out", str(out), "--bib", "1",
               "--ledger", "https://ledger.example.cn") == 0
    pages = pdftext(out)
    assert len(pages) == 1
    assert "张伟" in pages[0] and "0:40:06" in pages[0] and "100" in pages[0] and "pending" in pages[0]
    all_out = station / "certs.pdf"
    assert run(station, "report", "certificates", "--out", str(all_out), "--ledger", "http://127.0.0.1:9") == 0
    assert len(pdftext(all_out)) == 4  # every finisher


def test_report_errors(station: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(station, "report", "certificates", "--out", str(station / "x.pdf"), "--bib", "4",
               "--ledger", "https://l.example") == 1
    assert "bib 4 has no finish" in capsys.readouterr().err
    assert run(station, "report", "results", "--out", str(station / "x.pdf"), "--race", "42k") == 1
    assert "unknown race '42k'" in capsys.readouterr().err
    assert run(station, "report", "certificates", "--out", str(station / "x.pdf"), "--ledger", "ledger.example") == 1
    assert "--ledger" in capsys.readouterr().err
    assert run(station, "report", "certificates", "--out", str(station / "x.pdf"), "--web-url", "192.168.1.2") == 1
    assert "--web-url" in capsys.readouterr().err
    assert run(station, "report", "bibs", "--out", str(station / "x.pdf"), "--bib", "999") == 1
    assert "no runner with bib 999" in capsys.readouterr().err
    assert not (station / "x.pdf").exists()


def test_report_tickets_bibs_checkin(station: Path) -> None:
    t = station / "tickets.pdf"
    assert run(station, "report", "tickets", "--out", str(t), "--tokens", str(station / "tickets" / "tickets.csv")) == 0
    text = pdftext(t)[0]
    for name in ("张伟", "Li Na 李娜", "王芳", "José Álvarez", "欧阳娜娜"):
        assert name in text
    b = station / "bibs.pdf"
    assert run(station, "report", "bibs", "--out", str(b), "--race", "10k") == 0
    text = pdftext(b)[0]
    assert "张伟" in text and "王芳" not in text
    ck = station / "checkin.pdf"
    assert run(station, "report", "checkin", "--out", str(ck)) == 0
    text = pdftext(ck)[0]
    missing = text.split("Not checked in", 1)[1]
    assert "Li Na 李娜" in missing and "José Álvarez" in missing and "欧阳娜娜" in missing
    assert "张伟" not in missing and "王芳" not in missing
    assert re.search(r"Total\s+5\s+2\s+3\s+40 %", text), text


def test_export_results_all_formats(station: Path) -> None:
    assert run(station, "export", "results", "--out", str(station / "r.csv")) == 0
    assert run(station, "export", "results", "--format", "xlsx", "--out", str(station / "r.xlsx")) == 0
    assert run(station, "export", "results", "--out", str(station / "r.json")) == 0
    with open(station / "r.csv", encoding="utf-8", newline="") as f:
        want = list(csv.reader(f))
    assert want[0][:3] == ["race", "overall_rank", "bib"]
    ws = openpyxl.load_workbook(station / "r.xlsx", read_only=True).active
    got = [["" if v is None else str(v) for v in r] for r in ws.iter_rows(values_only=True)]
    got = [r + [""] * (len(want[0]) - len(r)) for r in got]
    assert got == want
    doc = json.loads((station / "r.json").read_text(encoding="utf-8"))
    assert [r["bib"] for r in doc["results"]] == [r[2] for r in want[1:]]
    # the same CSV as `worun-station results`
    import contextlib
    import io

    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        assert run(station, "results") == 0
    assert buf.getvalue() == (station / "r.csv").read_text(encoding="utf-8")


def test_export_participants(station: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = station / "p.csv"
    assert run(station, "export", "participants", "--out", str(out)) == 0
    rows = list(csv.DictReader(out.open(encoding="utf-8")))
    assert {r["registration_id"]: r["checked_in"] for r in rows} == {
        "R1": "yes", "R2": "no", "R3": "yes", "R4": "no", "R5": "no"}
    assert "phone" not in rows[0] and "13812341234" not in out.read_text(encoding="utf-8")
    x = station / "p.xlsx"
    assert run(station, "export", "participants", "--out", str(x), "--personal") == 0
    assert "keep it private" in capsys.readouterr().err
    assert run(station, "export", "participants", "--out", str(station / "p.json")) == 1
