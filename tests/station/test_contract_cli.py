"""Typed input out of the contract's bounds is a plain user error on the command line: nothing is
recorded and no traceback is shown."""

from __future__ import annotations

import io
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

from station.cli import main

DATA = Path(__file__).with_name("data")


def cli(data: Path, *args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = main(["--data", str(data), *args])
    return code, out.getvalue(), err.getvalue()


def test_an_out_of_bounds_correction_is_refused_plainly(tmp_path: Path) -> None:
    data = tmp_path / "st"
    assert cli(data, "event", "load", str(DATA / "event.toml"))[0] == 0
    assert cli(data, "participants", "import", str(DATA / "participants.csv"))[0] == 0
    before = cli(data, "info")[1]
    code, _, err = cli(data, "correct", "adjust", "--bib", "1", "--delta", "+30:00:00")
    assert code == 1 and "Traceback" not in err
    assert "nothing recorded" in err and "payload.delta_ms" in err
    code, _, err = cli(data, "correct", "dq", "--bib", "1", "--reason", "x" * 5000)
    assert code == 1 and "payload.reason" in err and "longer than 4096 bytes" in err
    assert cli(data, "info")[1] == before  # nothing of either was stored
