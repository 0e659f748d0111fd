"""Where a station keeps its data.

`--data DIR` wins, then `$WORUN_STATION_DATA`, then the platform's user data folder (platformdirs), so
the same code finds the right place on Windows, macOS and Linux.
"""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

DB_FILENAME = "station.sqlite3"
STATION_ID_FILENAME = "station_id"


def default_data_dir() -> Path:
    env = os.environ.get("WORUN_STATION_DATA")
    if env:
        return Path(env)
    return Path(platformdirs.user_data_dir("worun-station", "WO.RUN"))


def resolve_data_dir(arg: str | os.PathLike[str] | None) -> Path:
    return Path(arg) if arg else default_data_dir()
